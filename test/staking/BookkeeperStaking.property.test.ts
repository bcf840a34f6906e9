/**
 * Property test: random sequences of register / top-up / delegate / vote / unbond / undelegate / withdraw /
 * reward / missed duty / elect / slash with time jumps. After every step:
 *   1. the contract's token balance equals all margins + delegated pools + pending locks + funds held for
 *      the mining pool (nothing is created or lost);
 *   2. nothing is withdrawn before its wait ends (and every matured lock can be withdrawn);
 *   3. a slash never exceeds the stake it comes from (margin, unbonding margin, delegations, each lock);
 *   4. every elected committee is exactly the top n candidates by weight (ties: lower address);
 *   5. delegation pools stay solvent: the delegators' shares are never worth more than the pool;
 *   6. a council dismissal forfeits exactly the margin and the margin locks still unbonding (a bookkeeper that
 *      unbonded first does not escape it), and what it forfeits can never be withdrawn.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import type { ContractTransactionResponse, Log } from "ethers";
import { electionWeight } from "../../offchain/chain/staking";
import { conflictingProposals, deployStaking, HMS, signingKey, type StakingContext } from "./helpers";
import { signedRegistry } from "../helpers/keys";

const N_BOOKKEEPERS = 5;
const N_DELEGATORS = 4;
const COMMITTEE = 3;

async function propertyFixture() {
  const ctx = await deployStaking({ committeeSize: COMMITTEE, unbondingPeriod: 2n * 24n * 3600n });
  const rewarder = ctx.signers[12];
  await ctx.staking.grantRole(await ctx.staking.REWARDER_ROLE(), rewarder.address);
  const everyone = [...ctx.bookkeepers.slice(0, N_BOOKKEEPERS), ...ctx.delegators.slice(0, N_DELEGATORS), rewarder];
  for (const who of everyone) {
    await ctx.token.transfer(who.address, HMS(1_000_000));
    await ctx.token.connect(who).approve(ctx.staking.target, ethers.MaxUint256);
  }
  for (let i = 0; i < N_BOOKKEEPERS; i++) {
    await signedRegistry(ctx.registry, ctx.bookkeepers[i]).setBookkeeperKey(signingKey(i + 1));
  }
  await ctx.staking.setMiningPool(ctx.pool.target);
  return { ctx, rewarder };
}

type Step =
  | { kind: "register"; bk: number; amount: number; commission: number }
  | { kind: "topUp"; pick: number; amount: number }
  | { kind: "unbond"; pick: number; full: boolean; permille: number }
  | { kind: "delegate"; d: number; pick: number; amount: number }
  | { kind: "undelegate"; pick: number; permille: number }
  | { kind: "vote"; d: number; pick: number }
  | { kind: "withdraw"; pick: number }
  | { kind: "reward"; pick: number; amount: number }
  | { kind: "miss"; member: number; count: number }
  | { kind: "elect" }
  | { kind: "slash"; member: number; period: number }
  | { kind: "dismiss"; bk: number }
  | { kind: "wait"; seconds: number };

const bk = fc.integer({ min: 0, max: N_BOOKKEEPERS - 1 });
const d = fc.integer({ min: 0, max: N_DELEGATORS - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("register" as const),
      bk,
      amount: fc.integer({ min: 9_000, max: 60_000 }),
      commission: fc.integer({ min: 0, max: 5_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("topUp" as const),
      pick: fc.nat(),
      amount: fc.integer({ min: 1, max: 20_000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("unbond" as const),
      pick: fc.nat(),
      full: fc.boolean(),
      permille: fc.integer({ min: 1, max: 1_000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("delegate" as const),
      d,
      pick: fc.nat(),
      amount: fc.integer({ min: 1, max: 50_000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("undelegate" as const),
      pick: fc.nat(),
      permille: fc.integer({ min: 1, max: 1_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("vote" as const), d, pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("reward" as const),
      pick: fc.nat(),
      amount: fc.integer({ min: 1, max: 5_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("miss" as const),
      member: fc.integer({ min: 0, max: COMMITTEE - 1 }),
      count: fc.integer({ min: 1, max: 30 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "elect" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("slash" as const),
      member: fc.nat(),
      period: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("dismiss" as const), bk }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 600, max: 5 * 24 * 3600 }) }),
  },
);

/** Most runs start with a few registrations and delegations so that elections and slashes matter. */
const setup: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant("register" as const),
      bk,
      amount: fc.integer({ min: 10_000, max: 60_000 }),
      commission: fc.integer({ min: 0, max: 5_000 }),
    }),
    fc.record({
      kind: fc.constant("delegate" as const),
      d,
      pick: fc.nat(),
      amount: fc.integer({ min: 1, max: 50_000 }),
    }),
  ),
  { minLength: 0, maxLength: 8 },
);

