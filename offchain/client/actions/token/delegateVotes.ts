import type { Address } from "viem";
import { accountOf, read, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface DelegateVotesParameters extends WriteParameters {
  /** The bookkeeper candidate (or any address) that receives the sender's voting power. */
  delegatee: Address;
}
export interface DelegateVotesReturnType extends TransactionResult {
  delegatee: Address;
  /** The delegatee's voting power after the transaction (St in the election weight). */
  votes: bigint;
}
export type DelegateVotesErrorType = WriteErrorType;

/** Votes for a bookkeeper: delegates the sender's ERC20Votes voting power (all its HMS) to `delegatee`. */
export async function delegateVotes(
  client: HmsClient,
  { delegatee, account }: DelegateVotesParameters,
): Promise<DelegateVotesReturnType> {
  accountOf(client, account);
  const { tx } = await write(client, "HMSToken", "delegate", [delegatee], account);
  const votes = await read<bigint>(client, "HMSToken", "getVotes", [delegatee]);
  return { ...tx, delegatee, votes };
}
