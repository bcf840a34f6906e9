/**
 * The worker's persistent records (LevelDB, core/store.ts), one typed repository per kind and a key prefix
 * each (docs/STORAGE.md, "On-disk layout"):
 *
 *   term                          highest meta term seen (fencing)
 *   upload/<uploadId>             an upload's grant: owner, maxBytes, deadline, first write
 *   ublock/<uploadId>/<key>       a block stored for that upload, its size
 *   pin/<key>                     a block kept whatever GC decides (repair copies, local IPFS adds)
 *   receipt/<period>/<taskId>     node-side traffic receipts, until the meta layer has them
 */
import type { Address, Hex } from "viem";
import { HmsError } from "../core/errors";
import type { Store, StoreBatch } from "../core/store";
import type { PeriodReceipts, SignedReceipt, WireReceipt } from "../protocol/receipts";
import { receiptToWire, wireReceiptSchema } from "../protocol/receipts";
import type { ReceiptSink } from "../protocol/transfer";
import type { SignedUploadGrant } from "../protocol/storage-wire";

const TERM_KEY = "term";

/**
 * Fencing: the highest meta term this worker has seen. A placement or repair order from an older term (a
 * deposed master) is refused with `STORAGE_STALE_TERM`; a newer one raises the fence, persisted before the
 * order is acted on.
 */
export class TermFence {
  private constructor(
    private readonly store: Store,
    private highest: bigint,
  ) {}

  static async open(store: Store): Promise<TermFence> {
    return new TermFence(store, (await store.get<bigint>(TERM_KEY)) ?? 0n);
  }

  get term(): bigint {
    return this.highest;
  }

  /** Admits an order of `term`; throws `STORAGE_STALE_TERM` for an older one. */
  async admit(term: bigint): Promise<void> {
    if (term < this.highest)
      throw new HmsError("STORAGE_STALE_TERM", `term ${term} is older than ${this.highest}, the highest seen`, {
        value: term,
        details: { highest: this.highest.toString() },
      });
    if (term > this.highest) {
      this.highest = term;
      await this.store.put(TERM_KEY, term);
    }
  }
}

/** An upload as the worker knows it. */
export interface UploadRecord {
  owner: Address;
  maxBytes: bigint;
  deadline: bigint;
  /** ms since the epoch of its first write here. */
  firstSeenMs: number;
}

/**
 * Uploads, the blocks stored for each, and pins. Enforces each grant's byte budget (reserved before a write's
 * body is read, so concurrent writes cannot overrun it) and gives GC what it needs.
 */
export class UploadRecords {
  private readonly used = new Map<string, bigint>();
  private readonly known = new Map<string, UploadRecord>();
  private readonly blocks = new Set<string>();

  private constructor(private readonly store: Store) {}

  static async open(store: Store): Promise<UploadRecords> {
    const r = new UploadRecords(store);
    for await (const [key, rec] of store.entries<UploadRecord>("upload/")) r.known.set(key.slice(7), rec);
    for await (const [key, size] of store.entries<number>("ublock/")) {
      const [, uploadId, block] = key.split("/");
      r.used.set(uploadId, (r.used.get(uploadId) ?? 0n) + BigInt(size));
      r.blocks.add(`${uploadId}/${block}`);
    }
    return r;
  }

