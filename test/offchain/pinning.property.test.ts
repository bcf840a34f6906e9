/**
 * Pinning tests (issue 16 A.4): every formula computed both on chain and in TypeScript gets the same random inputs
 * on both sides, and the results must be equal. A change on either side without the other breaks one of these.
 *
 *   emission schedule     offchain/protocol/emission.ts      EmissionSchedule (harness), MiningPool views
 *   claim amount          offchain/protocol/report.ts        MiningPool.previewClaim / claim of landed reports
 *   terms / attestation   offchain/protocol/report.ts        MiningPool.hashTerms / hashAttestation
 *   contribution maths    offchain/protocol/contribution.ts  ContributionRegistry.gradientOf / previewContribution
 *   σ                     offchain/protocol/poisson.ts       ContributionRegistry.postCoefficients (accepts, stores)
 *   quorum size           offchain/protocol/quorum.ts        the mock committee's commitment (BookkeeperLogic's rule)
 *   election grace        offchain/protocol/quorum.ts        QuorumVerifier.checkEpoch (GraceHarness)
 */
import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Address, Hex } from "viem";
import {
  electCommittee,
  endOfPeriod,
  first,
  nodeId,
  period,
  rewardsSystem,
  signQuorum,
  HALVING,
} from "../rewards/fixtures";
import {
  cumulativeEmission,
  defaultInitialEmission,
  emissionAt,
  releasedEmission,
  scheduleTotal,
} from "../../offchain/protocol/emission";
import { attestationHash, buildReport, claimAmount, termsHash } from "../../offchain/protocol/report";
import { ledgerFrom } from "../../offchain/protocol/ledger";
import { claimArgs } from "../../offchain/chain/rewards";
import { contributionOf, gradientOf, type GradientTable, type Measurement } from "../../offchain/protocol/contribution";
import { MAX_SIGMA, RESOURCES, estimateSigma, sigmaTuple } from "../../offchain/protocol/poisson";
import { epochMaySign, graceEnd, quorumArgs, quorumOf } from "../../offchain/protocol/quorum";
import { signCoefficients } from "../../offchain/protocol/contribution";
import { GraceHarness__factory } from "../../typechain-types";

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });

