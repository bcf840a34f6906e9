/**
 * `terminateDeadLease`: the network (the holder of ResourceMarket's ORACLE_ROLE, i.e. the bookkeepers' relayer)
 * ends the lease of a workload found dead (PROTOCOL §7 "termination on oracle-reported failure"). The failure time
 * is the lease start plus the time the node's signed usage reports cover (`provenSeconds`), clamped to what the market accepts (between the
 * settled point and now): the node is paid for the time it proved it ran, the user refunded the rest. The report
 * hash binds the termination to those reports.
 */
import { keccak256, toHex, type Hex } from "viem";
import { resourceMarketAbi } from "../../chain/abis";
import { marketEvents } from "../../chain/market";
import { HmsError } from "../../core/errors";
import type { UsageReportMessage } from "../../core/signing";
import { canonicalJson, provenSeconds, usageToWire } from "../../protocol/compute";
import type { ComputeClient } from "./client";

export interface TerminateDeadLeaseReturnType {
  failedAt: bigint;
  refund: bigint;
  reportHash: Hex;
}

export async function terminateDeadLease(
  oracle: Pick<ComputeClient, "public" | "wallet" | "account" | "contracts">,
  leaseId: bigint,
  reports: ReadonlyArray<{ message: UsageReportMessage; signature: Hex }>,
): Promise<TerminateDeadLeaseReturnType> {
  const { market } = oracle.contracts;
  const [lease] = await oracle.public.readContract({
    address: market,
    abi: resourceMarketAbi,
    functionName: "getLease",
    args: [leaseId],
  });
  const now = (await oracle.public.getBlock()).timestamp + 1n; // the next block's time at the earliest
  const settled = BigInt(lease.start) + BigInt(lease.withdrawn) / BigInt(lease.ratePerSecond);
  let failedAt = BigInt(lease.start) + provenSeconds(reports.map((r) => r.message));
  if (failedAt < settled) failedAt = settled;
  if (failedAt > now - 1n) failedAt = now - 1n;
  const reportHash = keccak256(
    toHex(canonicalJson(reports.map((r) => ({ ...usageToWire(r.message), signature: r.signature })))),
  );
  const hash = await oracle.wallet.writeContract({
    address: market,
    abi: resourceMarketAbi,
    functionName: "terminateLease",
    args: [leaseId, failedAt, reportHash],
    account: oracle.account,
    chain: oracle.wallet.chain,
  });
  const receipt = await oracle.public.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new HmsError("CHAIN_TX_REVERTED", "terminateLease reverted", { value: hash });
  return { failedAt, refund: marketEvents(receipt, "LeaseClosed")[0]?.refund ?? 0n, reportHash };
}
