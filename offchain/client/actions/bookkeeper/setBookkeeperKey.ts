import type { Address, LocalAccount } from "viem";
import { accountOf, addressOfAccount, read, type WriteParameters } from "../internal";
import { setBookkeeperKeyTx } from "./registerBookkeeper";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface SetBookkeeperKeyParameters extends WriteParameters {
  /** The validator daemon's new signing key; it signs its consent here. */
  signingKey: LocalAccount;
}
export type SetBookkeeperKeyReturnType = TransactionResult & {
  bookkeeper: Address;
  previousKey: Address;
  signingKey: Address;
};
export type SetBookkeeperKeyErrorType = WriteErrorType;

/** Sets (or rotates) the sender's bookkeeper signing key in the NodeRegistry. */
export async function setBookkeeperKey(
  client: HmsClient,
  { signingKey, account }: SetBookkeeperKeyParameters,
): Promise<SetBookkeeperKeyReturnType> {
  const bookkeeper = addressOfAccount(accountOf(client, account));
  const previousKey = await read<Address>(client, "NodeRegistry", "bookkeeperKeyOf", [bookkeeper]);
  const { tx } = await setBookkeeperKeyTx(client, bookkeeper, signingKey, account);
  return { ...tx, bookkeeper, previousKey, signingKey: signingKey.address };
}
