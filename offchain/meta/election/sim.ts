/**
 * Seeded simulator of the master election (and the network model the replication simulator reuses): the
 * simulator owns time and faults — message delays (so reordering), loss, crashes with restarts from the durable
 * state, and partitions — during a chaos phase, then a stable phase with every node up and connected. It
 * records every (term, leader) pair any node ever led with and the time a single master was followed by every
 * voter after the network settled. A failing seed replays exactly. Pure: no I/O, no clock.
 */
import type { Address } from "viem";
import { Prng } from "../../consensus/pbft/sim/prng";
import { ElectionMachine, INITIAL_ELECTION_STATE } from "./machine";
import type { DurableElectionState, ElectionAction, ElectionMessage, ElectionTiming } from "./types";
import { DEFAULT_ELECTION_TIMING } from "./types";

/** Faults of the chaos phase. */
export interface SimFaults {
  /** Probability that a message is lost. */
  loss: number;
  /** One-way delay, uniform in [min, max] ms. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Expected crashes per node per second; a crashed node restarts after [min, max] ms. */
  crashRate: number;
  downMinMs: number;
  downMaxMs: number;
  /** Expected partitions per second; a partition lasts [min, max] ms. */
  partitionRate: number;
  partitionMinMs: number;
  partitionMaxMs: number;
}

export const DEFAULT_FAULTS: SimFaults = {
  loss: 0.1,
  minDelayMs: 1,
  maxDelayMs: 60,
  crashRate: 0.3,
  downMinMs: 50,
  downMaxMs: 2_000,
  partitionRate: 0.5,
  partitionMinMs: 100,
  partitionMaxMs: 3_000,
};

/** A time-ordered event queue (binary heap; ties broken by insertion order, so runs are deterministic). */
export class EventQueue<E> {
  private heap: Array<{ at: number; seq: number; event: E }> = [];
  private seq = 0;

  push(at: number, event: E): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, event });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  pop(): { at: number; event: E } | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as (typeof h)[number];
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return { at: top.at, event: top.event };
  }

  get size(): number {
    return this.heap.length;
  }

  private less(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}

/** The simulated network: who is up, who can reach whom, and the fault knobs (changed by the scenario). */
export class SimNetwork {
  readonly up = new Set<number>();
  /** Partition group of each node (messages cross only within a group). */
  private group: number[];
  faults: SimFaults;

  constructor(
    readonly size: number,
    readonly prng: Prng,
    faults: SimFaults,
  ) {
    this.group = new Array(size).fill(0);
    this.faults = { ...faults };
    for (let i = 0; i < size; i++) this.up.add(i);
  }

  /** Delivery delay of one message from `a` to `b`, or undefined if it is lost or cannot cross. */
  delay(a: number, b: number): number | undefined {
    if (!this.up.has(a) || !this.up.has(b) || this.group[a] !== this.group[b]) return undefined;
    if (this.prng.chance(this.faults.loss)) return undefined;
    return this.prng.int(this.faults.minDelayMs, this.faults.maxDelayMs);
  }

  /** Splits the nodes into two random groups. */
  partition(): void {
    for (let i = 0; i < this.size; i++) this.group[i] = this.prng.int(0, 1);
  }

  heal(): void {
    this.group.fill(0);
  }

  canReach(a: number, b: number): boolean {
    return this.group[a] === this.group[b];
  }
}

/** Options of {@link simulateElection}. */
export interface ElectionSimOptions {
  seed: number;
  voters: number;
  observers?: number;
  timing?: ElectionTiming;
  faults?: Partial<SimFaults>;
  /** End of the chaos phase, ms. */
  chaosMs: number;
  /** The stable phase lasts this long after the chaos phase, ms. */
  stableMs: number;
}

export interface ElectionSimResult {
  seed: number;
  /** Every node that led each term. */
  leadersByTerm: Map<bigint, Set<Address>>;
  /** Terms with more than one leader (must be empty). */
  violations: Array<{ term: bigint; leaders: Address[] }>;
  /** Time from the start of the stable phase until one master was followed by every voter; null if never. */
  settleMs: number | null;
  maxTerm: bigint;
  messages: number;
}

/** Deterministic address of simulated node `i`. */
export function simAddress(i: number): Address {
  return `0x${(i + 1).toString(16).padStart(40, "0")}` as Address;
}

type SimEvent =
  | { kind: "deliver"; to: number; from: number; message: ElectionMessage; epoch: number }
  | { kind: "tick"; node: number; version: number }
  | { kind: "crash"; node: number }
  | { kind: "restart"; node: number }
  | { kind: "partition" }
  | { kind: "heal" }
  | { kind: "stabilize" };

