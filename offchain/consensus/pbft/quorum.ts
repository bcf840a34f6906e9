/**
 * Replica-set arithmetic. Pure.
 *
 * f = ⌊(n−1)/3⌋ faulty replicas are tolerated. Quorums are "more than two thirds": q = ⌊2n/3⌋ + 1, which
 * is 2f+1 when n = 3f+1 and stays safe for any other n (two quorums intersect in 2q−n > n/3 ≥ f
 * replicas, so in at least one correct replica) and live (n − f ≥ q correct replicas remain). It is
 * also the "> 2/3 of the active set" rule of the on-chain report quorum.
 */

import { quorumOf } from "../../protocol/quorum";
import { ValidationError } from "../../core/errors";

export const MAX_REPLICAS = 48;

/** f: Byzantine replicas tolerated by n replicas. */
export function faultTolerance(n: number): number {
  checkN(n);
  return Math.floor((n - 1) / 3);
}

/** q: size of a quorum (prepared = pre-prepare + q−1 prepares; committed, stable checkpoint, new view: q). */
export function quorumSize(n: number): number {
  checkN(n);
  return quorumOf(n);
}

/** The primary of `view`: `order[view mod n]`. */
export function primaryIndex(view: number, n: number): number {
  return view % n;
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS)
    throw new ValidationError("PBFT_BAD_N", `replica count must be 1..${MAX_REPLICAS}`, { value: n });
}
