/**
 * Compute supervision, its pure parts and the master's loop against a fake chain (offchain/meta/compute.ts,
 * offchain/protocol/compute-supervise.ts): signed ComputeHeartbeats (tampering, replay, unknown node, skew), the
 * moved-lease rule (`movedChain`), `superviseAction`, and the supervisor: a dead node's workload moved exactly
 * once and its request forwarded until the new node runs it — also by a second supervisor standing in for a new
 * master that heard the same heartbeats — a crash loop and a workload no node can take terminated, nothing
 * sent on a follower.
 */
import { expect } from "chai";
import pino from "pino";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { silentLogger } from "../../offchain/core/logger";
import { Metrics } from "../../offchain/core/metrics";
import { domainOf } from "../../offchain/core/signing";
import {
  ComputeNodes,
  ComputeSupervisor,
  superviseAction,
  type ChainLease,
  type SupervisorChain,
} from "../../offchain/meta/compute";
import { chainTimeOf } from "../../offchain/meta/compute-chain";
import {
  movedChain,
  signComputeHeartbeat,
  type ComputeHeartbeatBody,
  type HeartbeatWorkload,
} from "../../offchain/protocol/compute-supervise";

const domain = domainOf("network", 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const keyOf = (i: number) => `0x${(i + 1).toString(16).padStart(64, "0")}` as Hex;
const nodeId = (i: number) => `0x${(0xa0 + i).toString(16).padStart(64, "0")}` as Hex;
const addressOf = (i: number) => privateKeyToAccount(keyOf(i)).address;
const USER_SIG = `0x${"11".repeat(65)}` as Hex;

function workload(leaseId: bigint, over: Partial<HeartbeatWorkload> = {}): HeartbeatWorkload {
  return {
    leaseId: `${leaseId}`,
    specHash: `0x${"22".repeat(32)}`,
    phase: "running",
    restarts: 0,
    failing: false,
    limits: { cpuMillis: 250, memoryMiB: 64, diskMiB: 0 },
    labels: { app: "web" },
    request: { leaseId: "1", spec: { command: ["true"] }, deadline: "100", signature: USER_SIG },
    ...over,
  };
}

function body(i: number, seq: bigint, nowMs: number, workloads: HeartbeatWorkload[]): ComputeHeartbeatBody {
  return {
    nodeId: nodeId(i),
    seq: `${seq}`,
    time: `${Math.floor(nowMs / 1000)}`,
    region: "eu",
    url: `http://node-${i}`,
    offerId: `${10 + i}`,
    capacity: { cpuMillis: 4000, memoryMiB: 4096, diskMiB: 16384 },
    used: { cpuMillis: 0, memoryMiB: 0, diskMiB: 0 },
    workloads,
  };
}

const registered = (id: Hex) => [0, 1, 2].map(addressOf)[[0, 1, 2].map(nodeId).indexOf(id)];

describe("meta/compute: supervision of compute workloads", function () {
  describe("signed heartbeats", function () {
    it("takes a signed heartbeat and refuses a tampered, replayed, unknown or skewed one with typed errors", function () {
      const now = 1_800_000_000_000;
      const nodes = new ComputeNodes({ domain, maxSkewMs: 5_000 });
      const beat = signComputeHeartbeat(keyOf(0), domain, body(0, 5n, now, [workload(1n)]));
      const st = nodes.beat(beat, registered, now);
      expect(st.workloads).to.have.length(1);
      expect(st.offerId).to.equal(10n);
      expect(nodes.runs(nodeId(0), 1n)).to.be.true;
      // the workloads list is bound by workloadsHash: changing it breaks the signature
      const tampered = { ...signComputeHeartbeat(keyOf(0), domain, body(0, 6n, now, [workload(1n)])) };
      tampered.workloads = [workload(1n, { request: { ...workload(1n).request, spec: { command: ["evil"] } } })];
      expect(() => nodes.beat(tampered, registered, now))
        .to.throw()
        .with.property("code", "META_BAD_HEARTBEAT");
      // signed by another node's key
      const foreign = signComputeHeartbeat(keyOf(1), domain, body(0, 7n, now, []));
      expect(() => nodes.beat(foreign, registered, now))
        .to.throw(/not signed by its key/)
        .with.property("code", "META_BAD_HEARTBEAT");
      // replay: same seq
      expect(() => nodes.beat(beat, registered, now))
        .to.throw(/seq 5 is not above 5/)
        .with.property("code", "META_BAD_HEARTBEAT");
      // unregistered node
      const stranger = signComputeHeartbeat(keyOf(5), domain, { ...body(0, 1n, now, []), nodeId: nodeId(7) });
      expect(() => nodes.beat(stranger, registered, now))
        .to.throw()
        .with.property("code", "META_UNKNOWN_NODE");
      // a time far off the clock
      const old = signComputeHeartbeat(keyOf(1), domain, body(1, 1n, now - 60_000, []));
      expect(() => nodes.beat(old, registered, now))
        .to.throw(/ms off/)
        .with.property("code", "META_BAD_HEARTBEAT");
      // malformed
      expect(() => nodes.beat({ nodeId: "x" }, registered, now))
        .to.throw()
        .with.property("code", "META_BAD_HEARTBEAT");
      expect(nodes.alive(nodeId(0), now + 3_000, 3_000)).to.be.true;
      expect(nodes.alive(nodeId(0), now + 3_001, 3_000)).to.be.false;
    });
  });

  describe("movedChain (the worker's rule for a forwarded request)", function () {
    const moves = new Map<bigint, bigint>([
      [7n, 4n],
      [4n, 1n],
    ]);
    it("follows LeaseMoved back to the signed lease", function () {
      expect(movedChain(7n, 1n, moves, 100n, 50n)).to.deep.equal([7n, 4n, 1n]);
      expect(movedChain(4n, 1n, moves, 100n, 50n)).to.deep.equal([4n, 1n]);
    });
    it("refuses a lease that was not moved from the signed one, or a deadline before that lease started", function () {
      expect(() => movedChain(7n, 2n, moves, 100n, 50n))
        .to.throw(/lease 7 was not moved from lease 2/)
        .with.property("code", "COMPUTE_NOT_MOVED");
      expect(() => movedChain(9n, 1n, moves, 100n, 50n))
        .to.throw()
        .with.property("code", "COMPUTE_NOT_MOVED");
      expect(() => movedChain(7n, 1n, moves, 49n, 50n))
        .to.throw(/before lease 1 started/)
        .with.property("code", "COMPUTE_NOT_MOVED");
      const loop = new Map<bigint, bigint>([
        [3n, 2n],
        [2n, 3n],
      ]);
      expect(() => movedChain(3n, 1n, loop, 100n, 0n))
        .to.throw()
        .with.property("code", "COMPUTE_NOT_MOVED");
    });
  });

  describe("superviseAction", function () {
    const base = { host: nodeId(0), nowMs: 10_000, silentForMs: 5_000, noNodeGraceMs: 30_000 };
    it("does nothing while the host beats, follows the chain's lease state otherwise", function () {
      expect(superviseAction({ ...base, hostAlive: true, failing: false }).kind).to.equal("none");
      const dead = { ...base, hostAlive: false, failing: false };
      expect(superviseAction({ ...dead, lease: { status: "closed" } })).to.deep.equal({
        kind: "forget",
        why: "closed",
      });
      const moved = { status: "moved", to: 9n, toNode: nodeId(1) } as const;
      expect(superviseAction({ ...dead, lease: moved, targetAlive: true, targetRuns: true }).kind).to.equal("forget");
      expect(superviseAction({ ...dead, lease: moved, targetAlive: true, targetRuns: false })).to.deep.equal({
        kind: "forward",
        leaseId: 9n,
        nodeId: nodeId(1),
      });
      expect(superviseAction({ ...dead, lease: moved, targetAlive: false, targetRuns: false }).kind).to.equal("follow");
      const active = { status: "active", nodeId: nodeId(0) } as const;
      const migrate = { action: "migrate", to: nodeId(1), notBeforeMs: 12_000, reason: "node-dead" } as const;
      expect(superviseAction({ ...dead, lease: active, decision: migrate }).kind).to.equal("none");
      expect(superviseAction({ ...dead, nowMs: 12_000, lease: active, decision: migrate })).to.deep.equal({
        kind: "move",
        to: nodeId(1),
        reason: "node-dead",
      });
      const noNode = { action: "give-up", reason: "no-node", migrations: 0 } as const;
      expect(superviseAction({ ...dead, lease: active, decision: noNode }).kind).to.equal("none");
      expect(superviseAction({ ...dead, silentForMs: 30_000, lease: active, decision: noNode })).to.deep.equal({
        kind: "terminate",
        reason: "no-node",
      });
      const loop = { action: "give-up", reason: "crash-loop", migrations: 3 } as const;
      expect(superviseAction({ ...dead, lease: active, decision: loop }).kind).to.equal("terminate");
    });
  });

  describe("chainTimeOf (a heartbeat's time in chain time)", function () {
    it("shifts by the chain's lead over the wall clock, never by a lag, and clamps to [settled, latest block]", function () {
      // the chain runs 6 s ahead: shifted
      expect(chainTimeOf(100n, { latestBlock: 110n, wallSeconds: 104n, settled: 0n })).to.equal(106n);
      // an idle chain (last block at 95, wall 104): unchanged, bounded by the wall clock less a second
      expect(chainTimeOf(100n, { latestBlock: 95n, wallSeconds: 104n, settled: 0n })).to.equal(100n);
      expect(chainTimeOf(104n, { latestBlock: 95n, wallSeconds: 104n, settled: 0n })).to.equal(103n);
      expect(chainTimeOf(90n, { latestBlock: 95n, wallSeconds: 104n, settled: 0n })).to.equal(90n);
      // never before the settled point
      expect(chainTimeOf(90n, { latestBlock: 120n, wallSeconds: 104n, settled: 110n })).to.equal(110n);
    });
  });

  describe("ComputeSupervisor against a fake chain", function () {
    class FakeChain implements SupervisorChain {
      leases = new Map<bigint, ChainLease>();
      moves: Array<{ from: bigint; to: bigint; at: bigint; offerId: bigint; failedAt: bigint }> = [];
      terminated: Array<{ leaseId: bigint; failedAt: bigint }> = [];
      offers = new Map<bigint, Hex>([
        [10n, nodeId(0)],
        [11n, nodeId(1)],
        [12n, nodeId(2)],
      ]);
      next = 100n;
      constructor(private readonly clock: () => number) {}
      async lease(id: bigint) {
        const l = this.leases.get(id);
        if (l === undefined) throw new Error(`no lease ${id}`);
        return l;
      }
      async movedTo(id: bigint) {
        return this.moves.find((m) => m.from === id)?.to;
      }
      async movedFrom(id: bigint) {
        const m = this.moves.find((x) => x.to === id);
        return m && { from: m.from, at: m.at };
      }
      async offerNode(offerId: bigint) {
        return this.offers.get(offerId);
      }
      async move(leaseId: bigint, offerId: bigint, failedAt: bigint) {
        const l = this.leases.get(leaseId);
        if (!l?.active) throw new Error(`moveLease reverts: lease ${leaseId} not active`);
        l.active = false;
        const to = this.next++;
        this.leases.set(to, { active: true, nodeId: this.offers.get(offerId)!, start: 0n });
        this.moves.push({ from: leaseId, to, at: BigInt(Math.floor(this.clock() / 1000)), offerId, failedAt });
        return to;
      }
      async terminate(leaseId: bigint, failedAt: bigint) {
        const l = this.leases.get(leaseId);
        if (!l?.active) throw new Error("terminateLease reverts");
        l.active = false;
        this.terminated.push({ leaseId, failedAt });
      }
    }

    function setup(opts: { failing?: boolean; nodes?: number } = {}) {
      let now = 1_800_000_000_000;
      const clock = () => now;
      const nodes = new ComputeNodes({ domain, maxSkewMs: 5_000 });
      const chain = new FakeChain(clock);
      chain.leases.set(1n, { active: true, nodeId: nodeId(0), start: 0n });
      const forwarded: Array<{ url: string; body: Record<string, unknown> }> = [];
      let leading = true;
      const seqs = [0n, 0n, 0n];
      const beat = (i: number, workloads: HeartbeatWorkload[]) =>
        nodes.beat(signComputeHeartbeat(keyOf(i), domain, body(i, ++seqs[i], now, workloads)), registered, now);
      const supervisor = () =>
        new ComputeSupervisor(
          {
            nodes,
            chain,
            forward: async (url, b) => void forwarded.push({ url, body: b }),
            leading: () => leading,
            logger: silentLogger(),
            metrics: new Metrics(),
            now: clock,
          },
          {
            intervalMs: 1_000,
            downAfterMs: 3_000,
            noNodeGraceMs: 10_000,
            policy: { maxMigrations: 2, windowMs: 600_000, backoffMs: 0, maxBackoffMs: 0 },
            randomFactor: 0,
          },
        );
      beat(0, [workload(1n, { failing: opts.failing ?? false, phase: opts.failing ? "crash-loop" : "running" })]);
      for (let i = 1; i < (opts.nodes ?? 2); i++) beat(i, []);
      return {
        nodes,
        chain,
        forwarded,
        beat,
        supervisor,
        advance: (ms: number) => (now += ms),
        setLeading: (v: boolean) => (leading = v),
      };
    }

    it("moves a dead node's workload once, forwards the user's request until the new node runs it, across a failover", async function () {
      const t = setup();
      const s1 = t.supervisor();
      expect((await s1.pass()).moved, "host alive: nothing").to.equal(0);
      t.advance(2_000);
      t.beat(1, []);
      t.advance(2_000); // A silent for 4 s > 3 s; B beat 2 s ago
      t.beat(1, []);
      const p1 = await s1.pass();
      expect(p1).to.include({ moved: 1, forwarded: 1, failed: 0 });
      // A is paid until its last signed heartbeat (1_800_000_000 s)
      expect(t.chain.moves).to.deep.equal([
        { from: 1n, to: 100n, at: 1_800_000_004n, offerId: 11n, failedAt: 1_800_000_000n },
      ]);
      expect(t.forwarded[0]).to.deep.equal({
        url: "http://node-1",
        body: { leaseId: "100", spec: { command: ["true"] }, deadline: "100", signature: USER_SIG, movedFrom: "1" },
      });
      // B does not list it yet: the same master forwards again, never moves again
      const p2 = await s1.pass();
      expect(p2).to.include({ moved: 0, forwarded: 1 });
      // a new master (failover) that heard A's last heartbeat: the chain shows lease 1 moved — it forwards, no move
      const s2 = t.supervisor();
      const p3 = await s2.pass();
      expect(p3).to.include({ moved: 0, forwarded: 1, failed: 0 });
      expect(t.chain.moves).to.have.length(1);
      // B runs it (its heartbeat lists lease 100 with the request over lease 1): nothing more
      t.beat(1, [workload(100n)]);
      const p4 = await s2.pass();
      expect(p4).to.include({ moved: 0, forwarded: 0, terminated: 0 });
      const p5 = await s1.pass();
      expect(p5).to.include({ moved: 0, forwarded: 0, terminated: 0 });
      expect(t.forwarded).to.have.length(3);
    });

    it("a moved lease the user closed since is forgotten: no forward to a node that ended it, no chain reads", async function () {
      const t = setup();
      const s = t.supervisor();
      t.advance(4_000);
      t.beat(1, []);
      expect(await s.pass()).to.include({ moved: 1 });
      t.beat(1, [workload(100n)]);
      await s.pass();
      // the user closes lease 100 on B: B stops it, its heartbeats no longer list it; A's stale report of lease 1 stays
      t.chain.leases.get(100n)!.active = false;
      t.advance(500);
      t.beat(1, []);
      const forwards = t.forwarded.length;
      let reads = 0;
      const lease = t.chain.lease.bind(t.chain);
      t.chain.lease = async (id: bigint) => (reads++, lease(id));
      expect(await s.pass()).to.include({ moved: 0, forwarded: 0, terminated: 0, failed: 0 });
      const afterFirst = reads;
      expect(afterFirst).to.be.greaterThan(0);
      expect(await s.pass()).to.include({ moved: 0, forwarded: 0, failed: 0 });
      expect(reads, "a lease closed for good is not read again").to.equal(afterFirst);
      expect(t.forwarded).to.have.length(forwards);
    });

    it("moves again off a second dead node, avoiding the first, then terminates the crash loop", async function () {
      const t = setup({ nodes: 3 });
      const s = t.supervisor();
      t.advance(4_000);
      t.beat(1, []);
      t.beat(2, []);
      await s.pass();
      const first = t.chain.moves[0];
      expect(first.from).to.equal(1n);
      const host = first.offerId === 11n ? 1 : 2;
      const other = host === 1 ? 2 : 1;
      t.beat(host, [workload(first.to)]);
      // the new host dies too: the workload goes to the third node (never back to A, which it failed on)
      t.advance(4_000);
      t.beat(other, []);
      t.beat(0, []); // A is back (empty), but the workload failed on it
      await s.pass();
      expect(t.chain.moves).to.have.length(2);
      expect(t.chain.moves[1]).to.include({ from: first.to, offerId: BigInt(10 + other) });
      t.beat(other, [workload(t.chain.moves[1].to)]);
      // and dies again: 2 moves in the window = crash loop → terminated, the user refunded
      t.advance(4_000);
      t.beat(0, []);
      t.beat(host, []);
      const p = await s.pass();
      expect(p).to.include({ moved: 0, terminated: 1 });
      expect(t.chain.terminated.map((x) => x.leaseId)).to.deep.equal([t.chain.moves[1].to]);
    });

    it("terminates a workload no node can take once its host has been silent for the grace time; nothing on a follower", async function () {
      const t = setup({ nodes: 1 });
      const s = t.supervisor();
      t.advance(4_000);
      expect(await s.pass()).to.include({ moved: 0, terminated: 0 });
      t.advance(7_000);
      t.setLeading(false);
      expect(await s.pass()).to.include({ watched: 0, terminated: 0 });
      t.setLeading(true);
      const p = await s.pass();
      expect(p).to.include({ terminated: 1 });
      // failedAt = A's last signed heartbeat time: the node is paid until it last proved it was alive
      expect(t.chain.terminated[0]).to.deep.equal({
        leaseId: 1n,
        failedAt: BigInt(Math.floor(1_800_000_000_000 / 1000)),
      });
      expect(await s.pass()).to.include({ terminated: 0, failed: 0 });
    });

    it("without an oracle key it sends nothing and says once what it would move", async function () {
      const t = setup();
      const lines: string[] = [];
      const logger = pino({ level: "warn" }, { write: (l: string) => void lines.push(l) });
      const s = new ComputeSupervisor(
        {
          nodes: t.nodes,
          forward: async () => expect.fail("no forward without an oracle key"),
          leading: () => true,
          logger,
          metrics: new Metrics(),
          now: () => 1_800_000_004_000,
        },
        {
          intervalMs: 1_000,
          downAfterMs: 3_000,
          noNodeGraceMs: 0,
          policy: { maxMigrations: 2, windowMs: 600_000, backoffMs: 0, maxBackoffMs: 0 },
          randomFactor: 0,
        },
      );
      expect(await s.pass()).to.include({ watched: 1, moved: 0, terminated: 0, failed: 0 });
      expect(await s.pass()).to.include({ watched: 1, moved: 0, terminated: 0, failed: 0 });
      expect(lines.filter((l) => l.includes("no oracle key"))).to.have.length(1);
      expect(t.chain.moves).to.deep.equal([]);
    });

    it("moves a workload that crash-loops on a live node", async function () {
      const t = setup({ failing: true });
      const p = await t.supervisor().pass();
      expect(p).to.include({ moved: 1 });
      // a live node whose workload crash-loops is paid until the move (failedAt 0 = now)
      expect(t.chain.moves[0]).to.include({ from: 1n, offerId: 11n, failedAt: 0n });
    });
  });
});
