import { keccak256, toHex, type Address, type Hex, type LocalAccount } from "viem";
import { keyRegistrationProof } from "../../../chain/staking";
import { accountOf, addressOf, addressOfAccount, check, read, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import { NodeKind, Tier, type TransactionResult } from "../../types";

export interface RegisterNodeParameters extends WriteParameters {
  /** Default: {@link defaultNodeId} of the signing key. */
  nodeId?: Hex;
  kind: NodeKind;
  /** Default Normal. */
  tier?: Tier;
  /** Region code (e.g. ISO 3166-1 numeric); default 0. */
  region?: number;
  /** GiB for storage nodes, millicores for container nodes; 0 allowed for meta nodes. */
  capacity: bigint;
  /** The daemon's signing key: it signs its consent (the registry's key proof) here. */
  signingKey: LocalAccount;
  /** Where rewards and market payments go; default: the operator. */
  payout?: Address;
  endpoint: string;
}
export interface RegisterNodeReturnType extends TransactionResult {
  nodeId: Hex;
  operator: Address;
  signingKey: Address;
  payout: Address;
}
export type RegisterNodeErrorType = WriteErrorType;

/** The node id `registerNode` uses when none is given: keccak256("hms-node/<signing key address>"). */
export function defaultNodeId(signingKey: Address): Hex {
  return keccak256(toHex(`hms-node/${signingKey.toLowerCase()}`));
}

/** Registers a storage, container or meta node with its signing key's proof (NodeRegistry.registerNode). */
export async function registerNode(
  client: HmsClient,
  parameters: RegisterNodeParameters,
): Promise<RegisterNodeReturnType> {
  const { kind, capacity, signingKey, endpoint, account } = parameters;
  check(Object.values(NodeKind).includes(kind), `unknown node kind ${kind}`, kind);
  check(endpoint.length > 0, "the endpoint must not be empty", endpoint);
  const operator = addressOfAccount(accountOf(client, account));
  const nodeId = parameters.nodeId ?? defaultNodeId(signingKey.address);
  const payout = parameters.payout ?? operator;
  const nonce = await read<bigint>(client, "NodeRegistry", "nonces", [signingKey.address]);
  const proof = await keyRegistrationProof(signingKey, {
    chainId: client.deployment.chainId,
    registry: addressOf(client, "NodeRegistry"),
    registrant: operator,
    subject: nodeId,
    nonce,
  });
  const registration = {
    nodeId,
    kind,
    tier: parameters.tier ?? Tier.Normal,
    region: parameters.region ?? 0,
    capacity,
    signingKey: signingKey.address,
    payout,
    endpoint,
  };
  const { tx } = await write(client, "NodeRegistry", "registerNode", [registration, proof], account);
  return { ...tx, nodeId, operator, signingKey: signingKey.address, payout };
}
