/**
 * HTTP client of a storage worker's data API (docs/STORAGE.md): `PUT /v1/slices/<cid>` (a pipelined write),
 * `GET /v1/slices/<cid>` (a read), `POST /v1/replicate`, `GET /health`. Used by the storage client SDK and by
 * workers themselves (the pipeline's next hop, repair fetches).
 *
 * Failures are {@link TransportError}s carrying the worker's registered code and HTTP status (`status` 0 when
 * the worker could not be reached or timed out: code `STORAGE_UNAVAILABLE`); {@link isRetryable} says whether
 * another node may succeed where this one failed.
 */
import { Readable } from "node:stream";
import { Agent, request, type Dispatcher } from "undici";
import type { Address, Hex } from "viem";
import { TransportError, relayedCode, type ErrorCode } from "../../core/errors";
import type { NodeEndpoint } from "../../protocol/network";
import {
  REPLICATE_PATH,
  SLICES_PATH,
  STORAGE_HEADERS,
  chainToHeader,
  grantToHeader,
  leasesToHeader,
  parseWire,
  replicateReplySchema,
  uploadReplySchema,
  type ReplicateRequest,
  type SignedUploadGrant,
  type UploadReply,
} from "../../protocol/storage-wire";

/** What a slice write carries besides its bytes. */
export interface PutSliceOptions {
  grant: SignedUploadGrant;
  /** The nodes after this one, in pipeline order. */
  chain: readonly NodeEndpoint[];
  term: bigint;
  period: bigint;
  leases?: ReadonlyMap<Hex, bigint>;
  signal?: AbortSignal;
  /** Reply deadline after the body is sent (covers the downstream hops), ms. */
  timeoutMs?: number;
}

/** Receipt fields of a read (omit for an anonymous read: then no receipt is signed). */
export interface ReadReceiptFields {
  client: Address;
  nonce: Hex;
  period: bigint;
}

