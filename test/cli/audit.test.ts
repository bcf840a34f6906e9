/**
 * `hms audit <period>` against Hardhat's in-process chain (the deployed system, the CLI over its provider) and real
 * processes: three `hms meta` nodes and three `hms storage` workers on loopback. The test plays the committee (as
 * test/rewards/system.test.ts does): four demo bookkeepers are elected, three nodes registered with signing keys,
 * signed receipts generated for them; the report is built the validators' way with its inputs published
 * (offchain/protocol/proposal.ts), signed with the demo bookkeeper keys and submitted, and its document stored with
 * `hms put` — whose root CID is the attested `dataCid` (a raw-codec CID of a document smaller than one slice is the
 * single raw leaf UnixFS makes of it). Then anyone audits.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { hmsContracts } from "../../offchain/chain";
import { BOOKKEEPER_KEY_SUBJECT, registryKeyProof } from "../../offchain/chain/staking";
import { EXIT_CODES } from "../../offchain/core/errors";
import { demoBookkeeperKey, demoNodeId, demoNodePrivateKey, demoNodeKey } from "../../offchain/devnet/accounts";
import { freePorts } from "../../offchain/devnet/cluster";
import { ZERO_HASH } from "../../offchain/protocol/merkle";
import { buildReportProposal, trafficWindow, type PrevReport } from "../../offchain/protocol/proposal";
import { quorumArgs } from "../../offchain/protocol/quorum";
import { claimAmount, signReport, type BuiltReport } from "../../offchain/protocol/report";
import type { PeriodReportMessage } from "../../offchain/core/signing";
import { StorageLayer } from "../../offchain/testing/storage-layer";
import { TEST_DOMAINS } from "../../offchain/testing/storage-cluster";
import { GeneratedTraffic } from "../../offchain/testing/traffic/generator";
import { HMS, cliSystem, hardhatKey, json, type CliSystem } from "./helpers";

const TOP_N = 2;

describe("hms audit against an in-process chain and 3 meta + 3 storage processes", function () {
  this.timeout(300_000);
  let sys: CliSystem;
  let dir: string;
  let layer: StorageLayer | undefined;
  let metaUrls: string[];
  let pool: Address;
  let chainId: number;
  let epoch: bigint;
  let committeeKeys: readonly Address[];
  let traffic: GeneratedTraffic;
  // period 1: honest; period 2: its rewards root on chain is not its document's.
  let p1: bigint;
  let r1: BuiltReport;
  let p2: bigint;
  let r2: BuiltReport;

  const audit = (argv: string[], env: Record<string, string | undefined> = {}) =>
    sys.hms(["audit", ...argv], { HMS_META_URLS: metaUrls.join(","), ...env });

  async function startNetwork() {
    const clock = { genesis: BigInt(Math.floor(Date.now() / 1000) - 3600), periodLength: 600n };
    layer = await StorageLayer.start({ dir: path.join(dir, "layer"), ...TEST_DOMAINS, clock });
    metaUrls = layer.urls();
  }

  /** Four demo bookkeepers registered and elected, three nodes registered with the demo node keys. */
  async function committee() {
    const publicClient = await hre.viem.getPublicClient();
    const wallets = await hre.viem.getWalletClients();
    const as = (i: number) => hmsContracts({ public: publicClient, wallet: wallets[i] }, sys.deployment);
    const wait = async (hash: Hex) => {
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    };
    const reader = hmsContracts(publicClient, sys.deployment);
    chainId = await publicClient.getChainId();
    pool = reader.MiningPool.address;
    const staking = reader.BookkeeperStaking.address;
    await wait(await as(2).TokenAllocation.write.release([0]));
    for (const i of [0, 1, 2, 3]) {
      const bk = as(5 + i);
      await wait(await as(2).HMSToken.write.transfer([wallets[5 + i].account.address, HMS(20_000)]));
      const proof = await registryKeyProof(reader.NodeRegistry, demoBookkeeperKey(i), {
        chainId,
        registrant: wallets[5 + i].account.address,
        subject: BOOKKEEPER_KEY_SUBJECT,
      });
      await wait(await bk.NodeRegistry.write.setBookkeeperKey([demoBookkeeperKey(i).address, proof]));
      await wait(await bk.HMSToken.write.approve([staking, HMS(20_000)]));
      await wait(await bk.BookkeeperStaking.write.register([HMS(20_000), 1_000]));
    }
    for (const i of [0, 1, 2]) {
      const op = wallets[12 + i].account.address;
      await wait(
        await as(12 + i).NodeRegistry.write.registerNode([
          {
            nodeId: demoNodeId(i),
            kind: 0,
            tier: 1,
            region: 276,
            capacity: 2_048n,
            signingKey: demoNodeKey(i).address,
            payout: wallets[15 + i].account.address,
            endpoint: `http://127.0.0.1:${7301 + i}`,
          },
          await registryKeyProof(reader.NodeRegistry, demoNodeKey(i), {
            chainId,
            registrant: op,
            subject: demoNodeId(i),
          }),
        ]),
      );
    }
    const next = (await reader.BookkeeperStaking.read.currentEpoch()) + 1n;
    await time.increaseTo((await reader.BookkeeperStaking.read.epochStart([next])) + 1n);
    await wait(await as(11).BookkeeperStaking.write.elect());
    const [e, , keys] = await reader.BookkeeperStaking.read.activeSet();
    epoch = e;
    committeeKeys = keys;
    return { reader, as, wait };
  }

  /** The validators' report of the last ended period, built on `prev`, with its inputs in the document. */
  async function build(period: bigint, prev: PrevReport): Promise<BuiltReport> {
    const { from, to } = trafficWindow(prev.period, period);
    return buildReportProposal({
      chainId,
      pool,
      epoch,
      base: 0n,
      seq: Number(period) + 1,
      topN: TOP_N,
      prev,
      traffic: await traffic.receipts(from, to),
      publishInputs: true,
    }).built;
  }

  async function submit(c: Awaited<ReturnType<typeof committee>>, report: PeriodReportMessage) {
    const signed = await Promise.all(
      [0, 1, 2, 3].map(async (i) => ({
        key: demoBookkeeperKey(i).address,
        signature: await signReport(demoBookkeeperKey(i), chainId, pool, report),
      })),
    );
    await c.wait(await c.as(5).MiningPool.write.submitReport([report, quorumArgs(committeeKeys, signed)]));
  }

  /** `hms put` of a report document; its root CID must be the report's dataCid. */
  async function store(built: BuiltReport, name: string) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, built.json);
    const run = await sys.hms(["put", file, "--to", `/reports/${name}`, "--json"], {
      HMS_META_URLS: metaUrls.join(","),
      HMS_PRIVATE_KEY: hardhatKey(19),
    });
    expect(run.exitCode, run.stderr).to.equal(EXIT_CODES.ok);
    return { file, rootCid: json<{ rootCid: string; slices: number }>(run) };
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-cli-audit-"));
    const network = startNetwork();
    network.catch(() => undefined);
    sys = await cliSystem();
    const c = await committee();
    p1 = (await c.reader.MiningPool.read.currentPeriod()) - 1n;
    traffic = new GeneratedTraffic({
      chainId,
      pool,
      seed: "hms-audit-test",
      nodes: [0, 1, 2].map((i) => ({ nodeId: demoNodeId(i), privateKey: demoNodePrivateKey(i) })),
      clients: 3,
      tasksPerPeriod: { min: 3, max: 6 },
      bytes: { min: 1_000n, max: 1_000_000n },
      noise: 0.2,
      startPeriod: p1 - 1n,
    });
    r1 = await build(p1, { period: null, carryRoot: ZERO_HASH, carry: [] });
    await submit(c, r1.report);
    // The next period ends; its report builds on period 1's carry-over, but the chain gets another rewards root.
    await time.increase(600);
    p2 = (await c.reader.MiningPool.read.currentPeriod()) - 1n;
    r2 = await build(p2, {
      period: p1,
      carryRoot: r1.report.carryRoot,
      carry: r1.document.carry.map((n) => ({ nodeId: n.nodeId, traffic: BigInt(n.traffic) })),
    });
    expect(r2.document.inputs!.prev.carry.length, "period 2 builds on a carry-over").to.be.greaterThan(0);
    await submit(c, { ...r2.report, rewardsRoot: keccak256(toHex("not the document's root")) });
    await network;
  });

  after(async () => {
    await layer?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a document stored in the network resolves by its dataCid: put's root CID is the report's CID", async () => {
    const { rootCid } = await store(r1, `${p1}.json`);
    expect(rootCid.slices).to.equal(1);
    expect(rootCid.rootCid).to.equal(r1.cid);
  });

  it("an honest period: every check OK, each node's reward beside E × traffic / total, exit 0", async () => {
    const run = await audit([String(p1)]);
    expect(run.exitCode, run.stderr + run.stdout).to.equal(EXIT_CODES.ok);
    expect(run.stdout).to.include(`Audit of period ${p1}`);
    expect(run.stdout).to.match(/Verdict: OK — the period's rewards recompute from \d+ signed receipts/);
    for (const name of [
      "dataCid",
      "format",
      "rewardsRoot",
      "totals",
      "carryRoot",
      "ranking",
      "base",
      "receipts",
      "ledger",
    ])
      expect(run.stdout).to.match(new RegExp(`\\n  ${name} +ok `));
    expect(run.stdout).to.include("= E × traffic / total");
    const out = json<{
      ok: boolean;
      complete: boolean;
      source: string;
      rewards: { nodeId: Hex; traffic: string; amount: string }[];
      nodeEmission: string;
      totalTraffic: string;
    }>(await audit([String(p1), "--json", "--top-n", String(TOP_N)]));
    expect(out).to.include({ ok: true, complete: true, source: "network" });
    expect(out.rewards.map((r) => r.nodeId)).to.deep.equal(r1.claims.map((c) => c.nodeId));
    for (const r of out.rewards)
      expect(BigInt(r.amount)).to.equal((BigInt(out.nodeEmission) * BigInt(r.traffic)) / BigInt(out.totalTraffic));
  });

  it("offline, from --document: the same verdict without a meta node", async () => {
    const file = path.join(dir, "offline.json");
    fs.writeFileSync(file, r1.json);
    const run = await audit([String(p1), "--document", file, "--json"], { HMS_META_URLS: undefined });
    expect(run.exitCode, run.stderr).to.equal(EXIT_CODES.ok);
    expect(json(run)).to.include({ ok: true, complete: true, source: "document" });
    // Another period's document: DATA_CID.
    const wrong = await audit([String(p2), "--document", file, "--json"], { HMS_META_URLS: undefined });
    expect(wrong.exitCode).to.equal(EXIT_CODES.mismatch);
    expect(json<{ firstMismatch: { code: string } }>(wrong).firstMismatch.code).to.equal("DATA_CID");
  });

  it("a period whose document is not in the network yet: META_NOT_FOUND", async () => {
    const run = await audit([String(p2), "--meta-timeout", "3000"]);
    expect(run.exitCode, run.stderr).to.equal(EXIT_CODES.notFound);
    expect(run.stderr).to.include("META_NOT_FOUND");
  });

  it("a period whose on-chain root disagrees with its document: the mismatch, exit 11 (mismatch)", async () => {
    await store(r2, `${p2}.json`);
    const run = await audit([String(p2)]);
    expect(run.exitCode, run.stderr).to.equal(EXIT_CODES.mismatch);
    expect(run.stdout).to.match(/\n {2}rewardsRoot +mismatch /);
    expect(run.stdout).to.include("Verdict: MISMATCH — REWARDS_ROOT at terms.rewardsRoot");
    expect(run.stderr).to.match(/^hms audit: CLI_AUDIT_MISMATCH: .*REWARDS_ROOT.*\(exit 11\)\n$/);
    const out = json<{ ok: boolean; firstMismatch: Record<string, string> }>(await audit([String(p2), "--json"]));
    expect(out.ok).to.equal(false);
    expect(out.firstMismatch).to.deep.include({
      code: "REWARDS_ROOT",
      check: "rewardsRoot",
      field: "terms.rewardsRoot",
      expected: r2.report.rewardsRoot,
      actual: keccak256(toHex("not the document's root")),
    });
  });

  it("hms rewards pending|claim from the reported period's document: the document's amount, paid once to the payout", async () => {
    const file = path.join(dir, "rewards-p1.json");
    fs.writeFileSync(file, r1.json);
    const reader = hmsContracts(await hre.viem.getPublicClient(), sys.deployment);
    const terms = json<{ nodeEmission: string; totalTraffic: string }>(await audit([String(p1), "--json"]));
    expect(BigInt(terms.totalTraffic)).to.equal(r1.report.totalTraffic);
    expect(r1.claims.length, "period 1 rewards a node").to.be.greaterThan(0);
    for (const claim of r1.claims) {
      const i = [0, 1, 2].find((k) => demoNodeId(k).toLowerCase() === claim.nodeId.toLowerCase())!;
      const payout = (await hre.viem.getWalletClients())[15 + i].account.address;
      const run = await sys.hms(["rewards", "pending", "--node", claim.nodeId, "--reports", file, "--json"]);
      expect(run.exitCode, run.stdout + run.stderr).to.equal(EXIT_CODES.ok);
      const pending = json<{ total: string; rewards: { period: string; amount: string; claimed: boolean }[] }>(run);
      expect(pending.rewards.map((r) => [r.period, r.claimed])).to.deep.equal([[String(p1), false]]);
      // What the pool pays is the document's share of the period's node emission: E × traffic / total.
      expect(BigInt(pending.total)).to.equal(
        claimAmount(BigInt(terms.nodeEmission), claim.traffic, r1.report.totalTraffic),
      );
      expect(BigInt(pending.total) > 0n).to.equal(true);

      const before = await reader.HMSToken.read.balanceOf([payout]);
      const claimed = await sys.as(12 + i, ["rewards", "claim", "--node", claim.nodeId, "--reports", file, "--json"]);
      expect(claimed.exitCode, claimed.stderr).to.equal(EXIT_CODES.ok);
      const out = json<{ total: string; payout: Address; claimed: { period: string }[]; transactions: unknown[] }>(
        claimed,
      );
      expect(out.payout.toLowerCase()).to.equal(payout.toLowerCase());
      expect(out.total).to.equal(pending.total);
      expect(out.transactions).to.have.length(1);
      expect((await reader.HMSToken.read.balanceOf([payout])) - before).to.equal(BigInt(pending.total));

      // Claimed: pending shows it, a second claim is refused and pays nothing.
      const after = json<{ total: string; rewards: { claimed: boolean }[] }>(
        await sys.hms(["rewards", "pending", "--node", claim.nodeId, "--reports", file, "--json"]),
      );
      expect(after).to.deep.include({ total: "0" });
      expect(after.rewards[0].claimed).to.equal(true);
      const again = await sys.as(12 + i, ["rewards", "claim", "--node", claim.nodeId, "--reports", file, "--json"]);
      expect(again.exitCode).to.equal(EXIT_CODES.conflict);
      expect(json<{ error: { code: string } }>(again).error.code).to.equal("SDK_CONFLICT");
      expect(await reader.HMSToken.read.balanceOf([payout])).to.equal(before + BigInt(pending.total));
    }
  });

  it("hms rewards refuses a document whose root is not the chain's (period 2), and one of no reported period", async () => {
    const file = path.join(dir, "rewards-p2.json");
    fs.writeFileSync(file, r2.json);
    const claim = r2.claims[0];
    const run = await sys.hms(["rewards", "pending", "--node", claim.nodeId, "--reports", file, "--json"]);
    expect(run.exitCode, run.stdout).to.not.equal(EXIT_CODES.ok);
    const err = json<{ error: { code: string; message: string } }>(run).error;
    expect(err.code, err.message).to.match(/^SDK_/);
    // A published document altered after the fact no longer hashes to its own root.
    const tampered = path.join(dir, "rewards-tampered.json");
    const doc = JSON.parse(r1.json) as { rewards: { traffic: string }[] };
    doc.rewards[0].traffic = String(BigInt(doc.rewards[0].traffic) * 2n);
    fs.writeFileSync(tampered, JSON.stringify(doc));
    const bad = await sys.hms(["rewards", "pending", "--node", r1.claims[0].nodeId, "--reports", tampered, "--json"]);
    expect(bad.exitCode).to.equal(EXIT_CODES.invalidInput);
    expect(json<{ error: { code: string; message: string } }>(bad).error).to.deep.include({
      code: "SDK_INVALID_INPUT",
    });
    expect(bad.stdout).to.include("not its rewardsRoot");
    const missing = await sys.hms(["rewards", "pending", "--node", claim.nodeId, "--json"]);
    expect(missing.exitCode).to.equal(EXIT_CODES.config);
    expect(json<{ error: { code: string } }>(missing).error.code).to.equal("CLI_USAGE");
  });

  it("an unknown period: SDK_NOT_FOUND; no meta: CLI_NO_META; unreachable meta: a typed error", async () => {
    const unknown = await audit(["999999"]);
    expect(unknown.exitCode).to.equal(EXIT_CODES.notFound);
    expect(unknown.stderr).to.include("SDK_NOT_FOUND");
    const none = await audit([String(p1)], { HMS_META_URLS: undefined });
    expect(none.exitCode).to.equal(EXIT_CODES.config);
    expect(none.stderr).to.include("CLI_NO_META");
    const [port] = await freePorts(1);
    const down = await audit([String(p1), "--meta", `http://127.0.0.1:${port}`, "--meta-timeout", "500", "--json"]);
    expect(down.exitCode, down.stderr).to.equal(EXIT_CODES.unreachable);
    expect(json<{ error: { code: string } }>(down).error.code).to.equal("TRANSPORT_UNREACHABLE");
    const missing = await audit([String(p1), "--document", path.join(dir, "nope.json")]);
    expect(missing.exitCode).to.equal(EXIT_CODES.invalidInput);
    expect(missing.stderr).to.include("CLI_FILE");
  });
});
