/**
 * The upload pipeline, worker side (PROTOCOL §8; docs/STORAGE.md has the sequence diagram): `PUT
 * /v1/slices/<cid>` with the rest of the chain in `x-hms-chain`.
 *
 * Cut-through: the request to the next node starts before the first byte is read and every chunk is hashed,
 * written to a temp file and passed on as it arrives — except the last chunk, which is held back until this
 * node has verified the whole slice against its CID. So a slice whose bytes do not match (or that is
 * truncated) is rejected at the first hop that sees it: it aborts its downstream request, every later hop
 * receives a short body and discards its temp file, and nothing is committed anywhere. Each hop also verifies
 * on its own, so a faulty upstream node cannot make a downstream one store bad bytes either.
 *
 * Before reading the body, in this order: a CID it can store (400), a Content-Length (411) not above
 * `maxBlockBytes` (413), a valid upload grant from the owner (403) within its byte budget (403), the lease gate
 * (403), a term not older than the fence (409), a period near the worker's clock (400), room on disk (507).
 *
 * Reply 201: this node's signed StorageAck and node-side receipt, then those of every later hop that stored the
 * slice (node 1 answers with acks 1, 2, 3). When a downstream hop fails (unreachable, timeout, error reply),
 * this node still commits its own copy and names the failed hop in `failure`; the client asks the meta layer
 * for a replacement and completes the missing copies.
 */
import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import type { Hex } from "viem";
import type { Logger } from "pino";
import { HmsError, TransportError } from "../core/errors";
import type { Metrics } from "../core/metrics";
import type { Store } from "../core/store";
import type { NodeEndpoint } from "../protocol/network";
import { receiptToWire } from "../protocol/receipts";
import { parseStorableCid } from "../protocol/slicing";
import {
  STORAGE_HEADERS,
  ackToWire,
  chainFromHeader,
  grantFromHeader,
  leasesFromHeader,
  receiptOfWire,
  uintFromHeader,
  type HopFailure,
  type SignedUploadGrant,
  type UploadReply,
  type WireUploadReply,
} from "../protocol/storage-wire";
import { acceptsPeriod, uploadReceipt, type PeriodClock } from "../protocol/transfer";
import type { WorkerClient } from "../client/storage/worker-client";
import { blockKey, type BlockWriter, type SliceStore } from "./blockstore";
import type { LeaseGate } from "./lease";
import type { NodeSigner } from "./signer";
import type { ReceiptOutbox, TermFence, UploadRecords } from "./state";

export interface PipelineDeps {
  store: SliceStore;
  /** The worker's LevelDB state (records and receipts are written together). */
  state: Store;
  signer: NodeSigner;
  records: UploadRecords;
  fence: TermFence;
  lease: LeaseGate;
  receipts: ReceiptOutbox;
  client: WorkerClient;
  clock: PeriodClock;
  /** ms since the epoch. */
  now: () => number;
  maxBlockBytes: number;
  hopTimeoutMs: number;
  metrics: Metrics;
  logger: Logger;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

type Downstream =
  | { state: "none" }
  | { state: "open"; body: PassThrough; reply: Promise<UploadReply | TransportError>; next: NodeEndpoint };

export class SlicePipeline {
  private readonly inflight;
  private readonly bytesIn;
  private readonly bytesForwarded;
  private readonly writes;
  private active = 0;

  constructor(private readonly deps: PipelineDeps) {
    this.inflight = deps.metrics.gauge("storage_writes_inflight", "Slice writes being received");
    this.bytesIn = deps.metrics.counter("storage_write_bytes_total", "Slice bytes received");
    this.bytesForwarded = deps.metrics.counter("storage_forward_bytes_total", "Slice bytes forwarded downstream");
    this.writes = deps.metrics.counter("storage_writes_total", "Slice writes, by outcome", ["outcome"]);
  }

  /** Writes being received now. */
  get inFlight(): number {
    return this.active;
  }

  /** Handles one `PUT /v1/slices/<cid>`; resolves to the 201 body, throws an `HmsError` to reject. */
  async handle(req: IncomingMessage, cidText: string): Promise<WireUploadReply> {
    this.active++;
    this.inflight.inc();
    try {
      const reply = await this.receive(req, cidText);
      this.writes.inc({ outcome: reply.failure ? "partial" : "ok" });
      return reply;
    } catch (err) {
      this.writes.inc({ outcome: err instanceof HmsError ? err.code : "error" });
      throw err;
    } finally {
      this.active--;
      this.inflight.dec();
    }
  }

