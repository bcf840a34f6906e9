/**
 * Mining pool access for dApps and daemons (viem): read a reported period (its terms and attestation come from the
 * `PeriodReported` event and are checked against the hash the pool stored) and the range of periods it covers,
 * check a node's claim, and build the arguments of `claim` / `claimBatch` / `addSignatures` / `settleBookkeepers` /
 * `reclaimExpired`.
 *
 * ```ts
 * const period = await readPeriod(publicClient, poolAddress, 42n);
 * const [amount, payout] = await pool.read.previewClaim(claimArgs(period, claim));
 * await pool.write.claim(claimArgs(period, claim));
 * ```
 */
import type { Address, Hex, PublicClient } from "viem";
import { miningPoolAbi } from "./abis";
import { termsHash, type Attestation, type PeriodTerms, type RewardClaim } from "../protocol/report";
import { HmsError } from "../core/errors";
import { quorumArgs, type KeySignature, type QuorumArgs } from "../protocol/quorum";

/** Constructor parameters of MiningPool (`MiningPool.Params`). */
export interface MiningPoolParams {
  /** Start of period 0 (0 = the deployment block's timestamp). */
  genesis: bigint;
  /** Seconds per period. */
  periodLength: number;
  /** H: periods between halvings. */
  halvingInterval: number;
  /** E0 in token wei (0 = 296 M / 2H). */
  initialEmission: bigint;
  /** Bookkeepers' share of each released emission, bps (≤ 3,000). */
  bookkeeperShareBps: number;
  /** Seconds after a report during which it can be claimed (30 days – 10 years). */
  claimWindow: number;
  /** Seconds after an election during which the previous committee may still sign (≤ 1 day). */
  electionGrace: number;
  /** Seconds after a report lands during which further signatures may be added; settlement waits for it (60 s – 1 day). */
  signatureWindow: number;
}

/**
 * PROTOCOL §4 defaults: 600-s periods, H = 210,240, E0 = pool / 2H, 5 % to bookkeepers, 365-day claims, 1-h grace, 1-h
 * signature window.
 */
export const DEFAULT_MINING_POOL_PARAMS: MiningPoolParams = {
  genesis: 0n,
  periodLength: 600,
  halvingInterval: 210_240,
  initialEmission: 0n,
  bookkeeperShareBps: 500,
  claimWindow: 365 * 24 * 3600,
  electionGrace: 3600,
  signatureWindow: 3600,
};

/** The signature window of local deployments (`localDeployOptions`): the shortest the pool accepts. */
export const LOCAL_SIGNATURE_WINDOW = 60;

/** Constructor parameters of ContributionRegistry (`ContributionRegistry.Params`), 18-decimal weights. */
export interface ContributionParams {
  /** T: blocks per halving of the absolute contribution. */
  halvingBlocks: bigint;
  /** Most measurements per batch (≤ 128). */
  maxBatchSize: number;
  /** Seconds after an election during which the previous committee may still sign (≤ 1 day). */
  electionGrace: number;
  weights: {
    tierPower: readonly [bigint, bigint, bigint];
    completedPoints: bigint;
    failedPenalty: bigint;
    chainPoints: bigint;
  };
}

const WAD = 10n ** 18n;

/** PROTOCOL §6 defaults: T = 201,600 blocks, batches of 64, tiers Lite 0.5 / Normal 1 / Super 2, 1 / −2 / 1 points. */
export const DEFAULT_CONTRIBUTION_PARAMS: ContributionParams = {
  halvingBlocks: 201_600n,
  maxBatchSize: 64,
  electionGrace: 3600,
  weights: { tierPower: [WAD / 2n, WAD, 2n * WAD], completedPoints: WAD, failedPenalty: 2n * WAD, chainPoints: WAD },
};

/** Thrown when a period cannot be read or its event does not match the stored record. */
export class RewardsError extends HmsError {
  constructor(message: string, value?: unknown) {
    super("CHAIN_REWARDS", message, { value });
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
  /** Signer bits added by `addSignatures` since the report landed (beside `attestation.signers`). */
  addedSigners: bigint;
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
  const addedSigners = await client.readContract({
    address: pool,
    abi: miningPoolAbi,
    functionName: "addedSigners",
    args: [period],
  });
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
      addedSigners,
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    };
  }
  throw new RewardsError(`no PeriodReported event of period ${period} matches the stored record`, period);
}

/**
 * The periods whose traffic the stored report of `period` covers, `fromPeriod .. period`. The report's `fromPeriod`
 * is signed but not stored: a report lands only if it builds on the first unreported period, so it is the previous
 * reported period + 1 (0 for the pool's first report) — implied by the sequence of `PeriodReported` events, which
 * this reads from the pool's first block. Throws a {@link RewardsError} if `period` was not reported.
 */
export async function reportedRange(
  client: PublicClient,
  pool: Address,
  period: bigint,
): Promise<{ fromPeriod: bigint; period: bigint }> {
  const logs = await client.getContractEvents({
    address: pool,
    abi: miningPoolAbi,
    eventName: "PeriodReported",
    fromBlock: 0n,
    strict: true,
  });
  let fromPeriod = 0n;
  for (const log of logs) {
    if (log.args.period === period) return { fromPeriod, period };
    if (log.args.period > period) break;
    fromPeriod = log.args.period + 1n;
  }
  throw new RewardsError(`period ${period} was not reported on ${pool}`, period);
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

/** Every signer recorded for a reported period: the submitted bitmap and the bits added since. */
export function signersOf(period: Pick<ReportedPeriod, "attestation" | "addedSigners">): bigint {
  return period.attestation.signers | period.addedSigners;
}

/**
 * Arguments of `addSignatures`: further signatures of a landed report, during its signature window (until
 * `attestation.signaturesUntil`). `keys` are the committee keys of `attestation.epoch` (as for `submitReport`),
 * `signed` the signatures to add (a validator passes at least its own when `signersOf(period)` lacks it; signers
 * already recorded are skipped by the pool). The validator daemon should call this for its own signature, after
 * any report of a period it signed lands without it, before the window ends.
 */
export function addSignaturesArgs(
  period: ReportedPeriod,
  keys: readonly Address[],
  signed: readonly KeySignature[],
): [bigint, PeriodTerms, Attestation, QuorumArgs] {
  return [period.period, period.terms, period.attestation, quorumArgs(keys, signed)];
}

/** One entry of `settleBookkeepers` (accepted once the period's signature window ended). */
export function settlement(period: ReportedPeriod): {
  period: bigint;
  terms: PeriodTerms;
  attestation: Attestation;
} {
  return { period: period.period, terms: period.terms, attestation: period.attestation };
}
