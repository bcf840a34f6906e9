import { expect } from "chai";
import { simulateReplication, type ReplicationSimResult } from "../../offchain/meta/replication/sim";

/**
 * The meta log under faults: masters crash (restarting from their durable log), partitions, delays and loss;
 * no acknowledged write may be lost, and every node ends with the same committed sequence. A backup node
 * joins late with an empty log and catches up (snapshot + tail).
 */
describe("meta/replication simulator", function () {
  this.timeout(120_000);
  const SEEDS = 100;

  function run(seed: number): ReplicationSimResult {
    return simulateReplication({
      seed,
      voters: seed % 2 === 0 ? 3 : 5,
      chaosMs: 6_000,
      stableMs: 4_000,
      writeRate: 30,
      compactChance: 0.03,
      backupJoinsAt: 3_000,
    });
  }

  it(`loses no acknowledged write and converges, over ${SEEDS} seeds`, function () {
    let acked = 0;
    let unacked = 0;
    let snapshots = 0;
    let ackTerms = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = run(seed);
      expect(r.splitTerms, `seed ${seed}`).to.deep.equal([]);
      // Plain loops, one assertion per seed (chai per element costs minutes here).
      const lost = r.acked.filter((w) => r.committed.some((seq) => seq[Number(w.index) - 1] !== w.id));
      expect(lost, `seed ${seed}: acknowledged writes missing on some node`).to.deep.equal([]);
      // Every node ends with the same committed sequence (the master's).
      const longest = r.committed.reduce((a, b) => (b.length > a.length ? b : a));
      const diverged = r.committed
        .map((seq, n) => (seq.length === longest.length && seq.every((x, k) => x === longest[k]) ? -1 : n))
        .filter((n) => n >= 0);
      expect(
        diverged,
        `seed ${seed}: nodes that diverged ${JSON.stringify(r.nodes, (_k, v) => (typeof v === "bigint" ? `${v}` : v))}`,
      ).to.deep.equal([]);
      expect(r.backupCommit, `seed ${seed}: backup caught up`).to.equal(r.leaderCommit);
      acked += r.acked.length;
      unacked += r.unacked;
      snapshots += r.snapshotsInstalled;
      ackTerms += new Set(r.acked.map((w) => w.term)).size;
    }
    // The faults bite: writes are acknowledged under several masters per run, some are not acknowledged
    // (their master died first), and snapshots are installed.
    expect(acked).to.be.greaterThan(SEEDS * 100);
    expect(unacked).to.be.greaterThan(0);
    expect(ackTerms).to.be.greaterThan(SEEDS * 2);
    expect(snapshots).to.be.greaterThan(SEEDS / 2);
    console.log(
      `      ${acked} acknowledged, ${unacked} not; ${ackTerms} terms with acks; ${snapshots} snapshots installed`,
    );
  });
});