/** Runs one seeded scenario of the election. */
export function simulateElection(options: ElectionSimOptions): ElectionSimResult {
  const prng = new Prng(options.seed);
  const timing = options.timing ?? DEFAULT_ELECTION_TIMING;
  const faults = { ...DEFAULT_FAULTS, ...options.faults };
  const total = options.voters + (options.observers ?? 0);
  const addresses = Array.from({ length: total }, (_, i) => simAddress(i));
  const voters = addresses.slice(0, options.voters);
  const observers = addresses.slice(options.voters);
  const net = new SimNetwork(total, prng.fork(), faults);
  const queue = new EventQueue<SimEvent>();
  const durable: DurableElectionState[] = addresses.map(() => ({ ...INITIAL_ELECTION_STATE }));
  const machines: ElectionMachine[] = [];
  const timerVersion = new Array(total).fill(0);
  /** Incremented at every crash: messages in flight to a crashed incarnation are dropped. */
  const epoch = new Array(total).fill(0);
  const leadersByTerm = new Map<bigint, Set<Address>>();
  const index = new Map(addresses.map((a, i) => [a, i]));
  const end = options.chaosMs + options.stableMs;
  let stable = false;
  let settleMs: number | null = null;
  let messages = 0;

  const make = (i: number) => {
    const r = prng.fork();
    return new ElectionMachine({ self: addresses[i], voters, observers, ...timing }, durable[i], () => r.next());
  };

  const schedule = (i: number, now: number) => {
    const at = machines[i].nextTimer;
    if (Number.isFinite(at)) queue.push(Math.max(at, now), { kind: "tick", node: i, version: ++timerVersion[i] });
  };

  const perform = (i: number, actions: ElectionAction[], now: number) => {
    for (const a of actions) {
      switch (a.type) {
        case "persist":
          durable[i] = { ...a.state };
          break;
        case "role":
          if (a.role === "leading") {
            const set = leadersByTerm.get(a.term) ?? new Set<Address>();
            set.add(addresses[i]);
            leadersByTerm.set(a.term, set);
          }
          break;
        case "send":
        case "broadcast": {
          const targets =
            a.type === "send" ? [index.get(a.to) as number] : addresses.map((_, j) => j).filter((j) => j !== i);
          for (const j of targets) {
            messages++;
            const d = net.delay(i, j);
            if (d !== undefined)
              queue.push(now + d, { kind: "deliver", to: j, from: i, message: a.message, epoch: epoch[j] });
          }
          break;
        }
      }
    }
    schedule(i, now);
  };

  const settled = (): boolean => {
    let leader: Address | null = null;
    for (let i = 0; i < options.voters; i++) {
      const m = machines[i];
      const l = m.role === "leading" ? addresses[i] : m.role === "following" ? m.leader : null;
      if (l === null || (leader !== null && l !== leader)) return false;
      leader = l;
    }
    return leader !== null && machines[index.get(leader) as number].role === "leading";
  };

  for (let i = 0; i < total; i++) {
    machines.push(make(i));
    perform(i, machines[i].start(0), 0);
  }
  // Fault schedule of the chaos phase.
  const expo = (rate: number) => -Math.log(1 - prng.next()) / rate;
  if (faults.crashRate > 0)
    for (let i = 0; i < total; i++)
      for (let t = expo(faults.crashRate) * 1000; t < options.chaosMs; t += expo(faults.crashRate) * 1000)
        queue.push(t, { kind: "crash", node: i });
  if (faults.partitionRate > 0)
    for (let t = expo(faults.partitionRate) * 1000; t < options.chaosMs; t += expo(faults.partitionRate) * 1000) {
      queue.push(t, { kind: "partition" });
      queue.push(t + prng.int(faults.partitionMinMs, faults.partitionMaxMs), { kind: "heal" });
    }
  queue.push(options.chaosMs, { kind: "stabilize" });

  for (let ev = queue.pop(); ev !== undefined && ev.at <= end; ev = queue.pop()) {
    const now = ev.at;
    const e = ev.event;
    switch (e.kind) {
      case "deliver":
        if (!net.up.has(e.to) || e.epoch !== epoch[e.to]) break;
        perform(e.to, machines[e.to].receive(addresses[e.from], e.message, now), now);
        break;
      case "tick":
        if (!net.up.has(e.node) || e.version !== timerVersion[e.node]) break;
        perform(e.node, machines[e.node].tick(now), now);
        break;
      case "crash":
        if (stable || !net.up.has(e.node)) break;
        net.up.delete(e.node);
        epoch[e.node]++;
        timerVersion[e.node]++;
        queue.push(now + prng.int(faults.downMinMs, faults.downMaxMs), { kind: "restart", node: e.node });
        break;
      case "restart":
        if (net.up.has(e.node)) break;
        net.up.add(e.node);
        machines[e.node] = make(e.node);
        perform(e.node, machines[e.node].start(now), now);
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
        for (let i = 0; i < total; i++)
          if (!net.up.has(i)) {
            net.up.add(i);
            machines[i] = make(i);
            perform(i, machines[i].start(now), now);
          }
        break;
    }
    if (stable && settleMs === null && settled()) settleMs = now - options.chaosMs;
  }

  const violations = [...leadersByTerm]
    .filter(([, set]) => set.size > 1)
    .map(([term, set]) => ({ term, leaders: [...set] }));
  let maxTerm = 0n;
  for (const d of durable) if (d.term > maxTerm) maxTerm = d.term;
  return { seed: options.seed, leadersByTerm, violations, settleMs, maxTerm, messages };
}
