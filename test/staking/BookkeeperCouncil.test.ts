import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { zeroAddress, type Address } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { signTyped, typedDigest } from "../../offchain/core/signing";
import { DEFAULT_STAKING_PARAMS } from "../../offchain/chain/staking";
import { BookkeeperCouncil__factory } from "../../typechain-types";
import {
  Action,
  DAY,
  HMS,
  MIN_MARGIN,
  Param,
  Status,
  defaultStaking,
  deployStaking,
  electNext,
  fund,
  registerBookkeeper,
  stakingDomain,
  stakingFactory,
  type StakingContext,
} from "./helpers";

const MNEMONIC = "test test test test test test test test test test test junk"; // Hardhat's default accounts
const account = (i: number) => mnemonicToAccount(MNEMONIC, { addressIndex: i });
const RETAIN_PERIOD = 7n * DAY;

/** Member #k (0-based within the 7-member council) is Hardhat account #13 + k. */
async function recommendation(ctx: StakingContext, memberIndex: number, candidate: string, deadline?: bigint) {
  const d = deadline ?? BigInt(await time.latest()) + DAY;
  const message = { candidate: candidate as Address, deadline: d };
  const signature = await signTyped(account(13 + memberIndex), stakingDomain(ctx), "Recommendation", message);
  return { deadline: d, signature, digest: typedDigest(stakingDomain(ctx), "Recommendation", message) };
}

async function approve(ctx: StakingContext, action: number, target: string, memberIndexes: number[]) {
  for (const i of memberIndexes) await ctx.council.connect(ctx.members[i]).vote(action, target);
}

