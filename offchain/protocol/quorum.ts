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

/**
 * What decides which committees may sign a quorum-signed message now (`QuorumVerifier.checkEpoch`), read from
 * `BookkeeperStaking`: `lastElectedEpoch()`, then `committeeInfo(last)` and `epochStart(last)`.
 */
export interface ElectionState {
  /** `lastElectedEpoch()`. */
  lastElected: bigint;
  /** `committeeInfo(last).electedAt`: the timestamp of the last election. */
  electedAt: bigint;
  /** `epochStart(last)`. */
  lastEpochStart: bigint;
  /** `committeeInfo(last).previousElected` when `hasPrevious`, else null: the committee that served until then. */
  previousElected: bigint | null;
}

/**
 * End (exclusive) of the election grace of the committee elected before `lastElected` — the one that actually
 * served until the election, even across skipped epochs — counted from the later of the election and its epoch's
 * start; null when there is no previous committee. `QuorumVerifier.checkEpoch`'s rule (pinned to it by
 * test/offchain/pinning.property.test.ts).
 */
export function graceEnd(state: ElectionState, grace: bigint): bigint | null {
  if (state.previousElected === null) return null;
  const from = state.electedAt > state.lastEpochStart ? state.electedAt : state.lastEpochStart;
  return from + grace;
}

/**
 * May `epoch`'s committee sign a report (or contribution batch) landing at time `now`: the last elected committee
 * always; the one elected before it until {@link graceEnd}; no other. Mirrors `QuorumVerifier.checkEpoch`.
 */
export function epochMaySign(epoch: bigint, state: ElectionState, grace: bigint, now: bigint): boolean {
  if (epoch === state.lastElected) return true;
  if (epoch !== state.previousElected) return false;
  const end = graceEnd(state, grace);
  return end !== null && now < end;
}
