/**
 * Replication of the meta log as a pure state machine (issue 13 item 5), in the shape of Raft's log
 * replication: the master appends every change to its log and sends it to every follower; a follower persists
 * it (after checking that it continues its log at the same place) and answers; an entry is **committed** once
 * a majority of the voters persisted it and it is from the master's own term (older entries commit with it),
 * and only then is the write acknowledged — so a master that dies loses no acknowledged write: the next one is
 * elected only by a majority whose logs it is not behind (election/machine.ts), and every majority holds it.
 * A follower that is too far behind (its next entry already compacted into the master's snapshot) receives the
 * snapshot and then the log tail.
 *
 * The election decides who leads ({@link becomeLeader} / {@link becomeFollower}); this machine enforces terms on
 * every message (fencing). Inputs in, actions out; no clock or socket. Pure: no I/O.
 */
import type { Address } from "viem";
import { HmsError } from "../../core/errors";
import type { DurableLog, LogEntry, ReadState, ReplicationAction, ReplicationMessage, SnapshotPoint } from "./types";

const lower = (a: Address) => a.toLowerCase() as Address;

/** Configuration of one node. */
export interface ReplicationConfig<C> {
  self: Address;
  /** Voters (their persistence counts for commit); the master also sends to `observers`. */
  voters: readonly Address[];
  observers?: readonly Address[];
  /** The command a new master appends first, so that entries of earlier terms commit. */
  noop: C;
  /** Most entries in one append message. */
  maxBatch?: number;
}

/** How a follower at `nextIndex` catches up from a master whose log starts after `snapshot`. */
export function catchUpPlan(
  nextIndex: bigint,
  snapshot: SnapshotPoint,
): { kind: "tail"; from: bigint } | { kind: "snapshot" } {
  return nextIndex <= snapshot.index ? { kind: "snapshot" } : { kind: "tail", from: nextIndex };
}

/** Majority commit index: the largest index that more than half of `matches` (one per voter) have reached. */
export function majorityIndex(matches: readonly bigint[]): bigint {
  const sorted = [...matches].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  return sorted[Math.floor(sorted.length / 2)] ?? 0n;
}

/** Read-your-writes: a node may serve a read that must see the write at `at` once it committed that index. */
export function canServeRead(state: Pick<ReadState, "commit">, at: { index: bigint }): boolean {
  return state.commit >= at.index;
}

export class ReplicationNode<C> {
  private readonly self: Address;
  private readonly voters: Address[];
  private readonly peers: Address[];
  private readonly majority: number;
  private readonly maxBatch: number;

  private currentTerm = 0n;
  private role: "leader" | "follower" = "follower";
  private currentLeader: Address | null = null;
  private base: SnapshotPoint;
  private log: LogEntry<C>[];
  private commit = 0n;
  private leaderCommit = 0n;
  private readonly nextIndex = new Map<Address, bigint>();
  private readonly matchIndex = new Map<Address, bigint>();
  private out: ReplicationAction<C>[] = [];

  constructor(
    private readonly config: ReplicationConfig<C>,
    durable: DurableLog<C> = { snapshot: { index: 0n, term: 0n }, entries: [] },
  ) {
    this.self = lower(config.self);
    this.voters = config.voters.map(lower);
    this.peers = [...new Set([...this.voters, ...(config.observers ?? []).map(lower)])].filter((p) => p !== this.self);
    this.majority = Math.floor(this.voters.length / 2) + 1;
    this.maxBatch = config.maxBatch ?? 512;
    this.base = { ...durable.snapshot };
    this.log = [...durable.entries];
    for (let i = 0; i < this.log.length; i++)
      if (this.log[i].index !== this.base.index + BigInt(i) + 1n)
        throw new HmsError("META_LOG_GAP", `persisted entry ${this.log[i].index} is out of place`, {
          value: this.log[i].index.toString(),
        });
    // Everything in a snapshot was committed.
    this.commit = this.base.index;
  }

  get term(): bigint {
    return this.currentTerm;
  }
  get isLeader(): boolean {
    return this.role === "leader";
  }
  get leader(): Address | null {
    return this.currentLeader;
  }
  get commitIndex(): bigint {
    return this.commit;
  }
  get snapshotPoint(): SnapshotPoint {
    return { ...this.base };
  }
  get lastIndex(): bigint {
    return this.log.length === 0 ? this.base.index : this.log[this.log.length - 1].index;
  }
  get lastTerm(): bigint {
    return this.log.length === 0 ? this.base.term : this.log[this.log.length - 1].term;
  }
  /** The log tip for the election's votes. */
  get tip(): { term: bigint; index: bigint } {
    return { term: this.lastTerm, index: this.lastIndex };
  }
  /** Entries in (from − 1, to], as far as the log still has them. */
  entries(from: bigint, to: bigint = this.lastIndex): LogEntry<C>[] {
    const start = Number(from - this.base.index - 1n);
    const end = Number(to - this.base.index);
    return this.log.slice(Math.max(0, start), Math.max(0, end));
  }
  /** The term of the entry at `index` (the snapshot's for its last index), undefined if not held. */
  termAt(index: bigint): bigint | undefined {
    if (index === this.base.index) return this.base.term;
    if (index < this.base.index || index > this.lastIndex) return undefined;
    return this.log[Number(index - this.base.index - 1n)].term;
  }
  readState(): ReadState {
    const leaderCommit = this.role === "leader" ? this.commit : this.leaderCommit;
    return {
      term: this.currentTerm,
      commit: this.commit,
      leaderCommit,
      lag: leaderCommit > this.commit ? leaderCommit - this.commit : 0n,
    };
  }

