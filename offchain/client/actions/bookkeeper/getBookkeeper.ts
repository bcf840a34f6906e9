import type { Address } from "viem";
import { read } from "../internal";
import type { ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { BookkeeperInfo, BookkeeperStatus, UnbondingLock } from "../../types";

export interface GetBookkeeperParameters {
  address: Address;
}
export type GetBookkeeperReturnType = BookkeeperInfo & {
  address: Address;
  /** Its NodeRegistry signing key (zero: none). */
  signingKey: Address;
  /** Election weight now (Vt × max(1, St), missed duties applied). */
  weight: bigint;
  /** Whether it is in the current committee. */
  inCommittee: boolean;
  /** The address's own unbonding locks (margin and delegations). */
  locks: UnbondingLock[];
};
export type GetBookkeeperErrorType = ReadErrorType;

/** A bookkeeper's stake, status, key, weight and unbonding locks (an unregistered address reads as status None). */
export async function getBookkeeper(
  client: HmsClient,
  { address }: GetBookkeeperParameters,
): Promise<GetBookkeeperReturnType> {
  const [info, signingKey, weight, [locks, payouts], [, members]] = await Promise.all([
    read<Omit<BookkeeperInfo, "status"> & { status: number }>(client, "BookkeeperStaking", "bookkeeperInfo", [address]),
    read<Address>(client, "NodeRegistry", "bookkeeperKeyOf", [address]),
    read<bigint>(client, "BookkeeperStaking", "electionWeight", [address]),
    read<[Omit<UnbondingLock, "payout">[], bigint[]]>(client, "BookkeeperStaking", "locksOf", [address]),
    read<[bigint, readonly Address[]]>(client, "BookkeeperStaking", "activeSet").catch(
      () => [0n, [] as readonly Address[]] as [bigint, readonly Address[]],
    ),
  ]);
  return {
    ...info,
    status: info.status as BookkeeperStatus,
    address,
    signingKey,
    weight,
    inCommittee: members.some((m) => m.toLowerCase() === address.toLowerCase()),
    locks: locks.map((l, i) => ({ ...l, payout: payouts[i] })),
  };
}
