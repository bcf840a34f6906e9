import type { Address } from "viem";
import { accountOf, addressOfAccount, eventsOf, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export type WithdrawStakeParameters = WriteParameters;
export type WithdrawStakeReturnType = TransactionResult & {
  account: Address;
  /** Tokens paid (after any late slash). */
  paid: bigint;
  /** The matured locks withdrawn. */
  lockIds: bigint[];
};
export type WithdrawStakeErrorType = WriteErrorType;

/** Withdraws every matured unbonding lock of the sender. SDK_STAKE_LOCKED (NothingToWithdraw) if none matured. */
export async function withdrawStake(
  client: HmsClient,
  { account }: WithdrawStakeParameters = {},
): Promise<WithdrawStakeReturnType> {
  const who = addressOfAccount(accountOf(client, account));
  const { tx, logs } = await write(client, "BookkeeperStaking", "withdraw", [], account);
  const events = eventsOf<{ lockId: bigint; paid: bigint }>(client, logs, "BookkeeperStaking", "Withdrawn");
  return {
    ...tx,
    account: who,
    paid: events.reduce((s, e) => s + e.paid, 0n),
    lockIds: events.map((e) => e.lockId),
  };
}
