/**
 * `download(network, cid, params)`: a verified read of a stored file, or of a byte range of it (PROTOCOL §8,
 * issue 12 item 3). `network.locate()` gives the slices and their replicas; only the slices the range needs
 * are fetched, up to `concurrency` at once, and delivered in order as a `ReadableStream` (also an async
 * iterable) — never the whole file in memory: about `concurrency × sliceSize` bytes are held.
 *
 * Per slice: the replicas are tried nearest first, at random among about-equally near ones (replicas.ts). A
 * copy whose bytes do not hash to the slice CID, a timeout, a missing or corrupt copy: the copy is reported
 * (`network.reportBad`, reason mismatch | timeout | missing | error) and the next replica is tried. With a
 * `client` signer every read is a transfer task: the client sends its address and a fresh nonce, and signs
 * its side of the `TrafficReceipt` once the slice has arrived and verified.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Hex, TypedDataDomain } from "viem";
import { HmsError, TransportError } from "../../core/errors";
import { domainOf } from "../../core/signing";
import type { FileLocation, NodeEndpoint, SliceLocation, StorageNetwork } from "../../protocol/network";
import { parseSliceCid, sliceRange } from "../../protocol/slicing";
import { downloadReceipt, periodAt, type ReceiptSink } from "../../protocol/transfer";
import { LatencyEstimator } from "./replicas";
import type { ClientSigner } from "./signer";
import type { NetworkParams } from "./upload";
import { WorkerClient } from "./worker-client";

export interface DownloadParameters {
  /** The reading client: signs its side of each read's receipt. Anonymous reads (no receipts) without it. */
  client?: ClientSigner;
  /** Needed with `client` (receipt domain and period clock). */
  network?: NetworkParams;
  receipts?: ReceiptSink;
  /** First byte (default 0). */
  offset?: bigint;
  /** Bytes to read (default: to the end). */
  length?: bigint;
  /** Slices fetched at once (default 4). */
  concurrency?: number;
  /** Timeout of one slice from one replica, ms (default 15 s). */
  timeoutMs?: number;
  /** Shared estimator (a long-lived client learns its nearest nodes across downloads). */
  latency?: LatencyEstimator;
  signal?: AbortSignal;
  worker?: WorkerClient;
  now?: () => number;
  /** Called for every copy reported bad (after `network.reportBad`). */
  onBadCopy?: (report: { cid: string; nodeId: Hex; reason: BadReason }) => void;
}

export type BadReason = "mismatch" | "timeout" | "missing" | "error";

export interface DownloadReturnType extends AsyncIterable<Uint8Array> {
  /** The file as the index knows it. */
  file: FileLocation;
  offset: bigint;
  length: bigint;
  /** The bytes, in order (consume it once: it and the async iterator are the same stream). */
  stream: ReadableStream<Uint8Array>;
}

/** Codes `download` throws (all `HmsError`s). */
export type DownloadErrorType = "STORAGE_RANGE" | "STORAGE_UNAVAILABLE" | "STORAGE_ABORTED" | "STORAGE_BAD_CID";

function reasonOf(err: unknown): BadReason {
  if (err instanceof HmsError) {
    if (err.code === "STORAGE_NOT_FOUND") return "missing";
    if (err.code === "STORAGE_CORRUPT" || err.code === "STORAGE_DIGEST_MISMATCH") return "mismatch";
    const cause = (err.cause as { code?: string; name?: string } | undefined) ?? {};
    if (/Timeout/i.test(cause.name ?? "") || /TIMEOUT/.test(cause.code ?? "")) return "timeout";
  }
  return "error";
}

class SliceFetcher {
  private readonly domain: TypedDataDomain | undefined;

  constructor(
    private readonly network: StorageNetwork,
    private readonly params: DownloadParameters,
    private readonly worker: WorkerClient,
    private readonly latency: LatencyEstimator,
  ) {
    if (params.client && !params.network)
      throw new HmsError("STORAGE_BAD_REQUEST", "a signing client needs params.network", { value: "network" });
    this.domain =
      params.client && params.network
        ? domainOf("traffic", params.network.chainId, params.network.miningPool)
        : undefined;
  }

  private now(): number {
    return this.params.now?.() ?? Date.now();
  }

  private async report(slice: SliceLocation, node: NodeEndpoint, reason: BadReason): Promise<void> {
    const report = { cid: slice.cid, nodeId: node.nodeId, reason };
    await this.network.reportBad(report).catch(() => undefined);
    this.params.onBadCopy?.(report);
  }

