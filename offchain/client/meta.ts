/**
 * The meta layer's HTTP client (docs/META.md): a {@link StorageNetwork} for the storage client and the
 * workers' IPFS `add`, a {@link ReceiptSink} for both sides of every transfer, the GC's {@link UploadCommits},
 * and a worker's heartbeats — over a list of meta nodes, whichever of them is master.
 *
 * Writes (place, replace, commit, mkdir/rm/mv, receipts, heartbeats) go to the master: the client remembers
 * the last one that answered, follows a META_NOT_LEADER reply's `leader`, and tries the other nodes when one
 * is unreachable or has no quorum — for up to `retryMs`, which covers an election (< 2 s on loopback). A
 * commit retried after an ambiguous failure may meet its own nonce (META_REPLAYED): the client then checks
 * that the index holds its file and returns that write's position.
 *
 * Reads (locate, ls, stat, committed) go to any node with `minIndex` = the last write this client saw
 * (read-your-writes); a node behind it answers META_STALE_READ and the next one is tried.
 *
 * Receipts are batched (a few ms, at most `maxBatch`) into one `POST /v1/receipts` per side; each is answered
 * with the master's signed ReceiptAck, which is checked (signer = the ack's meta node, one of `metas` when given).
 */
import { Agent, request } from "undici";
import type { Address, Hex, TypedDataDomain } from "viem";
import { HmsError, TransportError, isErrorCode, relayedCode } from "../core/errors";
import { domainOf, recoverTypedSync } from "../core/signing";
import type { FileCommit, FileLocation, NodeEndpoint, Placement, StorageNetwork } from "../protocol/network";
import { receiptToWire, type SignedReceipt } from "../protocol/receipts";
import type { UploadCommits } from "../protocol/storage-wire";
import type { ReceiptSide, ReceiptSink } from "../protocol/transfer";
import {
  META_HEADERS,
  META_PATHS,
  endpointFromWire,
  fileCommitToWire,
  fileLocationFromWire,
  heartbeatToWire,
  placementFromWire,
  receiptAckFromWire,
  sideCode,
  type NodeMeasurement,
  type SignedHeartbeat,
  type SignedReceiptAck,
} from "../protocol/meta-wire";
import { COMPUTE_HEARTBEAT_PATH, type WireComputeHeartbeat } from "../protocol/compute-supervise";

export interface MetaClientOptions {
  /** API base URLs of the meta nodes. */
  urls: readonly string[];
  /** Timeout of one request, ms (default 5 s). */
  timeoutMs?: number;
  /** How long a write keeps looking for a master, ms (default 15 s). */
  retryMs?: number;
  /** Receipt acks are verified in this domain (chain id + NodeRegistry) when given. */
  domain?: { chainId: number; nodeRegistry: Address };
  /** Meta nodes whose acks are accepted (any signer = ack.meta when absent). */
  metas?: readonly Address[];
  /** Receipts wait this long for more to batch with, ms (default 5). */
  batchDelayMs?: number;
  maxBatch?: number;
}

/** What a meta node says about itself (`GET /v1/status`). */
export interface MetaStatus {
  address: Address;
  role: "leader" | "follower" | "candidate";
  term: bigint;
  leader?: string;
  commitIndex: bigint;
  appliedIndex: bigint;
  apiUrl: string;
  raw: Record<string, unknown>;
}

interface Reply {
  url: string;
  status: number;
  body: Record<string, unknown>;
  term?: bigint;
  index?: bigint;
}

const RETRY_CODES = new Set(["META_NOT_LEADER", "META_NO_QUORUM", "META_STALE_READ", "TRANSPORT_UNREACHABLE"]);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Pending {
  receipt: SignedReceipt;
  resolve: (ack: SignedReceiptAck) => void;
  reject: (err: unknown) => void;
}