  private async receive(req: IncomingMessage, cidText: string): Promise<WireUploadReply> {
    const d = this.deps;
    const cid = parseStorableCid(cidText);
    const lengthText = header(req, "content-length");
    if (lengthText === undefined || !/^\d{1,16}$/.test(lengthText))
      throw new HmsError("STORAGE_LENGTH_REQUIRED", "a slice write needs a Content-Length", { value: lengthText });
    const size = Number(lengthText);
    if (size > d.maxBlockBytes)
      throw new HmsError("STORAGE_TOO_LARGE", `slice of ${size} bytes is over the limit of ${d.maxBlockBytes}`, {
        value: size,
        details: { limit: d.maxBlockBytes },
      });
    const grant = grantFromHeader(header(req, STORAGE_HEADERS.grant));
    const nowMs = d.now();
    d.signer.checkGrant(grant, BigInt(Math.floor(nowMs / 1000)));
    const chain = chainFromHeader(header(req, STORAGE_HEADERS.chain));
    const leases = leasesFromHeader(header(req, STORAGE_HEADERS.leases));
    const term = uintFromHeader(header(req, STORAGE_HEADERS.term), STORAGE_HEADERS.term, 0n);
    const period = uintFromHeader(header(req, STORAGE_HEADERS.period), STORAGE_HEADERS.period);
    const key = blockKey(cid.cid);
    const release = d.records.reserve(grant, key, size);
    let writer: BlockWriter | undefined;
    let downstream: Downstream = { state: "none" };
    try {
      await d.lease.check({
        owner: grant.owner,
        nodeId: d.signer.nodeId,
        bytes: size,
        leaseId: leases.get(d.signer.nodeId),
      });
      await d.fence.admit(term);
      if (!acceptsPeriod(d.clock, BigInt(Math.floor(nowMs / 1000)), period))
        throw new HmsError("STORAGE_BAD_PERIOD", `period ${period} is not near this worker's clock`, {
          value: period,
        });
      writer = await d.store.writer(cid, size);
      if (chain.length > 0) downstream = this.openDownstream(cidText, size, chain, grant, term, period, leases);
      let held: Buffer | undefined;
      let received = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > size)
          throw new HmsError("STORAGE_TRUNCATED", `slice ${cidText} runs past its Content-Length ${size}`, {
            value: cidText,
            details: { cid: cidText },
          });
        writer.write(chunk);
        if (downstream.state === "open") {
          if (held !== undefined) await this.forward(downstream.body, held);
          held = chunk;
        }
      }
      this.bytesIn.inc(received);
      writer.verify();
      if (downstream.state === "open") {
        if (held !== undefined) this.bytesForwarded.inc(held.length);
        downstream.body.end(held);
      }
      const [stored, down] = await Promise.all([
        writer.commit(),
        downstream.state === "open" ? downstream.reply : Promise.resolve(undefined),
      ]);
      return await this.answer(cidText, cid.digest, stored.size, grant, key, nowMs, period, downstream, down);
    } catch (err) {
      if (downstream.state === "open") downstream.body.destroy(new Error("upstream failed"));
      await writer?.abort();
      release();
      if (err instanceof HmsError) throw err;
      // The upstream connection failed mid-body: the client (or the previous hop) is gone.
      throw new HmsError("STORAGE_TRUNCATED", `slice ${cidText} body ended early: ${(err as Error).message}`, {
        value: cidText,
        details: { cid: cidText },
        cause: err,
      });
    }
  }

  private openDownstream(
    cid: string,
    size: number,
    chain: NodeEndpoint[],
    grant: ReturnType<typeof grantFromHeader>,
    term: bigint,
    period: bigint,
    leases: Map<Hex, bigint>,
  ): Downstream {
    const body = new PassThrough({ highWaterMark: 64 * 1024 });
    const next = chain[0];
    const reply = this.deps.client
      .putSlice(next.url, cid, body, size, {
        grant,
        chain: chain.slice(1),
        term,
        period,
        leases,
        timeoutMs: this.deps.hopTimeoutMs * chain.length,
      })
      .catch((err: unknown) => {
        body.destroy();
        return err instanceof TransportError
          ? err
          : new TransportError("STORAGE_UNAVAILABLE", 0, (err as Error).message, { value: next.url });
      });
    return { state: "open", body, reply, next };
  }

  /** Passes a chunk on, waiting while the next hop is slower; a failed hop just stops taking bytes. */
  private async forward(body: PassThrough, chunk: Buffer): Promise<void> {
    if (body.destroyed) return;
    this.bytesForwarded.inc(chunk.length);
    if (body.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        body.off("drain", done);
        body.off("close", done);
        resolve();
      };
      body.once("drain", done);
      body.once("close", done);
    });
  }

  private async answer(
    cid: string,
    digest: Hex,
    size: number,
    grant: SignedUploadGrant,
    key: string,
    nowMs: number,
    period: bigint,
    downstream: Downstream,
    down: UploadReply | TransportError | undefined,
  ): Promise<WireUploadReply> {
    const d = this.deps;
    const { owner, uploadId } = grant;
    const ack = d.signer.ack(digest, size, owner, uploadId);
    const receipt = d.signer.receipt(
      uploadReceipt({ uploadId, sliceDigest: digest, nodeId: d.signer.nodeId, owner, size, period }),
    );
    // One LevelDB write: the upload's block record and this node's receipt.
    const batch = d.state.batch();
    await d.records.stored(grant, key, size, nowMs, batch);
    d.receipts.add(batch, receipt);
    await batch.write();
    await d.receipts.forwarded(receipt);
    const reply: WireUploadReply = { ok: true, cid, acks: [ackToWire(ack)], receipts: [receiptToWire(receipt)] };
    if (downstream.state !== "open" || down === undefined) return reply;
    if (down instanceof TransportError) {
      const failure: HopFailure = {
        nodeId: downstream.next.nodeId,
        url: downstream.next.url,
        code: down.code,
        message: down.message,
        status: down.status,
      };
      d.logger.warn({ cid, next: downstream.next.url, code: down.code }, "downstream hop failed; own copy kept");
      return { ...reply, failure };
    }
    return {
      ...reply,
      acks: [...reply.acks, ...down.acks.map(ackToWire)],
      receipts: [...reply.receipts, ...down.receipts.map((r) => receiptToWire(receiptOfWire(r)))],
      ...(down.failure ? { failure: down.failure } : {}),
    };
  }
}
