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
import { lastEndedPeriod, periodOfSeq, seqOfPeriod } from "../protocol/proposal";

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
  /** The pool's next reportable period (`state().nextPeriod`): everything before it is decided on chain. */
  chainNextPeriod: bigint;
  /**
   * The replica is behind the chain (its next sequence number's period is already decided on chain) and has
   * not caught up through PBFT for a while: fill those sequence numbers with skips (e.g. every member lost its
   * log). While false, a lagging replica waits for PBFT's catch-up instead of proposing stale periods.
   */
  catchUpBySkipping: boolean;
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

/**
 * What to submit next (see the module comment): nothing while a request or a report is in flight, or while
 * the next sequence number's period has not ended; skips for the sequence numbers of periods that ended without
 * a report of their own; the report of the newest ended period not yet decided on chain.
 */
export function planRequests(input: PlanInput): Plan {
  if (input.outstanding > 0) return { kind: "wait", reason: "requests in flight" };
  if (input.reportInFlight) return { kind: "wait", reason: "previous report not landed yet" };
  const ended = lastEndedPeriod(input.genesis, input.periodLength, input.chainTime);
  const nextSeq = input.lastExecuted + 1;
  const nextPeriod = periodOfSeq(input.base, nextSeq);
  if (ended === undefined || ended < nextPeriod) return { kind: "wait", reason: `period ${nextPeriod} not ended` };
  if (nextPeriod < input.chainNextPeriod && !input.catchUpBySkipping)
    return { kind: "wait", reason: `replica behind the chain (next period ${nextPeriod}): catching up` };
  const reportable = ended >= input.chainNextPeriod ? ended : undefined;
  const lastSkip = reportable !== undefined ? seqOfPeriod(input.base, reportable) - 1 : seqOfPeriod(input.base, ended);
  const skips: number[] = [];
  for (let s = nextSeq; s <= lastSkip && skips.length < input.maxBatch; s++) skips.push(s);
  const reaches = nextSeq + skips.length > lastSkip;
  if (reportable !== undefined && reaches)
    return { kind: "submit", skips, report: { seq: seqOfPeriod(input.base, reportable), period: reportable } };
  if (skips.length === 0) return { kind: "wait", reason: "nothing to report" };
  return { kind: "submit", skips };
}
