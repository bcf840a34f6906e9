import { expect } from "chai";
import { decodePbftMessage } from "../../../offchain/consensus/pbft/codec";
import { ValidationError } from "../../../offchain/core/errors";
import { NULL_DIGEST } from "../../../offchain/consensus/pbft/types";

describe("pbft/codec", function () {
  const replica = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  const prepare = {
    type: "prepare",
    view: 2,
    seq: 7,
    digest: `0x${"ab".repeat(32)}`,
    replica,
    sig: `0x${"cd".repeat(65)}`,
  };

  it("accepts well-formed messages (addresses lower-cased) and round-trips them through JSON", function () {
    expect(decodePbftMessage(JSON.parse(JSON.stringify(prepare)))).to.deep.equal({
      ...prepare,
      replica: replica.toLowerCase(),
    });
    const nullPP = {
      type: "pre-prepare",
      view: 0,
      seq: 1,
      digest: NULL_DIGEST,
      request: null,
      replica,
      sig: prepare.sig,
    };
    expect(decodePbftMessage(nullPP)).to.deep.include({ request: null });
    const status = { type: "status", view: 0, viewChanging: false, stableSeq: 0, lastExecuted: 0 };
    expect(decodePbftMessage(status)).to.deep.equal(status);
  });

  it("rejects malformed messages with PBFT_BAD_MESSAGE naming the path and value", function () {
    const cases: Array<[unknown, string, unknown]> = [
      [{ ...prepare, seq: -1 }, "seq", -1],
      [{ ...prepare, view: 2 ** 32 }, "view", 2 ** 32],
      [{ ...prepare, digest: "0x12" }, "digest", "0x12"],
      [{ ...prepare, replica: "bob" }, "replica", "bob"],
      [{ ...prepare, extra: 1 }, "", undefined],
      [{ ...prepare, type: "gossip" }, "type", "gossip"],
    ];
    for (const [body, path, value] of cases) {
      try {
        decodePbftMessage(body);
        expect.fail(`accepted ${JSON.stringify(body)}`);
      } catch (err) {
        expect(err).to.be.instanceOf(ValidationError);
        const e = err as ValidationError;
        expect(e.code).to.equal("PBFT_BAD_MESSAGE");
        expect(e.details.path, JSON.stringify(body)).to.equal(path);
        if (path !== "") expect(e.value).to.deep.equal(value);
      }
    }
    expect(() => decodePbftMessage(null)).to.throw(ValidationError);
  });
});
