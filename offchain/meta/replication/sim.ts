/**
 * Seeded simulator of the meta cluster's log: each node runs the election (election/machine.ts) and the
 * replication machine (node.ts) as the meta daemon wires them; clients send writes to whoever leads; a write
 * is acknowledged when the master's commit index covers it. Faults (election/sim.ts: delays, loss, crashes with
 * restarts from the durable log, partitions) during a chaos phase, then a stable phase. Nodes compact their
 * applied state into snapshots at random; a backup node (an observer) joins late with an empty log and catches
 * up from a snapshot plus the log tail. The result lists every acknowledged write and each node's committed
 * sequence, so a test can check that no acknowledged write was lost and that all nodes agree. Pure: no I/O.
 */
import type { Address } from "viem";
import { Prng } from "../../consensus/pbft/sim/prng";
import { ElectionMachine, INITIAL_ELECTION_STATE } from "../election/machine";
import { DEFAULT_FAULTS, EventQueue, SimNetwork, simAddress, type SimFaults } from "../election/sim";
import type { DurableElectionState, ElectionAction, ElectionMessage, ElectionTiming } from "../election/types";
import { DEFAULT_ELECTION_TIMING } from "../election/types";
import { ReplicationNode } from "./node";
import type { LogEntry, ReplicationAction, ReplicationMessage, SnapshotPoint } from "./types";

/** Commands of the simulated log: write ids (> 0) and the master's no-op (0). */
type Cmd = number;
const NOOP: Cmd = 0;

export interface ReplicationSimOptions {
  seed: number;
  voters: number;
  timing?: ElectionTiming;
  faults?: Partial<SimFaults>;
  chaosMs: number;
  stableMs: number;
  /** Client writes per second (sent to the current master during the chaos phase and the first half of the stable one). */
  writeRate?: number;
  /** Probability per heartbeat that a node compacts its applied state into a snapshot. */
  compactChance?: number;
  /** When the backup node (an observer with an empty log) joins, ms; none if undefined. */
  backupJoinsAt?: number;
}

export interface AckedWrite {
  id: number;
  term: bigint;
  index: bigint;
}

export interface ReplicationSimResult {
  seed: number;
  acked: AckedWrite[];
  /** Writes proposed to a master that were never acknowledged (their client would retry). */
  unacked: number;
  /** Each node's committed sequence of commands at the end (index i+1 at position i). */
  committed: Cmd[][];
  /** Snapshots installed by followers or the backup (catch-up from a snapshot). */
  snapshotsInstalled: number;
  /** Terms that had two leaders (must be empty). */
  splitTerms: bigint[];
  /** The backup node's commit index at the end. */
  backupCommit: bigint | null;
  leaderCommit: bigint;
  /** Each node's log state at the end (for failure messages). */
  nodes: Array<{
    up: boolean;
    role: string;
    term: bigint;
    commit: bigint;
    last: bigint;
    snapshot: bigint;
    applied: number;
  }>;
}

type Wire = { kind: "e"; m: ElectionMessage } | { kind: "r"; m: ReplicationMessage<Cmd>; snapshot?: Cmd[] };

type Ev =
  | { kind: "deliver"; to: number; from: number; wire: Wire; epoch: number }
  | { kind: "tick"; node: number; version: number }
  | { kind: "beat"; node: number; epoch: number }
  | { kind: "write" }
  | { kind: "crash"; node: number }
  | { kind: "restart"; node: number }
  | { kind: "partition" }
  | { kind: "heal" }
  | { kind: "stabilize" };

interface Durable {
  election: DurableElectionState;
  point: SnapshotPoint;
  snapshot: Cmd[];
  entries: LogEntry<Cmd>[];
}

interface Host {
  election: ElectionMachine;
  log: ReplicationNode<Cmd>;
  applied: Cmd[];
}

