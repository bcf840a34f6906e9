/**
 * Gas of the main staking calls (figures recorded in docs/GAS.md). Prints `receipt.gasUsed` and asserts
 * generous ceilings so that a regression fails loudly:
 *
 *   npx hardhat test test/staking/gas.test.ts
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { keccak256, toHex } from "viem";
import type { ContractTransactionResponse } from "ethers";
import {
  conflictingProposals,
  deployStaking,
  electNext,
  HMS,
  MIN_MARGIN,
  Param,
  signingKey,
  type StakingContext,
} from "./helpers";
import { signedRegistry } from "../helpers/keys";
import { skipUnderCoverage } from "../helpers/coverage";

const rows: [string, bigint][] = [];
async function gas(label: string, tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  rows.push([label, receipt!.gasUsed]);
  return receipt!.gasUsed;
}

/** Registers `count` more candidates from fresh accounts, each with its own key, margin and self-votes. */
async function addCandidates(ctx: StakingContext, from: number, count: number) {
  const wallets = [];
  for (let i = from; i < from + count; i++) {
    const wallet = new ethers.Wallet(keccak256(toHex(`hms-gas/candidate/${i}`)), ethers.provider);
    await network.provider.send("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
    const margin = MIN_MARGIN + HMS(37 * ((i * 7919) % 1000));
    await ctx.token.transfer(wallet.address, margin + HMS(100 + i));
    await ctx.token.connect(wallet).approve(ctx.staking.target, margin);
    await ctx.token.connect(wallet).delegate(wallet.address); // votes: the tokens it keeps
    await signedRegistry(ctx.registry, wallet).setBookkeeperKey(signingKey(1000 + i));
    await ctx.staking.connect(wallet).register(margin, 500);
    wallets.push(wallet);
  }
  return wallets;
}

describe("staking gas", function () {
  before(function () {
    skipUnderCoverage(this);
  });
  this.timeout(300_000);

  after(() => {
    console.log("\n      call                                                          gas");
    for (const [label, used] of rows) console.log(`      ${label.padEnd(60)} ${used.toString().padStart(10)}`);
  });

  it("registry, registration, delegation, unbonding, rewards", async () => {
    const ctx = await deployStaking();
    const [op, bk, bk2] = ctx.bookkeepers;
    const [d1, d2] = ctx.delegators;
    const rewarder = ctx.signers[12];
    await gas(
      "NodeRegistry.registerNode (storage, 27-byte endpoint)",
      signedRegistry(ctx.registry, op).registerNode(
        {
          nodeId: keccak256(toHex("node")),
          kind: 0,
          tier: 1,
          region: 156,
          capacity: 4096n,
          signingKey: signingKey(500).address,
          payout: op.address,
          endpoint: "https://node-1.example:4001",
        },
        signingKey(500),
      ),
    );
    await gas(
      "NodeRegistry.setBookkeeperKey (first key)",
      signedRegistry(ctx.registry, bk).setBookkeeperKey(signingKey(1)),
    );
    await signedRegistry(ctx.registry, bk2).setBookkeeperKey(signingKey(2));
    await gas("(scale) HMSToken.transfer to a fresh holder", ctx.token.transfer(bk.address, HMS(1)));
    for (const who of [bk, bk2, d1, d2]) {
      await ctx.token.transfer(who.address, HMS(100_000));
      await ctx.token.connect(who).approve(ctx.staking.target, ethers.MaxUint256);
    }
    expect(
      await gas("BookkeeperStaking.register (first bookkeeper)", ctx.staking.connect(bk).register(MIN_MARGIN, 500)),
    ).to.be.lessThan(200_000n);
    await gas("BookkeeperStaking.register (second bookkeeper)", ctx.staking.connect(bk2).register(MIN_MARGIN, 500));
    await gas("BookkeeperStaking.topUp", ctx.staking.connect(bk).topUp(HMS(1_000)));
    expect(
      await gas(
        "BookkeeperStaking.delegate (first into a pool)",
        ctx.staking.connect(d1).delegate(bk.address, HMS(5_000)),
      ),
    ).to.be.lessThan(120_000n);
    await gas(
      "BookkeeperStaking.delegate (second delegator)",
      ctx.staking.connect(d2).delegate(bk.address, HMS(5_000)),
    );
    await gas(
      "BookkeeperStaking.delegate (top-up of a position)",
      ctx.staking.connect(d2).delegate(bk.address, HMS(1_000)),
    );
    await gas(
      "BookkeeperStaking.undelegate (creates a lock)",
      ctx.staking.connect(d1).undelegate(bk.address, HMS(1_000)),
    );
    await gas("BookkeeperStaking.unbond (margin, creates a lock)", ctx.staking.connect(bk).unbond(HMS(500)));
    await network.provider.send("evm_increaseTime", [31 * 24 * 3600]);
    await gas("BookkeeperStaking.withdraw (one matured lock)", ctx.staking.connect(d1).withdraw());
    await ctx.staking.grantRole(await ctx.staking.REWARDER_ROLE(), rewarder.address);
    await ctx.token.transfer(rewarder.address, HMS(1_000));
    await ctx.token.connect(rewarder).approve(ctx.staking.target, ethers.MaxUint256);
    await gas(
      "BookkeeperStaking.creditRewards (2 bookkeepers)",
      ctx.staking.connect(rewarder).creditRewards([bk.address, bk2.address], [HMS(10), HMS(10)]),
    );
    const epoch = await electNext(ctx.staking);
    await gas(
      "BookkeeperStaking.recordMissedDuty (1 member)",
      ctx.staking.connect(rewarder).recordMissedDuty(epoch, [bk2.address]),
    );
  });

  it("elect with 16, 48, 256 and 512 candidates (n = 4 and n = 48), report equivocation", async () => {
    const ctx = await deployStaking();
    const wallets = await addCandidates(ctx, 0, 16);
    await electNext(ctx.staking); // warm-up election: later ones are what a daily election costs
    const { epoch: e16 } = await nextAndElect(ctx, "elect: 16 candidates, n = 4");
    const [members] = await ctx.staking.committee(e16);
    const i = wallets.findIndex((w) => w.address === members[3]);
    const ev = await conflictingProposals(ctx, signingKey(1000 + i), e16);
    expect(
      await gas(
        "reportEquivocation (n = 4, pool not set)",
        ctx.staking.reportEquivocation(ev.a, ev.sigA, ev.b, ev.sigB),
      ),
    ).to.be.lessThan(300_000n);

    wallets.push(...(await addCandidates(ctx, 16, 33)));
    await nextAndElect(ctx, "elect: 48 candidates, n = 4");
    await ctx.staking.setParameter(Param.CommitteeSize, 48);
    const { epoch: e48 } = await nextAndElect(ctx, "elect: 48 candidates, n = 48");
    const [m48] = await ctx.staking.committee(e48);
    const j = wallets.findIndex((w) => w.address === m48[47]);
    await ctx.staking.setMiningPool(ctx.pool.target);
    const ev48 = await conflictingProposals(ctx, signingKey(1000 + j), e48);
    await gas(
      "reportEquivocation (n = 48, last position, pool set)",
      ctx.staking.reportEquivocation(ev48.a, ev48.sigA, ev48.b, ev48.sigB),
    );

    await addCandidates(ctx, 49, 208);
    await ctx.staking.setParameter(Param.CommitteeSize, 4);
    await nextAndElect(ctx, "elect: 256 candidates, n = 4");
    await ctx.staking.setParameter(Param.CommitteeSize, 48);
    expect((await nextAndElect(ctx, "elect: 256 candidates, n = 48")).used).to.be.lessThan(10_000_000n);

    // The hard cap: 512 candidates, n = 48, registered in ascending weight order (the worst case).
    await ctx.staking.setParameter(Param.MaxCandidates, 512);
    await addCandidates(ctx, 257, 256);
    const { used } = await nextAndElect(ctx, "elect: 512 candidates (cap), n = 48");
    expect(used).to.be.lessThan(15_000_000n); // half a 30M block
  });

  /** Moves to just after the next epoch start and elects; returns the epoch and the gas used. */
  async function nextAndElect(ctx: StakingContext, label: string): Promise<{ epoch: bigint; used: bigint }> {
    const epoch = (await ctx.staking.currentEpoch()) + 1n;
    await network.provider.send("evm_setNextBlockTimestamp", [Number((await ctx.staking.epochStart(epoch)) + 1n)]);
    await network.provider.send("evm_mine", []);
    return { epoch, used: await gas(`BookkeeperStaking.${label}`, ctx.staking.elect()) };
  }
});
