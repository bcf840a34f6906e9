/**
 * Property: HMSToken keeps each account's balance and votes delegate in one packed slot (docs/GAS.md, claims). Whatever
 * the sequence of transfers, approvals + transferFroms, delegations and time jumps, it behaves exactly like a plain
 * OpenZeppelin ERC20 + Permit + Votes (contracts/test/ReferenceVotesToken.sol): the same balances, supply, delegates,
 * current and past votes, and the same reverts.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HMSToken, ReferenceVotesToken } from "../../typechain-types";

const N = 5;
const E = 10n ** 18n;

type Step =
  | { kind: "transfer"; from: number; to: number; amount: bigint }
  | { kind: "transferFrom"; owner: number; spender: number; to: number; amount: bigint; allowance: bigint }
  | { kind: "delegate"; from: number; to: number }
  | { kind: "wait"; seconds: number };

const who = fc.integer({ min: 0, max: N - 1 });
const amount = fc.oneof(
  fc.bigInt({ min: 0n, max: 1_000n * E }),
  fc.constant(0n),
  fc.bigInt({ min: 1n, max: 10n ** 30n }),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("transfer" as const), from: who, to: who, amount }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("transferFrom" as const),
      owner: who,
      spender: who,
      to: who,
      amount,
      allowance: amount,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("delegate" as const),
      from: who,
      to: fc.integer({ min: -1, max: N - 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 1, max: 5_000 }) }),
  },
);

async function tokens() {
  const signers = (await ethers.getSigners()).slice(0, N);
  const hms = await (await ethers.getContractFactory("HMSToken")).deploy(signers[0].address);
  const ref = await (await ethers.getContractFactory("ReferenceVotesToken")).deploy(signers[0].address);
  for (let i = 1; i < N; i++) {
    await hms.transfer(signers[i].address, 1_000n * E * BigInt(i));
    await ref.transfer(signers[i].address, 1_000n * E * BigInt(i));
  }
  return { signers, hms, ref };
}

/** Runs `f` on both tokens; both succeed, or both revert with the same error. */
type Token = HMSToken | ReferenceVotesToken;

async function both(f: (t: Token) => Promise<unknown>, hms: Token, ref: Token): Promise<boolean> {
  const outcome = async (t: Token) =>
    f(t).then(
      () => "ok",
      (e: Error) => {
        const m = /reverted with custom error '(\w+)\((.*)\)'/.exec(e.message);
        if (!m) throw e;
        return `${m[1]}(${m[2]})`;
      },
    );
  const a = await outcome(hms);
  const b = await outcome(ref);
  expect(a).to.equal(b);
  return a === "ok";
}

describe("HMSToken (property): packed account slots behave like OpenZeppelin ERC20Votes", () => {
  it("same balances, supply, delegates, votes and past votes as the reference, after any sequence", async function () {
    this.timeout(300_000);
    let actions = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
        const { signers, hms, ref } = await loadFixture(tokens);
        const at = (i: number) => (i < 0 ? ethers.ZeroAddress : signers[i].address);
        const snapshots: [bigint, bigint][] = [];
        for (const st of steps) {
          actions++;
          if (st.kind === "transfer") {
            await both((t) => t.connect(signers[st.from]).transfer(at(st.to), st.amount), hms, ref);
          } else if (st.kind === "transferFrom") {
            await both((t) => t.connect(signers[st.owner]).approve(at(st.spender), st.allowance), hms, ref);
            await both(
              (t) => t.connect(signers[st.spender]).transferFrom(at(st.owner), at(st.to), st.amount),
              hms,
              ref,
            );
          } else if (st.kind === "delegate") {
            await both((t) => t.connect(signers[st.from]).delegate(at(st.to)), hms, ref);
          } else {
            await time.increase(st.seconds);
          }
          const now = BigInt(await time.latest());
          snapshots.push([now, now]);
          expect(await hms.totalSupply()).to.equal(await ref.totalSupply());
          for (let i = 0; i < N; i++) {
            const a = at(i);
            expect(await hms.balanceOf(a)).to.equal(await ref.balanceOf(a));
            expect(await hms.delegates(a)).to.equal(await ref.delegates(a));
            expect(await hms.getVotes(a)).to.equal(await ref.getVotes(a));
            expect(await hms.numCheckpoints(a)).to.equal(await ref.numCheckpoints(a));
          }
        }
        await time.increase(1);
        for (const [t] of snapshots) {
          for (let i = 0; i < N; i++) {
            expect(await hms.getPastVotes(at(i), t)).to.equal(await ref.getPastVotes(at(i), t));
          }
          expect(await hms.getPastTotalSupply(t)).to.equal(await ref.getPastTotalSupply(t));
        }
      }),
      { numRuns: Number(process.env.TOKEN_PROPERTY_RUNS ?? 40) },
    );
    expect(actions).to.be.greaterThan(0);
  });
});
