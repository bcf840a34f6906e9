/**
 * Property: whatever the sequence of reports (empty or not, with skipped periods), claims, batch claims, fundings,
 * bookkeeper settlements, reclaims and time jumps —
 *   - the pool's token balance always equals what was funded minus what was paid (to nodes and to bookkeepers),
 *   - what was paid never exceeds what was released, and what was released never exceeds what was funded plus
 *     what came back,
 *   - a period's claims never exceed its node emission, and the balance is exactly the unreleased reserve plus
 *     every open liability (unclaimed node emission, unsettled bookkeeper shares),
 *   - a quorum-signed report lands only if it builds on the first unreported period (`fromPeriod = nextPeriod`,
 *     else `ReportBaseMismatch`, or `EmptyReportRange` past its own period), so the ranges of the reports that land
 *     partition the periods: no traffic is paid twice,
 *   - every member who signed — in the submitted bitmap or added later with `addSignatures` during the signature
 *     window — is paid the same share and never recorded as missing duty; settlement never runs inside the window.
 * "Paid" is observed independently from the token's Transfer events out of the pool.
 */
import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Hex } from "viem";
import { HMS } from "../helpers/fixtures";
import {
  electCommittee,
  endOfPeriod,
  first,
  nodeId,
  period,
  rewardsSystem,
  signQuorum,
  DAY,
  SIGNATURE_WINDOW,
} from "./fixtures";
import { ledgerFrom } from "../../offchain/protocol/ledger";
import { buildReport, type BuiltReport } from "../../offchain/protocol/report";
import { batchClaim, claimArgs, settlement, type ReportedPeriod } from "../../offchain/chain/rewards";

const NODES = 6;