export interface GetSliceOptions {
  receipt?: ReadReceiptFields;
  maxBytes?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface WorkerClientOptions {
  /** Connections per worker (default 16). */
  connections?: number;
  /** Default timeout of reply headers and of a pause in a body, ms (default 15 s). */
  timeoutMs?: number;
}

/** True if another node may succeed: unreachable/timeout, any 5xx, a full disk (507), or a stale replica. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof TransportError)) return false;
  return err.status === 0 || err.status >= 500;
}

function unreachable(url: string, err: unknown, signal?: AbortSignal): TransportError {
  const e = (err ?? {}) as { code?: string; message?: string; name?: string };
  // An aborted request rejects with the signal's reason, which is any value the caller gave (not always an AbortError).
  if (signal?.aborted || e.name === "AbortError" || e.code === "ABORT_ERR")
    return new TransportError("STORAGE_ABORTED", 0, `request to ${url} aborted`, { value: url, cause: err });
  return new TransportError("STORAGE_UNAVAILABLE", 0, `worker ${url} unreachable: ${e.code ?? ""} ${e.message}`, {
    value: url,
    cause: err,
  });
}

async function errorOf(url: string, res: Dispatcher.ResponseData): Promise<TransportError> {
  const text = await res.body.text().catch(() => "");
  let parsed: { error?: { code?: unknown; message?: string; value?: unknown } } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the status
  }
  const code: ErrorCode = relayedCode(parsed.error?.code, "TRANSPORT_HTTP_STATUS");
  return new TransportError(code, res.statusCode, parsed.error?.message ?? `HTTP ${res.statusCode} from ${url}`, {
    value: parsed.error?.value ?? url,
    details: { status: res.statusCode, url },
  });
}

async function jsonOf(url: string, res: Dispatcher.ResponseData): Promise<unknown> {
  const text = await res.body.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new TransportError("STORAGE_BAD_REPLY", res.statusCode, `non-JSON reply from ${url}`, {
      value: text.slice(0, 200),
    });
  }
}

export class WorkerClient {
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  constructor(options: WorkerClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.agent = new Agent({
      connections: options.connections ?? 16,
      keepAliveTimeout: 30_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  /**
   * Writes one block to `node`, which stores it and forwards it down `options.chain`. `body` is streamed (a
   * Readable or async iterable is sent as it is produced — the pipeline's cut-through) and must yield exactly
   * `size` bytes. Resolves to the reply (acks of every hop that stored it, and the first downstream failure).
   */
  async putSlice(
    node: string,
    cid: string,
    body: Uint8Array | Readable | AsyncIterable<Uint8Array>,
    size: number,
    options: PutSliceOptions,
  ): Promise<UploadReply> {
    const url = `${node}${SLICES_PATH}/${cid}`;
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "content-length": String(size),
      [STORAGE_HEADERS.grant]: grantToHeader(options.grant),
      [STORAGE_HEADERS.term]: options.term.toString(),
      [STORAGE_HEADERS.period]: options.period.toString(),
    };
    if (options.chain.length > 0) headers[STORAGE_HEADERS.chain] = chainToHeader(options.chain);
    if (options.leases && options.leases.size > 0) headers[STORAGE_HEADERS.leases] = leasesToHeader(options.leases);
    const timeout = options.timeoutMs ?? this.timeoutMs * (options.chain.length + 1);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: "PUT",
        headers,
        body:
          body instanceof Uint8Array || body instanceof Readable ? body : Readable.from(body, { objectMode: false }),
        dispatcher: this.agent,
        signal: options.signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      throw unreachable(node, err, options.signal);
    }
    if (res.statusCode !== 201) throw await errorOf(url, res);
    let raw: unknown;
    try {
      raw = await jsonOf(url, res);
    } catch (err) {
      if (err instanceof TransportError) throw err;
      throw unreachable(node, err, options.signal);
    }
    try {
      return parseWire(uploadReplySchema, raw, "upload reply");
    } catch (err) {
      throw new TransportError("STORAGE_BAD_REPLY", res.statusCode, (err as Error).message, { value: url });
    }
  }

  /** Reads a whole block (at most `maxBytes`); with `receipt`, the worker signs its side of the task. */
  async getSlice(node: string, cid: string, options: GetSliceOptions = {}): Promise<Uint8Array> {
    const parts = await this.getSliceParts(node, cid, options);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** {@link getSlice} as the chunks the socket delivered (no copy into one buffer). */
  async getSliceParts(node: string, cid: string, options: GetSliceOptions = {}): Promise<Buffer[]> {
    const url = `${node}${SLICES_PATH}/${cid}`;
    const headers: Record<string, string> = {};
    if (options.receipt) {
      headers[STORAGE_HEADERS.client] = options.receipt.client;
      headers[STORAGE_HEADERS.task] = options.receipt.nonce;
      headers[STORAGE_HEADERS.period] = options.receipt.period.toString();
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: "GET",
        headers,
        dispatcher: this.agent,
        signal: options.signal,
        headersTimeout: options.timeoutMs ?? this.timeoutMs,
        bodyTimeout: options.timeoutMs ?? this.timeoutMs,
      });
    } catch (err) {
      throw unreachable(node, err, options.signal);
    }
    if (res.statusCode !== 200) throw await errorOf(url, res);
    const max = options.maxBytes ?? 64 * 1024 * 1024;
    const declared = Number(res.headers["content-length"] ?? "-1");
    if (declared > max) {
      res.body.destroy();
      throw new TransportError("STORAGE_TOO_LARGE", 413, `block ${cid} from ${node} is ${declared} bytes`, {
        value: cid,
      });
    }
    const parts: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res.body) {
        total += (chunk as Buffer).length;
        if (total > max) {
          res.body.destroy();
          throw new TransportError("STORAGE_TOO_LARGE", 413, `block ${cid} from ${node} exceeds ${max} bytes`, {
            value: cid,
          });
        }
        parts.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof TransportError) throw err;
      throw unreachable(node, err, options.signal);
    }
    return parts;
  }

  /** Asks `node` to fetch a copy of `req.cid` from one of `req.from` (a repair order of the meta master). */
  async replicate(node: string, req: ReplicateRequest, signal?: AbortSignal): Promise<{ size: number; from: string }> {
    const url = `${node}${REPLICATE_PATH}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          cid: req.cid,
          from: req.from,
          term: req.term.toString(),
          ...(req.owner ? { owner: req.owner } : {}),
          ...(req.uploadId ? { uploadId: req.uploadId } : {}),
        }),
        dispatcher: this.agent,
        signal,
      });
    } catch (err) {
      throw unreachable(node, err, signal);
    }
    if (res.statusCode !== 200) throw await errorOf(url, res);
    const reply = parseWire(replicateReplySchema, await jsonOf(url, res), "replicate reply");
    return { size: reply.size, from: reply.from };
  }

  /** `GET /health` of a worker. */
  async health(node: string): Promise<Record<string, unknown>> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${node}/health`, { method: "GET", dispatcher: this.agent });
    } catch (err) {
      throw unreachable(node, err);
    }
    if (res.statusCode !== 200) throw await errorOf(`${node}/health`, res);
    return (await jsonOf(node, res)) as Record<string, unknown>;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
