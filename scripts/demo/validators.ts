/**
 * Demo chapter: the bookkeepers' validator daemons (PROTOCOL §10–§11). The in-process chain is served over
 * JSON-RPC on 127.0.0.1; the four demo bookkeepers' daemons (`hms validator`, keys `demoBookkeeperPrivateKey(i)`)
 * run as child processes and read the period's receipts from the storage chapter's meta nodes
 * (`trafficSource: { metaUrls }`: a majority of them, their union, and no proposal that omits one of those
 * receipts): the receipts of the demo's own uploads and downloads. A new epoch starts without an election: the
 * daemons elect it themselves and start the PBFT replicas of the new committee. The committee's first period
 * ends; the committee agrees on its report by PBFT, signs it, and the primary posts it with its quorum. The
 * nodes claim; each payout is printed beside E × traffic / total recomputed here from the meta layer's
 * receipts. Before it proposes, the primary stores the report document in the storage network (its `dataCid`
 * resolves there; the replicas check it does before they prepare), so `hms audit <period> --meta …`, run here as
 * a child process, recomputes the period completely from public data. The summary shows periods, signers,
 * payouts and gas. The validators are stopped before the chapter
 * returns (the storage layer by the caller).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseEther, type Hex } from "viem";
import { LOCAL_SIGNATURE_WINDOW, claimArgs, readPeriod, type ReportedPeriod } from "../../offchain/chain/rewards";
import { claimAmount } from "../../offchain/protocol/report";
import { matchedTraffic } from "../../offchain/testing/storage-layer";
import type { StorageDemo } from "./storage";
import type { PeriodReceipts } from "../../offchain/protocol/receipts";
import { lastEndedPeriod, periodEnd } from "../../offchain/protocol/proposal";
import { graceEnd } from "../../offchain/protocol/quorum";
import {
  HmsProcess,
  freePorts,
  getJson,
  runHms,
  serveChain,
  startValidator,
  waitHealthy,
  writeValidatorConfigs,
} from "../../offchain/devnet/cluster";
import { type DemoContext, demoBookkeeperKey, demoBookkeeperPrivateKey, heading, hms, table } from "./context";

/** Periods reported: the first holds the storage chapter's receipts (the one after would hold none). */
const PERIODS = 1;
const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

