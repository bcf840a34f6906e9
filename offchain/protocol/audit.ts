/**
 * Audits of reported periods (docs/AUDIT.md): anyone holding a period's report document and the chain's record of
 * the period recomputes the period's rewards and compares. Pure and deterministic: no I/O (the SDK action
 * `auditPeriod`, offchain/client/actions/rewards/auditPeriod.ts, reads the chain and fetches the document).
 *
 * Nothing here is a rule of its own: the document encoding, the CID, the trees and the ledger are
 * offchain/protocol/{report,merkle,ledger}.ts, and the receipt and carry-over rules are the ones the validators apply
 * to a proposal (offchain/protocol/proposal.ts `receiptsProblem`, `prevCarryProblem`, `recomputeReport`). The checks,
 * in order (the first failing one is the verdict's `firstMismatch`):
 *
 *   dataCid     sha256 of the document bytes is the attestation's `dataCid`            DATA_CID
 *   format      the bytes are a report document in canonical JSON                      DOCUMENT_FORMAT
 *   period      the document is of the audited period                                  PERIOD
 *   rewardsRoot the reward leaves hash to the document's root, which is the chain's    DOCUMENT_REWARDS_ROOT, REWARDS_ROOT
 *   totals      Σ rewarded traffic and the count, in the document and on chain         DOCUMENT_TOTAL_TRAFFIC, TOTAL_TRAFFIC,
 *                                                                                      DOCUMENT_NODE_COUNT, NODE_COUNT
 *   carryRoot   the carried nodes hash to the document's carry root, the chain's       DOCUMENT_CARRY_ROOT, CARRY_ROOT
 *   ranking     rewarded ∪ carried, closed with the top-N, gives the same split        RANKING
 *   base        (inputs) the carry-over built on is the previous reported period's     PREV_REPORT, PREV_CARRY, TOP_N
 *   receipts    (inputs) every receipt in its window, listed canonically, both sides   TRAFFIC_WINDOW, RECEIPT_LIST,
 *               signed: the client, and the node's signing key registered on chain     RECEIPT_PERIOD, CLIENT_SIGNATURE,
 *                                                                                      NODE_KEY, NODE_SIGNATURE
 *   ledger      (inputs) the ledger recomputed from them gives this very document      LEDGER
 *
 * A version-1 document carries no inputs (receipts, previous carry-over, top-N): base, receipts and ledger are then
 * skipped and the verdict is `complete: false` — its numbers are consistent, but not shown to come from receipts.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import { KeyRing } from "../core/signing";
import { closePeriod, ledgerFrom, MAX_TRAFFIC, type RankedNode } from "./ledger";
import { MerkleTree, ZERO_HASH, rewardLeaf } from "./merkle";
import { fromPeriodOf, prevCarryProblem, receiptsProblem, recomputeReport, type PrevReport } from "./proposal";
import { periodFromWire, wirePeriodSchema, type PeriodReceipts, type WirePeriod } from "./receipts";
import {
  AUDITABLE_DOCUMENT_VERSION,
  REPORT_DOCUMENT_VERSION,
  canonicalJson,
  carryTree,
  cidFromDigest,
  cidOf,
  claimAmount,
  type Attestation,
  type PeriodTerms,
  type ReportDocument,
} from "./report";

/** What the chain holds about the audited period (offchain/chain/rewards.ts `readPeriod`, `reportedRange`). */
export interface AuditChainRecord {
  chainId: number;
  /** The mining pool (the `traffic` signing domain's verifying contract). */
  pool: Address;
  period: bigint;
  terms: PeriodTerms;
  attestation: Attestation;
  /** The previous reported period (null: none) and its attested carry root (ZERO_HASH without one). */
  prev: { period: bigint | null; carryRoot: Hex };
  /** The signing key registered for a node when the report landed (undefined: none). */
  nodeKey(nodeId: Hex): Address | undefined;
  /** The top-N the auditor expects (the network's validator setting); unchecked if absent. */
  topN?: number;
}

/** Stable codes of what can disagree (docs/AUDIT.md). */
export type AuditMismatchCode =
  | "DATA_CID"
  | "DOCUMENT_FORMAT"
  | "PERIOD"
  | "DOCUMENT_REWARDS_ROOT"
  | "REWARDS_ROOT"
  | "DOCUMENT_TOTAL_TRAFFIC"
  | "TOTAL_TRAFFIC"
  | "DOCUMENT_NODE_COUNT"
  | "NODE_COUNT"
  | "DOCUMENT_CARRY_ROOT"
  | "CARRY_ROOT"
  | "RANKING"
  | "PREV_REPORT"
  | "PREV_CARRY"
  | "TOP_N"
  | "TRAFFIC_WINDOW"
  | "RECEIPT_LIST"
  | "RECEIPT_PERIOD"
  | "CLIENT_SIGNATURE"
  | "NODE_KEY"
  | "NODE_SIGNATURE"
  | "LEDGER";