describe("BookkeeperCouncil", () => {
  it("needs more than 1/2 to add or admit, more than 1/3 to dismiss, at least 2/3 to blacklist", async () => {
    const ctx = await loadFixture(defaultStaking); // 7 members
    expect(await ctx.council.requiredApprovals(Action.AddMember)).to.equal(4n);
    expect(await ctx.council.requiredApprovals(Action.Admit)).to.equal(4n);
    expect(await ctx.council.requiredApprovals(Action.Dismiss)).to.equal(3n);
    expect(await ctx.council.requiredApprovals(Action.Blacklist)).to.equal(5n);
    expect(await ctx.council.requiredApprovals(Action.Retain)).to.equal(4n); // > 1/2 of the 6 others
    const small = await deployStaking({}, 6);
    expect(await small.council.requiredApprovals(Action.AddMember)).to.equal(4n);
    expect(await small.council.requiredApprovals(Action.Dismiss)).to.equal(3n);
    expect(await small.council.requiredApprovals(Action.Blacklist)).to.equal(4n);
    const three = await deployStaking({}, 3);
    for (const action of [Action.AddMember, Action.Admit, Action.Dismiss, Action.Blacklist, Action.Retain]) {
      expect(await three.council.requiredApprovals(action)).to.equal(2n);
    }
  });

  describe("membership", () => {
    it("adds a member when the 4th of 7 approves; the newcomer votes from then on", async () => {
      const ctx = await loadFixture(defaultStaking);
      const newcomer = ctx.signers[12];
      const c = ctx.council;
      const tx = c.connect(ctx.members[0]).propose(Action.AddMember, newcomer.address, "community vote #1");
      const [motionId] = await c.motion(Action.AddMember, newcomer.address);
      await expect(tx)
        .to.emit(c, "MotionOpened")
        .withArgs(motionId, Action.AddMember, newcomer.address, ctx.members[0].address, 0, "community vote #1")
        .and.to.emit(c, "Voted")
        .withArgs(motionId, ctx.members[0].address, 1, 4);
      await approve(ctx, Action.AddMember, newcomer.address, [1, 2]);
      expect(await c.isMember(newcomer.address)).to.equal(false);
      const motion = await c.motion(Action.AddMember, newcomer.address);
      expect([motion.open, motion.approvals, motion.required]).to.deep.equal([true, 3n, 4n]);
      expect(await c.hasVoted(Action.AddMember, newcomer.address, ctx.members[2].address)).to.equal(true);
      await expect(c.connect(ctx.members[3]).vote(Action.AddMember, newcomer.address))
        .to.emit(c, "MotionExecuted")
        .withArgs(motionId, Action.AddMember, newcomer.address, 4)
        .and.to.emit(c, "MemberAdded")
        .withArgs(newcomer.address);
      expect(await c.isMember(newcomer.address)).to.equal(true);
      expect((await c.members()).length).to.equal(8);
      expect((await c.motion(Action.AddMember, newcomer.address)).open).to.equal(false);
      // 8 members: a majority is now 5
      expect(await c.requiredApprovals(Action.AddMember)).to.equal(5n);
      await c.connect(newcomer).propose(Action.AddMember, ctx.signers[11].address, "");
    });

    it("rejects strangers, duplicate motions and votes, zero targets, members, Retain proposals and a full council", async () => {
      const ctx = await loadFixture(defaultStaking);
      const c = ctx.council;
      const [m0, m1] = ctx.members;
      const target = ctx.signers[12].address;
      await expect(c.connect(ctx.signers[12]).propose(Action.AddMember, target, ""))
        .to.be.revertedWithCustomError(c, "NotMember")
        .withArgs(target);
      await expect(c.connect(ctx.signers[12]).vote(Action.AddMember, target)).to.be.revertedWithCustomError(
        c,
        "NotMember",
      );
      await expect(c.connect(m0).propose(Action.AddMember, ethers.ZeroAddress, "")).to.be.revertedWithCustomError(
        c,
        "ZeroTarget",
      );
      await expect(c.connect(m0).propose(Action.AddMember, m1.address, ""))
        .to.be.revertedWithCustomError(c, "AlreadyMember")
        .withArgs(m1.address);
      await expect(c.connect(m0).propose(Action.Retain, m1.address, "")).to.be.revertedWithCustomError(
        c,
        "RetainIsAutomatic",
      );
      await expect(c.connect(m0).vote(Action.AddMember, target))
        .to.be.revertedWithCustomError(c, "NoOpenMotion")
        .withArgs(Action.AddMember, target);
      await c.connect(m0).propose(Action.AddMember, target, "");
      await expect(c.connect(m1).propose(Action.AddMember, target, ""))
        .to.be.revertedWithCustomError(c, "MotionAlreadyOpen")
        .withArgs(Action.AddMember, target);
      const [motionId] = await c.motion(Action.AddMember, target);
      await expect(c.connect(m0).vote(Action.AddMember, target))
        .to.be.revertedWithCustomError(c, "AlreadyVoted")
        .withArgs(motionId, m0.address);
      await expect(c.connect(m0).propose(Action.Dismiss, target, ""))
        .to.be.revertedWithCustomError(c, "NotRegisteredBookkeeper")
        .withArgs(target);

      const full = [
        ctx.members[0].address,
        ...Array.from({ length: 31 }, (_, i) => ethers.getAddress(ethers.toBeHex(i + 1000, 20))),
      ];
      const big = await deployStakingWith(ctx, full);
      await expect(big.connect(ctx.members[0]).propose(Action.AddMember, target, ""))
        .to.be.revertedWithCustomError(big, "CouncilFull")
        .withArgs(32);
      await expect(deployStakingWith(ctx, [...full, target])).to.be.revertedWithCustomError(c, "InvalidMembers");
    });
  });

  describe("admission mode", () => {
    it("registers only after a member's signed recommendation and a majority", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk] = ctx.bookkeepers;
      await ctx.staking.setParameter(Param.AdmissionRequired, 1);
      await fund(ctx, bk, MIN_MARGIN);
      await expect(ctx.staking.connect(bk).register(MIN_MARGIN, 0))
        .to.be.revertedWithCustomError(ctx.staking, "NotAdmitted")
        .withArgs(bk.address);

      const rec = await recommendation(ctx, 0, bk.address);
      expect(await ctx.staking.recommendationDigest(bk.address, rec.deadline)).to.equal(rec.digest);
      // Anyone (here the candidate itself) submits the member's signed recommendation.
      await expect(ctx.council.connect(bk).recommend(bk.address, rec.deadline, rec.signature))
        .to.emit(ctx.council, "Recommended")
        .withArgs(bk.address, ctx.members[0].address, rec.deadline)
        .and.to.emit(ctx.council, "MotionOpened")
        .withArgs(anyValue, Action.Admit, bk.address, ctx.members[0].address, 0, "");
      expect(await ctx.council.recommendersOf(bk.address)).to.deep.equal([ctx.members[0].address]);
      expect(await ctx.council.recommendationUsed(rec.digest)).to.equal(true);
      await expect(ctx.council.recommend(bk.address, rec.deadline, rec.signature))
        .to.be.revertedWithCustomError(ctx.council, "RecommendationUsed")
        .withArgs(rec.digest);
      const rec1 = await recommendation(ctx, 1, bk.address);
      await ctx.council.recommend(bk.address, rec1.deadline, rec1.signature);
      expect(await ctx.council.recommendersOf(bk.address)).to.deep.equal([
        ctx.members[0].address,
        ctx.members[1].address,
      ]);
      await approve(ctx, Action.Admit, bk.address, [2]);
      expect(await ctx.council.isAdmitted(bk.address)).to.equal(false);
      await expect(ctx.council.connect(ctx.members[3]).vote(Action.Admit, bk.address))
        .to.emit(ctx.council, "AdmissionChanged")
        .withArgs(bk.address, true);
      expect(await ctx.council.isAdmitted(bk.address)).to.equal(true);
      await ctx.staking.connect(bk).register(MIN_MARGIN, 0);
      await expect(ctx.council.connect(ctx.members[0]).propose(Action.Admit, bk.address, ""))
        .to.be.revertedWithCustomError(ctx.council, "AlreadyAdmitted")
        .withArgs(bk.address);
    });

    it("a majority without any recommendation does not admit until one arrives", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk] = ctx.bookkeepers;
      await ctx.council.connect(ctx.members[0]).propose(Action.Admit, bk.address, "");
      await approve(ctx, Action.Admit, bk.address, [1, 2, 3, 4]);
      expect(await ctx.council.isAdmitted(bk.address)).to.equal(false);
      expect((await ctx.council.motion(Action.Admit, bk.address)).approvals).to.equal(5n);
      const rec = await recommendation(ctx, 2, bk.address); // member 2 already approved
      await expect(ctx.council.recommend(bk.address, rec.deadline, rec.signature))
        .to.emit(ctx.council, "AdmissionChanged")
        .withArgs(bk.address, true);
      expect(await ctx.council.recommendersOf(bk.address)).to.deep.equal([ctx.members[2].address]);
    });

    it("rejects expired, malformed and non-member recommendations", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk] = ctx.bookkeepers;
      const now = BigInt(await time.latest());
      const old = await recommendation(ctx, 0, bk.address, now);
      await time.setNextBlockTimestamp(now + 1n); // deterministic even when the machine is slow
      await expect(ctx.council.recommend(bk.address, old.deadline, old.signature))
        .to.be.revertedWithCustomError(ctx.council, "RecommendationExpired")
        .withArgs(now, now + 1n);
      const ok = await recommendation(ctx, 0, bk.address);
      await expect(ctx.council.recommend(bk.address, ok.deadline, "0x1234"))
        .to.be.revertedWithCustomError(ctx.council, "InvalidRecommendationSignature")
        .withArgs(2, ethers.toBeHex(2, 32));
      const stranger = await signTyped(account(5), stakingDomain(ctx), "Recommendation", {
        candidate: bk.address as Address,
        deadline: ok.deadline,
      });
      await expect(ctx.council.recommend(bk.address, ok.deadline, stranger))
        .to.be.revertedWithCustomError(ctx.council, "NotMember")
        .withArgs(account(5).address);
      // a signature for another candidate does not transfer
      await expect(
        ctx.council.recommend(ctx.bookkeepers[1].address, ok.deadline, ok.signature),
      ).to.be.revertedWithCustomError(ctx.council, "NotMember");
    });
  });

  describe("dismissal and blacklisting", () => {
    async function withBookkeepers() {
      const ctx = await deployStaking();
      await ctx.staking.setParameter(Param.AdmissionRequired, 1);
      const [bk, b2] = ctx.bookkeepers;
      for (const [i, who] of [bk, b2].entries()) {
        for (const m of [0, 1]) {
          const rec = await recommendation(ctx, m, who.address);
          await ctx.council.recommend(who.address, rec.deadline, rec.signature);
        }
        await approve(ctx, Action.Admit, who.address, [2, 3]);
        await registerBookkeeper(ctx, who, HMS(20_000), i + 1);
      }
      await ctx.staking.connect(bk).unbond(HMS(5_000));
      const epoch = await electNext(ctx.staking);
      return { ctx, bk, b2, epoch };
    }

    it("dismisses with more than 1/3: margin (bonded and unbonding) forfeited, removed, an ordinary account again", async () => {
      const { ctx, bk, epoch } = await loadFixture(withBookkeepers);
      await ctx.council.connect(ctx.members[4]).propose(Action.Dismiss, bk.address, "ipfs://report-42");
      await approve(ctx, Action.Dismiss, bk.address, [5]);
      expect((await ctx.staking.bookkeeperInfo(bk.address)).status).to.equal(Status.Registered);
      const tx = ctx.council.connect(ctx.members[6]).vote(Action.Dismiss, bk.address);
      await expect(tx)
        .to.emit(ctx.staking, "BookkeeperDismissed")
        .withArgs(bk.address, HMS(20_000), false)
        .and.to.emit(ctx.council, "VerdictApplied")
        .withArgs(bk.address, HMS(20_000), false)
        .and.to.emit(ctx.council, "AdmissionChanged")
        .withArgs(bk.address, false)
        .and.to.emit(ctx.staking, "LockSlashed")
        .and.to.emit(ctx.staking, "CommitteeMemberRemoved")
        .and.to.emit(ctx.staking, "StatusChanged")
        .withArgs(bk.address, Status.Registered, Status.None);
      const info = await ctx.staking.bookkeeperInfo(bk.address);
      expect([info.status, info.margin]).to.deep.equal([Status.None, 0n]);
      expect(await ctx.staking.pendingPoolFunds()).to.equal(HMS(20_000));
      expect((await ctx.staking.locksOf(bk.address))[0].length).to.equal(0);
      expect(await ctx.staking.candidates()).to.not.include(bk.address);
      expect((await ctx.staking.membership(epoch, bk.address))[2]).to.equal(true);
      expect(await ctx.council.isAdmitted(bk.address)).to.equal(false);
      // relegated, not banned: it may be admitted and register again
      await expect(
        ctx.council.connect(ctx.members[0]).propose(Action.Dismiss, bk.address, ""),
      ).to.be.revertedWithCustomError(ctx.council, "NotRegisteredBookkeeper");
      const rec = await recommendation(ctx, 3, bk.address);
      await ctx.council.recommend(bk.address, rec.deadline, rec.signature);
      await approve(ctx, Action.Admit, bk.address, [4, 5, 6]);
      await fund(ctx, bk, MIN_MARGIN);
      await ctx.staking.connect(bk).register(MIN_MARGIN, 0);
    });

    it("a Dismiss reaches margin that is unbonding: unbonding first does not escape it, nor does registering again", async () => {
      const { ctx, bk } = await loadFixture(withBookkeepers);
      await ctx.council.connect(ctx.members[4]).propose(Action.Dismiss, bk.address, "ipfs://report-43");
      await approve(ctx, Action.Dismiss, bk.address, [5]);
      // Seeing the motion gather votes, the bookkeeper unbonds its whole margin: off the candidate list, status None.
      await ctx.staking.connect(bk).unbond(HMS(15_000));
      expect((await ctx.staking.bookkeeperInfo(bk.address)).status).to.equal(Status.None);
      expect(await ctx.staking.isDismissable(bk.address)).to.equal(true);
      // The deciding vote still finds it: both pending margin locks (5k + 15k) are forfeited.
      await expect(ctx.council.connect(ctx.members[6]).vote(Action.Dismiss, bk.address))
        .to.emit(ctx.staking, "BookkeeperDismissed")
        .withArgs(bk.address, HMS(20_000), false)
        .and.to.emit(ctx.council, "VerdictApplied")
        .withArgs(bk.address, HMS(20_000), false);
      expect(await ctx.staking.pendingPoolFunds()).to.equal(HMS(20_000));
      await time.increase(31n * DAY);
      await expect(ctx.staking.connect(bk).withdraw()).to.be.revertedWithCustomError(ctx.staking, "NothingToWithdraw");

      // Unbonding and registering again (fresh margin) does not escape a motion either: it takes both.
      const { ctx: c2, b2 } = await loadFixture(withBookkeepers);
      await c2.council.connect(c2.members[4]).propose(Action.Dismiss, b2.address, "ipfs://report-44");
      await approve(c2, Action.Dismiss, b2.address, [5]);
      await c2.staking.connect(b2).unbond(HMS(20_000));
      await fund(c2, b2, MIN_MARGIN);
      await c2.staking.connect(b2).register(MIN_MARGIN, 0);
      await expect(c2.council.connect(c2.members[6]).vote(Action.Dismiss, b2.address))
        .to.emit(c2.staking, "BookkeeperDismissed")
        .withArgs(b2.address, HMS(20_000) + MIN_MARGIN, false);
      await time.increase(31n * DAY);
      await expect(c2.staking.connect(b2).withdraw()).to.be.revertedWithCustomError(c2.staking, "NothingToWithdraw");
    });

    it("a Dismiss motion may target an account with margin still unbonding; not one with nothing at stake", async () => {
      const { ctx, bk, b2 } = await loadFixture(withBookkeepers);
      await ctx.staking.connect(b2).unbond(HMS(20_000));
      await ctx.council.connect(ctx.members[0]).propose(Action.Dismiss, b2.address, "left with its margin");
      await approve(ctx, Action.Dismiss, b2.address, [1, 2]);
      expect((await ctx.staking.bookkeeperInfo(b2.address)).margin).to.equal(0n);
      expect((await ctx.staking.locksOf(b2.address))[0].length).to.equal(0);
      // Once the locks matured and were withdrawn there is nothing left to reach.
      await ctx.staking.connect(bk).unbond(HMS(15_000));
      await time.increase(31n * DAY);
      await ctx.staking.connect(bk).withdraw();
      expect(await ctx.staking.isDismissable(bk.address)).to.equal(false);
      await expect(
        ctx.council.connect(ctx.members[0]).propose(Action.Dismiss, bk.address, ""),
      ).to.be.revertedWithCustomError(ctx.council, "NotRegisteredBookkeeper");
    });

    it("blacklists with 2/3: banned for good, and its recommenders face a re-vote", async () => {
      const { ctx, bk } = await loadFixture(withBookkeepers);
      const [m0, m1] = ctx.members;
      await ctx.council.connect(ctx.members[2]).propose(Action.Blacklist, bk.address, "double signing off-chain");
      await approve(ctx, Action.Blacklist, bk.address, [3, 4, 5]);
      expect((await ctx.staking.bookkeeperInfo(bk.address)).status).to.equal(Status.Registered);
      const tx = ctx.council.connect(ctx.members[6]).vote(Action.Blacklist, bk.address);
      await expect(tx)
        .to.emit(ctx.staking, "BookkeeperDismissed")
        .withArgs(bk.address, HMS(20_000), true)
        .and.to.emit(ctx.staking, "StatusChanged")
        .withArgs(bk.address, Status.Registered, Status.Blacklisted);
      const at = BigInt(await time.latest());
      for (const m of [m0, m1]) {
        await expect(tx)
          .to.emit(ctx.council, "MotionOpened")
          .withArgs(
            anyValue,
            Action.Retain,
            m.address,
            zeroAddress,
            at + RETAIN_PERIOD,
            "recommended a blacklisted bookkeeper",
          );
      }
      expect(await ctx.staking.isBlacklisted(bk.address)).to.equal(true);
      await fund(ctx, bk, MIN_MARGIN);
      await expect(ctx.staking.connect(bk).register(MIN_MARGIN, 0)).to.be.revertedWithCustomError(
        ctx.staking,
        "BookkeeperBlacklisted",
      );
      await expect(ctx.council.connect(m0).propose(Action.Admit, bk.address, "")).to.be.revertedWithCustomError(
        ctx.council,
        "TargetBlacklisted",
      );
      await expect(ctx.council.connect(m0).propose(Action.Blacklist, bk.address, "")).to.be.revertedWithCustomError(
        ctx.council,
        "TargetBlacklisted",
      );

      // m0 is retained by 4 of the 6 others; it may not vote on its own seat.
      await expect(ctx.council.connect(m0).vote(Action.Retain, m0.address)).to.be.revertedWithCustomError(
        ctx.council,
        "OwnRetainVote",
      );
      await ctx.council.connect(m1).vote(Action.Retain, m0.address);
      await approve(ctx, Action.Retain, m0.address, [2, 3]);
      await expect(ctx.council.connect(ctx.members[4]).vote(Action.Retain, m0.address))
        .to.emit(ctx.council, "MotionExecuted")
        .withArgs(anyValue, Action.Retain, m0.address, 4);
      // m1 gets only 2 approvals and loses its seat after the deadline.
      await approve(ctx, Action.Retain, m1.address, [2, 3]);
      await expect(ctx.council.concludeRetain(m1.address))
        .to.be.revertedWithCustomError(ctx.council, "RetainDeadline")
        .withArgs(m1.address, at + RETAIN_PERIOD);
      await expect(ctx.council.concludeRetain(m0.address))
        .to.be.revertedWithCustomError(ctx.council, "NoOpenMotion")
        .withArgs(Action.Retain, m0.address);
      await time.increaseTo(at + RETAIN_PERIOD + 1n);
      await expect(ctx.council.connect(ctx.members[4]).vote(Action.Retain, m1.address)).to.be.revertedWithCustomError(
        ctx.council,
        "RetainDeadline",
      );
      await expect(ctx.council.connect(ctx.signers[12]).concludeRetain(m1.address))
        .to.emit(ctx.council, "MemberRemoved")
        .withArgs(m1.address)
        .and.to.emit(ctx.council, "MotionClosed");
      expect(await ctx.council.isMember(m1.address)).to.equal(false);
      expect((await ctx.council.members()).length).to.equal(6);
    });

    it("counts only current members' votes, and closes a motion whose target changed meanwhile", async () => {
      const { ctx, bk, b2 } = await loadFixture(withBookkeepers);
      const [m0, m1] = ctx.members;
      // m1 votes on a pending AddMember, then loses its seat: its vote stops counting.
      const newcomer = ctx.signers[12].address;
      await ctx.council.connect(m1).propose(Action.AddMember, newcomer, "");
      await ctx.council.connect(ctx.members[2]).vote(Action.AddMember, newcomer);
      await ctx.council.connect(m0).propose(Action.Blacklist, bk.address, "");
      await approve(ctx, Action.Blacklist, bk.address, [2, 3, 4, 5]);
      await time.increase(RETAIN_PERIOD + 1n);
      await ctx.council.concludeRetain(m1.address);
      expect((await ctx.council.motion(Action.AddMember, newcomer)).approvals).to.equal(1n);
      // b2 leaves and its margin matures and is withdrawn before the dismissal passes (the council took longer
      // than the unbonding wait): nothing is left to reach, and the motion closes without effect.
      await ctx.council.connect(m0).propose(Action.Dismiss, b2.address, "");
      await approve(ctx, Action.Dismiss, b2.address, [2]);
      await ctx.staking.connect(b2).unbond(HMS(20_000));
      await time.increase(31n * DAY);
      await ctx.staking.connect(b2).withdraw();
      await expect(ctx.council.connect(ctx.members[3]).vote(Action.Dismiss, b2.address))
        .to.emit(ctx.council, "MotionClosed")
        .withArgs(anyValue, Action.Dismiss, b2.address)
        .and.not.to.emit(ctx.staking, "BookkeeperDismissed");
      expect((await ctx.council.motion(Action.Dismiss, b2.address)).open).to.equal(false);
    });

    it("never removes the last member", async () => {
      const ctx = await deployStaking({}, 1);
      const [m] = ctx.members;
      const [bk] = ctx.bookkeepers;
      const rec = await recommendation(ctx, 0, bk.address);
      await ctx.council.recommend(bk.address, rec.deadline, rec.signature);
      expect(await ctx.council.isAdmitted(bk.address)).to.equal(true);
      await registerBookkeeper(ctx, bk, MIN_MARGIN, 1);
      await ctx.council.connect(m).propose(Action.Blacklist, bk.address, "");
      expect((await ctx.council.motion(Action.Retain, m.address)).open).to.equal(true);
      await time.increase(RETAIN_PERIOD + 1n);
      await expect(ctx.council.concludeRetain(m.address))
        .to.emit(ctx.council, "MotionClosed")
        .and.not.to.emit(ctx.council, "MemberRemoved");
      expect(await ctx.council.members()).to.deep.equal([m.address]);
    });
  });
});

/** Another staking deployment (same token and registry) with the given council. */
async function deployStakingWith(ctx: StakingContext, members: string[]) {
  const factory = await stakingFactory(ctx);
  const staking = await factory.deploy(
    ctx.token.target,
    ctx.registry.target,
    ctx.deployer.address,
    members,
    DEFAULT_STAKING_PARAMS,
  );
  return BookkeeperCouncil__factory.connect(await staking.council(), ctx.deployer);
}