  /** The verified bytes of `slice` (as received, in chunks), from the first replica that serves a valid copy. */
  async fetch(slice: SliceLocation): Promise<Buffer[]> {
    const cid = parseSliceCid(slice.cid);
    const failures: string[] = [];
    for (const node of this.latency.order(slice.replicas)) {
      if (this.params.signal?.aborted)
        throw new HmsError("STORAGE_ABORTED", "download aborted", { value: String(this.params.signal.reason) });
      const client = this.params.client;
      const nonce = `0x${randomBytes(32).toString("hex")}` as Hex;
      const period =
        client && this.params.network ? periodAt(this.params.network.clock, BigInt(Math.floor(this.now() / 1000))) : 0n;
      const started = performance.now();
      let parts: Buffer[];
      try {
        parts = await this.worker.getSliceParts(node.url, slice.cid, {
          receipt: client ? { client: client.address, nonce, period } : undefined,
          maxBytes: slice.size,
          signal: this.params.signal,
          timeoutMs: this.params.timeoutMs,
        });
      } catch (err) {
        if (err instanceof TransportError && err.code === "STORAGE_ABORTED") throw err;
        if (this.params.signal?.aborted)
          throw new HmsError("STORAGE_ABORTED", "download aborted", { value: slice.cid });
        this.latency.penalize(node.nodeId);
        failures.push(`${node.url}: ${(err as Error).message}`);
        await this.report(slice, node, reasonOf(err));
        continue;
      }
      const hash = createHash("sha256");
      let length = 0;
      for (const p of parts) {
        hash.update(p);
        length += p.length;
      }
      if (length !== slice.size || !hash.digest().equals(cid.cid.multihash.digest)) {
        this.latency.penalize(node.nodeId);
        failures.push(`${node.url}: bytes do not match ${slice.cid}`);
        await this.report(slice, node, "mismatch");
        continue;
      }
      this.latency.observe(node.nodeId, performance.now() - started, length);
      if (client && this.domain) {
        const receipt = downloadReceipt({
          client: client.address,
          nodeId: node.nodeId,
          sliceDigest: cid.digest,
          nonce,
          bytes: length,
          period,
        });
        const signature = await client.signTyped(this.domain, "TrafficReceipt", receipt);
        await this.params.receipts?.submit({ receipt, signature }, "client");
      }
      return parts;
    }
    throw new HmsError("STORAGE_UNAVAILABLE", `no replica served a valid copy of slice ${slice.cid}`, {
      value: slice.cid,
      details: { failures },
    });
  }
}

/**
 * Locates `cid` (a file's root CID) and returns its bytes (or the range `offset`/`length`) as a stream. Throws
 * {@link DownloadErrorType} codes — `STORAGE_RANGE` at once, the others from the stream while it is read.
 */
export async function download(
  network: StorageNetwork,
  cid: string,
  params: DownloadParameters = {},
): Promise<DownloadReturnType> {
  const file = await network.locate({ cid });
  const range = sliceRange(file.size, file.sliceSize, params.offset ?? 0n, params.length);
  const ownWorker = params.worker === undefined;
  const worker = params.worker ?? new WorkerClient({ timeoutMs: params.timeoutMs });
  const fetcher = new SliceFetcher(network, params, worker, params.latency ?? new LatencyEstimator());
  const concurrency = Math.max(1, params.concurrency ?? 4);
  const slices = file.slices;

  async function* bytes(): AsyncGenerator<Uint8Array> {
    const window: Array<Promise<Buffer[]>> = [];
    let next = range.first;
    const fill = () => {
      while (window.length < concurrency && next <= range.last) {
        const p = fetcher.fetch(slices[next++]);
        p.catch(() => undefined); // rejections surface when awaited in order
        window.push(p);
      }
    };
    try {
      let skip = range.skip;
      let left = range.length;
      fill();
      while (window.length > 0) {
        const parts = await window.shift()!;
        fill();
        for (const part of parts) {
          if (left === 0n) break;
          if (skip >= part.length) {
            skip -= part.length;
            continue;
          }
          const avail = BigInt(part.length - skip);
          const take = Number(avail < left ? avail : left);
          left -= BigInt(take);
          yield part.subarray(skip, skip + take);
          skip = 0;
        }
      }
    } finally {
      if (ownWorker) await worker.close().catch(() => undefined);
    }
  }

  const iterator = bytes();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel() {
      await iterator.return(undefined);
    },
  });
  return {
    file,
    offset: params.offset ?? 0n,
    length: range.length,
    stream,
    // (through a cast: the DOM lib the SDK package builds with types ReadableStream without it)
    [Symbol.asyncIterator]: () => (stream as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator](),
  };
}
