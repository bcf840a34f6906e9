/**
 * Reads: `GET /v1/slices/<cid>` (and `Range: bytes=a-b`) answers a stored block's verified bytes — 200, or 206
 * with Content-Range; 404 `STORAGE_NOT_FOUND` for a block not stored here; 500 `STORAGE_CORRUPT` (once: it is
 * quarantined) for one that fails verification; 416 `STORAGE_RANGE` for a range outside it.
 *
 * With `x-hms-client`, `x-hms-task` and `x-hms-period` the read is a transfer task: once the whole body has
 * been handed to the socket the worker signs its side of the `TrafficReceipt` (protocol/transfer.ts) and keeps
 * it in its outbox. A response cut short is not receipted.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Address, Hex } from "viem";
import type { Logger } from "pino";
import { HmsError } from "../core/errors";
import type { Metrics } from "../core/metrics";
import { parseStorableCid } from "../protocol/slicing";
import { STORAGE_HEADERS, uintFromHeader } from "../protocol/storage-wire";
import { acceptsPeriod, downloadReceipt, type PeriodClock } from "../protocol/transfer";
import type { SliceStore } from "./blockstore";
import type { NodeSigner } from "./signer";
import type { ReceiptOutbox } from "./state";

export interface ServeDeps {
  store: SliceStore;
  signer: NodeSigner;
  receipts: ReceiptOutbox;
  clock: PeriodClock;
  now: () => number;
  metrics: Metrics;
  logger: Logger;
}

/** A single `bytes=` range of a body of `size` bytes; undefined for no Range header. Throws `STORAGE_RANGE`. */
export function parseRange(text: string | undefined, size: number): { start: number; end: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(text.trim());
  if (m === null || (m[1] === "" && m[2] === ""))
    throw new HmsError("STORAGE_RANGE", "only a single bytes=a-b range is supported", { value: text });
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start)
    throw new HmsError("STORAGE_RANGE", `range ${text} is outside the ${size} bytes`, { value: text });
  return { start, end };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class SliceServer {
  private readonly bytesOut;
  private readonly reads;

  constructor(private readonly deps: ServeDeps) {
    this.bytesOut = deps.metrics.counter("storage_read_bytes_total", "Slice bytes served");
    this.reads = deps.metrics.counter("storage_reads_total", "Slice reads, by outcome", ["outcome"]);
  }

  async handle(req: FastifyRequest, reply: FastifyReply, cidText: string): Promise<FastifyReply> {
    const d = this.deps;
    const cid = parseStorableCid(cidText);
    const task = this.task(req);
    let bytes: Uint8Array;
    try {
      bytes = await d.store.get(cid);
    } catch (err) {
      this.reads.inc({ outcome: err instanceof HmsError ? err.code : "error" });
      throw err;
    }
    const range = parseRange(header(req, "range"), bytes.length);
    const body = range ? bytes.subarray(range.start, range.end + 1) : bytes;
    reply
      .header("content-type", "application/octet-stream")
      .header("etag", `"${cid.cid.toString()}"`)
      .header("cache-control", "public, max-age=29030400, immutable")
      .header("accept-ranges", "bytes")
      .header("x-hms-node", d.signer.nodeId);
    if (range) reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${bytes.length}`);
    reply.raw.once("finish", () => {
      this.bytesOut.inc(body.length);
      this.reads.inc({ outcome: "ok" });
      if (task)
        void this.receipt(task, cid.digest, body.length).catch((err) =>
          d.logger.error({ err, cid: cidText }, "cannot record a read receipt"),
        );
    });
    return reply.send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }

  /** The receipt fields of a read, or undefined for an anonymous one. Throws for malformed ones. */
  private task(req: FastifyRequest): { client: Address; nonce: Hex; period: bigint } | undefined {
    const client = header(req, STORAGE_HEADERS.client);
    const nonce = header(req, STORAGE_HEADERS.task);
    if (client === undefined && nonce === undefined) return undefined;
    if (client === undefined || !/^0x[0-9a-fA-F]{40}$/.test(client))
      throw new HmsError("STORAGE_BAD_REQUEST", `${STORAGE_HEADERS.client} must be an address`, { value: client });
    if (nonce === undefined || !/^0x[0-9a-fA-F]{64}$/.test(nonce))
      throw new HmsError("STORAGE_BAD_REQUEST", `${STORAGE_HEADERS.task} must be 32 bytes of hex`, { value: nonce });
    const period = uintFromHeader(header(req, STORAGE_HEADERS.period), STORAGE_HEADERS.period);
    if (!acceptsPeriod(this.deps.clock, BigInt(Math.floor(this.deps.now() / 1000)), period))
      throw new HmsError("STORAGE_BAD_PERIOD", `period ${period} is not near this worker's clock`, { value: period });
    return { client: client as Address, nonce: nonce as Hex, period };
  }

  private async receipt(task: { client: Address; nonce: Hex; period: bigint }, digest: Hex, bytes: number) {
    const d = this.deps;
    const receipt = downloadReceipt({
      client: task.client,
      nodeId: d.signer.nodeId,
      sliceDigest: digest,
      nonce: task.nonce,
      bytes,
      period: task.period,
    });
    await d.receipts.submit(d.signer.receipt(receipt));
  }
}
