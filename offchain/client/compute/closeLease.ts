/**
 * `closeLease`: the user ends a compute lease early (`closeLease`): the unaccrued escrow comes back at once; what
 * accrued stays with the provider, who pays the 1 % fee on it when it withdraws. Returns the cost split as the
 * market computes it (offchain/chain/market.ts `splitSettlement`).
 */
import { resourceMarketAbi } from "../../chain/abis";
import { marketEvents, splitSettlement } from "../../chain/market";
import { HmsError } from "../../core/errors";
import type { ComputeClient } from "./client";

export interface CloseLeaseReturnType {
  /** Seconds the lease ran (start → final end). */
  ranSeconds: bigint;
  /** What the user paid: rate × ranSeconds. */
  cost: bigint;
  /** Of which the 1 % fee to the treasury, and the provider's payout. */
  fee: bigint;
  payout: bigint;
  refund: bigint;
}

export async function closeLease(client: ComputeClient, leaseId: bigint): Promise<CloseLeaseReturnType> {
  const { market } = client.contracts;
  const hash = await client.wallet.writeContract({
    address: market,
    abi: resourceMarketAbi,
    functionName: "closeLease",
    args: [leaseId],
    account: client.account,
    chain: client.wallet.chain,
  });
  const receipt = await client.public.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new HmsError("CHAIN_TX_REVERTED", "closeLease reverted", { value: hash });
  return leaseCost(client, leaseId, marketEvents(receipt, "LeaseClosed")[0]?.refund ?? 0n);
}

/** The cost of a lease so far (or final once closed), with the fee split. */
export async function leaseCost(
  client: Pick<ComputeClient, "public" | "contracts">,
  leaseId: bigint,
  refund = 0n,
): Promise<CloseLeaseReturnType> {
  const [lease] = await client.public.readContract({
    address: client.contracts.market,
    abi: resourceMarketAbi,
    functionName: "getLease",
    args: [leaseId],
  });
  const feeBps = await client.public.readContract({
    address: client.contracts.market,
    abi: resourceMarketAbi,
    functionName: "feeBps",
  });
  const now = (await client.public.getBlock()).timestamp;
  const until = lease.end < now ? lease.end : now;
  const ranSeconds = until > lease.start ? until - lease.start : 0n;
  const cost = BigInt(lease.ratePerSecond) * ranSeconds;
  const { fee, payout } = splitSettlement(cost, BigInt(feeBps));
  return { ranSeconds, cost, fee, payout, refund };
}
