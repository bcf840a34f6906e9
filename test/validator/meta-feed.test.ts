/**
 * The validators report real traffic from the meta layer: four `hms validator` processes with
 * `trafficSource: { metaUrls }`, three `hms meta` and three `hms storage` processes (demo nodes 0–2, registered in
 * the NodeRegistry with their signing keys) on the in-process Hardhat chain served over JSON-RPC. A client
 * uploads a multi-slice file (3 copies) and reads it back; the period's report on chain carries exactly the bytes
 * of those transfers — recomputed here both from the file's size and from the receipts the meta layer holds —
 * and every node's claim pays E × its traffic / total. The meta master leaves a sixteenth of the receipts out
 * of the feed it serves (`faults.dropReceiptsInFeed`): the validators' majority read still has them all. And the
 * first primary reads a feed that leaves one acknowledged receipt out (`trafficSource: { url }` on a filter of
 * the meta layer): the others withhold their prepares from its short proposal (checkNoOmission), the view
 * changes, and the next primary's complete proposal is the one reported.
 *
 * The validators publish the report document (version 2: every receipt and the carry-over it builds on) in the
 * storage network before they propose, and prepare only a report whose `dataCid` resolves there to the document
 * they recompute: after the period lands, `hms audit <period> --meta …` recomputes it completely from the network.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import type { Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { hmsContracts } from "../../offchain/chain/contracts";
import { claimArgs, readPeriod } from "../../offchain/chain/rewards";
import { download, privateKeySigner, upload } from "../../offchain/client/storage";
import { createStorageClient } from "../../offchain/client/storage/actions";
import { EXIT_CODES } from "../../offchain/core/errors";
import { cidFromDigest, cidOf, type ReportDocument } from "../../offchain/protocol/report";
import { fetchReport, publicationProblem } from "../../offchain/validator/publication";
import {
  HmsProcess,
  getJson,
  runHms,
  serveChain,
  startValidator,
  waitHealthy,
  writeValidatorConfigs,
  type ValidatorSpec,
} from "../../offchain/devnet/cluster";
import { periodEnd } from "../../offchain/protocol/proposal";
import { claimAmount } from "../../offchain/protocol/report";
import { keccak256, toHex } from "viem";
import { periodAt } from "../../offchain/protocol/transfer";
import { StorageLayer, chainAlignedClock, matchedTraffic } from "../../offchain/testing/storage-layer";
import { MajorityTrafficFeed } from "../../offchain/client/meta-feed";
import type { PeriodReceipts } from "../../offchain/protocol/receipts";
import { serveTrafficFeed, type ServedFeed } from "../../offchain/testing/traffic/http";
import { setupValidatorSystem, type ValidatorSystem } from "./setup";

const MiB = 1024 * 1024;

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe("hms validator — the period's traffic from the meta layer's receipts of real transfers", function () {
  this.timeout(600_000);
  let dir: string;
  let chain: { url: string; close(): Promise<void> } | undefined;
  let sys: ValidatorSystem;
  let layer: StorageLayer | undefined;
  let specs: ValidatorSpec[] = [];
  let omitting: ServedFeed | undefined;
  let majority: MajorityTrafficFeed | undefined;
  const procs: HmsProcess[] = [];

  async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) {
        const tails = procs.map((p) => `--- ${p.name}\n${p.tail(8)}`).join("\n");
        throw new Error(`timed out waiting for ${what}\n${tails}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  after(async function () {
    await Promise.all(procs.map((p) => p.stop(5_000)));
    await layer?.stop();
    await omitting?.close();
    await majority?.close();
    await chain?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reports exactly the bytes uploaded and downloaded, and pays each node E × traffic / total", async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-validator-meta-"));
    sys = await setupValidatorSystem(dir);
    chain = await serveChain(hre);
    const publicClient = await hre.viem.getPublicClient();
    const testClient = await hre.viem.getTestClient();
    const { MiningPool, BookkeeperStaking, HMSToken } = hmsContracts(publicClient, sys.deployment);
    const pool = {
      genesis: await MiningPool.read.genesis(),
      periodLength: BigInt(await MiningPool.read.periodLength()),
    };

    // The next epoch, not elected yet, entered at the start of a period: the transfers below fall in the
    // committee's first period (its base) with the whole period to spare.
    const epoch = (await BookkeeperStaking.read.currentEpoch()) + 1n;
    const start = (await BookkeeperStaking.read.epochStart([epoch])) + 1n;
    const periodStart = (t: bigint) =>
      pool.genesis + ((t - pool.genesis + pool.periodLength - 1n) / pool.periodLength) * pool.periodLength;
    await testClient.setNextBlockTimestamp({ timestamp: periodStart(start) + 1n });
    await testClient.mine({ blocks: 1 });
    const clock = chainAlignedClock(pool, (await publicClient.getBlock()).timestamp);
    // Elected from here (anyone may): the leader order is known before the validators are configured.
    const wallets = await hre.viem.getWalletClients();
    const staking = hmsContracts({ public: publicClient, wallet: wallets[0] }, sys.deployment).BookkeeperStaking;
    await publicClient.waitForTransactionReceipt({
      hash: await staking.write.elect({ account: wallets[0].account, chain: wallets[0].chain }),
    });
    const order = (await BookkeeperStaking.read.committee([epoch]))[1].map((k) => k.toLowerCase());

    const domains = {
      chainId: sys.deployment.chainId,
      nodeRegistry: sys.deployment.contracts.NodeRegistry.address,
      miningPool: sys.deployment.contracts.MiningPool.address,
    };
    // The validators start as soon as the meta nodes' URLs are known: they elect while the workers start.
    layer = await StorageLayer.start({
      dir: path.join(dir, "layer"),
      ...domains,
      clock,
      // The master (whichever node it is) serves a feed without the receipts whose task id ends in 0.
      metaExtra: { faults: { dropReceiptsInFeed: "0" } },
      onMeta: async (metaUrls) => {
        // What the first primary reads: the meta layer's majority read less its first client receipt.
        const read = (majority = new MajorityTrafficFeed(metaUrls, {
          chainId: domains.chainId,
          pool: domains.miningPool,
        }));
        omitting = await serveTrafficFeed(
          {
            async receipts(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
              const all = await read.receipts(from, to);
              const first = all.findIndex((g) => g.client.length > 0);
              return all.map((g, i) => (i === first ? { ...g, client: g.client.slice(1) } : g));
            },
          },
          { host: "127.0.0.1", chainId: domains.chainId, pool: domains.miningPool },
        );
        specs = await writeValidatorConfigs({
          dir,
          rpcUrl: chain!.url,
          deploymentFile: sys.deploymentFile,
          metaUrls,
          keys: sys.bookkeeperKeys,
          extra: {
            poll: { intervalMs: 250, receiptPollMs: 100 },
            transmit: { staggerMs: 1_500, signatureWaitMs: 400, rebroadcastMs: 1_000 },
            pbft: { viewChangeTimeoutMs: 5_000, retransmitMs: 500, statusIntervalMs: 2_000 },
          },
        });
        const first = specs.find((x) => x.address.toLowerCase() === order[0])!;
        const config = JSON.parse(fs.readFileSync(first.configFile, "utf8")) as Record<string, unknown>;
        config.trafficSource = { url: omitting.url };
        fs.writeFileSync(first.configFile, JSON.stringify(config, null, 2));
        for (const s of specs) procs.push(startValidator(s, process.env.HMS_TEST_ECHO === "1"));
      },
    });

    // A real file through the meta layer and the workers: 4 slices of 1 MiB (the last one short), 3 copies.
    const client = layer.client();
    const owner = privateKeySigner(generatePrivateKey());
    const reader = privateKeySigner(generatePrivateKey());
    const data = randomBytes(3 * MiB + 123_457);
    const stored = await upload(client, data, {
      owner: owner,
      network: layer.params,
      path: "/meta-feed.bin",
      sliceSize: MiB,
      receipts: client,
    });
    expect(stored.slices).to.have.length(4);
    const read = await download(client, stored.rootCid, { client: reader, network: layer.params, receipts: client });
    expect((await collect(read)).equals(data)).to.equal(true);
    const period = periodAt(clock, BigInt(Math.floor(Date.now() / 1000)));
    const dagBytes = stored.dagBlocks.reduce((n, b) => n + b.size, 0);
    const blocks = stored.slices.length + stored.dagBlocks.length;
    const tasks = 3 * blocks + stored.slices.length;
    const bytes = 3n * BigInt(data.length + dagBytes) + BigInt(data.length);

    // Every task's two sides reached a majority of the meta nodes (the workers' side comes from their outbox).
    const feed = layer.feed();
    const receipts = await waitFor("both sides of every transfer in the meta layer", async () => {
      const r = await feed.receipts(period, period);
      return matchedTraffic(r).tasks === tasks ? r : undefined;
    });
    await feed.close();
    await client.close();
    const traffic = matchedTraffic(receipts);
    expect(traffic.flagged).to.equal(0);
    expect(traffic.total).to.equal(bytes);
    // The master's own feed really leaves those out (so the majority read is what holds them).
    const masterUrl = (await layer.meta.statuses()).find((s) => s?.role === "leader")?.apiUrl as string | undefined;
    if (masterUrl !== undefined) {
      const { HttpTrafficFeed } = await import("../../offchain/client/feed");
      const own = new HttpTrafficFeed(masterUrl, { chainId: domains.chainId, pool: domains.miningPool });
      const dropped = new Set(
        receipts.flatMap((g) => g.client.map((r) => r.receipt.taskId.toLowerCase())).filter((t) => t.endsWith("0")),
      );
      expect(matchedTraffic(await own.receipts(period, period)).tasks).to.equal(tasks - dropped.size);
      await own.close();
    }

    // The committee is elected, its first period is the transfers' period; ending it gets the report on chain.
    await Promise.all(specs.map((s) => waitHealthy(s.url, 180_000)));
    const base = await waitFor("the committee's replicas", async () => {
      const hs = await Promise.all(specs.map((s) => getJson(`${s.url}/health`).catch(() => undefined)));
      return hs.every((h) => h?.epoch === epoch.toString()) ? BigInt(hs[0]!.base as string) : undefined;
    });
    expect(base).to.equal(period);
    await testClient.setNextBlockTimestamp({ timestamp: periodEnd(pool.genesis, pool.periodLength, period) });
    await testClient.mine({ blocks: 1 });
    await waitFor(`period ${period} reported`, async () => (await MiningPool.read.periodRecord([period]))[0]);
    const onChain = await readPeriod(publicClient, MiningPool.address, period);
    expect(onChain.terms.totalTraffic).to.equal(bytes);
    expect(onChain.terms.nodeCount).to.equal(3);

    // Each node claims with the document a validator serves: its traffic is its matched bytes, its payout
    // E × traffic / total.
    const doc = await getJson<{ claims: Array<{ index: number; nodeId: Hex; traffic: string; proof: Hex[] }> }>(
      `${specs[0].url}/v1/reports/${period}`,
    );
    expect(doc.claims).to.have.length(3);
    const relayer = hmsContracts({ public: publicClient, wallet: wallets[19] }, sys.deployment).MiningPool;
    let paidTotal = 0n;
    for (const c of doc.claims) {
      const nodeTraffic = traffic.byNode.get(c.nodeId.toLowerCase() as Hex);
      expect(BigInt(c.traffic)).to.equal(nodeTraffic);
      const payout = sys.nodes.find((n) => n.nodeId === c.nodeId)!.payout;
      const before = await HMSToken.read.balanceOf([payout]);
      const claim = { index: c.index, nodeId: c.nodeId, traffic: BigInt(c.traffic), proof: c.proof };
      const hash = await relayer.write.claim(claimArgs(onChain, claim), {
        account: wallets[19].account,
        chain: wallets[19].chain,
      });
      expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
      const paid = (await HMSToken.read.balanceOf([payout])) - before;
      expect(paid).to.equal((onChain.terms.nodeEmission * nodeTraffic!) / bytes);
      expect(paid).to.equal(claimAmount(onChain.terms.nodeEmission, nodeTraffic!, onChain.terms.totalTraffic));
      paidTotal += paid;
    }
    expect(paidTotal <= onChain.terms.nodeEmission).to.equal(true);

    // The report document is in the storage network under its dataCid: the bytes the validators signed and serve.
    const served = await getJson<{ document: ReportDocument }>(`${specs[1].url}/v1/reports/${period}`);
    expect(served.document.version).to.equal(2);
    const anyone = createStorageClient({ metaUrls: layer.urls() });
    try {
      const bytes = await fetchReport(anyone, onChain.attestation.dataCid);
      expect(cidOf(bytes).digest).to.equal(onChain.attestation.dataCid.toLowerCase());
      expect(JSON.parse(Buffer.from(bytes).toString("utf8"))).to.deep.equal(served.document);
      expect(publicationProblem(JSON.stringify(served.document), { bytes })).to.equal(undefined);
      // A CID nobody stored does not resolve: what a replica refuses a proposal for.
      let missing: unknown;
      await fetchReport(anyone, keccak256(toHex("never stored"))).catch((err: unknown) => (missing = err));
      expect(publicationProblem("{}", { error: missing })?.code).to.equal("VALIDATOR_REPORT_UNPUBLISHED");
    } finally {
      await anyone.close();
    }
    // Every validator reading the meta layer fetched the document by dataCid before it prepared; the first
    // primary (trafficSource.url: publishReports off) neither stored nor fetched one.
    const logged = (msg: string) => procs.filter((p) => p.lines.some((l) => l.msg === msg)).map((p) => p.name);
    const firstName = `validator-${specs.findIndex((x) => x.address.toLowerCase() === order[0])}`;
    expect(logged("report document stored in the storage network")).to.not.include(firstName);
    expect(logged("report document stored in the storage network").length).to.be.at.least(1);
    const resolved = logged("report document resolves by its dataCid");
    expect(resolved).to.not.include(firstName);
    expect(resolved.length, "replicas checked it resolves").to.be.at.least(2);

    // Anyone audits the period from public data: complete (every receipt signed, the ledger recomputed).
    const run = await runHms(
      ["audit", String(period), "--meta", layer.urls().join(","), "--json", "--rpc", chain!.url],
      { HMS_DEPLOYMENT: sys.deploymentFile },
      120_000,
    );
    expect(run.code, run.stderr + run.stdout).to.equal(EXIT_CODES.ok);
    const verdict = JSON.parse(run.stdout) as { ok: boolean; complete: boolean; cid: string; source: string };
    expect(verdict).to.include({ ok: true, complete: true, source: "network" });
    expect(verdict.cid).to.equal(cidFromDigest(onChain.attestation.dataCid));
    // The first primary's short proposal was refused by the others (it omitted an acknowledged receipt); the
    // report on chain is the complete one of a later view.
    const refusedBy = procs.filter((p) => p.lines.some((l) => String(l.msg).includes("omits receipts")));
    expect(refusedBy.length).to.be.at.least(2);
    expect(refusedBy.map((p) => p.name)).to.not.include(
      `validator-${specs.findIndex((x) => x.address.toLowerCase() === order[0])}`,
    );
  });
});
