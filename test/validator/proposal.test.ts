import { expect } from "chai";
import fc from "fast-check";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { KeyRing, domainOf, signTypedSync } from "../../offchain/core/signing";
import { ZERO_HASH } from "../../offchain/protocol/merkle";
import { applyMatched, ledgerFrom, matchReceipts } from "../../offchain/protocol/ledger";
import { buildReport, carryTree } from "../../offchain/protocol/report";
import { GeneratedTraffic } from "../../offchain/testing/traffic/generator";
import type { PeriodReceipts } from "../../offchain/protocol/receipts";
import { checkNoOmission, unionReceipts } from "../../offchain/client/meta-feed";
import {
  PROPOSAL_VERSION,
  PUBLISH_INPUTS,
  ROLL_FORWARD_LIMIT,
  basePeriod,
  buildReportProposal,
  buildSkipProposal,
  checkProposal,
  decodeProposal,
  encodeProposal,
  fromPeriodOf,
  lastEndedPeriod,
  periodEnd,
  periodOfSeq,
  proposalInputs,
  seqOfPeriod,
  trafficWindow,
  windowTraffic,
  type PrevReport,
  type ProposalContext,
  type ReportProposal,
} from "../../offchain/protocol/proposal";

const CHAIN = 31337;
const POOL = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;
const EPOCH = 5n;
const BASE = 100n;
const TOP_N = 2;
const nodeKeys = [0, 1, 2, 3].map((i) => keccak256(toHex(`proposal-test/node/${i}`)));
const nodeIds = [0, 1, 2, 3].map((i) => keccak256(toHex(`proposal-test/id/${i}`)));

function generator(seed = "p", noise = 0.2, nodes = 3, startPeriod = BASE - 2n) {
  return new GeneratedTraffic({
    chainId: CHAIN,
    pool: POOL,
    seed,
    nodes: nodeIds.slice(0, nodes).map((nodeId, i) => ({ nodeId, privateKey: nodeKeys[i] })),
    clients: 3,
    tasksPerPeriod: { min: 2, max: 6 },
    bytes: { min: 1_000n, max: 1_000_000n },
    noise,
    startPeriod,
  });
}

const sharedKeyRing = new KeyRing();

function context(over: Partial<ProposalContext> = {}, reported = new Map<bigint, Hex>()): ProposalContext {
  const keys = new Map(nodeIds.map((id, i) => [id.toLowerCase(), privateKeyToAddress(nodeKeys[i])]));
  return {
    chainId: CHAIN,
    pool: POOL,
    epoch: EPOCH,
    base: BASE,
    topN: TOP_N,
    genesis: 0n,
    periodLength: 600n,
    chainTime: 10_000_000n,
    reportedCarryRoot: (p) => reported.get(p),
    nodeKey: (id) => keys.get(id.toLowerCase()),
    keyRing: sharedKeyRing,
    ...over,
  };
}

const NONE: PrevReport = { period: null, carryRoot: ZERO_HASH, carry: [] };

async function build(seq: number, prev: PrevReport = NONE, g = generator()) {
  const period = periodOfSeq(BASE, seq);
  const { from, to } = trafficWindow(prev.period, period);
  return buildReportProposal({
    chainId: CHAIN,
    pool: POOL,
    epoch: EPOCH,
    base: BASE,
    seq,
    topN: TOP_N,
    prev,
    traffic: await g.receipts(from, to),
  });
}

const reason = (text: string, ctx = context()) => {
  const v = checkProposal(text, ctx);
  expect(v.ok, "expected a rejection").to.equal(false);
  return (v as { reason: string }).reason;
};

/** Re-encodes a modified proposal. */
function tamper(text: string, change: (p: ReportProposal) => void): string {
  const p = decodeProposal(text) as ReportProposal;
  change(p);
  return encodeProposal(p);
}

