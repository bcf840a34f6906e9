/**
 * Period proposals: the requests the validators order with PBFT (PROTOCOL §10–§11). Pure: no I/O.
 *
 * ## Sequence numbers ↔ periods
 *
 * The committee of epoch `e` runs one PBFT configuration (`configId = e`). Its **base period** is the period in
 * progress when it was elected, `base(e) = ⌊(electedAt − genesis) / periodLength⌋` (electedAt from
 * `committeeInfo(e)`, genesis and length from the MiningPool): immutable chain data every validator reads
 * alike. Sequence number `s ≥ 1` of that configuration is about period **`base(e) + s − 1`**, nothing else:
 * a request names its `seq` and `period`, validation checks `period = base + seq − 1`, and a request executed
 * at another sequence number than the one it names is a no-op (every honest replica agrees: they execute the
 * same log). So the primary's signed pre-prepare, the EIP-712 `Proposal{epoch: e, period: s, round: view,
 * digest}`, names exactly one period, and two of them with different digests — slashing evidence — are two
 * conflicting proposals for the same period in the same round.
 *
 * ## Two kinds of request
 *
 * - **report** — "the report of period p": the previous reported period's carry-over (`prev`: its period,
 *   carry root and carried nodes), the signed receipts of the periods since (`traffic`, at most
 *   {@link ROLL_FORWARD_LIMIT} periods), the top-N and the resulting `PeriodReport`, whose `fromPeriod` is
 *   `prev.period + 1` (0 without a previous report): the pool's `nextPeriod` the report builds on, which the pool
 *   checks when it lands. Traffic of periods that were never reported rolls forward into the next report, as
 *   their emission does on chain — downtime costs nodes nothing.
 * - **skip** — "period p is not reported on its own" (its traffic rolls forward): fills the sequence number
 *   of a period the committee did not report in time; valid only once a later period has ended.
 *
 * ## Validation is recomputation
 *
 * {@link checkProposal} decodes the request (canonical JSON only: one encoding per content, so equal
 * proposals have equal digests), checks the mapping and the domain (chain, pool, epoch, top-N), that the period
 * has ended (chain time), that `prev` is a period reported on chain with that carry root and that the carried
 * nodes hash to it, every receipt's two signatures (the client; the node's registered signing key), and then
 * rebuilds the ledger and the report with offchain/protocol/{ledger,report}.ts — a proposal whose report does not
 * recompute exactly is rejected. Every chain fact it uses only ever turns a proposal from invalid to valid
 * (time passes, periods get reported), never back, so a request that was valid stays valid while it waits to be
 * ordered. Whether `prev` is still the *latest* report is checked when signing (see signing-record.ts).
 */
import { z } from "zod";
import type { Address, Hex, TypedDataDomain } from "viem";
import { domainOf, type KeyRing, type PeriodReportMessage } from "../core/signing";
import { ZERO_HASH } from "./merkle";
import { ValidationError } from "../core/errors";
import { applyMatched, ledgerFrom, matchReceipts, MAX_TRAFFIC, type LedgerState, type RankedNode } from "./ledger";
import { buildReport, carryTree, type BuiltReport, type ReportInputs } from "./report";
import { periodFromWire, periodToWire, type PeriodReceipts, type SignedReceipt } from "./receipts";

/** Version of the request encoding. */
export const PROPOSAL_VERSION = 2;
/** Most periods of traffic one report carries (older unreported traffic is dropped). */
export const ROLL_FORWARD_LIMIT = 144;
/** Most receipts (both sides) in one report request. */
export const MAX_PROPOSAL_RECEIPTS = 200_000;
/** Most carried-over nodes in one report request. */
export const MAX_CARRY_NODES = 1_000_000;
/**
 * Whether report documents publish their proposal's inputs (version 2, auditable: docs/AUDIT.md). The one rule
 * the proposer ({@link buildReportProposal}), every replica ({@link checkProposal}) and execution
 * ({@link recomputeReport}) default to: the inputs change `dataCid`, so the whole committee switches together.
 */