  /** The election made this node master of `term`: it appends a no-op and starts replicating. */
  becomeLeader(term: bigint): ReplicationAction<C>[] {
    return this.run(() => {
      if (term < this.currentTerm)
        throw new HmsError("META_STALE_TERM", `cannot lead term ${term} below ${this.currentTerm}`, {
          value: term.toString(),
        });
      this.currentTerm = term;
      this.role = "leader";
      this.currentLeader = this.self;
      for (const p of this.peers) {
        this.nextIndex.set(p, this.lastIndex + 1n);
        this.matchIndex.set(p, 0n);
      }
      this.appendLocal(this.config.noop);
      this.replicate();
    });
  }

  /** The election says `leader` (or nobody yet) leads `term`. */
  becomeFollower(term: bigint, leader: Address | null): ReplicationAction<C>[] {
    return this.run(() => {
      if (term < this.currentTerm) return;
      this.currentTerm = term;
      this.role = "follower";
      this.currentLeader = leader === null ? null : lower(leader);
    });
  }

  /** Master: appends `command`; it is committed (acknowledge it then) when a `commit` action reaches its index. */
  propose(command: C): { entry: LogEntry<C>; actions: ReplicationAction<C>[] } {
    if (this.role !== "leader")
      throw new HmsError("META_NOT_LEADER", `not the master (term ${this.currentTerm})`, {
        value: this.currentLeader,
      });
    let entry!: LogEntry<C>;
    const actions = this.run(() => {
      entry = this.appendLocal(command);
      this.replicate();
    });
    return { entry, actions };
  }

  /** Master: sends every follower what it lacks (call it at the heartbeat period; empty appends are heartbeats). */
  heartbeat(): ReplicationAction<C>[] {
    return this.run(() => {
      if (this.role === "leader") this.replicate();
    });
  }

  /** The host compacted the applied state up to `index` (≤ commit) into a snapshot: drop those entries. */
  compact(index: bigint): void {
    if (index <= this.base.index) return;
    if (index > this.commit)
      throw new HmsError("META_BAD_SNAPSHOT", `cannot compact past the commit index ${this.commit}`, {
        value: index.toString(),
      });
    const term = this.termAt(index) as bigint;
    this.log = this.log.slice(Number(index - this.base.index));
    this.base = { index, term };
  }

