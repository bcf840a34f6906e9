import type { Address, Hex } from "viem";
import { accountOf, eventsOf, write, type WriteParameters } from "../internal";
import { getPendingRewards, reportedPeriods } from "./getPendingRewards";
import { HmsSdkError, type WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { PeriodClaim, TransactionResult } from "../../types";

/** `MiningPool.MAX_BATCH`: most claims per `claimBatch`. */
export const MAX_CLAIM_BATCH = 128;

export interface ClaimRewardsParameters extends WriteParameters {
  nodeId: Hex;
  /** The node's claims over any number of periods; already claimed or expired ones are skipped. */
  claims: readonly PeriodClaim[];
  /** Claims per transaction (default and maximum {@link MAX_CLAIM_BATCH}). */
  batchSize?: number;
}
export interface ClaimRewardsReturnType {
  nodeId: Hex;
  payout: Address;
  /** Paid per period. */
  claimed: { period: bigint; index: number; amount: bigint }[];
  total: bigint;
  /** One `claimBatch` per batch of periods. */
  transactions: TransactionResult[];
  gasUsed: bigint;
}
export type ClaimRewardsErrorType = WriteErrorType;

/**
 * Claims a node's rewards over many periods, batched (`MiningPool.claimBatch`, one transfer to the payout address per
 * batch). Anyone may send it: the rewards always go to the node's payout address. SDK_CONFLICT if nothing is left to
 * claim.
 */
export async function claimRewards(
  client: HmsClient,
  { nodeId, claims, batchSize = MAX_CLAIM_BATCH, account }: ClaimRewardsParameters,
): Promise<ClaimRewardsReturnType> {
  accountOf(client, account);
  const size = Math.min(Math.max(1, batchSize), MAX_CLAIM_BATCH);
  const pending = await getPendingRewards(client, { nodeId, claims });
  const open = pending.rewards.filter((r) => !r.claimed && !r.expired);
  if (open.length === 0)
    throw new HmsSdkError("SDK_CONFLICT", `nothing to claim for node ${nodeId}: every claim is claimed or expired`, {
      value: nodeId,
      errorName: "AlreadyClaimed",
    });
  const periods = await reportedPeriods(
    client,
    open.map((c) => c.period),
  );
  const transactions: TransactionResult[] = [];
  const claimed: ClaimRewardsReturnType["claimed"] = [];
  let payout = pending.rewards[0].payout;
  for (let i = 0; i < open.length; i += size) {
    const batch = open.slice(i, i + size).map((c) => ({
      period: c.period,
      terms: periods.get(c.period)!.terms,
      index: c.index,
      traffic: c.traffic,
      proof: [...c.proof],
    }));
    const { tx, logs } = await write(client, "MiningPool", "claimBatch", [nodeId, batch], account);
    transactions.push(tx);
    for (const e of eventsOf<{ period: bigint; index: number; amount: bigint; payout: Address }>(
      client,
      logs,
      "MiningPool",
      "Claimed",
    )) {
      claimed.push({ period: e.period, index: e.index, amount: e.amount });
      payout = e.payout;
    }
  }
  return {
    nodeId,
    payout,
    claimed,
    total: claimed.reduce((s, c) => s + c.amount, 0n),
    transactions,
    gasUsed: transactions.reduce((s, t) => s + t.gasUsed, 0n),
  };
}
