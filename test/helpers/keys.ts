/**
 * Key proofs for the ethers (typechain) tests: `registerNode`, `setSigningKey` and `setBookkeeperKey` need the
 * registered key's EIP-712 `KeyRegistration` signature (offchain/chain/staking.ts `keyRegistrationProof`). A key is
 * a viem local account (the tests' derived keys) or a Hardhat ethers signer (an unlocked node account); an address
 * string is looked up among the Hardhat signers.
 */
import hre from "hardhat";
import type { Hex, LocalAccount } from "viem";
import type { Signer } from "ethers";
import type { NodeRegistry } from "../../typechain-types";
import { BOOKKEEPER_KEY_SUBJECT, NO_DEADLINE, keyRegistrationProof, type KeyProof } from "../../offchain/chain/staking";
import { DOMAIN_NAMES, EIP712_VERSION, TYPES } from "../../offchain/core/signing";

/** A signing key as the tests hold it. */
export type KeyLike = LocalAccount | (Signer & { address: string }) | string;

interface ProofOptions {
  nonce?: bigint;
  deadline?: bigint;
}

function isLocal(key: KeyLike): key is LocalAccount {
  return typeof key === "object" && (key as LocalAccount).type === "local";
}

/** The address of a key. */
export function keyAddress(key: KeyLike): string {
  return typeof key === "string" ? key : key.address;
}

async function resolve(key: KeyLike): Promise<LocalAccount | (Signer & { address: string })> {
  if (typeof key !== "string") return key;
  const signer = (await hre.ethers.getSigners()).find((s) => s.address.toLowerCase() === key.toLowerCase());
  if (signer === undefined) throw new Error(`no Hardhat signer holds key ${key}: pass its account`);
  return signer;
}

/**
 * `key`'s proof that `registrant` may register it for `subject` on `registry` (nonce: the key's current one unless
 * given; deadline: none unless given).
 */
export async function keyProof(
  registry: NodeRegistry,
  key: KeyLike,
  registrant: string,
  subject: Hex,
  options: ProofOptions = {},
): Promise<KeyProof> {
  const registryAddress = (await registry.getAddress()) as Hex;
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  const nonce = options.nonce ?? (await registry.nonces(keyAddress(key)));
  const deadline = options.deadline ?? NO_DEADLINE;
  const holder = await resolve(key);
  if (isLocal(holder)) {
    return keyRegistrationProof(holder, {
      chainId,
      registry: registryAddress,
      registrant: registrant as Hex,
      subject,
      nonce,
      deadline,
    });
  }
  const signature = (await holder.signTypedData(
    { name: DOMAIN_NAMES.registry, version: EIP712_VERSION, chainId, verifyingContract: registryAddress },
    { KeyRegistration: [...TYPES.KeyRegistration] },
    { registrant, subject, nonce, deadline },
  )) as Hex;
  return { nonce, deadline, signature };
}

/** `NodeRegistry.Registration` as the tests write it. */
export interface RegistrationInput {
  nodeId: string;
  kind: number;
  tier: number;
  region: number;
  capacity: bigint;
  signingKey: string;
  payout: string;
  endpoint: string;
}

/**
 * The three key-registering calls of `registry` sent by `who`, each with the key's proof made on the fly. `key`
 * defaults to the registration's `signingKey` (an address looked up among the Hardhat signers); pass the account for
 * a derived key. A zero key gets a placeholder proof (the registry refuses the key before it looks at the proof).
 */
export function signedRegistry(registry: NodeRegistry, who: Signer & { address: string }) {
  const c = registry.connect(who);
  const proofOf = async (key: KeyLike, subject: Hex): Promise<KeyProof> =>
    keyAddress(key) === hre.ethers.ZeroAddress
      ? { nonce: 0n, deadline: NO_DEADLINE, signature: "0x" }
      : keyProof(registry, key, who.address, subject);
  return {
    registerNode: async (r: RegistrationInput, key: KeyLike = r.signingKey) =>
      c.registerNode(r, await proofOf(key, r.nodeId as Hex)),
    setSigningKey: async (nodeId: string, key: KeyLike) =>
      c.setSigningKey(nodeId, keyAddress(key), await proofOf(key, nodeId as Hex)),
    setBookkeeperKey: async (key: KeyLike) =>
      c.setBookkeeperKey(keyAddress(key), await proofOf(key, BOOKKEEPER_KEY_SUBJECT)),
  };
}