/** The checks, in the order they run. */
export const AUDIT_CHECKS = [
  "dataCid",
  "format",
  "period",
  "rewardsRoot",
  "totals",
  "carryRoot",
  "ranking",
  "base",
  "receipts",
  "ledger",
] as const;
export type AuditCheckName = (typeof AUDIT_CHECKS)[number];

/**
 * A disagreement: `field` names where the disagreeing value was found and `actual` is that value; `expected` is what
 * the recomputation says it should be (for the document's hash and period: what the chain holds).
 */
export interface AuditMismatch {
  code: AuditMismatchCode;
  check: AuditCheckName;
  /** Where: `document.sha256`, `terms.rewardsRoot`, `rewards[3].traffic`, `inputs.traffic[0].client[2]`… */
  field: string;
  expected: string;
  actual: string;
  reason?: string;
}

export interface AuditCheck {
  name: AuditCheckName;
  status: "ok" | "mismatch" | "skipped";
  detail: string;
  mismatch?: AuditMismatch;
}

/** A rewarded node: its traffic and what its claim pays, `nodeEmission × traffic / totalTraffic` (rounded down). */
export interface AuditReward {
  index: number;
  nodeId: Hex;
  traffic: bigint;
  amount: bigint;
}

export interface AuditVerdict {
  /** No check found a mismatch. */
  ok: boolean;
  /** Every check ran (the document carries its inputs): the rewards are shown to follow from signed receipts. */
  complete: boolean;
  period: bigint;
  /** The attestation's `dataCid` as a CID string. */
  cid: string;
  /** Document version, if the bytes parsed. */
  version?: number;
  checks: AuditCheck[];
  firstMismatch?: AuditMismatch;
  /** The document's rewarded nodes and their claims (terms' emission and total). */
  rewards: AuditReward[];
  nodeEmission: bigint;
  totalTraffic: bigint;
  /** Receipts the recomputation used (both sides), with inputs. */
  receipts?: number;
  topN?: number;
}

// ------------------------------------------------------------------------------------------ parsing

const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, "expected lower-case 32-byte hex");
const uintText = z
  .string()
  .regex(/^(0|[1-9]\d{0,19})$/, "expected a decimal integer")
  .refine((v) => BigInt(v) <= MAX_TRAFFIC, "does not fit uint64");
const documentSchema = z.strictObject({
  version: z.union([z.literal(REPORT_DOCUMENT_VERSION), z.literal(AUDITABLE_DOCUMENT_VERSION)]),
  period: uintText,
  totalTraffic: uintText,
  nodeCount: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  rewardsRoot: hex32,
  carryRoot: hex32,
  rewards: z.array(z.strictObject({ index: z.number().int().min(0), nodeId: hex32, traffic: uintText })),
  carry: z.array(z.strictObject({ nodeId: hex32, traffic: uintText })),
  inputs: z
    .strictObject({
      topN: z
        .number()
        .int()
        .min(1)
        .max(2 ** 32 - 1),
      prev: z.strictObject({
        period: uintText.nullable(),
        carryRoot: hex32,
        carry: z.array(z.tuple([hex32, uintText])),
      }),
      traffic: z.array(z.custom<WirePeriod>((v) => wirePeriodSchema.safeParse(v).success, "bad wire receipts")),
    })
    .optional(),
});

/** A parsed document, or why the bytes are not one. */
export function parseReportDocument(bytes: Uint8Array): { doc: ReportDocument; text: string } | { problem: string } {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { problem: "not UTF-8 text" };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { problem: `not JSON: ${(err as Error).message}` };
  }
  const parsed = documentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: `bad document at ${issue.path.join(".") || "(root)"}: ${issue.message}` };
  }
  const doc = parsed.data as ReportDocument;
  if ((doc.version === AUDITABLE_DOCUMENT_VERSION) !== (doc.inputs !== undefined))
    return { problem: `a version-${doc.version} document ${doc.inputs ? "with" : "without"} inputs` };
  if (canonicalJson(doc) !== text) return { problem: "not in canonical encoding" };
  return { doc, text };
}

