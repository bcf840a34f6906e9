/** What a validator does about a landed report (offchain/validator/settlement.ts): add, wait, settle. */
import { expect } from "chai";
import { landedDuty } from "../../offchain/validator/settlement";

describe("validator/settlement: a landed report's signatures and settlement", function () {
  const base = { chainTime: 100n, signaturesUntil: 160n, signers: 0b1011n, position: 2, signed: true };

  it("adds its own signature when the landed bitmap lacks it, within the window", function () {
    expect(landedDuty(base)).to.deep.equal({ kind: "add-signature" });
  });

  it("waits for the window's end when its signature is recorded, not made, or it is not a member", function () {
    const wait = { kind: "wait", until: 160n };
    expect(landedDuty({ ...base, signers: 0b1111n })).to.deep.equal(wait);
    expect(landedDuty({ ...base, signed: false })).to.deep.equal(wait);
    expect(landedDuty({ ...base, position: -1 })).to.deep.equal(wait);
  });

  it("settles only once the window has ended (settleBookkeepers reverts SignatureWindowOpen before)", function () {
    expect(landedDuty({ ...base, chainTime: 159n, signers: 0b1111n }).kind).to.equal("wait");
    expect(landedDuty({ ...base, chainTime: 160n })).to.deep.equal({ kind: "settle" });
    // Too late to add: the window closed (addSignatures reverts SignatureWindowClosed), settle without it.
    expect(landedDuty({ ...base, chainTime: 161n, signers: 0b0011n })).to.deep.equal({ kind: "settle" });
  });
});
