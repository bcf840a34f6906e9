/**
 * The meta nodes' consensus edge (issue 13 items 4, 5): meta-core's pure {@link ElectionMachine} and the
 * replicated log, driven over real HTTP between meta processes (core/transport.ts: signed envelopes from known
 * peers only) and persisted in LevelDB (log-store.ts) before anything that depends on it is sent.
 *
 * Messages (transport kinds):
 *   meta.election   an ElectionMessage (vote, ack, heartbeat, heartbeat-reply, leader); fire and forget
 *   meta.append     the master's `{term, leader, prevIndex, prevTerm, entries, commit}`; the reply
 *                   `{term, ok, match | last}` says what the follower persisted
 *   meta.handover   "start an election now" (the master's graceful shutdown hands leadership to a caught-up peer)
 *
 * Log replication is Raft's: the master appends, sends each follower the entries after what it has, and an entry
 * is committed once a majority persisted it and it is of the master's term (a new master first appends a no-op);
 * committed entries are applied in order (`apply`). A write (`propose`) resolves only once it is applied at its
 * own term — i.e. after a majority persisted it — so **no acknowledged write is lost**: the election's
 * "log first" rule elects only nodes holding every committed entry.
 *
 * Fencing: every append carries the master's term; a follower that has seen a newer term refuses it and answers
 * with that term, and the deposed master steps down at once. A write at a node that is not master fails with
 * META_NOT_LEADER (naming the master's API URL when known).
 */
import type { Address, Hex } from "viem";
import type { Logger } from "pino";
import { z } from "zod";
import { HmsError } from "../core/errors";
import type { Metrics } from "../core/metrics";
import { decodeValue, encodeValue } from "../core/store";
import { HttpTransport, type InboundMessage } from "../core/transport";
import { ElectionMachine } from "./election/machine";
import { majorityIndex } from "./replication/node";
import type { ElectionAction, ElectionMessage, ElectionRole } from "./election/types";
import type { LogEntry, LogStore } from "./log-store";

export interface ClusterPeer {
  address: Address;
  peerUrl: string;
  apiUrl: string;
}

export interface ClusterOptions {
  privateKey: Hex;
  address: Address;
  chainId: number;
  peers: readonly ClusterPeer[];
  host: string;
  port: number;
  heartbeatMs: number;
  timeoutMinMs: number;
  timeoutMaxMs: number;
  /** Cap of the election back-off, ms (default 16 × timeoutMaxMs). */
  backoffMaxMs?: number;
  rpcTimeoutMs: number;
  commitTimeoutMs: number;
  log: LogStore;
  /** Applies committed entries in order; returns one outcome per entry. */
  apply(entries: readonly LogEntry[]): Promise<unknown[]>;
  /** The last index the state machines applied (survives restarts). */
  appliedIndex(): bigint;
  logger: Logger;
  metrics: Metrics;
  random?: () => number;
  onRole?(role: ElectionRole, term: bigint, leader: Address | null): void;
  /** Extra `/health` fields of the peer port. */
  health?: () => Record<string, unknown>;
}

/** The outcome of a write: its log position and what the state machine made of it. */
export interface Proposed {
  term: bigint;
  index: bigint;
  outcome: unknown;
}

interface Waiter {
  term: bigint;
  resolve(p: Proposed): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

const MAX_ENTRIES_PER_APPEND = 256;

/** Wire form of a peer body: bigint-safe JSON (core/store.ts's tagged encoding). */
function toWire(value: unknown): unknown {
  return JSON.parse(encodeValue(value));
}
function fromWire<T>(value: unknown): T {
  return decodeValue<T>(JSON.stringify(value));
}

const appendSchema = z.object({
  term: z.bigint(),
  leader: z.string(),
  prevIndex: z.bigint(),
  prevTerm: z.bigint(),
  entries: z.array(z.object({ term: z.bigint(), index: z.bigint(), command: z.object({ kind: z.string() }).loose() })),
  commit: z.bigint(),
});
type AppendRequest = z.output<typeof appendSchema>;
interface AppendReply {
  term: bigint;
  ok: boolean;
  match?: bigint;
  last?: bigint;
}

const electionSchema = z
  .object({ type: z.enum(["vote", "ack", "heartbeat", "heartbeat-reply", "leader"]), term: z.bigint() })
  .loose();

export class MetaCluster {
  readonly transport: HttpTransport;
  private readonly election: ElectionMachine;
  private readonly peers: ClusterPeer[];
  private readonly byAddress = new Map<string, ClusterPeer>();
  private commit = 0n;
  private readonly waiters = new Map<bigint, Waiter>();
  private actionQueue: Promise<void> = Promise.resolve();
  private appendQueue: Promise<unknown> = Promise.resolve();
  private applyQueue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly nextIndex = new Map<string, bigint>();
  private readonly matchIndex = new Map<string, bigint>();
  private readonly inflight = new Set<string>();
  private lastReplicate = 0;
  private pending: Array<{ command: LogEntry["command"]; resolve(e: LogEntry): void; reject(err: unknown): void }> = [];
  private flushing = false;
  private leaving = false;
  private stopped = false;
  private readonly log: Logger;
  private readonly gauges;

