import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { hexToSignature, toHex, type Address, type Hex } from "viem";
import { HMS } from "../helpers/fixtures";
import {
  DAY,
  E0,
  HALVING,
  POOL_PARAMS,
  SIGNATURE_WINDOW,
  committeeKey,
  deployPool,
  electCommittee,
  endOfPeriod,
  first,
  nodeId,
  period,
  rewardsSystem,
  signQuorum,
  type RewardsSystem,
  type TestCommittee,
} from "./fixtures";
import { MiningPool__factory } from "../../typechain-types";
import { ledgerFrom } from "../../offchain/protocol/ledger";
import { buildReport, claimAmount, signReport, type BuiltReport } from "../../offchain/protocol/report";
import { quorumArgs, toCompact } from "../../offchain/protocol/quorum";
import { ZERO_HASH, MerkleTree, rewardLeaf } from "../../offchain/protocol/merkle";
import { batchClaim, claimArgs, settlement, type ReportedPeriod } from "../../offchain/chain/rewards";
import { domainOf, typedDigest, type PeriodReportMessage } from "../../offchain/core/signing";
import { readPeriod } from "../../offchain/chain/rewards";

const GB = 10n ** 9n;
/** The allocation's part not covered by the halving schedule (rounding), recycled by the first report. */
const DUST = HMS(296_000_000) - (E0 * 2n - BigInt(E0.toString(2).replace(/0/g, "").length)) * HALVING;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * A report of `p` over nodes 0..n-1 with traffic (i+1) GB, all rewarded, covering periods `from` .. `p` (by default
 * `p` alone: built on `p − 1` being the last reported period).
 */
function reportOf(p: bigint, epoch: bigint, n: number, from = p, topN = n): BuiltReport {
  return buildReport(
    ledgerFrom(
      p,
      Array.from({ length: n }, (_, i) => [nodeId(i), BigInt(i + 1) * GB] as const),
    ),
    { epoch, topN, fromPeriod: from },
  );
}

async function registerNodes(sys: RewardsSystem, n: number): Promise<Address[]> {
  const payouts: Address[] = [];
  for (let i = 0; i < n; i++) {
    const payout = hre.ethers.getAddress(hre.ethers.zeroPadValue(hre.ethers.toBeHex(0xa000 + i), 20)) as Address;
    await sys.registry.setNode(nodeId(i), payout, 1, true);
    payouts.push(payout);
  }
  return payouts;
}

async function post(sys: RewardsSystem, c: TestCommittee, report: PeriodReportMessage, who: number[]) {
  return sys.pool.submitReport(report, await signQuorum(sys, c, report, who));
}

