/**
 * Fencing: every write a master sends (log appends, placements, repair orders) carries its term, and a receiver
 * refuses a term older than the newest it has seen — so a deposed master, still running on the wrong side of a
 * partition, cannot change anything. Pure: no I/O.
 */
import { HmsError } from "../../core/errors";

/** Throws `META_STALE_TERM` when `term` is older than `current`. */
export function assertCurrentTerm(term: bigint, current: bigint, what = "write"): void {
  if (term < current)
    throw new HmsError("META_STALE_TERM", `${what} of term ${term} refused: this node is at term ${current}`, {
      value: term.toString(),
      details: { current: current.toString() },
    });
}

/** A monotonic term register: {@link observe} raises it, {@link check} refuses anything older. */
export class TermFence {
  constructor(private highest: bigint = 0n) {}

  get term(): bigint {
    return this.highest;
  }

  /** Raises the register to `term` if newer; returns true if it was newer. */
  observe(term: bigint): boolean {
    if (term <= this.highest) return false;
    this.highest = term;
    return true;
  }

  /** Refuses (`META_STALE_TERM`) a term older than the highest seen, then observes it. */
  check(term: bigint, what?: string): void {
    assertCurrentTerm(term, this.highest, what);
    this.observe(term);
  }
}
