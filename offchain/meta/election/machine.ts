/**
 * The PoA master election as a pure state machine (PROTOCOL §8, issue 13 item 4): inputs in (`start`, `receive`,
 * `tick`, each with the current time), actions out (persist, send, broadcast, role); no clock, socket or
 * randomness inside — the host injects `random` and owns time, as consensus/pbft/replica.ts does.
 *
 * The seed's rule: every voter draws a random positive integer per term and votes for itself; votes are
 * exchanged; a vote beats another by the larger random number, then the larger address; a node leads when more
 * than half of the servers hold its vote. Two additions make it safe with replication and faults:
 * - **Log first.** A vote for a longer log (last entry's term, then index) beats any random number — the
 *   comparison ZooKeeper makes with zxids — and no voter acknowledges a candidate whose log is behind its own,
 *   so a master always holds every write a majority persisted (replication/ relies on it).
 * - **Terms and acks.** Every message carries the term (the master's epoch). A voter that sees a majority for a
 *   candidate sends it one durable `ack` for that term, at most one per term, ever; the candidate leads only
 *   with a majority of acks. Two leaders in one term would need two intersecting majorities of acks — one voter
 *   acking twice — so there is at most one leader per term whatever the delays, losses, crashes or partitions.
 *   A node that sees a newer term joins it (a deposed master steps down), and every write carries the term so
 *   followers and workers refuse an older master's (fencing: election/fencing.ts).
 * Liveness: a term that produces no master within a random timeout in [timeoutMinMs, timeoutMaxMs] is followed
 * by the next; a master that hears from no majority for timeoutMaxMs steps down.
 * - **Back-off.** When a term ends with no master the range doubles (and the master's window with it), up to
 *   `backoffMaxMs`: with messages (or the processes handling them, on a starved CPU) slower than the timeout, a
 *   vote round cannot finish before the next term starts, and fixed timeouts never elect anyone (the simulator's
 *   "slow network" scenario: 3 of 100 seeds elected a master at 300–700 ms one-way delays). A master followed
 *   for {@link BACKOFF_DECAY_WINDOWS} windows halves it again, so an idle cluster keeps its fast failover.
 */
import type { Address } from "viem";
import type {
  DurableElectionState,
  ElectionAction,
  ElectionConfig,
  ElectionMessage,
  ElectionRole,
  LogTip,
  Vote,
} from "./types";
import { BACKOFF_DECAY_WINDOWS } from "./types";

/** Compares log tips: > 0 if `a` is ahead. */
export function compareLog(a: LogTip, b: LogTip): number {
  if (a.term !== b.term) return a.term > b.term ? 1 : -1;
  if (a.index !== b.index) return a.index > b.index ? 1 : -1;
  return 0;
}

/** Compares votes: > 0 if `a` wins (longer log, then larger random number, then larger address). */
export function compareVotes(a: Vote, b: Vote): number {
  const log = compareLog(a.log, b.log);
  if (log !== 0) return log;
  if (a.random !== b.random) return a.random > b.random ? 1 : -1;
  const x = BigInt(a.candidate);
  const y = BigInt(b.candidate);
  return x === y ? 0 : x > y ? 1 : -1;
}

/** A random positive integer below 2^53 from a uniform [0, 1) source. */
export function drawRandom(random: () => number): bigint {
  return BigInt(Math.floor(random() * 2 ** 53)) + 1n;
}

const lower = (a: Address) => a.toLowerCase() as Address;

export const INITIAL_ELECTION_STATE: DurableElectionState = { term: 0n, ackedTerm: 0n, ackedLeader: null };

export class ElectionMachine {
  private readonly self: Address;
  private readonly voters: Set<Address>;
  private readonly peers: Set<Address>;
  readonly isVoter: boolean;
  /** Votes needed: more than half of the voters. */
  readonly majority: number;

