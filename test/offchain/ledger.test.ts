import { expect } from "chai";
import fc from "fast-check";
import { keccak256, toHex, type Address, type Hex } from "viem";
import {
  LedgerError,
  MAX_TRAFFIC,
  applyMatched,
  closePeriod,
  emptyLedger,
  ledgerFrom,
  matchReceipts,
  rankNodes,
} from "../../offchain/protocol/ledger";
import { buildReport, claimAmount } from "../../offchain/protocol/report";
import { MerkleTree } from "../../offchain/protocol/merkle";
import type { TrafficReceiptMessage } from "../../offchain/core/signing";

const node = (i: number) => keccak256(toHex(`ledger/node/${i}`));
const task = (i: number) => keccak256(toHex(`ledger/task/${i}`));
const CLIENT = "0x00000000000000000000000000000000000c11e7" as Address;

function receipt(t: number, n: number, bytes: bigint, period = 5n, client: Address = CLIENT): TrafficReceiptMessage {
  return { taskId: task(t), nodeId: node(n), client, bytesServed: bytes, period };
}

describe("offchain/protocol/ledger: the PoT period ledger", () => {
  it("matches client and node receipts and flags every mismatch", () => {
    const clients = [
      receipt(1, 1, 100n),
      receipt(2, 2, 50n),
      receipt(3, 1, 70n),
      receipt(4, 3, 10n, 4n), // both say period 4
      receipt(5, 2, 0n),
      receipt(6, 1, 5n),
      receipt(6, 1, 5n), // client duplicated task 6
      receipt(8, 2, 9n, 5n, "0x00000000000000000000000000000000000bad00"),
    ];
    const nodes = [
      receipt(3, 1, 70n),
      receipt(1, 1, 100n),
      receipt(2, 2, 60n), // node claims more than the client saw
      receipt(4, 3, 10n, 4n),
      receipt(5, 2, 0n),
      receipt(6, 1, 5n),
      receipt(7, 3, 1n), // unpaired
      receipt(8, 2, 9n),
    ];
    const { matched, flagged } = matchReceipts(5n, clients, nodes);
    expect(matched.map((m) => [m.taskId, m.nodeId, m.bytes])).to.deep.equal(
      [
        [task(1), node(1), 100n],
        [task(3), node(1), 70n],
      ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    );
    const reasons = Object.fromEntries(flagged.map((f) => [f.taskId, f.reason]));
    expect(reasons).to.deep.equal({
      [task(2)]: "mismatch",
      [task(4)]: "wrong-period",
      [task(5)]: "zero-bytes",
      [task(6)]: "duplicate",
      [task(7)]: "unpaired",
      [task(8)]: "mismatch",
    });
    // Order-independent.
    const again = matchReceipts(5n, [...clients].reverse(), [...nodes].reverse());
    expect(again).to.deep.equal({ matched, flagged });
  });

  it("accumulates matched traffic, ranks, rewards the top N, carries the rest and resets the rewarded", () => {
    const carried = ledgerFrom(5n, [
      [node(1), 30n],
      [node(4), 500n],
    ]);
    const { matched } = matchReceipts(
      5n,
      [receipt(1, 1, 100n), receipt(2, 2, 100n), receipt(3, 3, 20n)],
      [receipt(1, 1, 100n), receipt(2, 2, 100n), receipt(3, 3, 20n)],
    );
    const state = applyMatched(carried, matched);
    expect(state.traffic.get(node(1))).to.equal(130n);
    expect(carried.traffic.get(node(1))).to.equal(30n); // the input is not modified
    const ranked = rankNodes(state);
    expect(ranked.map((r) => r.traffic)).to.deep.equal([500n, 130n, 100n, 20n]);
    const closed = closePeriod(state, 2);
    expect(closed.top.map((t) => t.nodeId)).to.deep.equal([node(4), node(1)]);
    expect(closed.totalTraffic).to.equal(630n);
    expect(closed.carry.period).to.equal(6n);
    expect([...closed.carry.traffic.entries()].sort()).to.deep.equal(
      [
        [node(2), 100n],
        [node(3), 20n],
      ].sort(),
    );
    expect(closed.carry.traffic.has(node(4))).to.be.false; // reset
    // Ties: smaller node id first.
    const tie = rankNodes(
      ledgerFrom(0n, [
        [node(8), 7n],
        [node(9), 7n],
      ]),
    );
    expect(BigInt(tie[0].nodeId) < BigInt(tie[1].nodeId)).to.be.true;
  });

  it("rejects traffic of another period, overflow and a bad top N", () => {
    const state = emptyLedger(3n);
    expect(() =>
      applyMatched(state, [{ taskId: task(1), nodeId: node(1), client: CLIENT, bytes: 5n, period: 4n }]),
    ).to.throw(LedgerError, /period 4 applied to period 3/);
    expect(() =>
      ledgerFrom(0n, [
        [node(1), MAX_TRAFFIC],
        [node(1), 1n],
      ]),
    ).to.throw(LedgerError, /uint64/);
    expect(() => ledgerFrom(0n, [["0x12" as Hex, 1n]])).to.throw(LedgerError);
    expect(() => closePeriod(state, 0)).to.throw(LedgerError, /topN/);
    // Top nodes whose sum would overflow uint64: fewer are rewarded, the rest carry.
    const huge = closePeriod(
      ledgerFrom(0n, [
        [node(1), MAX_TRAFFIC],
        [node(2), MAX_TRAFFIC - 1n],
      ]),
      2,
    );
    expect(huge.top.length).to.equal(1);
    expect(huge.carried.length).to.equal(1);
  });

  it("property: claims of a random ledger sum to the emission minus less than one wei per node", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 10n ** 15n }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 150 }),
        fc.bigInt({ min: 0n, max: 10n ** 27n }),
        (traffic, topN, emission) => {
          const state = ledgerFrom(
            7n,
            traffic.map((t, i) => [node(i), t] as const),
          );
          const built = buildReport(state, { epoch: 1n, topN, fromPeriod: 3n });
          const total = built.report.totalTraffic;
          const paid = built.claims.reduce((s, c) => s + claimAmount(emission, c.traffic, total), 0n);
          expect(paid).to.be.at.most(emission);
          expect(emission - paid).to.be.below(BigInt(Math.max(built.claims.length, 1)));
          // Every node is either rewarded or carried, never both, and traffic is conserved.
          const carriedSum = [...built.carry.traffic.values()].reduce((a, b) => a + b, 0n);
          expect(total + carriedSum).to.equal(traffic.reduce((a, b) => a + b, 0n));
          expect(built.claims.length + built.carry.traffic.size).to.equal(traffic.length);
          expect(built.claims.length).to.equal(Math.min(topN, traffic.length));
          // Every claim proves against the signed root.
          for (const c of built.claims) expect(MerkleTree.verify(built.report.rewardsRoot, c.leaf, c.proof)).to.be.true;
        },
      ),
      { numRuns: 200 },
    );
  });
});
