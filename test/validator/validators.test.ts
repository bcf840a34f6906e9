/**
 * Four `hms validator` processes and an `hms traffic-source` process against the in-process Hardhat chain
 * served over JSON-RPC: the validators elect their committee, report three consecutive periods by PBFT that
 * the nodes then claim; a validator restarted mid-period does not double-sign; killing the primary
 * mid-period still gets the report on chain; a primary made to equivocate (driven from here with its real key
 * and the PBFT crypto) is slashed on chain. Chain time is driven with evm_setNextBlockTimestamp / evm_mine.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { hmsContracts } from "../../offchain/chain/contracts";
import { LOCAL_SIGNATURE_WINDOW, claimArgs, readPeriod, reportedRange } from "../../offchain/chain/rewards";
import { createEip712Crypto, sha256Hex } from "../../offchain/consensus/pbft/crypto";
import type { PrePrepare } from "../../offchain/consensus/pbft/types";
import { HttpTransport } from "../../offchain/core/transport";
import { claimAmount } from "../../offchain/protocol/report";
import { GeneratedTraffic } from "../../offchain/testing/traffic/generator";
import {
  buildReportProposal,
  decodeProposal,
  periodEnd,
  trafficWindow,
  type PrevReport,
  type ReportProposal,
} from "../../offchain/protocol/proposal";
import { ZERO_HASH } from "../../offchain/protocol/merkle";
import { evidenceId } from "../../offchain/validator/chain";
import {
  HmsProcess,
  freePort,
  freePorts,
  runHms,
  getJson,
  serveChain,
  startValidator,
  waitHealthy,
  writeValidatorConfigs,
  type ValidatorSpec,
} from "../../offchain/devnet/cluster";
import { setupValidatorSystem, toNextEpoch, type ValidatorSystem } from "./setup";

const SEED = "validator-test";

describe("hms validator — four processes on a local chain", function () {
  // Four ts-node daemons and the chain share the CPU with whatever else runs (a full suite beside this one):
  // every wait below is on a condition, with a bound generous enough for a loaded machine.
  this.timeout(600_000);
  let dir: string;
  let chain: { url: string; close(): Promise<void> };
  let sys: ValidatorSystem;
  let specs: ValidatorSpec[];
  const procs: Array<HmsProcess | undefined> = [];
  /** Every process ever started for validator i (restarts included): their logs are kept. */
  const history: HmsProcess[][] = [];
  let traffic: HmsProcess;
  let trafficUrl: string;
  let generator: GeneratedTraffic;
  let epoch: bigint;
  let base: bigint;
  const gas: Record<string, bigint[]> = {};

  const publicClient = () => hre.viem.getPublicClient();
  const contracts = async () => hmsContracts(await publicClient(), sys.deployment);

  async function chainTime(): Promise<bigint> {
    return (await (await publicClient()).getBlock()).timestamp;
  }

  /** Ends `period` on chain (next block at its end) and mines. */
  async function endPeriod(period: bigint): Promise<void> {
    const pool = (await contracts()).MiningPool;
    const end = periodEnd(await pool.read.genesis(), BigInt(await pool.read.periodLength()), period);
    const testClient = await hre.viem.getTestClient();
    if ((await chainTime()) < end) await testClient.setNextBlockTimestamp({ timestamp: end });
    await testClient.mine({ blocks: 1 });
  }

  async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) {
        const tails = procs.map((p) => (p ? `--- ${p.name}\n${p.tail(8)}` : "")).join("\n");
        throw new Error(`timed out waiting for ${what}\n${tails}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async function waitReported(period: bigint, timeoutMs?: number) {
    const pool = (await contracts()).MiningPool;
    await waitFor(`period ${period} reported`, async () => (await pool.read.periodRecord([period]))[0], timeoutMs);
    const p = await readPeriod(await publicClient(), pool.address, period);
    const receipt = await (await publicClient()).getTransactionReceipt({ hash: p.transactionHash });
    (gas[`submitReport, ${popcount(p.attestation.signers)} of 4 signatures`] ??= []).push(receipt.gasUsed);
    return { ...p, from: getAddress(receipt.from) };
  }

  function start(i: number): HmsProcess {
    const p = startValidator(specs[i], process.env.HMS_TEST_ECHO === "1");
    procs[i] = p;
    (history[i] ??= []).push(p);
    return p;
  }

  async function health(i: number): Promise<Record<string, unknown>> {
    return getJson(`${specs[i].url}/health`);
  }

  /**
   * Index of the validator whose replica is primary now: the primary of the view in which a quorum (2f + 1 = 3)
   * of the running validators are in the normal case. A validator just restarted may still be catching up on
   * a view change the others made (or sit alone in a view change of its own): it does not count.
   */
  let agreedView = 0;
  async function primaryIndex(): Promise<number> {
    const primary = await waitFor("a quorum of the validators to agree on the view and its primary", async () => {
      const running = procs.map((p, i) => (p?.running ? i : -1)).filter((i) => i >= 0);
      const hs = await Promise.all(running.map((i) => health(i).catch(() => undefined)));
      const votes = new Map<string, number>();
      for (const h of hs)
        if (h?.status === "normal") {
          const key = `${h.view}/${String(h.primary).toLowerCase()}`;
          votes.set(key, (votes.get(key) ?? 0) + 1);
        }
      const agreed = [...votes.entries()].find(([, n]) => n >= 3);
      if (agreed !== undefined) agreedView = Number(agreed[0].split("/")[0]);
      return agreed?.[0].split("/")[1];
    });
    return specs.findIndex((s) => s.address.toLowerCase() === primary);
  }

  /** Every signature any validator process logged: checks no key signed two digests for one slot. */
  function signatureConflicts(): string[] {
    const seen = new Map<string, string>();
    const conflicts: string[] = [];
    history.forEach((list, i) => {
      for (const p of list)
        for (const l of p.lines) {
          if (l.msg !== "signed") continue;
          const slot =
            l.kind === "report" ? `${i}|report|${l.period}` : `${i}|proposal|${l.epoch}|${l.period}|${l.round}`;
          const prev = seen.get(slot);
          if (prev === undefined) seen.set(slot, l.digest as string);
          else if (prev !== l.digest) conflicts.push(`${slot}: ${prev} and ${l.digest}`);
        }
    });
    return conflicts;
  }

  /** What the report of `period` must be: the ledger code over the traffic source's receipts. */
  async function expectedReport(period: bigint, seq: number, prev: PrevReport) {
    const { from, to } = trafficWindow(prev.period, period);
    return buildReportProposal({
      chainId: sys.deployment.chainId,
      pool: sys.deployment.contracts.MiningPool.address,
      epoch,
      base,
      seq,
      topN: 100,
      prev,
      traffic: await generator.receipts(from, to),
    });
  }

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-validators-"));
    sys = await setupValidatorSystem(dir);
    chain = await serveChain(hre);
    const startPeriod = await (await contracts()).MiningPool.read.currentPeriod();
    const ports = await freePorts(5);
    const trafficConfig = {
      deployment: sys.deploymentFile,
      listen: { host: "127.0.0.1", port: ports[4] },
      seed: SEED,
      nodes: sys.nodes.map((n) => ({ nodeId: n.nodeId, privateKey: n.privateKey })),
      clients: 3,
      tasksPerPeriod: { min: 3, max: 6 },
      noise: 0.15,
      startPeriod: Number(startPeriod),
      log: { level: "warn", pretty: false },
    };
    fs.writeFileSync(path.join(dir, "traffic.json"), JSON.stringify(trafficConfig));
    trafficUrl = `http://127.0.0.1:${trafficConfig.listen.port}`;
    generator = new GeneratedTraffic({
      chainId: sys.deployment.chainId,
      pool: sys.deployment.contracts.MiningPool.address,
      seed: SEED,
      nodes: trafficConfig.nodes,
      clients: 3,
      tasksPerPeriod: trafficConfig.tasksPerPeriod,
      bytes: { min: 1_000_000_000n, max: 50_000_000_000n },
      noise: 0.15,
      startPeriod,
    });
    traffic = new HmsProcess("traffic", ["traffic-source", "-c", path.join(dir, "traffic.json")]);
    specs = await writeValidatorConfigs({
      dir,
      rpcUrl: chain.url,
      deploymentFile: sys.deploymentFile,
      trafficUrl,
      keys: sys.bookkeeperKeys,
      ports: ports.slice(0, 4),
      extra: {
        poll: { intervalMs: 250, receiptPollMs: 100 },
        transmit: { staggerMs: 1_500, signatureWaitMs: 400, rebroadcastMs: 1_000 },
        rpc: { retries: 4, backoffMs: 100 },
        // A view-change timeout well above a loaded machine's round time: a slow primary is not voted out by accident.
        pbft: { viewChangeTimeoutMs: 5_000, retransmitMs: 500, statusIntervalMs: 2_000 },
      },
    });
    // The new epoch starts without an election: the validators elect it themselves.
    epoch = await toNextEpoch(sys.deployment);
    for (let i = 0; i < specs.length; i++) start(i);
    await waitHealthy(trafficUrl, 180_000);
    await Promise.all(specs.map((s) => waitHealthy(s.url, 180_000)));
  });

  after(async function () {
    await Promise.all([...procs, traffic].map((p) => p?.stop(5_000)));
    await chain?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("elects the epoch's committee and runs one replica per member", async function () {
    const staking = (await contracts()).BookkeeperStaking;
    await waitFor("election", async () => {
      try {
        return (await staking.read.lastElectedEpoch()) === epoch;
      } catch {
        return false;
      }
    });
    const [, , , electedAt] = [0, 0, 0, (await staking.read.committeeInfo([epoch]))[0]];
    const pool = (await contracts()).MiningPool;
    base = (electedAt - (await pool.read.genesis())) / BigInt(await pool.read.periodLength());
    const healths = await waitFor("replicas of the epoch", async () => {
      const hs = await Promise.all(specs.map((_, i) => health(i)));
      return hs.every((h) => h.epoch === epoch.toString()) ? hs : undefined;
    });
    expect(healths.map((h) => h.base)).to.deep.equal(specs.map(() => base.toString()));
    expect(healths.filter((h) => h.role === "primary")).to.have.length(1);
    const electedBy = procs.map((p) => p!.lines.filter((l) => l.msg === "elected").length).reduce((a, b) => a + b);
    expect(electedBy).to.equal(1);
  });

  it("reports three consecutive periods by PBFT, which the nodes then claim", async function () {
    const pool = (await contracts()).MiningPool;
    const wallets = await hre.viem.getWalletClients();
    const relayer = hmsContracts({ public: await publicClient(), wallet: wallets[19] }, sys.deployment).MiningPool;
    const token = (await contracts()).HMSToken;
    let prev: PrevReport = { period: null, carryRoot: ZERO_HASH, carry: [] };
    for (let k = 0; k < 3; k++) {
      const period = base + BigInt(k);
      await endPeriod(period);
      const onChain = await waitReported(period);
      const expected = await expectedReport(period, k + 1, prev);
      expect(onChain.epoch).to.equal(epoch);
      expect(onChain.attestation.dataCid).to.equal(expected.built.report.dataCid);
      expect(onChain.terms.rewardsRoot).to.equal(expected.built.report.rewardsRoot);
      expect(onChain.terms.totalTraffic).to.equal(expected.built.report.totalTraffic);
      expect(onChain.attestation.carryRoot).to.equal(expected.built.report.carryRoot);
      expect(popcount(onChain.attestation.signers)).to.be.at.least(3);
      // Each report built on the last one (the first on nothing): the base the pool checked, implied on chain.
      expect(expected.built.report.fromPeriod).to.equal(k === 0 ? 0n : period);
      expect((await reportedRange(await publicClient(), pool.address, period)).fromPeriod).to.equal(
        expected.built.report.fromPeriod,
      );
      // The nodes claim with the document a validator serves (anyone may send the claim).
      const doc = await getJson<{
        report: { fromPeriod: string };
        claims: Array<{ index: number; nodeId: Hex; traffic: string; proof: Hex[] }>;
      }>(`${specs[k % 4].url}/v1/reports/${period}`);
      expect(doc.report.fromPeriod).to.equal(expected.built.report.fromPeriod.toString());
      expect(doc.claims.length).to.equal(onChain.terms.nodeCount);
      for (const c of doc.claims) {
        const payout = sys.nodes.find((n) => n.nodeId === c.nodeId)!.payout;
        const before = await token.read.balanceOf([payout]);
        const claim = { index: c.index, nodeId: c.nodeId, traffic: BigInt(c.traffic), proof: c.proof };
        const hash = await relayer.write.claim(claimArgs(onChain, claim), {
          account: wallets[19].account,
          chain: wallets[19].chain,
        });
        const receipt = await (await publicClient()).waitForTransactionReceipt({ hash });
        (gas.claim ??= []).push(receipt.gasUsed);
        expect((await token.read.balanceOf([payout])) - before).to.equal(
          claimAmount(onChain.terms.nodeEmission, claim.traffic, onChain.terms.totalTraffic),
        );
      }
      prev = {
        period,
        carryRoot: expected.built.report.carryRoot,
        carry: [...expected.built.carry.traffic.entries()]
          .map(([nodeId, t]) => ({ nodeId, traffic: t }))
          .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)),
      };
    }
    // Settlement waits for the last report's signature window (the daemons retry until it has passed).
    const testClient = await hre.viem.getTestClient();
    await testClient.increaseTime({ seconds: LOCAL_SIGNATURE_WINDOW });
    await testClient.mine({ blocks: 1 });
    await waitFor("bookkeepers settled", async () => pool.read.isSettled([base + 2n]));
    expect(await pool.read.isSettled([base])).to.equal(true);
    expect(signatureConflicts()).to.deep.equal([]);
  });

  let restarted = -1;

  it("a validator restarted mid-period does not double-sign", async function () {
    const period = base + 3n;
    const x = ((await primaryIndex()) + 1) % specs.length; // a backup
    restarted = x;
    const first = procs[x]!;
    await endPeriod(period);
    // Crash it as soon as it has executed the period's report (it signs right after, if it gets the chance).
    await first.waitForLog(
      (l) =>
        (l.msg === "executed: report" || (l.msg === "signed" && l.kind === "report")) && l.period === period.toString(),
      120_000,
      `its execution of period ${period}`,
    );
    first.kill("SIGKILL");
    expect((await first.exited).signal).to.equal("SIGKILL");
    const second = start(x);
    await waitReported(period);
    await waitHealthy(specs[x].url, 180_000);
    // It rejoins: it executes the next period with the others, and no slot was ever signed twice.
    const next = period + 1n;
    await endPeriod(next);
    const landed = await waitReported(next);
    await second.waitForLog(
      (l) => l.msg === "executed: report" && l.period === next.toString(),
      120_000,
      `its execution of period ${next}`,
    );
    const position = (
      await waitFor("its position", async () => (await health(x)).peers as Array<{ self: boolean }>)
    ).findIndex((peer) => peer.self);
    const signedNext = second.lines.some(
      (l) => l.msg === "signed" && l.kind === "report" && l.period === next.toString(),
    );
    // Either its signature is in the attestation, or the report landed before it signed (it never signs late).
    if ((landed.attestation.signers >> BigInt(position)) & 1n) expect(signedNext).to.equal(true);
    expect(signatureConflicts()).to.deep.equal([]);
    const reSigned = second.lines.filter((l) => l.msg === "signed" && l.period === period.toString());
    const before = first.lines.filter(
      (l) => l.msg === "signed" && l.kind === "report" && l.period === period.toString(),
    );
    for (const l of reSigned) {
      expect(l.digest).to.equal(before[0]?.digest ?? l.digest);
      if (before.length > 0) expect(l.repeat).to.equal(true);
    }
  });

  it("killing the primary mid-period still gets the report on chain", async function () {
    const period = base + 5n;
    const p = await primaryIndex();
    const victim = procs[p]!;
    const seq = Number(period - base) + 1;
    await endPeriod(period);
    await victim.waitForLog((l) => l.msg === "proposed" && l.seq === seq, 120_000, `its pre-prepare of seq ${seq}`);
    victim.kill("SIGKILL");
    await victim.exited;
    try {
      const landed = await waitReported(period);
      expect(landed.from).to.not.equal(getAddress(specs[p].address)); // a backup transmitted
      // The next period needs a new primary: the survivors change view.
      const next = period + 1n;
      await endPeriod(next);
      await waitReported(next);
      const survivors = specs.map((_, i) => i).filter((i) => i !== p);
      const views = await Promise.all(survivors.map(async (i) => Number((await health(i)).view)));
      expect(Math.min(...views)).to.be.at.least(1);
      // Operators see it: /metrics of a survivor that ran from the start (a restart resets counters).
      const watcher = survivors.find((i) => i !== restarted)!;
      const metrics = await (await fetch(`${specs[watcher].url}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1] ?? NaN);
      expect(value("hms_validator_view_changes_total")).to.be.at.least(1);
      expect(value("hms_validator_round_seconds_count")).to.be.at.least(3);
      expect(value('hms_validator_signatures_total{kind="PeriodReport"}')).to.be.at.least(3);
      expect(
        value('hms_validator_periods_reported_total{by="self"}') +
          value('hms_validator_periods_reported_total{by="other"}'),
      ).to.be.at.least(5);
      const poster = specs.findIndex((sp) => getAddress(sp.address) === landed.from);
      const posterMetrics = await (await fetch(`${specs[poster].url}/metrics`)).text();
      const gasCount = /^hms_validator_submission_gas_count\{tx="submitReport"\} (\d+)$/m.exec(posterMetrics);
      expect(Number(gasCount?.[1])).to.be.at.least(1);
      expect(posterMetrics).to.match(/^hms_validator_gas_used_total\{tx="submitReport"\} \d{5,}$/m);
      expect(value("hms_validator_epoch")).to.equal(Number(epoch));
      expect(value("hms_pbft_view")).to.be.at.least(1);
    } finally {
      start(p); // back for the next case, whatever happened
    }
    await waitHealthy(specs[p].url, 180_000);
    expect(signatureConflicts()).to.deep.equal([]);
  });

  it("a primary made to equivocate is slashed on chain, and the period is still reported", async function () {
    const period = base + 7n;
    const r = await primaryIndex();
    const honest = specs.map((_, i) => i).filter((i) => i !== r);
    const view = agreedView; // the view of the quorum primaryIndex found
    expect((await procs[r]!.stop()).code).to.equal(0); // its daemon stops cleanly; the test drives its key
    const rogue = specs[r];
    const staking = (await contracts()).BookkeeperStaking;
    const transport = new HttpTransport({
      privateKey: rogue.privateKey,
      chainId: sys.deployment.chainId,
      peers: honest.map((i) => specs[i].address),
      host: "127.0.0.1",
      port: rogue.port,
    });
    const requests: string[] = [];
    transport.handle("pbft", (m) => {
      const body = m.body as { type?: string; request?: string };
      if (body.type === "request" && typeof body.request === "string") requests.push(body.request);
      return null;
    });
    transport.handle("hms.report-sig", () => ({ accepted: false }));
    await transport.listen();
    try {
      await endPeriod(period);
      // The honest validators forward their request to the primary: the rogue takes it…
      const request = await waitFor("a forwarded request", async () =>
        requests.find((q) => decodeProposal(q).period === period),
      );
      const honestProposal = decodeProposal(request) as ReportProposal;
      // …and makes a second, equally valid proposal for the same slot: one node receipt fewer.
      const traffic = honestProposal.traffic.map((g, i, all) =>
        i === all.length - 1 ? { ...g, node: g.node.slice(1) } : g,
      );
      const variant = buildReportProposal({
        chainId: honestProposal.chainId,
        pool: honestProposal.pool,
        epoch: honestProposal.epoch,
        base,
        seq: honestProposal.seq,
        topN: honestProposal.topN,
        prev: honestProposal.prev,
        traffic,
      });
      expect(variant.text).to.not.equal(request);
      const crypto = createEip712Crypto({
        privateKey: rogue.privateKey,
        chainId: sys.deployment.chainId,
        stakingContract: staking.address,
      });
      const prePrepare = (text: string): PrePrepare => {
        const digest = sha256Hex(text);
        return {
          type: "pre-prepare",
          view,
          seq: honestProposal.seq,
          digest,
          request: text,
          replica: rogue.address.toLowerCase() as Address,
          sig: crypto.sign({
            type: "Proposal",
            message: { epoch: honestProposal.epoch, period: BigInt(honestProposal.seq), round: view, digest },
          }),
        };
      };
      const [a, b, c] = honest;
      const send = (i: number, text: string) =>
        transport.post(specs[i].url, transport.seal("pbft", prePrepare(text))).catch(() => undefined);
      // Each post resolves once the receiver has queued the message: c holds the first before the second.
      await Promise.all([send(a, request), send(c, request), send(b, variant.text)]);
      await send(c, variant.text);

      const proven = await waitFor("EquivocationProven", async () => {
        const logs = await (
          await publicClient()
        ).getContractEvents({
          address: staking.address,
          abi: staking.abi,
          eventName: "EquivocationProven",
          fromBlock: 0n,
          strict: true,
        });
        return logs.find((l) => l.args.signingKey === getAddress(rogue.address));
      });
      expect(proven.args.bookkeeper).to.equal(getAddress(sys.bookkeepers[r]));
      expect(proven.args.epoch).to.equal(epoch);
      expect(proven.args.period).to.equal(BigInt(honestProposal.seq));
      expect(proven.args.round).to.equal(view);
      expect(proven.args.evidenceId).to.equal(
        evidenceId(epoch, BigInt(honestProposal.seq), view, getAddress(rogue.address)),
      );
      expect(honest.map((i) => getAddress(specs[i].address))).to.include(proven.args.reporter);
      const receipt = await (await publicClient()).getTransactionReceipt({ hash: proven.transactionHash });
      (gas.reportEquivocation ??= []).push(receipt.gasUsed);
      expect((await staking.read.bookkeeperInfo([sys.bookkeepers[r]])).status).to.equal(2); // Jailed

      // The three honest members still report the period (after a view change), without the rogue.
      const landed = await waitReported(period);
      const order = (await staking.read.committee([epoch]))[1];
      expect(order.map((k) => k.toLowerCase())).to.not.include(rogue.address.toLowerCase()); // key zeroed
      const elected = (
        await (
          await publicClient()
        ).getContractEvents({
          address: staking.address,
          abi: staking.abi,
          eventName: "CommitteeElected",
          args: { epoch },
          fromBlock: 0n,
          strict: true,
        })
      )[0].args.signingKeys;
      const position = elected.findIndex((k) => k.toLowerCase() === rogue.address.toLowerCase());
      expect((landed.attestation.signers >> BigInt(position)) & 1n).to.equal(0n);
      expect(popcount(landed.attestation.signers)).to.equal(3);
      expect(landed.attestation.dataCid).to.equal(honestProposal.report.dataCid);
    } finally {
      await transport.close();
    }
    expect(signatureConflicts()).to.deep.equal([]);
  });

  it("keeps a signing record that matches what landed (export-protection)", async function () {
    const x = restarted;
    expect((await procs[x]!.stop()).code).to.equal(0);
    const out = await runHms(["validator", "export-protection", "-c", specs[x].configFile]);
    expect(out.code, out.stderr).to.equal(0);
    const doc = JSON.parse(out.stdout) as {
      metadata: { chain_id: string };
      data: Array<{ pubkey: string; signed_reports: Array<{ period: string; signing_root: Hex }> }>;
    };
    expect(doc.metadata.chain_id).to.equal(String(sys.deployment.chainId));
    expect(doc.data[0].pubkey.toLowerCase()).to.equal(specs[x].address.toLowerCase());
    const reports = doc.data[0].signed_reports;
    expect(new Set(reports.map((e) => e.period)).size).to.equal(reports.length);
    const pool = (await contracts()).MiningPool;
    let checked = 0;
    for (const e of reports) {
      const p = await readPeriod(await publicClient(), pool.address, BigInt(e.period));
      // The base each report was signed on is not stored: it is the previous reported period + 1.
      const { fromPeriod } = await reportedRange(await publicClient(), pool.address, p.period);
      const digest = await pool.read.reportDigest([
        {
          epoch: p.epoch,
          period: p.period,
          fromPeriod,
          rewardsRoot: p.terms.rewardsRoot,
          totalTraffic: p.terms.totalTraffic,
          nodeCount: p.terms.nodeCount,
          carryRoot: p.attestation.carryRoot,
          dataCid: p.attestation.dataCid,
        },
      ]);
      expect(e.signing_root).to.equal(digest.toLowerCase());
      checked++;
    }
    expect(checked).to.be.at.least(3);
  });

  it("exits with the documented codes for a missing key, a wrong chain, an unregistered key, an unreachable RPC", async function () {
    const base0 = JSON.parse(fs.readFileSync(specs[0].configFile, "utf8")) as Record<string, unknown>;
    const variant = (name: string, change: (c: Record<string, unknown>) => void): string => {
      const c = { ...base0, dataDir: path.join(dir, `exit-${name}`), listen: { host: "127.0.0.1", port: 0 } };
      change(c);
      const file = path.join(dir, `exit-${name}.json`);
      fs.writeFileSync(file, JSON.stringify(c));
      return file;
    };
    const cases = [
      {
        name: "no-key",
        code: 2,
        error: "VALIDATOR_NO_KEY",
        change: (c: Record<string, unknown>) => delete c.privateKeyFile,
      },
      {
        name: "wrong-chain",
        code: 3,
        error: "VALIDATOR_WRONG_CHAIN",
        change: (c: Record<string, unknown>) => (c.chainId = 1),
      },
      {
        name: "wrong-chain-deployment",
        code: 3,
        error: "VALIDATOR_WRONG_CHAIN",
        change: (c: Record<string, unknown>) => {
          const d = JSON.parse(fs.readFileSync(sys.deploymentFile, "utf8")) as Record<string, unknown>;
          c.deployment = path.join(dir, "deployment-chain-1.json");
          fs.writeFileSync(c.deployment as string, JSON.stringify({ ...d, chainId: 1 }));
        },
      },
      {
        name: "unregistered",
        code: 4,
        error: "VALIDATOR_UNREGISTERED",
        change: (c: Record<string, unknown>) => {
          delete c.privateKeyFile;
          c.privateKey = keccak256(toHex("hms-test/unregistered"));
        },
      },
      {
        name: "unreachable",
        code: 5,
        error: "VALIDATOR_RPC_UNREACHABLE",
        change: (c: Record<string, unknown>) => {
          c.rpcUrl = `http://127.0.0.1:${unusedPort}`;
          c.rpc = { retries: 3, backoffMs: 50 };
        },
      },
    ];
    const unusedPort = await freePort();
    const results = await Promise.all(cases.map((k) => runHms(["validator", "-c", variant(k.name, k.change)])));
    results.forEach((res, i) => {
      expect(res.code, `${cases[i].name}: ${res.stderr}`).to.equal(cases[i].code);
      expect(res.stderr).to.include(cases[i].error);
      // Printed once: one stderr line.
      expect(res.stderr.trim().split("\n"), res.stderr).to.have.length(1);
    });
    // The wrong-chain messages name the right chains: what is configured, what the deployment and the RPC say.
    const chainId = sys.deployment.chainId;
    const [configured, deployed] = [results[1].stderr, results[2].stderr];
    expect(configured).to.include(
      `chainId 1 is configured, but the deployment ${sys.deploymentFile} is on chain ${chainId}`,
    );
    expect(deployed).to.include(`serves chain ${chainId}, the deployment is on chain 1`);
  });

  it("refuses a data directory in use (STORE_LOCKED, exit 2), without LevelDB's raw error", async function () {
    const running = procs.findIndex((p) => p?.running);
    const res = await runHms(["validator", "export-protection", "-c", specs[running].configFile]);
    expect(res.code, res.stderr).to.equal(2);
    expect(res.stderr.trim().split("\n")).to.have.length(1);
    expect(res.stderr).to.include("STORE_LOCKED").and.include("is in use by another process");
    expect(res.stderr + res.stdout).to.not.match(/LOCK:|already held|LEVEL_/);
  });

  it("a validator key with no gas: /health says ok: false with a one-line reason, and recovers once funded", async function () {
    const i = procs.findIndex((p) => p?.running);
    const testClient = await hre.viem.getTestClient();
    const funded = await (await publicClient()).getBalance({ address: specs[i].address });
    expect((await health(i)).ok).to.equal(true);
    await testClient.setBalance({ address: specs[i].address, value: 0n });
    try {
      // The watch re-reads the balance every gas.checkIntervalMs (10 s by default).
      const h = await waitFor("ok: false in /health", async () => {
        const x = await health(i);
        return x.ok === false ? x : undefined;
      });
      expect(h.reason).to.match(/^account 0x[0-9a-fA-F]{40} cannot pay for gas: balance 0 wei is below the minimum/);
      const warned = procs[i]!.lines.filter((l) => typeof l.msg === "string" && l.msg.includes("cannot pay for gas"));
      expect(warned).to.have.length(1);
      expect(JSON.stringify(warned[0]).length).to.be.below(400);
    } finally {
      await testClient.setBalance({ address: specs[i].address, value: funded });
    }
    await waitFor("ok: true again", async () => (await health(i)).ok === true);
    expect(procs[i]!.lines.some((l) => l.msg === "account funded: transactions resume")).to.equal(true);
  });

  after(function () {
    if (Object.keys(gas).length === 0) return;
    const avg = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n) / BigInt(xs.length);
    console.log("      gas (receipt.gasUsed):");
    for (const [k, xs] of Object.entries(gas))
      console.log(
        `        ${k.padEnd(34)} n=${xs.length}  min ${xs.reduce((a, b) => (a < b ? a : b))}  avg ${avg(xs)}  max ${xs.reduce((a, b) => (a > b ? a : b))}`,
      );
    const settle = history
      .flat()
      .flatMap((p) => p.lines.filter((l) => l.msg === "bookkeepers settled").map((l) => l.gasUsed));
    const elect = history.flat().flatMap((p) => p.lines.filter((l) => l.msg === "elected").map((l) => l.gasUsed));
    console.log(`        ${"settleBookkeepers (1 period)".padEnd(34)} ${settle.join(", ")}`);
    console.log(`        ${"elect (4 candidates, n = 4)".padEnd(34)} ${elect.join(", ")}`);
  });
});

function popcount(x: bigint): number {
  let c = 0;
  for (let v = x; v > 0n; v >>= 1n) c += Number(v & 1n);
  return c;
}