export const PUBLISH_INPUTS = true;

/** The report a request builds on: the last reported period and its carry-over (null: none ever reported). */
export interface PrevReport {
  period: bigint | null;
  carryRoot: Hex;
  /** Carried nodes, sorted by node id, traffic > 0. */
  carry: RankedNode[];
}

interface ProposalBase {
  chainId: number;
  pool: Address;
  epoch: bigint;
  seq: number;
  period: bigint;
}

export interface ReportProposal extends ProposalBase {
  type: "report";
  topN: number;
  prev: PrevReport;
  /** Receipts of periods in (prev.period, period], ascending, non-empty groups. */
  traffic: PeriodReceipts[];
  report: PeriodReportMessage;
}

export interface SkipProposal extends ProposalBase {
  type: "skip";
}

export type PeriodProposal = ReportProposal | SkipProposal;

// ------------------------------------------------------------------------------------------ mapping

/** The committee's base period: the period in progress at its election (0 before genesis). */
export function basePeriod(electedAt: bigint, genesis: bigint, periodLength: bigint): bigint {
  if (periodLength <= 0n)
    throw new ValidationError("PROTOCOL_PERIOD", "period length must be positive", { value: periodLength });
  return electedAt <= genesis ? 0n : (electedAt - genesis) / periodLength;
}

/** Period of sequence number `seq` (≥ 1) in a configuration with base period `base`. */
export function periodOfSeq(base: bigint, seq: number): bigint {
  if (!Number.isSafeInteger(seq) || seq < 1)
    throw new ValidationError("PROTOCOL_PERIOD", `bad sequence number ${seq}`, { value: seq });
  return base + BigInt(seq) - 1n;
}

/** Sequence number of `period` (≥ base) in a configuration with base period `base`. */
export function seqOfPeriod(base: bigint, period: bigint): number {
  if (period < base)
    throw new ValidationError("PROTOCOL_PERIOD", `period ${period} is before the base ${base}`, { value: period });
  return Number(period - base) + 1;
}

/** First second after `period` (a report is accepted from then on). */
export function periodEnd(genesis: bigint, periodLength: bigint, period: bigint): bigint {
  return genesis + (period + 1n) * periodLength;
}

/** The last period that has ended at `time` (undefined if none has). */
export function lastEndedPeriod(genesis: bigint, periodLength: bigint, time: bigint): bigint | undefined {
  if (time < genesis + periodLength) return undefined;
  return (time - genesis) / periodLength - 1n;
}

// ------------------------------------------------------------------------------------------ encoding

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Receipts in canonical order: by task id, then signature. */
export function sortReceipts(list: readonly SignedReceipt[]): SignedReceipt[] {
  return [...list].sort(
    (a, b) =>
      compare(a.receipt.taskId.toLowerCase(), b.receipt.taskId.toLowerCase()) ||
      compare(a.signature.toLowerCase(), b.signature.toLowerCase()),
  );
}

/**
 * One side's receipts of a period as a proposal must carry them (issue 19 item 3): in canonical order (so one
 * content has one digest) and at most one per task (a task listed twice would be voided by the ledger, so the
 * proposer could void a competitor's task by repeating its receipt). Keeps the first of each task.
 */
export function canonicalReceipts(list: readonly SignedReceipt[]): SignedReceipt[] {
  const out: SignedReceipt[] = [];
  for (const r of sortReceipts(list))
    if (out.length === 0 || out[out.length - 1].receipt.taskId.toLowerCase() !== r.receipt.taskId.toLowerCase())
      out.push(r);
  return out;
}

/** Why `list` is not in {@link canonicalReceipts} form (a task twice, or out of order), or undefined. */
export function receiptListProblem(list: readonly SignedReceipt[]): string | undefined {
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1].receipt.taskId.toLowerCase();
    const b = list[i].receipt.taskId.toLowerCase();
    if (a === b) return `task ${list[i].receipt.taskId} listed twice`;
    if (a > b) return `receipts not in canonical order at task ${list[i].receipt.taskId}`;
  }
  return undefined;
}

