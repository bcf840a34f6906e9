import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { CID } from "multiformats/cid";
import { keccak256, sha256, stringToBytes, toHex, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ledgerFrom } from "../../offchain/protocol/ledger";
import {
  attestationHash,
  buildReport,
  carryTree,
  cidFromDigest,
  cidOf,
  signReport,
  termsHash,
} from "../../offchain/protocol/report";
import { ZERO_HASH } from "../../offchain/protocol/merkle";
import { QuorumError, quorumArgs, quorumOf, toCompact } from "../../offchain/protocol/quorum";
import { domainOf, recoverTyped, typedDigest } from "../../offchain/core/signing";
import { ValidationError } from "../../offchain/core/errors";
import { rewardsSystem } from "../rewards/fixtures";

const node = (i: number) => keccak256(toHex(`report/node/${i}`));

function ledger() {
  return ledgerFrom(
    12n,
    Array.from({ length: 9 }, (_, i) => [node(i), BigInt((i * 37) % 11) * 1_000n] as const),
  );
}

describe("offchain/protocol/report: period reports, CIDs, terms", () => {
  it("is deterministic: the same ledger gives byte-identical reports, whatever the insertion order", () => {
    const a = buildReport(ledger(), { epoch: 3n, topN: 4, fromPeriod: 10n });
    const reversed = ledgerFrom(12n, [...ledger().traffic.entries()].reverse());
    const b = buildReport(reversed, { epoch: 3n, topN: 4, fromPeriod: 10n });
    expect(b.json).to.equal(a.json);
    expect(b.report).to.deep.equal(a.report);
    expect(b.claims).to.deep.equal(a.claims);
    expect(a.report.period).to.equal(12n);
    expect(a.report.nodeCount).to.equal(4);
    expect(a.claims.map((c) => c.index)).to.deep.equal([0, 1, 2, 3]);
    // Node 0 has zero traffic and is absent; the rest carry, sorted by id, into period 13.
    expect(a.carry.period).to.equal(13n);
    expect(a.document.carry.length + a.document.rewards.length).to.equal(8);
    expect(a.report.carryRoot).to.equal(
      carryTree([...a.carry.traffic.entries()].map(([nodeId, traffic]) => ({ nodeId, traffic }))).root,
    );
    // The epoch is not part of the document: another committee signing the same ledger has the same CID.
    expect(buildReport(ledger(), { epoch: 4n, topN: 4, fromPeriod: 10n }).report.dataCid).to.equal(a.report.dataCid);
  });

  it("signs the base it builds on (fromPeriod ≤ period); the document and its CID do not depend on it", () => {
    const a = buildReport(ledger(), { epoch: 3n, topN: 4, fromPeriod: 10n });
    expect(a.report.fromPeriod).to.equal(10n);
    expect(a.report.period).to.equal(12n);
    // A report of the period alone, and one from genesis: same ledger, same document, different signed message.
    const alone = buildReport(ledger(), { epoch: 3n, topN: 4, fromPeriod: 12n });
    const all = buildReport(ledger(), { epoch: 3n, topN: 4, fromPeriod: 0n });
    expect([alone.report.fromPeriod, all.report.fromPeriod]).to.deep.equal([12n, 0n]);
    expect(alone.json).to.equal(a.json);
    expect(all.report.dataCid).to.equal(a.report.dataCid);
    const domain = domainOf("miningPool", 31337, "0x00000000000000000000000000000000000000aa");
    expect(typedDigest(domain, "PeriodReport", alone.report)).to.not.equal(
      typedDigest(domain, "PeriodReport", a.report),
    );
    // A report covering nothing (its base after its period) is not built.
    for (const fromPeriod of [13n, 2n ** 63n, -1n])
      expect(() => buildReport(ledger(), { epoch: 3n, topN: 4, fromPeriod }))
        .to.throw(ValidationError, /cannot cover traffic from period/)
        .with.property("code", "PROTOCOL_REPORT");
  });

  it("dataCid is the sha256 of the canonical JSON, as a CIDv1 raw", () => {
    const built = buildReport(ledger(), { epoch: 3n, topN: 4, fromPeriod: 10n });
    expect(built.report.dataCid).to.equal(sha256(stringToBytes(built.json)));
    const cid = CID.parse(built.cid);
    expect(cid.version).to.equal(1);
    expect(cid.code).to.equal(0x55); // raw
    expect(cid.multihash.code).to.equal(0x12); // sha2-256
    expect(toHex(cid.multihash.digest)).to.equal(built.report.dataCid);
    expect(cidFromDigest(built.report.dataCid)).to.equal(built.cid);
    expect(cidOf(stringToBytes(built.json)).cid).to.equal(built.cid);
    const parsed = JSON.parse(built.json);
    expect(parsed.rewardsRoot).to.equal(built.report.rewardsRoot);
    expect(parsed.rewards[0].traffic).to.equal(built.claims[0].traffic.toString());
  });

  it("an empty ledger gives an empty report (zero root, no claims)", () => {
    const built = buildReport(ledgerFrom(2n, []), { epoch: 0n, topN: 10, fromPeriod: 0n });
    expect(built.report.rewardsRoot).to.equal(ZERO_HASH);
    expect(built.report.totalTraffic).to.equal(0n);
    expect(built.report.nodeCount).to.equal(0);
    expect(built.claims).to.deep.equal([]);
  });

  it("hashes terms and attestations exactly like MiningPool", async () => {
    const { pool } = await loadFixture(rewardsSystem);
    const attestation = {
      epoch: 9n,
      fromPeriod: 2n ** 40n + 3n,
      signers: 0b1011101n,
      bookkeeperShare: 123_456_789n,
      signaturesUntil: 2_000_000_123,
      carryRoot: node(1),
      dataCid: node(2),
    };
    const terms = {
      rewardsRoot: node(3),
      totalTraffic: 2n ** 63n,
      nodeCount: 100,
      nodeEmission: 10n ** 24n,
      claimDeadline: 2_000_000_000,
      attestationHash: attestationHash(attestation),
    };
    expect(attestationHash(attestation)).to.equal(await pool.hashAttestation(attestation));
    expect(termsHash(terms)).to.equal(await pool.hashTerms(terms));
  });

  it("signs reports under the pool's domain and packs a quorum in committee order", async () => {
    const accounts = [1, 2, 3, 4].map((i) => privateKeyToAccount(keccak256(toHex(`report/key/${i}`))));
    const keys = accounts.map((a) => a.address);
    const pool = "0x00000000000000000000000000000000000000aa" as Address;
    const built = buildReport(ledger(), { epoch: 3n, topN: 4, fromPeriod: 10n });
    const signed = await Promise.all(
      [3, 0, 2].map(async (i) => ({
        key: keys[i],
        signature: await signReport(accounts[i], 31337, pool, built.report),
      })),
    );
    const q = quorumArgs(keys, signed);
    expect(q.signers).to.equal(0b1101n);
    expect(q.signatures).to.deep.equal([signed[1], signed[2], signed[0]].map((s) => toCompact(s.signature)));
    expect(
      await recoverTyped(domainOf("miningPool", 31337, pool), "PeriodReport", built.report, signed[0].signature),
    ).to.equal(keys[3]);
    expect(() => quorumArgs(keys, [{ key: accounts[0].address, signature: signed[1].signature }, signed[1]])).to.throw(
      QuorumError,
      /twice/,
    );
    expect(() =>
      quorumArgs(keys, [{ key: hre.ethers.ZeroAddress as Address, signature: signed[0].signature }]),
    ).to.throw(QuorumError, /zero key/);
    expect(() =>
      quorumArgs(keys, [{ key: "0x00000000000000000000000000000000000000bb", signature: signed[0].signature }]),
    ).to.throw(QuorumError, /not a key/);
    expect([4, 6, 7, 10, 48].map(quorumOf)).to.deep.equal([3, 5, 5, 7, 33]);
  });
});
