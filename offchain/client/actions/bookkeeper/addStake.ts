import type { Address } from "viem";
import { accountOf, addressOfAccount, check, ensureAllowance, read, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface AddStakeParameters extends WriteParameters {
  /** HMS wei added to the sender's margin. */
  amount: bigint;
}
export type AddStakeReturnType = TransactionResult & {
  bookkeeper: Address;
  margin: bigint;
  approval?: TransactionResult;
};
export type AddStakeErrorType = WriteErrorType;

/** Adds to a registered bookkeeper's own margin (BookkeeperStaking.topUp). SDK_NOT_REGISTERED if it is not one. */
export async function addStake(
  client: HmsClient,
  { amount, account }: AddStakeParameters,
): Promise<AddStakeReturnType> {
  check(amount > 0n, "amount must be positive", amount);
  const from = accountOf(client, account);
  const bookkeeper = addressOfAccount(from);
  const approval = await ensureAllowance(client, from, "BookkeeperStaking", amount);
  const { tx } = await write(client, "BookkeeperStaking", "topUp", [amount], account);
  const info = await read<{ margin: bigint }>(client, "BookkeeperStaking", "bookkeeperInfo", [bookkeeper]);
  return { ...tx, bookkeeper, margin: info.margin, approval };
}