function reportToJson(r: PeriodReportMessage) {
  return {
    epoch: r.epoch.toString(),
    period: r.period.toString(),
    fromPeriod: r.fromPeriod.toString(),
    rewardsRoot: r.rewardsRoot.toLowerCase(),
    totalTraffic: r.totalTraffic.toString(),
    nodeCount: r.nodeCount,
    carryRoot: r.carryRoot.toLowerCase(),
    dataCid: r.dataCid.toLowerCase(),
  };
}

/** The canonical text of a proposal (fixed key order, lower-case hex, decimal strings): what PBFT orders. */
export function encodeProposal(p: PeriodProposal): string {
  const head = {
    v: PROPOSAL_VERSION,
    type: p.type,
    chainId: p.chainId,
    pool: p.pool.toLowerCase(),
    epoch: p.epoch.toString(),
    seq: p.seq,
    period: p.period.toString(),
  };
  if (p.type === "skip") return JSON.stringify(head);
  return JSON.stringify({
    ...head,
    topN: p.topN,
    prev: {
      period: p.prev.period === null ? null : p.prev.period.toString(),
      carryRoot: p.prev.carryRoot.toLowerCase(),
      carry: p.prev.carry.map((n) => [n.nodeId.toLowerCase(), n.traffic.toString()]),
    },
    traffic: p.traffic.map(periodToWire),
    report: reportToJson(p.report),
  });
}

/** A report proposal's inputs as a version-2 report document publishes them (the same encoding as the request's). */
export function proposalInputs(p: Pick<ReportProposal, "topN" | "prev" | "traffic">): ReportInputs {
  return {
    topN: p.topN,
    prev: {
      period: p.prev.period === null ? null : p.prev.period.toString(),
      carryRoot: p.prev.carryRoot.toLowerCase() as Hex,
      carry: p.prev.carry.map((n) => [n.nodeId.toLowerCase() as Hex, n.traffic.toString()]),
    },
    traffic: p.traffic.map(periodToWire),
  };
}

const hex32 = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/, "expected lower-case 32-byte hex")
  .transform((s) => s as Hex);
const uint = z
  .string()
  .regex(/^(0|[1-9]\d{0,19})$/, "expected a decimal integer")
  .transform((s) => BigInt(s))
  .refine((v) => v < 1n << 64n, "does not fit uint64");
const headShape = {
  v: z.literal(PROPOSAL_VERSION),
  chainId: z.number().int().positive(),
  pool: z
    .string()
    .regex(/^0x[0-9a-f]{40}$/, "expected a lower-case address")
    .transform((s) => s as Address),
  epoch: uint,
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  period: uint,
};
const skipSchema = z.strictObject({ ...headShape, type: z.literal("skip") });
const reportSchema = z.strictObject({
  ...headShape,
  type: z.literal("report"),
  topN: z
    .number()
    .int()
    .min(1)
    .max(2 ** 32 - 1),
  prev: z.strictObject({
    period: uint.nullable(),
    carryRoot: hex32,
    carry: z.array(z.tuple([hex32, uint])).max(MAX_CARRY_NODES),
  }),
  traffic: z.array(z.unknown()).max(ROLL_FORWARD_LIMIT),
  report: z.strictObject({
    epoch: uint,
    period: uint,
    fromPeriod: uint,
    rewardsRoot: hex32,
    totalTraffic: uint,
    nodeCount: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1),
    carryRoot: hex32,
    dataCid: hex32,
  }),
});

