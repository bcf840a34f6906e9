/**
 * Merkle trees with OpenZeppelin `MerkleProof` semantics (commutative keccak256 of sorted pairs), shared by
 * every on-chain commitment the project makes: reward leaves of a period report, the carried-over ledger.
 *
 * Layout: leaves in the given order form layer 0; each next layer hashes pairs (2i, 2i+1) with `hashPair`, and
 * an odd last node moves up unchanged. The root of one leaf is the leaf; the root of no leaves is
 * {@link ZERO_HASH}. A proof is the list of siblings from the leaf up (skipping layers where the node had none),
 * which `MerkleProof.verify` / `verifyCalldata` accept.
 *
 * Pure and deterministic: no I/O.
 */
import { concatHex, encodeAbiParameters, keccak256, type Hex } from "viem";
import { HmsError } from "../core/errors";

/** Root of an empty tree (and the `rewardsRoot` of an empty period). */
export const ZERO_HASH: Hex = `0x${"00".repeat(32)}`;

/** Thrown for malformed tree input, naming the offending value. */
export class MerkleError extends HmsError {
  constructor(message: string, value?: unknown) {
    super("PROTOCOL_MERKLE", message, { value });
  }
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/** keccak256 of the sorted pair (OpenZeppelin `Hashes.commutativeKeccak256`). */
export function hashPair(a: Hex, b: Hex): Hex {
  return BigInt(a) < BigInt(b) ? keccak256(concatHex([a, b])) : keccak256(concatHex([b, a]));
}

/**
 * The reward leaf of a period report, as MiningPool hashes it:
 * `keccak256(bytes.concat(keccak256(abi.encode(uint256 index, bytes32 nodeId, uint256 traffic))))`.
 * Double hashing keeps leaves from being confused with inner nodes (64-byte preimages).
 */
export function rewardLeaf(index: number | bigint, nodeId: Hex, traffic: bigint): Hex {
  if (!HEX32.test(nodeId)) throw new MerkleError(`node id must be 32 bytes of hex: ${nodeId}`, nodeId);
  if (traffic < 0n || traffic >= 1n << 64n) throw new MerkleError(`traffic out of uint64 range: ${traffic}`, traffic);
  const encoded = encodeAbiParameters(
    [{ type: "uint256" }, { type: "bytes32" }, { type: "uint256" }],
    [BigInt(index), nodeId, traffic],
  );
  return keccak256(keccak256(encoded));
}

/** A Merkle tree over precomputed leaf hashes. */
export class MerkleTree {
  /** layers[0] are the leaves, the last layer holds the root (empty for an empty tree). */
  readonly layers: readonly (readonly Hex[])[];

  constructor(leaves: readonly Hex[]) {
    for (const leaf of leaves)
      if (!HEX32.test(leaf)) throw new MerkleError(`leaf is not a 32-byte hash: ${leaf}`, leaf);
    const layers: Hex[][] = [leaves.map((l) => l.toLowerCase() as Hex)];
    while (layers[layers.length - 1].length > 1) {
      const below = layers[layers.length - 1];
      const above: Hex[] = [];
      for (let i = 0; i < below.length; i += 2)
        above.push(i + 1 < below.length ? hashPair(below[i], below[i + 1]) : below[i]);
      layers.push(above);
    }
    this.layers = layers;
  }

  /** Number of leaves. */
  get size(): number {
    return this.layers[0].length;
  }

  /** The root ({@link ZERO_HASH} for an empty tree). */
  get root(): Hex {
    const top = this.layers[this.layers.length - 1];
    return top.length === 0 ? ZERO_HASH : top[0];
  }

  /** Sibling hashes proving leaf `index`, from the bottom up. */
  proof(index: number): Hex[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new MerkleError(`leaf index ${index} out of range [0, ${this.size})`, index);
    }
    const proof: Hex[] = [];
    let i = index;
    for (let level = 0; level < this.layers.length - 1; level++) {
      const layer = this.layers[level];
      const sibling = i ^ 1;
      if (sibling < layer.length) proof.push(layer[sibling]);
      i >>= 1;
    }
    return proof;
  }

  /** OpenZeppelin `MerkleProof.verify`: folds the proof over the leaf with sorted-pair hashing. */
  static verify(root: Hex, leaf: Hex, proof: readonly Hex[]): boolean {
    let computed = leaf.toLowerCase() as Hex;
    for (const sibling of proof) computed = hashPair(computed, sibling.toLowerCase() as Hex);
    return computed === root.toLowerCase();
  }
}