describe("MiningPool", () => {
  async function withCommittee() {
    const sys = await rewardsSystem();
    const c = await electCommittee(sys, 0n, 7);
    return { sys, c };
  }

  describe("deployment and funding", () => {
    it("holds the 296 M Mining bucket after pullAllocation, once", async () => {
      const { sys } = await loadFixture(withCommittee);
      const pool = await sys.pool.getAddress();
      expect(await sys.token.balanceOf(pool)).to.equal(HMS(296_000_000));
      expect(await sys.pool.totalFunded()).to.equal(HMS(296_000_000));
      const [, , reserve] = await sys.pool.state();
      expect(reserve).to.equal(HMS(296_000_000));
      // A second pull counts nothing (the bucket is empty), and emits nothing.
      await expect(sys.pool.pullAllocation()).to.not.emit(sys.pool, "AllocationPulled");
      expect(await sys.pool.totalFunded()).to.equal(HMS(296_000_000));
    });

    it("derives E0 = pool / 2H and a schedule that never exceeds the pool", async () => {
      const { sys } = await loadFixture(withCommittee);
      expect(await sys.pool.initialEmission()).to.equal(E0);
      expect(E0 / 10n ** 15n).to.equal(703_957n); // ≈ 703.957 HMS per 10-minute period
      const total = await sys.pool.scheduleTotal();
      expect(total).to.be.at.most(HMS(296_000_000));
      expect(HMS(296_000_000) - total).to.be.below(100n * HALVING);
      expect(await sys.pool.cumulativeEmission(2n ** 63n)).to.equal(total);
      expect(await sys.pool.emissionOf(0n)).to.equal(E0);
      expect(await sys.pool.emissionOf(HALVING - 1n)).to.equal(E0);
      expect(await sys.pool.emissionOf(HALVING)).to.equal(E0 / 2n);
      expect(await sys.pool.emissionOf(3n * HALVING + 5n)).to.equal(E0 / 8n);
      expect(await sys.pool.cumulativeEmission(HALVING + 10n)).to.equal(HALVING * E0 + 10n * (E0 / 2n));
      expect(await sys.pool.genesis()).to.be.at.least(BigInt(await sys.allocation.tge()));
      expect(await sys.pool.currentPeriod()).to.equal(0n);
    });

    it("rejects zero addresses and out-of-bounds constructor parameters", async () => {
      const { sys } = await loadFixture(withCommittee);
      const f = new MiningPool__factory(sys.deployer);
      const args = [sys.token, sys.committee, sys.registry, sys.allocation, sys.deployer.address] as const;
      const zero = hre.ethers.ZeroAddress;
      await expect(f.deploy(zero, args[1], args[2], args[3], args[4], POOL_PARAMS)).to.be.revertedWithCustomError(
        f,
        "ZeroAddress",
      );
      await expect(f.deploy(args[0], args[1], args[2], args[3], zero, POOL_PARAMS)).to.be.revertedWithCustomError(
        f,
        "ZeroAddress",
      );
      await expect(f.deploy(...args, { ...POOL_PARAMS, periodLength: 59 }))
        .to.be.revertedWithCustomError(f, "ParameterOutOfBounds")
        .withArgs("periodLength", 59, 60, 86400);
      await expect(f.deploy(...args, { ...POOL_PARAMS, halvingInterval: 0 }))
        .to.be.revertedWithCustomError(f, "ParameterOutOfBounds")
        .withArgs("halvingInterval", 0, 1, 2n ** 32n - 1n);
      await expect(f.deploy(...args, { ...POOL_PARAMS, bookkeeperShareBps: 3001 }))
        .to.be.revertedWithCustomError(f, "ParameterOutOfBounds")
        .withArgs("bookkeeperShareBps", 3001, 0, 3000);
      await expect(f.deploy(...args, { ...POOL_PARAMS, claimWindow: 3600 }))
        .to.be.revertedWithCustomError(f, "ParameterOutOfBounds")
        .withArgs("claimWindow", 3600, 30n * DAY, 3650n * DAY);
      await expect(f.deploy(...args, { ...POOL_PARAMS, electionGrace: Number(DAY) + 1 }))
        .to.be.revertedWithCustomError(f, "ParameterOutOfBounds")
        .withArgs("electionGrace", DAY + 1n, 0, DAY);
      await expect(f.deploy(...args, { ...POOL_PARAMS, initialEmission: 2n ** 96n - 1n }))
        .to.be.revertedWithCustomError(f, "ParameterOutOfBounds")
        .withArgs("scheduleTotal", anyValue, 1, 2n ** 96n - 1n);
    });

    it("pullAllocation needs the pool to be the Mining beneficiary; fund counts slashed stake", async () => {
      const { sys } = await loadFixture(withCommittee);
      const other = await deployPool(sys, {}, sys.allocation);
      await expect(other.pullAllocation())
        .to.be.revertedWithCustomError(other, "NotMiningBeneficiary")
        .withArgs(await sys.pool.getAddress());
      const none = await deployPool(sys);
      await expect(none.pullAllocation())
        .to.be.revertedWithCustomError(none, "NotMiningBeneficiary")
        .withArgs(hre.ethers.ZeroAddress);

      // fund(): IDO beneficiary stands in for BookkeeperStaking returning slashed stake.
      await sys.allocation.release(0);
      const funder = sys.ido;
      await sys.token.connect(funder).approve(sys.pool, HMS(1_000));
      await expect(sys.pool.connect(funder).fund(0)).to.be.revertedWithCustomError(sys.pool, "ZeroAmount");
      await expect(sys.pool.connect(funder).fund(HMS(1_000)))
        .to.emit(sys.pool, "Funded")
        .withArgs(funder.address, HMS(1_000), HMS(296_001_000));
      expect(await sys.pool.totalFunded()).to.equal(HMS(296_001_000));
    });
  });

  describe("period reports", () => {
    it("accepts more than 2/3 of the committee, stores the terms and releases the period's emission", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const built = reportOf(0n, 0n, 3);
      await endOfPeriod(sys.pool, 0n);
      const q = await signQuorum(sys, c, built.report, first(5));
      const tx = await sys.pool.submitReport(built.report, q);
      const share = ((E0 + DUST) * 500n) / 10_000n;
      await expect(tx).to.emit(sys.pool, "PeriodReported");
      expect(DUST).to.be.below(E0);
      const p = await period(sys, 0n);
      expect(p.epoch).to.equal(0n);
      expect(p.terms.rewardsRoot).to.equal(built.report.rewardsRoot);
      expect(p.terms.totalTraffic).to.equal(6n * GB);
      expect(p.terms.nodeCount).to.equal(3);
      expect(p.terms.nodeEmission).to.equal(E0 + DUST - share);
      expect(p.recycled).to.equal(DUST);
      expect(p.attestation.bookkeeperShare).to.equal(share);
      expect(p.attestation.signers).to.equal(0b11111n);
      expect(p.attestation.carryRoot).to.equal(built.report.carryRoot);
      expect(p.attestation.dataCid).to.equal(built.report.dataCid);
      expect(p.emissionFrom).to.equal(0n);
      const block = await hre.ethers.provider.getBlock(tx.blockNumber!);
      expect(p.terms.claimDeadline).to.equal(block!.timestamp + POOL_PARAMS.claimWindow);
      const [next, cursor, reserve] = await sys.pool.state();
      expect([next, cursor, reserve]).to.deep.equal([1n, 1n, HMS(296_000_000) - E0 - DUST]);
      expect(await sys.pool.totalReleased()).to.equal(E0 + DUST);
      const domain = domainOf("miningPool", sys.chainId, (await sys.pool.getAddress()) as Address);
      expect(await sys.pool.reportDigest(built.report)).to.equal(typedDigest(domain, "PeriodReport", built.report));
    });

    it("rejects exactly 2/3 and accepts one more (committees of 6 and 9)", async () => {
      const { sys } = await loadFixture(withCommittee);
      const six = await electCommittee(sys, 0n, 6);
      const built = reportOf(0n, 0n, 2);
      await endOfPeriod(sys.pool, 0n);
      await expect(post(sys, six, built.report, first(4)))
        .to.be.revertedWithCustomError(sys.pool, "QuorumNotReached")
        .withArgs(4, 5);
      const nine = await electCommittee(sys, 0n, 9, 10);
      await expect(post(sys, nine, built.report, first(6)))
        .to.be.revertedWithCustomError(sys.pool, "QuorumNotReached")
        .withArgs(6, 7);
      await expect(post(sys, nine, built.report, [0, 2, 3, 4, 6, 7, 8])).to.emit(sys.pool, "PeriodReported");
    });

    it("rejects stale, repeated and unfinished periods", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const r0 = reportOf(0n, 0n, 2).report;
      await expect(post(sys, c, r0, first(5)))
        .to.be.revertedWithCustomError(sys.pool, "PeriodNotEnded")
        .withArgs(0, (await sys.pool.periodBounds(0))[1]);
      await endOfPeriod(sys.pool, 3n);
      const r3 = reportOf(3n, 0n, 2, 0n).report;
      const q3 = await signQuorum(sys, c, r3, first(5));
      await sys.pool.submitReport(r3, q3);
      // The same report again, and an earlier period.
      await expect(sys.pool.submitReport(r3, q3)).to.be.revertedWithCustomError(sys.pool, "StalePeriod").withArgs(3, 4);
      await expect(post(sys, c, r0, first(5)))
        .to.be.revertedWithCustomError(sys.pool, "StalePeriod")
        .withArgs(0, 4);
      const r9 = reportOf(9n, 0n, 2, 4n).report;
      await expect(post(sys, c, r9, first(5)))
        .to.be.revertedWithCustomError(sys.pool, "PeriodNotEnded")
        .withArgs(9, (await sys.pool.periodBounds(9))[1]);
      await expect(sys.pool.pendingEmission(2)).to.be.revertedWithCustomError(sys.pool, "StalePeriod").withArgs(2, 4);
    });

    it("closes the epoch-boundary race: of two reports built on the same base, only the first lands", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 0n);
      await post(sys, c, reportOf(0n, 0n, 2).report, first(5)); // L = 0
      const next = await electCommittee(sys, 1n, 4, 20);
      const epoch1 = await sys.committee.epochStart(1);
      await time.increaseTo(epoch1 + 100n); // within the previous committee's grace (1 h)
      const q = (await sys.pool.currentPeriod()) - 1n; // the last ended period
      const p = q - 1n;
      expect(p).to.be.above(1n);
      // The previous committee's late report of p covers (0, p]; the new committee's first report of q, built on
      // the same last reported period, covers (0, q] — the traffic of (0, p] in both.
      const late = reportOf(p, 0n, 3, 1n).report;
      const firstOfNew = reportOf(q, 1n, 4, 1n).report;
      const lateQuorum = await signQuorum(sys, c, late, first(5));
      const newQuorum = await signQuorum(sys, next, firstOfNew, first(3));
      // Each would land on its own (both epochs may sign now)…
      await sys.pool.submitReport.staticCall(firstOfNew, newQuorum);
      await sys.pool.submitReport.staticCall(late, lateQuorum);
      // …but once one lands, the other no longer builds on the chain's state.
      await expect(sys.pool.submitReport(late, lateQuorum))
        .to.emit(sys.pool, "PeriodReported")
        .withArgs(p, 0n, anyValue, anyValue, 1n, anyValue);
      await expect(sys.pool.submitReport(firstOfNew, newQuorum))
        .to.be.revertedWithCustomError(sys.pool, "ReportBaseMismatch")
        .withArgs(1n, p + 1n);
      expect((await sys.pool.periodRecord(q))[0]).to.be.false;
      // The new committee rebuilds on p: its report of q now covers (p, q] only, and lands.
      const rebuilt = reportOf(q, 1n, 4, p + 1n).report;
      await expect(post(sys, next, rebuilt, first(3))).to.emit(sys.pool, "PeriodReported");
      expect((await sys.pool.state())[0]).to.equal(q + 1n);
    });

    it("rejects a report whose base is ahead of or behind the first unreported period", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 3n);
      // Before any report the base is period 0.
      await expect(post(sys, c, reportOf(1n, 0n, 2, 1n).report, first(5)))
        .to.be.revertedWithCustomError(sys.pool, "ReportBaseMismatch")
        .withArgs(1n, 0n);
      await post(sys, c, reportOf(1n, 0n, 2, 0n).report, first(5)); // covers 0..1
      // Behind: built on nothing (overlaps 0..1); built on 0 (overlaps 1). Ahead: skips unreported period 2.
      for (const from of [0n, 1n, 3n]) {
        await expect(post(sys, c, reportOf(3n, 0n, 2, from).report, first(5)))
          .to.be.revertedWithCustomError(sys.pool, "ReportBaseMismatch")
          .withArgs(from, 2n);
      }
      // The base is signed: a relayer cannot rebase a quorum-signed report.
      const r = reportOf(3n, 0n, 2, 1n).report;
      const q = await signQuorum(sys, c, r, first(5));
      await expect(sys.pool.submitReport({ ...r, fromPeriod: 2n }, q)).to.be.revertedWithCustomError(
        sys.pool,
        "InvalidSignature",
      );
      await expect(post(sys, c, reportOf(3n, 0n, 2, 2n).report, first(5))).to.emit(sys.pool, "PeriodReported");
      expect((await sys.pool.state())[0]).to.equal(4n);
    });

    it("rejects a report covering nothing (fromPeriod after period)", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 2n);
      const r = reportOf(2n, 0n, 2, 0n).report;
      for (const from of [3n, 2n ** 64n - 1n]) {
        await expect(post(sys, c, { ...r, fromPeriod: from }, first(5)))
          .to.be.revertedWithCustomError(sys.pool, "EmptyReportRange")
          .withArgs(from, 2n);
      }
      await post(sys, c, r, first(5));
      // Below the next period the report is stale first, whatever its base.
      await expect(post(sys, c, { ...reportOf(1n, 0n, 2, 1n).report, fromPeriod: 3n }, first(5)))
        .to.be.revertedWithCustomError(sys.pool, "StalePeriod")
        .withArgs(1n, 3n);
      // A report of one period (fromPeriod = period) is the smallest range.
      await endOfPeriod(sys.pool, 3n);
      await expect(post(sys, c, reportOf(3n, 0n, 2, 3n).report, first(5))).to.emit(sys.pool, "PeriodReported");
    });

    it("rejects duplicate, foreign and miscounted signers", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const r = reportOf(0n, 0n, 2).report;
      await endOfPeriod(sys.pool, 0n);
      const good = await signQuorum(sys, c, r, first(5));
      // Member 0's signature presented again as member 1's.
      const dup = { ...good, signatures: [good.signatures[0], good.signatures[0], ...good.signatures.slice(2)] };
      await expect(sys.pool.submitReport(r, dup))
        .to.be.revertedWithCustomError(sys.pool, "InvalidSignature")
        .withArgs(1, c.keys[1], c.keys[0]);
      // A stranger signs in place of member 4.
      const stranger = committeeKey(99);
      const pool = (await sys.pool.getAddress()) as Address;
      const foreign = {
        ...good,
        signatures: [...good.signatures.slice(0, 4), toCompact(await signReport(stranger, sys.chainId, pool, r))],
      };
      await expect(sys.pool.submitReport(r, foreign))
        .to.be.revertedWithCustomError(sys.pool, "InvalidSignature")
        .withArgs(4, c.keys[4], stranger.address);
      // The stranger's key slipped into the key list: the commitment no longer matches.
      const keys = [...c.keys];
      keys[4] = stranger.address;
      await expect(sys.pool.submitReport(r, { ...foreign, keys })).to.be.revertedWithCustomError(
        sys.pool,
        "CommitteeKeysMismatch",
      );
      // Bitmap and signatures disagree; bits beyond the committee.
      await expect(sys.pool.submitReport(r, { ...good, signers: 0b111111n }))
        .to.be.revertedWithCustomError(sys.pool, "SignatureCountMismatch")
        .withArgs(6, 5);
      await expect(sys.pool.submitReport(r, { ...good, signers: 0b10001111n }))
        .to.be.revertedWithCustomError(sys.pool, "SignerOutOfRange")
        .withArgs(0b10001111n, 7);
      // quorumArgs refuses the same key twice and keys outside the committee.
      expect(() =>
        quorumArgs(c.keys, [
          { key: c.keys[0], signature: "0x" as Hex },
          { key: c.keys[0], signature: "0x" as Hex },
        ]),
      ).to.throw();
    });

    it("rejects a malleable (high-s) signature", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const r = reportOf(0n, 0n, 2).report;
      await endOfPeriod(sys.pool, 0n);
      const pool = (await sys.pool.getAddress()) as Address;
      const sig = hexToSignature(await signReport(c.accounts[0], sys.chainId, pool, r));
      const highS = SECP256K1_N - BigInt(sig.s);
      const flippedParity = sig.yParity === 0 ? 1n : 0n;
      // The twin (r, n − s) has s ≥ 2^255 almost surely: EIP-2098 cannot even carry it (bit 255 is the parity),
      // so it recovers someone else.
      expect(highS >> 255n).to.equal(1n);
      const twin = { r: sig.r, vs: toHex((flippedParity << 255n) | (highS & ((1n << 255n) - 1n)), { size: 32 }) };
      const good = await signQuorum(sys, c, r, first(5));
      await expect(sys.pool.submitReport(r, { ...good, signatures: [twin, ...good.signatures.slice(1)] }))
        .to.be.revertedWithCustomError(sys.pool, "InvalidSignature")
        .withArgs(0, c.keys[0], anyValue);
      // An s in the upper half that does fit (n/2, 2^255) is refused by OZ ECDSA before recovery.
      const upper = { r: sig.r, vs: toHex(SECP256K1_N / 2n + 1n, { size: 32 }) };
      await expect(sys.pool.submitReport(r, { ...good, signatures: [upper, ...good.signatures.slice(1)] }))
        .to.be.revertedWithCustomError(sys.pool, "InvalidSignature")
        .withArgs(0, c.keys[0], hre.ethers.ZeroAddress);
    });

    it("rejects reports signed for another chain or another pool", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const r = reportOf(0n, 0n, 2).report;
      await endOfPeriod(sys.pool, 0n);
      const pool = (await sys.pool.getAddress()) as Address;
      const otherChain = quorumArgs(
        c.keys,
        await Promise.all(
          first(5).map(async (i) => ({ key: c.keys[i], signature: await signReport(c.accounts[i], 1, pool, r) })),
        ),
      );
      await expect(sys.pool.submitReport(r, otherChain)).to.be.revertedWithCustomError(sys.pool, "InvalidSignature");
      const otherPool = await signQuorum(sys, c, r, first(5), sys.deployer.address as Address);
      await expect(sys.pool.submitReport(r, otherPool)).to.be.revertedWithCustomError(sys.pool, "InvalidSignature");
    });

    it("accepts the last elected committee, and the previous one only within the election grace", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const next = await electCommittee(sys, 1n, 4, 20);
      const epoch1 = await sys.committee.epochStart(1);
      await time.increaseTo(epoch1 + 100n);
      // Epoch 0's committee, 100 s into epoch 1 (grace 1 h): accepted.
      await expect(post(sys, c, reportOf(0n, 0n, 2).report, first(5))).to.emit(sys.pool, "PeriodReported");
      // A report claiming epoch 1 but signed by epoch 0's keys.
      const r1 = reportOf(1n, 1n, 2).report;
      await expect(sys.pool.submitReport(r1, await signQuorum(sys, c, r1, first(5))))
        .to.be.revertedWithCustomError(sys.pool, "CommitteeKeysMismatch")
        .withArgs(1, anyValue, anyValue);
      const mixed = await signQuorum(sys, c, r1, first(3));
      await expect(sys.pool.submitReport(r1, { ...mixed, keys: next.keys }))
        .to.be.revertedWithCustomError(sys.pool, "InvalidSignature")
        .withArgs(0, next.keys[0], c.keys[0]);
      // After the grace, epoch 0 is out.
      await time.increaseTo(epoch1 + 3600n);
      const late = reportOf(1n, 0n, 2).report;
      await expect(post(sys, c, late, first(5)))
        .to.be.revertedWithCustomError(sys.pool, "EpochNotAccepted")
        .withArgs(0, 1, epoch1 + 3600n);
      await expect(post(sys, next, r1, first(3))).to.emit(sys.pool, "PeriodReported");
      // Epochs never elected, or older than the previous one, never sign.
      const r2 = reportOf(2n, 5n, 2).report;
      await endOfPeriod(sys.pool, 2n);
      await expect(post(sys, next, r2, first(3)))
        .to.be.revertedWithCustomError(sys.pool, "EpochNotAccepted")
        .withArgs(5, 1, 0);
    });

    it("keeps the outgoing committee's grace when epochs were skipped or the election came late", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      // No election for epochs 1 and 2; epoch 3's comes two hours after its start.
      const epoch3 = await sys.committee.epochStart(3);
      await time.increaseTo(epoch3 + 7200n);
      const next = await electCommittee(sys, 3n, 4, 20);
      const electedAt = BigInt(await time.latest());
      // The committee that actually served until now is epoch 0's (not "epoch 2"): it may still land its report
      // during the grace, counted from the election moment (not from the epoch start, long past).
      await expect(post(sys, c, reportOf(0n, 0n, 2).report, first(5))).to.emit(sys.pool, "PeriodReported");
      await time.increaseTo(electedAt + 3600n);
      await expect(post(sys, c, reportOf(1n, 0n, 2).report, first(5)))
        .to.be.revertedWithCustomError(sys.pool, "EpochNotAccepted")
        .withArgs(0, 3, electedAt + 3600n);
      await expect(post(sys, next, reportOf(1n, 3n, 2).report, first(3))).to.emit(sys.pool, "PeriodReported");
    });

    it("rejects a removed (slashed) member's signature and an epoch without committee", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const r = reportOf(0n, 0n, 2).report;
      await endOfPeriod(sys.pool, 0n);
      await sys.committee.removeMember(0, 2);
      const q = await signQuorum(sys, c, r, first(5));
      await expect(sys.pool.submitReport(r, q)).to.be.revertedWithCustomError(sys.pool, "CommitteeKeysMismatch");
      const keys = [...c.keys];
      keys[2] = hre.ethers.ZeroAddress as Address;
      await expect(sys.pool.submitReport(r, { ...q, keys }))
        .to.be.revertedWithCustomError(sys.pool, "RemovedSigner")
        .withArgs(2);
      // The other five still make the quorum of 5 (quorum never drops with removals).
      const ok = await signQuorum(sys, { ...c, keys }, r, [0, 1, 3, 4, 5]);
      await expect(sys.pool.submitReport(r, ok)).to.emit(sys.pool, "PeriodReported");
      // Epoch 1 "elected" with nobody.
      await sys.committee.setCommittee(1, [], []);
      const r1 = reportOf(1n, 1n, 1).report;
      await endOfPeriod(sys.pool, 1n);
      await expect(sys.pool.submitReport(r1, { keys: [], signers: 0n, signatures: [] }))
        .to.be.revertedWithCustomError(sys.pool, "NoCommittee")
        .withArgs(1);
    });

    it("rejects inconsistent empty/non-empty reports", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 0n);
      const r = reportOf(0n, 0n, 2).report;
      for (const bad of [
        { ...r, totalTraffic: 0n },
        { ...r, nodeCount: 0 },
        { ...r, rewardsRoot: ZERO_HASH },
        { ...r, totalTraffic: 0n, nodeCount: 0 },
      ]) {
        await expect(post(sys, c, bad, first(5)))
          .to.be.revertedWithCustomError(sys.pool, "MalformedReport")
          .withArgs(bad.totalTraffic, bad.nodeCount, bad.rewardsRoot);
      }
    });

    it("rolls the emission of empty and unreported periods forward, in O(1)", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 4n);
      // Period 1 is empty: it releases nothing and stores a record.
      const empty = buildReport(ledgerFrom(1n, []), { epoch: 0n, topN: 10, fromPeriod: 0n }).report;
      expect(empty.rewardsRoot).to.equal(ZERO_HASH);
      await expect(post(sys, c, empty, first(5))).to.emit(sys.pool, "PeriodReported");
      const p1 = await period(sys, 1n);
      expect(p1.terms.nodeEmission).to.equal(0n);
      expect(p1.attestation.bookkeeperShare).to.equal(0n);
      expect((await sys.pool.state())[1]).to.equal(0n); // emission cursor unchanged
      const [scheduled, recycled] = await sys.pool.pendingEmission(4n);
      expect(scheduled).to.equal(5n * E0);
      expect(recycled).to.equal(DUST);
      // Periods 0, 2, 3 never reported: period 4's report releases 0..4.
      await post(sys, c, reportOf(4n, 0n, 3, 2n).report, first(5));
      const p4 = await period(sys, 4n);
      expect(p4.emissionFrom).to.equal(0n);
      expect(p4.terms.nodeEmission + p4.attestation.bookkeeperShare).to.equal(5n * E0 + DUST);
      expect(await sys.pool.state()).to.deep.equal([
        5n,
        5n,
        HMS(296_000_000) - 5n * E0 - DUST,
        500n,
        365n * DAY,
        3600n,
        SIGNATURE_WINDOW,
      ]);
    });

    it("rolls forward across halvings with the closed form (H = 4)", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const small = await deployPool(sys, { halvingInterval: 4, initialEmission: HMS(1_000), bookkeeperShareBps: 0 });
      const e0 = HMS(1_000);
      const total = 4n * (2n * e0 - BigInt(e0.toString(2).replace(/0/g, "").length));
      expect(await small.scheduleTotal()).to.equal(total);
      await sys.allocation.release(0);
      await sys.token.connect(sys.ido).approve(small, total);
      await small.connect(sys.ido).fund(total); // exactly the schedule: nothing to recycle
      await endOfPeriod(small, 9n);
      const r = reportOf(9n, 0n, 2, 0n).report;
      const q = await signQuorum(sys, c, r, first(5), (await small.getAddress()) as Address);
      // Periods 0..9: 4 × E0 + 4 × E0/2 + 2 × E0/4 = 6,500 HMS.
      await expect(small.submitReport(r, q)).to.emit(small, "PeriodReported");
      expect(await small.totalReleased()).to.equal(HMS(6_500));
    });

    it("refuses to release more than the reserve (allocation not pulled yet)", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const unfunded = await deployPool(sys);
      await endOfPeriod(unfunded, 0n);
      const r = reportOf(0n, 0n, 2).report;
      const q = await signQuorum(sys, c, r, first(5), (await unfunded.getAddress()) as Address);
      await expect(unfunded.submitReport(r, q))
        .to.be.revertedWithCustomError(unfunded, "InsufficientReserve")
        .withArgs(E0, 0);
    });

    it("recycles funds beyond the schedule, at most one scheduled emission per report", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await sys.allocation.release(0);
      await sys.token.connect(sys.ido).approve(sys.pool, HMS(1_000));
      await sys.pool.connect(sys.ido).fund(HMS(1_000));
      await endOfPeriod(sys.pool, 1n);
      const [scheduled, recycled, share, nodes] = await sys.pool.pendingEmission(0);
      expect(scheduled).to.equal(E0);
      // The schedule is backed by the allocation; its rounding remainder and the 1,000 HMS are the excess.
      expect(recycled).to.equal(E0);
      expect(share + nodes).to.equal(2n * E0);
      expect(DUST + HMS(1_000)).to.be.above(E0);
      await post(sys, c, reportOf(0n, 0n, 2).report, first(5));
      const p0 = await period(sys, 0n);
      expect(p0.recycled).to.equal(E0);
      await post(sys, c, reportOf(1n, 0n, 2).report, first(5));
      const p1 = await period(sys, 1n);
      const excess = HMS(296_001_000) - (await sys.pool.scheduleTotal()) - E0;
      expect(p1.recycled).to.equal(excess < E0 ? excess : E0);
    });
  });

  describe("claims", () => {
    it("reproduces the white paper: 100,000 HMS for the top 100, 100 GB of 1,000 GB earns 10,000 HMS", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const paper = await deployPool(sys, { initialEmission: HMS(100_000), bookkeeperShareBps: 0 });
      await sys.allocation.release(0);
      await sys.token.connect(sys.ido).approve(paper, HMS(100_000_000));
      await paper.connect(sys.ido).fund(HMS(100_000_000));
      // Node A: 100 GB; 99 others share 900 GB (unevenly, integral GB).
      const entries: [Hex, bigint][] = [[nodeId(0), 100n * GB]];
      let rest = 900n;
      for (let i = 1; i < 100; i++) {
        const gb = i === 99 ? rest : BigInt(1 + (i % 17));
        entries.push([nodeId(i), gb * GB]);
        rest -= gb;
      }
      expect(rest).to.equal(0n);
      const built = buildReport(ledgerFrom(0n, entries), { epoch: 0n, topN: 100, fromPeriod: 0n });
      expect(built.report.totalTraffic).to.equal(1_000n * GB);
      expect(built.report.nodeCount).to.equal(100);
      const payoutA = hre.ethers.Wallet.createRandom().address;
      await sys.registry.setNode(nodeId(0), payoutA, 2, true);
      await endOfPeriod(paper, 0n);
      const poolAddress = (await paper.getAddress()) as Address;
      await paper.submitReport(built.report, await signQuorum(sys, c, built.report, first(5), poolAddress));
      const client = await hre.viem.getPublicClient();
      const p = await readPeriod(client, poolAddress, 0n);
      expect(p.terms.nodeEmission).to.equal(HMS(100_000));
      const a = built.claims.find((x) => x.nodeId === nodeId(0))!;
      expect(claimAmount(p.terms.nodeEmission, a.traffic, p.terms.totalTraffic)).to.equal(HMS(10_000));
      await expect(paper.connect(sys.outsider).claim(...claimArgs(p, a)))
        .to.emit(paper, "Claimed")
        .withArgs(0, nodeId(0), payoutA, a.index, 100n * GB, HMS(10_000));
      expect(await sys.token.balanceOf(payoutA)).to.equal(HMS(10_000));
    });

    it("pays the payout address whoever claims; double claims, bad proofs and wrong terms revert", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const payouts = await registerNodes(sys, 5);
      const built = reportOf(0n, 0n, 5);
      await endOfPeriod(sys.pool, 0n);
      await post(sys, c, built.report, first(5));
      const p = await period(sys, 0n);
      const claim = built.claims[1]; // the second-ranked node
      const expected = claimAmount(p.terms.nodeEmission, claim.traffic, p.terms.totalTraffic);
      const node = Number(BigInt(claim.traffic / GB)) - 1;
      const [previewAmount, previewPayout] = await sys.pool.previewClaim(...claimArgs(p, claim));
      expect([previewAmount, previewPayout]).to.deep.equal([expected, payouts[node]]);
      await expect(sys.pool.connect(sys.outsider).claim(...claimArgs(p, claim))).to.changeTokenBalances(
        sys.token,
        [payouts[node], sys.outsider.address, await sys.pool.getAddress()],
        [expected, 0n, -expected],
      );
      expect(await sys.pool.isClaimed(0, claim.index)).to.be.true;
      expect(await sys.pool.isClaimed(0, 0)).to.be.false;
      expect((await sys.pool.periodRecord(0))[2]).to.equal(expected);
      await expect(sys.pool.claim(...claimArgs(p, claim)))
        .to.be.revertedWithCustomError(sys.pool, "AlreadyClaimed")
        .withArgs(0, claim.index);
      await expect(sys.pool.previewClaim(...claimArgs(p, claim))).to.be.revertedWithCustomError(
        sys.pool,
        "AlreadyClaimed",
      );

      const other = built.claims[2];
      await expect(sys.pool.claim(...claimArgs(p, { ...other, traffic: other.traffic + 1n })))
        .to.be.revertedWithCustomError(sys.pool, "InvalidProof")
        .withArgs(0, other.index, other.nodeId);
      await expect(sys.pool.claim(...claimArgs(p, { ...other, proof: built.claims[3].proof })))
        .to.be.revertedWithCustomError(sys.pool, "InvalidProof")
        .withArgs(0, other.index, other.nodeId);
      await sys.registry.setNode(nodeId(77), sys.outsider.address, 0, true);
      await expect(sys.pool.claim(...claimArgs(p, { ...other, nodeId: nodeId(77) })))
        .to.be.revertedWithCustomError(sys.pool, "InvalidProof")
        .withArgs(0, other.index, nodeId(77));
      await expect(sys.pool.claim(...claimArgs(p, { ...other, index: 5 })))
        .to.be.revertedWithCustomError(sys.pool, "LeafIndexOutOfRange")
        .withArgs(5, 5);
      const forged = { ...p, terms: { ...p.terms, nodeEmission: p.terms.nodeEmission * 2n } };
      await expect(sys.pool.claim(...claimArgs(forged, other)))
        .to.be.revertedWithCustomError(sys.pool, "PeriodTermsMismatch")
        .withArgs(0);
      await expect(sys.pool.claim(...claimArgs({ ...p, period: 1n }, other)))
        .to.be.revertedWithCustomError(sys.pool, "PeriodNotReported")
        .withArgs(1);
      // A node without payout address, and a node the registry does not know.
      await sys.registry.setNode(other.nodeId, hre.ethers.ZeroAddress, 1, true);
      await expect(sys.pool.claim(...claimArgs(p, other)))
        .to.be.revertedWithCustomError(sys.pool, "NoPayoutAddress")
        .withArgs(other.nodeId);
      await sys.registry.removeNode(other.nodeId);
      await expect(sys.pool.claim(...claimArgs(p, other)))
        .to.be.revertedWithCustomError(sys.registry, "UnknownNode")
        .withArgs(other.nodeId);
    });

    it("the sum of all claims of a period never exceeds its node emission", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await registerNodes(sys, 7);
      const built = reportOf(0n, 0n, 7);
      await endOfPeriod(sys.pool, 0n);
      await post(sys, c, built.report, first(5));
      const p = await period(sys, 0n);
      for (const claim of built.claims) await sys.pool.claim(...claimArgs(p, claim));
      const [, , claimed] = await sys.pool.periodRecord(0);
      expect(claimed).to.be.at.most(p.terms.nodeEmission);
      expect(p.terms.nodeEmission - claimed).to.be.below(7n);
    });

    it("caps an inconsistent report: leaves summing above totalTraffic cannot overclaim", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await registerNodes(sys, 2);
      // The committee signs a tree whose leaves sum to 3 GB but claims a total of 2 GB.
      const leaves = [rewardLeaf(0, nodeId(0), 2n * GB), rewardLeaf(1, nodeId(1), GB)];
      const tree = new MerkleTree(leaves);
      const r = { ...reportOf(0n, 0n, 2).report, rewardsRoot: tree.root, totalTraffic: 2n * GB };
      await endOfPeriod(sys.pool, 0n);
      await post(sys, c, r, first(5));
      const p = await period(sys, 0n);
      await sys.pool.claim(...claimArgs(p, { index: 0, nodeId: nodeId(0), traffic: 2n * GB, proof: tree.proof(0) }));
      await expect(
        sys.pool.claim(...claimArgs(p, { index: 1, nodeId: nodeId(1), traffic: GB, proof: tree.proof(1) })),
      ).to.be.revertedWithCustomError(sys.pool, "PeriodOverclaimed");
    });

    it("claims many periods for one node in one transfer", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const payouts = await registerNodes(sys, 3);
      const periods: ReportedPeriod[] = [];
      const builtAll: BuiltReport[] = [];
      for (const p of [0n, 1n, 2n]) {
        const built = reportOf(p, 0n, 3);
        await endOfPeriod(sys.pool, p);
        await post(sys, c, built.report, first(5));
        periods.push(await period(sys, p));
        builtAll.push(built);
      }
      const node = nodeId(2); // the top node every period (3 GB)
      const items = builtAll.map((b, k) =>
        batchClaim(
          periods[k],
          b.claims.find((x) => x.nodeId === node)!,
        ),
      );
      const expected = periods.reduce(
        (sum, p) => sum + claimAmount(p.terms.nodeEmission, 3n * GB, p.terms.totalTraffic),
        0n,
      );
      const tx = sys.pool.connect(sys.outsider).claimBatch(node, items);
      await expect(tx).to.changeTokenBalance(sys.token, payouts[2], expected);
      await expect(tx)
        .to.emit(sys.pool, "Claimed")
        .withArgs(2, node, payouts[2], 0, 3n * GB, anyValue);
      await expect(sys.pool.claimBatch(node, [items[0]]))
        .to.be.revertedWithCustomError(sys.pool, "AlreadyClaimed")
        .withArgs(0, 0);
      await expect(sys.pool.claimBatch(node, []))
        .to.be.revertedWithCustomError(sys.pool, "BadBatchSize")
        .withArgs(0, 128);
      // Another node's leaf cannot be slipped into the batch.
      const otherLeaf = batchClaim(
        periods[0],
        builtAll[0].claims.find((x) => x.nodeId === nodeId(0))!,
      );
      await expect(sys.pool.claimBatch(node, [otherLeaf])).to.be.revertedWithCustomError(sys.pool, "InvalidProof");
    });

    it("closes claims after the window and returns what is unclaimed to the reserve", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await registerNodes(sys, 3);
      const built = reportOf(0n, 0n, 3);
      await endOfPeriod(sys.pool, 0n);
      await post(sys, c, built.report, first(5));
      const p = await period(sys, 0n);
      const paid = await sys.pool.claim.staticCall(...claimArgs(p, built.claims[0]));
      await sys.pool.claim(...claimArgs(p, built.claims[0]));
      await expect(sys.pool.reclaimExpired([0], [p.terms]))
        .to.be.revertedWithCustomError(sys.pool, "ClaimWindowOpen")
        .withArgs(0, p.terms.claimDeadline);
      await time.increaseTo(p.terms.claimDeadline);
      await expect(sys.pool.claim(...claimArgs(p, built.claims[1])))
        .to.be.revertedWithCustomError(sys.pool, "ClaimWindowClosed")
        .withArgs(0, p.terms.claimDeadline);
      const [, , reserveBefore] = await sys.pool.state();
      const unclaimed = p.terms.nodeEmission - paid;
      await expect(sys.pool.connect(sys.outsider).reclaimExpired([0], [p.terms]))
        .to.emit(sys.pool, "Reclaimed")
        .withArgs(0, unclaimed, reserveBefore + unclaimed);
      expect(await sys.pool.totalReturned()).to.equal(unclaimed);
      expect((await sys.pool.periodRecord(0))[2]).to.equal(p.terms.nodeEmission);
      await expect(sys.pool.reclaimExpired([0], [p.terms]))
        .to.be.revertedWithCustomError(sys.pool, "NothingToReclaim")
        .withArgs(0);
      await expect(sys.pool.reclaimExpired([0], [])).to.be.revertedWithCustomError(sys.pool, "BadBatchSize");
      await expect(sys.pool.reclaimExpired([1], [p.terms]))
        .to.be.revertedWithCustomError(sys.pool, "PeriodNotReported")
        .withArgs(1);
    });
  });

  describe("bookkeeper share", () => {
    it("credits the signers equally through the committee and records the others' missed duty", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 1n);
      await post(sys, c, reportOf(0n, 0n, 2).report, [0, 1, 2, 4, 6]);
      await post(sys, c, reportOf(1n, 0n, 2).report, first(6));
      const p0 = await period(sys, 0n);
      const p1 = await period(sys, 1n);
      const per0 = p0.attestation.bookkeeperShare / 5n;
      const per1 = p1.attestation.bookkeeperShare / 6n;
      const committeeAddress = await sys.committee.getAddress();
      // Settlement waits for the signature window of each period.
      await expect(sys.pool.settleBookkeepers([settlement(p0)]))
        .to.be.revertedWithCustomError(sys.pool, "SignatureWindowOpen")
        .withArgs(0, p0.attestation.signaturesUntil);
      await time.increase(SIGNATURE_WINDOW);
      const tx = sys.pool.connect(sys.outsider).settleBookkeepers([settlement(p0), settlement(p1)]);
      await expect(tx)
        .to.emit(sys.pool, "BookkeepersSettled")
        .withArgs(0, 0, per0, 5, 2, p0.attestation.bookkeeperShare - 5n * per0);
      await expect(tx)
        .to.emit(sys.pool, "BookkeepersSettled")
        .withArgs(1, 0, per1, 6, 1, p1.attestation.bookkeeperShare - 6n * per1);
      await expect(tx).to.changeTokenBalance(sys.token, committeeAddress, 4n * per0 + 4n * per1 + per0 + per1 + per1);
      expect(await sys.committee.credited(c.bookkeepers[0])).to.equal(per0 + per1);
      expect(await sys.committee.credited(c.bookkeepers[3])).to.equal(per1);
      expect(await sys.committee.credited(c.bookkeepers[5])).to.equal(per1);
      expect(await sys.committee.credited(c.bookkeepers[6])).to.equal(per0);
      expect(await sys.committee.missed(0, c.bookkeepers[3])).to.equal(1n);
      expect(await sys.committee.missed(0, c.bookkeepers[5])).to.equal(1n);
      expect(await sys.committee.missed(0, c.bookkeepers[6])).to.equal(1n);
      expect(await sys.committee.creditCalls()).to.equal(1n);
      expect(await sys.pool.isSettled(0)).to.be.true;
      await expect(sys.pool.settleBookkeepers([settlement(p1)]))
        .to.be.revertedWithCustomError(sys.pool, "AlreadySettled")
        .withArgs(1);
    });

    it("returns a removed signer's share to the reserve and rejects forged or mixed settlements", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 0n);
      await post(sys, c, reportOf(0n, 0n, 2).report, first(5));
      const p0 = await period(sys, 0n);
      await sys.committee.removeMember(0, 1); // slashed after signing
      await time.increase(SIGNATURE_WINDOW);
      const per = p0.attestation.bookkeeperShare / 5n;
      const [, , reserveBefore] = await sys.pool.state();
      const forged = { ...settlement(p0), attestation: { ...p0.attestation, signers: 0b1111111n } };
      await expect(sys.pool.settleBookkeepers([forged]))
        .to.be.revertedWithCustomError(sys.pool, "AttestationMismatch")
        .withArgs(0);
      await expect(sys.pool.settleBookkeepers([])).to.be.revertedWithCustomError(sys.pool, "BadBatchSize");
      const returned = p0.attestation.bookkeeperShare - 4n * per;
      await expect(sys.pool.settleBookkeepers([settlement(p0)]))
        .to.emit(sys.pool, "BookkeepersSettled")
        .withArgs(0, 0, per, 4, 2, returned);
      expect((await sys.pool.state())[2]).to.equal(reserveBefore + returned);
      expect(await sys.committee.credited(c.bookkeepers[1])).to.equal(0n);
      expect(await sys.committee.missed(0, c.bookkeepers[1])).to.equal(0n); // removed: not a missed duty

      // Two epochs in one batch.
      const next = await electCommittee(sys, 1n, 4, 30);
      await time.increaseTo((await sys.committee.epochStart(1)) + 1n);
      await post(sys, next, reportOf(1n, 1n, 2).report, first(3));
      await endOfPeriod(sys.pool, 2n);
      await post(sys, next, reportOf(2n, 1n, 2).report, first(3));
      const p1 = await period(sys, 1n);
      const p2 = await period(sys, 2n);
      await sys.committee.setCommittee(0, [], []); // committee 0 now reads empty
      await time.increase(SIGNATURE_WINDOW);
      await expect(sys.pool.settleBookkeepers([settlement(p1), { ...settlement(p2), attestation: p0.attestation }]))
        .to.be.revertedWithCustomError(sys.pool, "MixedEpochs")
        .withArgs(1, 0);
      await expect(sys.pool.settleBookkeepers([settlement(p1), settlement(p2)])).to.emit(
        sys.pool,
        "BookkeepersSettled",
      );
    });

    it("signers stripped from a report by a front-runner add their signatures back and are paid, never missed", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 0n);
      const built = reportOf(0n, 0n, 2);
      // All seven signed; a front-runner lands the report with a bare quorum (members 0..4).
      const all = await signQuorum(sys, c, built.report, first(7));
      await sys.pool.connect(sys.outsider).submitReport(built.report, await signQuorum(sys, c, built.report, first(5)));
      const p0 = await period(sys, 0n);
      expect(p0.attestation.signers).to.equal(0b11111n);
      expect(p0.attestation.fromPeriod).to.equal(0n);
      // Member 5 adds its own signature, then anyone adds 6's (and repeats 5's: skipped).
      const compact = (idx: number[]) => ({
        keys: all.keys,
        signers: idx.reduce((m, i) => m | (1n << BigInt(i)), 0n),
        signatures: idx.map((i) => all.signatures[i]),
      });
      await expect(sys.pool.addSignatures(0, p0.terms, p0.attestation, compact([5])))
        .to.emit(sys.pool, "SignaturesAdded")
        .withArgs(0, 0, 0b100000n, 0b111111n);
      await expect(sys.pool.addSignatures(0, p0.terms, p0.attestation, compact([5, 6])))
        .to.emit(sys.pool, "SignaturesAdded")
        .withArgs(0, 0, 0b1000000n, 0b1111111n);
      await expect(sys.pool.addSignatures(0, p0.terms, p0.attestation, compact([0, 6])))
        .to.be.revertedWithCustomError(sys.pool, "NoNewSignatures")
        .withArgs(0, 0b1111111n);
      expect(await sys.pool.addedSigners(0)).to.equal(0b1100000n);
      // Settlement waits for the window, then pays all seven equally and records nobody as missing duty.
      await expect(sys.pool.settleBookkeepers([settlement(p0)])).to.be.revertedWithCustomError(
        sys.pool,
        "SignatureWindowOpen",
      );
      await time.increase(SIGNATURE_WINDOW);
      await expect(sys.pool.addSignatures(0, p0.terms, p0.attestation, compact([6])))
        .to.be.revertedWithCustomError(sys.pool, "SignatureWindowClosed")
        .withArgs(0, p0.attestation.signaturesUntil);
      const per = p0.attestation.bookkeeperShare / 7n;
      await expect(sys.pool.settleBookkeepers([settlement(p0)]))
        .to.emit(sys.pool, "BookkeepersSettled")
        .withArgs(0, 0, per, 7, 0, p0.attestation.bookkeeperShare - 7n * per);
      for (let i = 0; i < 7; i++) {
        expect(await sys.committee.credited(c.bookkeepers[i])).to.equal(per);
        expect(await sys.committee.missed(0, c.bookkeepers[i])).to.equal(0n);
      }
    });

    it("rejects an added signature that is not the member's, and one by a member removed since", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 0n);
      const built = reportOf(0n, 0n, 2);
      const all = await signQuorum(sys, c, built.report, first(7));
      await post(sys, c, built.report, first(5));
      const p0 = await period(sys, 0n);
      // Member 6's signature passed as member 5's.
      await expect(
        sys.pool.addSignatures(0, p0.terms, p0.attestation, {
          keys: all.keys,
          signers: 1n << 5n,
          signatures: [all.signatures[6]],
        }),
      )
        .to.be.revertedWithCustomError(sys.pool, "InvalidSignature")
        .withArgs(5, c.keys[5], c.keys[6]);
      // Member 6 removed (slashed) since: its key is zero in the commitment and it cannot be added.
      await sys.committee.removeMember(0, 6);
      const [, live] = await sys.committee.committee(0);
      await expect(
        sys.pool.addSignatures(0, p0.terms, p0.attestation, {
          keys: [...live],
          signers: 1n << 6n,
          signatures: [all.signatures[6]],
        }),
      )
        .to.be.revertedWithCustomError(sys.pool, "RemovedSigner")
        .withArgs(6);
      await expect(
        sys.pool.addSignatures(
          0,
          p0.terms,
          { ...p0.attestation, signers: 0b1111111n },
          {
            keys: [...live],
            signers: 0n,
            signatures: [],
          },
        ),
      )
        .to.be.revertedWithCustomError(sys.pool, "AttestationMismatch")
        .withArgs(0);
    });

    it("does not pay a member removed after an older epoch's election when that epoch's report is settled", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 0n);
      await post(sys, c, reportOf(0n, 0n, 2).report, first(5));
      const p0 = await period(sys, 0n);
      // Member 1 is slashed much later: the old committee's keys are untouched (only recent committees are
      // updated), but it was removed since that election.
      await sys.committee.setRemovedSince(c.bookkeepers[1]);
      expect((await sys.committee.committee(0))[1][1]).to.equal(c.keys[1]);
      await time.increase(SIGNATURE_WINDOW);
      const per = p0.attestation.bookkeeperShare / 5n;
      await expect(sys.pool.settleBookkeepers([settlement(p0)]))
        .to.emit(sys.pool, "BookkeepersSettled")
        .withArgs(0, 0, per, 4, 2, p0.attestation.bookkeeperShare - 4n * per);
      expect(await sys.committee.credited(c.bookkeepers[1])).to.equal(0n);
      expect(await sys.committee.missed(0, c.bookkeepers[1])).to.equal(0n);
    });

    it("accepts the committee returning a stakeless signer's reward through fund() during settlement", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 0n);
      await post(sys, c, reportOf(0n, 0n, 2).report, first(5));
      const p0 = await period(sys, 0n);
      await sys.committee.setStakeless(c.bookkeepers[2], await sys.pool.getAddress());
      await time.increase(SIGNATURE_WINDOW);
      const per = p0.attestation.bookkeeperShare / 5n;
      const funded = await sys.pool.totalFunded();
      await expect(sys.pool.settleBookkeepers([settlement(p0)]))
        .to.emit(sys.pool, "Funded")
        .withArgs(await sys.committee.getAddress(), per, anyValue);
      expect(await sys.pool.totalFunded()).to.equal(funded + per);
      expect(await sys.committee.credited(c.bookkeepers[2])).to.equal(0n);
    });

    it("settles an empty period: no credit, missed duty recorded", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      await endOfPeriod(sys.pool, 0n);
      await post(sys, c, buildReport(ledgerFrom(0n, []), { epoch: 0n, topN: 5, fromPeriod: 0n }).report, first(5));
      const p = await period(sys, 0n);
      await time.increase(SIGNATURE_WINDOW);
      await expect(sys.pool.settleBookkeepers([settlement(p)]))
        .to.emit(sys.pool, "BookkeepersSettled")
        .withArgs(0, 0, 0, 5, 2, 0);
      expect(await sys.committee.creditCalls()).to.equal(0n);
      expect(await sys.committee.missedCalls()).to.equal(1n);
    });
  });

  describe("governance", () => {
    it("only the admin changes parameters, within bounds, with events", async () => {
      const { sys, c } = await loadFixture(withCommittee);
      const role = await sys.pool.DEFAULT_ADMIN_ROLE();
      await expect(sys.pool.connect(sys.outsider).setBookkeeperShare(100))
        .to.be.revertedWithCustomError(sys.pool, "AccessControlUnauthorizedAccount")
        .withArgs(sys.outsider.address, role);
      await expect(sys.pool.connect(sys.outsider).setClaimWindow(Number(40n * DAY))).to.be.revertedWithCustomError(
        sys.pool,
        "AccessControlUnauthorizedAccount",
      );
      await expect(sys.pool.connect(sys.outsider).setElectionGrace(10)).to.be.revertedWithCustomError(
        sys.pool,
        "AccessControlUnauthorizedAccount",
      );
      await expect(sys.pool.setBookkeeperShare(1000)).to.emit(sys.pool, "BookkeeperShareChanged").withArgs(500, 1000);
      await expect(sys.pool.setBookkeeperShare(3001))
        .to.be.revertedWithCustomError(sys.pool, "ParameterOutOfBounds")
        .withArgs("bookkeeperShareBps", 3001, 0, 3000);
      await expect(sys.pool.setClaimWindow(Number(40n * DAY)))
        .to.emit(sys.pool, "ClaimWindowChanged")
        .withArgs(365n * DAY, 40n * DAY);
      await expect(sys.pool.setClaimWindow(Number(29n * DAY))).to.be.revertedWithCustomError(
        sys.pool,
        "ParameterOutOfBounds",
      );
      await expect(sys.pool.setElectionGrace(0)).to.emit(sys.pool, "ElectionGraceChanged").withArgs(3600, 0);
      await expect(sys.pool.setElectionGrace(Number(DAY) + 1)).to.be.revertedWithCustomError(
        sys.pool,
        "ParameterOutOfBounds",
      );
      // New values apply to the next report: 10 % share, 40-day window.
      await endOfPeriod(sys.pool, 0n);
      const tx = await post(sys, c, reportOf(0n, 0n, 2).report, first(5));
      const p = await period(sys, 0n);
      expect(p.attestation.bookkeeperShare).to.equal((E0 + DUST) / 10n);
      const block = await hre.ethers.provider.getBlock(tx.blockNumber!);
      expect(p.terms.claimDeadline).to.equal(block!.timestamp + Number(40n * DAY));
    });
  });
});
