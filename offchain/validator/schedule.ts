/**
 * Who does what, when — pure decisions of the validator daemon, kept apart from its I/O so they can be tested
 * exhaustively:
 *
 * - **transmission** ({@link transmitPosition}, {@link transmitDelayMs}): the primary of the view in which a
 *   report was committed posts it first; the others follow in leader order, member k places after the primary
 *   waiting `k × stagger` after it held a quorum of signatures, and only if the period is still not on chain —
 *   the Chainlink OCR transmission schedule. Settlement and elections use the same positions.
 * - **what to propose** ({@link planRequests}): at most one report in flight; sequence numbers of periods that
 *   ended without a report of their own are filled with skips, and the newest ended period gets the report.
 */
import type { Address } from "viem";
import { lastEndedPeriod, periodOfSeq, seqOfPeriod } from "./proposal";

/** Index of `address` in `order` (case-insensitive); -1 if absent. */
export function indexOf(order: readonly Address[], address: Address): number {
  const a = address.toLowerCase();
  return order.findIndex((x) => x.toLowerCase() === a);
}

/** Position of `self` in the transmission order that starts with the primary of `view`; -1 if not a member. */
export function transmitPosition(order: readonly Address[], view: number, self: Address): number {
  const i = indexOf(order, self);
  if (i < 0 || order.length === 0) return -1;
  const primary = view % order.length;
  return (i - primary + order.length) % order.length;
}

/**
 * Delay after holding a quorum before member at `position` transmits: the primary (0) waits up to
 * `signatureWaitMs` for the remaining signatures (it sends at once when it has all of them), member k waits
 * `k × staggerMs`.
 */
export function transmitDelayMs(
  position: number,
  options: { staggerMs: number; signatureWaitMs: number; haveAll: boolean },
): number {
  if (position < 0) return Number.POSITIVE_INFINITY;
  if (position === 0) return options.haveAll ? 0 : options.signatureWaitMs;
  return position * options.staggerMs;
}

export interface PlanInput {
  /** The configuration's base period. */
  base: bigint;
  /** Last executed sequence number of the replica. */
  lastExecuted: number;
  genesis: bigint;
  periodLength: bigint;
  chainTime: bigint;
  /** A report of this validator is executed but not yet landed or given up. */
  reportInFlight: boolean;
  /** Requests submitted by this validator that have not executed yet. */
  outstanding: number;
  /** Most requests to submit at once (the PBFT window). */
  maxBatch: number;
}

export type Plan =
  | { kind: "wait"; reason: string }
  | {
      kind: "submit";
      /** Sequence numbers to fill with skips (ascending). */
      skips: number[];
      /** The report's sequence number and period, if this batch reaches the newest ended period. */
      report?: { seq: number; period: bigint };
    };

/** What to submit next (see the module comment). */
export function planRequests(input: PlanInput): Plan {
  if (input.outstanding > 0) return { kind: "wait", reason: "requests in flight" };
  if (input.reportInFlight) return { kind: "wait", reason: "previous report not landed yet" };
  const ended = lastEndedPeriod(input.genesis, input.periodLength, input.chainTime);
  const nextSeq = input.lastExecuted + 1;
  const nextPeriod = periodOfSeq(input.base, nextSeq);
  if (ended === undefined || ended < nextPeriod) return { kind: "wait", reason: `period ${nextPeriod} not ended` };
  const reportSeq = seqOfPeriod(input.base, ended);
  const skips: number[] = [];
  for (let s = nextSeq; s < reportSeq && skips.length < input.maxBatch; s++) skips.push(s);
  if (nextSeq + skips.length < reportSeq) return { kind: "submit", skips };
  return { kind: "submit", skips, report: { seq: reportSeq, period: ended } };
}
