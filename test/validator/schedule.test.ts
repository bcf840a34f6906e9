import { expect } from "chai";
import fc from "fast-check";
import type { Address } from "viem";
import { planRequests, transmitDelayMs, transmitPosition, type PlanInput } from "../../offchain/validator/schedule";
import { periodEnd } from "../../offchain/protocol/proposal";

const order = ["0xA", "0xB", "0xC", "0xD"].map((x) => `${x}${"0".repeat(39)}` as Address);

describe("validator/schedule", function () {
  it("puts the primary of the committing view first, then the others in leader order", function () {
    expect(order.map((a) => transmitPosition(order, 0, a))).to.deep.equal([0, 1, 2, 3]);
    expect(order.map((a) => transmitPosition(order, 1, a))).to.deep.equal([3, 0, 1, 2]);
    expect(order.map((a) => transmitPosition(order, 6, a))).to.deep.equal([2, 3, 0, 1]);
    expect(transmitPosition(order, 0, order[2].toLowerCase() as Address)).to.equal(2);
    expect(transmitPosition(order, 0, `0x${"e".repeat(40)}`)).to.equal(-1);
  });

  it("staggers transmissions: the primary waits only for missing signatures, member k waits k × stagger", function () {
    const o = { staggerMs: 5_000, signatureWaitMs: 800 };
    expect(transmitDelayMs(0, { ...o, haveAll: true })).to.equal(0);
    expect(transmitDelayMs(0, { ...o, haveAll: false })).to.equal(800);
    expect(transmitDelayMs(2, { ...o, haveAll: true })).to.equal(10_000);
    expect(transmitDelayMs(-1, { ...o, haveAll: true })).to.equal(Infinity);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 47 }), fc.integer({ min: 1, max: 47 }), (a, b) => {
        // Later positions never go before earlier ones.
        const [x, y] = a < b ? [a, b] : [b, a];
        expect(transmitDelayMs(x, { ...o, haveAll: false })).to.be.at.most(
          transmitDelayMs(y, { ...o, haveAll: false }),
        );
      }),
    );
  });

  describe("planRequests", function () {
    const base = 100n;
    const at = (period: bigint) => periodEnd(0n, 600n, period); // the moment `period` ends
    const input = (over: Partial<PlanInput>): PlanInput => ({
      base,
      lastExecuted: 0,
      genesis: 0n,
      periodLength: 600n,
      chainTime: at(100n),
      chainNextPeriod: 0n,
      catchUpBySkipping: false,
      reportInFlight: false,
      outstanding: 0,
      maxBatch: 20,
      ...over,
    });

    it("reports the newest ended period, one at a time", function () {
      expect(planRequests(input({ chainTime: at(100n) - 1n }))).to.deep.include({ kind: "wait" });
      expect(planRequests(input({}))).to.deep.equal({ kind: "submit", skips: [], report: { seq: 1, period: 100n } });
      expect(planRequests(input({ outstanding: 1 }))).to.deep.include({ kind: "wait", reason: "requests in flight" });
      expect(planRequests(input({ reportInFlight: true })).kind).to.equal("wait");
      expect(planRequests(input({ lastExecuted: 1, chainTime: at(101n), chainNextPeriod: 101n }))).to.deep.equal({
        kind: "submit",
        skips: [],
        report: { seq: 2, period: 101n },
      });
    });

    it("fills the sequence numbers of periods that ended unreported with skips", function () {
      expect(planRequests(input({ chainTime: at(103n) }))).to.deep.equal({
        kind: "submit",
        skips: [1, 2, 3],
        report: { seq: 4, period: 103n },
      });
      // Bounded by the window: the report waits for the next batch.
      expect(planRequests(input({ chainTime: at(150n), maxBatch: 20 }))).to.deep.equal({
        kind: "submit",
        skips: Array.from({ length: 20 }, (_, i) => i + 1),
      });
    });

    it("lets a lagging replica catch up through PBFT before proposing, then skips what the chain decided", function () {
      const behind = input({ lastExecuted: 0, chainTime: at(104n), chainNextPeriod: 103n });
      expect(planRequests(behind)).to.deep.include({ kind: "wait" });
      expect(planRequests({ ...behind, catchUpBySkipping: true })).to.deep.equal({
        kind: "submit",
        skips: [1, 2, 3, 4],
        report: { seq: 5, period: 104n },
      });
      // Every ended period already decided on chain: only skips.
      expect(
        planRequests(input({ chainTime: at(102n), chainNextPeriod: 103n, catchUpBySkipping: true })),
      ).to.deep.equal({
        kind: "submit",
        skips: [1, 2, 3],
      });
      expect(planRequests(input({ lastExecuted: 3, chainTime: at(102n), chainNextPeriod: 103n })).kind).to.equal(
        "wait",
      );
    });

    it("property: a plan never skips or reports a period that has not ended, and reports at most once", function () {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 60 }),
          fc.bigInt({ min: 90n, max: 200n }),
          fc.bigInt({ min: 0n, max: 200n }),
          fc.boolean(),
          (lastExecuted, ended, next, catchUp) => {
            const plan = planRequests(
              input({ lastExecuted, chainTime: at(ended), chainNextPeriod: next, catchUpBySkipping: catchUp }),
            );
            if (plan.kind === "wait") return;
            const seqs = [...plan.skips, ...(plan.report ? [plan.report.seq] : [])];
            seqs.forEach((s, i) => expect(s).to.equal(lastExecuted + 1 + i));
            for (const s of seqs) expect(base + BigInt(s) - 1n <= ended).to.equal(true);
            if (plan.report) {
              expect(plan.report.period).to.equal(ended);
              expect(plan.report.period >= next).to.equal(true);
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
