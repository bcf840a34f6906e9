import { expect } from "chai";
import { IndexBloom } from "../../offchain/meta/bloom";

describe("meta/bloom", function () {
  const N = 100_000;

  for (const libraryHashing of [false, true]) {
    it(`holds ≤ 1 % false positives at < 10 bits per element (${libraryHashing ? "library" : "fast"} hashing)`, function () {
      this.timeout(120_000);
      const n = libraryHashing ? N / 10 : N;
      const bloom = IndexBloom.create({ capacity: n, seed: 1, libraryHashing });
      expect(bloom.bitsPerElement).to.be.below(10);
      expect(bloom.hashes).to.equal(7);
      for (let i = 0; i < n; i++) bloom.add(IndexBloom.cidKey(`bafkrei${i.toString(36)}`));
      // No false negatives.
      let missing = 0; // plain counting: one chai assertion per key costs minutes
      for (let i = 0; i < n; i++) if (!bloom.mightContain(IndexBloom.cidKey(`bafkrei${i.toString(36)}`))) missing++;
      expect(missing).to.equal(0);
      // Measured false-positive rate over keys never added.
      let fp = 0;
      const probes = n;
      for (let i = 0; i < probes; i++) if (bloom.mightContain(IndexBloom.cidKey(`bafybei${i.toString(36)}`))) fp++;
      const rate = fp / probes;
      // 1 % target; the bound leaves 3 σ of sampling error at n = 10,000 (σ ≈ 0.1 %).
      expect(rate).to.be.below(0.013);
      expect(rate).to.be.above(0.002); // it is a Bloom filter, not a set: a rate of 0 would mean a broken probe
      expect(bloom.expectedFalsePositiveRate).to.be.closeTo(0.01, 0.001);
      console.log(
        `      ${(rate * 100).toFixed(3)} % false positives, ${bloom.bitsPerElement.toFixed(2)} bits/element`,
      );
    });
  }

  it("asks for a rebuild once it holds more keys than it was sized for", function () {
    const bloom = IndexBloom.create({ capacity: 10, seed: 1 });
    expect(bloom.capacity).to.equal(1024);
    for (let i = 0; i < 1024; i++) bloom.add(`k${i}`);
    expect(bloom.needsRebuild).to.equal(false);
    bloom.add("one more");
    expect(bloom.needsRebuild).to.equal(true);
  });

  it("keys of a CID and of an owner's path never collide", function () {
    expect(IndexBloom.cidKey("x")).to.not.equal(IndexBloom.pathKey("0x0000000000000000000000000000000000000001", "x"));
    expect(IndexBloom.pathKey("0xABCDEF0000000000000000000000000000000001", "/a")).to.equal(
      IndexBloom.pathKey("0xabcdef0000000000000000000000000000000001", "/a"),
    );
  });
});