/** The node ids whose registered signing keys an audit of `bytes` needs (the node side of its receipts). */
export function auditNodeIds(bytes: Uint8Array): Hex[] {
  const parsed = parseReportDocument(bytes);
  if ("problem" in parsed || parsed.doc.inputs === undefined) return [];
  const ids = new Set<Hex>();
  for (const g of parsed.doc.inputs.traffic) for (const r of g.node) ids.add(r.nodeId.toLowerCase() as Hex);
  return [...ids].sort();
}

// ------------------------------------------------------------------------------------------ the audit

const str = (v: bigint | number | string | null) => (v === null ? "none" : v.toString());

/** Audits a period's report document against the chain's record of it (see the module comment). Never throws. */
export function auditReport(bytes: Uint8Array, chain: AuditChainRecord): AuditVerdict {
  const checks: AuditCheck[] = [];
  const done = new Set<AuditCheckName>();
  const pass = (name: AuditCheckName, detail: string) => {
    checks.push({ name, status: "ok", detail });
    done.add(name);
  };
  const skip = (name: AuditCheckName, detail: string) => {
    checks.push({ name, status: "skipped", detail });
    done.add(name);
  };
  const fail = (
    name: AuditCheckName,
    code: AuditMismatchCode,
    field: string,
    expected: string,
    actual: string,
    reason?: string,
  ) => {
    const mismatch: AuditMismatch = { code, check: name, field, expected, actual, ...(reason ? { reason } : {}) };
    checks.push({
      name,
      status: "mismatch",
      detail: reason ?? `${field}: expected ${expected}, found ${actual}`,
      mismatch,
    });
    done.add(name);
  };
  const verdict = (extra: Partial<AuditVerdict> = {}): AuditVerdict => {
    for (const name of AUDIT_CHECKS) if (!done.has(name)) skip(name, "not reached: the document did not parse");
    checks.sort((a, b) => AUDIT_CHECKS.indexOf(a.name) - AUDIT_CHECKS.indexOf(b.name));
    const firstMismatch = checks.find((c) => c.mismatch !== undefined)?.mismatch;
    return {
      ok: firstMismatch === undefined,
      complete: firstMismatch === undefined && checks.every((c) => c.status === "ok"),
      period: chain.period,
      cid: cidFromDigest(chain.attestation.dataCid),
      checks,
      ...(firstMismatch ? { firstMismatch } : {}),
      rewards: [],
      nodeEmission: chain.terms.nodeEmission,
      totalTraffic: chain.terms.totalTraffic,
      ...extra,
    };
  };

  // dataCid: the bytes are the ones the committee signed.
  const { digest } = cidOf(bytes);
  if (digest !== chain.attestation.dataCid.toLowerCase())
    fail("dataCid", "DATA_CID", "document.sha256", chain.attestation.dataCid.toLowerCase(), digest);
  else pass("dataCid", `sha256 of ${bytes.length} bytes is the attested dataCid`);

  // format
  const parsed = parseReportDocument(bytes);
  if ("problem" in parsed) {
    fail("format", "DOCUMENT_FORMAT", "document", "a canonical report document", "unparseable", parsed.problem);
    return verdict();
  }
  const { doc } = parsed;
  pass("format", `report document version ${doc.version}, canonical JSON`);

  // period
  if (doc.period !== chain.period.toString())
    fail("period", "PERIOD", "document.period", chain.period.toString(), doc.period);
  else pass("period", `period ${doc.period}`);

  // rewardsRoot
  const rewards: RankedNode[] = doc.rewards.map((r) => ({ nodeId: r.nodeId, traffic: BigInt(r.traffic) }));
  const badIndex = doc.rewards.findIndex((r, i) => r.index !== i);
  const chainRewardsRoot = chain.terms.rewardsRoot.toLowerCase();
  if (badIndex >= 0) {
    fail(
      "rewardsRoot",
      "DOCUMENT_REWARDS_ROOT",
      `rewards[${badIndex}].index`,
      String(badIndex),
      String(doc.rewards[badIndex].index),
    );
  } else {
    const root = new MerkleTree(rewards.map((n, i) => rewardLeaf(i, n.nodeId, n.traffic))).root;
    if (root !== doc.rewardsRoot)
      fail("rewardsRoot", "DOCUMENT_REWARDS_ROOT", "document.rewardsRoot", root, doc.rewardsRoot);
    else if ((rewards.length === 0 ? ZERO_HASH : root) !== chainRewardsRoot)
      fail("rewardsRoot", "REWARDS_ROOT", "terms.rewardsRoot", root, chainRewardsRoot);
    else pass("rewardsRoot", `${rewards.length} reward leaves hash to the root on chain`);
  }

  // totals
  const sum = rewards.reduce((s, n) => s + n.traffic, 0n);
  if (sum.toString() !== doc.totalTraffic)
    fail("totals", "DOCUMENT_TOTAL_TRAFFIC", "document.totalTraffic", sum.toString(), doc.totalTraffic);
  else if (rewards.length !== doc.nodeCount)
    fail("totals", "DOCUMENT_NODE_COUNT", "document.nodeCount", String(rewards.length), String(doc.nodeCount));
  else if (chain.terms.totalTraffic !== sum)
    fail("totals", "TOTAL_TRAFFIC", "terms.totalTraffic", sum.toString(), chain.terms.totalTraffic.toString());
  else if (chain.terms.nodeCount !== rewards.length)
    fail("totals", "NODE_COUNT", "terms.nodeCount", String(rewards.length), String(chain.terms.nodeCount));
  else pass("totals", `total traffic ${sum} over ${rewards.length} nodes, as on chain`);

  // carryRoot
  const carried: RankedNode[] = doc.carry.map((c) => ({ nodeId: c.nodeId, traffic: BigInt(c.traffic) }));
  const carryRoot = carryTree(carried).root;
  if (carryRoot !== doc.carryRoot)
    fail("carryRoot", "DOCUMENT_CARRY_ROOT", "document.carryRoot", carryRoot, doc.carryRoot);
  else if (carryRoot !== chain.attestation.carryRoot.toLowerCase())
    fail("carryRoot", "CARRY_ROOT", "attestation.carryRoot", carryRoot, chain.attestation.carryRoot.toLowerCase());
  else pass("carryRoot", `${carried.length} carried nodes hash to the carry root on chain`);

  // ranking: the split of rewarded ∪ carried is what closing the period gives.
  const topN = doc.inputs?.topN ?? Math.max(1, rewards.length);
  try {
    const closed = closePeriod(
      ledgerFrom(
        chain.period,
        [...rewards, ...carried].map((n) => [n.nodeId, n.traffic] as const),
      ),
      topN,
    );
    const mismatch =
      firstDifference("rewards", closed.top, rewards) ?? firstDifference("carry", closed.carried, carried);
    const dup = new Set([...rewards, ...carried].map((n) => n.nodeId)).size !== rewards.length + carried.length;
    if (dup) fail("ranking", "RANKING", "rewards/carry", "each node once", "a node listed twice");
    else if (carried.some((n) => n.traffic === 0n) || rewards.some((n) => n.traffic === 0n))
      fail("ranking", "RANKING", "rewards/carry", "positive traffic", "a node with zero traffic");
    else if (mismatch !== undefined) fail("ranking", "RANKING", mismatch.field, mismatch.expected, mismatch.actual);
    else pass("ranking", `top ${topN} by traffic (ties: smaller id), everyone else carried over`);
  } catch (err) {
    fail("ranking", "RANKING", "rewards/carry", "a ledger", "unusable", (err as Error).message);
  }

  const claims = rewards.map((n, index) => ({
    index,
    nodeId: n.nodeId,
    traffic: n.traffic,
    amount: claimAmount(chain.terms.nodeEmission, n.traffic, chain.terms.totalTraffic),
  }));

  const inputs = doc.inputs;
  if (inputs === undefined) {
    const why = "a version-1 document carries no inputs (receipts, previous carry-over, top-N)";
    for (const name of ["base", "receipts", "ledger"] as const) skip(name, why);
    return verdict({ version: doc.version, rewards: claims });
  }

  // base: the carry-over it builds on is the previous reported period's, as the chain attests it.
  const prev: PrevReport = {
    period: inputs.prev.period === null ? null : BigInt(inputs.prev.period),
    carryRoot: inputs.prev.carryRoot,
    carry: inputs.prev.carry.map(([nodeId, t]) => ({ nodeId, traffic: BigInt(t) })),
  };
  const chainPrevRoot = chain.prev.carryRoot.toLowerCase();
  const carryProblem = prevCarryProblem(prev);
  if (prev.period !== chain.prev.period)
    fail("base", "PREV_REPORT", "inputs.prev.period", str(chain.prev.period), str(prev.period));
  else if (fromPeriodOf(prev.period) !== chain.attestation.fromPeriod)
    fail(
      "base",
      "PREV_REPORT",
      "attestation.fromPeriod",
      fromPeriodOf(prev.period).toString(),
      chain.attestation.fromPeriod.toString(),
    );
  else if (prev.carryRoot !== chainPrevRoot)
    fail("base", "PREV_CARRY", "inputs.prev.carryRoot", chainPrevRoot, prev.carryRoot);
  else if (carryProblem !== undefined)
    fail("base", "PREV_CARRY", "inputs.prev.carry", prev.carryRoot, carryTree(prev.carry).root, carryProblem);
  else if (chain.topN !== undefined && chain.topN !== inputs.topN)
    fail("base", "TOP_N", "inputs.topN", String(chain.topN), String(inputs.topN));
  else
    pass(
      "base",
      `${prev.period === null ? "first report" : `builds on period ${prev.period}`}: ${prev.carry.length} carried nodes, top ${inputs.topN}`,
    );

  // receipts: the validators' rule, with the keys registered on chain.
  let traffic: PeriodReceipts[];
  try {
    traffic = inputs.traffic.map(periodFromWire);
  } catch (err) {
    fail("receipts", "RECEIPT_LIST", "inputs.traffic", "wire receipts", "unparseable", (err as Error).message);
    skip("ledger", "not recomputed: the receipts did not parse");
    return verdict({ version: doc.version, rewards: claims, topN: inputs.topN });
  }
  const receipts = traffic.reduce((s, g) => s + g.client.length + g.node.length, 0);
  const problem = receiptsProblem(
    { period: chain.period, prev, traffic },
    { chainId: chain.chainId, pool: chain.pool, nodeKey: (id) => chain.nodeKey(id), keyRing: new KeyRing() },
  );
  if (problem !== undefined) {
    const where = problem.taskId === undefined ? "inputs.traffic" : receiptField(traffic, problem.taskId, problem.code);
    const expected =
      problem.code === "CLIENT_SIGNATURE"
        ? "the client's signature"
        : problem.code === "NODE_SIGNATURE" || problem.code === "NODE_KEY"
          ? "a signature by the node's registered key"
          : "receipts as the validators accept them";
    fail("receipts", problem.code, where, expected, problem.code === "NODE_KEY" ? "no key" : "invalid", problem.reason);
  } else pass("receipts", `${receipts} receipts in ${traffic.length} periods, every signature valid`);

  // ledger: the recomputation gives exactly this document.
  try {
    const built = recomputeReport(
      { epoch: chain.attestation.epoch, topN: inputs.topN, period: chain.period, prev, traffic },
      { publishInputs: true },
    );
    if (built.json === parsed.text) pass("ledger", "the ledger recomputed from the receipts gives this document");
    else {
      const d = built.document;
      const top = d.rewards.map((r) => ({ nodeId: r.nodeId, traffic: BigInt(r.traffic) }));
      const carry = d.carry.map((c) => ({ nodeId: c.nodeId, traffic: BigInt(c.traffic) }));
      const diff = firstDifference("rewards", top, rewards) ??
        firstDifference("carry", carry, carried) ?? {
          field: "document",
          expected: built.cid,
          actual: cidOf(bytes).cid,
        };
      fail("ledger", "LEDGER", diff.field, diff.expected, diff.actual);
    }
  } catch (err) {
    fail("ledger", "LEDGER", "inputs", "a ledger", "unusable", (err as Error).message);
  }
  return verdict({ version: doc.version, rewards: claims, receipts, topN: inputs.topN });
}

