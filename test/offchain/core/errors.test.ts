import fs from "node:fs";
import { expect } from "chai";
import {
  ERROR_CODES,
  EXIT_CODES,
  HmsError,
  TransportError,
  exitCodeOf,
  isErrorCode,
  relayedCode,
} from "../../../offchain/core/errors";
import { ERRORS_DOC, renderErrorsDoc } from "../../../tools/errors-doc";

describe("core/error-codes: the one error registry", function () {
  it("names every code DOMAIN_NAME in upper snake case, with a meaning, a known exit class and an HTTP status", function () {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(code, code).to.match(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/);
      expect(spec.meaning.length, code).to.be.greaterThan(10);
      expect(EXIT_CODES, code).to.have.property(spec.exit);
      expect(spec.http, code).to.be.within(400, 599);
    }
  });

  it("gives each error its registry exit code and HTTP status", function () {
    expect(exitCodeOf(new HmsError("CONFIG_INVALID", "x"))).to.equal(EXIT_CODES.config);
    expect(exitCodeOf(new HmsError("VALIDATOR_WRONG_CHAIN", "x"))).to.equal(3);
    expect(exitCodeOf(new HmsError("SLASHING_PROTECTION", "x"))).to.equal(6);
    expect(exitCodeOf(new Error("plain"))).to.equal(EXIT_CODES.failure);
    expect(new TransportError("TRANSPORT_REPLAY", undefined, "x").status).to.equal(409);
    expect(new TransportError("TRANSPORT_REPLAY", 418, "x").status).to.equal(418);
  });

  it("relays a peer's registered code and replaces an unknown one", function () {
    expect(isErrorCode("STORE_IO")).to.equal(true);
    expect(isErrorCode("toString")).to.equal(false);
    expect(relayedCode("PBFT_BAD_MESSAGE", "TRANSPORT_HTTP_STATUS")).to.equal("PBFT_BAD_MESSAGE");
    expect(relayedCode("SOMETHING_ELSE", "TRANSPORT_HTTP_STATUS")).to.equal("TRANSPORT_HTTP_STATUS");
  });

  it("docs/ERRORS.md is what the registry renders (npm run docs:errors)", function () {
    expect(fs.readFileSync(ERRORS_DOC, "utf8")).to.equal(renderErrorsDoc());
  });
});