  receive(from: Address, message: ReplicationMessage<C>): ReplicationAction<C>[] {
    return this.run(() => {
      const sender = lower(from);
      if (message.term > this.currentTerm) {
        const leader = message.type === "append" || message.type === "snapshot" ? lower(message.leader) : null;
        this.currentTerm = message.term;
        this.role = "follower";
        this.currentLeader = leader;
        this.out.push({ type: "term", term: message.term, leader });
      }
      switch (message.type) {
        case "append":
          return this.onAppend(sender, message);
        case "snapshot":
          return this.onSnapshot(sender, message);
        case "append-reply":
          return this.onAppendReply(sender, message);
        case "snapshot-reply":
          if (this.role !== "leader" || message.term !== this.currentTerm) return;
          if (message.match > (this.matchIndex.get(sender) ?? 0n)) this.matchIndex.set(sender, message.match);
          this.nextIndex.set(sender, (this.matchIndex.get(sender) ?? 0n) + 1n);
          this.advanceCommit();
          this.sendTo(sender);
          return;
      }
    });
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────────────────

  private run(step: () => void): ReplicationAction<C>[] {
    this.out = [];
    step();
    return this.out;
  }

  private appendLocal(command: C): LogEntry<C> {
    const entry: LogEntry<C> = { term: this.currentTerm, index: this.lastIndex + 1n, command };
    this.log.push(entry);
    this.out.push({ type: "persist", entries: [entry] });
    if (this.voters.length === 1 && this.voters[0] === this.self) this.advanceCommit();
    return entry;
  }

  private replicate(): void {
    for (const p of this.peers) this.sendTo(p);
  }

  private sendTo(peer: Address): void {
    const next = this.nextIndex.get(peer) ?? this.lastIndex + 1n;
    if (catchUpPlan(next, this.base).kind === "snapshot") {
      this.out.push({
        type: "send-snapshot",
        to: peer,
        message: {
          type: "snapshot",
          term: this.currentTerm,
          leader: this.self,
          point: { ...this.base },
          commit: this.commit,
        },
      });
      return;
    }
    const prevIndex = next - 1n;
    const entries = this.entries(next, next - 1n + BigInt(this.maxBatch));
    this.out.push({
      type: "send",
      to: peer,
      message: {
        type: "append",
        term: this.currentTerm,
        leader: this.self,
        prevIndex,
        prevTerm: this.termAt(prevIndex) ?? 0n,
        entries,
        commit: this.commit,
      },
    });
  }

  private reply(to: Address, success: boolean, match: bigint): void {
    this.out.push({
      type: "send",
      to,
      message: { type: "append-reply", term: this.currentTerm, success, match, lastIndex: this.lastIndex },
    });
  }

  private setCommit(index: bigint): void {
    if (index > this.commit) {
      this.commit = index;
      this.out.push({ type: "commit", index });
    }
  }

  private onAppend(from: Address, m: Extract<ReplicationMessage<C>, { type: "append" }>): void {
    if (m.term < this.currentTerm) return this.reply(from, false, 0n); // fencing: a deposed master
    if (this.role === "leader") return; // one leader per term: cannot be another's append of our term
    this.currentLeader = lower(m.leader);
    if (m.commit > this.leaderCommit) this.leaderCommit = m.commit;
    if (m.prevIndex > this.lastIndex) return this.reply(from, false, 0n);
    if (m.prevIndex >= this.base.index && this.termAt(m.prevIndex) !== m.prevTerm) {
      // Conflict at prevIndex: the master retries from before it.
      this.out.push({
        type: "send",
        to: from,
        message: {
          type: "append-reply",
          term: this.currentTerm,
          success: false,
          match: 0n,
          lastIndex: m.prevIndex - 1n,
        },
      });
      return;
    }
    let truncateFrom: bigint | undefined;
    const fresh: LogEntry<C>[] = [];
    for (const e of m.entries) {
      if (e.index <= this.base.index) continue; // inside our snapshot: committed, identical
      if (truncateFrom === undefined && fresh.length === 0) {
        const have = this.termAt(e.index);
        if (have === e.term) continue;
        if (have !== undefined) {
          truncateFrom = e.index;
          this.log = this.log.slice(0, Number(e.index - this.base.index - 1n));
        }
      }
      fresh.push(e);
      this.log.push(e);
    }
    if (fresh.length > 0 || truncateFrom !== undefined)
      this.out.push({ type: "persist", ...(truncateFrom !== undefined ? { truncateFrom } : {}), entries: fresh });
    const matched = m.prevIndex + BigInt(m.entries.length);
    this.setCommit(m.commit < matched ? m.commit : matched);
    this.reply(from, true, matched);
  }

  private onSnapshot(from: Address, m: Extract<ReplicationMessage<C>, { type: "snapshot" }>): void {
    if (m.term < this.currentTerm) {
      this.out.push({ type: "send", to: from, message: { type: "snapshot-reply", term: this.currentTerm, match: 0n } });
      return;
    }
    this.currentLeader = lower(m.leader);
    if (m.commit > this.leaderCommit) this.leaderCommit = m.commit;
    if (m.point.index > this.commit) {
      // Keep the log's suffix if it continues the snapshot, else drop it all.
      if (this.termAt(m.point.index) === m.point.term)
        this.log = this.log.slice(Number(m.point.index - this.base.index));
      else {
        if (this.lastIndex > m.point.index)
          this.out.push({ type: "persist", truncateFrom: m.point.index + 1n, entries: [] });
        this.log = [];
      }
      this.base = { ...m.point };
      this.out.push({ type: "install-snapshot", point: { ...m.point } });
      this.commit = m.point.index;
      this.out.push({ type: "commit", index: this.commit });
    }
    // Committed entries are the master's: this node matches it at least up to its commit index.
    this.out.push({
      type: "send",
      to: from,
      message: { type: "snapshot-reply", term: this.currentTerm, match: this.commit },
    });
  }

  private onAppendReply(from: Address, m: Extract<ReplicationMessage<C>, { type: "append-reply" }>): void {
    if (this.role !== "leader" || m.term !== this.currentTerm) return;
    if (m.success) {
      if (m.match > (this.matchIndex.get(from) ?? 0n)) this.matchIndex.set(from, m.match);
      this.nextIndex.set(from, (this.matchIndex.get(from) ?? 0n) + 1n);
      this.advanceCommit();
      if ((this.nextIndex.get(from) as bigint) <= this.lastIndex) this.sendTo(from);
      return;
    }
    const next = this.nextIndex.get(from) ?? this.lastIndex + 1n;
    const retry = m.lastIndex + 1n < next ? m.lastIndex + 1n : next - 1n;
    this.nextIndex.set(from, retry < 1n ? 1n : retry);
    this.sendTo(from);
  }

  private advanceCommit(): void {
    const matches = this.voters.map((v) => (v === this.self ? this.lastIndex : (this.matchIndex.get(v) ?? 0n)));
    const n = majorityIndex(matches);
    // Only an entry of the master's own term commits by counting (Raft §5.4.2); earlier ones commit with it.
    if (n > this.commit && this.termAt(n) === this.currentTerm) this.setCommit(n);
  }
}
