/**
 * Mining pool access for dApps and daemons (viem): read a reported period (its terms and attestation come from the
 * `PeriodReported` event and are checked against the hash the pool stored), check a node's claim, and build the
 * arguments of `claim` / `claimBatch` / `settleBookkeepers` / `reclaimExpired`.
 *
 * ```ts
 * const period = await readPeriod(publicClient, poolAddress, 42n);
 * const [amount, payout] = await pool.read.previewClaim(claimArgs(period, claim));
 * await pool.write.claim(claimArgs(period, claim));
 * ```
 */
import type { Address, Hex, PublicClient } from "viem";
import { miningPoolAbi } from "./abis";
import { termsHash, type Attestation, type PeriodTerms, type RewardClaim } from "../meta/report";

/** Thrown when a period cannot be read or its event does not match the stored record. */
export class RewardsError extends Error {
  constructor(
    message: string,
    readonly value?: unknown,
  ) {
    super(message);
    this.name = "RewardsError";
  }
}

/** A reported period as stored (hash + claimed) and announced (event). */
export interface ReportedPeriod {
  period: bigint;
  epoch: bigint;
  terms: PeriodTerms;
  attestation: Attestation;
  /** First period whose emission this report released. */
  emissionFrom: bigint;
  /** Part of the release that came from recycled funds. */
  recycled: bigint;
  /** Tokens claimed so far (the node emission once reclaimed). */
  claimed: bigint;
  blockNumber: bigint;
  transactionHash: Hex;
}

/**
 * Reads `period` from the pool at `pool`: the stored record and the matching `PeriodReported` event. Throws a
 * {@link RewardsError} if the period was not reported or no event matches the stored hash.
 */
export async function readPeriod(
  client: PublicClient,
  pool: Address,
  period: bigint,
  fromBlock: bigint = 0n,
): Promise<ReportedPeriod> {
  const [reported, storedHash, claimed] = await client.readContract({
    address: pool,
    abi: miningPoolAbi,
    functionName: "periodRecord",
    args: [period],
  });
  if (!reported) throw new RewardsError(`period ${period} was not reported on ${pool}`, period);
  const logs = await client.getContractEvents({
    address: pool,
    abi: miningPoolAbi,
    eventName: "PeriodReported",
    args: { period },
    fromBlock,
    strict: true,
  });
  for (const log of logs) {
    const { epoch, terms, attestation, emissionFrom, recycled } = log.args;
    const t: PeriodTerms = { ...terms };
    if (termsHash(t) !== storedHash.toLowerCase()) continue;
    return {
      period,
      epoch,
      terms: t,
      attestation: { ...attestation },
      emissionFrom,
      recycled,
      claimed,
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    };
  }
  throw new RewardsError(`no PeriodReported event of period ${period} matches the stored record`, period);
}

/** Arguments of `claim` and `previewClaim` for one node's claim in a reported period. */
export function claimArgs(
  period: ReportedPeriod,
  claim: Pick<RewardClaim, "index" | "nodeId" | "traffic" | "proof">,
): [bigint, PeriodTerms, number, Hex, bigint, Hex[]] {
  return [period.period, period.terms, claim.index, claim.nodeId, claim.traffic, [...claim.proof]];
}

/** One entry of `claimBatch` (all entries of a batch are for the same node). */
export function batchClaim(
  period: ReportedPeriod,
  claim: Pick<RewardClaim, "index" | "traffic" | "proof">,
): { period: bigint; terms: PeriodTerms; index: number; traffic: bigint; proof: Hex[] } {
  return {
    period: period.period,
    terms: period.terms,
    index: claim.index,
    traffic: claim.traffic,
    proof: [...claim.proof],
  };
}

/** One entry of `settleBookkeepers`. */
export function settlement(period: ReportedPeriod): {
  period: bigint;
  terms: PeriodTerms;
  attestation: Attestation;
} {
  return { period: period.period, terms: period.terms, attestation: period.attestation };
}
