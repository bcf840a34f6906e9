import { eventsOf, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface CloseLeaseParameters extends WriteParameters {
  leaseId: bigint;
}
export type CloseLeaseReturnType = TransactionResult & {
  leaseId: bigint;
  /** Paid through (accrual stopped here). */
  end: bigint;
  /** Unaccrued escrow returned to the user. */
  refund: bigint;
};
export type CloseLeaseErrorType = WriteErrorType;

/** Ends an active lease early: the lease's user (refund of what has not accrued) or its provider. */
export async function closeLease(
  client: HmsClient,
  { leaseId, account }: CloseLeaseParameters,
): Promise<CloseLeaseReturnType> {
  const { tx, logs } = await write(client, "ResourceMarket", "closeLease", [leaseId], account);
  const [ev] = eventsOf<{ end: bigint; refund: bigint }>(client, logs, "ResourceMarket", "LeaseClosed");
  return { ...tx, leaseId, end: ev.end, refund: ev.refund };
}
