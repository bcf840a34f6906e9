import { expect } from "chai";
import type { Address } from "viem";
import { isHmsError } from "../../offchain/core/errors";
import {
  compareVotes,
  ElectionMachine,
  TermFence,
  type ElectionAction,
  type ElectionMessage,
} from "../../offchain/meta/election";
import { simAddress } from "../../offchain/meta/election/sim";
import { canServeRead, catchUpPlan, majorityIndex, ReplicationNode } from "../../offchain/meta/replication";

const timing = { heartbeatMs: 100, timeoutMinMs: 400, timeoutMaxMs: 800 };
const [A, B, C, O] = [0, 1, 2, 3].map(simAddress);

/** Delivers every message at once, in order, among in-process machines (no faults). */
function cluster(randoms: number[], logs?: Array<{ term: bigint; index: bigint }>) {
  const voters = [A, B, C];
  const machines = new Map<Address, ElectionMachine>();
  [A, B, C, O].forEach((self, i) => {
    const m = new ElectionMachine({ self, voters, observers: [O], ...timing }, undefined, () => randoms[i] ?? 0.5);
    if (logs?.[i]) m.setLog(logs[i]);
    machines.set(self, m);
  });
  const queue: Array<{ from: Address; to: Address; message: ElectionMessage }> = [];
  const enqueue = (from: Address, actions: ElectionAction[]) => {
    for (const a of actions) {
      if (a.type === "send") queue.push({ from, to: a.to, message: a.message });
      if (a.type === "broadcast")
        for (const to of machines.keys()) if (to !== from) queue.push({ from, to, message: a.message });
    }
  };
  const drain = (now: number) => {
    for (let n = 0; queue.length > 0 && n < 10_000; n++) {
      const { from, to, message } = queue.shift() as (typeof queue)[number];
      enqueue(to, (machines.get(to) as ElectionMachine).receive(from, message, now));
    }
  };
  return { machines, enqueue, drain };
}