interface Model {
  /** lockId → releaseAt, for every lock ever created */
  releaseAt: Map<bigint, bigint>;
}

async function events(ctx: StakingContext, tx: ContractTransactionResponse) {
  const receipt = await tx.wait();
  const parsed = [];
  for (const log of receipt!.logs as Log[]) {
    if (log.address !== ctx.staking.target) continue;
    const p = ctx.staking.interface.parseLog(log);
    if (p) parsed.push(p);
  }
  const block = await ethers.provider.getBlock(receipt!.blockNumber);
  return { parsed, timestamp: BigInt(block!.timestamp) };
}

async function accountedBalance(ctx: StakingContext, accounts: string[]): Promise<bigint> {
  let total = await ctx.staking.pendingPoolFunds();
  for (let i = 0; i < N_BOOKKEEPERS; i++) {
    const info = await ctx.staking.bookkeeperInfo(ctx.bookkeepers[i].address);
    total += info.margin + info.delegated;
  }
  for (const a of accounts) {
    const [locks] = await ctx.staking.locksOf(a);
    for (const l of locks) total += l.amount;
  }
  return total;
}

/** Top `n` eligible candidates by weight as the contract must rank them, computed from raw state. */
async function expectedCommittee(ctx: StakingContext) {
  const epoch = await ctx.staking.currentEpoch();
  const snapshot = await ctx.staking.epochStart(epoch);
  const p = await ctx.staking.parameters();
  const ranked: { who: string; w: bigint }[] = [];
  for (const who of await ctx.staking.candidates()) {
    const info = await ctx.staking.bookkeeperInfo(who);
    if (info.margin < p.minMargin) continue;
    if ((await ctx.registry.bookkeeperKeyOf(who)) === ethers.ZeroAddress) continue;
    const votes = await ctx.token.getPastVotes(who, snapshot);
    ranked.push({ who, w: electionWeight(info.margin + info.delegated, votes, info.pendingMisses, p.missPenaltyCap) });
  }
  ranked.sort((a, b) => (a.w === b.w ? (BigInt(a.who) < BigInt(b.who) ? -1 : 1) : a.w > b.w ? -1 : 1));
  return { all: ranked, top: ranked.slice(0, Number(p.committeeSize)) };
}