describe("pinning: contract formulas and their TypeScript mirrors agree on random inputs", function () {
  this.timeout(300_000);

  it("emission: E(p), cumulative(p), the whole schedule and E0, through the library and the pool", async () => {
    const { math, pool } = await loadFixture(rewardsSystem);
    await fc.assert(
      fc.asyncProperty(uint(96), fc.bigInt({ min: 1n, max: 2n ** 32n - 1n }), uint(64), async (e0, h, p) => {
        expect(await math.emissionAt(e0, h, p)).to.equal(emissionAt(e0, h, p));
        expect(await math.cumulative(e0, h, p)).to.equal(cumulativeEmission(e0, h, p));
      }),
      { numRuns: 120 },
    );
    const e0 = await pool.initialEmission();
    expect(e0).to.equal(defaultInitialEmission(HALVING));
    expect(await pool.scheduleTotal()).to.equal(scheduleTotal(e0, HALVING));
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 0n, max: 2n ** 63n }), async (p) => {
        expect(await pool.emissionOf(p)).to.equal(emissionAt(e0, HALVING, p));
        expect(await pool.cumulativeEmission(p)).to.equal(cumulativeEmission(e0, HALVING, p));
      }),
      { numRuns: 60 },
    );
  });

  it("terms and attestation hashes", async () => {
    const { pool } = await loadFixture(rewardsSystem);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          rewardsRoot: hex(32),
          totalTraffic: uint(64),
          nodeCount: u32,
          nodeEmission: uint(96),
          claimDeadline: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).filter((x) => x < 2 ** 40),
          attestationHash: hex(32),
        }),
        fc.record({
          epoch: uint(64),
          fromPeriod: uint(64),
          signers: uint(256),
          bookkeeperShare: uint(96),
          signaturesUntil: fc.integer({ min: 0, max: 2 ** 40 - 1 }),
          carryRoot: hex(32),
          dataCid: hex(32),
        }),
        async (t, a) => {
          expect(await pool.hashTerms(t)).to.equal(termsHash(t));
          expect(await pool.hashAttestation(a)).to.equal(attestationHash(a));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("claim amount and released emission: what the pool pays is claimAmount of what releasedEmission says", async () => {
    const sys = await loadFixture(rewardsSystem);
    const c = await electCommittee(sys, 0n, 4);
    await sys.allocation.release(0);
    for (let i = 0; i < 4; i++) await sys.registry.setNode(nodeId(i), sys.outsider.address, 1, true);
    const e0 = await sys.pool.initialEmission();
    let p = 0n;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 1n, max: 2n ** 50n }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 5 }),
        async (traffic, skip) => {
          p += BigInt(skip); // skipped periods roll their emission into this report
          const [fromPeriod, cursor, reserve, bps] = await sys.pool.state();
          const expected = releasedEmission(
            { e0, h: HALVING },
            { emissionCursor: cursor, reserve, bookkeeperShareBps: BigInt(bps) },
            p,
          );
          const built = buildReport(
            ledgerFrom(
              p,
              traffic.map((t, i) => [nodeId(i), t] as const),
            ),
            { epoch: 0n, topN: 4, fromPeriod },
          );
          await endOfPeriod(sys.pool, p);
          await sys.pool.submitReport(built.report, await signQuorum(sys, c, built.report, first(3)));
          const reported = await period(sys, p);
          expect(reported.terms.nodeEmission).to.equal(expected.nodeEmission);
          expect(reported.attestation.bookkeeperShare).to.equal(expected.bookkeeperShare);
          for (const claim of built.claims) {
            const [amount] = await sys.pool.previewClaim(...claimArgs(reported, claim));
            expect(amount).to.equal(
              claimAmount(reported.terms.nodeEmission, claim.traffic, reported.terms.totalTraffic),
            );
          }
          p++;
        },
      ),
      { numRuns: 12 },
    );
  });

  it("contribution: gradient levels and what a measurement adds, per tier, under the contract's tables", async () => {
    const { contribution } = await loadFixture(rewardsSystem);
    const tables = (await Promise.all(
      [0, 1, 2, 3].map(async (r) => {
        const [thresholds, points] = await contribution.gradientTable(r);
        return { thresholds: thresholds.map(Number), points: points.map(Number) };
      }),
    )) as unknown as [GradientTable, GradientTable, GradientTable, GradientTable];
    const sigma = (await contribution.coefficients()) as unknown as [bigint, bigint, bigint, bigint];
    const w = await contribution.weights();
    const weights = {
      tierPower: [w.tierPower[0], w.tierPower[1], w.tierPower[2]] as const,
      completedPoints: w.completedPoints,
      failedPenalty: w.failedPenalty,
      chainPoints: w.chainPoints,
    };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          nodeId: hex(32),
          cpuMhz: u32,
          memoryMiB: u32,
          uplinkMbps: u32,
          storageGiB: u32,
          onlineSeconds: u32,
          tasksCompleted: u32,
          tasksFailed: u32,
          chainParticipation: u32,
        }),
        fc.constantFrom(0 as const, 1 as const, 2 as const),
        async (m: Measurement, tier) => {
          const [basic, service, chain, total] = await contribution.previewContribution(m, tier);
          expect({ basic, service, chain, total }).to.deep.equal(contributionOf(m, tier, tables, sigma, weights));
          const values = [m.cpuMhz, m.memoryMiB, m.uplinkMbps, m.storageGiB];
          for (let r = 0; r < 4; r++) {
            expect(await contribution.gradientOf(r, values[r])).to.equal(gradientOf(tables[r], values[r]));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("σ: every estimate the TypeScript posts is accepted by the contract and stored as is", async () => {
    const sys = await loadFixture(rewardsSystem);
    expect(await sys.contribution.MAX_SIGMA()).to.equal(MAX_SIGMA);
    const c = await electCommittee(sys, 0n, 4);
    const registry = (await sys.contribution.getAddress()) as Address;
    let nonce = 0n;
    const samples = fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(fc.tuple(samples, samples, samples, samples), async (s) => {
        const sigma = sigmaTuple(estimateSigma(Object.fromEntries(RESOURCES.map((r, i) => [r, s[i]])) as never));
        const signed = await Promise.all(
          first(3).map(async (i) => ({
            key: c.keys[i],
            signature: await signCoefficients(c.accounts[i], sys.chainId, registry, { epoch: 0n, nonce, sigma }),
          })),
        );
        await sys.contribution.postCoefficients(0n, nonce++, [...sigma], quorumArgs(c.keys, signed));
        expect(await sys.contribution.coefficients()).to.deep.equal(sigma);
      }),
      { numRuns: 20 },
    );
  });

  it("quorum size: quorumOf(n) is the committee commitment's quorum for every size up to 48", async () => {
    const sys = await loadFixture(rewardsSystem);
    for (let n = 1; n <= 48; n++) {
      await electCommittee(sys, BigInt(n), n);
      const [, size, quorum] = await sys.committee.committeeCommitment(BigInt(n));
      expect([size, quorum]).to.deep.equal([BigInt(n), BigInt(quorumOf(n))]);
    }
  });

  it("election grace: epochMaySign / graceEnd decide exactly as QuorumVerifier.checkEpoch", async () => {
    const [deployer] = await hre.ethers.getSigners();
    const harness = await new GraceHarness__factory(deployer).deploy();
    const now = BigInt(await time.latest());
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 2n, max: 1_000n }),
        fc.bigInt({ min: 0n, max: 3n * 86_400n }),
        fc.bigInt({ min: 0n, max: 3n * 86_400n }),
        fc.option(fc.bigInt({ min: 0n, max: 1_000n }), { nil: null }),
        fc.bigInt({ min: 0n, max: 86_400n }),
        fc.bigInt({ min: 0n, max: 1_002n }),
        async (last, electedAgo, startAgo, previous, grace, epoch) => {
          const state = {
            lastElected: last,
            electedAt: now - electedAgo,
            lastEpochStart: now - startAgo,
            previousElected: previous,
          };
          await harness.set(last, state.electedAt, state.lastEpochStart, previous ?? 0n, previous !== null);
          const [ok, end, at] = await harness.check(epoch, grace);
          expect(ok).to.equal(epochMaySign(epoch, state, grace, at));
          if (!ok) expect(end).to.equal(epoch === previous ? graceEnd(state, grace) : 0n);
        },
      ),
      { numRuns: 80 },
    );
  });
});