export async function validatorsChapter(ctx: DemoContext, storage: StorageDemo): Promise<void> {
  heading("Validators: PBFT-agreed period reports posted with a > 2/3 quorum (PROTOCOL §10–§11)");
  const { MiningPool, BookkeeperStaking, HMSToken, NodeRegistry } = ctx.hms;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-demo-validators-"));
  const chain = await serveChain(ctx.hre);
  const processes: HmsProcess[] = [];
  try {
    console.log(`  chain served over JSON-RPC at ${chain.url}; working directory ${dir}`);
    const keys = [0, 1, 2, 3].map((i) => demoBookkeeperPrivateKey(i));
    for (const k of [0, 1, 2, 3])
      await ctx.testClient.setBalance({ address: demoBookkeeperKey(k).address, value: parseEther("10") });

    // A new epoch, not elected yet: the daemons call elect() themselves.
    const next = (await BookkeeperStaking.read.currentEpoch()) + 1n;
    await ctx.testClient.setNextBlockTimestamp({ timestamp: (await BookkeeperStaking.read.epochStart([next])) + 1n });
    await ctx.testClient.mine({ blocks: 1 });
    console.log(`  epoch ${next} has started without an election`);

    // The validators read the storage chapter's meta nodes: the receipts of the demo's own transfers.
    const ports = await freePorts(4);
    const deploymentFile = path.join(ctx.hre.config.paths.root, "deployments", `${ctx.hre.network.name}.json`);
    const specs = await writeValidatorConfigs({
      dir,
      rpcUrl: chain.url,
      deploymentFile,
      metaUrls: storage.layer.urls(),
      keys,
      ports,
      extra: {
        poll: { intervalMs: 250, receiptPollMs: 100 },
        transmit: { staggerMs: 1_500, signatureWaitMs: 400, rebroadcastMs: 1_000 },
        pbft: { viewChangeTimeoutMs: 2_000, retransmitMs: 500 },
      },
    });
    console.log(`  trafficSource: { metaUrls: [${storage.layer.urls().join(", ")}] }`);

    const started = Date.now();
    for (const s of specs) processes.push(startValidator(s));
    ctx.dashboard?.watch({ validators: specs.map((s) => s.url) });
    await Promise.all(specs.map((s) => waitHealthy(s.url, 60_000)));
    console.log(`  4 validator daemons up in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const healths = await poll("the new committee's replicas", async () => {
      const hs = await Promise.all(specs.map((s) => getJson(`${s.url}/health`)));
      return hs.every((h) => h.epoch === next.toString()) ? hs : undefined;
    });
    const elector = processes.find((p) => p.lines.some((l) => l.msg === "elected"));
    const electLine = elector?.lines.find((l) => l.msg === "elected");
    const order = (await BookkeeperStaking.read.committee([next]))[1];
    const who = (key: string) => specs.findIndex((s) => s.address.toLowerCase() === key.toLowerCase());
    console.log(
      `  ${elector?.name ?? "a validator"} called elect() (gas ${electLine?.gasUsed}); leader order: ` +
        order.map((k, i) => `${i}: validator-${who(k)} (#${5 + who(k)})`).join(", "),
    );
    const base = BigInt(healths[0].base as string);
    console.log(`  the committee's PBFT sequence number s reports period ${base} + s − 1`);

    // Two periods end; each time the committee orders, signs and posts the report.
    const reports: Array<ReportedPeriod & { from: string; gasUsed: bigint }> = [];
    const genesis = await MiningPool.read.genesis();
    const length = BigInt(await MiningPool.read.periodLength());
    // The committee that served before may still land reports until its election grace ends
    // (QuorumVerifier.checkEpoch, protocol/quorum.ts): the new one waits that out, so the clock moves past it.
    const [electedAt, , previousElected, hasPrevious] = await BookkeeperStaking.read.committeeInfo([next]);
    const graceOver = graceEnd(
      {
        lastElected: next,
        electedAt,
        lastEpochStart: await BookkeeperStaking.read.epochStart([next]),
        previousElected: hasPrevious ? previousElected : null,
      },
      BigInt((await MiningPool.read.state())[5]),
    );
    for (let k = 0; k < PERIODS; k++) {
      const t0 = Date.now();
      const end = periodEnd(genesis, length, base + BigInt(k));
      const at = graceOver !== null && graceOver > end ? graceOver : end;
      await ctx.testClient.setNextBlockTimestamp({ timestamp: at });
      await ctx.testClient.mine({ blocks: 1 });
      // The committee reports the newest ended period (schedule.ts): past the grace that may be a later one, the
      // periods before it skipped (their traffic rolls forward into it).
      const period = lastEndedPeriod(genesis, length, at)!;
      await poll(
        `period ${period} on chain`,
        async () => (await MiningPool.read.periodRecord([period]))[0] || undefined,
      );
      const p = await readPeriod(ctx.publicClient, MiningPool.address, period);
      const receipt = await ctx.publicClient.getTransactionReceipt({ hash: p.transactionHash });
      reports.push({ ...p, from: receipt.from, gasUsed: receipt.gasUsed });
      if (p.emissionFrom < period)
        console.log(
          `  (periods ${p.emissionFrom}–${period - 1n} were never reported: their emission rolls into this report)`,
        );
      console.log(
        `  period ${period}: agreed by PBFT, signed by ${popcount(p.attestation.signers)} of 4, posted by ` +
          `validator-${who(receipt.from)} in ${((Date.now() - t0) / 1000).toFixed(1)} s (gas ${receipt.gasUsed})`,
      );
    }

    // The nodes claim with the document any validator serves (a relayer, #19, sends the claims). Each payout is
    // checked against E × traffic / total recomputed from the meta layer's receipts of the report's periods.
    const relayer = ctx.as(ctx.wallets[19]);
    const by = { account: ctx.wallets[19].account!, chain: ctx.wallets[19].chain };
    const payouts: (string | bigint)[][] = [];
    const feed = storage.layer.feed();
    const nodeName = new Map(storage.layer.storage.workers.map((w) => [w.nodeId.toLowerCase(), `node ${w.index}`]));
    let claimGas = 0n;
    try {
      for (const p of reports) {
        // The committee's own transfers (storing the report documents) are not the storage chapter's: left out,
        // as the validators' reads leave them out.
        const committee = new Set(order.map((k) => k.toLowerCase()));
        const read = await feed.receipts(p.emissionFrom, p.period);
        const published = read.reduce(
          (n, g) => n + g.client.filter((r) => committee.has(r.receipt.client.toLowerCase())).length,
          0,
        );
        const receipts = matchedTraffic(withoutClients(read, committee));
        if (published > 0)
          console.log(`  (${published} client receipts of the committee's report-document uploads left out)`);
        if (receipts.total !== p.terms.totalTraffic || receipts.total !== storage.bytes)
          throw new Error(
            `period ${p.period}: on chain ${p.terms.totalTraffic} bytes, receipts ${receipts.total}, transfers ${storage.bytes}`,
          );
        console.log(
          `  period ${p.period}: ${receipts.tasks} tasks matched from the meta layer's receipts (periods ` +
            `${p.emissionFrom}–${p.period}), ${receipts.total.toLocaleString("en-US")} bytes = the storage chapter's transfers`,
        );
        const doc = await getJson<{ claims: Array<{ index: number; nodeId: Hex; traffic: string; proof: Hex[] }> }>(
          `${specs[0].url}/v1/reports/${p.period}`,
        );
        for (const c of doc.claims) {
          const node = nodeName.get(c.nodeId.toLowerCase()) ?? c.nodeId;
          const fromReceipts = receipts.byNode.get(c.nodeId.toLowerCase() as Hex) ?? 0n;
          if (BigInt(c.traffic) !== fromReceipts)
            throw new Error(`${node}: report traffic ${c.traffic}, receipts ${fromReceipts}`);
          const payout = await NodeRegistry.read.payoutOf([c.nodeId]);
          const before = await HMSToken.read.balanceOf([payout]);
          const claim = { index: c.index, nodeId: c.nodeId, traffic: BigInt(c.traffic), proof: c.proof };
          const hash = await relayer.MiningPool.write.claim(claimArgs(p, claim), by);
          const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash });
          if (receipt.status !== "success") throw new Error(`claim of ${node} failed`);
          claimGas = receipt.gasUsed;
          const paid = (await HMSToken.read.balanceOf([payout])) - before;
          const formula = (p.terms.nodeEmission * fromReceipts) / receipts.total;
          if (paid !== formula || paid !== claimAmount(p.terms.nodeEmission, claim.traffic, p.terms.totalTraffic))
            throw new Error(`${node} paid ${paid}, E × traffic / total = ${formula}`);
          payouts.push([
            String(p.period),
            `${node} ${short(c.nodeId)}`,
            `${formatMib(claim.traffic)} MiB`,
            `${formatMib(fromReceipts)} MiB / ${formatMib(receipts.total)} MiB`,
            hms(paid),
            hms(formula),
          ]);
        }
      }
    } finally {
      await feed.close();
    }
    // Anyone audits the reported periods from public data: the report document is in the storage network under
    // its dataCid (the validators stored it before proposing), so `hms audit` recomputes it completely.
    for (const p of reports) {
      const run = await runHms(["audit", String(p.period), "--meta", storage.layer.urls().join(",")], {
        HMS_RPC_URL: chain.url,
        HMS_DEPLOYMENT: deploymentFile,
      });
      console.log(`\n  hms audit ${p.period} --meta ${storage.layer.urls().join(",")}`);
      for (const line of run.stdout.trimEnd().split("\n")) console.log(line === "" ? "" : `  ${line}`);
      if (run.code !== 0 || !/Verdict: OK — /.test(run.stdout))
        throw new Error(`demo: hms audit ${p.period} exited ${run.code}\n${run.stderr}`);
    }

    // Settlement waits for the last report's signature window (the daemons retry until it has passed).
    await ctx.testClient.increaseTime({ seconds: LOCAL_SIGNATURE_WINDOW });
    await ctx.testClient.mine({ blocks: 1 });
    await poll(
      "bookkeepers settled",
      async () => (await MiningPool.read.isSettled([reports[reports.length - 1].period])) || undefined,
    );
    const settleGas = processes.flatMap((p) =>
      p.lines.filter((l) => l.msg === "bookkeepers settled").map((l) => String(l.gasUsed)),
    );

    console.log("\n  periods reported by the validators");
    table(
      ["period", "epoch", "signers", "nodes", "traffic", "nodes' emission", "posted by", "submitReport gas"],
      reports.map((p) => [
        String(p.period),
        String(p.epoch),
        order.map((k, i) => ((p.attestation.signers >> BigInt(i)) & 1n ? `v${who(k)}` : "-")).join(" "),
        p.terms.nodeCount,
        `${formatMib(p.terms.totalTraffic)} MiB`,
        `${hms(p.terms.nodeEmission)} HMS`,
        `validator-${who(p.from)}`,
        p.gasUsed,
      ]),
    );
    console.log(
      `\n  payouts (claimed by a relayer, paid to each node's payout address; E = the report's nodes' emission, ` +
        `${hms(reports[0].terms.nodeEmission)} HMS)`,
    );
    table(["period", "node", "traffic", "traffic / total (receipts)", "paid (HMS)", "E × traffic / total"], payouts);
    console.log(
      `  gas: elect ${electLine?.gasUsed}, submitReport ${reports.map((r) => r.gasUsed).join(" / ")}, ` +
        `settleBookkeepers ${settleGas.join(" / ")}, claim ${claimGas} (last)`,
    );
  } catch (err) {
    for (const p of processes) console.error(`--- ${p.name}\n${p.tail(10)}`);
    throw err;
  } finally {
    const exits = await Promise.all(processes.map((p) => p.stop(10_000)));
    await chain.close();
    fs.rmSync(dir, { recursive: true, force: true });
    const bad = exits.filter((e) => e.code !== 0);
    console.log(
      `  daemons stopped (${exits.length} processes, ${bad.length === 0 ? "all exit 0" : `${bad.length} failed`}); chain server closed`,
    );
  }
}

/** Receipts less those whose client is in `clients`. */
function withoutClients(traffic: PeriodReceipts[], clients: ReadonlySet<string>): PeriodReceipts[] {
  const keep = (r: PeriodReceipts["client"][number]) => !clients.has(r.receipt.client.toLowerCase());
  return traffic.map((g) => ({ period: g.period, client: g.client.filter(keep), node: g.node.filter(keep) }));
}

function formatMib(bytes: bigint): string {
  return (Number(bytes) / 1024 / 1024).toFixed(2);
}

function popcount(x: bigint): number {
  let c = 0;
  for (let v = x; v > 0n; v >>= 1n) c += Number(v & 1n);
  return c;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