export class MetaClient implements StorageNetwork, ReceiptSink, UploadCommits {
  private readonly agent: Agent;
  private readonly urls: string[];
  private leader: string | undefined;
  /** Highest log index this client wrote or read (read-your-writes). */
  private seen = 0n;
  private readonly timeoutMs: number;
  private readonly retryMs: number;
  private readonly ackDomain: TypedDataDomain | undefined;
  private readonly metas: Set<string> | undefined;
  private readonly queues: Record<ReceiptSide, Pending[]> = { client: [], node: [] };
  private readonly timers: Partial<Record<ReceiptSide, NodeJS.Timeout>> = {};
  private closed = false;

  constructor(readonly options: MetaClientOptions) {
    if (options.urls.length === 0) throw new HmsError("CONFIG_INVALID", "the meta client needs a URL", { value: [] });
    this.urls = options.urls.map((u) => u.replace(/\/+$/, ""));
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.retryMs = options.retryMs ?? 15_000;
    this.agent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });
    this.ackDomain = options.domain
      ? domainOf("network", options.domain.chainId, options.domain.nodeRegistry)
      : undefined;
    this.metas = options.metas ? new Set(options.metas.map((a) => a.toLowerCase())) : undefined;
  }

  /** The master as last seen (undefined before the first write). */
  get master(): string | undefined {
    return this.leader;
  }

  /** Highest log index seen by this client. */
  get lastIndex(): bigint {
    return this.seen;
  }

  private async once(url: string, method: "GET" | "POST", path: string, body?: unknown): Promise<Reply> {
    let res;
    try {
      res = await request(`${url}${path}`, {
        method,
        dispatcher: this.agent,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw new TransportError("TRANSPORT_UNREACHABLE", 0, `meta node ${url} unreachable: ${(err as Error).message}`, {
        value: url,
        cause: err,
      });
    }
    const text = await res.body.text().catch(() => "");
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new TransportError("TRANSPORT_BAD_REPLY", res.statusCode, `non-JSON reply from ${url}${path}`, {
        value: text.slice(0, 200),
      });
    }
    const header = (name: string) => {
      const v = res.headers[name];
      const s = Array.isArray(v) ? v[0] : v;
      return s !== undefined && /^\d+$/.test(s) ? BigInt(s) : undefined;
    };
    const reply: Reply = {
      url,
      status: res.statusCode,
      body: parsed,
      term: header(META_HEADERS.term),
      index: header(META_HEADERS.index),
    };
    if (res.statusCode >= 300 || parsed.ok !== true) {
      const e = (parsed.error ?? {}) as { code?: unknown; message?: string; value?: unknown; leader?: unknown };
      const code = relayedCode(e.code, "TRANSPORT_HTTP_STATUS");
      throw new TransportError(code, res.statusCode, e.message ?? `HTTP ${res.statusCode} from ${url}${path}`, {
        value: e.value,
        details: { url, ...(typeof e.leader === "string" ? { leader: e.leader } : {}) },
      });
    }
    return reply;
  }

  /** A write at the master, following redirects and failovers for up to `retryMs`. */
  private async write(
    path: string,
    body: unknown,
    onRetry?: (err: unknown) => Promise<Reply | undefined>,
  ): Promise<Reply> {
    const deadline = Date.now() + this.retryMs;
    let last: unknown;
    let hint: string | undefined;
    for (let round = 0; ; round++) {
      const order = [...new Set([hint, this.leader, ...this.urls].filter((u): u is string => u !== undefined))];
      hint = undefined;
      for (const url of order) {
        if (this.closed) throw new HmsError("CONFIG_INVALID", "meta client closed", { value: path });
        try {
          const reply = await this.once(url, "POST", path, body);
          this.leader = url;
          if (reply.index !== undefined && reply.index > this.seen) this.seen = reply.index;
          return reply;
        } catch (err) {
          last = err;
          const code = err instanceof HmsError ? err.code : undefined;
          if (onRetry !== undefined) {
            const settled = await onRetry(err);
            if (settled !== undefined) return settled;
          }
          if (code === undefined || !RETRY_CODES.has(code)) throw err;
          if (this.leader === url) this.leader = undefined;
          const leader = (err as HmsError).details.leader;
          if (code === "META_NOT_LEADER" && typeof leader === "string" && leader !== url) {
            hint = leader.replace(/\/+$/, "");
            break;
          }
        }
      }
      if (Date.now() > deadline)
        throw last instanceof HmsError
          ? last
          : new HmsError("META_NO_QUORUM", `no meta master answered ${path}`, { value: this.urls });
      if (hint === undefined) await sleep(Math.min(50 * 2 ** Math.min(round, 4), 400));
    }
  }

  /** A read at any node that has applied this client's last write. */
  private async read(path: string, query: Record<string, string>, minIndex = this.seen): Promise<Reply> {
    const deadline = Date.now() + this.retryMs;
    const q = new URLSearchParams({ ...query, ...(minIndex > 0n ? { minIndex: minIndex.toString() } : {}) });
    const full = `${path}?${q}`;
    let last: unknown;
    const start = Math.floor(Math.random() * this.urls.length);
    for (let round = 0; ; round++) {
      for (let i = 0; i < this.urls.length; i++) {
        const url = this.urls[(start + i) % this.urls.length];
        try {
          const reply = await this.once(url, "GET", full);
          if (reply.index !== undefined && reply.index > this.seen) this.seen = reply.index;
          return reply;
        } catch (err) {
          last = err;
          const code = err instanceof HmsError ? err.code : undefined;
          if (code === undefined || !RETRY_CODES.has(code)) throw err;
        }
      }
      if (Date.now() > deadline) throw last;
      await sleep(Math.min(50 * 2 ** Math.min(round, 4), 400));
    }
  }

  // ── StorageNetwork ─────────────────────────────────────────────────────────────────────────────────

  async place(req: {
    owner: Address;
    size: bigint;
    sliceSize: number;
    slices: number;
    copies: number;
    path?: string;
  }): Promise<Placement> {
    const reply = await this.write(META_PATHS.place, {
      owner: req.owner.toLowerCase(),
      size: req.size.toString(),
      sliceSize: req.sliceSize,
      slices: req.slices,
      copies: req.copies,
      ...(req.path === undefined ? {} : { path: req.path }),
    });
    return placementFromWire(reply.body.placement);
  }

  async renew(req: { uploadId: Hex }): Promise<bigint> {
    const reply = await this.write(META_PATHS.renew, { uploadId: req.uploadId.toLowerCase() });
    return BigInt(reply.body.term as string);
  }

  async replace(req: { uploadId: Hex; slice: number; exclude: Hex[] }): Promise<NodeEndpoint> {
    const reply = await this.write(META_PATHS.replace, {
      uploadId: req.uploadId.toLowerCase(),
      slice: req.slice,
      exclude: req.exclude.map((x) => x.toLowerCase()),
    });
    return endpointFromWire(reply.body.node);
  }

  async commit(
    file: FileCommit,
    write: { nonce: bigint; deadline: bigint; signature: Hex },
  ): Promise<{ term: bigint; index: bigint }> {
    let ambiguous = false;
    const reply = await this.write(
      META_PATHS.commit,
      {
        file: fileCommitToWire(file),
        write: { nonce: write.nonce.toString(), deadline: write.deadline.toString(), signature: write.signature },
      },
      async (err) => {
        const code = err instanceof HmsError ? err.code : undefined;
        if (code === "TRANSPORT_UNREACHABLE" || code === "META_NO_QUORUM") ambiguous = true;
        if (code !== "META_REPLAYED" || !ambiguous) return undefined;
        // Our own earlier attempt was logged: the index must hold this very file.
        const found = await this.locate({ owner: file.owner, path: file.path }).catch(() => undefined);
        if (found === undefined || found.rootCid !== file.rootCid || found.size !== file.size) return undefined;
        return { url: "", status: 200, body: { ok: true, term: found.term.toString(), index: found.index.toString() } };
      },
    );
    return positionOf(reply.body);
  }

  /** mkdir / rm / mv in the owner's namespace (signed `IndexWrite`, protocol/index-write.ts). */
  async indexWrite(
    op:
      | { op: "mkdir"; owner: Address; path: string }
      | { op: "rm"; owner: Address; path: string; recursive?: boolean }
      | { op: "mv"; owner: Address; path: string; target: string },
    write: { nonce: bigint; deadline: bigint; signature: Hex },
  ): Promise<{ term: bigint; index: bigint }> {
    const reply = await this.write(META_PATHS.write, {
      ...op,
      owner: op.owner.toLowerCase(),
      write: { nonce: write.nonce.toString(), deadline: write.deadline.toString(), signature: write.signature },
    });
    return positionOf(reply.body);
  }

  async locate(query: { cid: string } | { owner: Address; path: string }): Promise<FileLocation> {
    const q: Record<string, string> = "cid" in query ? { cid: query.cid } : { owner: query.owner, path: query.path };
    const reply = await this.read(META_PATHS.locate, q);
    return fileLocationFromWire(reply.body.file);
  }

  /** `ls` of a directory: its entries as the index lists them. */
  async ls(owner: Address, path: string): Promise<unknown[]> {
    const reply = await this.read(META_PATHS.ls, { owner, path });
    return reply.body.entries as unknown[];
  }

  async stat(owner: Address, path: string): Promise<Record<string, unknown>> {
    const reply = await this.read(META_PATHS.stat, { owner, path });
    return reply.body.stat as Record<string, unknown>;
  }

  async reportBad(report: {
    cid: string;
    nodeId: Hex;
    reason: "mismatch" | "timeout" | "missing" | "error";
  }): Promise<void> {
    await this.write(META_PATHS.bad, { cid: report.cid, nodeId: report.nodeId.toLowerCase(), reason: report.reason });
  }

  // ── UploadCommits ──────────────────────────────────────────────────────────────────────────────────

  async committed(uploadIds: readonly Hex[]): Promise<Set<Hex>> {
    if (uploadIds.length === 0) return new Set();
    const reply = await this.write(META_PATHS.committed, { uploadIds: uploadIds.map((u) => u.toLowerCase()) });
    return new Set((reply.body.committed as string[]).map((u) => u.toLowerCase() as Hex));
  }

  // ── receipts ───────────────────────────────────────────────────────────────────────────────────────

  /** ReceiptSink: resolves once the master acknowledged the receipt (persisted by a majority). */
  async submit(receipt: SignedReceipt, side: ReceiptSide): Promise<void> {
    await this.submitOne(receipt, side);
  }

  /** Submits one receipt (batched with others of the same side) and returns its verified ack. */
  submitOne(receipt: SignedReceipt, side: ReceiptSide): Promise<SignedReceiptAck> {
    return new Promise((resolve, reject) => {
      const queue = this.queues[side];
      queue.push({ receipt, resolve, reject });
      if (queue.length >= (this.options.maxBatch ?? 1000)) this.flush(side);
      else this.timers[side] ??= setTimeout(() => this.flush(side), this.options.batchDelayMs ?? 5);
    });
  }

  /** Submits a batch of one side's receipts; returns their verified acks in order. */
  async submitBatch(side: ReceiptSide, receipts: readonly SignedReceipt[]): Promise<SignedReceiptAck[]> {
    const results = await this.submitResults(side, receipts);
    return results.map((r) => {
      if (r instanceof HmsError) throw r;
      return r;
    });
  }

  /** Like {@link submitBatch}, but each receipt's refusal is returned in its place (a bad one sinks no other). */
  async submitResults(side: ReceiptSide, receipts: readonly SignedReceipt[]): Promise<(SignedReceiptAck | HmsError)[]> {
    const reply = await this.write(META_PATHS.receipts, { side, receipts: receipts.map(receiptToWire) });
    const results = reply.body.results as Array<{
      ack?: unknown;
      error?: { code?: unknown; message?: string; value?: unknown };
    }>;
    if (!Array.isArray(results) || results.length !== receipts.length)
      throw new HmsError("META_BAD_REQUEST", `${results?.length} answers for ${receipts.length} receipts`, {
        value: results?.length,
      });
    return results.map((r, i) => {
      if (r.ack === undefined)
        return new HmsError(relayedCode(r.error?.code, "META_BAD_RECEIPT"), r.error?.message ?? "receipt refused", {
          value: r.error?.value,
        });
      const ack = receiptAckFromWire(r.ack);
      this.checkAck(ack, receipts[i], side);
      return ack;
    });
  }

  private checkAck(ack: SignedReceiptAck, receipt: SignedReceipt, side: ReceiptSide): void {
    if (ack.taskId.toLowerCase() !== receipt.receipt.taskId.toLowerCase() || ack.side !== sideCode(side))
      throw new HmsError("META_BAD_REQUEST", "a receipt ack names another task or side", { value: ack.taskId });
    if (this.metas !== undefined && !this.metas.has(ack.meta.toLowerCase()))
      throw new HmsError("META_UNKNOWN_PEER", `receipt ack by ${ack.meta}, not a known meta node`, { value: ack.meta });
    if (this.ackDomain === undefined) return;
    const { signature, ...message } = ack;
    let signer: string;
    try {
      signer = recoverTypedSync(this.ackDomain, "ReceiptAck", message, signature);
    } catch {
      signer = "";
    }
    if (signer.toLowerCase() !== ack.meta.toLowerCase())
      throw new HmsError("META_UNKNOWN_PEER", "a receipt ack is not signed by the meta node it names", {
        value: ack.meta,
      });
  }

  private flush(side: ReceiptSide): void {
    clearTimeout(this.timers[side]);
    delete this.timers[side];
    const batch = this.queues[side].splice(0, this.options.maxBatch ?? 1000);
    if (batch.length === 0) return;
    this.submitResults(
      side,
      batch.map((p) => p.receipt),
    ).then(
      (results) =>
        batch.forEach((p, i) => {
          const r = results[i];
          if (r instanceof HmsError) p.reject(r);
          else p.resolve(r);
        }),
      (err) => batch.forEach((p) => p.reject(err)),
    );
    if (this.queues[side].length > 0) this.timers[side] = setTimeout(() => this.flush(side), 0);
  }

  // ── health and operations ──────────────────────────────────────────────────────────────────────────

  /**
   * Sends a worker's signed heartbeat to every meta node at once, as HDFS HA datanodes report to the active and
   * the standby NameNodes alike: each node keeps its own view of who is up, so a newly elected master places and
   * repairs at once instead of counting every worker down until their next heartbeats find it. Resolves when at
   * least one node took it; otherwise throws the first node's error.
   */
  async heartbeat(beat: SignedHeartbeat): Promise<void> {
    const body = heartbeatToWire(beat);
    const results = await Promise.allSettled(
      this.urls.map((url) => this.once(url, "POST", META_PATHS.heartbeat, body)),
    );
    if (results.some((r) => r.status === "fulfilled")) return;
    throw (results[0] as PromiseRejectedResult).reason;
  }

  /**
   * A compute worker's signed heartbeat (protocol/compute-supervise.ts), to every meta node at once like
   * {@link heartbeat}: each keeps the workloads it heard of, so a new master can supervise them at once.
   */
  async computeHeartbeat(beat: WireComputeHeartbeat): Promise<void> {
    const results = await Promise.allSettled(
      this.urls.map((url) =>
        this.once(url, "POST", COMPUTE_HEARTBEAT_PATH, beat as unknown as Record<string, unknown>),
      ),
    );
    if (results.some((r) => r.status === "fulfilled")) return;
    throw (results[0] as PromiseRejectedResult).reason;
  }

  /** One node's status (role, term, leader, positions). */
  async status(url: string): Promise<MetaStatus> {
    const reply = await this.once(url.replace(/\/+$/, ""), "GET", META_PATHS.status);
    const b = reply.body;
    return {
      address: b.address as Address,
      role: b.role as MetaStatus["role"],
      term: BigInt(b.term as string),
      leader: typeof b.leader === "string" ? b.leader : undefined,
      commitIndex: BigInt(b.commitIndex as string),
      appliedIndex: BigInt(b.appliedIndex as string),
      apiUrl: b.apiUrl as string,
      raw: b,
    };
  }

  /**
   * Read-your-writes across clients (a CLI run after another): raises this client's read floor to the master's
   * commit index, so that a later read on any node sees every write acknowledged before this call. Asks any
   * reachable node (retrying for up to `retryMs`), then the master it names; returns the floor.
   */
  async catchUp(): Promise<bigint> {
    const reply = await this.read(META_PATHS.status, {}, 0n);
    let commit = typeof reply.body.commitIndex === "string" ? BigInt(reply.body.commitIndex) : 0n;
    const leader = typeof reply.body.leader === "string" ? reply.body.leader.replace(/\/+$/, "") : undefined;
    if (reply.body.role !== "leader" && leader !== undefined && leader !== reply.url) {
      const master = await this.once(leader, "GET", META_PATHS.status).catch(() => undefined);
      if (master !== undefined && typeof master.body.commitIndex === "string") {
        const c = BigInt(master.body.commitIndex);
        if (c > commit) commit = c;
      }
    }
    if (commit > this.seen) this.seen = commit;
    return this.seen;
  }

  /**
   * The chain, contracts and period clock this network's signatures bind to (what an upload grant, an index write
   * and a traffic receipt are signed for), as any meta node reports it in `GET /v1/status`.
   */
  async networkParams(): Promise<{
    chainId: number;
    nodeRegistry: Address;
    miningPool: Address;
    clock: { genesis: bigint; periodLength: bigint };
  }> {
    const reply = await this.read(META_PATHS.status, {}, 0n);
    const n = reply.body.network as
      | {
          chainId?: unknown;
          nodeRegistry?: unknown;
          miningPool?: unknown;
          period?: { genesis?: unknown; length?: unknown };
        }
      | undefined;
    const address = (v: unknown) => typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v);
    const decimal = (v: unknown) => typeof v === "string" && /^\d{1,20}$/.test(v);
    if (
      n === undefined ||
      typeof n.chainId !== "number" ||
      !address(n.nodeRegistry) ||
      !address(n.miningPool) ||
      !decimal(n.period?.genesis) ||
      !decimal(n.period?.length)
    )
      throw new TransportError("TRANSPORT_BAD_REPLY", reply.status, `${reply.url} reports no network parameters`, {
        value: n,
      });
    return {
      chainId: n.chainId,
      nodeRegistry: n.nodeRegistry as Address,
      miningPool: n.miningPool as Address,
      clock: { genesis: BigInt(n.period!.genesis as string), periodLength: BigInt(n.period!.length as string) },
    };
  }

  /** Per-node uptime, audits and missed duty, from the master. */
  async measurements(): Promise<NodeMeasurement[]> {
    const reply = await this.write(META_PATHS.measurements, {});
    return reply.body.nodes as NodeMeasurement[];
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const side of ["client", "node"] as const) clearTimeout(this.timers[side]);
    await this.agent.close();
  }
}

function positionOf(body: Record<string, unknown>): { term: bigint; index: bigint } {
  if (typeof body.term !== "string" || typeof body.index !== "string")
    throw new HmsError("META_BAD_REQUEST", "reply has no log position", { value: body });
  return { term: BigInt(body.term), index: BigInt(body.index) };
}

/** True if `code` is one the client retries on another node. */
export function isMetaRetryable(code: unknown): boolean {
  return isErrorCode(code) && RETRY_CODES.has(code);
}
