import type { Address } from "viem";
import { accountOf, addressOfAccount, check, eventsOf, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface UnbondStakeParameters extends WriteParameters {
  /** HMS wei of the sender's margin to unbond (all of it takes the bookkeeper off the candidate list). */
  amount: bigint;
}
export type UnbondStakeReturnType = TransactionResult & {
  bookkeeper: Address;
  lockId: bigint;
  amount: bigint;
  /** When `withdrawStake` may pay it (unix seconds). */
  releaseAt: bigint;
};
export type UnbondStakeErrorType = WriteErrorType;

/**
 * Starts unbonding margin (BookkeeperStaking.unbond). SDK_STAKE_LOCKED if more than the margin, or if the rest would
 * fall below the minimum margin.
 */
export async function unbondStake(
  client: HmsClient,
  { amount, account }: UnbondStakeParameters,
): Promise<UnbondStakeReturnType> {
  check(amount > 0n, "amount must be positive", amount);
  const bookkeeper = addressOfAccount(accountOf(client, account));
  const { tx, logs } = await write(client, "BookkeeperStaking", "unbond", [amount], account);
  const [ev] = eventsOf<{ lockId: bigint; releaseAt: bigint; amount: bigint }>(
    client,
    logs,
    "BookkeeperStaking",
    "UnbondingRequested",
  );
  return { ...tx, bookkeeper, lockId: ev.lockId, amount: ev.amount, releaseAt: ev.releaseAt };
}
