import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, toHex, type Hex } from "viem";
import { MerkleError, MerkleTree, ZERO_HASH, hashPair, rewardLeaf } from "../../offchain/protocol/merkle";
import { rewardsSystem } from "../rewards/fixtures";

const id = (i: number) => keccak256(toHex(`merkle/${i}`));

describe("offchain/protocol/merkle: trees that match OpenZeppelin MerkleProof and MiningPool's leaves", () => {
  it("hashes reward leaves exactly as MiningPool.rewardLeaf", async () => {
    const { pool } = await loadFixture(rewardsSystem);
    for (const [index, traffic] of [
      [0, 1n],
      [7, 123_456_789n],
      [4_000_000, 2n ** 64n - 1n],
    ] as [number, bigint][]) {
      expect(rewardLeaf(index, id(index), traffic)).to.equal(await pool.rewardLeaf(index, id(index), traffic));
    }
    expect(() => rewardLeaf(0, "0x1234", 1n)).to.throw(MerkleError);
    expect(() => rewardLeaf(0, id(0), 2n ** 64n)).to.throw(MerkleError, /uint64/);
    expect(() => rewardLeaf(0, id(0), -1n)).to.throw(MerkleError);
  });

  it("roots and proofs of random trees verify with OZ MerkleProof on chain (property)", async () => {
    const { math } = await loadFixture(rewardsSystem);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 70 }), fc.nat(), async (n, salt) => {
        const leaves = Array.from({ length: n }, (_, i) => rewardLeaf(i, id(i + salt), BigInt(i + 1)));
        const tree = new MerkleTree(leaves);
        const probe = [0, n - 1, salt % n];
        for (const i of probe) {
          const proof = tree.proof(i);
          expect(MerkleTree.verify(tree.root, leaves[i], proof)).to.be.true;
          expect(await math.verifyProof(proof, tree.root, leaves[i])).to.be.true;
          expect(proof.length).to.be.at.most(Math.ceil(Math.log2(n)));
        }
        // Another leaf with the same proof fails, on both sides.
        if (n > 1) {
          const wrong = rewardLeaf(0, id(999_999), 1n);
          expect(MerkleTree.verify(tree.root, wrong, tree.proof(0))).to.be.false;
          expect(await math.verifyProof(tree.proof(0), tree.root, wrong)).to.be.false;
        }
      }),
      { numRuns: 25 },
    );
  });

  it("handles the empty and single-leaf trees and rejects bad input", () => {
    expect(new MerkleTree([]).root).to.equal(ZERO_HASH);
    const leaf = rewardLeaf(0, id(0), 5n);
    const one = new MerkleTree([leaf]);
    expect(one.root).to.equal(leaf);
    expect(one.proof(0)).to.deep.equal([]);
    expect(() => one.proof(1)).to.throw(MerkleError, /out of range/);
    expect(() => new MerkleTree(["0x12" as Hex])).to.throw(MerkleError);
    const a = rewardLeaf(0, id(0), 1n);
    const b = rewardLeaf(1, id(1), 1n);
    expect(hashPair(a, b)).to.equal(hashPair(b, a));
    expect(new MerkleTree([a, b]).root).to.equal(hashPair(a, b));
    // Three leaves: the odd one moves up unchanged.
    const c = rewardLeaf(2, id(2), 1n);
    expect(new MerkleTree([a, b, c]).root).to.equal(hashPair(hashPair(a, b), c));
  });
});