/** Parses a request; throws a {@link ValidationError} (`PROPOSAL_DECODE`) for anything that is not a proposal. */
export function decodeProposal(text: string): PeriodProposal {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ValidationError("PROTOCOL_PROPOSAL_DECODE", `request is not JSON: ${(err as Error).message}`, {
      value: text,
    });
  }
  const type = (raw as { type?: unknown } | null)?.type;
  const parsed = (type === "skip" ? skipSchema : reportSchema).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError("PROTOCOL_PROPOSAL_DECODE", `bad proposal at ${issue.path.join(".")}: ${issue.message}`, {
      value: issue.path.join("."),
    });
  }
  const d = parsed.data;
  const head = { chainId: d.chainId, pool: d.pool, epoch: d.epoch, seq: d.seq, period: d.period };
  if (d.type === "skip") return { type: "skip", ...head };
  return {
    type: "report",
    ...head,
    topN: d.topN,
    prev: {
      period: d.prev.period,
      carryRoot: d.prev.carryRoot,
      carry: d.prev.carry.map(([nodeId, traffic]) => ({ nodeId, traffic })),
    },
    traffic: d.traffic.map(periodFromWire),
    report: { ...d.report },
  };
}

// ------------------------------------------------------------------------------------------ building

/** The ledger a report proposal closes: the carried traffic plus every matched task of its periods. */
export function proposalLedger(p: Pick<ReportProposal, "period" | "prev" | "traffic">): LedgerState {
  let ledger = ledgerFrom(
    p.period,
    p.prev.carry.map((n) => [n.nodeId, n.traffic] as const),
  );
  for (const group of p.traffic) {
    const { matched } = matchReceipts(
      group.period,
      group.client.map((r) => r.receipt),
      group.node.map((r) => r.receipt),
    );
    // Unreported periods' traffic rolls forward into this report's period.
    ledger = applyMatched(
      ledger,
      matched.map((m) => ({ ...m, period: p.period })),
    );
  }
  return ledger;
}

/**
 * The first period a report built on `prevPeriod` covers — the pool's `nextPeriod` while `prevPeriod` is the last
 * reported period (0 before any report) — and so the report's `fromPeriod`.
 */
export function fromPeriodOf(prevPeriod: bigint | null): bigint {
  return prevPeriod === null ? 0n : prevPeriod + 1n;
}

/**
 * Rebuilds the report (and document, claims, carry-out) a report proposal stands for. `publishInputs` (default
 * {@link PUBLISH_INPUTS}): the document carries the proposal's inputs (version 2, auditable: docs/AUDIT.md) — which
 * changes its `dataCid`, so the whole committee must agree on it.
 */
export function recomputeReport(
  p: Pick<ReportProposal, "epoch" | "topN" | "period" | "prev" | "traffic">,
  { publishInputs = PUBLISH_INPUTS }: { publishInputs?: boolean } = {},
): BuiltReport {
  return buildReport(proposalLedger(p), {
    epoch: p.epoch,
    topN: p.topN,
    fromPeriod: fromPeriodOf(p.prev.period),
    ...(publishInputs ? { inputs: proposalInputs(p) } : {}),
  });
}

/** The window of traffic periods a report of `period` built on `prev` carries: [from, period]. */
export function trafficWindow(prevPeriod: bigint | null, period: bigint): { from: bigint; to: bigint } {
  const limitFrom = period + 1n > BigInt(ROLL_FORWARD_LIMIT) ? period + 1n - BigInt(ROLL_FORWARD_LIMIT) : 0n;
  const afterPrev = prevPeriod === null ? 0n : prevPeriod + 1n;
  return { from: afterPrev > limitFrom ? afterPrev : limitFrom, to: period };
}

/**
 * Receipts as a report proposal of the window `from..to` carries them: groups outside the window dropped, each
 * receipt under its own period, empty groups left out, ascending, each side in {@link canonicalReceipts} form.
 * (Also what a validator compares a proposal's receipts with: the majority read of the meta layer, so formed.)
 */