  private constructor(
    private readonly options: ClusterOptions,
    durable: Awaited<ReturnType<LogStore["election"]>>,
  ) {
    this.log = options.logger;
    this.peers = options.peers.filter((p) => p.address.toLowerCase() !== options.address.toLowerCase());
    for (const p of options.peers) this.byAddress.set(p.address.toLowerCase(), p);
    this.election = new ElectionMachine(
      {
        self: options.address,
        voters: options.peers.map((p) => p.address),
        heartbeatMs: options.heartbeatMs,
        timeoutMinMs: options.timeoutMinMs,
        timeoutMaxMs: options.timeoutMaxMs,
        backoffMaxMs: options.backoffMaxMs,
      },
      durable,
      options.random ?? Math.random,
    );
    this.election.setLog(options.log.tip);
    this.commit = options.appliedIndex();
    this.transport = new HttpTransport({
      privateKey: options.privateKey,
      chainId: options.chainId,
      peers: this.peers.map((p) => p.address),
      host: options.host,
      port: options.port,
      requestTimeoutMs: options.rpcTimeoutMs,
      logger: options.logger,
      metrics: options.metrics,
      health: () => ({ role: this.role, term: this.term.toString(), ...(options.health?.() ?? {}) }),
    });
    this.transport.handle("meta.election", (m) => this.onElection(m));
    this.transport.handle("meta.append", (m) => this.onAppend(m));
    this.transport.handle("meta.handover", (m) => this.onHandover(m));
    const metrics = options.metrics;
    this.gauges = {
      term: metrics.gauge("meta_term", "Current election term"),
      leader: metrics.gauge("meta_is_leader", "1 while this node is master"),
      commit: metrics.gauge("meta_commit_index", "Highest log index known committed"),
      applied: metrics.gauge("meta_applied_index", "Highest log index applied"),
      elections: metrics.counter("meta_role_changes_total", "Role changes", ["role"]),
      writes: metrics.counter("meta_writes_total", "Proposed writes, by outcome", ["outcome"]),
    };
  }

  /** Opens the election from its persisted state and starts listening to peers. */
  static async start(options: ClusterOptions): Promise<MetaCluster> {
    const cluster = new MetaCluster(options, await options.log.election());
    try {
      await cluster.transport.listen();
    } catch (err) {
      throw new HmsError("TRANSPORT_LISTEN", `cannot listen for peers on ${options.host}:${options.port}`, {
        value: `${options.host}:${options.port}`,
        cause: err,
      });
    }
    cluster.perform(cluster.election.start(Date.now()));
    cluster.timer = setInterval(() => cluster.onTick(), Math.max(10, Math.floor(options.heartbeatMs / 4)));
    cluster.timer.unref();
    return cluster;
  }

  get role(): ElectionRole {
    return this.election.role;
  }
  get term(): bigint {
    return this.election.term;
  }
  /** The election's back-off exponent (0 = the configured timeouts). */
  get electionBackoff(): number {
    return this.election.backoff;
  }
  get leading(): boolean {
    return this.election.role === "leading" && !this.leaving;
  }
  get leaderAddress(): Address | null {
    return this.election.leader;
  }
  /** API URL of the master this node follows (its own when leading). */
  get leaderApiUrl(): string | undefined {
    const l = this.election.leader;
    return l === null ? undefined : this.byAddress.get(l.toLowerCase())?.apiUrl;
  }
  get commitIndex(): bigint {
    return this.commit;
  }
  get appliedIndex(): bigint {
    return this.options.appliedIndex();
  }
  get tip() {
    return this.options.log.tip;
  }
  get peerUrl(): string {
    return this.transport.url;
  }

  /** Followers' replication progress (leader only). */
  progress(): Record<string, string> {
    return Object.fromEntries([...this.matchIndex].map(([a, m]) => [a, m.toString()]));
  }

  // ── election plumbing ────────────────────────────────────────────────────────────────────────────────

