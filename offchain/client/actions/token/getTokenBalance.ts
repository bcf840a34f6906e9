import type { Address } from "viem";
import { getBalance } from "viem/actions";
import { read } from "../internal";
import { toSdkError, type ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";

export interface GetTokenBalanceParameters {
  address: Address;
}
export interface GetTokenBalanceReturnType {
  address: Address;
  /** HMS, in wei (18 decimals). */
  balance: bigint;
  /** Native coin for gas, in wei. */
  eth: bigint;
  /** ERC20Votes voting power (what `hms vote` delegates). */
  votes: bigint;
  /** Whom the address delegates its own voting power to (zero: nobody). */
  delegatee: Address;
}
export type GetTokenBalanceErrorType = ReadErrorType;

/** HMS and gas balance, voting power and vote delegatee of an address. */
export async function getTokenBalance(
  client: HmsClient,
  { address }: GetTokenBalanceParameters,
): Promise<GetTokenBalanceReturnType> {
  const [balance, votes, delegatee] = await Promise.all([
    read<bigint>(client, "HMSToken", "balanceOf", [address]),
    read<bigint>(client, "HMSToken", "getVotes", [address]),
    read<Address>(client, "HMSToken", "delegates", [address]),
  ]);
  let eth: bigint;
  try {
    eth = await getBalance(client, { address });
  } catch (err) {
    throw toSdkError(err, "eth_getBalance");
  }
  return { address, balance, eth, votes, delegatee };
}