export function windowTraffic(traffic: readonly PeriodReceipts[], from: bigint, to: bigint): PeriodReceipts[] {
  const byPeriod = new Map<bigint, PeriodReceipts>();
  for (const g of traffic) {
    if (g.period < from || g.period > to) continue;
    const group = byPeriod.get(g.period) ?? { period: g.period, client: [], node: [] };
    group.client.push(...g.client.filter((r) => r.receipt.period === g.period));
    group.node.push(...g.node.filter((r) => r.receipt.period === g.period));
    byPeriod.set(g.period, group);
  }
  return [...byPeriod.values()]
    .filter((g) => g.client.length + g.node.length > 0)
    .sort((a, b) => (a.period < b.period ? -1 : 1))
    .map((g) => ({ period: g.period, client: canonicalReceipts(g.client), node: canonicalReceipts(g.node) }));
}

export interface ReportInput {
  chainId: number;
  pool: Address;
  epoch: bigint;
  /** The configuration's base period. */
  base: bigint;
  seq: number;
  topN: number;
  prev: PrevReport;
  /** Receipts (already verified by the caller); groups outside the window are dropped, the rest canonicalised. */
  traffic: readonly PeriodReceipts[];
  /** Publish the inputs in the report document (version 2, see {@link recomputeReport}; default {@link PUBLISH_INPUTS}). */
  publishInputs?: boolean;
}

export interface BuiltProposal<P extends PeriodProposal = PeriodProposal> {
  proposal: P;
  /** The canonical request text. */
  text: string;
}

/** Builds the report proposal of sequence number `seq`. Deterministic: equal inputs give equal text. */
export function buildReportProposal(input: ReportInput): BuiltProposal<ReportProposal> & { built: BuiltReport } {
  const period = periodOfSeq(input.base, input.seq);
  if (input.prev.period !== null && input.prev.period >= period)
    throw new ValidationError(
      "PROTOCOL_PROPOSAL_PREV",
      `previous report ${input.prev.period} is not before ${period}`,
      {
        value: input.prev.period,
      },
    );
  const { from, to } = trafficWindow(input.prev.period, period);
  const traffic = windowTraffic(input.traffic, from, to);
  const prev: PrevReport = {
    period: input.prev.period,
    carryRoot: input.prev.carryRoot.toLowerCase() as Hex,
    carry: [...input.prev.carry]
      .map((n) => ({ nodeId: n.nodeId.toLowerCase() as Hex, traffic: n.traffic }))
      .sort((a, b) => compare(a.nodeId, b.nodeId)),
  };
  const draft = { period, prev, traffic };
  const built = recomputeReport(
    { epoch: input.epoch, topN: input.topN, ...draft },
    { publishInputs: input.publishInputs ?? PUBLISH_INPUTS },
  );
  const proposal: ReportProposal = {
    type: "report",
    chainId: input.chainId,
    pool: input.pool.toLowerCase() as Address,
    epoch: input.epoch,
    seq: input.seq,
    topN: input.topN,
    ...draft,
    report: built.report,
  };
  return { proposal, text: encodeProposal(proposal), built };
}

/** Builds the skip proposal of sequence number `seq`. */
export function buildSkipProposal(input: {
  chainId: number;
  pool: Address;
  epoch: bigint;
  base: bigint;
  seq: number;
}): BuiltProposal<SkipProposal> {
  const proposal: SkipProposal = {
    type: "skip",
    chainId: input.chainId,
    pool: input.pool.toLowerCase() as Address,
    epoch: input.epoch,
    seq: input.seq,
    period: periodOfSeq(input.base, input.seq),
  };
  return { proposal, text: encodeProposal(proposal) };
}

// ------------------------------------------------------------------------------------------ validation

/** What a validator knows when it checks a proposal. */
export interface ProposalContext {
  chainId: number;
  pool: Address;
  /** The configuration's epoch (configId). */
  epoch: bigint;
  base: bigint;
  topN: number;
  genesis: bigint;
  periodLength: bigint;
  /** Latest block timestamp known. */
  chainTime: bigint;
  /** Carry root of `period` if it is known to be reported on chain. */
  reportedCarryRoot(period: bigint): Hex | undefined;
  /** Registered signing key of a node, if known. */
  nodeKey(nodeId: Hex): Address | undefined;
  /** Verifier (learns public keys). */
  keyRing: KeyRing;
}

