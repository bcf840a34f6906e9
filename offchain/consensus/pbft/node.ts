/**
 * The I/O edge of a PBFT replica: binds the pure {@link PbftReplica} to the HTTP transport, real
 * timers and LevelDB. The validator daemon (next issue) builds on it.
 *
 * Event loop: inbound messages, client requests and timer expiries are queued; the loop feeds the
 * queued events to the replica one by one, then — if any resulting action is more than a timer —
 * PERSISTS the replica's state (one atomic LevelDB batch for all of them), and only then carries out
 * the actions (sends, timers, executions). A replica therefore never sends a signed message, nor
 * reports an execution, that a crash could make it forget — after a restart it cannot sign a
 * conflicting message. Request payloads are stored once, as blobs named by their digest, apart from
 * the (small) state record.
 */
import type { Address, Hex } from "viem";
import type { Logger } from "pino";
import { HttpTransport, type InboundMessage } from "../../core/transport";
import type { Metrics } from "../../core/metrics";
import type { Store } from "../../core/store";
import { ValidationError } from "../../core/errors";
import { PbftReplica, restoreReplica, type ReplicaOptions, type ReplicaSnapshot } from "./replica";
import { decodePbftMessage } from "./codec";
import type { Evidence, PbftMessage, ReplicaAction, ReplicaEvent, TimerKind } from "./types";

export const PBFT_KIND = "pbft";
const STATE_KEY = "pbft/state";
/** Request payloads are blobs named `req-<digest>`. */
const BLOB_PREFIX = "req-";
/** Pre-prepare requests of at least this many characters are sent as the envelope's attachment. */
const ATTACH_FROM = 16 * 1024;

export interface ExecutedRequest {
  seq: number;
  view: number;
  digest: Hex;
  request: string | null;
  duplicate: boolean;
}

export interface PbftNodeOptions {
  replica: ReplicaOptions;
  transport: HttpTransport;
  /** Base URL of every replica (self included or not). */
  peers: ReadonlyMap<string, string>;
  /** Persistence; without it the replica restarts empty (tests, benchmarks). */
  store?: Store;
  logger?: Logger;
  metrics?: Metrics;
  /** Called for every execution, in sequence order. */
  onExecute?: (e: ExecutedRequest) => void;
  onEvidence?: (e: Evidence) => void;
  /** Every action, after persistence (observability, tests). */
  onAction?: (a: ReplicaAction) => void;
  /**
   * Awaited before an inbound message is queued: lets the application load, asynchronously, the facts
   * its synchronous `validate` needs for the request the message carries (the validator daemon refreshes
   * chain facts here). Must not throw; the message is queued when it settles.
   */
  beforeDeliver?: (message: PbftMessage, from: Address) => Promise<void>;
  /**
   * Awaited after the replica's state is persisted and before any resulting action is carried out, so
   * that application records written alongside (the validator's signing record) are durable before a
   * signature leaves the process. A rejection stops the replica, as a persistence failure does.
   */
  beforeAct?: () => Promise<void>;
  /** Called once if the event loop fails (persistence, `beforeAct`, or the replica itself threw) and the replica stops. */
  onFailure?: (err: unknown) => void;
}

export class PbftNode {
  readonly replica: PbftReplica;
  private readonly queue: ReplicaEvent[] = [];
  private running = false;
  private closed = false;
  private readonly timers = new Map<TimerKind, NodeJS.Timeout>();
  private readonly stored = new Set<string>();
  private readonly urls = new Map<string, string>();
  private idle: Promise<void> = Promise.resolve();
  private idleResolve: (() => void) | undefined;
  private readonly log?: Logger;
  private readonly m;

  private constructor(
    private readonly options: PbftNodeOptions,
    replica: PbftReplica,
    stored: Iterable<string>,
  ) {
    this.replica = replica;
    for (const d of stored) this.stored.add(d);
    for (const [a, u] of options.peers) this.urls.set(a.toLowerCase(), u);
    this.log = options.logger;
    const metrics = options.metrics;
    this.m = metrics
      ? {
          executed: metrics.counter("pbft_executed_total", "Requests executed"),
          view: metrics.gauge("pbft_view", "Current view"),
          viewChanges: metrics.counter("pbft_view_changes_total", "View changes started"),
          evidence: metrics.counter("pbft_evidence_total", "Evidence emitted", ["kind"]),
          inbound: metrics.counter("pbft_messages_in_total", "PBFT messages received", ["type"]),
          lastExecuted: metrics.gauge("pbft_last_executed", "Last executed sequence number"),
          persistSeconds: metrics.histogram("pbft_persist_seconds", "State persistence latency", {
            buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
          }),
        }
      : undefined;
    options.transport.handle(PBFT_KIND, (msg) => this.onInbound(msg));
  }