describe("meta/election machine", function () {
  it("elects the largest random number, then the larger address; observers follow and never vote", function () {
    const { machines, enqueue, drain } = cluster([0.2, 0.9, 0.5, 0.99]);
    for (const [self, m] of machines) enqueue(self, m.start(0));
    drain(0);
    expect(machines.get(B)?.role).to.equal("leading");
    expect(machines.get(A)?.role).to.equal("following");
    expect(machines.get(C)?.leader).to.equal(B);
    expect(machines.get(O)?.role).to.equal("observing");
    expect(machines.get(O)?.leader).to.equal(B);
    expect(
      compareVotes(
        { candidate: A, random: 5n, log: { term: 0n, index: 0n } },
        { candidate: B, random: 5n, log: { term: 0n, index: 0n } },
      ),
    ).to.be.below(0);
  });

  it("a longer log beats any random number", function () {
    const logs = [
      { term: 1n, index: 9n },
      { term: 1n, index: 3n },
      { term: 1n, index: 3n },
    ];
    const { machines, enqueue, drain } = cluster([0.1, 0.9, 0.8], logs);
    for (const [self, m] of machines) enqueue(self, m.start(0));
    drain(0);
    expect(machines.get(A)?.role).to.equal("leading");
  });

  it("a deposed master steps down on a newer term; its old-term heartbeats are refused", function () {
    const { machines, enqueue, drain } = cluster([0.2, 0.9, 0.5]);
    for (const [self, m] of machines) enqueue(self, m.start(0));
    drain(0);
    const b = machines.get(B) as ElectionMachine;
    const oldTerm = b.term;
    // A and C lose B and elect among themselves at a later time (B is partitioned: its messages are dropped).
    const a = machines.get(A) as ElectionMachine;
    const c = machines.get(C) as ElectionMachine;
    const t = 2_000;
    const viaAC = (from: Address, actions: ElectionAction[]) => {
      const q: Array<[Address, Address, ElectionMessage]> = [];
      const push = (f: Address, acts: ElectionAction[]) => {
        for (const x of acts) {
          if (x.type === "send" && x.to !== B) q.push([f, x.to, x.message]);
          if (x.type === "broadcast") for (const to of [A, C]) if (to !== f) q.push([f, to, x.message]);
        }
      };
      push(from, actions);
      while (q.length > 0) {
        const [f, to, m] = q.shift() as [Address, Address, ElectionMessage];
        push(to, (machines.get(to) as ElectionMachine).receive(f, m, t));
      }
    };
    viaAC(A, a.tick(t));
    viaAC(C, c.tick(t));
    const leader = [a, c].find((m) => m.role === "leading");
    expect(leader, "A or C leads").to.not.equal(undefined);
    expect(leader?.term).to.be.greaterThan(oldTerm);
    // The old master's heartbeat reaches C: refused with C's newer term, and B steps down when it hears it.
    const reply = c.receive(B, { type: "heartbeat", term: oldTerm, leader: B }, t + 1);
    const refusal = reply.find((x) => x.type === "send");
    expect(refusal).to.deep.include({ to: B });
    expect(refusal?.type === "send" && refusal.message).to.deep.equal({
      type: "heartbeat-reply",
      term: c.term,
      ok: false,
    });
    enqueue(C, reply);
    drain(t + 2);
    expect(b.role).to.not.equal("leading");
    expect(b.term).to.be.at.least(c.term);
  });

  it("a master that hears from no majority steps down; a graceful stepDown opens the next term", function () {
    const { machines, enqueue, drain } = cluster([0.2, 0.9, 0.5]);
    for (const [self, m] of machines) enqueue(self, m.start(0));
    drain(0);
    const b = machines.get(B) as ElectionMachine;
    const term = b.term;
    b.tick(timing.timeoutMaxMs + 1);
    expect(b.role).to.equal("looking");
    expect(b.term).to.equal(term + 1n);
    const again = cluster([0.2, 0.9, 0.5]);
    for (const [self, m] of again.machines) again.enqueue(self, m.start(0));
    again.drain(0);
    const lead = again.machines.get(B) as ElectionMachine;
    const acts = lead.stepDown(10);
    expect(acts.some((x) => x.type === "persist")).to.equal(true);
    expect(lead.role).to.equal("looking");
  });

  it("backs off: each term without a master doubles the timeout up to the cap; a master followed for a while halves it", function () {
    // A voter alone (its peers silent): every term ends without a master.
    const a = new ElectionMachine({ self: A, voters: [A, B, C], ...timing, backoffMaxMs: 6_400 }, undefined, () => 1);
    let now = 0;
    a.start(now);
    const gaps: number[] = [];
    for (let i = 0; i < 6; i++) {
      const next = a.nextTimer;
      // Vote re-sends every heartbeat until the term's deadline.
      while (a.term === BigInt(i + 1)) {
        now = Math.min(a.nextTimer, next + 10_000);
        a.tick(now);
      }
      gaps.push(now);
    }
    const terms = gaps.map((t, i) => t - (i === 0 ? 0 : gaps[i - 1]));
    // random() = 1: the top of the range, 800 ms × 2^k (to the heartbeat's resolution), capped at 6,400 ms.
    expect(terms.map((t) => Math.round(t / 100) * 100)).to.deep.equal([800, 1_600, 3_200, 6_400, 6_400, 6_400]);
    expect(a.backoff).to.equal(3);
    // A master appears: its heartbeats are followed; after 8 windows of them the back-off halves.
    const term = a.term + 1n;
    a.receive(B, { type: "heartbeat", term, leader: B }, now);
    expect(a.role).to.equal("following");
    for (let t = 0; t <= 8 * 6_400; t += 100) a.receive(B, { type: "heartbeat", term, leader: B }, now + t);
    expect(a.backoff).to.equal(2);
    expect(a.role).to.equal("following");
  });

  it("a master that was elected under back-off keeps the backed-off window for hearing from a majority", function () {
    const a = new ElectionMachine({ self: A, voters: [A, B, C], ...timing }, undefined, () => 0.5);
    let now = 0;
    a.start(now);
    // Two terms pass without a master: level 2, window 3,200 ms.
    while (a.backoff < 2) a.tick((now = a.nextTimer));
    const term = a.term;
    // B votes for A and acks it: with its own vote, a majority of the three.
    const forA = { candidate: A, random: 2n ** 60n, log: { term: 0n, index: 0n } };
    a.receive(B, { type: "vote", term, vote: forA, looking: true }, now);
    a.receive(B, { type: "ack", term, leader: A }, now);
    expect(a.role).to.equal("leading");
    a.tick(now + 1_600); // beyond the base 800 ms window, within 3,200
    expect(a.role).to.equal("leading");
    a.tick(now + 3_300);
    expect(a.role).to.equal("looking");
  });

  it("persists its ack before sending it, and never acks twice in one term", function () {
    const m = new ElectionMachine({ self: A, voters: [A, B, C], ...timing }, undefined, () => 0.1);
    m.start(0);
    const term = m.term;
    const vote = { candidate: C, random: 10n ** 15n, log: { term: 0n, index: 0n } };
    const acts = m.receive(C, { type: "vote", term, vote, looking: true }, 1);
    const persistAt = acts.findIndex((x) => x.type === "persist" && x.state.ackedLeader === C);
    const ackAt = acts.findIndex((x) => x.type === "send" && x.message.type === "ack");
    expect(persistAt).to.be.at.least(0);
    expect(ackAt).to.be.greaterThan(persistAt);
    // A better vote for B in the same term changes nothing: the ack is final.
    const better = { candidate: B, random: 10n ** 16n, log: { term: 0n, index: 0n } };
    const later = m.receive(B, { type: "vote", term, vote: better, looking: true }, 2);
    expect(later.some((x) => x.type === "send" && x.message.type === "ack")).to.equal(false);
    expect(m.durableState).to.deep.include({ ackedTerm: term, ackedLeader: C });
  });

  it("fencing refuses an older term with META_STALE_TERM", function () {
    const fence = new TermFence(5n);
    fence.check(5n);
    fence.check(7n);
    expect(fence.term).to.equal(7n);
    try {
      fence.check(6n, "placement");
      expect.fail("accepted an older term");
    } catch (err) {
      expect(isHmsError(err, "META_STALE_TERM")).to.equal(true);
      expect((err as { value: unknown }).value).to.equal("6");
    }
  });
});

