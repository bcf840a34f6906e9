import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time, mine, setBalance } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Wallet } from "ethers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { encodeAbiParameters, encodePacked, keccak256, toHex, zeroAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signTyped, typedDigest } from "../../offchain/core/signing";
import { DEFAULT_STAKING_PARAMS, electionWeight, quorumOf } from "../../offchain/chain/staking";
import {
  DAY,
  HMS,
  MIN_MARGIN,
  Param,
  paramName,
  Status,
  conflictingProposals,
  defaultStaking,
  delegateTo,
  deployStaking,
  digest,
  electNext,
  fund,
  nextEpoch,
  registerBookkeeper,
  signingKey,
  stakingDomain,
  stakingFactory,
  vote,
  type StakingContext,
} from "./helpers";
import { signedRegistry } from "../helpers/keys";

const UNBONDING = DEFAULT_STAKING_PARAMS.unbondingPeriod;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Recomputes the contract's leader order from the ranked list and the election block's prevrandao. */
function shuffle<T>(ranked: T[], prevrandao: bigint, epoch: bigint, staking: Address): { order: T[]; seed: Hex } {
  const seed = keccak256(
    encodeAbiParameters([{ type: "uint256" }, { type: "uint64" }, { type: "address" }], [prevrandao, epoch, staking]),
  );
  const order = [...ranked];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Number(
      BigInt(keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [seed, BigInt(i)]))) %
        BigInt(i + 1),
    );
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { order, seed };
}

async function electionEvent(ctx: StakingContext, txPromise: Promise<{ wait(): Promise<unknown> }>) {
  const receipt = (await (await txPromise).wait()) as {
    logs: { topics: string[]; data: string }[];
    blockNumber: number;
  };
  for (const log of receipt.logs) {
    try {
      const parsed = ctx.staking.interface.parseLog(log);
      if (parsed?.name === "CommitteeElected") return { args: parsed.args, blockNumber: receipt.blockNumber };
    } catch {
      // other contract's event
    }
  }
  throw new Error("no CommitteeElected event");
}

