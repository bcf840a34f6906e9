import type { Address, Hex, LocalAccount } from "viem";
import { keyRegistrationProof } from "../../../chain/staking";
import { accountOf, addressOf, addressOfAccount, read, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface SetNodeSigningKeyParameters extends WriteParameters {
  nodeId: Hex;
  /** The new key; it signs its consent here. */
  signingKey: LocalAccount;
}
export type SetNodeSigningKeyReturnType = TransactionResult & {
  nodeId: Hex;
  previousKey: Address;
  signingKey: Address;
};
export type SetNodeSigningKeyErrorType = WriteErrorType;

/** Rotates a node's signing key (the operator only). */
export async function setNodeSigningKey(
  client: HmsClient,
  { nodeId, signingKey, account }: SetNodeSigningKeyParameters,
): Promise<SetNodeSigningKeyReturnType> {
  const operator = addressOfAccount(accountOf(client, account));
  const previousKey = await read<Address>(client, "NodeRegistry", "signingKeyOf", [nodeId]);
  const nonce = await read<bigint>(client, "NodeRegistry", "nonces", [signingKey.address]);
  const proof = await keyRegistrationProof(signingKey, {
    chainId: client.deployment.chainId,
    registry: addressOf(client, "NodeRegistry"),
    registrant: operator,
    subject: nodeId,
    nonce,
  });
  const { tx } = await write(client, "NodeRegistry", "setSigningKey", [nodeId, signingKey.address, proof], account);
  return { ...tx, nodeId, previousKey, signingKey: signingKey.address };
}