  private onTick(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (now >= this.election.nextTimer) this.perform(this.election.tick(now));
    if (this.leading && now - this.lastReplicate >= this.options.heartbeatMs) this.replicateAll();
  }

  /** Runs the machine's actions in order; a persist completes before the sends after it. */
  private perform(actions: ElectionAction[]): void {
    if (actions.length === 0) return;
    this.actionQueue = this.actionQueue.then(async () => {
      for (const a of actions) {
        try {
          await this.performOne(a);
        } catch (err) {
          this.log.error({ err, action: a.type }, "election action failed");
        }
      }
    });
  }

  private async performOne(a: ElectionAction): Promise<void> {
    switch (a.type) {
      case "persist":
        await this.options.log.saveElection(a.state);
        return;
      case "send": {
        const peer = this.byAddress.get(a.to.toLowerCase());
        if (peer && !this.leaving) this.sendElection(peer, a.message);
        return;
      }
      case "broadcast":
        if (!this.leaving) for (const p of this.peers) this.sendElection(p, a.message);
        return;
      case "role":
        this.onRole(a.role, a.term, a.leader);
        return;
    }
  }

  private sendElection(peer: ClusterPeer, message: ElectionMessage): void {
    void this.transport
      .send(peer.peerUrl, "meta.election", toWire(message))
      .catch((err) =>
        this.log.debug({ err: (err as Error).message, to: peer.address }, "election message not delivered"),
      );
  }

  private onElection(m: InboundMessage): null {
    if (this.leaving || this.stopped) return null;
    const parsed = electionSchema.safeParse(fromWire(m.body));
    if (!parsed.success)
      throw new HmsError("META_BAD_REQUEST", `bad election message: ${parsed.error.issues[0].message}`, {
        value: m.sender,
      });
    this.perform(this.election.receive(m.sender, parsed.data as unknown as ElectionMessage, Date.now()));
    return null;
  }

  private onRole(role: ElectionRole, term: bigint, leader: Address | null): void {
    this.gauges.term.set(Number(term));
    this.gauges.leader.set(role === "leading" ? 1 : 0);
    this.gauges.elections.inc({ role });
    this.log.info({ role, term: term.toString(), leader }, "meta role");
    if (role === "leading") {
      const next = this.options.log.tip.index + 1n;
      for (const p of this.peers) {
        this.nextIndex.set(p.address.toLowerCase(), next);
        this.matchIndex.set(p.address.toLowerCase(), 0n);
      }
      // A no-op of the new term: commits every earlier entry a majority holds (Raft §5.4.2).
      void this.enqueue({ kind: "noop" }).catch(() => undefined);
    } else {
      this.failPending(term, leader);
    }
    this.options.onRole?.(role, term, leader);
  }

  private failPending(term: bigint, leader: Address | null): void {
    const err = () =>
      new HmsError("META_NOT_LEADER", `this meta node lost the master role (term ${term})`, {
        value: term.toString(),
        details: leader ? { leader: this.byAddress.get(leader.toLowerCase())?.apiUrl } : {},
      });
    for (const p of this.pending.splice(0)) p.reject(err());
    for (const [index, w] of this.waiters) {
      clearTimeout(w.timer);
      w.reject(err());
      this.waiters.delete(index);
    }
    this.nextIndex.clear();
    this.matchIndex.clear();
  }

  // ── writes ───────────────────────────────────────────────────────────────────────────────────────────

  /** The error a non-master answers writes with. */
  notLeader(): HmsError {
    return new HmsError("META_NOT_LEADER", `this meta node is ${this.role} in term ${this.term}`, {
      value: this.role,
      details: this.leaderApiUrl && !this.leading ? { leader: this.leaderApiUrl } : {},
    });
  }

