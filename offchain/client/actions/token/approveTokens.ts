import type { Address } from "viem";
import { check, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface ApproveTokensParameters extends WriteParameters {
  spender: Address;
  amount: bigint;
}
export type ApproveTokensReturnType = TransactionResult & { spender: Address; amount: bigint };
export type ApproveTokensErrorType = WriteErrorType;

/** Sets the HMS allowance of `spender` to `amount` wei. (Actions that pull tokens approve by themselves.) */
export async function approveTokens(
  client: HmsClient,
  { spender, amount, account }: ApproveTokensParameters,
): Promise<ApproveTokensReturnType> {
  check(amount >= 0n, "amount must not be negative", amount);
  const { tx } = await write(client, "HMSToken", "approve", [spender, amount], account);
  return { ...tx, spender, amount };
}
