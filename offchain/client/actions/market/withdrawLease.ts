import type { Address } from "viem";
import { check, eventsOf, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface WithdrawLeaseParameters extends WriteParameters {
  /** One lease or up to 128 (one `withdrawBatch`). */
  leaseIds: readonly bigint[];
}
export type WithdrawLeaseReturnType = TransactionResult & {
  settled: { leaseId: bigint; amount: bigint; payout: bigint; fee: bigint; payoutAddress: Address }[];
  /** Settled in total (payouts + fees). */
  total: bigint;
};
export type WithdrawLeaseErrorType = WriteErrorType;

/** The provider settles what its leases accrued: payout to the node's payout address, the fee to the treasury. */
export async function withdrawLease(
  client: HmsClient,
  { leaseIds, account }: WithdrawLeaseParameters,
): Promise<WithdrawLeaseReturnType> {
  check(leaseIds.length > 0 && leaseIds.length <= 128, "give 1 to 128 lease ids", leaseIds.length);
  const { tx, logs } =
    leaseIds.length === 1
      ? await write(client, "ResourceMarket", "withdraw", [leaseIds[0]], account)
      : await write(client, "ResourceMarket", "withdrawBatch", [[...leaseIds]], account);
  const settled = eventsOf<WithdrawLeaseReturnType["settled"][number]>(
    client,
    logs,
    "ResourceMarket",
    "PaymentSettled",
  ).map((e) => ({
    leaseId: e.leaseId,
    amount: e.amount,
    payout: e.payout,
    fee: e.fee,
    payoutAddress: e.payoutAddress,
  }));
  return { ...tx, settled, total: settled.reduce((s, e) => s + e.amount, 0n) };
}