/** A valid proposal (and, for a report, the report it recomputes to: its document is what `dataCid` must resolve to). */
export type Verdict = { ok: true; proposal: PeriodProposal; built?: BuiltReport } | { ok: false; reason: string };

const reject = (reason: string): Verdict => ({ ok: false, reason });

/** Checks a request against the context (see the module comment). Never throws. */
export function checkProposal(text: string, ctx: ProposalContext): Verdict {
  let p: PeriodProposal;
  try {
    p = decodeProposal(text);
  } catch (err) {
    return reject((err as Error).message);
  }
  try {
    if (encodeProposal(p) !== text) return reject("not in canonical encoding");
    if (p.chainId !== ctx.chainId) return reject(`chain ${p.chainId}, expected ${ctx.chainId}`);
    if (p.pool !== ctx.pool.toLowerCase()) return reject(`pool ${p.pool}, expected ${ctx.pool}`);
    if (p.epoch !== ctx.epoch) return reject(`epoch ${p.epoch}, expected ${ctx.epoch}`);
    if (p.period !== periodOfSeq(ctx.base, p.seq))
      return reject(`period ${p.period} is not base ${ctx.base} + seq ${p.seq} − 1`);
    if (p.type === "skip") {
      if (periodEnd(ctx.genesis, ctx.periodLength, p.period + 1n) > ctx.chainTime)
        return reject(`skip of period ${p.period} before a later period ended`);
      return { ok: true, proposal: p };
    }
    return checkReport(p, ctx);
  } catch (err) {
    return reject(`check failed: ${(err as Error).message}`);
  }
}

function checkReport(p: ReportProposal, ctx: ProposalContext): Verdict {
  if (p.topN !== ctx.topN) return reject(`topN ${p.topN}, expected ${ctx.topN}`);
  if (periodEnd(ctx.genesis, ctx.periodLength, p.period) > ctx.chainTime)
    return reject(`period ${p.period} has not ended`);
  // The carry-over it builds on: nothing (never reported) or a period reported on chain with that root.
  const prev = p.prev;
  if (prev.period === null) {
    if (prev.carry.length > 0 || prev.carryRoot !== ZERO_HASH) return reject("no previous report but a carry-over");
  } else {
    if (prev.period >= p.period) return reject(`previous report ${prev.period} is not before ${p.period}`);
    const onChain = ctx.reportedCarryRoot(prev.period);
    if (onChain === undefined) return reject(`previous period ${prev.period} is not reported on chain`);
    if (onChain.toLowerCase() !== prev.carryRoot)
      return reject(`carry root of ${prev.period} differs from the chain's`);
  }
  const carryProblem = prevCarryProblem(prev);
  if (carryProblem !== undefined) return reject(carryProblem);

  // The receipts: inside the window, ascending, each signed by both parties.
  const problem = receiptsProblem(p, ctx);
  if (problem !== undefined) return reject(problem.reason);

  // Recompute: the report must be exactly what the ledger code gives.
  const built = recomputeReport(p);
  const want = reportToJson(built.report);
  const got = reportToJson(p.report);
  for (const k of Object.keys(want) as (keyof typeof want)[])
    if (want[k] !== got[k]) return reject(`report ${k} does not recompute (${got[k]} ≠ ${want[k]})`);
  return { ok: true, proposal: p, built };
}

/**
 * The carry-over rule of a report's base: carried nodes sorted by id, unique, traffic in (0, MAX_TRAFFIC], hashing
 * to `prev.carryRoot`. Why not, or undefined. (That the root is the chain's is the caller's check.)
 */
export function prevCarryProblem(prev: PrevReport): string | undefined {
  for (let i = 0; i < prev.carry.length; i++) {
    const n = prev.carry[i];
    if (n.traffic <= 0n || n.traffic > MAX_TRAFFIC) return `carried traffic of ${n.nodeId} out of range`;
    if (i > 0 && prev.carry[i - 1].nodeId >= n.nodeId) return "carried nodes not sorted and unique";
  }
  if (carryTree(prev.carry).root !== prev.carryRoot.toLowerCase()) return "carried nodes do not hash to the carry root";
  return undefined;
}