  private durable: DurableElectionState;
  private currentRole: ElectionRole;
  private currentLeader: Address | null = null;
  private vote: Vote | null = null;
  private received = new Map<Address, Vote>();
  private acks = new Set<Address>();
  /** This voter acked a candidate in the current term: its vote is final for the term. */
  private settled = false;
  private lastContact = new Map<Address, number>();
  private deadline = Number.POSITIVE_INFINITY;
  private nextBeat = Number.POSITIVE_INFINITY;
  private log: LogTip = { term: 0n, index: 0n };
  private out: ElectionAction[] = [];
  /** Back-off exponent: the timeouts are scaled by 2^level (capped at backoffMaxMs). */
  private level = 0;
  private readonly maxLevel: number;
  /** Since when the current master has been followed or held (decays the back-off). */
  private heldSince = Number.POSITIVE_INFINITY;

  constructor(
    private readonly config: ElectionConfig,
    durable: DurableElectionState = INITIAL_ELECTION_STATE,
    private readonly random: () => number,
  ) {
    this.self = lower(config.self);
    this.voters = new Set(config.voters.map(lower));
    this.peers = new Set([...this.voters, ...(config.observers ?? []).map(lower)]);
    this.peers.delete(this.self);
    this.isVoter = this.voters.has(this.self);
    this.majority = Math.floor(this.voters.size / 2) + 1;
    this.durable = { ...durable, ackedLeader: durable.ackedLeader === null ? null : lower(durable.ackedLeader) };
    this.currentRole = this.isVoter ? "looking" : "observing";
    const cap = config.backoffMaxMs ?? 16 * config.timeoutMaxMs;
    this.maxLevel = Math.max(0, Math.floor(Math.log2(Math.max(1, cap / config.timeoutMaxMs))));
  }

  /** The back-off exponent (0 = the configured timeouts). */
  get backoff(): number {
    return this.level;
  }

  get role(): ElectionRole {
    return this.currentRole;
  }
  get term(): bigint {
    return this.durable.term;
  }
  /** The master this node follows (itself when leading), null while unknown. */
  get leader(): Address | null {
    return this.currentLeader;
  }
  get durableState(): DurableElectionState {
    return { ...this.durable };
  }
  /** The earliest time at which {@link tick} has something to do. */
  get nextTimer(): number {
    return Math.min(this.deadline, this.nextBeat);
  }

  /** The host's log tip (replication calls this after every append, truncation or snapshot). */
  setLog(tip: LogTip): void {
    this.log = { ...tip };
  }

  /** Starts (or restarts) the node: a voter opens the next term with its own vote. */
  start(now: number): ElectionAction[] {
    return this.run(() => {
      if (this.isVoter) this.newElection(now);
      else {
        this.currentRole = "observing";
        this.deadline = now + this.timeout();
      }
    });
  }

  /** Hands leadership over (graceful shutdown): leaves the term's master role and opens the next term. */
  stepDown(now: number): ElectionAction[] {
    return this.run(() => {
      if (this.currentRole === "leading") this.newElection(now);
    });
  }

  tick(now: number): ElectionAction[] {
    return this.run(() => {
      switch (this.currentRole) {
        case "leading": {
          let alive = 1;
          for (const v of this.voters)
            if (v !== this.self && now - (this.lastContact.get(v) ?? -Infinity) <= this.window()) alive++;
          if (alive < this.majority) {
            this.newElection(now);
            return;
          }
          this.decay(now);
          if (now >= this.nextBeat) {
            this.broadcast({ type: "heartbeat", term: this.term, leader: this.self });
            this.nextBeat = now + this.config.heartbeatMs;
          }
          return;
        }
        case "following":
        case "looking":
          if (now >= this.deadline) {
            // A term that produced no master: back off before the next one.
            if (this.currentRole === "looking") this.level = Math.min(this.level + 1, this.maxLevel);
            this.newElection(now);
            return;
          }
          if (this.currentRole === "looking" && now >= this.nextBeat && this.vote !== null) {
            this.broadcast({ type: "vote", term: this.term, vote: this.vote, looking: !this.settled });
            this.nextBeat = now + this.config.heartbeatMs;
          }
          return;
        case "observing":
          if (now >= this.deadline) {
            this.currentLeader = null;
            this.deadline = now + this.timeout();
          }
          return;
      }
    });
  }