export function simulateReplication(options: ReplicationSimOptions): ReplicationSimResult {
  const prng = new Prng(options.seed);
  const timing = options.timing ?? DEFAULT_ELECTION_TIMING;
  const faults = { ...DEFAULT_FAULTS, ...options.faults };
  const hasBackup = options.backupJoinsAt !== undefined;
  const total = options.voters + (hasBackup ? 1 : 0);
  const addresses = Array.from({ length: total }, (_, i) => simAddress(i));
  const voters = addresses.slice(0, options.voters);
  const observers = addresses.slice(options.voters);
  const index = new Map(addresses.map((a, i) => [a, i]));
  const net = new SimNetwork(total, prng.fork(), faults);
  const queue = new EventQueue<Ev>();
  const end = options.chaosMs + options.stableMs;
  const writeRate = options.writeRate ?? 20;
  const compactChance = options.compactChance ?? 0.02;

  const durable: Durable[] = addresses.map(() => ({
    election: { ...INITIAL_ELECTION_STATE },
    point: { index: 0n, term: 0n },
    snapshot: [],
    entries: [],
  }));
  const hosts: Host[] = [];
  const epoch = new Array(total).fill(0);
  const timerVersion = new Array(total).fill(0);
  const leadersByTerm = new Map<bigint, Set<number>>();
  const pending: Array<{ id: number; node: number; term: bigint; index: bigint }> = [];
  const acked: AckedWrite[] = [];
  let nextId = 1;
  let unacked = 0;
  let snapshotsInstalled = 0;
  let stable = false;

  const make = (i: number): Host => {
    const r = prng.fork();
    const d = durable[i];
    const election = new ElectionMachine({ self: addresses[i], voters, observers, ...timing }, d.election, () =>
      r.next(),
    );
    const log = new ReplicationNode<Cmd>(
      { self: addresses[i], voters, observers, noop: NOOP, maxBatch: 64 },
      { snapshot: d.point, entries: d.entries },
    );
    election.setLog(log.tip);
    return { election, log, applied: [...d.snapshot] };
  };

  const send = (from: number, to: number, wire: Wire, now: number) => {
    const d = net.delay(from, to);
    if (d !== undefined) queue.push(now + d, { kind: "deliver", to, from, wire, epoch: epoch[to] });
  };

  const apply = (i: number, upTo: bigint) => {
    const h = hosts[i];
    while (BigInt(h.applied.length) < upTo) {
      const idx = BigInt(h.applied.length) + 1n;
      const [e] = h.log.entries(idx, idx);
      if (e === undefined) break;
      h.applied.push(e.command);
    }
  };

  const doReplication = (i: number, actions: ReplicationAction<Cmd>[], now: number) => {
    const h = hosts[i];
    for (const a of actions) {
      switch (a.type) {
        case "persist": {
          const d = durable[i];
          if (a.truncateFrom !== undefined) d.entries = d.entries.filter((e) => e.index < (a.truncateFrom as bigint));
          d.entries.push(...a.entries);
          h.election.setLog(h.log.tip);
          break;
        }
        case "send":
          send(i, index.get(a.to) as number, { kind: "r", m: a.message }, now);
          break;
        case "send-snapshot":
          send(i, index.get(a.to) as number, { kind: "r", m: a.message, snapshot: [...durable[i].snapshot] }, now);
          break;
        case "install-snapshot":
          break; // handled with the message (its data)
        case "commit": {
          apply(i, a.index);
          for (let k = pending.length - 1; k >= 0; k--) {
            const w = pending[k];
            if (w.node !== i || w.index > a.index) continue;
            pending.splice(k, 1);
            const term = h.log.termAt(w.index);
            const same = term !== undefined ? term === w.term : h.applied[Number(w.index) - 1] === w.id;
            if (same && h.applied[Number(w.index) - 1] === w.id) acked.push({ id: w.id, term: w.term, index: w.index });
            else unacked++;
          }
          break;
        }
        case "term":
          break; // the election learns the term from its own messages
      }
    }
  };

  const doElection = (i: number, actions: ElectionAction[], now: number) => {
    const h = hosts[i];
    for (const a of actions) {
      switch (a.type) {
        case "persist":
          durable[i].election = { ...a.state };
          break;
        case "send":
          send(i, index.get(a.to) as number, { kind: "e", m: a.message }, now);
          break;
        case "broadcast":
          for (let j = 0; j < total; j++) if (j !== i) send(i, j, { kind: "e", m: a.message }, now);
          break;
        case "role":
          if (a.role === "leading") {
            const set = leadersByTerm.get(a.term) ?? new Set<number>();
            set.add(i);
            leadersByTerm.set(a.term, set);
            if (h.log.term <= a.term) doReplication(i, h.log.becomeLeader(a.term), now);
          } else doReplication(i, h.log.becomeFollower(a.term, a.leader), now);
          break;
      }
    }
    const at = h.election.nextTimer;
    if (Number.isFinite(at)) queue.push(Math.max(at, now), { kind: "tick", node: i, version: ++timerVersion[i] });
  };

  const boot = (i: number, now: number) => {
    net.up.add(i);
    hosts[i] = make(i);
    doElection(i, hosts[i].election.start(now), now);
    queue.push(now + timing.heartbeatMs, { kind: "beat", node: i, epoch: epoch[i] });
  };

  for (let i = 0; i < total; i++) {
    hosts.push(undefined as unknown as Host);
    if (i < options.voters) boot(i, 0);
    else net.up.delete(i);
  }
  if (hasBackup) queue.push(options.backupJoinsAt as number, { kind: "restart", node: total - 1 });

  const expo = (rate: number) => (-Math.log(1 - prng.next()) / rate) * 1000;
  if (faults.crashRate > 0)
    for (let i = 0; i < options.voters; i++)
      for (let t = expo(faults.crashRate); t < options.chaosMs; t += expo(faults.crashRate))
        queue.push(t, { kind: "crash", node: i });
  if (faults.partitionRate > 0)
    for (let t = expo(faults.partitionRate); t < options.chaosMs; t += expo(faults.partitionRate)) {
      queue.push(t, { kind: "partition" });
      queue.push(t + prng.int(faults.partitionMinMs, faults.partitionMaxMs), { kind: "heal" });
    }
  const writesUntil = options.chaosMs + options.stableMs / 2;
  for (let t = expo(writeRate); t < writesUntil; t += expo(writeRate)) queue.push(t, { kind: "write" });
  queue.push(options.chaosMs, { kind: "stabilize" });

  for (let ev = queue.pop(); ev !== undefined && ev.at <= end; ev = queue.pop()) {
    const now = ev.at;
    const e = ev.event;
    switch (e.kind) {
      case "deliver": {
        if (!net.up.has(e.to) || e.epoch !== epoch[e.to]) break;
        const h = hosts[e.to];
        if (e.wire.kind === "e") doElection(e.to, h.election.receive(addresses[e.from], e.wire.m, now), now);
        else {
          const actions = h.log.receive(addresses[e.from], e.wire.m);
          if (e.wire.snapshot !== undefined && actions.some((a) => a.type === "install-snapshot")) {
            const point = h.log.snapshotPoint;
            h.applied = e.wire.snapshot.slice(0, Number(point.index));
            durable[e.to].point = point;
            durable[e.to].snapshot = [...h.applied];
            durable[e.to].entries = durable[e.to].entries.filter((x) => x.index > point.index);
            snapshotsInstalled++;
          }
          doReplication(e.to, actions, now);
          h.election.setLog(h.log.tip);
        }
        break;
      }
      case "tick":
        if (!net.up.has(e.node) || e.version !== timerVersion[e.node]) break;
        doElection(e.node, hosts[e.node].election.tick(now), now);
        break;
      case "beat": {
        if (!net.up.has(e.node) || e.epoch !== epoch[e.node]) break;
        const h = hosts[e.node];
        if (h.log.isLeader) doReplication(e.node, h.log.heartbeat(), now);
        if (prng.chance(compactChance) && BigInt(h.applied.length) > h.log.snapshotPoint.index) {
          const upTo = BigInt(h.applied.length) < h.log.commitIndex ? BigInt(h.applied.length) : h.log.commitIndex;
          h.log.compact(upTo);
          const d = durable[e.node];
          d.point = h.log.snapshotPoint;
          d.snapshot = h.applied.slice(0, Number(upTo));
          d.entries = d.entries.filter((x) => x.index > upTo);
        }
        queue.push(now + timing.heartbeatMs, { kind: "beat", node: e.node, epoch: epoch[e.node] });
        break;
      }
      case "write": {
        const leaders = [...net.up].filter((i) => hosts[i].log.isLeader);
        if (leaders.length === 0) break;
        const i = prng.pick(leaders);
        const id = nextId++;
        const { entry, actions } = hosts[i].log.propose(id);
        pending.push({ id, node: i, term: entry.term, index: entry.index });
        doReplication(i, actions, now);
        break;
      }
      case "crash":
        if (stable || !net.up.has(e.node)) break;
        net.up.delete(e.node);
        epoch[e.node]++;
        timerVersion[e.node]++;
        for (let k = pending.length - 1; k >= 0; k--)
          if (pending[k].node === e.node) {
            pending.splice(k, 1);
            unacked++;
          }
        queue.push(now + prng.int(faults.downMinMs, faults.downMaxMs), { kind: "restart", node: e.node });
        break;
      case "restart":
        if (!net.up.has(e.node)) boot(e.node, now);
        break;
      case "partition":
        if (!stable) net.partition();
        break;
      case "heal":
        net.heal();
        break;
      case "stabilize":
        stable = true;
        net.heal();
        net.faults = { ...net.faults, loss: 0 };
        for (let i = 0; i < options.voters; i++) if (!net.up.has(i)) boot(i, now);
        break;
    }
  }

  const splitTerms = [...leadersByTerm].filter(([, s]) => s.size > 1).map(([t]) => t);
  const leader = hosts.findIndex((h, i) => net.up.has(i) && h.log.isLeader);
  return {
    seed: options.seed,
    acked,
    unacked: unacked + pending.length,
    committed: hosts.map((h) => h.applied.slice(0, Number(h.log.commitIndex))),
    snapshotsInstalled,
    splitTerms,
    backupCommit: hasBackup && net.up.has(total - 1) ? hosts[total - 1].log.commitIndex : null,
    leaderCommit: leader >= 0 ? hosts[leader].log.commitIndex : -1n,
    nodes: hosts.map((h, i) => ({
      up: net.up.has(i),
      role: h.election.role,
      term: h.log.term,
      commit: h.log.commitIndex,
      last: h.log.lastIndex,
      snapshot: h.log.snapshotPoint.index,
      applied: h.applied.length,
    })),
  };
}

export type { Address };