/** Why a report's receipts are not acceptable: a stable code (audits report it, offchain/protocol/audit.ts) and a reason. */
export interface ReceiptsProblem {
  code: "TRAFFIC_WINDOW" | "RECEIPT_LIST" | "RECEIPT_PERIOD" | "CLIENT_SIGNATURE" | "NODE_KEY" | "NODE_SIGNATURE";
  reason: string;
  /** The task concerned, if one. */
  taskId?: Hex;
}

/**
 * The receipt rule of a report (proposal or published inputs): groups inside the traffic window of `prev.period` →
 * `period`, ascending, non-empty, each side in canonical order, at most {@link MAX_PROPOSAL_RECEIPTS} in all, every
 * receipt filed under its own period, the client's signature by the client and the node's by the node's registered
 * signing key (`nodeKey`), in the `traffic` domain of (chainId, pool). Undefined when all hold.
 */
export function receiptsProblem(
  p: Pick<ReportProposal, "period" | "prev" | "traffic">,
  ctx: Pick<ProposalContext, "chainId" | "pool" | "nodeKey" | "keyRing">,
): ReceiptsProblem | undefined {
  const bad = (code: ReceiptsProblem["code"], reason: string, taskId?: Hex): ReceiptsProblem => ({
    code,
    reason,
    ...(taskId === undefined ? {} : { taskId }),
  });
  const { from } = trafficWindow(p.prev.period, p.period);
  const domain: TypedDataDomain = domainOf("traffic", ctx.chainId, ctx.pool);
  let count = 0;
  let last: bigint | undefined;
  for (const group of p.traffic) {
    if (group.period < from || group.period > p.period)
      return bad("TRAFFIC_WINDOW", `traffic of period ${group.period} outside the window`);
    if (last !== undefined && group.period <= last) return bad("TRAFFIC_WINDOW", "traffic periods not ascending");
    last = group.period;
    if (group.client.length + group.node.length === 0)
      return bad("TRAFFIC_WINDOW", `empty traffic group ${group.period}`);
    const listProblem = receiptListProblem(group.client) ?? receiptListProblem(group.node);
    if (listProblem !== undefined) return bad("RECEIPT_LIST", `period ${group.period}: ${listProblem}`);
    count += group.client.length + group.node.length;
    if (count > MAX_PROPOSAL_RECEIPTS) return bad("RECEIPT_LIST", `more than ${MAX_PROPOSAL_RECEIPTS} receipts`);
    for (const r of group.client) {
      const task = r.receipt.taskId;
      if (r.receipt.period !== group.period)
        return bad("RECEIPT_PERIOD", `receipt ${task} filed under another period`, task);
      if (!ctx.keyRing.verifyTyped(r.receipt.client, domain, "TrafficReceipt", r.receipt, r.signature))
        return bad("CLIENT_SIGNATURE", `client signature of task ${task} invalid`, task);
    }
    for (const r of group.node) {
      const task = r.receipt.taskId;
      if (r.receipt.period !== group.period)
        return bad("RECEIPT_PERIOD", `receipt ${task} filed under another period`, task);
      const key = ctx.nodeKey(r.receipt.nodeId);
      if (key === undefined || /^0x0{40}$/.test(key))
        return bad("NODE_KEY", `node ${r.receipt.nodeId} has no known signing key`, task);
      if (!ctx.keyRing.verifyTyped(key, domain, "TrafficReceipt", r.receipt, r.signature))
        return bad("NODE_SIGNATURE", `node signature of task ${task} invalid`, task);
    }
  }
  return undefined;
}

/** Every node id a report proposal's receipts name (to load their signing keys before checking). */
export function nodeIdsOf(p: ReportProposal): Hex[] {
  const ids = new Set<Hex>();
  for (const g of p.traffic) for (const r of g.node) ids.add(r.receipt.nodeId.toLowerCase() as Hex);
  return [...ids];
}