describe("validator/proposal", function () {
  it("maps sequence numbers to periods from the committee's base period", function () {
    expect(basePeriod(1_000n + 600n * 7n + 5n, 1_000n, 600n)).to.equal(7n);
    expect(basePeriod(500n, 1_000n, 600n)).to.equal(0n);
    expect(periodOfSeq(BASE, 1)).to.equal(BASE);
    expect(seqOfPeriod(BASE, BASE + 9n)).to.equal(10);
    for (let s = 1; s < 50; s++) expect(seqOfPeriod(BASE, periodOfSeq(BASE, s))).to.equal(s);
    expect(() => periodOfSeq(BASE, 0)).to.throw(/bad sequence number/);
    expect(() => seqOfPeriod(BASE, BASE - 1n)).to.throw(/before the base/);
    expect(periodEnd(0n, 600n, 3n)).to.equal(2_400n);
    expect(lastEndedPeriod(0n, 600n, 599n)).to.equal(undefined);
    expect(lastEndedPeriod(0n, 600n, 600n)).to.equal(0n);
    expect(lastEndedPeriod(0n, 600n, 1_799n)).to.equal(1n);
  });

  it("builds a canonical, deterministic request that every validator recomputes", async function () {
    const a = await build(3);
    const b = await build(3);
    expect(a.text).to.equal(b.text);
    expect(encodeProposal(decodeProposal(a.text))).to.equal(a.text);
    // The order of the feed's receipts does not matter.
    const g = generator();
    const shuffled: PeriodReceipts[] = (await g.receipts(0n, periodOfSeq(BASE, 3)))
      .reverse()
      .map((x) => ({ ...x, client: [...x.client].reverse(), node: [...x.node].reverse() }));
    const c = buildReportProposal({
      chainId: CHAIN,
      pool: POOL,
      epoch: EPOCH,
      base: BASE,
      seq: 3,
      topN: TOP_N,
      prev: NONE,
      traffic: shuffled,
    });
    expect(c.text).to.equal(a.text);
    const v = checkProposal(a.text, context());
    expect(v.ok, (v as { reason?: string }).reason).to.equal(true);
    // The checker recomputes the very document the proposer built (what dataCid must resolve to).
    expect(v.ok && v.built?.json).to.equal(a.built.json);
    // It is the ledger code over the matched receipts (client/node pairs of every period in the window).
    const p = a.proposal;
    let ledger = ledgerFrom(p.period, []);
    for (const gr of p.traffic) {
      const { matched } = matchReceipts(
        gr.period,
        gr.client.map((r) => r.receipt),
        gr.node.map((r) => r.receipt),
      );
      ledger = applyMatched(
        ledger,
        matched.map((m) => ({ ...m, period: p.period })),
      );
    }
    // The validators publish the inputs (PUBLISH_INPUTS): a version-2 document, so dataCid covers every receipt.
    expect(PUBLISH_INPUTS).to.equal(true);
    const doc = buildReport(ledger, { epoch: EPOCH, topN: TOP_N, fromPeriod: 0n, inputs: proposalInputs(p) });
    expect(doc.report).to.deep.equal(p.report);
    expect(doc.document.version).to.equal(2);
    expect(doc.json).to.equal(a.built.json);
    // Without the inputs (version 1) every number is the same but the CID.
    const v1 = buildReport(ledger, { epoch: EPOCH, topN: TOP_N, fromPeriod: 0n }).report;
    expect({ ...v1, dataCid: p.report.dataCid }).to.deep.equal(p.report);
    expect(v1.dataCid).to.not.equal(p.report.dataCid);
    // Nothing reported yet: the report builds on period 0, the pool's first next period.
    expect(p.report.fromPeriod).to.equal(0n);
    expect(p.report.nodeCount).to.be.at.most(TOP_N);
  });

  it("rolls the traffic of unreported periods forward, within ROLL_FORWARD_LIMIT periods", async function () {
    const seq = 200;
    const period = periodOfSeq(BASE, seq);
    const far = trafficWindow(null, period);
    expect(far.to - far.from + 1n).to.equal(BigInt(ROLL_FORWARD_LIMIT));
    const near = trafficWindow(period - 3n, period);
    expect([near.from, near.to]).to.deep.equal([period - 2n, period]);
    const built = await build(seq, { period: period - 3n, carryRoot: ZERO_HASH, carry: [] });
    expect(built.proposal.traffic.map((g) => g.period)).to.deep.equal([period - 2n, period - 1n, period]);
    const ctx = context({}, new Map([[period - 3n, ZERO_HASH]]));
    expect(checkProposal(built.text, ctx).ok).to.equal(true);
    const early = tamper(built.text, (p) => (p.traffic[0].period = period - 3n));
    expect(reason(early, ctx)).to.match(/outside the window|filed under another period/);
  });

  it("meta layer: a proposal holding the majority read passes the omission check, one leaving a receipt out fails", async function () {
    // What the daemon does with trafficSource.metaUrls: the reference is the majority read of the proposal's
    // window in proposal form (windowTraffic), and the proposal must hold every one of its receipts.
    const seq = 3;
    const period = periodOfSeq(BASE, seq);
    const { from, to } = trafficWindow(null, period);
    const all = await generator().receipts(from, to);
    // Two meta nodes, each missing something the other has (a receipt still replicating): the union is the read.
    const a = all.map((g) => ({ ...g, client: g.client.slice(1) }));
    const b = all.map((g) => ({ ...g, node: g.node.slice(1) }));
    const reference = windowTraffic(unionReceipts([a, b]), from, to);
    const honest = await build(seq);
    expect(() => checkNoOmission(reference, honest.proposal.traffic)).to.not.throw();
    // The primary read one meta node only (the one without some client receipts): its proposal is short.
    const short = buildReportProposal({
      chainId: CHAIN,
      pool: POOL,
      epoch: EPOCH,
      base: BASE,
      seq,
      topN: TOP_N,
      prev: NONE,
      traffic: a,
    });
    // Still a valid proposal by itself (every receipt in it is signed and it recomputes)…
    expect(checkProposal(short.text, context()).ok).to.equal(true);
    // …but it omits acknowledged receipts: refused.
    expect(() => checkNoOmission(reference, short.proposal.traffic))
      .to.throw()
      .with.property("code", "META_FEED_OMISSION");
    // Receipts outside the window, or filed under another period, are no omission (the proposal may not carry them).
    const outside = windowTraffic(await generator().receipts(from, to + 2n), from, to);
    expect(() => checkNoOmission(outside, honest.proposal.traffic)).to.not.throw();
  });

  it("builds on a reported period's carry-over, anchored by its carry root on chain", async function () {
    const first = await build(1);
    const carry = [...(await import("../../offchain/protocol/proposal")).recomputeReport(first.proposal).carry.traffic]
      .map(([nodeId, traffic]) => ({ nodeId, traffic }))
      .sort((x, y) => (x.nodeId < y.nodeId ? -1 : 1));
    expect(carry.length).to.be.greaterThan(0); // top-2 of 3 nodes: one carries over
    const prev: PrevReport = { period: BASE, carryRoot: first.proposal.report.carryRoot, carry };
    const second = await build(2, prev);
    expect(second.proposal.report.fromPeriod).to.equal(BASE + 1n);
    const reported = new Map([[BASE, first.proposal.report.carryRoot]]);
    expect(checkProposal(second.text, context({}, reported)).ok).to.equal(true);
    expect(reason(second.text, context())).to.match(/not reported on chain/);
    expect(reason(second.text, context({}, new Map([[BASE, keccak256("0x01")]])))).to.match(/differs from the chain/);
    const inflated = tamper(second.text, (p) => (p.prev.carry[0].traffic += 1n));
    expect(reason(inflated, context({}, reported))).to.match(/do not hash to the carry root/);
    const fake = tamper(second.text, (p) => {
      p.prev.carry[0].traffic += 1n;
      p.prev.carryRoot = carryTree(p.prev.carry).root;
    });
    expect(reason(fake, context({}, reported))).to.match(/differs from the chain/);
    const noPrev = tamper(first.text, (p) => (p.prev.carryRoot = keccak256("0x02")));
    expect(reason(noPrev)).to.match(/no previous report but a carry-over/);
  });

  it("rejects a report that does not recompute, whatever field is off", async function () {
    const { text } = await build(4);
    expect(reason(tamper(text, (p) => (p.report.totalTraffic += 1n)))).to.match(/totalTraffic does not recompute/);
    expect(reason(tamper(text, (p) => (p.report.rewardsRoot = keccak256("0x03"))))).to.match(/rewardsRoot/);
    expect(reason(tamper(text, (p) => (p.report.dataCid = keccak256("0x04"))))).to.match(/dataCid/);
    expect(reason(tamper(text, (p) => (p.report.epoch = EPOCH + 1n)))).to.match(/epoch does not recompute/);
    expect(reason(tamper(text, (p) => (p.report.nodeCount += 1)))).to.match(/nodeCount/);
    expect(reason(tamper(text, (p) => (p.report.fromPeriod += 1n)))).to.match(/fromPeriod does not recompute/);
  });

  it("rejects a report whose fromPeriod is not the period after the report it builds on", async function () {
    expect([fromPeriodOf(null), fromPeriodOf(0n), fromPeriodOf(BASE)]).to.deep.equal([0n, 1n, BASE + 1n]);
    const prev: PrevReport = { period: BASE, carryRoot: ZERO_HASH, carry: [] };
    const reported = new Map([[BASE, ZERO_HASH]]);
    const { text, proposal } = await build(3, prev);
    expect(proposal.report.fromPeriod).to.equal(BASE + 1n);
    expect(checkProposal(text, context({}, reported)).ok).to.equal(true);
    // Behind (it would pay periods up to BASE again), ahead (it would skip BASE + 1), past its own period, and
    // the first report claiming a later base than the pool's 0: none recomputes, so no honest member prepares it.
    for (const from of [0n, BASE, BASE + 2n, proposal.period, proposal.period + 1n])
      expect(
        reason(
          tamper(text, (p) => (p.report.fromPeriod = from)),
          context({}, reported),
        ),
      ).to.equal(`report fromPeriod does not recompute (${from} ≠ ${BASE + 1n})`);
    const firstReport = await build(3);
    expect(reason(tamper(firstReport.text, (p) => (p.report.fromPeriod = 1n)))).to.match(
      /fromPeriod does not recompute \(1 ≠ 0\)/,
    );
  });

  it("rejects the wrong slot, domain, top-N, encoding and a period that has not ended", async function () {
    const { text } = await build(4);
    expect(reason(tamper(text, (p) => (p.seq = 5)))).to.match(/is not base/);
    expect(reason(tamper(text, (p) => (p.chainId = 1)))).to.match(/chain 1/);
    expect(reason(tamper(text, (p) => (p.pool = "0x0000000000000000000000000000000000000001")))).to.match(/pool/);
    expect(reason(text, context({ epoch: EPOCH + 1n }))).to.match(/epoch 5, expected 6/);
    expect(reason(text, context({ topN: 3 }))).to.match(/topN 2, expected 3/);
    expect(reason(text.replace('"type":"report"', ' "type":"report"'))).to.match(/canonical/);
    const upper = text.replace(/("rewardsRoot":"0x)([0-9a-f]{64})/, (_m, a: string, b: string) => a + b.toUpperCase());
    expect(upper).to.not.equal(text);
    expect(reason(upper)).to.match(/lower-case/);
    expect(reason("not json")).to.match(/not JSON/);
    expect(reason(JSON.stringify({ v: 2, type: "report" }))).to.match(/bad proposal/);
    // A request of the previous encoding (v1: a report without fromPeriod) is not a proposal any more.
    expect(PROPOSAL_VERSION).to.equal(2);
    const v1 = text.replace('"v":2', '"v":1').replace(/"fromPeriod":"\d+",/, "");
    expect(v1).to.not.equal(text);
    expect(reason(v1)).to.match(/bad proposal at v/);
    expect(reason(text.replace(/"fromPeriod":"\d+",/, ""))).to.match(/bad proposal at report/);
    const end = periodEnd(0n, 600n, periodOfSeq(BASE, 4));
    expect(reason(text, context({ chainTime: end - 1n }))).to.match(/has not ended/);
    expect(checkProposal(text, context({ chainTime: end })).ok).to.equal(true);
  });

  it("checks both signatures of every receipt", async function () {
    const { text, proposal } = await build(4);
    const group = proposal.traffic.findIndex((g) => g.client.length > 0 && g.node.length > 0);
    expect(group).to.be.at.least(0);
    const stranger = generatePrivateKey();
    const domain = domainOf("traffic", CHAIN, POOL);
    const forged = tamper(text, (p) => {
      const r = p.traffic[group].client[0];
      r.signature = signTypedSync(stranger, domain, "TrafficReceipt", r.receipt);
    });
    expect(reason(forged)).to.match(/client signature/);
    const byWrongKey = tamper(text, (p) => {
      const r = p.traffic[group].node[0];
      r.signature = signTypedSync(nodeKeys[3], domain, "TrafficReceipt", r.receipt);
    });
    expect(reason(byWrongKey)).to.match(/node signature/);
    expect(reason(text, context({ nodeKey: () => undefined }))).to.match(/no known signing key/);
    const moved = tamper(text, (p) => {
      p.traffic[group].client[0].receipt = { ...p.traffic[group].client[0].receipt, bytesServed: 1n };
    });
    expect(reason(moved)).to.match(/client signature/);
  });

  it("rejects a receipt listed twice and receipts out of canonical order (one content, one digest)", async function () {
    const { text, proposal } = await build(4);
    const group = proposal.traffic.findIndex((g) => g.client.length > 1 && g.node.length > 0);
    expect(group).to.be.at.least(0);
    expect(checkProposal(text, context()).ok).to.equal(true);
    // The same receipt twice would void its task in the ledger: rejected instead (before recomputation).
    const twice = tamper(text, (p) => {
      const list = p.traffic[group].node;
      list.splice(1, 0, list[0]);
    });
    expect(reason(twice)).to.match(/listed twice/);
    const swapped = tamper(text, (p) => {
      const list = p.traffic[group].client;
      [list[0], list[1]] = [list[1], list[0]];
    });
    expect(reason(swapped)).to.match(/not in canonical order/);
    // The builder canonicalises what the feed gives: duplicates dropped, order fixed, same text.
    const g = generator();
    const { from, to } = trafficWindow(null, periodOfSeq(BASE, 4));
    const traffic = await g.receipts(from, to);
    const noisy = traffic.map((x) => ({
      ...x,
      client: [...x.client, ...x.client].reverse(),
      node: [...x.node, ...x.node],
    }));
    const rebuilt = buildReportProposal({
      chainId: CHAIN,
      pool: POOL,
      epoch: EPOCH,
      base: BASE,
      seq: 4,
      topN: TOP_N,
      prev: NONE,
      traffic: noisy,
    });
    expect(rebuilt.text).to.equal(text);
  });

  it("accepts a skip only once a later period has ended", function () {
    const { text, proposal } = buildSkipProposal({ chainId: CHAIN, pool: POOL, epoch: EPOCH, base: BASE, seq: 2 });
    expect(proposal.period).to.equal(BASE + 1n);
    const laterEnds = periodEnd(0n, 600n, BASE + 2n);
    expect(checkProposal(text, context({ chainTime: laterEnds })).ok).to.equal(true);
    expect(reason(text, context({ chainTime: laterEnds - 1n }))).to.match(/before a later period ended/);
    expect(reason(text, context({ epoch: 9n }))).to.match(/epoch/);
    expect(decodeProposal(text)).to.deep.equal(proposal);
  });

  it("property: built proposals always validate; any change to the report is rejected", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom("rewardsRoot", "totalTraffic", "nodeCount", "carryRoot", "dataCid", "period", "fromPeriod"),
        async (seed, seq, noise, nodes, field) => {
          const built = await build(seq, NONE, generator(seed, noise, nodes));
          const v = checkProposal(built.text, context());
          if (!v.ok) throw new Error(v.reason);
          const bad = tamper(built.text, (p) => {
            const r = p.report as unknown as Record<string, unknown>;
            if (typeof r[field] === "bigint") r[field] = (r[field] as bigint) + 1n;
            else if (typeof r[field] === "number") r[field] = (r[field] as number) + 1;
            else r[field] = keccak256(toHex(`x${seed}`));
          });
          expect(checkProposal(bad, context()).ok).to.equal(false);
        },
      ),
      { numRuns: 25 },
    );
  });
});