  receive(from: Address, message: ElectionMessage, now: number): ElectionAction[] {
    return this.run(() => {
      const sender = lower(from);
      if (!this.peers.has(sender)) return;
      switch (message.type) {
        case "vote":
          return this.onVote(sender, message, now);
        case "ack":
          return this.onAck(sender, message, now);
        case "heartbeat":
          return this.onHeartbeat(sender, message, now);
        case "heartbeat-reply":
          if (message.term > this.term) return this.enterTerm(message.term, now, true);
          if (this.currentRole === "leading" && message.ok && message.term === this.term)
            this.lastContact.set(sender, now);
          return;
        case "leader":
          if (message.term > this.term) this.enterTerm(message.term, now, true);
          return;
      }
    });
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────────────────

  private run(step: () => void): ElectionAction[] {
    const before = `${this.currentRole}|${this.term}|${this.currentLeader}`;
    this.out = [];
    step();
    if (`${this.currentRole}|${this.term}|${this.currentLeader}` !== before)
      this.out.push({ type: "role", role: this.currentRole, term: this.term, leader: this.currentLeader });
    return this.out;
  }

  private timeout(): number {
    const { timeoutMinMs: min, timeoutMaxMs: max } = this.config;
    const scale = 2 ** this.level;
    return Math.min(min * scale + Math.floor(this.random() * ((max - min) * scale + 1)), this.window());
  }

  /** The longest timeout at the current back-off: also the master's window for hearing from a majority. */
  private window(): number {
    return Math.min(
      this.config.timeoutMaxMs * 2 ** this.level,
      this.config.backoffMaxMs ?? 16 * this.config.timeoutMaxMs,
    );
  }

  /** A master held for BACKOFF_DECAY_WINDOWS windows halves the back-off. */
  private decay(now: number): void {
    if (this.level === 0) return;
    if (this.heldSince === Number.POSITIVE_INFINITY) this.heldSince = now;
    else if (now - this.heldSince >= BACKOFF_DECAY_WINDOWS * this.window()) {
      this.level--;
      this.heldSince = now;
    }
  }

  private persist(): void {
    this.out.push({ type: "persist", state: { ...this.durable } });
  }

  private broadcast(message: ElectionMessage): void {
    this.out.push({ type: "broadcast", message });
  }

  private send(to: Address, message: ElectionMessage): void {
    this.out.push({ type: "send", to, message });
  }

  /** Moves to term `term` (persisted) as a looking voter (or an observer) with a fresh vote for itself. */
  private enterTerm(term: bigint, now: number, announce: boolean): void {
    this.durable = { ...this.durable, term };
    this.persist();
    this.received.clear();
    this.acks.clear();
    this.lastContact.clear();
    this.settled = false;
    this.currentLeader = null;
    this.heldSince = Number.POSITIVE_INFINITY;
    this.deadline = now + this.timeout();
    if (!this.isVoter) {
      this.currentRole = "observing";
      this.vote = null;
      this.nextBeat = Number.POSITIVE_INFINITY;
      return;
    }
    this.currentRole = "looking";
    this.vote = { candidate: this.self, random: drawRandom(this.random), log: { ...this.log } };
    this.received.set(this.self, this.vote);
    this.nextBeat = now + this.config.heartbeatMs;
    if (announce) this.broadcast({ type: "vote", term, vote: this.vote, looking: true });
  }

  private newElection(now: number): void {
    this.enterTerm(this.term + 1n, now, true);
    this.evaluate(now);
  }

  private onVote(from: Address, m: Extract<ElectionMessage, { type: "vote" }>, now: number): void {
    if (!this.isVoter || !this.voters.has(from)) return;
    let joined = false;
    if (m.term > this.term) {
      this.enterTerm(m.term, now, false);
      joined = true;
    } else if (m.term < this.term) {
      if (this.currentRole === "looking" && this.vote !== null)
        this.send(from, { type: "vote", term: this.term, vote: this.vote, looking: !this.settled });
      else this.send(from, { type: "leader", term: this.term, leader: this.currentLeader });
      return;
    }
    if (this.currentRole !== "looking" || this.vote === null) {
      this.send(from, { type: "leader", term: this.term, leader: this.currentLeader });
      return;
    }
    const vote: Vote = { candidate: lower(m.vote.candidate), random: m.vote.random, log: m.vote.log };
    this.received.set(from, vote);
    let changed = false;
    if (!this.settled && compareVotes(vote, this.vote) > 0) {
      this.vote = vote;
      this.received.set(this.self, vote);
      changed = true;
    }
    // A node that just joined the term, or changed its mind, tells everyone its vote.
    if (changed || joined) this.broadcast({ type: "vote", term: this.term, vote: this.vote, looking: !this.settled });
    this.evaluate(now);
  }

  /** A looking voter that sees a majority for its vote acks the candidate (once per term, durably). */
  private evaluate(now: number): void {
    if (this.currentRole !== "looking" || this.settled || this.vote === null) return;
    const candidate = this.vote.candidate;
    let count = 0;
    for (const [voter, v] of this.received) if (this.voters.has(voter) && v.candidate === candidate) count++;
    if (count < this.majority) return;
    if (compareLog(this.vote.log, this.log) < 0) return;
    if (this.durable.ackedTerm >= this.term) return;
    this.settled = true;
    this.durable = { term: this.term, ackedTerm: this.term, ackedLeader: candidate };
    this.persist();
    this.deadline = now + this.timeout();
    if (candidate === this.self) {
      this.acks.add(this.self);
      this.evaluateLeading(now);
    } else this.send(candidate, { type: "ack", term: this.term, leader: candidate });
  }

  private onAck(from: Address, m: Extract<ElectionMessage, { type: "ack" }>, now: number): void {
    if (!this.voters.has(from) || m.term !== this.term || lower(m.leader) !== this.self) return;
    if (this.currentRole !== "looking") return;
    this.acks.add(from);
    this.evaluateLeading(now);
  }

  private evaluateLeading(now: number): void {
    if (this.currentRole !== "looking" || this.durable.ackedLeader !== this.self) return;
    if (this.durable.ackedTerm !== this.term || this.acks.size < this.majority) return;
    this.currentRole = "leading";
    this.currentLeader = this.self;
    for (const a of this.acks) this.lastContact.set(a, now);
    this.deadline = Number.POSITIVE_INFINITY;
    this.broadcast({ type: "heartbeat", term: this.term, leader: this.self });
    this.nextBeat = now + this.config.heartbeatMs;
  }

  private onHeartbeat(from: Address, m: Extract<ElectionMessage, { type: "heartbeat" }>, now: number): void {
    if (m.term < this.term) {
      this.send(from, { type: "heartbeat-reply", term: this.term, ok: false });
      return;
    }
    if (lower(m.leader) !== from) return;
    if (m.term > this.term) this.enterTerm(m.term, now, false);
    if (this.currentRole === "leading") return; // cannot happen: one leader per term
    this.currentLeader = from;
    this.currentRole = this.isVoter ? "following" : "observing";
    this.settled = true;
    this.nextBeat = Number.POSITIVE_INFINITY;
    this.decay(now);
    this.deadline = now + this.timeout();
    this.send(from, { type: "heartbeat-reply", term: this.term, ok: true });
  }
}