describe("BookkeeperStaking", () => {
  describe("deployment and governance parameters", () => {
    it("starts with the local defaults, genesis at deployment and a 7-member council", async () => {
      const ctx = await loadFixture(defaultStaking);
      const p = await ctx.staking.parameters();
      expect(p.minMargin).to.equal(HMS(10_000));
      expect(p.unbondingPeriod).to.equal(30n * DAY);
      expect(p.epochLength).to.equal(DAY);
      expect(p.committeeSize).to.equal(4n);
      expect(p.maxCandidates).to.equal(256n);
      expect(p.slashDelegatedBps).to.equal(1000n);
      expect(p.bountyBps).to.equal(1000n);
      expect(p.admissionRequired).to.equal(false);
      expect(await ctx.staking.epochStart(0)).to.equal(p.genesis);
      expect(await ctx.staking.currentEpoch()).to.equal(0n);
      expect(await ctx.council.members()).to.deep.equal(ctx.members.map((m) => m.address));
      expect(await ctx.council.staking()).to.equal(ctx.staking.target);
      await expect(ctx.staking.lastElectedEpoch()).to.be.revertedWithCustomError(ctx.staking, "NoElection");
      expect(await ctx.staking.committeeCommitment(0)).to.deep.equal([ethers.ZeroHash, 0n, 0n]);
      expect(await ctx.staking.supportsInterface("0x01ffc9a7")).to.equal(true);
      expect(await ctx.staking.supportsInterface("0xdeadbeef")).to.equal(false);
    });

    it("uses the EIP-712 domain of offchain/core/signing.ts", async () => {
      const ctx = await loadFixture(defaultStaking);
      const domain = stakingDomain(ctx);
      const message = { candidate: ctx.bookkeepers[0].address as Address, deadline: 123n };
      expect(await ctx.staking.recommendationDigest(message.candidate, message.deadline)).to.equal(
        typedDigest(domain, "Recommendation", message),
      );
      const separator = keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "address" }],
          [
            keccak256(
              new TextEncoder().encode(
                "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
              ),
            ),
            keccak256(new TextEncoder().encode("HMS BookkeeperStaking")),
            keccak256(new TextEncoder().encode("1")),
            ctx.chainId,
            ctx.staking.target as Address,
          ],
        ),
      );
      expect(await ctx.staking.DOMAIN_SEPARATOR()).to.equal(separator);
    });

    it("rejects zero addresses, a future genesis, out-of-bounds parameters and a bad council at construction", async () => {
      const ctx = await loadFixture(defaultStaking);
      const factory = await stakingFactory(ctx);
      const members = ctx.members.map((m) => m.address);
      const t = ctx.token.target;
      const r = ctx.registry.target;
      const admin = ctx.deployer.address;
      await expect(
        factory.deploy(ethers.ZeroAddress, r, admin, members, DEFAULT_STAKING_PARAMS),
      ).to.be.revertedWithCustomError(ctx.staking, "ZeroAddress");
      await expect(
        factory.deploy(t, r, ethers.ZeroAddress, members, DEFAULT_STAKING_PARAMS),
      ).to.be.revertedWithCustomError(ctx.staking, "ZeroAddress");
      const future = BigInt(await time.latest()) + 1000n;
      await expect(factory.deploy(t, r, admin, members, { ...DEFAULT_STAKING_PARAMS, genesis: future }))
        .to.be.revertedWithCustomError(ctx.staking, "InvalidGenesis")
        .withArgs(future, anyValue);
      await expect(factory.deploy(t, r, admin, members, { ...DEFAULT_STAKING_PARAMS, committeeSize: 49 }))
        .to.be.revertedWithCustomError(ctx.staking, "ParameterOutOfBounds")
        .withArgs(paramName(Param.CommitteeSize), 49, 1, 48);
      await expect(factory.deploy(t, r, admin, members, { ...DEFAULT_STAKING_PARAMS, unbondingPeriod: DAY - 1n }))
        .to.be.revertedWithCustomError(ctx.staking, "ParameterOutOfBounds")
        .withArgs(paramName(Param.UnbondingPeriod), DAY - 1n, DAY, 365n * DAY);
      await expect(factory.deploy(t, r, admin, members, { ...DEFAULT_STAKING_PARAMS, epochLength: 3599n }))
        .to.be.revertedWithCustomError(ctx.staking, "ParameterOutOfBounds")
        .withArgs(paramName(Param.EpochLength), 3599, 3600, 30n * DAY);
      await expect(factory.deploy(t, r, admin, [], DEFAULT_STAKING_PARAMS)).to.be.revertedWithCustomError(
        ctx.council,
        "InvalidMembers",
      );
      await expect(
        factory.deploy(t, r, admin, [members[0], members[0]], DEFAULT_STAKING_PARAMS),
      ).to.be.revertedWithCustomError(ctx.council, "InvalidMembers");
      await expect(
        factory.deploy(t, r, admin, [ethers.ZeroAddress], DEFAULT_STAKING_PARAMS),
      ).to.be.revertedWithCustomError(ctx.council, "InvalidMembers");
    });

    it("lets only governance change parameters, within bounds, with an event", async () => {
      const ctx = await loadFixture(defaultStaking);
      const s = ctx.staking;
      await expect(s.connect(ctx.bookkeepers[0]).setParameter(Param.BountyBps, 0))
        .to.be.revertedWithCustomError(s, "AccessControlUnauthorizedAccount")
        .withArgs(ctx.bookkeepers[0].address, ethers.ZeroHash);
      const cases: [number, bigint, bigint][] = [
        [Param.MinMargin, HMS(1), HMS(100_000_000)],
        [Param.UnbondingPeriod, DAY, 365n * DAY],
        [Param.EpochLength, 3600n, 30n * DAY],
        [Param.CommitteeSize, 1n, 48n],
        [Param.MaxCandidates, 4n, 512n],
        [Param.SlashDelegatedBps, 0n, 10_000n],
        [Param.BountyBps, 0n, 5_000n],
        [Param.MaxCommissionBps, 0n, 10_000n],
        [Param.MissPenaltyCap, 1n, 255n],
        [Param.AdmissionRequired, 0n, 1n],
      ];
      for (const [param, min, max] of cases) {
        if (min > 0n) {
          await expect(s.setParameter(param, min - 1n))
            .to.be.revertedWithCustomError(s, "ParameterOutOfBounds")
            .withArgs(paramName(param), min - 1n, min, max);
        }
        await expect(s.setParameter(param, max + 1n))
          .to.be.revertedWithCustomError(s, "ParameterOutOfBounds")
          .withArgs(paramName(param), max + 1n, min, max);
      }
      await expect(s.setParameter(Param.BountyBps, 2_500))
        .to.emit(s, "ParameterChanged")
        .withArgs(Param.BountyBps, 1000, 2500);
      await expect(s.setParameter(Param.AdmissionRequired, 1))
        .to.emit(s, "ParameterChanged")
        .withArgs(Param.AdmissionRequired, 0, 1);
      expect((await s.parameters()).bountyBps).to.equal(2500n);
      expect((await s.parameters()).admissionRequired).to.equal(true);
      // committee size and candidate bound constrain each other
      await s.setParameter(Param.MaxCandidates, 10);
      await expect(s.setParameter(Param.CommitteeSize, 11))
        .to.be.revertedWithCustomError(s, "ParameterOutOfBounds")
        .withArgs(paramName(Param.CommitteeSize), 11, 1, 10);
      await s.setParameter(Param.CommitteeSize, 10);
      await expect(s.setParameter(Param.MaxCandidates, 9))
        .to.be.revertedWithCustomError(s, "ParameterOutOfBounds")
        .withArgs(paramName(Param.MaxCandidates), 9, 10, 512);
    });

    it("changes the epoch length from the next epoch on, keeping past epoch numbers and starts", async () => {
      const ctx = await loadFixture(defaultStaking);
      const s = ctx.staking;
      const genesis = (await s.parameters()).genesis;
      await time.increaseTo(genesis + 2n * DAY + 100n); // inside epoch 2
      expect(await s.currentEpoch()).to.equal(2n);
      await expect(s.setParameter(Param.EpochLength, 4n * 3600n))
        .to.emit(s, "EpochClockScheduled")
        .withArgs(3, genesis + 3n * DAY, 4n * 3600n);
      // Replacing a change not yet in force keeps its start.
      await expect(s.setParameter(Param.EpochLength, 6n * 3600n))
        .to.emit(s, "EpochClockScheduled")
        .withArgs(3, genesis + 3n * DAY, 6n * 3600n)
        .and.to.emit(s, "ParameterChanged")
        .withArgs(Param.EpochLength, 4n * 3600n, 6n * 3600n);
      expect(await s.epochLength()).to.equal(DAY);
      expect(await s.currentEpoch()).to.equal(2n);
      expect(await s.epochStart(2)).to.equal(genesis + 2n * DAY);
      expect(await s.epochStart(3)).to.equal(genesis + 3n * DAY);
      expect(await s.epochStart(5)).to.equal(genesis + 3n * DAY + 2n * 6n * 3600n);
      await time.increaseTo(genesis + 3n * DAY + 6n * 3600n + 5n);
      expect(await s.currentEpoch()).to.equal(4n);
      expect(await s.epochLength()).to.equal(6n * 3600n);
      expect(await s.epochStart(1)).to.equal(genesis + DAY);
      // A committee can be elected in the short epochs.
      await registerBookkeeper(ctx, ctx.bookkeepers[0], MIN_MARGIN, 1);
      await s.elect();
      expect(await s.lastElectedEpoch()).to.equal(4n);
    });

    it("bounds the epoch clock history", async () => {
      const ctx = await loadFixture(defaultStaking);
      const s = ctx.staking;
      for (let i = 0; i < 31; i++) {
        await s.setParameter(Param.EpochLength, 3600n);
        await time.increase(2n * DAY); // let it take effect
      }
      await expect(s.setParameter(Param.EpochLength, 7200n))
        .to.be.revertedWithCustomError(s, "TooManyClockChanges")
        .withArgs(32);
    });
  });

  describe("registration, top-up, commission", () => {
    it("registers with a margin, lists the candidate and pulls the tokens", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk] = ctx.bookkeepers;
      await fund(ctx, bk, HMS(12_000));
      const tx1 = ctx.staking.connect(bk).register(HMS(12_000), 500);
      await expect(tx1)
        .to.emit(ctx.staking, "BookkeeperRegistered")
        .withArgs(bk.address, HMS(12_000), HMS(12_000), 500)
        .and.to.emit(ctx.staking, "StatusChanged")
        .withArgs(bk.address, Status.None, Status.Registered);
      await expect(tx1).to.changeTokenBalances(ctx.token, [bk, ctx.staking], [-HMS(12_000), HMS(12_000)]);
      const info = await ctx.staking.bookkeeperInfo(bk.address);
      expect(info.status).to.equal(Status.Registered);
      expect(info.margin).to.equal(HMS(12_000));
      expect(info.commissionBps).to.equal(500n);
      expect(await ctx.staking.candidates()).to.deep.equal([bk.address]);
      expect(await ctx.staking.isRegistered(bk.address)).to.equal(true);
    });

    it("rejects zero, below-minimum, too much commission, double registration and a full candidate list", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [a, b, c] = ctx.bookkeepers;
      await fund(ctx, a, HMS(100_000));
      const s = ctx.staking.connect(a);
      await expect(s.register(0, 0)).to.be.revertedWithCustomError(ctx.staking, "ZeroAmount");
      await expect(s.register(MIN_MARGIN - 1n, 0))
        .to.be.revertedWithCustomError(ctx.staking, "MarginBelowMinimum")
        .withArgs(MIN_MARGIN - 1n, MIN_MARGIN);
      await expect(s.register(MIN_MARGIN, 5001))
        .to.be.revertedWithCustomError(ctx.staking, "CommissionTooHigh")
        .withArgs(5001, 5000);
      await s.register(MIN_MARGIN, 5000);
      await expect(s.register(MIN_MARGIN, 0))
        .to.be.revertedWithCustomError(ctx.staking, "AlreadyRegistered")
        .withArgs(a.address);
      await ctx.staking.setParameter(Param.CommitteeSize, 1);
      await ctx.staking.setParameter(Param.MaxCandidates, 2);
      await registerBookkeeper(ctx, b, MIN_MARGIN, 2);
      await fund(ctx, c, MIN_MARGIN);
      await expect(ctx.staking.connect(c).register(MIN_MARGIN, 0))
        .to.be.revertedWithCustomError(ctx.staking, "CandidateListFull")
        .withArgs(2);
    });

    it("Sybils filling the candidate list do not lock newcomers out: a heavier newcomer evicts the lightest", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [honest, heavy] = ctx.bookkeepers;
      await ctx.staking.setParameter(Param.MaxCandidates, 16);
      // The attack: keyless, zero-weight candidates at the minimum margin (fully recoverable) fill the list.
      const sybils: Wallet[] = [];
      for (let i = 0; i < 16; i++) {
        const w = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
        await setBalance(w.address, 10n ** 18n);
        await fund(ctx, w as unknown as HardhatEthersSigner, MIN_MARGIN);
        await ctx.staking.connect(w).register(MIN_MARGIN, 0);
        sybils.push(w);
      }
      await fund(ctx, honest, HMS(20_000));
      await signedRegistry(ctx.registry, honest).setBookkeeperKey(signingKey(1));
      await expect(ctx.staking.connect(honest).register(HMS(20_000), 0))
        .to.be.revertedWithCustomError(ctx.staking, "CandidateListFull")
        .withArgs(16);
      // The fix: naming a lighter candidate evicts it (a keyless one weighs nothing).
      const sybil = sybils[3].address;
      const weight = HMS(20_000); // margin × 1 (no votes)
      await expect(ctx.staking.connect(honest).registerReplacing(HMS(20_000), 0, sybil))
        .to.emit(ctx.staking, "CandidateEvicted")
        .withArgs(sybil, honest.address, 0, weight)
        .and.to.emit(ctx.staking, "StatusChanged")
        .withArgs(sybil, Status.Registered, Status.None)
        .and.to.emit(ctx.staking, "BookkeeperRegistered");
      expect(await ctx.staking.candidates())
        .to.include(honest.address)
        .and.not.include(sybil);
      expect((await ctx.staking.candidates()).length).to.equal(16);
      // The evicted account keeps its margin (bonded, no longer a candidate) and may unbond it.
      expect((await ctx.staking.bookkeeperInfo(sybil)).margin).to.equal(MIN_MARGIN);
      await ctx.staking.connect(sybils[3]).unbond(MIN_MARGIN);
      // A newcomer must outweigh whoever it names: the honest candidate (20k, keyed) is not evictable by 15k.
      await fund(ctx, heavy, HMS(15_000));
      await signedRegistry(ctx.registry, heavy).setBookkeeperKey(signingKey(2));
      await expect(ctx.staking.connect(heavy).registerReplacing(HMS(15_000), 0, honest.address))
        .to.be.revertedWithCustomError(ctx.staking, "NotOutweighed")
        .withArgs(honest.address, weight, HMS(15_000));
      // Nor can a keyless newcomer evict anyone (its weight is zero), and the named account must be a candidate.
      await expect(ctx.staking.connect(sybils[3]).registerReplacing(MIN_MARGIN, 0, sybils[4].address))
        .to.be.revertedWithCustomError(ctx.staking, "NotOutweighed")
        .withArgs(sybils[4].address, 0, 0);
      await expect(ctx.staking.connect(heavy).registerReplacing(HMS(15_000), 0, sybil))
        .to.be.revertedWithCustomError(ctx.staking, "NotRegistered")
        .withArgs(sybil);
      await ctx.staking.connect(heavy).registerReplacing(HMS(15_000), 0, sybils[5].address);
      // With room on the list, registerReplacing is a plain registration and evicts nobody.
      await ctx.staking.setParameter(Param.MaxCandidates, 17);
      await fund(ctx, ctx.bookkeepers[2], MIN_MARGIN);
      await expect(
        ctx.staking.connect(ctx.bookkeepers[2]).registerReplacing(MIN_MARGIN, 0, sybils[6].address),
      ).to.not.emit(ctx.staking, "CandidateEvicted");
    });

    it("tops up and changes commission only while registered", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [a, b] = ctx.bookkeepers;
      await registerBookkeeper(ctx, a, MIN_MARGIN, 1, 100);
      await fund(ctx, a, HMS(5_000));
      await expect(ctx.staking.connect(a).topUp(HMS(5_000)))
        .to.emit(ctx.staking, "MarginAdded")
        .withArgs(a.address, HMS(5_000), HMS(15_000));
      await expect(ctx.staking.connect(a).topUp(0)).to.be.revertedWithCustomError(ctx.staking, "ZeroAmount");
      await expect(ctx.staking.connect(a).setCommission(700))
        .to.emit(ctx.staking, "CommissionChanged")
        .withArgs(a.address, 100, 700);
      await expect(ctx.staking.connect(a).setCommission(5001))
        .to.be.revertedWithCustomError(ctx.staking, "CommissionTooHigh")
        .withArgs(5001, 5000);
      await expect(ctx.staking.connect(b).topUp(1))
        .to.be.revertedWithCustomError(ctx.staking, "NotRegistered")
        .withArgs(b.address);
      await expect(ctx.staking.connect(b).setCommission(1)).to.be.revertedWithCustomError(ctx.staking, "NotRegistered");
    });
  });

  describe("unbonding and withdrawal", () => {
    it("unbonds part of the margin into a lock released after exactly the unbonding wait", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [a] = ctx.bookkeepers;
      await registerBookkeeper(ctx, a, HMS(15_000), 1);
      const tx = ctx.staking.connect(a).unbond(HMS(5_000));
      await expect(tx)
        .to.emit(ctx.staking, "UnbondingRequested")
        .withArgs(a.address, a.address, 1, HMS(5_000), anyValue, 0, true);
      const requestedAt = BigInt(await time.latest());
      expect((await ctx.staking.bookkeeperInfo(a.address)).margin).to.equal(HMS(10_000));
      const [locks, payouts] = await ctx.staking.locksOf(a.address);
      expect(locks.length).to.equal(1);
      expect(locks[0].releaseAt).to.equal(requestedAt + UNBONDING);
      expect(payouts[0]).to.equal(HMS(5_000));
      await expect(ctx.staking.connect(a).withdraw())
        .to.be.revertedWithCustomError(ctx.staking, "NothingToWithdraw")
        .withArgs(a.address);
      await time.setNextBlockTimestamp(requestedAt + UNBONDING - 1n);
      await expect(ctx.staking.connect(a).withdraw()).to.be.revertedWithCustomError(ctx.staking, "NothingToWithdraw");
      await time.setNextBlockTimestamp(requestedAt + UNBONDING);
      const tx2 = ctx.staking.connect(a).withdraw();
      await expect(tx2).to.emit(ctx.staking, "Withdrawn").withArgs(a.address, a.address, 1, HMS(5_000), 0);
      await expect(tx2).to.changeTokenBalances(ctx.token, [a, ctx.staking], [HMS(5_000), -HMS(5_000)]);
      expect((await ctx.staking.locksOf(a.address))[0].length).to.equal(0);
    });

    it("keeps a registered margin at the minimum or exits the candidate list entirely", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [a, b, c] = ctx.bookkeepers;
      await registerBookkeeper(ctx, a, HMS(15_000), 1);
      await registerBookkeeper(ctx, b, HMS(10_000), 2);
      await registerBookkeeper(ctx, c, HMS(10_000), 3);
      await expect(ctx.staking.connect(a).unbond(HMS(5_001)))
        .to.be.revertedWithCustomError(ctx.staking, "MarginBelowMinimum")
        .withArgs(HMS(9_999), MIN_MARGIN);
      await expect(ctx.staking.connect(a).unbond(HMS(15_001)))
        .to.be.revertedWithCustomError(ctx.staking, "InsufficientMargin")
        .withArgs(HMS(15_001), HMS(15_000));
      await expect(ctx.staking.connect(a).unbond(0)).to.be.revertedWithCustomError(ctx.staking, "ZeroAmount");
      await expect(ctx.staking.connect(a).unbond(HMS(15_000)))
        .to.emit(ctx.staking, "BookkeeperExited")
        .withArgs(a.address, HMS(15_000))
        .and.to.emit(ctx.staking, "StatusChanged")
        .withArgs(a.address, Status.Registered, Status.None);
      // swap-and-pop kept the list consistent: c moved into a's slot and can still leave.
      expect(await ctx.staking.candidates()).to.deep.equal([c.address, b.address]);
      await ctx.staking.connect(c).unbond(HMS(10_000));
      expect(await ctx.staking.candidates()).to.deep.equal([b.address]);
      // a may come back with a new margin
      await fund(ctx, a, MIN_MARGIN);
      await ctx.staking.connect(a).register(MIN_MARGIN, 0);
      expect(await ctx.staking.candidates()).to.deep.equal([b.address, a.address]);
    });

    it("withdraws all matured locks at once and keeps the others; at most 16 pending per account", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk] = ctx.bookkeepers;
      const [d] = ctx.delegators;
      await registerBookkeeper(ctx, bk, MIN_MARGIN, 1);
      await delegateTo(ctx, d, bk.address, HMS(1_700));
      for (let i = 0; i < 16; i++) {
        await ctx.staking.connect(d).undelegate(bk.address, HMS(100));
        if (i === 7) await time.increase(10n * DAY);
      }
      await expect(ctx.staking.connect(d).undelegate(bk.address, 1))
        .to.be.revertedWithCustomError(ctx.staking, "TooManyLocks")
        .withArgs(d.address, 16);
      await time.increase(UNBONDING - 10n * DAY); // the first 8 matured
      await expect(ctx.staking.connect(d).withdraw()).to.changeTokenBalance(ctx.token, d, HMS(800));
      const [locks] = await ctx.staking.locksOf(d.address);
      expect(locks.length).to.equal(8);
      const now = BigInt(await time.latest());
      for (const l of locks) expect(l.releaseAt).to.be.greaterThan(now);
      await ctx.staking.connect(d).undelegate(bk.address, HMS(100)); // a slot is free again
    });
  });

  describe("delegation and rewards", () => {
    it("mints pool shares, credits rewards pro rata after commission and pays them out on undelegation", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk] = ctx.bookkeepers;
      const [d1, d2] = ctx.delegators;
      const rewarder = ctx.signers[12];
      await registerBookkeeper(ctx, bk, HMS(10_000), 1, 1_000);
      await fund(ctx, d1, HMS(10_000));
      await expect(ctx.staking.connect(d1).delegate(bk.address, HMS(10_000)))
        .to.emit(ctx.staking, "Delegated")
        .withArgs(d1.address, bk.address, HMS(10_000), HMS(10_000), HMS(10_000), HMS(10_000));
      await delegateTo(ctx, d2, bk.address, HMS(20_000));

      await ctx.staking.grantRole(await ctx.staking.REWARDER_ROLE(), rewarder.address);
      await ctx.token.transfer(rewarder.address, HMS(1_000));
      await ctx.token.connect(rewarder).approve(ctx.staking.target, HMS(1_000));
      // Vt = 40k: delegators' part 750, commission 75 → pool +675, margin +325.
      const tx3 = ctx.staking.connect(rewarder).creditRewards([bk.address], [HMS(1_000)]);
      await expect(tx3)
        .to.emit(ctx.staking, "RewardsCredited")
        .withArgs(bk.address, rewarder.address, HMS(1_000), HMS(325), HMS(675), HMS(75));
      await expect(tx3).to.changeTokenBalances(ctx.token, [rewarder, ctx.staking], [-HMS(1_000), HMS(1_000)]);
      const info = await ctx.staking.bookkeeperInfo(bk.address);
      expect(info.margin).to.equal(HMS(10_325));
      expect(info.delegated).to.equal(HMS(30_675));
      expect((await ctx.staking.delegationOf(bk.address, d1.address)).value).to.equal(HMS(10_225));
      expect((await ctx.staking.delegationOf(bk.address, d2.address)).value).to.equal(HMS(20_450));

      // A later delegator buys in at the new share price.
      await fund(ctx, d1, HMS(10_225));
      await ctx.staking.connect(d1).delegate(bk.address, HMS(10_225));
      expect((await ctx.staking.delegationOf(bk.address, d1.address)).shares).to.equal(HMS(20_000));
      await expect(ctx.staking.connect(d2).undelegate(bk.address, HMS(20_000)))
        .to.emit(ctx.staking, "Undelegated")
        .withArgs(d2.address, bk.address, HMS(20_000), HMS(20_450), HMS(20_450), HMS(20_000));
      await time.increase(UNBONDING);
      await expect(ctx.staking.connect(d2).withdraw()).to.changeTokenBalance(ctx.token, d2, HMS(20_450));
    });

    it("rejects delegation to a non-candidate, zero amounts, dust that mints no share and bad share counts", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk, other] = ctx.bookkeepers;
      const [d] = ctx.delegators;
      const rewarder = ctx.signers[12];
      await fund(ctx, d, HMS(100));
      await expect(ctx.staking.connect(d).delegate(other.address, HMS(1)))
        .to.be.revertedWithCustomError(ctx.staking, "NotRegistered")
        .withArgs(other.address);
      await registerBookkeeper(ctx, bk, MIN_MARGIN, 1, 0);
      await expect(ctx.staking.connect(d).delegate(bk.address, 0)).to.be.revertedWithCustomError(
        ctx.staking,
        "ZeroAmount",
      );
      await delegateTo(ctx, d, bk.address, HMS(1_000));
      // Rewards make a share worth more than one wei: a 1-wei delegation mints nothing.
      await ctx.staking.grantRole(await ctx.staking.REWARDER_ROLE(), rewarder.address);
      await ctx.token.transfer(rewarder.address, HMS(10_000));
      await ctx.token.connect(rewarder).approve(ctx.staking.target, HMS(10_000));
      await ctx.staking.connect(rewarder).creditRewards([bk.address], [HMS(10_000)]);
      await fund(ctx, d, 1n);
      await expect(ctx.staking.connect(d).delegate(bk.address, 1n))
        .to.be.revertedWithCustomError(ctx.staking, "ZeroShares")
        .withArgs(1n);
      await expect(ctx.staking.connect(d).undelegate(bk.address, 0))
        .to.be.revertedWithCustomError(ctx.staking, "InsufficientShares")
        .withArgs(0, HMS(1_000));
      await expect(ctx.staking.connect(d).undelegate(bk.address, HMS(1_000) + 1n))
        .to.be.revertedWithCustomError(ctx.staking, "InsufficientShares")
        .withArgs(HMS(1_000) + 1n, HMS(1_000));
    });

    it("guards creditRewards: role, lengths, batch size; returns rewards of stakeless accounts to the pool", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk, nobody] = ctx.bookkeepers;
      const rewarder = ctx.signers[12];
      await expect(ctx.staking.connect(rewarder).creditRewards([], []))
        .to.be.revertedWithCustomError(ctx.staking, "AccessControlUnauthorizedAccount")
        .withArgs(rewarder.address, await ctx.staking.REWARDER_ROLE());
      await ctx.staking.grantRole(await ctx.staking.REWARDER_ROLE(), rewarder.address);
      await expect(ctx.staking.connect(rewarder).creditRewards([bk.address], []))
        .to.be.revertedWithCustomError(ctx.staking, "LengthMismatch")
        .withArgs(1, 0);
      const many = Array(257).fill(bk.address);
      await expect(ctx.staking.connect(rewarder).creditRewards(many, Array(257).fill(0n)))
        .to.be.revertedWithCustomError(ctx.staking, "BatchTooLarge")
        .withArgs(257, 256);
      await registerBookkeeper(ctx, bk, MIN_MARGIN, 1, 0);
      await ctx.token.transfer(rewarder.address, HMS(30));
      await ctx.token.connect(rewarder).approve(ctx.staking.target, HMS(30));
      await expect(
        ctx.staking.connect(rewarder).creditRewards([bk.address, nobody.address, bk.address], [HMS(10), HMS(20), 0n]),
      )
        .to.emit(ctx.staking, "RewardsCredited")
        .withArgs(nobody.address, rewarder.address, HMS(20), 0, 0, 0)
        .and.to.emit(ctx.staking, "PoolFundsPending")
        .withArgs(HMS(20), HMS(20));
      expect((await ctx.staking.bookkeeperInfo(bk.address)).margin).to.equal(MIN_MARGIN + HMS(10));
      expect(await ctx.staking.pendingPoolFunds()).to.equal(HMS(20));
    });
  });

  describe("election", () => {
    it("elects the top n by Wt = Vt × max(1, St) with snapshot votes, in a leader order from prevrandao", async () => {
      const ctx = await loadFixture(defaultStaking);
      const bks = ctx.bookkeepers; // 6 candidates, n = 4
      const margins = [10_000, 20_000, 30_000, 40_000, 50_000, 60_000].map((n) => HMS(n));
      for (const [i, bk] of bks.entries()) await registerBookkeeper(ctx, bk, margins[i], i + 1);
      await delegateTo(ctx, ctx.delegators[0], bks[0].address, HMS(5_000)); // Vt = 15k
      await vote(ctx, ctx.delegators[1], bks[0].address, HMS(5)); // St = 5 → 75k
      await vote(ctx, ctx.delegators[2], bks[1].address, HMS(1)); // St < 2 counts as none → 20k
      await vote(ctx, ctx.delegators[3], bks[2].address, HMS(2)); // 60k
      const epoch = await nextEpoch(ctx.staking);
      // Votes delegated after the epoch start do not count in its election (no flash votes).
      await vote(ctx, ctx.delegators[4], bks[1].address, HMS(1_000));

      const snapshot = await ctx.staking.epochStart(epoch);
      const weights = new Map<string, bigint>();
      for (const bk of bks) {
        const info = await ctx.staking.bookkeeperInfo(bk.address);
        const w = electionWeight(info.margin + info.delegated, await ctx.token.getPastVotes(bk.address, snapshot));
        weights.set(bk.address, w);
        expect(await ctx.staking.electionWeight(bk.address)).to.equal(w);
      }
      expect(weights.get(bks[0].address)).to.equal(HMS(75_000));
      expect(weights.get(bks[1].address)).to.equal(HMS(20_000));
      const ranked = [...weights.entries()]
        .sort(([a, wa], [b, wb]) => (wa === wb ? (BigInt(a) < BigInt(b) ? -1 : 1) : wa > wb ? -1 : 1))
        .slice(0, 4)
        .map(([a]) => a);
      // bks[2] and bks[5] tie at 60k: the lower address ranks first.
      const tie = BigInt(bks[2].address) < BigInt(bks[5].address) ? [bks[2], bks[5]] : [bks[5], bks[2]];
      expect(ranked).to.deep.equal([bks[0], ...tie, bks[4]].map((b) => b.address));

      const { args, blockNumber } = await electionEvent(ctx, ctx.staking.elect());
      // block.prevrandao is the block header's mixHash after the merge
      const block = await ethers.provider.send("eth_getBlockByNumber", [ethers.toBeHex(blockNumber), false]);
      const { order, seed } = shuffle(ranked, BigInt(block.mixHash), epoch, ctx.staking.target as Address);
      expect(args.epoch).to.equal(epoch);
      expect([...args.bookkeepers]).to.deep.equal(order);
      expect(args.seed).to.equal(seed);
      expect([...args.weights]).to.deep.equal(order.map((a) => weights.get(a)));
      const keys = order.map((a) => signingKey(bks.findIndex((b) => b.address === a) + 1).address);
      expect([...args.signingKeys]).to.deep.equal(keys);
      expect(args.quorum).to.equal(3n);
      expect(args.candidates).to.equal(6n);

      const [members, committeeKeys] = await ctx.staking.committee(epoch);
      expect([...members]).to.deep.equal(order);
      expect([...committeeKeys]).to.deep.equal(keys);
      const keysHash = keccak256(encodePacked(["address[]"], [keys as Address[]]));
      expect(await ctx.staking.committeeCommitment(epoch)).to.deep.equal([keysHash, 4n, 3n]);
      expect(await ctx.staking.lastElectedEpoch()).to.equal(epoch);
      const active = await ctx.staking.activeSet();
      expect(active.epoch).to.equal(epoch);
      expect([...active.bookkeepers]).to.deep.equal(order);
      expect(active.quorum).to.equal(3n);
      expect(await ctx.staking.membership(epoch, order[2])).to.deep.equal([true, 2n, false]);
      for (const round of [0n, 1n, 5n, 2n ** 32n + 3n]) {
        const i = Number(round % 4n);
        expect(await ctx.staking.leader(epoch, round)).to.deep.equal([order[i], keys[i]]);
      }
      expect(await ctx.staking.membership(epoch, bks[1].address)).to.deep.equal([false, 0n, false]);
      const info = await ctx.staking.bookkeeperInfo(order[0]);
      expect(info.everElected).to.equal(true);
      expect(info.lastElectedEpoch).to.equal(epoch);

      // Once per epoch; the next epoch counts the late votes.
      await expect(ctx.staking.elect()).to.be.revertedWithCustomError(ctx.staking, "AlreadyElected").withArgs(epoch);
      const next = await nextEpoch(ctx.staking);
      expect(await ctx.staking.electionWeight(bks[1].address)).to.equal(HMS(20_000) * 1001n);
      const second = await electionEvent(ctx, ctx.staking.elect());
      expect([...second.args.bookkeepers]).to.include(bks[1].address);
      const [electedAt, , previous, hasPrevious] = await ctx.staking.committeeInfo(next);
      expect(electedAt).to.be.greaterThan(0n);
      expect([previous, hasPrevious]).to.deep.equal([epoch, true]);
      expect((await ctx.staking.committeeInfo(epoch))[3]).to.equal(false);
      // committees of past epochs stay readable
      expect([...(await ctx.staking.committee(epoch))[0]]).to.deep.equal(order);
    });

    it("breaks weight ties by the lower address and skips candidates without a key or below the minimum", async () => {
      const ctx = await loadFixture(defaultStaking);
      const bks = ctx.bookkeepers.slice(0, 5);
      for (const [i, bk] of bks.entries()) await registerBookkeeper(ctx, bk, MIN_MARGIN, i + 1);
      await ctx.registry.connect(bks[0]).clearBookkeeperKey(); // no key: not electable
      await ctx.staking.setParameter(Param.CommitteeSize, 3);
      await nextEpoch(ctx.staking);
      const { args } = await electionEvent(ctx, ctx.staking.elect());
      const expected = bks
        .slice(1)
        .map((b) => b.address)
        .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
        .slice(0, 3);
      expect([...args.bookkeepers].sort()).to.deep.equal([...expected].sort());
      expect(await ctx.staking.electionWeight(bks[0].address)).to.equal(0n);
      // Raising the minimum above every margin leaves nobody eligible.
      await ctx.staking.setParameter(Param.MinMargin, MIN_MARGIN + 1n);
      const epoch = await nextEpoch(ctx.staking);
      await expect(ctx.staking.elect())
        .to.be.revertedWithCustomError(ctx.staking, "NoEligibleCandidates")
        .withArgs(epoch);
      expect(await ctx.staking.electionWeight(ctx.delegators[0].address)).to.equal(0n);
    });

    it("selects exactly what a full sort would, with many ties and any registration order", async () => {
      const ctx = await loadFixture(defaultStaking);
      await ctx.staking.setParameter(Param.CommitteeSize, 7);
      const weights = new Map<string, bigint>();
      for (let i = 0; i < 20; i++) {
        const wallet = new ethers.Wallet(keccak256(new TextEncoder().encode(`tie/${i}`)), ethers.provider);
        await ethers.provider.send("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
        const margin = MIN_MARGIN * BigInt(1 + (i % 3)); // three distinct weights only
        await ctx.token.transfer(wallet.address, margin);
        await ctx.token.connect(wallet).approve(ctx.staking.target, margin);
        await signedRegistry(ctx.registry, wallet).setBookkeeperKey(signingKey(200 + i));
        await ctx.staking.connect(wallet).register(margin, 0);
        weights.set(wallet.address, margin);
      }
      await nextEpoch(ctx.staking);
      const { args } = await electionEvent(ctx, ctx.staking.elect());
      const ranked = [...weights.entries()]
        .sort(([a, wa], [b, wb]) => (wa === wb ? (BigInt(a) < BigInt(b) ? -1 : 1) : wa > wb ? -1 : 1))
        .slice(0, 7);
      const elected = [...args.bookkeepers].map((a: string, i: number) => [a, args.weights[i] as bigint] as const);
      elected.sort(([a, wa], [b, wb]) => (wa === wb ? (BigInt(a) < BigInt(b) ? -1 : 1) : wa > wb ? -1 : 1));
      expect(elected).to.deep.equal(ranked);
    });

    it("elects fewer than n when fewer are eligible, with quorum more than 2/3 of the elected size", async () => {
      const ctx = await loadFixture(defaultStaking);
      for (const [i, bk] of ctx.bookkeepers.slice(0, 2).entries()) await registerBookkeeper(ctx, bk, MIN_MARGIN, i + 1);
      const epoch = await electNext(ctx.staking);
      const [, size, quorum] = await ctx.staking.committeeCommitment(epoch);
      expect([size, quorum]).to.deep.equal([2n, BigInt(quorumOf(2))]);
      for (const n of [1, 3, 4, 5, 7, 10, 48]) expect(quorumOf(n)).to.equal(Math.floor((2 * n) / 3) + 1);
    });

    it("refuses to elect at the very second the epoch starts, and snapshots keys at the election", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [a] = ctx.bookkeepers;
      await registerBookkeeper(ctx, a, MIN_MARGIN, 1);
      const start = await ctx.staking.epochStart(1);
      await time.setNextBlockTimestamp(start);
      await expect(ctx.staking.elect())
        .to.be.revertedWithCustomError(ctx.staking, "ElectionTooEarly")
        .withArgs(1, start);
      await expect(ctx.staking.electionWeight(a.address)).to.be.revertedWithCustomError(
        ctx.staking,
        "ElectionTooEarly",
      );
      await ctx.staking.elect(); // next block, start + 1
      await signedRegistry(ctx.registry, a).setBookkeeperKey(signingKey(99));
      expect((await ctx.staking.committee(1))[1]).to.deep.equal([signingKey(1).address]);
      expect(await ctx.staking.leader(1, 5)).to.deep.equal([a.address, signingKey(1).address]);
      await expect(ctx.staking.leader(2, 0)).to.be.revertedWithCustomError(ctx.staking, "NoCommittee").withArgs(2);
    });

    it("lowers the next election's weight for missed duty without touching the margin", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [a, b] = ctx.bookkeepers;
      const rewarder = ctx.signers[12];
      await registerBookkeeper(ctx, a, HMS(20_000), 1);
      await registerBookkeeper(ctx, b, HMS(10_000), 2);
      const epoch = await electNext(ctx.staking);
      await expect(ctx.staking.connect(rewarder).recordMissedDuty(epoch, [a.address])).to.be.revertedWithCustomError(
        ctx.staking,
        "AccessControlUnauthorizedAccount",
      );
      await ctx.staking.grantRole(await ctx.staking.REWARDER_ROLE(), rewarder.address);
      const r = ctx.staking.connect(rewarder);
      await expect(r.recordMissedDuty(epoch + 5n, [a.address]))
        .to.be.revertedWithCustomError(ctx.staking, "NoCommittee")
        .withArgs(epoch + 5n);
      await expect(r.recordMissedDuty(epoch, [ctx.delegators[0].address]))
        .to.be.revertedWithCustomError(ctx.staking, "NotCommitteeMember")
        .withArgs(epoch, ctx.delegators[0].address);
      await expect(r.recordMissedDuty(epoch, Array(257).fill(a.address))).to.be.revertedWithCustomError(
        ctx.staking,
        "BatchTooLarge",
      );
      await expect(r.recordMissedDuty(epoch, [a.address]))
        .to.emit(ctx.staking, "MissedDuty")
        .withArgs(a.address, epoch, 1);
      await r.recordMissedDuty(epoch, Array(11).fill(a.address));
      expect((await ctx.staking.bookkeeperInfo(a.address)).pendingMisses).to.equal(12n);
      expect((await ctx.staking.bookkeeperInfo(a.address)).margin).to.equal(HMS(20_000));
      await nextEpoch(ctx.staking);
      // 12 misses with M = 24: W × (48 − 12) / 48 = 15k.
      expect(await ctx.staking.electionWeight(a.address)).to.equal(HMS(15_000));
      expect(await ctx.staking.electionWeight(a.address)).to.equal(electionWeight(HMS(20_000), 0n, 12n, 24n));
      const { args } = await electionEvent(ctx, ctx.staking.elect());
      const ia = [...args.bookkeepers].indexOf(a.address);
      expect(args.weights[ia]).to.equal(HMS(15_000));
      // The misses counted once: the following election sees none.
      expect((await ctx.staking.bookkeeperInfo(a.address)).pendingMisses).to.equal(0n);
      await nextEpoch(ctx.staking);
      expect(await ctx.staking.electionWeight(a.address)).to.equal(HMS(20_000));
      // A miss in an older committee (not the member's latest) is still recognised; misses saturate.
      await r.recordMissedDuty(epoch, Array(256).fill(b.address));
      expect((await ctx.staking.bookkeeperInfo(b.address)).pendingMisses).to.equal(255n);
      expect(await ctx.staking.electionWeight(b.address)).to.equal(HMS(5_000)); // capped at M: halved
    });
  });

  describe("equivocation", () => {
    async function equivocationSetup() {
      const ctx = await deployStaking();
      const [bk, b2, b3, b4] = ctx.bookkeepers;
      const key = await registerBookkeeper(ctx, bk, HMS(30_000), 1);
      for (const [i, b] of [b2, b3, b4].entries()) await registerBookkeeper(ctx, b, HMS(10_000), i + 2);
      await delegateTo(ctx, ctx.delegators[0], bk.address, HMS(10_000));
      const epoch = await electNext(ctx.staking);
      return { ctx, bk, key, epoch };
    }

    it("slashes the margin and 10 % of delegations, pays a 10 % bounty and queues the rest for the pool", async () => {
      const { ctx, bk, key, epoch } = await loadFixture(equivocationSetup);
      const reporter = ctx.delegators[5];
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      const evidenceId = keccak256(
        encodeAbiParameters(
          [{ type: "uint64" }, { type: "uint64" }, { type: "uint32" }, { type: "address" }],
          [epoch, a.period, a.round, key.address],
        ),
      );
      const [, keysBefore] = await ctx.staking.committee(epoch);
      const position = keysBefore.indexOf(key.address);
      // total = 30,000 margin + 1,000 delegated; bounty 10 % of the margin, 3,000; pool 28,000
      const tx4 = ctx.staking.connect(reporter).reportEquivocation(a, sigA, b, sigB);
      await expect(tx4)
        .to.emit(ctx.staking, "EquivocationProven")
        .withArgs(bk.address, key.address, reporter.address, epoch, a.period, a.round, a.digest, b.digest, evidenceId)
        .and.to.emit(ctx.staking, "Slashed")
        .withArgs(bk.address, epoch, HMS(30_000), 0, HMS(1_000), 1000, HMS(3_000), HMS(28_000))
        .and.to.emit(ctx.staking, "StatusChanged")
        .withArgs(bk.address, Status.Registered, Status.Jailed)
        .and.to.emit(ctx.staking, "PoolFundsPending")
        .withArgs(HMS(28_000), HMS(28_000));
      await expect(tx4).to.changeTokenBalances(ctx.token, [reporter, ctx.staking], [HMS(3_000), -HMS(3_000)]);
      const info = await ctx.staking.bookkeeperInfo(bk.address);
      expect(info.status).to.equal(Status.Jailed);
      expect(info.margin).to.equal(0n);
      expect(info.delegated).to.equal(HMS(9_000));
      expect([info.slashEpoch, info.slashBps]).to.deep.equal([epoch, 1000n]);
      expect(await ctx.staking.evidenceUsed(evidenceId)).to.equal(true);
      expect(await ctx.staking.candidates()).to.not.include(bk.address);
      // Removed from the active set at once: key zeroed in the commitment, quorum unchanged.
      const [members, keys] = await ctx.staking.committee(epoch);
      expect(members[position]).to.equal(bk.address);
      expect(keys[position]).to.equal(zeroAddress);
      const live = keysBefore.map((k, i) => (i === position ? zeroAddress : k)) as Address[];
      expect(await ctx.staking.committeeCommitment(epoch)).to.deep.equal([
        keccak256(encodePacked(["address[]"], [live])),
        4n,
        3n,
      ]);
      expect(await ctx.staking.membership(epoch, bk.address)).to.deep.equal([true, BigInt(position), true]);
      // Jailed for good; delegators keep 90 %.
      await fund(ctx, bk, MIN_MARGIN);
      await expect(ctx.staking.connect(bk).register(MIN_MARGIN, 0))
        .to.be.revertedWithCustomError(ctx.staking, "BookkeeperJailed")
        .withArgs(bk.address);
      await expect(ctx.staking.connect(ctx.delegators[1]).delegate(bk.address, 1)).to.be.revertedWithCustomError(
        ctx.staking,
        "NotRegistered",
      );
      expect((await ctx.staking.delegationOf(bk.address, ctx.delegators[0].address)).value).to.equal(HMS(9_000));
      // The next election goes on without it.
      const next = await electNext(ctx.staking);
      expect((await ctx.staking.committee(next))[0]).to.not.include(bk.address);
    });

    it("cannot be replayed: reordered, re-signed or malleable variants of used evidence are refused", async () => {
      const { ctx, bk, key, epoch } = await loadFixture(equivocationSetup);
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      await ctx.staking.reportEquivocation(a, sigA, b, sigB);
      const evidenceId = keccak256(
        encodeAbiParameters(
          [{ type: "uint64" }, { type: "uint64" }, { type: "uint32" }, { type: "address" }],
          [epoch, a.period, a.round, key.address],
        ),
      );
      await expect(ctx.staking.reportEquivocation(b, sigB, a, sigA))
        .to.be.revertedWithCustomError(ctx.staking, "EvidenceAlreadyUsed")
        .withArgs(evidenceId);
      // a third digest in the same slot is the same evidence
      const c = { ...a, digest: digest("c") };
      const sigC = await signTyped(key, stakingDomain(ctx), "Proposal", c);
      await expect(ctx.staking.reportEquivocation(a, sigA, c, sigC)).to.be.revertedWithCustomError(
        ctx.staking,
        "EvidenceAlreadyUsed",
      );
      // malleable twin (s → n − s, v flipped) of a valid signature is rejected outright
      const r = sigA.slice(0, 66);
      const s = BigInt(`0x${sigA.slice(66, 130)}`);
      const v = parseInt(sigA.slice(130, 132), 16);
      const highS = (SECP256K1_N - s).toString(16).padStart(64, "0");
      const twin = `${r}${highS}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
      await expect(ctx.staking.reportEquivocation(a, twin, b, sigB))
        .to.be.revertedWithCustomError(ctx.staking, "InvalidEvidenceSignature")
        .withArgs(3, `0x${highS}`);
      // another slot of the same bookkeeper: it was already slashed
      const other = await conflictingProposals(ctx, key, epoch, 8n);
      await expect(ctx.staking.reportEquivocation(other.a, other.sigA, other.b, other.sigB))
        .to.be.revertedWithCustomError(ctx.staking, "AlreadySlashed")
        .withArgs(bk.address, epoch);
    });

    it("rejects non-conflicting pairs, bad signatures, different signers and non-members", async () => {
      const { ctx, key, epoch } = await loadFixture(equivocationSetup);
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      const s = ctx.staking;
      await expect(s.reportEquivocation(a, sigA, { ...b, period: b.period + 1n }, sigB))
        .to.be.revertedWithCustomError(s, "DifferentSlots")
        .withArgs(epoch, a.period, a.round, epoch, a.period + 1n, a.round);
      await expect(s.reportEquivocation(a, sigA, { ...b, round: 1 }, sigB)).to.be.revertedWithCustomError(
        s,
        "DifferentSlots",
      );
      await expect(s.reportEquivocation(a, sigA, { ...b, epoch: epoch + 1n }, sigB)).to.be.revertedWithCustomError(
        s,
        "DifferentSlots",
      );
      await expect(s.reportEquivocation(a, sigA, a, sigA))
        .to.be.revertedWithCustomError(s, "SameDigest")
        .withArgs(a.digest);
      await expect(s.reportEquivocation(a, "0x1234", b, sigB))
        .to.be.revertedWithCustomError(s, "InvalidEvidenceSignature")
        .withArgs(2, ethers.toBeHex(2, 32));
      const otherKey = signingKey(2); // a member, but another one
      const sigOther = await signTyped(otherKey, stakingDomain(ctx), "Proposal", b);
      await expect(s.reportEquivocation(a, sigA, b, sigOther))
        .to.be.revertedWithCustomError(s, "DifferentSigners")
        .withArgs(key.address, otherKey.address);
      // a key that is in no committee
      const stranger = privateKeyToAccount(keccak256(new TextEncoder().encode("stranger")));
      const x = await conflictingProposals(ctx, stranger, epoch);
      await expect(s.reportEquivocation(x.a, x.sigA, x.b, x.sigB))
        .to.be.revertedWithCustomError(s, "NotCommitteeKey")
        .withArgs(epoch, stranger.address);
      // an epoch without an election
      const y = await conflictingProposals(ctx, key, epoch + 3n);
      await expect(s.reportEquivocation(y.a, y.sigA, y.b, y.sigB))
        .to.be.revertedWithCustomError(s, "NotCommitteeKey")
        .withArgs(epoch + 3n, key.address);
      // signatures made for another contract (or chain) recover unrelated addresses here
      const foreign = stakingDomain(ctx, ctx.registry.target as string);
      const fa = await signTyped(key, foreign, "Proposal", a);
      const fb = await signTyped(key, foreign, "Proposal", b);
      await expect(s.reportEquivocation(a, fa, b, fb)).to.be.revertedWithCustomError(s, "DifferentSigners");
    });

    it("slashes unbonding stake for offences before the request, not after; matured and later locks are safe", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk, b2] = ctx.bookkeepers;
      const [d1, d2, d3, d4] = ctx.delegators;
      const key = await registerBookkeeper(ctx, bk, HMS(30_000), 1);
      await registerBookkeeper(ctx, b2, HMS(10_000), 2);
      for (const d of [d1, d2, d3, d4]) await delegateTo(ctx, d, bk.address, HMS(1_000));
      await ctx.staking.connect(bk).unbond(HMS(5_000)); // epoch 0: before the offence epoch
      await ctx.staking.connect(d1).undelegate(bk.address, HMS(1_000)); // epoch 0
      const epoch = await electNext(ctx.staking); // epoch 1: the offence
      await ctx.staking.connect(bk).unbond(HMS(5_000)); // epoch 1: slashable
      await ctx.staking.connect(d2).undelegate(bk.address, HMS(1_000)); // epoch 1: slashable
      await time.increase(2n * DAY);
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      // margin 20k + unbonding 5k + 10 % of 2k bonded delegations; bounty 10 % of the 25k margin
      await expect(ctx.staking.reportEquivocation(a, sigA, b, sigB))
        .to.emit(ctx.staking, "Slashed")
        .withArgs(bk.address, epoch, HMS(20_000), HMS(5_000), HMS(200), 1000, HMS(2_500), HMS(22_700))
        .and.to.emit(ctx.staking, "LockSlashed")
        .withArgs(bk.address, 3, HMS(5_000));
      await ctx.staking.connect(d3).undelegate(bk.address, HMS(1_000)); // after the slash: 900, no second cut
      const [d2Locks, d2Pay] = await ctx.staking.locksOf(d2.address);
      expect([d2Locks[0].amount, d2Pay[0]]).to.deep.equal([HMS(1_000), HMS(900)]);
      await time.increase(UNBONDING);
      await expect(ctx.staking.connect(bk).withdraw()).to.changeTokenBalance(ctx.token, bk, HMS(5_000)); // the epoch-0 lock
      await expect(ctx.staking.connect(d1).withdraw()).to.changeTokenBalance(ctx.token, d1, HMS(1_000));
      const tx5 = ctx.staking.connect(d2).withdraw();
      await expect(tx5)
        .to.emit(ctx.staking, "Withdrawn")
        .withArgs(d2.address, bk.address, anyValue, HMS(900), HMS(100))
        .and.to.emit(ctx.staking, "PoolFundsPending")
        .withArgs(HMS(100), HMS(22_800));
      await expect(tx5).to.changeTokenBalance(ctx.token, d2, HMS(900));
      await expect(ctx.staking.connect(d3).withdraw()).to.changeTokenBalance(ctx.token, d3, HMS(900));
      const [, value] = await ctx.staking.delegationOf(bk.address, d4.address);
      expect(value).to.equal(HMS(900));
    });

    it("pays no bounty when the offender reports itself, from its account or its signing key", async () => {
      for (const from of ["account", "key"] as const) {
        const { ctx, bk, key, epoch } = await loadFixture(equivocationSetup);
        const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
        let sender: HardhatEthersSigner | Wallet = bk;
        if (from === "key") {
          // The bookkeeper's signing key #1 (test/staking/helpers.ts signingKey), funded for gas.
          sender = new Wallet(keccak256(toHex("hms-test/bookkeeper/1")), ethers.provider);
          expect(sender.address).to.equal(key.address);
          await setBalance(key.address, 10n ** 18n);
        }
        const tx = ctx.staking.connect(sender).reportEquivocation(a, sigA, b, sigB);
        // Everything slashed (30,000 margin + 1,000 delegated) goes to the pool; the offender gets nothing back.
        await expect(tx, from)
          .to.emit(ctx.staking, "Slashed")
          .withArgs(bk.address, epoch, HMS(30_000), 0, HMS(1_000), 1000, 0, HMS(31_000));
        await expect(tx, from).to.changeTokenBalances(ctx.token, [sender], [0]);
      }
    });

    it("an offender reporting itself from an unrelated account never profits: the bounty is only from its own margin", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk, b2, b3, b4] = ctx.bookkeepers;
      const accomplice = ctx.signers[19]; // an account the contract cannot tell apart from an honest reporter
      const key = await registerBookkeeper(ctx, bk, HMS(10_000), 1);
      for (const [i, b] of [b2, b3, b4].entries()) await registerBookkeeper(ctx, b, HMS(10_000), i + 2);
      // A large delegation: 10 % of it (200,000) is slashed too, far more than the offender's own margin.
      await delegateTo(ctx, ctx.delegators[0], bk.address, HMS(2_000_000));
      const epoch = await electNext(ctx.staking);
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      const tx = ctx.staking.connect(accomplice).reportEquivocation(a, sigA, b, sigB);
      // Bounty = 10 % of the offender's own margin (1,000), never a share of its delegators' loss; the rest to the pool.
      await expect(tx)
        .to.emit(ctx.staking, "Slashed")
        .withArgs(bk.address, epoch, HMS(10_000), 0, HMS(200_000), 1000, HMS(1_000), HMS(209_000));
      await expect(tx).to.changeTokenBalance(ctx.token, accomplice, HMS(1_000));
      // Offender + accomplice: −10,000 margin + 1,000 bounty: the self-report costs it 9,000, more than it pays.
      // (Before: the bounty was 10 % of everything slashed, 21,000: the pair gained 11,000 from the delegators.)
      // Governance cannot raise the bounty above half of the margin slashed: a self-report always costs the
      // offender at least what it pays.
      await expect(ctx.staking.setParameter(Param.BountyBps, 5_001))
        .to.be.revertedWithCustomError(ctx.staking, "ParameterOutOfBounds")
        .withArgs(paramName(Param.BountyBps), 5_001, 0, 5_000);
    });

    it("committeeStanding marks a member slashed after an older election, whose keys were not touched", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk, b2, b3, b4] = ctx.bookkeepers;
      const key = await registerBookkeeper(ctx, bk, HMS(10_000), 1);
      for (const [i, b] of [b2, b3, b4].entries()) await registerBookkeeper(ctx, b, HMS(10_000), i + 2);
      const old = await electNext(ctx.staking);
      await electNext(ctx.staking);
      const latest = await electNext(ctx.staking);
      const [members] = await ctx.staking.committee(old);
      const position = members.indexOf(bk.address);
      expect((await ctx.staking.committeeStanding(old))[1]).to.equal(0n);
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, latest);
      await ctx.staking.connect(ctx.delegators[0]).reportEquivocation(a, sigA, b, sigB);
      // The old committee keeps its keys and commitment (it can no longer sign anyway) ...
      expect((await ctx.staking.committee(old))[1][position]).to.equal(key.address);
      // ... but its standing shows the member removed since, so its share of old reports is not paid.
      const [standing, removed] = await ctx.staking.committeeStanding(old);
      expect(standing).to.deep.equal(members);
      expect(removed).to.equal(1n << BigInt(position));
      // A committee elected after the removal is not affected by it.
      const after = await electNext(ctx.staking);
      expect((await ctx.staking.committeeStanding(after))[1]).to.equal(0n);
    });

    it("handles the extreme fractions: 100 % of delegations slashed, no bounty", async () => {
      const ctx = await deployStaking({ slashDelegatedBps: 10_000, bountyBps: 0 });
      const [bk] = ctx.bookkeepers;
      const [d] = ctx.delegators;
      const key = await registerBookkeeper(ctx, bk, HMS(10_000), 1);
      await delegateTo(ctx, d, bk.address, HMS(4_000));
      const epoch = await electNext(ctx.staking);
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      const tx = ctx.staking.connect(ctx.delegators[1]).reportEquivocation(a, sigA, b, sigB);
      await expect(tx)
        .to.emit(ctx.staking, "Slashed")
        .withArgs(bk.address, epoch, HMS(10_000), 0, HMS(4_000), 10_000, 0, HMS(14_000));
      await expect(tx).to.changeTokenBalance(ctx.token, ctx.delegators[1], 0);
      expect(await ctx.staking.delegationOf(bk.address, d.address)).to.deep.equal([HMS(4_000), 0n]);
      // worthless shares cannot be turned into an empty lock
      await expect(ctx.staking.connect(d).undelegate(bk.address, HMS(4_000))).to.be.revertedWithCustomError(
        ctx.staking,
        "ZeroAmount",
      );
    });

    it("does not cut a delegation lock that matured before the evidence arrived", async () => {
      const ctx = await loadFixture(defaultStaking);
      const [bk] = ctx.bookkeepers;
      const [d] = ctx.delegators;
      const key = await registerBookkeeper(ctx, bk, HMS(10_000), 1);
      await delegateTo(ctx, d, bk.address, HMS(1_000));
      const epoch = await electNext(ctx.staking);
      await ctx.staking.connect(d).undelegate(bk.address, HMS(1_000));
      await time.increase(UNBONDING);
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      await ctx.staking.reportEquivocation(a, sigA, b, sigB);
      await expect(ctx.staking.connect(d).withdraw()).to.changeTokenBalance(ctx.token, d, HMS(1_000));
    });

    it("removes a member from the latest committee when older evidence arrives, and slashes a dismissed member", async () => {
      const ctx = await loadFixture(defaultStaking);
      const bks = ctx.bookkeepers.slice(0, 3);
      const keys = [];
      for (const [i, bk] of bks.entries()) keys.push(await registerBookkeeper(ctx, bk, MIN_MARGIN, i + 1));
      const e1 = await electNext(ctx.staking);
      const e2 = await electNext(ctx.staking);
      const e3 = await electNext(ctx.staking);
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, keys[0], e1);
      const tx = ctx.staking.reportEquivocation(a, sigA, b, sigB);
      for (const e of [e1, e2, e3])
        await expect(tx).to.emit(ctx.staking, "CommitteeMemberRemoved").withArgs(e, bks[0].address, anyValue, anyValue);
      for (const e of [e1, e2, e3]) expect((await ctx.staking.membership(e, bks[0].address))[2]).to.equal(true);
    });
  });

  describe("mining pool", () => {
    async function slashedFixture() {
      const ctx = await deployStaking();
      const [bk] = ctx.bookkeepers;
      const key = await registerBookkeeper(ctx, bk, HMS(10_000), 1);
      const epoch = await electNext(ctx.staking);
      return { ctx, bk, key, epoch };
    }

    it("holds slashed funds until governance sets the pool, then anyone forwards them", async () => {
      const { ctx, key, epoch } = await loadFixture(slashedFixture);
      await expect(ctx.staking.flushToPool()).to.be.revertedWithCustomError(ctx.staking, "MiningPoolNotSet");
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      await ctx.staking.reportEquivocation(a, sigA, b, sigB);
      expect(await ctx.staking.pendingPoolFunds()).to.equal(HMS(9_000));
      await expect(
        ctx.staking.connect(ctx.bookkeepers[1]).setMiningPool(ctx.pool.target),
      ).to.be.revertedWithCustomError(ctx.staking, "AccessControlUnauthorizedAccount");
      await expect(ctx.staking.setMiningPool(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        ctx.staking,
        "ZeroAddress",
      );
      await expect(ctx.staking.setMiningPool(ctx.bookkeepers[1].address))
        .to.be.revertedWithCustomError(ctx.staking, "NotAContract")
        .withArgs(ctx.bookkeepers[1].address);
      await expect(ctx.staking.setMiningPool(ctx.pool.target))
        .to.emit(ctx.staking, "MiningPoolSet")
        .withArgs(ethers.ZeroAddress, ctx.pool.target);
      expect(await ctx.staking.miningPool()).to.equal(ctx.pool.target);
      const tx6 = ctx.staking.connect(ctx.delegators[0]).flushToPool();
      await expect(tx6).to.emit(ctx.staking, "PoolFunded").withArgs(ctx.pool.target, HMS(9_000));
      await expect(tx6).to.changeTokenBalances(ctx.token, [ctx.staking, ctx.pool], [-HMS(9_000), HMS(9_000)]);
      expect(await ctx.staking.pendingPoolFunds()).to.equal(0n);
      expect(await ctx.token.allowance(ctx.staking.target, ctx.pool.target)).to.equal(0n);
      await expect(ctx.staking.flushToPool()).to.be.revertedWithCustomError(ctx.staking, "NothingToFlush");
    });

    it("funds the pool at once when set; a reverting, stingy or re-entering pool never blocks slashing", async () => {
      const { ctx, key, epoch } = await loadFixture(slashedFixture);
      await ctx.staking.setMiningPool(ctx.pool.target);
      await ctx.pool.setMode(1); // Revert
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      await expect(ctx.staking.reportEquivocation(a, sigA, b, sigB))
        .to.emit(ctx.staking, "PoolFundsPending")
        .withArgs(0, HMS(9_000));
      expect(await ctx.staking.pendingPoolFunds()).to.equal(HMS(9_000));
      expect(await ctx.token.allowance(ctx.staking.target, ctx.pool.target)).to.equal(0n);
      await ctx.pool.setMode(2); // PullHalf
      await expect(ctx.staking.flushToPool()).to.emit(ctx.staking, "PoolFunded").withArgs(ctx.pool.target, HMS(4_500));
      expect(await ctx.staking.pendingPoolFunds()).to.equal(HMS(4_500));
      await ctx.pool.setMode(3); // Reenter
      await expect(ctx.staking.flushToPool()).to.emit(ctx.staking, "PoolFunded").withArgs(ctx.pool.target, HMS(4_500));
      expect(await ctx.pool.reentered()).to.equal(false);
      expect(await ctx.staking.pendingPoolFunds()).to.equal(0n);
      expect(await ctx.token.balanceOf(ctx.pool.target)).to.equal(HMS(9_000));
    });

    it("sends slashed funds straight to a working pool", async () => {
      const { ctx, key, epoch } = await loadFixture(slashedFixture);
      await ctx.staking.setMiningPool(ctx.pool.target);
      const { a, sigA, b, sigB } = await conflictingProposals(ctx, key, epoch);
      await expect(ctx.staking.reportEquivocation(a, sigA, b, sigB))
        .to.emit(ctx.pool, "Funded")
        .withArgs(ctx.staking.target, HMS(9_000));
      expect(await ctx.staking.pendingPoolFunds()).to.equal(0n);
    });

    it("only the council may apply verdicts", async () => {
      const ctx = await loadFixture(defaultStaking);
      await expect(ctx.staking.councilDismiss(ctx.bookkeepers[0].address, false))
        .to.be.revertedWithCustomError(ctx.staking, "NotCouncil")
        .withArgs(ctx.deployer.address);
    });
  });

  it("keeps electing with mined blocks in between (smoke)", async () => {
    const ctx = await loadFixture(defaultStaking);
    await registerBookkeeper(ctx, ctx.bookkeepers[0], MIN_MARGIN, 1);
    for (let i = 0; i < 3; i++) {
      await electNext(ctx.staking);
      await mine(3);
    }
    expect(await ctx.staking.lastElectedEpoch()).to.equal(3n);
  });
});