  /** Reserves `size` bytes of `grant`'s budget for block `key`; returns the release function. */
  reserve(grant: SignedUploadGrant, key: string, size: number): () => void {
    const id = grant.uploadId.toLowerCase();
    if (this.blocks.has(`${id}/${key}`)) return () => undefined;
    const used = this.used.get(id) ?? 0n;
    if (used + BigInt(size) > grant.maxBytes)
      throw new HmsError(
        "STORAGE_GRANT_EXCEEDED",
        `upload ${id} would hold ${used + BigInt(size)} bytes here, over its grant of ${grant.maxBytes}`,
        { value: grant.uploadId, details: { used: used.toString(), maxBytes: grant.maxBytes.toString() } },
      );
    this.used.set(id, used + BigInt(size));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used.set(id, (this.used.get(id) ?? BigInt(size)) - BigInt(size));
    };
  }

  /**
   * Records that block `key` of `size` bytes is stored for `grant`'s upload (after the block is durable), in
   * `into` when given (the pipeline writes the record and the node's receipt in one LevelDB write).
   */
  async stored(grant: SignedUploadGrant, key: string, size: number, nowMs: number, into?: StoreBatch): Promise<void> {
    const id = grant.uploadId.toLowerCase();
    const batch = into ?? this.store.batch();
    if (!this.known.has(id)) {
      const rec: UploadRecord = {
        owner: grant.owner.toLowerCase() as Address,
        maxBytes: grant.maxBytes,
        deadline: grant.deadline,
        firstSeenMs: nowMs,
      };
      this.known.set(id, rec);
      batch.put(`upload/${id}`, rec);
    }
    if (!this.blocks.has(`${id}/${key}`)) {
      this.blocks.add(`${id}/${key}`);
      batch.put(`ublock/${id}/${key}`, size);
    }
    if (into === undefined && batch.length > 0) await batch.write();
  }

  /** Bytes held for an upload here. */
  usedBy(uploadId: Hex): bigint {
    return this.used.get(uploadId.toLowerCase()) ?? 0n;
  }

  uploads(): Array<[Hex, UploadRecord]> {
    return [...this.known].map(([id, rec]) => [id as Hex, rec]);
  }

  /** Block keys stored for an upload. */
  blocksOf(uploadId: Hex): string[] {
    const prefix = `${uploadId.toLowerCase()}/`;
    return [...this.blocks].filter((b) => b.startsWith(prefix)).map((b) => b.slice(prefix.length));
  }

  /** Block keys referenced by any upload record. */
  referenced(): Set<string> {
    return new Set([...this.blocks].map((b) => b.slice(b.indexOf("/") + 1)));
  }

  /** Forgets an upload and its block records (GC decided; the blocks themselves are GC's business). */
  async forget(uploadId: Hex): Promise<void> {
    const id = uploadId.toLowerCase() as Hex;
    const batch = this.store.batch().del(`upload/${id}`);
    for (const key of this.blocksOf(id)) {
      batch.del(`ublock/${id}/${key}`);
      this.blocks.delete(`${id}/${key}`);
    }
    await batch.write();
    this.known.delete(id);
    this.used.delete(id);
  }

  async pin(key: string, reason: string, nowMs: number): Promise<void> {
    await this.store.put(`pin/${key}`, { reason, atMs: nowMs });
  }

  async isPinned(key: string): Promise<boolean> {
    return (await this.store.get(`pin/${key}`)) !== undefined;
  }

  async unpin(key: string): Promise<void> {
    await this.store.del(`pin/${key}`);
  }

  async pinned(): Promise<Set<string>> {
    return new Set((await this.store.keys("pin/")).map((k) => k.slice(4)));
  }
}

const padPeriod = (p: bigint) => p.toString().padStart(20, "0");

/**
 * The node side's receipts: persisted first (a restart loses none), then handed to `forward` when configured
 * (the meta client). `GET /v1/receipts?from=&to=` serves them in the traffic feed's format.
 */
export class ReceiptOutbox implements ReceiptSink {
  constructor(
    private readonly store: Store,
    private readonly forward?: ReceiptSink,
    private readonly onForwardError?: (err: unknown) => void,
  ) {}

  async submit(receipt: SignedReceipt): Promise<void> {
    const batch = this.store.batch();
    this.add(batch, receipt);
    await batch.write();
    await this.forwarded(receipt);
  }

  /** Queues `receipt` into `batch` (then call {@link forwarded} once the batch is written). */
  add(batch: StoreBatch, receipt: SignedReceipt): void {
    batch.put(`receipt/${padPeriod(receipt.receipt.period)}/${receipt.receipt.taskId}`, receiptToWire(receipt));
  }

  /** Hands a persisted receipt to the forward sink (failures are reported; the receipt stays in the outbox). */
  async forwarded(receipt: SignedReceipt): Promise<void> {
    if (this.forward) await this.forward.submit(receipt, "node").catch((err) => this.onForwardError?.(err));
  }

  /** Receipts of periods `from..to` (inclusive), node side only. */
  async periods(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    const out = new Map<bigint, SignedReceipt[]>();
    for await (const [key, wire] of this.store.entries<WireReceipt>("receipt/")) {
      const period = BigInt(key.split("/")[1]);
      if (period < from || period > to) continue;
      const w = wireReceiptSchema.parse(wire);
      const list = out.get(period) ?? [];
      list.push({
        receipt: { taskId: w.taskId, nodeId: w.nodeId, client: w.client, bytesServed: w.bytesServed, period: w.period },
        signature: w.signature,
      });
      out.set(period, list);
    }
    return [...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([period, node]) => ({ period, client: [], node }));
  }
}
