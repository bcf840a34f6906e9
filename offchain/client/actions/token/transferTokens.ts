import type { Address } from "viem";
import { accountOf, addressOfAccount, check, read, write, type WriteParameters } from "../internal";
import { HmsSdkError, type WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface TransferTokensParameters extends WriteParameters {
  to: Address;
  /** HMS wei. */
  amount: bigint;
}
export interface TransferTokensReturnType extends TransactionResult {
  from: Address;
  to: Address;
  amount: bigint;
}
export type TransferTokensErrorType = WriteErrorType;

/** Sends `amount` HMS wei to `to`. SDK_INSUFFICIENT_BALANCE before sending if the sender holds less. */
export async function transferTokens(
  client: HmsClient,
  { to, amount, account }: TransferTokensParameters,
): Promise<TransferTokensReturnType> {
  check(amount > 0n, "amount must be positive", amount);
  const from = addressOfAccount(accountOf(client, account));
  const balance = await read<bigint>(client, "HMSToken", "balanceOf", [from]);
  if (balance < amount)
    throw new HmsSdkError("SDK_INSUFFICIENT_BALANCE", `${from} holds ${balance} HMS wei, cannot send ${amount}`, {
      value: { balance, amount },
      errorName: "ERC20InsufficientBalance",
    });
  const { tx } = await write(client, "HMSToken", "transfer", [to, amount], account);
  return { ...tx, from, to, amount };
}