  /** Creates the node, restoring the replica from `store` if it holds a state. Call {@link start} next. */
  static async open(options: PbftNodeOptions): Promise<PbftNode> {
    const store = options.store;
    let replica: PbftReplica;
    const stored: string[] = [];
    const snapshot = store ? await store.get<Omit<ReplicaSnapshot, "requests">>(STATE_KEY) : undefined;
    if (store && snapshot !== undefined) {
      const requests: Record<Hex, string> = {};
      for (const name of await store.listBlobs()) {
        if (!name.startsWith(BLOB_PREFIX)) continue;
        const digest = name.slice(BLOB_PREFIX.length) as Hex;
        const payload = await store.getBlob(name);
        if (payload === undefined) continue;
        requests[digest] = payload;
        stored.push(digest);
      }
      replica = restoreReplica({ ...snapshot, requests }, options.replica);
      options.logger?.info(
        { view: replica.view, lastExecuted: replica.lastExecuted, stable: replica.lowWatermark },
        "replica restored from store",
      );
    } else replica = new PbftReplica(options.replica);
    return new PbftNode(options, replica, stored);
  }

  /** Starts the replica (timers, status broadcast). */
  start(): void {
    this.enqueue({ type: "start" });
  }

  /** Submits a client request. */
  submit(request: string): void {
    this.enqueue({ type: "request", request });
  }

  /** Updates a peer's URL (e.g. after it moved). */
  setPeerUrl(address: Address, url: string): void {
    this.urls.set(address.toLowerCase(), url);
  }

  /** Re-announces this replica (a `start` event: timers re-armed, STATUS broadcast), e.g. after new peer URLs. */
  announce(): void {
    this.enqueue({ type: "start" });
  }

  /** Resolves when every queued event has been processed, persisted and acted on. */
  drained(): Promise<void> {
    return this.idle;
  }

  private onInbound(msg: InboundMessage): null | Promise<null> {
    const body = msg.body as Record<string, unknown> | null;
    // A pre-prepare's request may travel as the envelope's attachment (see post).
    if (msg.attachment !== undefined && body !== null && typeof body === "object" && body.type === "pre-prepare")
      if (!("request" in body)) body.request = msg.attachment;
    const message = decodePbftMessage(body);
    this.m?.inbound.inc({ type: message.type });
    const before = this.options.beforeDeliver;
    if (before === undefined) {
      this.enqueue({ type: "message", from: msg.sender, message });
      return null;
    }
    return before(message, msg.sender).then(
      () => this.deliver(msg.sender, message),
      () => this.deliver(msg.sender, message),
    );
  }

  private deliver(from: Address, message: PbftMessage): null {
    this.enqueue({ type: "message", from, message });
    return null;
  }

