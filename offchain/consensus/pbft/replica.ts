/**
 * A PBFT replica (Castro & Liskov, OSDI '99 / TOCS 2002, the signature variant) as a PURE state
 * machine: no I/O, no timers, no clock. Events go in through {@link PbftReplica.handle}; a list of
 * actions comes out (send / broadcast / execute / set-timer / evidence …). Time only exists as
 * `timeout` events for timers the replica asked for. Signing, verification and hashing go through the
 * injected {@link PbftCrypto}; request validity through the injected validator.
 *
 * Normal case: the primary of view v (`order[v mod n]`) assigns a sequence number n to a request and
 * broadcasts PRE-PREPARE(v, n, d) signed as the EIP-712 `Proposal{epoch: configId, period: n, round: v,
 * digest: d}`; backups validate the request and broadcast PREPARE; a replica is *prepared* with the
 * pre-prepare and q−1 matching prepares from other backups, then broadcasts COMMIT; with q matching
 * commits it has *committed* and executes requests in sequence order. Every k executions it
 * broadcasts a CHECKPOINT of its state digest (a hash chain of executed digests); q matching
 * checkpoints make it *stable*: the low watermark h moves up, and the log below it is discarded.
 * Only sequence numbers in (h, h + L] are accepted.
 *
 * View change: a backup waiting too long for a request to execute (or given an invalid proposal)
 * broadcasts VIEW-CHANGE(v+1) with its stable checkpoint proof and, per sequence number above it, the
 * prepared certificate of the highest view; it stops taking part in view v. A replica that sees f+1
 * view-changes for higher views joins the smallest. The primary of v+1, with q view-changes,
 * broadcasts NEW-VIEW(v+1, V, O): O re-proposes, for every n between the highest stable checkpoint in V
 * (min-s) and the highest prepared n (max-s), the digest prepared in the highest view — or the null
 * request when none. Backups check O against V and prepare it. A view change timer starts only once
 * q view-changes for the target view are in, and doubles with each consecutive failure.
 *
 * Liveness under message loss: while work is unfinished a replica periodically retransmits its own
 * messages of the current view and broadcasts a STATUS; peers that are ahead answer with committed
 * entries (each with its commit certificate), their stable checkpoint proof, or the NEW-VIEW of their
 * view. A replica that fell behind a stable checkpoint whose entries nobody keeps any more skips to it
 * (`state-jump` action).
 */
import type { Address, Hex } from "viem";
import { ValidationError } from "../../core/errors";
import { MAX_REPLICAS, faultTolerance, quorumSize } from "./quorum";
import {
  DEFAULT_PBFT_PARAMS,
  MAX_VIEW,
  NULL_DIGEST,
  type Checkpoint,
  type Commit,
  type CommittedEntry,
  type Entries,
  type Evidence,
  type NewView,
  type PbftCrypto,
  type PbftMessage,
  type PbftParams,
  type PrePrepare,
  type Prepare,
  type PreparedCert,
  type ReplicaAction,
  type ReplicaEvent,
  type RequestSeq,
  type RequestValidator,
  type RequestVerdict,
  type Signable,
  type Status,
  type TimerKind,
  type ViewChange,
} from "./types";

export interface ReplicaOptions {
  /** Configuration id (epoch of the elected set): `epoch` of every signed message. uint64. */
  configId: bigint;
  /** Replicas in leader order (the elected order): primary of view v is order[v mod n]. */
  order: readonly Address[];
  /** This replica's address (must be in `order`). */
  self: Address;
  crypto: PbftCrypto;
  validate: RequestValidator;
  /** The sequence number a request names (requests that name one are ordered at it only). */
  requestSeq?: RequestSeq;
  /**
   * Set when the replica starts WITHOUT its state but its signing record shows votes up to this seq
   * (the PBFT directory was lost or restored from an old backup): it lost the prepared certificates a
   * view-change must carry, so it sends no VIEW-CHANGE until its stable checkpoint covers this seq.
   */
  recoveringFrom?: number;
  params?: Partial<PbftParams>;
}

interface Decided {
  view: number;
  digest: Hex;
  request: string | null;
  commits: Commit[];
}

/** Per-sequence-number log entry. `view`-scoped fields are reset when the replica enters a later view. */
interface Slot {
  seq: number;
  view: number;
  prePrepare?: PrePrepare;
  prepares: Map<string, Prepare>;
  commits: Map<string, Commit>;
  sentCommit: boolean;
  /** Highest-view prepared certificate (survives view changes; goes into VIEW-CHANGE). */
  prepared?: PreparedCert;
  /** Committed (q commits) — kept across views until executed and garbage-collected. */
  decided?: Decided;
}

/** JSON-safe persistent state of a replica (request payloads kept apart, by digest). */
export interface ReplicaSnapshot {
  version: 1;
  configId: string;
  order: Address[];
  self: Address;
  view: number;
  status: "normal" | "view-change";
  lastExecuted: number;
  execHash: Hex;
  nextSeq: number;
  stableSeq: number;
  stableDigest: Hex;
  stableProof: Checkpoint[];
  backoff: number;
  /** What was waiting at the last view change (absent in older snapshots). */
  backoffHolders?: string[];
  /** See ReplicaOptions.recoveringFrom (absent in older snapshots). */
  recoveringFrom?: number;
  slots: Array<{
    seq: number;
    view: number;
    prePrepare?: PrePrepare;
    prepares: Prepare[];
    commits: Commit[];
    sentCommit: boolean;
    prepared?: PreparedCert;
    decided?: Decided;
  }>;
  checkpoints: Checkpoint[];
  viewChanges: ViewChange[];
  lastNewView: NewView | null;
  pending: Hex[];
  executed: Array<[Hex, number]>;
  committed: CommittedEntry[];
  proposals: PrePrepare[];
  evidence: string[];
  /** Request payloads by digest, for every message above whose `request` was stripped. */
  requests: Record<Hex, string>;
}

const STRIPPED = "\u0000stripped";

/** Own view-changes of lower views kept while a view change goes on (for peers that missed them). */
const OWN_VIEW_CHANGES_KEPT = 4;

function lower(a: string): Address {
  return a.toLowerCase() as Address;
}

