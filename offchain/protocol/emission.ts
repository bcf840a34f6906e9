/**
 * The Proof-of-Traffic emission schedule, as `contracts/libraries/EmissionSchedule.sol` and `MiningPool` compute it:
 * `E(p) = E0 >> floor(p / H)` per period and its cumulative sum in closed form. Pinned to the contract by
 * test/offchain/pinning.property.test.ts; exact bigint arithmetic, same rounding.
 *
 * Pure: no I/O.
 */

/** The Mining bucket (`MiningPool.MINING_POOL`): 296,000,000 HMS. */
export const MINING_POOL = 296_000_000n * 10n ** 18n;

/** Number of set bits of a non-negative integer. */
export function popcount(n: bigint): bigint {
  let count = 0n;
  for (let x = n; x > 0n; x >>= 1n) count += x & 1n;
  return count;
}

/** `S(n) = Σ_{j ≥ 0} floor(n / 2^j) = 2n − popcount(n)`. */
export function halvingSum(n: bigint): bigint {
  return 2n * n - popcount(n);
}

/** The default E0 of a pool with halving interval `h`: `MINING_POOL / (2h)` (`MiningPool`'s `initialEmission = 0`). */
export function defaultInitialEmission(h: bigint): bigint {
  return MINING_POOL / (2n * h);
}

/** Emission of period `p`: `e0 >> floor(p / h)` (zero after 256 halvings). */
export function emissionAt(e0: bigint, h: bigint, p: bigint): bigint {
  const k = p / h;
  return k >= 256n ? 0n : e0 >> k;
}

/** Emission of periods `0 .. p − 1`: `H · (S(E0) − S(E0 >> k)) + (p mod H) · (E0 >> k)`, `k = p / H`. */
export function cumulativeEmission(e0: bigint, h: bigint, p: bigint): bigint {
  const k = p / h;
  if (k === 0n) return p * e0;
  const ek = k >= 256n ? 0n : e0 >> k;
  return h * (halvingSum(e0) - halvingSum(ek)) + (p % h) * ek;
}

/** The whole schedule, `H · S(E0)` (`MiningPool.scheduleTotal`). */
export function scheduleTotal(e0: bigint, h: bigint): bigint {
  return h * halvingSum(e0);
}

/**
 * What a non-empty report of `period` releases (`MiningPool.pendingEmission`): the scheduled emission from the
 * emission cursor through `period`, the recycled excess of the reserve on top (at most as much again), and the split
 * into the bookkeepers' share (`bps` of the total, rounded down) and the nodes' emission.
 */
export function releasedEmission(
  schedule: { e0: bigint; h: bigint },
  state: { emissionCursor: bigint; reserve: bigint; bookkeeperShareBps: bigint },
  period: bigint,
): { scheduled: bigint; recycled: bigint; bookkeeperShare: bigint; nodeEmission: bigint } {
  const { e0, h } = schedule;
  const fromCum = cumulativeEmission(e0, h, state.emissionCursor);
  const scheduled = cumulativeEmission(e0, h, period + 1n) - fromCum;
  const outstanding = scheduleTotal(e0, h) - fromCum;
  let recycled = 0n;
  if (state.reserve > outstanding) {
    recycled = state.reserve - outstanding;
    if (recycled > scheduled) recycled = scheduled;
  }
  const bookkeeperShare = ((scheduled + recycled) * state.bookkeeperShareBps) / 10_000n;
  return { scheduled, recycled, bookkeeperShare, nodeEmission: scheduled + recycled - bookkeeperShare };
}
