import type { Address } from "viem";
import { accountOf, check, ensureAllowance, eventsOf, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface DelegateStakeParameters extends WriteParameters {
  bookkeeper: Address;
  /** HMS wei lent to the bookkeeper's pool (Lb). */
  amount: bigint;
}
export type DelegateStakeReturnType = TransactionResult & {
  bookkeeper: Address;
  amount: bigint;
  /** Pool shares minted to the sender. */
  shares: bigint;
  approval?: TransactionResult;
};
export type DelegateStakeErrorType = WriteErrorType;

/** Lends stake to a registered bookkeeper (BookkeeperStaking.delegate). SDK_NOT_REGISTERED if it is not one. */
export async function delegateStake(
  client: HmsClient,
  { bookkeeper, amount, account }: DelegateStakeParameters,
): Promise<DelegateStakeReturnType> {
  check(amount > 0n, "amount must be positive", amount);
  const approval = await ensureAllowance(client, accountOf(client, account), "BookkeeperStaking", amount);
  const { tx, logs } = await write(client, "BookkeeperStaking", "delegate", [bookkeeper, amount], account);
  const [ev] = eventsOf<{ shares: bigint }>(client, logs, "BookkeeperStaking", "Delegated");
  return { ...tx, bookkeeper, amount, shares: ev.shares, approval };
}