function isSafeSeq(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function isView(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= MAX_VIEW;
}

function isHex32(x: unknown): x is Hex {
  return typeof x === "string" && x.length === 66 && x.startsWith("0x");
}

/** Canonical text of a view-change's prepared certificates; its hash is the signed `certsHash`. */
export function certsText(certs: readonly PreparedCert[]): string {
  const parts: string[] = [];
  for (const c of certs) {
    const pp = c.prePrepare;
    const prepares = c.prepares.map((p) => `${lower(p.replica)}=${p.sig}`).join(",");
    parts.push(`${pp.seq}:${pp.view}:${pp.digest}:${pp.sig}:${prepares}`);
  }
  return `certs|${parts.join("|")}`;
}

/** Canonical text of a new-view's contents; its hash is the signed `contentHash`. */
export function newViewText(view: number, vcs: readonly ViewChange[], pps: readonly PrePrepare[]): string {
  const v = vcs.map((vc) => `${lower(vc.replica)}=${vc.sig}`).join(",");
  const o = pps.map((pp) => `${pp.seq}:${pp.digest}:${pp.sig}`).join(",");
  return `new-view|${view}|${v}|${o}`;
}

export class PbftReplica {
  readonly configId: bigint;
  readonly order: readonly Address[];
  readonly self: Address;
  readonly n: number;
  readonly f: number;
  readonly quorum: number;
  readonly params: Readonly<PbftParams>;
  private readonly crypto: PbftCrypto;
  private readonly validate: RequestValidator;
  private readonly requestSeq: RequestSeq | undefined;
  private readonly index = new Map<string, number>();

  private _view = 0;
  private _status: "normal" | "view-change" = "normal";
  private lastExec = 0;
  private execHash: Hex = NULL_DIGEST;
  private nextSeq = 1;
  private h = 0;
  private stableDigest: Hex = NULL_DIGEST;
  private stableProof: Checkpoint[] = [];
  private backoff = 0;
  private readonly slots = new Map<number, Slot>();
  private readonly checkpoints = new Map<number, Map<string, Checkpoint>>();
  private readonly viewChanges = new Map<number, Map<string, ViewChange>>();
  private lastNewView: NewView | undefined;
  private readonly pending = new Map<Hex, string>();
  /** The seq each pending request names (requests that name one). */
  private readonly pendingSeq = new Map<Hex, number>();
  /**
   * What was waiting when the last view change started ("d:<digest>" pending, "s:<seq>" pre-prepared):
   * the doubled timeout stays until one of them executes.
   */
  private backoffHolders = new Set<string>();
  private readonly assigned = new Map<Hex, number>();
  private readonly executed = new Map<Hex, number>();
  private readonly committedLog = new Map<number, CommittedEntry>();
  /** First valid pre-prepare seen per "view:seq" from any source (for equivocation evidence). */
  private readonly proposals = new Map<string, PrePrepare>();
  private readonly evidenceSent = new Set<string>();

  // Volatile (re-derived after a restart).
  private timerSeq = 0;
  private vcTimerId = 0;
  /** What the running view-change timer waits for: the oldest pending request, or the next seq. */
  private vcTimerTarget: string | undefined;
  /** Pre-prepares whose request got a transient verdict: no prepare yet; checked again later. */
  private readonly withheld = new Map<number, PrePrepare>();
  /** Peers sent a STATUS (whose ENTRIES replies may vote for a state jump), and their votes. */
  private readonly statusAsked = new Set<string>();
  private readonly jumpVotes = new Map<string, number>();
  /** See {@link ReplicaOptions.recoveringFrom}; persisted until the stable checkpoint covers it. */
  private recoveringFrom = 0;
  private retransmitId = 0;
  private retransmitIdle = false;
  private vcQuorumTimerView = -1;
  private progressMark = "";
  private readonly aheadViews = new Map<string, number>();
  private maxSeenSeq = 0;
  private readonly validCache = new Map<string, true>();
  private readonly sigCache = new Map<string, boolean>();
  private out: ReplicaAction[] = [];
  /** Set while a new view is being installed: no fresh proposals until O is in the log. */
  private enteringView = false;
  /** Normal-case messages of the view being installed that arrived before its NEW-VIEW. */
  private early: Array<{ from: Address; message: PrePrepare | Prepare | Commit }> = [];

  constructor(options: ReplicaOptions, snapshot?: ReplicaSnapshot) {
    const { configId, order, self, crypto, validate } = options;
    if (typeof configId !== "bigint" || configId < 0n || configId >= 1n << 64n)
      throw new ValidationError("PBFT_BAD_CONFIG_ID", "configId must be a uint64 bigint", { value: configId });
    if (!Array.isArray(order) || order.length < 1 || order.length > MAX_REPLICAS)
      throw new ValidationError("PBFT_BAD_N", `order must list 1..${MAX_REPLICAS} replicas`, { value: order?.length });
    order.forEach((a, i) => {
      if (typeof a !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(a))
        throw new ValidationError("PBFT_BAD_ORDER", `order[${i}] is not an address`, { value: a });
      if (this.index.has(lower(a)))
        throw new ValidationError("PBFT_BAD_ORDER", `order[${i}] is a duplicate`, { value: a });
      this.index.set(lower(a), i);
    });
    if (typeof self !== "string" || !this.index.has(lower(self)))
      throw new ValidationError("PBFT_NOT_MEMBER", "self is not in order", { value: self });
    const params = { ...DEFAULT_PBFT_PARAMS, ...(options.params ?? {}) };
    const posInt = (k: keyof PbftParams, min = 1) => {
      const v = params[k];
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min)
        throw new ValidationError("PBFT_BAD_PARAM", `${k} must be an integer >= ${min}`, {
          value: v,
          details: { key: k },
        });
    };
    posInt("checkpointInterval");
    posInt("watermarkWindow");
    posInt("viewChangeTimeoutMs");
    posInt("retransmitMs");
    posInt("statusIntervalMs");
    posInt("retainCommitted", 0);
    posInt("maxBackoffExponent", 0);
    posInt("maxEntriesPerReply");
    posInt("maxReplyBytes");
    posInt("maxPending");
    if (params.watermarkWindow % params.checkpointInterval !== 0)
      throw new ValidationError("PBFT_BAD_PARAM", "watermarkWindow must be a multiple of checkpointInterval", {
        value: params.watermarkWindow,
        details: { key: "watermarkWindow" },
      });
    this.configId = configId;
    this.order = order.map(lower);
    this.self = lower(self);
    this.n = order.length;
    this.f = faultTolerance(this.n);
    this.quorum = quorumSize(this.n);
    this.params = Object.freeze(params);
    this.crypto = crypto;
    this.validate = validate;
    this.requestSeq = options.requestSeq;
    if (options.recoveringFrom !== undefined && isSafeSeq(options.recoveringFrom))
      this.recoveringFrom = options.recoveringFrom;
    if (snapshot !== undefined) this.restore(snapshot);
  }

  /* ----------------------------------------------------------------------------------------------
   * Public read API
   * -------------------------------------------------------------------------------------------- */

  get view(): number {
    return this._view;
  }
  get status(): "normal" | "view-change" {
    return this._status;
  }
  /** Primary of the current view. */
  get primary(): Address {
    return this.primaryOf(this._view);
  }
  get isPrimary(): boolean {
    return this.primary === this.self;
  }
  /** Highest sequence number executed (all below executed too, or skipped by a state jump). */
  get lastExecuted(): number {
    return this.lastExec;
  }
  /** State digest after `lastExecuted`. */
  get stateDigest(): Hex {
    return this.execHash;
  }
  /** Last stable checkpoint (the low watermark h). */
  get stableCheckpoint(): { seq: number; digest: Hex; proof: readonly Checkpoint[] } {
    return { seq: this.h, digest: this.stableDigest, proof: this.stableProof };
  }
  get lowWatermark(): number {
    return this.h;
  }
  get highWatermark(): number {
    return this.h + this.params.watermarkWindow;
  }
  /** Requests received and not yet executed. */
  get pendingCount(): number {
    return this.pending.size;
  }
  /** View-change messages held (every view, own included). */
  get storedViewChanges(): number {
    let count = 0;
    for (const m of this.viewChanges.values()) count += m.size;
    return count;
  }
  /** A retained committed entry (request + commit certificate), if still kept. */
  committed(seq: number): CommittedEntry | undefined {
    return this.committedLog.get(seq);
  }
  /** Retained committed entries, by seq. */
  committedEntries(): CommittedEntry[] {
    return [...this.committedLog.values()].sort((a, b) => a.seq - b.seq);
  }
  primaryOf(view: number): Address {
    return this.order[view % this.n];
  }

  /* ----------------------------------------------------------------------------------------------
   * Events
   * -------------------------------------------------------------------------------------------- */

  /** Feeds one event; returns the actions to carry out, in order. */
  handle(event: ReplicaEvent): ReplicaAction[] {
    this.out = [];
    switch (event.type) {
      case "start":
        this.onStart();
        break;
      case "request":
        if (typeof event.request === "string") this.onRequest(event.request, undefined);
        break;
      case "message":
        this.onMessage(lower(event.from), event.message);
        break;
      case "timeout":
        this.onTimeout(event.kind, event.id);
        break;
    }
    this.armRetransmit();
    const actions = this.out;
    this.out = [];
    return actions;
  }

  private onStart(): void {
    this.vcTimerId = 0;
    this.retransmitId = 0;
    this.vcQuorumTimerView = -1;
    if (this._status === "view-change") {
      const mine = this.viewChanges.get(this._view)?.get(this.self);
      if (mine) this.emit({ type: "broadcast", message: mine });
      this.checkViewChangeQuorum();
    } else {
      this.ensureViewChangeTimer();
      if (this.isPrimary) this.proposePending();
    }
    this.broadcastStatus();
  }

  private onMessage(from: Address, m: PbftMessage): void {
    if (m === null || typeof m !== "object" || !this.index.has(from)) return;
    if ("view" in m && isView(m.view)) this.noteView(from, m.view);
    if (
      (m.type === "pre-prepare" || m.type === "prepare" || m.type === "commit") &&
      this._status === "view-change" &&
      m.view === this._view
    ) {
      // Early for the view being installed (the NEW-VIEW is still on its way): hold it, replayed —
      // and only then verified — once the view starts.
      if (
        this.early.length < 3 * this.n * this.params.watermarkWindow &&
        (m.type !== "pre-prepare" || from === this.primary)
      )
        this.early.push({ from, message: m });
      return;
    }
    switch (m.type) {
      case "pre-prepare":
        return this.onPrePrepare(from, m);
      case "prepare":
        return this.onPrepare(from, m);
      case "commit":
        return this.onCommit(from, m);
      case "checkpoint":
        return this.onCheckpoint(m);
      case "view-change":
        return this.onViewChange(m);
      case "new-view":
        return this.onNewView(m);
      case "request":
        if (typeof m.request === "string") this.onRequest(m.request, from);
        return;
      case "status":
        return this.onStatus(from, m);
      case "entries":
        return this.onEntries(from, m);
    }
  }

  private onTimeout(kind: TimerKind, id: number): void {
    if (kind === "view-change") {
      if (id !== this.vcTimerId || id === 0) return;
      this.vcTimerId = 0;
      this.startViewChange(this._view + 1);
    } else if (kind === "retransmit") {
      if (id !== this.retransmitId || id === 0) return;
      this.retransmitId = 0;
      this.retransmit();
    }
  }

  /* ----------------------------------------------------------------------------------------------
   * Requests and the normal case
   * -------------------------------------------------------------------------------------------- */

  private onRequest(request: string, from: Address | undefined): void {
    const digest = this.crypto.digest(request);
    if (this.executed.has(digest)) return;
    if (!this.pending.has(digest)) {
      const named = this.namedSeq(request);
      // Its seq is taken already (another request executed there): it can never be ordered.
      if (typeof named === "number" && named <= this.lastExec) return;
      const verdict = named === null ? false : this.verdict(digest, request, undefined);
      if (verdict === false) {
        this.emit({ type: "rejected-request", digest });
        return;
      }
      if (verdict === "retry") return; // cannot tell yet: the client retransmits
      if (this.pending.size >= this.params.maxPending) return;
      this.pending.set(digest, request);
      if (named !== undefined && named !== null) this.pendingSeq.set(digest, named);
      if (
        this.params.forwardRequests &&
        this._status === "normal" &&
        !this.isPrimary &&
        from !== this.primary &&
        !this.assigned.has(digest)
      )
        this.emit({ type: "send", to: this.primary, message: { type: "request", request } });
    }
    if (this._status === "normal") {
      if (this.isPrimary) this.proposePending();
      this.ensureViewChangeTimer();
    }
  }

  /** The seq `request` names: undefined if requests name none, null if it names no valid one. */
  private namedSeq(request: string): number | null | undefined {
    if (this.requestSeq === undefined) return undefined;
    let seq: number | undefined;
    try {
      seq = this.requestSeq(request);
    } catch {
      return null;
    }
    if (seq === undefined) return undefined;
    return isSafeSeq(seq) && seq >= 1 ? seq : null;
  }

  /**
   * The validator's verdict on `request` ordered at `seq` (undefined: not yet ordered). Only `true` is
   * cached: a negative verdict may come from a slow chain read or a period not yet ended, and must be
   * asked again. A validator that throws gives a transient verdict (an I/O fault is no proof against
   * the primary).
   */
  private verdict(digest: Hex, request: string, at: number | undefined): RequestVerdict {
    // A request that names its seq is judged at that seq from the start (one validation, not two);
    // without requestSeq the seq does not enter the cache key (a batch is validated once).
    const named = this.namedSeq(request);
    const seq = at ?? (typeof named === "number" ? named : undefined);
    if (seq !== undefined && (named === null || (named !== undefined && named !== seq))) return false;
    const key = this.requestSeq === undefined || seq === undefined ? digest : `${digest}@${seq}`;
    if (this.validCache.has(key)) return true;
    let v: RequestVerdict;
    try {
      const r = this.validate(request, seq);
      v = r === true ? true : r === "retry" ? "retry" : false;
    } catch {
      v = "retry";
    }
    if (v === true) {
      if (this.validCache.size >= 4096) this.validCache.clear();
      this.validCache.set(key, true);
    }
    return v;
  }

  /** Signs, unless the signing record refuses (a conflicting signature in the same slot): then undefined. */
  private trySign(item: Signable): Hex | undefined {
    try {
      return this.crypto.sign(item);
    } catch {
      return undefined;
    }
  }

  /** A pre-prepare of the current view occupies `seq`. */
  private occupied(seq: number): boolean {
    const slot = this.slots.get(seq);
    return slot !== undefined && slot.view === this._view && slot.prePrepare !== undefined;
  }

  /**
   * Primary: assigns sequence numbers to pending requests while the window allows — a request that
   * names its seq at that seq only, once per view; the others at the next free seq.
   */
  private proposePending(): void {
    if (this._status !== "normal" || !this.isPrimary) return;
    // Requests that name their seq may arrive out of order: repeat while one more could be ordered.
    for (let progress = true; progress;) {
      progress = false;
      for (const [digest, request] of this.pending) if (this.proposeOne(digest, request)) progress = true;
    }
  }

  /**
   * Orders one pending request if it can be now; true if it was. A request naming its seq is ordered
   * only there, and only right after the executed or pre-prepared prefix: an honest primary leaves no
   * gap that a view change would fill with NULL (burning that seq).
   */
  private proposeOne(digest: Hex, request: string): boolean {
    {
      if (this.assigned.has(digest) || this.executed.has(digest)) return false;
      const named = this.pendingSeq.get(digest);
      let seq: number;
      if (named !== undefined) {
        if (named <= this.lastExec || !this.inWindow(named) || this.occupied(named)) return false;
        if (named - 1 > this.lastExec && !this.occupied(named - 1)) return false;
        seq = named;
      } else {
        while (this.nextSeq <= this.highWatermark && this.occupied(this.nextSeq)) this.nextSeq++;
        if (this.nextSeq > this.highWatermark) return false;
        seq = this.nextSeq;
      }
      if (this.verdict(digest, request, seq) !== true) return false;
      const pp = this.signPrePrepare(this._view, seq, digest, request);
      if (pp === undefined) return false;
      if (named === undefined) this.nextSeq++;
      const slot = this.slotFor(seq);
      slot.prePrepare = pp;
      this.noteProposal(pp);
      this.assigned.set(digest, seq);
      this.emit({ type: "broadcast", message: pp });
      this.checkPrepared(slot);
      return true;
    }
  }

  private signPrePrepare(view: number, seq: number, digest: Hex, request: string | null): PrePrepare | undefined {
    const sig = this.trySign(this.proposalSignable(view, seq, digest));
    if (sig === undefined) return undefined;
    return { type: "pre-prepare", view, seq, digest, request, replica: this.self, sig };
  }

  private proposalSignable(view: number, seq: number, digest: Hex): Signable {
    return { type: "Proposal", message: { epoch: this.configId, period: BigInt(seq), round: view, digest } };
  }

  private voteSignable(phase: 1 | 2, view: number, seq: number, digest: Hex): Signable {
    return { type: "PbftVote", message: { phase, epoch: this.configId, seq: BigInt(seq), view, digest } };
  }

  private inWindow(seq: number): boolean {
    return isSafeSeq(seq) && seq > this.h && seq <= this.highWatermark;
  }

  /** The slot of `seq`, with its view-scoped fields belonging to the current view. */
  private slotFor(seq: number): Slot {
    let slot = this.slots.get(seq);
    if (slot === undefined) {
      slot = { seq, view: this._view, prepares: new Map(), commits: new Map(), sentCommit: false };
      this.slots.set(seq, slot);
    } else if (slot.view !== this._view) this.resetSlotView(slot);
    return slot;
  }

  private resetSlotView(slot: Slot): void {
    slot.view = this._view;
    slot.prePrepare = undefined;
    slot.prepares.clear();
    slot.commits.clear();
    slot.sentCommit = false;
  }

  /** Checks a request payload against a digest (null request ↔ NULL_DIGEST). */
  private digestMatches(digest: Hex, request: string | null): boolean {
    if (request === null) return digest === NULL_DIGEST;
    return typeof request === "string" && digest !== NULL_DIGEST && this.crypto.digest(request) === digest;
  }

  private verifyPrePrepare(pp: PrePrepare): boolean {
    if (!isView(pp.view) || !isSafeSeq(pp.seq) || pp.seq < 1 || !isHex32(pp.digest)) return false;
    if (lower(pp.replica) !== this.primaryOf(pp.view)) return false;
    return this.verifyCached(this.proposalSignable(pp.view, pp.seq, pp.digest), pp.sig, pp.replica);
  }

  private onPrePrepare(from: Address, pp: PrePrepare): void {
    if (this._status !== "normal" || pp.view !== this._view || !this.inWindow(pp.seq)) return;
    if (this.isPrimary) return;
    const current = this.slots.get(pp.seq);
    const accepted = current?.view === this._view ? current.prePrepare : undefined;
    if (accepted !== undefined && accepted.digest === pp.digest) return; // duplicate
    if (!this.verifyPrePrepare(pp)) return;
    // A different validly signed pre-prepare for this (view, seq) — accepted here or seen in a
    // certificate — is equivocation: report it, and accept neither anew.
    const seen = accepted ?? this.proposals.get(`${pp.view}:${pp.seq}`);
    if (seen !== undefined && seen.digest !== pp.digest) {
      this.reportEquivocation(seen, pp);
      return;
    }
    // The null request fills gaps of a NEW-VIEW's O only: in the normal case it would let a primary
    // keep everyone busy (and burn seqs) without ordering anything.
    if (pp.request === null || pp.digest === NULL_DIGEST) return;
    if (!this.digestMatches(pp.digest, pp.request)) {
      // The primary signed `digest` only; blame it only if it sent this payload itself.
      if (from === this.primary) this.invalidProposal(pp, "digest");
      return;
    }
    // Executed already, or assigned another seq in this view: a duplicate orders nothing new.
    if (this.executed.has(pp.digest)) return;
    const at = this.assigned.get(pp.digest);
    if (at !== undefined && at !== pp.seq) return;
    this.noteProposal(pp);
    const verdict = this.verdict(pp.digest, pp.request, pp.seq);
    if (verdict === false) {
      this.withheld.delete(pp.seq);
      this.invalidProposal(pp, "validation");
      return;
    }
    this.maxSeenSeq = Math.max(this.maxSeenSeq, pp.seq);
    if (verdict === "retry") {
      // Cannot tell yet: no prepare, no accusation; asked again on the next copy or retransmit tick.
      this.withheld.set(pp.seq, pp);
      this.ensureViewChangeTimer();
      return;
    }
    this.withheld.delete(pp.seq);
    const slot = this.slotFor(pp.seq);
    slot.prePrepare = pp;
    // Not added to `pending`: only clients' requests are (a faulty primary's own valid-looking
    // requests must not keep honest replicas timing out after it is gone); the timer covers the slot.
    this.assigned.set(pp.digest, pp.seq);
    this.sendPrepare(slot);
    this.checkPrepared(slot);
    this.ensureViewChangeTimer();
  }

  /** Re-asks the validator about withheld pre-prepares of the current view. */
  private recheckWithheld(): void {
    if (this._status !== "normal") return;
    for (const [seq, pp] of [...this.withheld]) {
      if (pp.view !== this._view || !this.inWindow(seq) || this.occupied(seq)) {
        this.withheld.delete(seq);
        continue;
      }
      this.onPrePrepare(this.primary, pp);
    }
  }

  private sendPrepare(slot: Slot): void {
    const pp = slot.prePrepare;
    if (pp === undefined || slot.prepares.has(this.self)) return;
    const sig = this.trySign(this.voteSignable(1, pp.view, pp.seq, pp.digest));
    if (sig === undefined) return;
    const prepare: Prepare = {
      type: "prepare",
      view: pp.view,
      seq: pp.seq,
      digest: pp.digest,
      replica: this.self,
      sig,
    };
    slot.prepares.set(this.self, prepare);
    this.emit({ type: "broadcast", message: prepare });
  }

  private invalidProposal(pp: PrePrepare, reason: "validation" | "digest"): void {
    const key = `invalid:${pp.view}:${pp.seq}`;
    if (!this.evidenceSent.has(key)) {
      this.evidenceSent.add(key);
      this.emit({
        type: "evidence",
        evidence: {
          kind: "invalid-proposal",
          replica: lower(pp.replica),
          view: pp.view,
          seq: pp.seq,
          reason,
          prePrepare: pp,
        },
      });
    }
    this.startViewChange(this._view + 1);
  }

  /** Records the first valid pre-prepare per (view, seq); a different second one is equivocation. */
  private noteProposal(pp: PrePrepare): void {
    const key = `${pp.view}:${pp.seq}`;
    const seen = this.proposals.get(key);
    if (seen === undefined) this.proposals.set(key, pp);
    else if (seen.digest !== pp.digest) this.reportEquivocation(seen, pp);
  }

  private reportEquivocation(first: PrePrepare, second: PrePrepare): void {
    const key = `equivocation:${first.view}:${first.seq}`;
    if (this.evidenceSent.has(key)) return;
    this.evidenceSent.add(key);
    const evidence: Evidence = {
      kind: "equivocation",
      replica: lower(first.replica),
      view: first.view,
      seq: first.seq,
      first,
      second,
    };
    this.emit({ type: "evidence", evidence });
  }

  /**
   * A vote its own signer sent us (`from`, authenticated by the transport) counts on that
   * authentication alone: its signature is evidence, checked only when the vote becomes part of a
   * certificate others must be able to check (prepared certificates in {@link checkPrepared}, commit
   * certificates when served in ENTRIES). A vote relayed by anyone else is checked on arrival.
   */
  private voteAuthentic(from: Address, v: Prepare | Commit, phase: 1 | 2): boolean {
    const sender = lower(v.replica);
    return sender === from || this.verifyCached(this.voteSignable(phase, v.view, v.seq, v.digest), v.sig, sender);
  }

  private onPrepare(from: Address, p: Prepare): void {
    if (this._status !== "normal" || p.view !== this._view || !this.inWindow(p.seq) || !isHex32(p.digest)) return;
    const sender = lower(p.replica);
    if (!this.index.has(sender) || sender === this.primary || sender === this.self) return;
    const slot = this.slotFor(p.seq);
    if (slot.prepares.has(sender)) return;
    if (!this.voteAuthentic(from, p, 1)) return;
    slot.prepares.set(sender, p);
    this.maxSeenSeq = Math.max(this.maxSeenSeq, p.seq);
    this.checkPrepared(slot);
  }

  private checkPrepared(slot: Slot): void {
    const pp = slot.prePrepare;
    if (pp === undefined || slot.sentCommit) return;
    const matching: Prepare[] = [];
    for (const [sender, p] of slot.prepares)
      if (p.digest === pp.digest && sender !== this.primaryOf(pp.view)) matching.push(p);
    if (matching.length < this.quorum - 1) return;
    matching.sort((a, b) => this.index.get(lower(a.replica))! - this.index.get(lower(b.replica))!);
    // The certificate goes into our view-changes, where others check every signature of it: check
    // them now (only q−1 of them; later prepares are never needed). A vote whose signature fails
    // was sent by its signer (authenticated) and is useless as evidence: it is dropped.
    const cert: Prepare[] = [];
    for (const p of matching) {
      if (cert.length === this.quorum - 1) break;
      const signer = lower(p.replica);
      if (signer === this.self || this.verifyCached(this.voteSignable(1, p.view, p.seq, p.digest), p.sig, signer))
        cert.push(p);
      else slot.prepares.delete(signer);
    }
    if (cert.length < this.quorum - 1) return;
    slot.prepared = { prePrepare: pp, prepares: cert };
    slot.sentCommit = true;
    const sig = this.trySign(this.voteSignable(2, pp.view, pp.seq, pp.digest));
    if (sig === undefined) {
      this.checkCommitted(slot); // the record holds this commit already (state lost): others' may decide
      return;
    }
    const commit: Commit = { type: "commit", view: pp.view, seq: pp.seq, digest: pp.digest, replica: this.self, sig };
    slot.commits.set(this.self, commit);
    this.emit({ type: "broadcast", message: commit });
    this.checkCommitted(slot);
  }

  private onCommit(from: Address, c: Commit): void {
    if (this._status !== "normal" || c.view !== this._view || !this.inWindow(c.seq) || !isHex32(c.digest)) return;
    const sender = lower(c.replica);
    if (!this.index.has(sender) || sender === this.self) return;
    const slot = this.slotFor(c.seq);
    if (slot.commits.has(sender)) return;
    if (!this.voteAuthentic(from, c, 2)) return;
    slot.commits.set(sender, c);
    this.maxSeenSeq = Math.max(this.maxSeenSeq, c.seq);
    const d = slot.decided;
    // Late matching commits join the certificate as spares (served to lagging replicas, which check
    // every signature: a faulty sender's bad one is then replaced by these).
    if (d !== undefined) {
      if (d.view === c.view && d.digest === c.digest && !d.commits.some((x) => lower(x.replica) === sender))
        d.commits.push(c);
      return;
    }
    this.checkCommitted(slot);
  }

  /** q validly signed commits of `e` (own ones are not re-checked), or undefined if it has fewer. */
  private certifiedCommits(e: CommittedEntry): Commit[] | undefined {
    const valid: Commit[] = [];
    for (const c of e.commits) {
      if (valid.length === this.quorum) break;
      const signer = lower(c.replica);
      if (signer === this.self || this.verifyCached(this.voteSignable(2, c.view, c.seq, c.digest), c.sig, signer))
        valid.push(c);
    }
    return valid.length >= this.quorum ? valid : undefined;
  }

  private checkCommitted(slot: Slot): void {
    const pp = slot.prePrepare;
    if (pp === undefined || !slot.sentCommit || slot.decided !== undefined) return;
    const matching: Commit[] = [];
    for (const c of slot.commits.values()) if (c.digest === pp.digest) matching.push(c);
    if (matching.length < this.quorum) return;
    matching.sort((a, b) => this.index.get(lower(a.replica))! - this.index.get(lower(b.replica))!);
    // All matching commits (typically q): their signatures are checked when the entry is served.
    slot.decided = { view: pp.view, digest: pp.digest, request: pp.request, commits: matching };
    this.tryExecute();
  }

  private tryExecute(): void {
    const before = this.lastExec;
    this.drainExecutable();
    if (this.lastExec !== before) this.afterProgress();
  }

  /** Executes every decided slot that directly follows the last executed one. */
  private drainExecutable(): void {
    for (;;) {
      const slot = this.slots.get(this.lastExec + 1);
      if (slot?.decided === undefined) break;
      this.execute(slot.seq, slot.decided);
    }
  }

  private execute(seq: number, d: Decided): void {
    this.lastExec = seq;
    this.execHash = this.crypto.hash(`${this.execHash}:${seq}:${d.digest}`);
    const duplicate = d.digest !== NULL_DIGEST && this.executed.has(d.digest);
    this.emit({ type: "execute", seq, view: d.view, digest: d.digest, request: d.request, duplicate });
    if (d.digest !== NULL_DIGEST) {
      this.pending.delete(d.digest);
      this.pendingSeq.delete(d.digest);
      if (!duplicate) this.executed.set(d.digest, seq);
    }
    this.dropUnorderable();
    this.committedLog.set(seq, { seq, view: d.view, digest: d.digest, request: d.request, commits: d.commits });
    // The doubled timeout stays until something that was waiting when the view changed executes.
    if (
      this.backoffHolders.size === 0 ||
      this.backoffHolders.has(`d:${d.digest}`) ||
      this.backoffHolders.has(`s:${seq}`)
    ) {
      this.backoff = 0;
      this.backoffHolders.clear();
    }
    if (seq % this.params.checkpointInterval === 0) {
      const sig = this.trySign({
        type: "PbftCheckpoint",
        message: { epoch: this.configId, seq: BigInt(seq), stateDigest: this.execHash },
      });
      const cp: Checkpoint | undefined =
        sig === undefined ? undefined : { type: "checkpoint", seq, digest: this.execHash, replica: this.self, sig };
      if (cp !== undefined && seq > this.h) {
        this.checkpointsAt(seq).set(this.self, cp);
        this.emit({ type: "broadcast", message: cp });
        this.checkStable(seq);
      }
    }
  }

  /** Pending requests whose named seq executed with another request can never be ordered: dropped. */
  private dropUnorderable(): void {
    for (const [d, seq] of this.pendingSeq)
      if (seq <= this.lastExec) {
        this.pending.delete(d);
        this.pendingSeq.delete(d);
      }
  }

  /**
   * After executions: the view-change timer restarts only if what it waited for executed (executing
   * other requests — a censor's — proves nothing about the oldest one); the primary may propose more.
   */
  private afterProgress(): void {
    if (this._status !== "normal") return;
    if (this.vcTimerId !== 0 && this.targetDone(this.vcTimerTarget)) this.cancelTimer("view-change");
    this.ensureViewChangeTimer();
    if (this.isPrimary) this.proposePending();
  }

  private targetDone(target: string | undefined): boolean {
    if (target === undefined) return true;
    if (target.startsWith("d:")) return !this.pending.has(target.slice(2) as Hex);
    return Number(target.slice(2)) <= this.lastExec;
  }

  /**
   * What a backup waits for, oldest first (Castro–Liskov: the timer belongs to a request): the oldest
   * pending client request that can be ordered now (one naming a later seq than the next waits for its
   * turn), else the next seq when it is pre-prepared (or withheld) and not executed.
   */
  private waitingTarget(): string | undefined {
    for (const [d] of this.pending) {
      const named = this.pendingSeq.get(d);
      if (named === undefined || named <= this.lastExec + 1) return `d:${d}`;
    }
    const next = this.lastExec + 1;
    if (this.requestSeq === undefined) {
      if (this.hasUnexecutedProposal()) return `s:${next}`;
    } else if (this.occupied(next) || this.withheld.has(next)) return `s:${next}`;
    return undefined;
  }

  /** The view-change timeout now: the base, doubled per view change since a waiting request last executed. */
  private currentTimeout(): number {
    return this.params.viewChangeTimeoutMs * 2 ** Math.min(this.backoff, this.params.maxBackoffExponent);
  }

  /** The timer runs exactly while something is waited for, and is re-armed only when that executes. */
  private ensureViewChangeTimer(): void {
    if (this._status !== "normal") return;
    const target = this.waitingTarget();
    if (target === undefined) {
      if (this.vcTimerId !== 0) this.cancelTimer("view-change");
      this.vcTimerTarget = undefined;
    } else if (this.vcTimerId === 0) {
      this.vcTimerTarget = target;
      this.setTimer("view-change", this.currentTimeout());
    }
  }

  private hasUnexecutedProposal(): boolean {
    for (const slot of this.slots.values())
      if (slot.seq > this.lastExec && slot.view === this._view && slot.prePrepare !== undefined) return true;
    for (const pp of this.withheld.values()) if (pp.seq > this.lastExec && pp.view === this._view) return true;
    return false;
  }

  /* ----------------------------------------------------------------------------------------------
   * Checkpoints, watermarks, garbage collection, state transfer
   * -------------------------------------------------------------------------------------------- */

  private checkpointsAt(seq: number): Map<string, Checkpoint> {
    let m = this.checkpoints.get(seq);
    if (m === undefined) {
      m = new Map();
      this.checkpoints.set(seq, m);
    }
    return m;
  }

  private verifyCheckpoint(cp: Checkpoint): boolean {
    if (!isSafeSeq(cp.seq) || cp.seq < 1 || !isHex32(cp.digest) || !this.index.has(lower(cp.replica))) return false;
    return this.verifyCached(
      { type: "PbftCheckpoint", message: { epoch: this.configId, seq: BigInt(cp.seq), stateDigest: cp.digest } },
      cp.sig,
      cp.replica,
    );
  }

  private onCheckpoint(cp: Checkpoint): void {
    if (!isSafeSeq(cp.seq) || cp.seq <= this.h || cp.seq % this.params.checkpointInterval !== 0) return;
    const sender = lower(cp.replica);
    if (!this.index.has(sender) || sender === this.self) return;
    if (this.checkpoints.get(cp.seq)?.has(sender)) return;
    if (!this.verifyCheckpoint(cp)) return;
    if (cp.seq > this.highWatermark) {
      // Beyond the window keep only each sender's newest checkpoint (bounded memory).
      for (const [seq, m] of this.checkpoints) {
        if (seq > this.highWatermark && seq < cp.seq) m.delete(sender);
        if (m.size === 0) this.checkpoints.delete(seq);
      }
      const newer = [...this.checkpoints.entries()].some(([seq, m]) => seq > cp.seq && m.has(sender));
      if (newer) return;
    }
    this.checkpointsAt(cp.seq).set(sender, cp);
    this.checkStable(cp.seq);
  }

  private checkStable(seq: number): void {
    const at = this.checkpoints.get(seq);
    if (at === undefined || at.size < this.quorum) return;
    const byDigest = new Map<Hex, Checkpoint[]>();
    for (const cp of at.values()) {
      const list = byDigest.get(cp.digest) ?? [];
      list.push(cp);
      byDigest.set(cp.digest, list);
    }
    for (const [digest, list] of byDigest) {
      if (list.length >= this.quorum) {
        list.sort((a, b) => this.index.get(lower(a.replica))! - this.index.get(lower(b.replica))!);
        this.setStable(seq, digest, list.slice(0, this.quorum));
        return;
      }
    }
  }

  private setStable(seq: number, digest: Hex, proof: Checkpoint[]): void {
    if (seq <= this.h) return;
    this.h = seq;
    if (seq >= this.recoveringFrom) this.recoveringFrom = 0; // the checkpoint covers what we forgot
    this.stableDigest = digest;
    this.stableProof = proof;
    for (const s of [...this.slots.keys()]) if (s <= seq) this.slots.delete(s);
    for (const s of [...this.withheld.keys()]) if (s <= seq) this.withheld.delete(s);
    for (const s of [...this.checkpoints.keys()]) if (s <= seq) this.checkpoints.delete(s);
    for (const key of [...this.proposals.keys()]) if (Number(key.split(":")[1]) <= seq) this.proposals.delete(key);
    const keepFrom = seq - this.params.retainCommitted;
    for (const s of [...this.committedLog.keys()]) if (s <= keepFrom) this.committedLog.delete(s);
    for (const [d, s] of [...this.executed]) if (s <= keepFrom) this.executed.delete(d);
    for (const [d, s] of [...this.assigned]) if (s <= seq) this.assigned.delete(d);
    if (this.nextSeq <= seq) this.nextSeq = seq + 1;
    this.emit({ type: "stable-checkpoint", seq, digest });
    if (this.lastExec < seq) this.requestState(proof.map((c) => lower(c.replica)));
    else if (!this.enteringView) this.proposePending(); // the window moved
  }

  /** Asks up to f+1 of `peers` (other than self) for what this replica misses. */
  private requestState(peers: Address[]): void {
    const others = peers.filter((p) => p !== this.self);
    const start = this.index.get(this.self)! % Math.max(1, others.length);
    for (let i = 0; i < Math.min(this.f + 1, others.length); i++) this.sendStatus(others[(start + i) % others.length]);
  }

  /** A STATUS to `to`; its ENTRIES reply may then vote for a state jump. */
  private sendStatus(to: Address): void {
    this.statusAsked.add(to);
    this.emit({ type: "send", to, message: this.statusMessage() });
  }

  private broadcastStatus(): void {
    for (const a of this.order) if (a !== this.self) this.statusAsked.add(a);
    this.emit({ type: "broadcast", message: this.statusMessage() });
  }

  private statusMessage(): Status {
    return {
      type: "status",
      view: this._view,
      viewChanging: this._status === "view-change",
      stableSeq: this.h,
      lastExecuted: this.lastExec,
    };
  }

  private onStatus(from: Address, st: Status): void {
    if (from === this.self || !isView(st.view) || !isSafeSeq(st.stableSeq) || !isSafeSeq(st.lastExecuted)) return;
    // The stable checkpoint first: it lets a far-behind replica skip what nobody retains.
    if (st.stableSeq < this.h) for (const cp of this.stableProof) this.emit({ type: "send", to: from, message: cp });
    if (st.lastExecuted < this.lastExec) {
      const entries: CommittedEntry[] = [];
      let bytes = 0;
      for (let s = st.lastExecuted + 1; s <= this.lastExec && entries.length < this.params.maxEntriesPerReply; s++) {
        const e = this.committedLog.get(s);
        if (e === undefined) break;
        const commits = this.certifiedCommits(e);
        if (commits === undefined) break;
        bytes += e.request?.length ?? 0;
        if (entries.length > 0 && bytes > this.params.maxReplyBytes) break;
        entries.push(commits.length === e.commits.length ? e : { ...e, commits });
      }
      const retainedFrom = this.committedLog.size > 0 ? Math.min(...this.committedLog.keys()) : this.lastExec + 1;
      const reply: Entries = { type: "entries", entries, retainedFrom };
      this.emit({ type: "send", to: from, message: reply });
    }
    if (this._status === "normal") {
      if (this.lastNewView !== undefined && (st.view < this._view || (st.view === this._view && st.viewChanging)))
        this.emit({ type: "send", to: from, message: this.lastNewView });
    } else if (st.view <= this._view) {
      const mine = this.viewChanges.get(this._view)?.get(this.self);
      if (mine) this.emit({ type: "send", to: from, message: mine });
      // A peer stuck in an older view change may lack our view-change for it (lost before GST).
      const older = st.viewChanging && st.view < this._view ? this.viewChanges.get(st.view)?.get(this.self) : undefined;
      if (older) this.emit({ type: "send", to: from, message: older });
    }
  }

  private verifyCommitCert(e: CommittedEntry): boolean {
    if (!isSafeSeq(e.seq) || e.seq < 1 || !isView(e.view) || !isHex32(e.digest) || !Array.isArray(e.commits))
      return false;
    if (!this.digestMatches(e.digest, e.request)) return false;
    const signers = new Set<string>();
    for (const c of e.commits) {
      if (c === null || typeof c !== "object") continue;
      const signer = lower(c.replica);
      if (signers.has(signer) || !this.index.has(signer)) continue;
      if (c.view !== e.view || c.seq !== e.seq || c.digest !== e.digest) continue;
      if (!this.verifyCached(this.voteSignable(2, c.view, c.seq, c.digest), c.sig, signer)) continue;
      signers.add(signer);
    }
    return signers.size >= this.quorum;
  }

  private onEntries(from: Address, msg: Entries): void {
    if (!Array.isArray(msg.entries) || !isSafeSeq(msg.retainedFrom)) return;
    const before = this.lastExec;
    const entries = [...msg.entries].filter((e) => e && isSafeSeq(e.seq)).sort((a, b) => a.seq - b.seq);
    // Entries are self-certifying; a claim that they are gone is not: skip only when f+1 peers asked
    // with a STATUS say so (one of them is correct).
    if (this.lastExec < this.h && this.statusAsked.has(from) && msg.retainedFrom > this.lastExec + 1) {
      this.jumpVotes.set(from, msg.retainedFrom);
      let votes = 0;
      for (const r of this.jumpVotes.values()) if (r > this.lastExec + 1) votes++;
      if (votes >= this.f + 1) this.jumpToStable();
    }
    for (const e of entries) {
      if (e.seq <= this.lastExec) continue;
      if (e.seq !== this.lastExec + 1) break;
      if (!this.verifyCommitCert(e)) break;
      this.execute(e.seq, { view: e.view, digest: e.digest, request: e.request, commits: e.commits });
      const slot = this.slots.get(e.seq);
      if (slot !== undefined)
        slot.decided ??= { view: e.view, digest: e.digest, request: e.request, commits: e.commits };
    }
    this.drainExecutable();
    if (this.lastExec !== before) {
      this.afterProgress();
      // A full batch: there is probably more; ask the same peer again right away.
      if (msg.entries.length >= this.params.maxEntriesPerReply) this.sendStatus(from);
    }
  }

  /** Skips to the stable checkpoint when the entries below it are no longer available. */
  private jumpToStable(): void {
    if (this.lastExec >= this.h) return;
    this.emit({ type: "state-jump", fromSeq: this.lastExec + 1, toSeq: this.h, stateDigest: this.stableDigest });
    this.lastExec = this.h;
    this.execHash = this.stableDigest;
    this.jumpVotes.clear();
    this.statusAsked.clear();
    // Requests executed in the skipped range are unknown: drop what is pending (clients retransmit).
    this.pending.clear();
    this.pendingSeq.clear();
    this.afterProgress();
    // Ask again, from the new position: entries above the checkpoint are retained by everyone.
    this.requestState(this.stableProof.map((c) => lower(c.replica)));
  }

  /* ----------------------------------------------------------------------------------------------
   * View change
   * -------------------------------------------------------------------------------------------- */

  private certsHash(certs: readonly PreparedCert[]): Hex {
    return this.crypto.hash(certsText(certs));
  }

  private viewChangeSignable(vc: Omit<ViewChange, "sig">): Signable {
    return {
      type: "PbftViewChange",
      message: {
        epoch: this.configId,
        newView: vc.view,
        stableSeq: BigInt(vc.stableSeq),
        stableDigest: vc.stableDigest,
        certsHash: this.certsHash(vc.prepared),
      },
    };
  }

  private startViewChange(newView: number): void {
    if (newView <= this._view || newView > MAX_VIEW) return;
    // What is waiting now keeps the doubled timeout until one of them executes (a chain of view
    // changes adds to the same set: the first that executes resets it).
    for (const d of this.pending.keys()) this.backoffHolders.add(`d:${d}`);
    for (const slot of this.slots.values())
      if (slot.seq > this.lastExec && slot.view === this._view && slot.prePrepare)
        this.backoffHolders.add(`s:${slot.seq}`);
    for (const seq of this.withheld.keys()) if (seq > this.lastExec) this.backoffHolders.add(`s:${seq}`);
    this._view = newView;
    this._status = "view-change";
    this.early = [];
    this.withheld.clear();
    this.cancelTimer("view-change");
    this.vcTimerTarget = undefined;
    this.vcQuorumTimerView = -1;
    this.assigned.clear();
    const prepared: PreparedCert[] = [];
    for (const slot of [...this.slots.values()].sort((a, b) => a.seq - b.seq))
      if (slot.seq > this.h && slot.prepared !== undefined) prepared.push(slot.prepared);
    const body: Omit<ViewChange, "sig"> = {
      type: "view-change",
      view: newView,
      stableSeq: this.h,
      stableDigest: this.stableDigest,
      checkpointProof: this.stableProof,
      prepared,
      replica: this.self,
    };
    // Amnesic after a lost state: a view-change without the certificates of what we voted for could
    // let a new view undo a committed request. Stay out of view changes until a checkpoint covers them.
    const sig = this.h < this.recoveringFrom ? undefined : this.trySign(this.viewChangeSignable(body));
    // Others' view-changes of lower views go; our own stay (a few), for peers that never got them.
    const ownKept = [...this.viewChanges.keys()].filter((v) => v < newView && this.viewChanges.get(v)!.has(this.self));
    ownKept.sort((a, b) => b - a);
    const keep = new Set(ownKept.slice(0, OWN_VIEW_CHANGES_KEPT));
    for (const [v, m] of [...this.viewChanges])
      if (v < newView) {
        if (!keep.has(v)) this.viewChanges.delete(v);
        else for (const sender of [...m.keys()]) if (sender !== this.self) m.delete(sender);
      }
    this.emit({ type: "view-change", view: newView });
    if (sig !== undefined) {
      // (undefined: the signing record holds another view-change of ours for this view — state lost.)
      const vc: ViewChange = { ...body, sig };
      this.viewChangesAt(newView).set(this.self, vc);
      this.emit({ type: "broadcast", message: vc });
    }
    this.checkViewChangeQuorum();
  }

  private viewChangesAt(view: number): Map<string, ViewChange> {
    let m = this.viewChanges.get(view);
    if (m === undefined) {
      m = new Map();
      this.viewChanges.set(view, m);
    }
    return m;
  }

  /** Full validation of a view-change (signature, checkpoint proof, every prepared certificate). */
  private validViewChange(vc: ViewChange): boolean {
    if (vc === null || typeof vc !== "object" || vc.type !== "view-change") return false;
    if (!isView(vc.view) || vc.view < 1 || !isSafeSeq(vc.stableSeq) || !isHex32(vc.stableDigest)) return false;
    if (!Array.isArray(vc.checkpointProof) || !Array.isArray(vc.prepared)) return false;
    const sender = lower(vc.replica);
    if (!this.index.has(sender)) return false;
    if (vc.stableSeq % this.params.checkpointInterval !== 0) return false;
    if (!this.verifyCached(this.viewChangeSignable(vc), vc.sig, sender)) return false;
    if (vc.stableSeq === 0) {
      if (vc.stableDigest !== NULL_DIGEST) return false;
    } else if (!this.validCheckpointProof(vc.stableSeq, vc.stableDigest, vc.checkpointProof)) return false;
    let lastSeq = vc.stableSeq;
    for (const cert of vc.prepared) {
      if (!this.validPreparedCert(cert, vc.view)) return false;
      const seq = cert.prePrepare.seq;
      if (seq <= lastSeq || seq > vc.stableSeq + this.params.watermarkWindow) return false;
      lastSeq = seq;
    }
    for (const cert of vc.prepared) this.noteProposal(cert.prePrepare);
    return true;
  }

  private validCheckpointProof(seq: number, digest: Hex, proof: readonly Checkpoint[]): boolean {
    const signers = new Set<string>();
    for (const cp of proof) {
      if (cp === null || typeof cp !== "object" || cp.seq !== seq || cp.digest !== digest) continue;
      const signer = lower(cp.replica);
      if (signers.has(signer) || !this.verifyCheckpoint(cp)) continue;
      signers.add(signer);
    }
    return signers.size >= this.quorum;
  }

  private validPreparedCert(cert: PreparedCert, beforeView: number): boolean {
    if (cert === null || typeof cert !== "object" || !Array.isArray(cert.prepares)) return false;
    const pp = cert.prePrepare;
    if (pp === null || typeof pp !== "object" || pp.type !== "pre-prepare" || !(pp.view < beforeView)) return false;
    if (!this.verifyPrePrepare(pp) || !this.digestMatches(pp.digest, pp.request)) return false;
    const primary = this.primaryOf(pp.view);
    const signers = new Set<string>();
    for (const p of cert.prepares) {
      if (p === null || typeof p !== "object") continue;
      const signer = lower(p.replica);
      if (signer === primary || signers.has(signer) || !this.index.has(signer)) continue;
      if (p.view !== pp.view || p.seq !== pp.seq || p.digest !== pp.digest) continue;
      if (!this.verifyCached(this.voteSignable(1, p.view, p.seq, p.digest), p.sig, signer)) continue;
      signers.add(signer);
    }
    return signers.size >= this.quorum - 1;
  }

  private onViewChange(vc: ViewChange): void {
    if (!isView(vc.view)) return;
    const sender = lower(vc.replica);
    if (!this.index.has(sender) || sender === this.self) return;
    if (vc.view < this._view || (vc.view === this._view && this._status === "normal")) {
      // The sender is stuck in an older view change: hand it our view-change for it, if we kept it.
      const mine = this.viewChanges.get(vc.view)?.get(this.self);
      if (mine) this.emit({ type: "send", to: sender, message: mine });
      return;
    }
    if (this.viewChanges.get(vc.view)?.has(sender)) return;
    // At most one future-view view-change per sender (its highest): a flood of them costs one slot.
    if (vc.view > this._view) {
      for (const [v, m] of this.viewChanges) if (v > this._view && v > vc.view && m.has(sender)) return;
    }
    if (!this.validViewChange(vc)) return;
    if (vc.view > this._view)
      for (const [v, m] of [...this.viewChanges])
        if (v > this._view && v !== vc.view && m.delete(sender) && m.size === 0) this.viewChanges.delete(v);
    this.viewChangesAt(vc.view).set(sender, vc);
    // Join rule: f+1 replicas want a higher view → move to the smallest of their views.
    const higher = new Map<string, number>();
    for (const [v, m] of this.viewChanges)
      if (v > this._view) for (const s of m.keys()) if (s !== this.self) higher.set(s, Math.min(higher.get(s) ?? v, v));
    if (higher.size >= this.f + 1) {
      const target = Math.min(...higher.values());
      if (target > this._view) {
        this.startViewChange(target);
        return;
      }
    }
    if (vc.view === this._view) this.checkViewChangeQuorum();
  }

  /** With q view-changes for the current target view: start the timer; the new primary sends NEW-VIEW. */
  private checkViewChangeQuorum(): void {
    if (this._status !== "view-change") return;
    const set = this.viewChanges.get(this._view);
    if (set === undefined || set.size < this.quorum) return;
    if (this.vcQuorumTimerView !== this._view) {
      this.vcQuorumTimerView = this._view;
      const exp = Math.min(this.backoff, this.params.maxBackoffExponent);
      this.backoff++;
      this.setTimer("view-change", this.params.viewChangeTimeoutMs * 2 ** exp);
    }
    if (this.isPrimary && this.lastNewView?.view !== this._view) this.sendNewView();
  }

  /** O computed from V: min-s, max-s and, per seq in (min-s, max-s], the digest (and request) to re-propose. */
  private computeO(vcs: readonly ViewChange[]): {
    minS: number;
    maxS: number;
    stable: ViewChange;
    entries: Array<{ seq: number; digest: Hex; request: string | null }>;
  } {
    let stable = vcs[0];
    for (const vc of vcs) if (vc.stableSeq > stable.stableSeq) stable = vc;
    const minS = stable.stableSeq;
    const best = new Map<number, PrePrepare>();
    for (const vc of vcs)
      for (const cert of vc.prepared) {
        const pp = cert.prePrepare;
        if (pp.seq <= minS) continue;
        const cur = best.get(pp.seq);
        if (cur === undefined || pp.view > cur.view || (pp.view === cur.view && pp.digest < cur.digest))
          best.set(pp.seq, pp);
      }
    let maxS = minS;
    for (const s of best.keys()) maxS = Math.max(maxS, s);
    const entries: Array<{ seq: number; digest: Hex; request: string | null }> = [];
    for (let s = minS + 1; s <= maxS; s++) {
      const pp = best.get(s);
      entries.push(
        pp ? { seq: s, digest: pp.digest, request: pp.request } : { seq: s, digest: NULL_DIGEST, request: null },
      );
    }
    return { minS, maxS, stable, entries };
  }

  private newViewContentHash(view: number, vcs: readonly ViewChange[], pps: readonly PrePrepare[]): Hex {
    return this.crypto.hash(newViewText(view, vcs, pps));
  }

  private sendNewView(): void {
    const view = this._view;
    const set = this.viewChanges.get(view)!;
    // Own view-change first, then others in leader order: deterministic, exactly q.
    const vcs = [...set.values()]
      .sort((a, b) => {
        const ra = lower(a.replica) === this.self ? -1 : this.index.get(lower(a.replica))!;
        const rb = lower(b.replica) === this.self ? -1 : this.index.get(lower(b.replica))!;
        return ra - rb;
      })
      .slice(0, this.quorum);
    const o = this.computeO(vcs);
    const prePrepares = o.entries.map((e) => this.signPrePrepare(view, e.seq, e.digest, e.request));
    if (prePrepares.some((pp) => pp === undefined)) return;
    const contentHash = this.newViewContentHash(view, vcs, prePrepares as PrePrepare[]);
    const sig = this.trySign({ type: "PbftNewView", message: { epoch: this.configId, view, contentHash } });
    if (sig === undefined) return;
    const nv: NewView = {
      type: "new-view",
      view,
      viewChanges: vcs,
      prePrepares: prePrepares as PrePrepare[],
      replica: this.self,
      sig,
    };
    this.emit({ type: "broadcast", message: nv });
    this.enterNewView(nv, o);
  }

  private onNewView(nv: NewView): void {
    if (!isView(nv.view) || nv.view < this._view || (nv.view === this._view && this._status === "normal")) return;
    if (lower(nv.replica) !== this.primaryOf(nv.view) || lower(nv.replica) === this.self) return;
    if (!Array.isArray(nv.viewChanges) || !Array.isArray(nv.prePrepares)) return;
    const contentHash = this.newViewContentHash(nv.view, nv.viewChanges, nv.prePrepares);
    if (
      !this.verifyCached(
        { type: "PbftNewView", message: { epoch: this.configId, view: nv.view, contentHash } },
        nv.sig,
        nv.replica,
      )
    )
      return;
    const senders = new Set<string>();
    for (const vc of nv.viewChanges) {
      if (vc === null || typeof vc !== "object" || vc.view !== nv.view) return;
      const s = lower(vc.replica);
      if (senders.has(s) || !this.validViewChange(vc)) return;
      senders.add(s);
    }
    if (senders.size < this.quorum) return;
    const o = this.computeO(nv.viewChanges);
    if (o.entries.length !== nv.prePrepares.length) return;
    for (let i = 0; i < o.entries.length; i++) {
      const pp = nv.prePrepares[i];
      const e = o.entries[i];
      if (pp === null || typeof pp !== "object" || pp.type !== "pre-prepare") return;
      if (pp.view !== nv.view || pp.seq !== e.seq || pp.digest !== e.digest) return;
      if (!this.digestMatches(pp.digest, pp.request) || !this.verifyPrePrepare(pp)) return;
    }
    this.enterNewView(nv, o);
  }

  private enterNewView(nv: NewView, o: ReturnType<PbftReplica["computeO"]>): void {
    this.enteringView = true;
    this._view = nv.view;
    this._status = "normal";
    this.lastNewView = nv;
    this.vcQuorumTimerView = -1;
    this.cancelTimer("view-change");
    this.vcTimerTarget = undefined;
    this.withheld.clear();
    for (const v of [...this.viewChanges.keys()]) if (v <= nv.view) this.viewChanges.delete(v);
    if (o.minS > this.h) this.setStable(o.minS, o.stable.stableDigest, o.stable.checkpointProof);
    for (const slot of this.slots.values()) if (slot.view !== this._view) this.resetSlotView(slot);
    this.assigned.clear();
    const primary = this.primaryOf(nv.view);
    this.emit({ type: "new-view", view: nv.view, primary });
    for (const pp of nv.prePrepares) {
      if (pp.seq <= this.h) continue;
      this.noteProposal(pp);
      const slot = this.slotFor(pp.seq);
      slot.prePrepare = pp;
      if (pp.request !== null) this.assigned.set(pp.digest, pp.seq);
      if (primary !== this.self) this.sendPrepare(slot);
      this.checkPrepared(slot);
    }
    this.nextSeq = Math.max(o.maxS, this.h) + 1;
    this.enteringView = false;
    // Backups hand the new primary the client requests they are still waiting for.
    if (primary !== this.self && this.params.forwardRequests)
      for (const [digest, request] of this.pending)
        if (!this.assigned.has(digest)) this.emit({ type: "send", to: primary, message: { type: "request", request } });
    const early = this.early;
    this.early = [];
    for (const { from, message } of early) {
      if (message.view !== this._view) continue;
      if (message.type === "pre-prepare") this.onPrePrepare(from, message);
      else if (message.type === "prepare") this.onPrepare(from, message);
      else this.onCommit(from, message);
    }
    if (this.isPrimary) this.proposePending();
    this.ensureViewChangeTimer();
    if (this.lastExec < this.h) this.requestState(this.order.filter((a) => a !== this.self));
  }

  /* ----------------------------------------------------------------------------------------------
   * Retransmission
   * -------------------------------------------------------------------------------------------- */

  private noteView(from: Address, view: number): void {
    if (from === this.self) return;
    const prev = this.aheadViews.get(from);
    if (prev === undefined || view > prev) this.aheadViews.set(from, view);
  }

  /** f+1 other replicas have shown a view above ours. */
  private othersAhead(): boolean {
    let count = 0;
    for (const v of this.aheadViews.values()) if (v > this._view) count++;
    return count >= this.f + 1;
  }

  private unfinished(): boolean {
    return (
      this._status === "view-change" ||
      this.pending.size > 0 ||
      this.lastExec < this.h ||
      this.maxSeenSeq > this.lastExec ||
      this.hasUnexecutedProposal() ||
      this.lastExec - this.h >= this.params.checkpointInterval ||
      this.othersAhead()
    );
  }

  /**
   * The retransmit timer runs every `retransmitMs` while work is unfinished and every
   * `statusIntervalMs` otherwise (a heartbeat STATUS, so that a replica that missed the last requests
   * of a quiet period still learns of them).
   */
  private armRetransmit(): void {
    const busy = this.unfinished();
    if (this.retransmitId !== 0 && !(busy && this.retransmitIdle)) return;
    this.retransmitIdle = !busy;
    this.setTimer("retransmit", busy ? this.params.retransmitMs : this.params.statusIntervalMs);
  }

  private retransmit(): void {
    this.recheckWithheld();
    if (!this.unfinished()) {
      this.broadcastStatus();
      return;
    }
    const mark = `${this._view}:${this._status}:${this.lastExec}:${this.h}`;
    const stalled = mark === this.progressMark;
    this.progressMark = mark;
    if (!stalled) return;
    {
      if (this._status === "normal") {
        for (const slot of [...this.slots.values()].sort((a, b) => a.seq - b.seq)) {
          if (slot.seq <= this.lastExec || slot.view !== this._view) continue;
          if (slot.prePrepare && lower(slot.prePrepare.replica) === this.self)
            this.emit({ type: "broadcast", message: slot.prePrepare });
          const p = slot.prepares.get(this.self);
          if (p) this.emit({ type: "broadcast", message: p });
          const c = slot.commits.get(this.self);
          if (c) this.emit({ type: "broadcast", message: c });
        }
        if (this.lastNewView?.view === this._view && this.isPrimary)
          this.emit({ type: "broadcast", message: this.lastNewView });
      } else {
        const mine = this.viewChanges.get(this._view)?.get(this.self);
        if (mine) this.emit({ type: "broadcast", message: mine });
      }
      for (const [seq, m] of this.checkpoints) {
        const mine = m.get(this.self);
        if (seq > this.h && mine) this.emit({ type: "broadcast", message: mine });
      }
      this.broadcastStatus();
    }
  }

  /* ----------------------------------------------------------------------------------------------
   * Helpers
   * -------------------------------------------------------------------------------------------- */

  private emit(action: ReplicaAction): void {
    this.out.push(action);
  }

  private setTimer(kind: TimerKind, delayMs: number): void {
    const id = ++this.timerSeq;
    if (kind === "view-change") this.vcTimerId = id;
    else this.retransmitId = id;
    this.emit({ type: "set-timer", kind, id, delayMs });
  }

  private cancelTimer(kind: TimerKind): void {
    if (kind === "view-change") {
      if (this.vcTimerId === 0) return;
      this.vcTimerId = 0;
    } else {
      if (this.retransmitId === 0) return;
      this.retransmitId = 0;
    }
    this.emit({ type: "cancel-timer", kind });
  }

  /** Signature check with a small cache (the same prepares reappear in view-changes and new-views). */
  private verifyCached(item: Signable, sig: Hex, signer: string): boolean {
    if (typeof sig !== "string" || typeof signer !== "string") return false;
    const m = item.message as unknown as Record<string, unknown>;
    const key = `${item.type}|${lower(signer)}|${sig}|${Object.values(m).join(",")}`;
    const cached = this.sigCache.get(key);
    if (cached !== undefined) return cached;
    let ok: boolean;
    try {
      ok = this.crypto.verify(item, sig, lower(signer));
    } catch {
      ok = false;
    }
    if (this.sigCache.size >= 8192) this.sigCache.clear();
    this.sigCache.set(key, ok);
    return ok;
  }

  /* ----------------------------------------------------------------------------------------------
   * Persistence
   * -------------------------------------------------------------------------------------------- */

  /** The persistent state. Persist it before carrying out the actions of the event that produced it. */
  snapshot(): ReplicaSnapshot {
    const requests: Record<Hex, string> = {};
    const stripPP = (pp: PrePrepare): PrePrepare => {
      if (pp.request === null) return pp;
      requests[pp.digest] = pp.request;
      return { ...pp, request: STRIPPED };
    };
    const stripCert = (c: PreparedCert): PreparedCert => ({ prePrepare: stripPP(c.prePrepare), prepares: c.prepares });
    const stripVC = (vc: ViewChange): ViewChange => ({ ...vc, prepared: vc.prepared.map(stripCert) });
    const stripDecided = <T extends { digest: Hex; request: string | null }>(d: T): T => {
      if (d.request === null) return d;
      requests[d.digest] = d.request;
      return { ...d, request: STRIPPED };
    };
    for (const [d, r] of this.pending) requests[d] = r;
    return {
      version: 1,
      configId: this.configId.toString(),
      order: [...this.order],
      self: this.self,
      view: this._view,
      status: this._status,
      lastExecuted: this.lastExec,
      execHash: this.execHash,
      nextSeq: this.nextSeq,
      stableSeq: this.h,
      stableDigest: this.stableDigest,
      stableProof: [...this.stableProof],
      backoff: this.backoff,
      backoffHolders: [...this.backoffHolders],
      recoveringFrom: this.recoveringFrom,
      slots: [...this.slots.values()].map((s) => ({
        seq: s.seq,
        view: s.view,
        prePrepare: s.prePrepare && stripPP(s.prePrepare),
        prepares: [...s.prepares.values()],
        commits: [...s.commits.values()],
        sentCommit: s.sentCommit,
        prepared: s.prepared && stripCert(s.prepared),
        decided: s.decided && stripDecided(s.decided),
      })),
      checkpoints: [...this.checkpoints.values()].flatMap((m) => [...m.values()]),
      viewChanges: [...this.viewChanges.values()].flatMap((m) => [...m.values()]).map(stripVC),
      lastNewView: this.lastNewView
        ? {
            ...this.lastNewView,
            viewChanges: this.lastNewView.viewChanges.map(stripVC),
            prePrepares: this.lastNewView.prePrepares.map(stripPP),
          }
        : null,
      pending: [...this.pending.keys()],
      executed: [...this.executed],
      committed: [...this.committedLog.values()].map(stripDecided),
      proposals: [...this.proposals.values()].map(stripPP),
      evidence: [...this.evidenceSent],
      requests,
    };
  }

  private restore(s: ReplicaSnapshot): void {
    if (s.version !== 1)
      throw new ValidationError("PBFT_BAD_SNAPSHOT", "unknown snapshot version", { value: s.version });
    if (BigInt(s.configId) !== this.configId || lower(s.self) !== this.self || s.order.join() !== this.order.join())
      throw new ValidationError("PBFT_BAD_SNAPSHOT", "snapshot belongs to another replica or configuration", {
        value: { configId: s.configId, self: s.self },
      });
    const req = (digest: Hex): string => {
      const r = s.requests[digest];
      if (typeof r !== "string")
        throw new ValidationError("PBFT_BAD_SNAPSHOT", "snapshot lacks a request payload", { value: digest });
      return r;
    };
    const attachPP = (pp: PrePrepare): PrePrepare =>
      pp.request === STRIPPED ? { ...pp, request: req(pp.digest) } : pp;
    const attachCert = (c: PreparedCert): PreparedCert => ({
      prePrepare: attachPP(c.prePrepare),
      prepares: c.prepares,
    });
    const attachVC = (vc: ViewChange): ViewChange => ({ ...vc, prepared: vc.prepared.map(attachCert) });
    const attachD = <T extends { digest: Hex; request: string | null }>(d: T): T =>
      d.request === STRIPPED ? { ...d, request: req(d.digest) } : d;
    this._view = s.view;
    this._status = s.status;
    this.lastExec = s.lastExecuted;
    this.execHash = s.execHash;
    this.nextSeq = s.nextSeq;
    this.h = s.stableSeq;
    this.stableDigest = s.stableDigest;
    this.stableProof = s.stableProof;
    this.backoff = s.backoff;
    this.backoffHolders = new Set(s.backoffHolders ?? []);
    // The option speaks of the signing record; a snapshot that knows every seq the record voted at is
    // not amnesic (a restored old backup is: it knows less than the record).
    const known = Math.max(s.lastExecuted, s.stableSeq, ...s.slots.map((sl) => sl.seq));
    const fromRecord = this.recoveringFrom > known ? this.recoveringFrom : 0;
    this.recoveringFrom = Math.max(fromRecord, s.recoveringFrom ?? 0);
    for (const sl of s.slots)
      this.slots.set(sl.seq, {
        seq: sl.seq,
        view: sl.view,
        prePrepare: sl.prePrepare && attachPP(sl.prePrepare),
        prepares: new Map(sl.prepares.map((p) => [lower(p.replica), p])),
        commits: new Map(sl.commits.map((c) => [lower(c.replica), c])),
        sentCommit: sl.sentCommit,
        prepared: sl.prepared && attachCert(sl.prepared),
        decided: sl.decided && attachD(sl.decided),
      });
    for (const cp of s.checkpoints) this.checkpointsAt(cp.seq).set(lower(cp.replica), cp);
    for (const vc of s.viewChanges) this.viewChangesAt(vc.view).set(lower(vc.replica), attachVC(vc));
    this.lastNewView = s.lastNewView
      ? {
          ...s.lastNewView,
          viewChanges: s.lastNewView.viewChanges.map(attachVC),
          prePrepares: s.lastNewView.prePrepares.map(attachPP),
        }
      : undefined;
    for (const d of s.pending) {
      const request = req(d);
      this.pending.set(d, request);
      const named = this.namedSeq(request);
      if (typeof named === "number") this.pendingSeq.set(d, named);
    }
    for (const [d, seq] of s.executed) this.executed.set(d, seq);
    for (const e of s.committed) this.committedLog.set(e.seq, attachD(e));
    for (const pp of s.proposals) this.proposals.set(`${pp.view}:${pp.seq}`, attachPP(pp));
    for (const e of s.evidence) this.evidenceSent.add(e);
    for (const slot of this.slots.values())
      if (slot.view === this._view && slot.prePrepare?.request) this.assigned.set(slot.prePrepare.digest, slot.seq);
  }
}

/** Creates a replica for (configId, order, self, crypto, validate, params). Feed it `{type:"start"}` first. */
export function createReplica(options: ReplicaOptions): PbftReplica {
  return new PbftReplica(options);
}

/** Re-creates a replica from {@link PbftReplica.snapshot}; feed it `{type:"start"}` to re-arm timers. */
export function restoreReplica(snapshot: ReplicaSnapshot, options: ReplicaOptions): PbftReplica {
  return new PbftReplica(options, snapshot);
}
