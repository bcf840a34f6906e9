/**
 * Publication of report documents (offchain/validator/publication.ts): the pure rule a replica prepares by — a
 * report's `dataCid` must resolve to the very document it recomputed — the one-raw-leaf limit, the index path,
 * and the `publishReports` default. The storage network itself is exercised by test/validator/meta-feed.test.ts.
 */
import { expect } from "chai";
import type { Address } from "viem";
import { HmsError } from "../../offchain/core/errors";
import { ZERO_HASH } from "../../offchain/protocol/merkle";
import {
  PUBLISH_INPUTS,
  buildReportProposal,
  checkProposal,
  type ProposalContext,
} from "../../offchain/protocol/proposal";
import { DEFAULT_SLICE_SIZE, MAX_SLICE_SIZE, sliceCid } from "../../offchain/protocol/slicing";
import { KeyRing } from "../../offchain/core/signing";
import { loadValidatorConfig, publishesReports } from "../../offchain/validator/config";
import { ValidatorError } from "../../offchain/validator/errors";
import { publicationProblem, publicationSliceSize, reportPath } from "../../offchain/validator/publication";

const POOL = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;

/** A primary's report proposal (no traffic: the document still carries its inputs) and what a replica makes of it. */
function proposal() {
  const built = buildReportProposal({
    chainId: 31337,
    pool: POOL,
    epoch: 1n,
    base: 10n,
    seq: 1,
    topN: 2,
    prev: { period: null, carryRoot: ZERO_HASH, carry: [] },
    traffic: [],
  });
  const ctx: ProposalContext = {
    chainId: 31337,
    pool: POOL,
    epoch: 1n,
    base: 10n,
    topN: 2,
    genesis: 0n,
    periodLength: 600n,
    chainTime: 600n * 12n,
    reportedCarryRoot: () => undefined,
    nodeKey: () => undefined,
    keyRing: new KeyRing(),
  };
  const verdict = checkProposal(built.text, ctx);
  if (!verdict.ok || verdict.built === undefined) throw new Error("the proposal should validate");
  return { built: built.built, recomputed: verdict.built };
}

describe("validator/publication", function () {
  it("a replica prepares only when dataCid resolves to the document it recomputed", function () {
    const { built, recomputed } = proposal();
    expect(PUBLISH_INPUTS).to.equal(true);
    expect(recomputed.document.version, "validators build version-2 documents").to.equal(2);
    expect(recomputed.json).to.equal(built.json);
    // Stored by the primary: the bytes under dataCid are the replica's own recomputation.
    const stored = Buffer.from(built.json, "utf8");
    expect(sliceCid(stored).toString(), "one raw leaf: its CID is dataCid").to.equal(built.cid);
    expect(publicationProblem(recomputed.json, { bytes: stored })).to.equal(undefined);
    // The primary did not store it: the fetch fails, the proposal is refused (the daemon withholds its prepare).
    const notStored = new HmsError("META_NOT_FOUND", `no file ${built.cid}`, { value: built.cid });
    const refused = publicationProblem(recomputed.json, { error: notStored });
    expect(refused?.code).to.equal("VALIDATOR_REPORT_UNPUBLISHED");
    expect(refused?.reason).to.include("META_NOT_FOUND");
    // Other bytes (a document of another content) are refused too.
    const other = Buffer.from(built.json.replace('"version":2', '"version":1'), "utf8");
    expect(publicationProblem(recomputed.json, { bytes: other })?.code).to.equal("VALIDATOR_REPORT_UNPUBLISHED");
    expect(publicationProblem(recomputed.json, { error: new Error("timeout") })?.reason).to.include("timeout");
  });

  it("a document above one slice cannot be a raw leaf: VALIDATOR_REPORT_TOO_LARGE", function () {
    expect(publicationSliceSize(10)).to.equal(DEFAULT_SLICE_SIZE);
    expect(publicationSliceSize(DEFAULT_SLICE_SIZE + 1)).to.equal(DEFAULT_SLICE_SIZE + 1);
    expect(publicationSliceSize(MAX_SLICE_SIZE)).to.equal(MAX_SLICE_SIZE);
    let err: unknown;
    try {
      publicationSliceSize(MAX_SLICE_SIZE + 1, 7n);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ValidatorError);
    expect((err as ValidatorError).code).to.equal("VALIDATOR_REPORT_TOO_LARGE");
    const huge = "x".repeat(MAX_SLICE_SIZE + 1);
    expect(publicationProblem(huge, { bytes: Buffer.from(huge) })?.code).to.equal("VALIDATOR_REPORT_TOO_LARGE");
  });

  it("one index path per document (the CID in its name), and publishReports defaults to the meta layer", function () {
    const cid = proposal().built.cid;
    expect(reportPath(31337, 12n, cid)).to.equal(`/reports/31337/12-${cid}.json`);
    expect(reportPath(31337, 12n, cid)).to.not.equal(reportPath(31337, 12n, "bafkreiother"));
    const env = {
      HMS_VALIDATOR_RPC_URL: "http://127.0.0.1:8545",
      HMS_VALIDATOR_DEPLOYMENT: "deployments/localhost.json",
      HMS_VALIDATOR_DATA_DIR: "/tmp/v",
    };
    const meta = { ...env, HMS_VALIDATOR_TRAFFIC_SOURCE__META_URLS: '["http://127.0.0.1:7601"]' };
    const url = { ...env, HMS_VALIDATOR_TRAFFIC_SOURCE__URL: "http://127.0.0.1:7300" };
    expect(publishesReports(loadValidatorConfig(undefined, meta))).to.equal(true);
    expect(publishesReports(loadValidatorConfig(undefined, url))).to.equal(false);
    expect(
      publishesReports(loadValidatorConfig(undefined, { ...meta, HMS_VALIDATOR_PUBLISH_REPORTS: "false" })),
    ).to.equal(false);
    expect(() => loadValidatorConfig(undefined, { ...url, HMS_VALIDATOR_PUBLISH_REPORTS: "true" })).to.throw(
      /publishReports needs trafficSource.metaUrls/,
    );
  });
});