  /**
   * Appends `command` at the master and resolves once a majority persisted it and it was applied here — or
   * throws META_NOT_LEADER (not master, or deposed meanwhile) / META_NO_QUORUM (no majority in time: the write
   * is not acknowledged, though a later master may still commit it).
   */
  async propose(command: LogEntry["command"]): Promise<Proposed> {
    if (!this.leading) throw this.notLeader();
    const entry = await this.enqueue(command);
    return new Promise<Proposed>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(entry.index);
        this.gauges.writes.inc({ outcome: "no_quorum" });
        reject(
          new HmsError(
            "META_NO_QUORUM",
            `entry ${entry.index} not persisted by a majority in ${this.options.commitTimeoutMs} ms`,
            {
              value: entry.index.toString(),
            },
          ),
        );
      }, this.options.commitTimeoutMs);
      this.waiters.set(entry.index, { term: entry.term, resolve, reject, timer });
    });
  }

  /** Queues a command; entries proposed in the same tick are appended in one LevelDB write. */
  private enqueue(command: LogEntry["command"]): Promise<LogEntry> {
    return new Promise((resolve, reject) => {
      this.pending.push({ command, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.appendQueue = this.appendQueue.then(async () => {
      this.flushing = false;
      const batch = this.pending.splice(0);
      if (batch.length === 0) return;
      if (!this.leading) {
        const err = this.notLeader();
        for (const p of batch) p.reject(err);
        return;
      }
      const term = this.term;
      let index = this.options.log.tip.index;
      const entries = batch.map((p) => ({ term, index: ++index, command: p.command }));
      try {
        await this.options.log.append(entries);
      } catch (err) {
        for (const p of batch) p.reject(err);
        return;
      }
      this.election.setLog(this.options.log.tip);
      batch.forEach((p, i) => p.resolve(entries[i]));
      this.replicateAll();
      this.advanceCommit();
    });
    await this.appendQueue;
  }

  // ── replication (master side) ────────────────────────────────────────────────────────────────────────

  private replicateAll(): void {
    if (!this.leading) return;
    this.lastReplicate = Date.now();
    for (const p of this.peers) void this.replicateTo(p);
  }

  private async replicateTo(peer: ClusterPeer): Promise<void> {
    const key = peer.address.toLowerCase();
    if (this.inflight.has(key) || !this.leading) return;
    this.inflight.add(key);
    try {
      for (let round = 0; round < 64 && this.leading; round++) {
        const term = this.term;
        const tip = this.options.log.tip;
        const next = this.nextIndex.get(key) ?? tip.index + 1n;
        const prevIndex = next - 1n;
        const prevTerm = (await this.options.log.termAt(prevIndex)) ?? 0n;
        const entries = await this.options.log.range(next, tip.index, MAX_ENTRIES_PER_APPEND);
        const body: AppendRequest = {
          term,
          leader: this.options.address,
          prevIndex,
          prevTerm,
          entries,
          commit: this.commit,
        };
        const reply = fromWire<AppendReply>(await this.transport.send(peer.peerUrl, "meta.append", toWire(body)));
        if (reply.term > this.term) {
          // Fencing: a newer term exists; the machine joins it and this node stops leading.
          this.perform(
            this.election.receive(peer.address, { type: "heartbeat-reply", term: reply.term, ok: false }, Date.now()),
          );
          return;
        }
        if (!this.leading || this.term !== term) return;
        if (reply.ok) {
          const match = reply.match ?? prevIndex + BigInt(entries.length);
          if (match > (this.matchIndex.get(key) ?? 0n)) this.matchIndex.set(key, match);
          this.nextIndex.set(key, match + 1n);
          this.advanceCommit();
          if (match >= this.options.log.tip.index) return;
        } else {
          // Back off to just after the follower's last entry (never past the one that failed).
          let back = (reply.last ?? prevIndex - 1n) + 1n;
          if (back > next - 1n) back = next - 1n;
          this.nextIndex.set(key, back < 1n ? 1n : back);
        }
      }
    } catch {
      // unreachable peer: the next heartbeat retries
    } finally {
      this.inflight.delete(key);
    }
  }

  private advanceCommit(): void {
    if (!this.leading) return;
    const tip = this.options.log.tip.index;
    const n = majorityIndex([tip, ...this.peers.map((p) => this.matchIndex.get(p.address.toLowerCase()) ?? 0n)]);
    if (n <= this.commit) return;
    void this.options.log.termAt(n).then((t) => {
      if (t === this.term && n > this.commit) {
        this.commit = n;
        this.gauges.commit.set(Number(n));
        this.applyCommitted();
      }
    });
  }

  // ── replication (follower side) ──────────────────────────────────────────────────────────────────────

  private async onAppend(m: InboundMessage): Promise<unknown> {
    const parsed = appendSchema.safeParse(fromWire(m.body));
    if (!parsed.success)
      throw new HmsError("META_BAD_REQUEST", `bad append: ${parsed.error.issues[0].message}`, { value: m.sender });
    const req = parsed.data;
    if (this.stopped || this.leaving) throw new HmsError("META_NOT_LEADER", "stopping", { value: "stopping" });
    if (req.term < this.term) return toWire({ term: this.term, ok: false } satisfies AppendReply);
    if (req.leader.toLowerCase() !== m.sender.toLowerCase())
      throw new HmsError("META_UNKNOWN_PEER", "an append's leader is not its sender", { value: req.leader });
    // The append is the master's heartbeat too: the machine follows it (and joins its term).
    this.perform(this.election.receive(m.sender, { type: "heartbeat", term: req.term, leader: m.sender }, Date.now()));
    const run = this.appendQueue.then(() => this.appendAsFollower(req));
    this.appendQueue = run.catch(() => undefined);
    return toWire(await run);
  }

  private async appendAsFollower(req: AppendRequest): Promise<AppendReply> {
    const log = this.options.log;
    if (req.term < this.term) return { term: this.term, ok: false };
    const have = await log.termAt(req.prevIndex);
    if (have === undefined || have !== req.prevTerm) {
      const tip = log.tip.index;
      return { term: this.term, ok: false, last: have === undefined ? tip : req.prevIndex - 1n };
    }
    const entries = req.entries as LogEntry[];
    let from = 0;
    for (; from < entries.length; from++) {
      const t = await log.termAt(entries[from].index);
      if (t === undefined) break;
      if (t !== entries[from].term) {
        if (entries[from].index <= this.commit)
          throw new HmsError("META_LOG_GAP", `refusing to truncate committed entry ${entries[from].index}`, {
            value: entries[from].index.toString(),
          });
        await log.replaceAfter(entries[from].index - 1n, entries.slice(from));
        from = entries.length;
        break;
      }
    }
    if (from < entries.length) await log.append(entries.slice(from));
    this.election.setLog(log.tip);
    const match = req.prevIndex + BigInt(entries.length);
    const newCommit = req.commit < match ? req.commit : match;
    if (newCommit > this.commit) {
      this.commit = newCommit;
      this.gauges.commit.set(Number(newCommit));
      this.applyCommitted();
    }
    return { term: this.term, ok: true, match };
  }

  // ── applying ─────────────────────────────────────────────────────────────────────────────────────────

  private applyCommitted(): void {
    this.applyQueue = this.applyQueue.then(async () => {
      for (;;) {
        const applied = this.options.appliedIndex();
        if (applied >= this.commit) return;
        const entries = await this.options.log.range(applied + 1n, this.commit, 512);
        if (entries.length === 0) return;
        let outcomes: unknown[];
        try {
          outcomes = await this.options.apply(entries);
        } catch (err) {
          this.log.error({ err, from: entries[0].index.toString() }, "applying committed entries failed");
          return;
        }
        this.gauges.applied.set(Number(this.options.appliedIndex()));
        entries.forEach((e, i) => {
          const w = this.waiters.get(e.index);
          if (w === undefined) return;
          this.waiters.delete(e.index);
          clearTimeout(w.timer);
          if (w.term === e.term) {
            this.gauges.writes.inc({ outcome: "committed" });
            w.resolve({ term: e.term, index: e.index, outcome: outcomes[i] });
          } else w.reject(this.notLeader());
        });
      }
    });
  }

  /** Resolves once this node applied `index` (true), or after `timeoutMs` (false). */
  async waitApplied(index: bigint, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.options.appliedIndex() < index) {
      if (Date.now() >= deadline || this.stopped) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  // ── handover and shutdown ────────────────────────────────────────────────────────────────────────────

  private onHandover(m: InboundMessage): null {
    if (this.stopped || this.leaving) return null;
    this.log.info({ from: m.sender }, "leadership handed over: starting an election");
    this.perform(this.election.start(Date.now()));
    return null;
  }

  /**
   * Graceful shutdown: a master first brings a follower level with its log (bounded by `timeoutMs`), tells it to
   * start an election, and leaves the election, so that a new master takes over without waiting for a timeout.
   */
  async stop(timeoutMs = 2_000): Promise<void> {
    if (this.stopped) return;
    if (this.election.role === "leading") {
      const deadline = Date.now() + timeoutMs;
      const tip = this.options.log.tip.index;
      let best: ClusterPeer | undefined;
      while (Date.now() < deadline) {
        best = this.peers.find((p) => (this.matchIndex.get(p.address.toLowerCase()) ?? 0n) >= tip);
        if (best) break;
        this.replicateAll();
        await new Promise((r) => setTimeout(r, 20));
      }
      this.leaving = true;
      this.failPending(this.term, null);
      if (best) {
        await this.transport.send(best.peerUrl, "meta.handover", {}).catch(() => undefined);
        this.log.info({ to: best.address, term: this.term.toString() }, "leadership handed over");
      }
    }
    this.leaving = true;
    this.stopped = true;
    clearInterval(this.timer);
    await this.actionQueue.catch(() => undefined);
    await this.appendQueue.catch(() => undefined);
    await this.applyQueue.catch(() => undefined);
    await this.transport.close();
  }
}