/** The first place two node lists differ, as a mismatch field. */
function firstDifference(
  name: string,
  expected: readonly RankedNode[],
  actual: readonly RankedNode[],
): { field: string; expected: string; actual: string } | undefined {
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const e = expected[i];
    const a = actual[i];
    if (e === undefined || a === undefined)
      return {
        field: `${name}[${i}]`,
        expected: e === undefined ? "no entry" : `${e.nodeId} ${e.traffic}`,
        actual: a === undefined ? "no entry" : `${a.nodeId} ${a.traffic}`,
      };
    if (e.nodeId !== a.nodeId) return { field: `${name}[${i}].nodeId`, expected: e.nodeId, actual: a.nodeId };
    if (e.traffic !== a.traffic)
      return { field: `${name}[${i}].traffic`, expected: e.traffic.toString(), actual: a.traffic.toString() };
  }
  return undefined;
}

/** `inputs.traffic[g].client[i]` (or `.node[i]`) of the receipt a problem names. */
function receiptField(traffic: readonly PeriodReceipts[], taskId: Hex, code: string): string {
  const side = code === "CLIENT_SIGNATURE" ? ["client"] : code.startsWith("NODE") ? ["node"] : ["client", "node"];
  for (const [g, group] of traffic.entries())
    for (const s of side) {
      const i = (group[s as "client" | "node"] as PeriodReceipts["client"]).findIndex(
        (r) => r.receipt.taskId.toLowerCase() === taskId.toLowerCase(),
      );
      if (i >= 0) return `inputs.traffic[${g}].${s}[${i}]`;
    }
  return "inputs.traffic";
}