describe("meta/replication machine", function () {
  it("commits by majority, tells followers their staleness, and refuses a deposed master's appends", function () {
    const mk = (self: Address) => new ReplicationNode<string>({ self, voters: [A, B, C], noop: "noop" });
    const [a, b, c] = [mk(A), mk(B), mk(C)];
    a.becomeLeader(1n);
    b.becomeFollower(1n, A);
    c.becomeFollower(1n, A);
    const { entry, actions } = a.propose("w1");
    expect(entry).to.deep.include({ term: 1n, index: 2n });
    expect(a.commitIndex).to.equal(0n); // not acknowledged before a majority persisted it
    // Only B gets the appends: A + B is a majority.
    const toB = actions.filter((x) => x.type === "send" && x.to === B);
    let commitSeen = 0n;
    for (const x of toB)
      if (x.type === "send")
        for (const r of b.receive(A, x.message))
          if (r.type === "send")
            for (const back of a.receive(B, r.message)) if (back.type === "commit") commitSeen = back.index;
    expect(commitSeen).to.equal(2n);
    expect(a.commitIndex).to.equal(2n);
    // C heard nothing: it is stale and may not serve a read of w1.
    expect(canServeRead(c.readState(), entry)).to.equal(false);
    expect(canServeRead(a.readState(), entry)).to.equal(true);
    const hb = a.heartbeat().find((x) => x.type === "send" && x.to === B);
    if (hb?.type === "send") b.receive(A, hb.message);
    expect(b.readState()).to.deep.include({ commit: 2n, lag: 0n });
    // A newer master (term 2) reaches C; A's term-1 append is then refused.
    c.becomeFollower(2n, B);
    const stale = a.heartbeat().find((x) => x.type === "send" && x.to === C);
    const reply = stale?.type === "send" ? c.receive(A, stale.message) : [];
    expect(reply[0]?.type === "send" && reply[0].message).to.deep.include({
      type: "append-reply",
      success: false,
      term: 2n,
    });
    expect(() => a.becomeLeader(0n)).to.throw("below");
  });

  it("majority index, catch-up plan and compaction", function () {
    expect(majorityIndex([5n, 3n, 9n])).to.equal(5n);
    expect(majorityIndex([5n, 3n, 9n, 1n])).to.equal(3n);
    expect(catchUpPlan(4n, { index: 10n, term: 2n })).to.deep.equal({ kind: "snapshot" });
    expect(catchUpPlan(11n, { index: 10n, term: 2n })).to.deep.equal({ kind: "tail", from: 11n });
    const solo = new ReplicationNode<string>({ self: A, voters: [A], noop: "noop" });
    solo.becomeLeader(1n);
    solo.propose("x");
    expect(solo.commitIndex).to.equal(2n);
    solo.compact(2n);
    expect(solo.snapshotPoint).to.deep.equal({ index: 2n, term: 1n });
    expect(() => solo.compact(5n)).to.throw("commit index");
  });
});
