import type { Address } from "viem";
import { eventsOf, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export type ElectCommitteeParameters = WriteParameters;
export type ElectCommitteeReturnType = TransactionResult & { epoch: bigint; bookkeepers: Address[] };
export type ElectCommitteeErrorType = WriteErrorType;

/**
 * Elects the current epoch's committee (permissionless, once per epoch, after the epoch started). SDK_REVERTED
 * (AlreadyElected / ElectionTooEarly / NoEligibleCandidates) otherwise.
 */
export async function electCommittee(
  client: HmsClient,
  { account }: ElectCommitteeParameters = {},
): Promise<ElectCommitteeReturnType> {
  const { tx, logs, result } = await write(client, "BookkeeperStaking", "elect", [], account);
  const [ev] = eventsOf<{ epoch: bigint; bookkeepers: Address[] }>(
    client,
    logs,
    "BookkeeperStaking",
    "CommitteeElected",
  );
  return { ...tx, epoch: ev?.epoch ?? (result as bigint), bookkeepers: ev ? [...ev.bookkeepers] : [] };
}
