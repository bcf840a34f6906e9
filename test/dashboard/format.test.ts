import { expect } from "chai";
import { bytes, hms } from "../../offchain/dashboard/web/src/format";

describe("dashboard formatting", () => {
  it("hms(): whole HMS with thousands separators, 6 decimals; a non-zero amount below them never reads as 0", () => {
    expect(hms(0n)).to.equal("0");
    expect(hms(1234567n * 10n ** 18n)).to.equal("1,234,567");
    expect(hms(15n * 10n ** 17n)).to.equal("1.5");
    expect(hms(123_456_789n * 10n ** 9n)).to.equal("0.123456");
    // 600 gwei·s of a 1-unit lease: 6e11 wei = 0.0000006 HMS, not "0".
    expect(hms(600_000_000_000n)).to.equal("0.0000006");
    expect(hms(1n)).to.equal("0.000000000000000001");
    expect(hms(-5n * 10n ** 17n)).to.equal("-0.5");
    expect(hms("2000000000000000000", 18)).to.equal("2");
  });

  it("bytes(): decimal units, and a dash for unknown", () => {
    expect(bytes(null)).to.equal("–");
    expect(bytes(3_407_872)).to.equal("3.41 MB");
  });
});