  private enqueue(event: ReplicaEvent): void {
    if (this.closed) return;
    this.queue.push(event);
    if (!this.running) {
      this.running = true;
      this.idle = new Promise((r) => (this.idleResolve = r));
      setImmediate(() => void this.loop());
    }
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.closed) {
        const events = this.queue.splice(0, this.queue.length);
        const actions: ReplicaAction[] = [];
        for (const e of events) actions.push(...this.replica.handle(e));
        if (actions.length === 0) continue;
        // Only what the replica says or does must be durable first. Messages merely stored (a prepare
        // that completes nothing yet) may be lost in a crash like any lost message; the next persist
        // writes them anyway.
        if (actions.some((a) => a.type !== "set-timer" && a.type !== "cancel-timer")) {
          await this.persist();
          await this.options.beforeAct?.();
        }
        if (this.closed) break;
        for (const a of actions) this.perform(a);
      }
    } catch (err) {
      // Persistence failed: acting now could sign what a restart forgets. Stop this replica.
      this.log?.fatal({ err }, "PBFT event loop failed; replica stopped");
      this.closed = true;
      for (const t of this.timers.values()) clearTimeout(t);
      this.options.onFailure?.(err);
    } finally {
      this.running = false;
      this.idleResolve?.();
    }
  }

  private async persist(): Promise<void> {
    const store = this.options.store;
    if (!store) return;
    const started = process.hrtime.bigint();
    const { requests, ...state } = this.replica.snapshot();
    const live = new Set<string>(Object.keys(requests));
    // Payloads first (a record never refers to a missing blob), then the state, then deletions.
    const fresh = [...live].filter((d) => !this.stored.has(d));
    await Promise.all(fresh.map((d) => store.putBlob(`${BLOB_PREFIX}${d}`, requests[d as Hex])));
    for (const d of fresh) this.stored.add(d);
    await store.put(STATE_KEY, state);
    const gone = [...this.stored].filter((d) => !live.has(d));
    await Promise.all(gone.map((d) => store.deleteBlob(`${BLOB_PREFIX}${d}`)));
    for (const d of gone) this.stored.delete(d);
    this.m?.persistSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  private perform(a: ReplicaAction): void {
    switch (a.type) {
      case "send":
        this.post([a.to], a.message);
        break;
      case "broadcast":
        this.post(
          this.replica.order.filter((x) => x !== this.replica.self),
          a.message,
        );
        break;
      case "set-timer": {
        clearTimeout(this.timers.get(a.kind));
        const t = setTimeout(() => {
          this.timers.delete(a.kind);
          this.enqueue({ type: "timeout", kind: a.kind, id: a.id });
        }, a.delayMs);
        this.timers.set(a.kind, t);
        break;
      }
      case "cancel-timer":
        clearTimeout(this.timers.get(a.kind));
        this.timers.delete(a.kind);
        break;
      case "execute":
        this.m?.executed.inc();
        this.m?.lastExecuted.set(a.seq);
        this.options.onExecute?.({
          seq: a.seq,
          view: a.view,
          digest: a.digest,
          request: a.request,
          duplicate: a.duplicate,
        });
        break;
      case "evidence":
        this.m?.evidence.inc({ kind: a.evidence.kind });
        this.log?.warn(
          { kind: a.evidence.kind, replica: a.evidence.replica, view: a.evidence.view, seq: a.evidence.seq },
          "evidence",
        );
        this.options.onEvidence?.(a.evidence);
        break;
      case "view-change":
        this.m?.viewChanges.inc();
        this.m?.view.set(a.view);
        this.log?.info({ view: a.view }, "view change");
        break;
      case "new-view":
        this.m?.view.set(a.view);
        this.log?.info({ view: a.view, primary: a.primary }, "new view");
        break;
      case "state-jump":
        this.log?.warn({ from: a.fromSeq, to: a.toSeq }, "skipped to a stable checkpoint");
        break;
      default:
    }
    this.options.onAction?.(a);
  }

  private post(to: readonly Address[], message: PbftMessage): void {
    const peers: Array<[Address, string]> = [];
    for (const a of to) {
      const u = this.urls.get(a.toLowerCase());
      if (u === undefined) this.log?.warn({ to: a }, "no URL for replica");
      else peers.push([a, u]);
    }
    if (peers.length === 0) return;
    const t = this.options.transport;
    let envelope;
    try {
      // Signed only if some recipient's public key is unknown: the others get a MAC (transport.ts).
      // A large pre-prepare request travels as an attachment, not inside the JSON.
      if (
        message.type === "pre-prepare" &&
        typeof message.request === "string" &&
        message.request.length >= ATTACH_FROM
      ) {
        const { request, ...rest } = message;
        envelope = t.seal(PBFT_KIND, rest, { sign: false, attachment: request });
      } else envelope = t.seal(PBFT_KIND, message, { sign: false });
    } catch (err) {
      this.log?.error({ err }, "cannot seal PBFT message");
      return;
    }
    for (const [a, u] of peers)
      t.post(u, envelope, a).catch((err: Error & { code?: string }) => {
        // Lost messages are PBFT's business (retransmission); note them only.
        this.log?.debug({ to: u, type: message.type, code: err.code }, "send failed");
      });
  }

  /** Stops timers and stops acting; waits for the event in progress to be persisted. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle;
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** Checks that every replica of `order` has a URL in `peers` (typed error naming the first missing one). */
export function checkPeers(order: readonly Address[], peers: ReadonlyMap<string, string>): void {
  for (const a of order)
    if (!peers.has(a.toLowerCase()) && !peers.has(a))
      throw new ValidationError("PBFT_NO_PEER_URL", `no URL for replica ${a}`, { value: a });
}
