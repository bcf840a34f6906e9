import { expect } from "chai";
import { RECORD_BYTES, makeBatch, validateBatch } from "../../../offchain/testing/pbft-batch";

describe("bench/traffic batches", function () {
  it("builds deterministic batches of 236-byte records that validate", function () {
    const a = makeBatch(100, 7, 1);
    expect(a).to.equal(makeBatch(100, 7, 1));
    expect(a).to.not.equal(makeBatch(100, 7, 2));
    expect(Buffer.from(a.split(":")[3], "base64").length).to.equal(100 * RECORD_BYTES);
    expect(validateBatch(a)).to.equal(true);
  });

  it("rejects malformed batches: header, length, period, zero bytes, signature bytes", function () {
    const good = makeBatch(10, 3, 5);
    const [, , , body] = good.split(":");
    const raw = Buffer.from(body, "base64");
    const withRaw = (mutate: (b: Buffer) => void) => {
      const b = Buffer.from(raw);
      mutate(b);
      return `tb1:3:10:${b.toString("base64")}`;
    };
    expect(validateBatch("nonsense")).to.equal(false);
    expect(validateBatch(good.replace("tb1:3:10:", "tb1:3:11:"))).to.equal(false);
    expect(validateBatch(good.replace("tb1:3:", "tb1:4:"))).to.equal(false);
    expect(validateBatch(withRaw((b) => b.fill(0, 84, 92)))).to.equal(false);
    expect(validateBatch(withRaw((b) => (b[100 + 64] = 29)))).to.equal(false);
    expect(validateBatch(withRaw((b) => (b[RECORD_BYTES + 165 + 32] = 0xff)))).to.equal(false);
    expect(validateBatch(withRaw(() => undefined))).to.equal(true);
  });
});