describe("BookkeeperStaking: property-based invariants", function () {
  this.timeout(600_000);

  it("conserves tokens, honours unbonding waits, bounds slashes and always elects the top n", async () => {
    let actions = 0;
    let elections = 0;
    let slashes = 0;
    let withdrawals = 0;
    let locksCreated = 0;
    let lateCuts = 0;
    let dismissals = 0;
    await fc.assert(
      fc.asyncProperty(setup, fc.array(step, { minLength: 10, maxLength: 30 }), async (initial, rest) => {
        const steps = [...initial, ...rest];
        const { ctx, rewarder } = await loadFixture(propertyFixture);
        const s = ctx.staking;
        const bookkeepers = ctx.bookkeepers.slice(0, N_BOOKKEEPERS);
        const delegators = ctx.delegators.slice(0, N_DELEGATORS);
        const accounts = [...bookkeepers, ...delegators].map((a) => a.address);
        const model: Model = { releaseAt: new Map() };
        /** A registered candidate (any bookkeeper if none is registered: the call then reverts). */
        const pickCandidate = async (pick: number) => {
          const list = await s.candidates();
          const address = list.length > 0 ? list[pick % list.length] : bookkeepers[pick % N_BOOKKEEPERS].address;
          return bookkeepers.find((b) => b.address === address)!;
        };

        for (const st of steps) {
          actions++;
          let tx: ContractTransactionResponse | undefined;
          let expected: Awaited<ReturnType<typeof expectedCommittee>> | undefined;
          const stakeBefore = new Map<
            string,
            { margin: bigint; delegated: bigint; ownLocks: bigint; locks: Map<bigint, bigint> }
          >();
          try {
            switch (st.kind) {
              case "register":
                tx = await s.connect(bookkeepers[st.bk]).register(HMS(st.amount), st.commission);
                break;
              case "topUp":
                tx = await s.connect(await pickCandidate(st.pick)).topUp(HMS(st.amount));
                break;
              case "unbond": {
                // everything, or part of what exceeds the minimum while registered
                const withMargin = [];
                for (const b of bookkeepers) if ((await s.bookkeeperInfo(b.address)).margin > 0n) withMargin.push(b);
                const who = withMargin.length > 0 ? withMargin[st.pick % withMargin.length] : bookkeepers[0];
                const info = await s.bookkeeperInfo(who.address);
                const min = info.status === 1n ? (await s.parameters()).minMargin : 0n;
                const free = info.margin > min ? info.margin - min : 0n;
                const amount = st.full ? info.margin : (free * BigInt(st.permille)) / 1000n;
                tx = await s.connect(who).unbond(amount);
                break;
              }
              case "delegate":
                tx = await s.connect(delegators[st.d]).delegate((await pickCandidate(st.pick)).address, HMS(st.amount));
                break;
              case "undelegate": {
                // pick among the existing delegations
                const pairs: { d: number; b: number; shares: bigint }[] = [];
                for (let di = 0; di < N_DELEGATORS; di++) {
                  for (let bi = 0; bi < N_BOOKKEEPERS; bi++) {
                    const [shares] = await s.delegationOf(bookkeepers[bi].address, delegators[di].address);
                    if (shares > 0n) pairs.push({ d: di, b: bi, shares });
                  }
                }
                const pair = pairs.length > 0 ? pairs[st.pick % pairs.length] : { d: 0, b: 0, shares: 0n };
                tx = await s
                  .connect(delegators[pair.d])
                  .undelegate(bookkeepers[pair.b].address, (pair.shares * BigInt(st.permille)) / 1000n);
                break;
              }
              case "vote":
                tx = await ctx.token.connect(delegators[st.d]).delegate((await pickCandidate(st.pick)).address);
                break;
              case "withdraw": {
                // pick among the accounts that have locks (any account if none has)
                const all = [...bookkeepers, ...delegators];
                const withLocks = [];
                for (const a of all) if ((await s.locksOf(a.address))[0].length > 0) withLocks.push(a);
                const pool = withLocks.length > 0 ? withLocks : all;
                const who = pool[st.pick % pool.length];
                const [locks] = await s.locksOf(who.address);
                const now = BigInt(await time.latest());
                await time.setNextBlockTimestamp(now + 1n); // the withdrawal runs at exactly now + 1
                const matured = locks.filter((l) => l.releaseAt <= now + 1n).length;
                if (matured === 0) {
                  await expect(s.connect(who).withdraw()).to.be.revertedWithCustomError(s, "NothingToWithdraw");
                } else {
                  const m = new Map<bigint, bigint>();
                  for (const l of locks) m.set(l.id, l.amount);
                  stakeBefore.set(who.address, { margin: 0n, delegated: 0n, ownLocks: 0n, locks: m });
                  tx = await s.connect(who).withdraw();
                }
                break;
              }
              case "reward":
                tx = await s
                  .connect(rewarder)
                  .creditRewards([(await pickCandidate(st.pick)).address], [HMS(st.amount)]);
                break;
              case "miss": {
                const epoch = await s.lastElectedEpoch();
                const [members] = await s.committee(epoch);
                const member = members[st.member % members.length];
                tx = await s.connect(rewarder).recordMissedDuty(epoch, Array(st.count).fill(member));
                break;
              }
              case "elect":
                expected = await expectedCommittee(ctx);
                tx = await s.elect();
                break;
              case "slash": {
                // a member of the latest committee equivocates
                const epoch = await s.lastElectedEpoch();
                const [members] = await s.committee(epoch);
                const who = members[st.member % members.length];
                const index = bookkeepers.findIndex((b) => b.address === who);
                const info = await s.bookkeeperInfo(who);
                const [locks] = await s.locksOf(who);
                const ownLocks = locks.filter((l) => l.own).reduce((a, l) => a + l.amount, 0n);
                stakeBefore.set(who, { margin: info.margin, delegated: info.delegated, ownLocks, locks: new Map() });
                const ev = await conflictingProposals(ctx, signingKey(index + 1), epoch, BigInt(st.period));
                tx = await s.connect(delegators[0]).reportEquivocation(ev.a, ev.sigA, ev.b, ev.sigB);
                break;
              }
              case "dismiss": {
                // three of the seven council members (more than 1/3) dismiss a bookkeeper, unbonding or not
                const who = bookkeepers[st.bk].address;
                await ctx.council.connect(ctx.members[0]).propose(2, who, "property");
                await ctx.council.connect(ctx.members[1]).vote(2, who);
                const info = await s.bookkeeperInfo(who);
                const [locks] = await s.locksOf(who);
                const now = BigInt(await time.latest());
                await time.setNextBlockTimestamp(now + 1n);
                const ownLocks = locks
                  .filter((l) => l.own && l.releaseAt > now + 1n)
                  .reduce((a, l) => a + l.amount, 0n);
                stakeBefore.set(who, { margin: info.margin, delegated: info.delegated, ownLocks, locks: new Map() });
                tx = await ctx.council.connect(ctx.members[2]).vote(2, who);
                break;
              }
              case "wait":
                await time.increase(st.seconds);
                break;
            }
          } catch (err) {
            // Invalid actions revert with a custom error of the contract (or the token); state is unchanged.
            // Anything else (a panic, an unexpected revert) fails the property. Under coverage instrumentation the
            // errors of the linked BookkeeperLogic are reported as unrecognized custom errors.
            if (!/reverted with (an unrecognized )?custom error/.test((err as Error).message)) throw err;
            tx = undefined;
          }

          if (tx !== undefined) {
            const { parsed, timestamp } = await events(ctx, tx);
            for (const e of parsed) {
              if (e.name === "UnbondingRequested") {
                locksCreated++;
                model.releaseAt.set(e.args.lockId, e.args.releaseAt);
                expect(e.args.releaseAt).to.equal(timestamp + (await s.parameters()).unbondingPeriod);
              } else if (e.name === "Withdrawn") {
                withdrawals++;
                if (e.args.slashed > 0n) lateCuts++;
                // (2) never before the wait ends
                expect(model.releaseAt.get(e.args.lockId)! <= timestamp, "withdrawn before release").to.equal(true);
                // (3) a lock's slash never exceeds the lock
                const before = stakeBefore.get(e.args.account)!.locks.get(e.args.lockId)!;
                expect(e.args.paid + e.args.slashed).to.equal(before);
              } else if (e.name === "Slashed") {
                slashes++;
                const before = stakeBefore.get(e.args.bookkeeper)!;
                expect(e.args.margin).to.equal(before.margin);
                expect(e.args.unbondingMargin <= before.ownLocks).to.equal(true);
                expect(e.args.delegated <= before.delegated).to.equal(true);
                expect(e.args.bounty + e.args.toPool).to.equal(
                  e.args.margin + e.args.unbondingMargin + e.args.delegated,
                );
              } else if (e.name === "BookkeeperDismissed") {
                dismissals++;
                // (6) exactly the margin and the margin still unbonding, nothing of it left to withdraw
                const before = stakeBefore.get(e.args.bookkeeper)!;
                expect(e.args.forfeited).to.equal(before.margin + before.ownLocks);
                const [left] = await s.locksOf(e.args.bookkeeper);
                for (const l of left) if (l.own) expect(l.releaseAt <= timestamp).to.equal(true);
                expect((await s.bookkeeperInfo(e.args.bookkeeper)).margin).to.equal(0n);
              } else if (e.name === "CommitteeElected") {
                elections++;
                // (4) exactly the top n by weight
                const got = [...e.args.bookkeepers].map((a: string, i: number) => ({
                  who: a,
                  w: e.args.weights[i] as bigint,
                }));
                got.sort((a, b) => (a.w === b.w ? (BigInt(a.who) < BigInt(b.who) ? -1 : 1) : a.w > b.w ? -1 : 1));
                expect(got).to.deep.equal(expected!.top);
                const lowest = got[got.length - 1];
                for (const other of expected!.all.slice(got.length)) expect(other.w <= lowest.w).to.equal(true);
              }
            }
            // (2) whatever is left after a withdrawal has not matured
            if (st.kind === "withdraw") {
              const [left] = await s.locksOf(tx.from);
              for (const l of left) expect(l.releaseAt > timestamp).to.equal(true);
            }
          }

          // (1) conservation
          expect(await ctx.token.balanceOf(s.target)).to.equal(await accountedBalance(ctx, accounts));
          // (5) pools solvent
          for (const b of bookkeepers) {
            const info = await s.bookkeeperInfo(b.address);
            let shares = 0n;
            let value = 0n;
            for (const dd of delegators) {
              const [sh, v] = await s.delegationOf(b.address, dd.address);
              shares += sh;
              value += v;
            }
            expect(shares).to.equal(info.shares);
            expect(value <= info.delegated).to.equal(true);
          }
        }
      }),
      {
        numRuns: Number(process.env.STAKING_PROPERTY_RUNS ?? 50),
        seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined,
      },
    );
    console.log(
      `      ${actions} actions: ${elections} elections, ${slashes} slashes, ${locksCreated} locks, ` +
        `${withdrawals} withdrawn (${lateCuts} with a delegated-stake cut), ${dismissals} dismissals`,
    );
    expect(elections).to.be.greaterThan(0);
    expect(slashes).to.be.greaterThan(0);
    expect(withdrawals).to.be.greaterThan(0);
    expect(dismissals).to.be.greaterThan(0);
  });
});
