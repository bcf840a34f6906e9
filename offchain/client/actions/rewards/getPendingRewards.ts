import { publicActions, type Address, type Hex, type PublicClient } from "viem";
import { getBlock } from "viem/actions";
import { readPeriod, type ReportedPeriod } from "../../../chain/rewards";
import { addressOf, assertChain, read } from "../internal";
import { HmsSdkError, toSdkError, type ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { PeriodClaim } from "../../types";

export interface GetPendingRewardsParameters {
  nodeId: Hex;
  /** The node's claims (see `getReportClaims`). */
  claims: readonly PeriodClaim[];
}
export interface PendingReward extends PeriodClaim {
  /** What claiming pays now (0 once claimed). */
  amount: bigint;
  claimed: boolean;
  /** The claim window closed (`reclaimExpired` may take it back). */
  expired: boolean;
  payout: Address;
}
export interface GetPendingRewardsReturnType {
  nodeId: Hex;
  rewards: PendingReward[];
  /** Sum of what the unclaimed, unexpired claims pay. */
  total: bigint;
}
export type GetPendingRewardsErrorType = ReadErrorType;

/** Reads each period's stored terms (checked against the pool's hash) for the claims. */
export async function reportedPeriods(
  client: HmsClient,
  periods: readonly bigint[],
): Promise<Map<bigint, ReportedPeriod>> {
  await assertChain(client);
  const pool = addressOf(client, "MiningPool");
  const fromBlock = BigInt(client.deployment.contracts.MiningPool?.blockNumber ?? 0);
  const reader = client.extend(publicActions) as unknown as PublicClient;
  const out = new Map<bigint, ReportedPeriod>();
  for (const p of new Set(periods)) {
    try {
      out.set(p, await readPeriod(reader, pool, p, fromBlock));
    } catch (err) {
      if ((err as { code?: string }).code === "CHAIN_REWARDS")
        throw new HmsSdkError("SDK_NOT_FOUND", `period ${p} is not reported on the mining pool`, {
          value: p,
          cause: err,
        });
      throw toSdkError(err, "MiningPool.periodRecord");
    }
  }
  return out;
}

/** What each of a node's claims pays, whether it was claimed or expired, and the total still pending. */
export async function getPendingRewards(
  client: HmsClient,
  { nodeId, claims }: GetPendingRewardsParameters,
): Promise<GetPendingRewardsReturnType> {
  const periods = await reportedPeriods(
    client,
    claims.map((c) => c.period),
  );
  let now: bigint;
  try {
    now = (await getBlock(client)).timestamp;
  } catch (err) {
    throw toSdkError(err, "eth_getBlockByNumber");
  }
  const rewards: PendingReward[] = [];
  for (const c of claims) {
    const p = periods.get(c.period)!;
    const claimed = await read<boolean>(client, "MiningPool", "isClaimed", [c.period, c.index]);
    const expired = BigInt(p.terms.claimDeadline) <= now;
    let amount = 0n;
    let payout = await read<Address>(client, "NodeRegistry", "payoutOf", [nodeId]);
    if (!claimed && !expired) {
      [amount, payout] = await read<[bigint, Address]>(client, "MiningPool", "previewClaim", [
        c.period,
        p.terms,
        c.index,
        nodeId,
        c.traffic,
        [...c.proof],
      ]);
    }
    rewards.push({ ...c, amount, claimed, expired, payout });
  }
  return { nodeId, rewards, total: rewards.reduce((s, r) => s + r.amount, 0n) };
}
