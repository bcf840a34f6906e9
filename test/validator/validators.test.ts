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
import { getAddress, type Address, type Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { hmsContracts } from "../../offchain/chain/contracts";
import { claimArgs, readPeriod } from "../../offchain/chain/rewards";
import { createEip712Crypto, sha256Hex } from "../../offchain/consensus/pbft/crypto";
import type { PrePrepare } from "../../offchain/consensus/pbft/types";
import { HttpTransport } from "../../offchain/core/transport";
import { claimAmount } from "../../offchain/meta/report";
import { GeneratedTraffic } from "../../offchain/meta/traffic/generator";
import {
  buildReportProposal,
  decodeProposal,
  periodEnd,
  trafficWindow,
  type PrevReport,
  type ReportProposal,
} from "../../offchain/validator/proposal";
import { ZERO_HASH } from "../../offchain/core/merkle";
import {
  HmsProcess,
  freePort,
  getJson,
  serveChain,
  startValidator,
  waitHealthy,
  writeValidatorConfigs,
  type LogLine,
  type ValidatorSpec,
} from "../../scripts/validators/cluster";
import { setupValidatorSystem, toNextEpoch, type ValidatorSystem } from "./setup";

const SEED = "validator-test";

describe("hms validator — four processes on a local chain", function () {
  this.timeout(240_000);
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

  async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 45_000): Promise<T> {
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
    await waitFor(
      `period ${period} reported`,
      async () => (await pool.read.periodRecord([period]))[0],
      timeoutMs,
    );
    const p = await readPeriod(await publicClient(), pool.address, period);
    const receipt = await (await publicClient()).getTransactionReceipt({ hash: p.transactionHash });
    (gas.submitReport ??= []).push(receipt.gasUsed);
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

  /** Index of the validator whose replica is primary now (among running ones). */
  async function primaryIndex(): Promise<number> {
    const h = await health(procs.findIndex((p) => p?.running));
    const primary = (h.primary as string).toLowerCase();
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
    const trafficConfig = {
      deployment: sys.deploymentFile,
      listen: { host: "127.0.0.1", port: await freePort() },
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
      extra: {
        poll: { intervalMs: 250, receiptPollMs: 100 },
        transmit: { staggerMs: 1_500, signatureWaitMs: 400, rebroadcastMs: 1_000 },
        rpc: { retries: 4, backoffMs: 100 },
        pbft: { viewChangeTimeoutMs: 2_000, retransmitMs: 500, statusIntervalMs: 2_000 },
      },
    });
    // The new epoch starts without an election: the validators elect it themselves.
    epoch = await toNextEpoch(sys.deployment);
    for (let i = 0; i < specs.length; i++) start(i);
    await waitHealthy(trafficUrl, 60_000);
    await Promise.all(specs.map((s) => waitHealthy(s.url, 60_000)));
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
      // The nodes claim with the document a validator serves (anyone may send the claim).
      const doc = await getJson<{ claims: Array<{ index: number; nodeId: Hex; traffic: string; proof: Hex[] }> }>(
        `${specs[k % 4].url}/v1/reports/${period}`,
      );
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
    await waitFor("bookkeepers settled", async () => pool.read.isSettled([base + 2n]));
    expect(await pool.read.isSettled([base])).to.equal(true);
    expect(signatureConflicts()).to.deep.equal([]);
  });
});

function popcount(x: bigint): number {
  let c = 0;
  for (let v = x; v > 0n; v >>= 1n) c += Number(v & 1n);
  return c;
}

export type { Address, LogLine, ReportProposal, PrePrepare };
export { createEip712Crypto, sha256Hex, decodeProposal, HttpTransport, privateKeyToAddress };
