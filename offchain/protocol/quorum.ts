/**
 * Packs committee signatures for `QuorumVerifier` (contracts/libraries/QuorumVerifier.sol): the epoch's committee
 * signing keys in leader order, a bitmap of who signed (bit i = keys[i]) and the signatures in bitmap order as
 * EIP-2098 compact `(r, vs)` pairs. Signatures themselves are made with offchain/core/signing.ts.
 *
 * Pure: no I/O.
 */
import {
  getAddress,
  hexToSignature,
  isAddressEqual,
  signatureToCompactSignature,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { HmsError } from "../core/errors";

/** An EIP-2098 compact signature as QuorumVerifier.Signature. */
export interface CompactSignature {
  r: Hex;
  vs: Hex;
}

/** The `QuorumVerifier.Quorum` calldata struct. */
export interface QuorumArgs {
  keys: Address[];
  signers: bigint;
  signatures: CompactSignature[];
}

/** One committee member's signature over the message. */
export interface KeySignature {
  key: Address;
  signature: Hex;
}

/** Thrown for signatures that cannot be packed, naming the offending value. */
export class QuorumError extends HmsError {
  constructor(message: string, value?: unknown) {
    super("PROTOCOL_QUORUM", message, { value });
  }
}

/** A 65-byte `r || s || v` signature as a compact `(r, vs)` pair. */
export function toCompact(signature: Hex): CompactSignature {
  const { r, yParityAndS } = signatureToCompactSignature(hexToSignature(signature));
  return { r, vs: yParityAndS };
}

/**
 * Builds the quorum argument from the committee `keys` (leader order, as `IBookkeeperCommittee.committee`
 * returns them) and the signatures collected, in any order. Each signer must be a non-zero committee key and sign
 * once. The quorum threshold itself is checked on chain.
 */
export function quorumArgs(keys: readonly Address[], signed: readonly KeySignature[]): QuorumArgs {
  if (keys.length > 256) throw new QuorumError(`a committee has at most 256 members, got ${keys.length}`, keys.length);
  const byIndex = new Map<number, CompactSignature>();
  for (const { key, signature } of signed) {
    if (isAddressEqual(key, zeroAddress)) throw new QuorumError("the zero key cannot sign", key);
    const index = keys.findIndex((k) => isAddressEqual(k, key));
    if (index < 0) throw new QuorumError(`${key} is not a key of this committee`, key);
    if (byIndex.has(index)) throw new QuorumError(`${key} signed twice`, key);
    byIndex.set(index, toCompact(signature));
  }
  const indices = [...byIndex.keys()].sort((a, b) => a - b);
  return {
    keys: keys.map((k) => getAddress(k)),
    signers: indices.reduce((bits, i) => bits | (1n << BigInt(i)), 0n),
    signatures: indices.map((i) => byIndex.get(i)!),
  };
}

/** More than 2/3 of `size`: the number of signatures a committee of `size` needs (`size * 2 / 3 + 1`). */
export function quorumOf(size: number): number {
  return Math.floor((size * 2) / 3) + 1;
}
