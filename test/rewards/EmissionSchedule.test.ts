/**
 * EmissionSchedule (closed-form cumulative halving emission) and QuorumVerifier.popcount against brute force.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { rewardsSystem } from "./fixtures";

function bruteCumulative(e0: bigint, h: bigint, p: bigint): bigint {
  let sum = 0n;
  for (let q = 0n; q < p; q++) {
    const k = q / h;
    sum += k >= 256n ? 0n : e0 >> k;
  }
  return sum;
}

const popcount = (x: bigint) => x.toString(2).replace(/0/g, "").length;

describe("EmissionSchedule and popcount", () => {
  it("property: cumulative(p) equals the sum of E(q) for q < p, across many halvings", async () => {
    const { math } = await loadFixture(rewardsSystem);
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 2n ** 96n }),
        fc.bigInt({ min: 1n, max: 7n }),
        fc.bigInt({ min: 0n, max: 700n }),
        async (e0, h, p) => {
          expect(await math.cumulative(e0, h, p)).to.equal(bruteCumulative(e0, h, p));
          expect(await math.emissionAt(e0, h, p)).to.equal(p / h >= 256n ? 0n : e0 >> (p / h));
        },
      ),
      { numRuns: 60 },
    );
    // Far beyond the last halving the cumulative sum is the whole schedule, H · (2 E0 − popcount(E0)).
    const e0 = 703_957_382_039_573_820_395n;
    expect(await math.cumulative(e0, 210_240n, 2n ** 63n)).to.equal(210_240n * (2n * e0 - BigInt(popcount(e0))));
  });

  it("property: popcount over all 256 bits", async () => {
    const { math } = await loadFixture(rewardsSystem);
    for (const x of [0n, 1n, 2n ** 255n, 2n ** 256n - 1n, 0x7fn << 128n]) {
      expect(await math.popcount(x)).to.equal(BigInt(popcount(x)));
    }
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), async (x) => {
        expect(await math.popcount(x)).to.equal(BigInt(popcount(x)));
      }),
      { numRuns: 60 },
    );
  });
});
