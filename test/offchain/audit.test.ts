/**
 * offchain/protocol/audit.ts: a period's report document audited against the chain's record of it. Documents are
 * built the validators' way (buildReportProposal with the inputs published) from generated signed receipts; the
 * chain record is what MiningPool would hold for the signed report. An honest document passes every check; each kind
 * of tampering gives its own first mismatch.
 */
import { expect } from "chai";
import { keccak256, stringToBytes, toHex, type Address, type Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { AUDIT_CHECKS, auditNodeIds, auditReport, type AuditChainRecord } from "../../offchain/protocol/audit";
import { ZERO_HASH } from "../../offchain/protocol/merkle";
import { buildReportProposal, trafficWindow, type PrevReport } from "../../offchain/protocol/proposal";
import {
  attestationHash,
  canonicalJson,
  carryTree,
  claimAmount,
  cidOf,
  type Attestation,
  type PeriodTerms,
  type ReportDocument,
} from "../../offchain/protocol/report";
import { MerkleTree, rewardLeaf } from "../../offchain/protocol/merkle";
import { GeneratedTraffic } from "../../offchain/testing/traffic/generator";
import type { PeriodReportMessage } from "../../offchain/core/signing";

const CHAIN = 31337;
const POOL = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;
const EPOCH = 3n;
const TOP_N = 2;
const EMISSION = 700n * 10n ** 18n;
const nodeKeys = [0, 1, 2, 3].map((i) => keccak256(toHex(`audit-test/node-key/${i}`)));
const nodeIds = [0, 1, 2, 3].map((i) => keccak256(toHex(`audit-test/node/${i}`)));
const registered = new Map(nodeIds.map((id, i) => [id.toLowerCase(), privateKeyToAddress(nodeKeys[i])]));

const traffic = new GeneratedTraffic({
  chainId: CHAIN,
  pool: POOL,
  seed: "audit",
  nodes: nodeIds.map((nodeId, i) => ({ nodeId, privateKey: nodeKeys[i] })),
  clients: 3,
  tasksPerPeriod: { min: 3, max: 6 },
  bytes: { min: 1_000n, max: 1_000_000n },
  noise: 0.2,
  startPeriod: 0n,
});

async function report(period: bigint, prev: PrevReport, publishInputs = true) {
  const { from, to } = trafficWindow(prev.period, period);
  return buildReportProposal({
    chainId: CHAIN,
    pool: POOL,
    epoch: EPOCH,
    base: 0n,
    seq: Number(period) + 1,
    topN: TOP_N,
    prev,
    traffic: await traffic.receipts(from, to),
    publishInputs,
  }).built;
}

/** What the pool stores for a signed report. */
function chainOf(r: PeriodReportMessage, prev: AuditChainRecord["prev"], over: Partial<AuditChainRecord> = {}) {
  const attestation: Attestation = {
    epoch: r.epoch,
    fromPeriod: r.fromPeriod,
    signers: 7n,
    bookkeeperShare: 35n * 10n ** 18n,
    signaturesUntil: 1_000,
    carryRoot: r.carryRoot,
    dataCid: r.dataCid,
  };
  const terms: PeriodTerms = {
    rewardsRoot: r.rewardsRoot,
    totalTraffic: r.totalTraffic,
    nodeCount: r.nodeCount,
    nodeEmission: EMISSION,
    claimDeadline: 9_999_999,
    attestationHash: attestationHash(attestation),
  };
  return {
    chainId: CHAIN,
    pool: POOL,
    period: r.period,
    terms,
    attestation,
    prev,
    nodeKey: (id: Hex) => registered.get(id.toLowerCase()),
    topN: TOP_N,
    ...over,
  } satisfies AuditChainRecord;
}

/** A document changed by `edit`, re-encoded canonically, and the report a committee would have signed for it. */
function forged(doc: ReportDocument, edit: (d: ReportDocument) => void, r: PeriodReportMessage) {
  const d = JSON.parse(JSON.stringify(doc)) as ReportDocument;
  edit(d);
  const bytes = stringToBytes(canonicalJson(d));
  return {
    bytes,
    report: {
      ...r,
      rewardsRoot: d.rewardsRoot,
      totalTraffic: BigInt(d.totalTraffic),
      nodeCount: d.nodeCount,
      carryRoot: d.carryRoot,
      dataCid: cidOf(bytes).digest,
    },
  };
}

describe("protocol/audit: a period's report document against the chain", () => {
  let first: Awaited<ReturnType<typeof report>>;
  let built: Awaited<ReturnType<typeof report>>;
  let prev: PrevReport;
  let chainPrev: AuditChainRecord["prev"];

  before(async () => {
    first = await report(2n, { period: null, carryRoot: ZERO_HASH, carry: [] });
    prev = {
      period: 2n,
      carryRoot: first.report.carryRoot,
      carry: first.document.carry.map((c) => ({ nodeId: c.nodeId, traffic: BigInt(c.traffic) })),
    };
    expect(prev.carry.length, "period 2 carries nodes over").to.be.greaterThan(0);
    built = await report(5n, prev);
    chainPrev = { period: 2n, carryRoot: first.report.carryRoot };
  });

  const bytesOf = (b: { json: string }) => stringToBytes(b.json);

  it("an honest report passes every check, in order, and lists each node's claim", () => {
    const v = auditReport(bytesOf(built), chainOf(built.report, chainPrev));
    expect(v.firstMismatch).to.equal(undefined);
    expect(v).to.include({ ok: true, complete: true, period: 5n, version: 2, cid: built.cid, topN: TOP_N });
    expect(v.checks.map((c) => c.name)).to.deep.equal([...AUDIT_CHECKS]);
    expect(v.checks.every((c) => c.status === "ok")).to.equal(true);
    expect(v.receipts).to.be.greaterThan(0);
    expect(v.rewards.map((r) => [r.nodeId, r.traffic, r.amount])).to.deep.equal(
      built.claims.map((c) => [c.nodeId, c.traffic, claimAmount(EMISSION, c.traffic, built.report.totalTraffic)]),
    );
    // The first report (no base) passes too.
    const v0 = auditReport(bytesOf(first), chainOf(first.report, { period: null, carryRoot: ZERO_HASH }));
    expect(v0).to.include({ ok: true, complete: true });
  });

  it("is deterministic", () => {
    const a = auditReport(bytesOf(built), chainOf(built.report, chainPrev));
    const b = auditReport(bytesOf(built), chainOf(built.report, chainPrev));
    expect(a).to.deep.equal(b);
  });

  it("a document that does not hash to the attested dataCid: DATA_CID first", () => {
    const other = forged(built.document, (d) => (d.inputs!.traffic[0].client[0].bytesServed = "1"), built.report);
    const v = auditReport(other.bytes, chainOf(built.report, chainPrev));
    expect(v.ok).to.equal(false);
    expect(v.firstMismatch).to.deep.include({
      code: "DATA_CID",
      check: "dataCid",
      field: "document.sha256",
      expected: built.report.dataCid,
      actual: cidOf(other.bytes).digest,
    });
  });

  it("a tampered receipt (signed as published): CLIENT_SIGNATURE at that receipt", () => {
    const g = built.document.inputs!.traffic.findIndex((t) => t.client.length > 0);
    const t = forged(built.document, (d) => (d.inputs!.traffic[g].client[0].bytesServed = "123456789"), built.report);
    const v = auditReport(t.bytes, chainOf(t.report, chainPrev));
    expect(v.firstMismatch).to.deep.include({
      code: "CLIENT_SIGNATURE",
      check: "receipts",
      field: `inputs.traffic[${g}].client[0]`,
    });
    expect(v.checks.find((c) => c.name === "dataCid")!.status).to.equal("ok");
  });

  it("a node receipt not signed by the node's registered key: NODE_SIGNATURE; no key: NODE_KEY", () => {
    const someNode = built.document.inputs!.traffic.find((t) => t.node.length > 0)!.node[0].nodeId;
    const wrongKey = auditReport(
      bytesOf(built),
      chainOf(built.report, chainPrev, {
        nodeKey: (id) =>
          id.toLowerCase() === someNode ? privateKeyToAddress(nodeKeys[3 - nodeIds.indexOf(id)]) : registered.get(id),
      }),
    );
    expect(wrongKey.firstMismatch?.code).to.equal("NODE_SIGNATURE");
    const noKey = auditReport(bytesOf(built), chainOf(built.report, chainPrev, { nodeKey: () => undefined }));
    expect(noKey.firstMismatch?.code).to.equal("NODE_KEY");
    expect(auditNodeIds(bytesOf(built))).to.include(someNode);
  });

  it("a changed traffic number (consistent roots, signed as published): LEDGER names the node's entry", () => {
    const top = built.document.rewards[0];
    const t = forged(
      built.document,
      (d) => {
        d.rewards[0].traffic = (BigInt(top.traffic) + 1000n).toString();
        d.totalTraffic = d.rewards.reduce((s, r) => s + BigInt(r.traffic), 0n).toString();
        d.rewardsRoot = new MerkleTree(d.rewards.map((r, i) => rewardLeaf(i, r.nodeId, BigInt(r.traffic)))).root;
      },
      built.report,
    );
    const v = auditReport(t.bytes, chainOf(t.report, chainPrev));
    expect(v.firstMismatch).to.deep.include({
      code: "LEDGER",
      check: "ledger",
      field: "rewards[0].traffic",
      expected: top.traffic,
      actual: (BigInt(top.traffic) + 1000n).toString(),
    });
    for (const name of ["dataCid", "rewardsRoot", "totals", "carryRoot", "ranking", "receipts"])
      expect(v.checks.find((c) => c.name === name)!.status, name).to.equal("ok");
  });

  it("an on-chain root that disagrees with the document: REWARDS_ROOT / CARRY_ROOT / TOTAL_TRAFFIC", () => {
    const wrong = keccak256(toHex("wrong"));
    const chain = chainOf(built.report, chainPrev);
    const v = auditReport(bytesOf(built), { ...chain, terms: { ...chain.terms, rewardsRoot: wrong } });
    expect(v.firstMismatch).to.deep.include({
      code: "REWARDS_ROOT",
      field: "terms.rewardsRoot",
      expected: built.report.rewardsRoot,
      actual: wrong,
    });
    const c = auditReport(bytesOf(built), { ...chain, attestation: { ...chain.attestation, carryRoot: wrong } });
    expect(c.firstMismatch).to.deep.include({ code: "CARRY_ROOT", field: "attestation.carryRoot" });
    const tt = auditReport(bytesOf(built), { ...chain, terms: { ...chain.terms, totalTraffic: 1n } });
    expect(tt.firstMismatch).to.deep.include({ code: "TOTAL_TRAFFIC", field: "terms.totalTraffic", actual: "1" });
  });

  it("a document whose own root does not match its leaves: DOCUMENT_REWARDS_ROOT", () => {
    const t = forged(built.document, (d) => (d.rewardsRoot = keccak256(toHex("x"))), built.report);
    const v = auditReport(t.bytes, chainOf(t.report, chainPrev));
    expect(v.firstMismatch?.code).to.equal("DOCUMENT_REWARDS_ROOT");
  });

  it("a base that is not the previous report's carry-over: PREV_CARRY / PREV_REPORT", () => {
    const v = auditReport(
      bytesOf(built),
      chainOf(built.report, { period: 2n, carryRoot: keccak256(toHex("other carry")) }),
    );
    expect(v.firstMismatch).to.deep.include({ code: "PREV_CARRY", field: "inputs.prev.carryRoot" });
    const r = auditReport(bytesOf(built), chainOf(built.report, { period: 1n, carryRoot: chainPrev.carryRoot }));
    expect(r.firstMismatch).to.deep.include({ code: "PREV_REPORT", expected: "1", actual: "2" });
    // A carried node's traffic inflated (root recomputed to match, as a committee could sign it).
    const t = forged(
      built.document,
      (d) => {
        d.inputs!.prev.carry[0][1] = (BigInt(d.inputs!.prev.carry[0][1]) + 5n).toString();
        d.inputs!.prev.carryRoot = carryTree(
          d.inputs!.prev.carry.map(([nodeId, x]) => ({ nodeId, traffic: BigInt(x) })),
        ).root;
      },
      built.report,
    );
    expect(auditReport(t.bytes, chainOf(t.report, chainPrev)).firstMismatch?.code).to.equal("PREV_CARRY");
    // Another top-N than the auditor expects.
    expect(auditReport(bytesOf(built), chainOf(built.report, chainPrev, { topN: 100 })).firstMismatch).to.deep.include({
      code: "TOP_N",
      expected: "100",
      actual: String(TOP_N),
    });
  });

  it("bytes that are not a canonical report document: DOCUMENT_FORMAT, the rest not reached", () => {
    for (const text of ["not json", JSON.stringify({ version: 2 }), JSON.stringify(JSON.parse(built.json), null, 1)]) {
      const bytes = stringToBytes(text);
      const v = auditReport(bytes, chainOf({ ...built.report, dataCid: cidOf(bytes).digest }, chainPrev));
      expect(v.firstMismatch?.code, text.slice(0, 20)).to.equal("DOCUMENT_FORMAT");
      expect(v.checks.filter((c) => c.status === "skipped").length).to.equal(AUDIT_CHECKS.length - 2);
    }
  });

  it("a version-1 document (no inputs): its numbers are checked, receipts and ledger skipped, incomplete", async () => {
    const v1 = await report(5n, prev, false);
    expect(v1.document.version).to.equal(1);
    const v = auditReport(bytesOf(v1), chainOf(v1.report, chainPrev));
    expect(v).to.include({ ok: true, complete: false, version: 1 });
    expect(v.checks.filter((c) => c.status === "skipped").map((c) => c.name)).to.deep.equal([
      "base",
      "receipts",
      "ledger",
    ]);
    // The split is still checked: swapping a rewarded node with a carried one is a RANKING mismatch.
    const t = forged(
      v1.document,
      (d) => {
        const [r, c] = [d.rewards[d.rewards.length - 1], d.carry[0]];
        [r.nodeId, r.traffic, c.nodeId, c.traffic] = [c.nodeId, c.traffic, r.nodeId, r.traffic];
        d.carry.sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
        d.totalTraffic = d.rewards.reduce((s, x) => s + BigInt(x.traffic), 0n).toString();
        d.rewardsRoot = new MerkleTree(d.rewards.map((x, i) => rewardLeaf(i, x.nodeId, BigInt(x.traffic)))).root;
        d.carryRoot = carryTree(d.carry.map((x) => ({ nodeId: x.nodeId, traffic: BigInt(x.traffic) }))).root;
      },
      v1.report,
    );
    expect(auditReport(t.bytes, chainOf(t.report, chainPrev)).firstMismatch?.code).to.equal("RANKING");
  });
});