type Action =
  | { kind: "report"; skip: number; traffic: number[]; topN: number; signers: number; rebase: number }
  | { kind: "claim"; pick: number; node: number }
  | { kind: "batch"; node: number }
  | { kind: "fund"; amount: bigint }
  | { kind: "settle"; pick: number }
  | { kind: "sign"; pick: number; mask: number }
  | { kind: "reclaim"; pick: number }
  | { kind: "jump"; seconds: bigint };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("report" as const),
      skip: fc.nat({ max: 3 }),
      traffic: fc.array(fc.nat({ max: 5_000 }), { minLength: NODES, maxLength: NODES }),
      topN: fc.integer({ min: 1, max: NODES }),
      signers: fc.integer({ min: 5, max: 7 }),
      // fromPeriod − nextPeriod: mostly 0 (an honest report), sometimes behind or ahead.
      rebase: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: -2, max: 4 }) },
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("claim" as const), pick: fc.nat(), node: fc.nat({ max: NODES - 1 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("batch" as const), node: fc.nat({ max: NODES - 1 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("fund" as const), amount: fc.bigInt({ min: 1n, max: HMS(5_000) }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("settle" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("sign" as const),
      pick: fc.nat(),
      mask: fc.integer({ min: 1, max: 127 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reclaim" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("jump" as const),
      seconds: fc.oneof(fc.bigInt({ min: 1n, max: 3_600n }), fc.constant(SIGNATURE_WINDOW), fc.constant(366n * DAY)),
    }),
  },
);

async function withPayouts() {
  const sys = await rewardsSystem();
  const c = await electCommittee(sys, 0n, 7);
  for (let i = 0; i < NODES; i++) {
    await sys.registry.setNode(
      nodeId(i),
      hre.ethers.getAddress(hre.ethers.zeroPadValue(hre.ethers.toBeHex(0xc000 + i), 20)),
      1,
      true,
    );
  }
  await sys.allocation.release(0); // the IDO beneficiary funds the pool in "fund" actions
  return { sys, c };
}

describe("MiningPool (property)", () => {
  it("balance = funded − paid; paid ≤ released; per-period claims ≤ node emission", async function () {
    this.timeout(180_000);
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 3, maxLength: 10 }), async (actions) => {
        const { sys, c } = await loadFixture(withPayouts);
        const poolAddress = await sys.pool.getAddress();
        const reported: {
          p: ReportedPeriod;
          built: BuiltReport;
          all: Awaited<ReturnType<typeof signQuorum>>;
          known: bigint;
        }[] = [];
        let next = 0n;
        let paid = 0n;
        let funded = await sys.pool.totalFunded();
        const outflow = async (tx: Promise<{ wait(): Promise<unknown> }>) => {
          const receipt = (await (await tx).wait()) as { logs: { address: string; topics: string[]; data: string }[] };
          for (const log of receipt.logs) {
            if (log.address !== (await sys.token.getAddress())) continue;
            const parsed = sys.token.interface.parseLog(log);
            if (parsed?.name === "Transfer" && parsed.args.from === poolAddress) paid += parsed.args.value as bigint;
          }
        };
        for (const a of actions) {
          if (a.kind === "report") {
            const p = next + BigInt(a.skip);
            const entries = a.traffic.map((t, i) => [nodeId(i), BigInt(t)] as [Hex, bigint]);
            const built = buildReport(ledgerFrom(p, entries), { epoch: 0n, topN: a.topN, fromPeriod: next });
            await endOfPeriod(sys.pool, p);
            const from = next + BigInt(a.rebase) < 0n ? next + 1n : next + BigInt(a.rebase);
            const report = { ...built.report, fromPeriod: from };
            const tx = sys.pool.submitReport(report, await signQuorum(sys, c, report, first(a.signers)));
            if (from > p) {
              await expect(tx).to.be.revertedWithCustomError(sys.pool, "EmptyReportRange").withArgs(from, p);
            } else if (from !== next) {
              await expect(tx).to.be.revertedWithCustomError(sys.pool, "ReportBaseMismatch").withArgs(from, next);
            } else {
              await (await tx).wait();
              const all = await signQuorum(sys, c, report, first(7));
              reported.push({ p: await period(sys, p), built, all, known: (1n << BigInt(a.signers)) - 1n });
              next = p + 1n;
            }
          } else if (a.kind === "claim" && reported.length > 0) {
            const r = reported[a.pick % reported.length];
            const claim = r.built.claims.find((x) => x.nodeId === nodeId(a.node));
            if (claim === undefined) continue;
            // The expected outcome is decided before sending (the window is checked before the flag).
            const now = BigInt(await time.latest()) + 1n;
            const closed = now >= BigInt(r.p.terms.claimDeadline);
            const claimed = await sys.pool.isClaimed(r.p.period, claim.index);
            const tx = sys.pool.claim(...claimArgs(r.p, claim));
            if (closed) await expect(tx).to.be.revertedWithCustomError(sys.pool, "ClaimWindowClosed");
            else if (claimed) await expect(tx).to.be.revertedWithCustomError(sys.pool, "AlreadyClaimed");
            else await outflow(tx);
          } else if (a.kind === "batch") {
            const now = BigInt(await time.latest()) + 1n;
            const items = [];
            for (const r of reported) {
              const claim = r.built.claims.find((x) => x.nodeId === nodeId(a.node));
              if (claim === undefined || now >= BigInt(r.p.terms.claimDeadline)) continue;
              if (await sys.pool.isClaimed(r.p.period, claim.index)) continue;
              items.push(batchClaim(r.p, claim));
            }
            if (items.length > 0) await outflow(sys.pool.claimBatch(nodeId(a.node), items));
          } else if (a.kind === "fund") {
            await sys.token.connect(sys.ido).approve(sys.pool, a.amount);
            await sys.pool.connect(sys.ido).fund(a.amount);
            funded += a.amount;
          } else if (a.kind === "sign" && reported.length > 0) {
            const r = reported[a.pick % reported.length];
            const now = BigInt(await time.latest()) + 1n;
            await time.setNextBlockTimestamp(now);
            const bits = [0, 1, 2, 3, 4, 5, 6].filter((i) => (a.mask >> i) & 1);
            const tx = sys.pool.addSignatures(r.p.period, r.p.terms, r.p.attestation, {
              keys: r.all.keys,
              signers: BigInt(a.mask),
              signatures: bits.map((i) => r.all.signatures[i]),
            });
            const fresh = BigInt(a.mask) & ~r.known;
            if (now >= BigInt(r.p.attestation.signaturesUntil)) {
              await expect(tx).to.be.revertedWithCustomError(sys.pool, "SignatureWindowClosed");
            } else if (fresh === 0n) {
              await expect(tx).to.be.revertedWithCustomError(sys.pool, "NoNewSignatures");
            } else {
              await expect(tx)
                .to.emit(sys.pool, "SignaturesAdded")
                .withArgs(r.p.period, 0, fresh, r.known | fresh);
              r.known |= fresh;
            }
          } else if (a.kind === "settle" && reported.length > 0) {
            const r = reported[a.pick % reported.length];
            if (await sys.pool.isSettled(r.p.period)) continue;
            const now = BigInt(await time.latest()) + 1n;
            await time.setNextBlockTimestamp(now);
            if (now < BigInt(r.p.attestation.signaturesUntil)) {
              await expect(sys.pool.settleBookkeepers([settlement(r.p)])).to.be.revertedWithCustomError(
                sys.pool,
                "SignatureWindowOpen",
              );
              continue;
            }
            const missedBefore = await Promise.all(c.bookkeepers.map((b) => sys.committee.missed(0, b)));
            const tx = sys.pool.settleBookkeepers([settlement(r.p)]);
            // Every recorded signer is paid (nobody was removed here), nobody who signed is missing duty.
            const signed = BigInt([0, 1, 2, 3, 4, 5, 6].filter((i) => (r.known >> BigInt(i)) & 1n).length);
            const share = r.p.attestation.bookkeeperShare;
            await expect(tx)
              .to.emit(sys.pool, "BookkeepersSettled")
              .withArgs(r.p.period, 0, share / signed, signed, 7n - signed, share - (share / signed) * signed);
            await outflow(tx);
            for (let i = 0; i < 7; i++) {
              const signedIt = ((r.known >> BigInt(i)) & 1n) === 1n;
              expect(await sys.committee.missed(0, c.bookkeepers[i])).to.equal(missedBefore[i] + (signedIt ? 0n : 1n));
            }
          } else if (a.kind === "reclaim" && reported.length > 0) {
            const r = reported[a.pick % reported.length];
            const now = BigInt(await time.latest()) + 1n;
            const [, , claimed] = await sys.pool.periodRecord(r.p.period);
            if (now < BigInt(r.p.terms.claimDeadline) || claimed === r.p.terms.nodeEmission) continue;
            await sys.pool.reclaimExpired([r.p.period], [r.p.terms]);
          } else if (a.kind === "jump") {
            await time.increase(a.seconds);
          }

          const balance = await sys.token.balanceOf(poolAddress);
          const released = await sys.pool.totalReleased();
          expect(await sys.pool.totalFunded()).to.equal(funded);
          expect(balance).to.equal(funded - paid);
          expect(paid).to.be.at.most(released);
          expect(released).to.be.at.most(funded + (await sys.pool.totalReturned()));
          // Exact accounting: the balance is the unreleased reserve plus every open liability.
          const [nextPeriod, , reserve] = await sys.pool.state();
          expect(nextPeriod).to.equal(next);
          let liabilities = 0n;
          for (const r of reported) {
            const [, , claimed] = await sys.pool.periodRecord(r.p.period);
            expect(claimed).to.be.at.most(r.p.terms.nodeEmission);
            liabilities += r.p.terms.nodeEmission - claimed;
            if (!(await sys.pool.isSettled(r.p.period))) liabilities += r.p.attestation.bookkeeperShare;
          }
          expect(balance).to.equal(reserve + liabilities);
        }
      }),
      { numRuns: 40 },
    );
  });
});
