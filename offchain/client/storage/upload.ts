/**
 * `upload(network, source, params)`: store a file in the network with `copies` copies of every slice and DAG
 * block, then record it in the index (PROTOCOL §8, issue 12 item 2). The file's root CID is Kubo's for
 * `ipfs add --cid-version=1 --raw-leaves --chunker=size-<sliceSize>`: the DAG is built by ipfs-unixfs-importer
 * with the layout of protocol/slicing.ts; this function only hooks the importer's leaf and block writes.
 *
 *  1. `network.place()` gives one pipeline chain per slice and per DAG block (`slices + dagBlocks` chains:
 *     chain i < slices is slice i, chain slices + j the j-th DAG block in the importer's order) and the upload
 *     id; the owner signs an `UploadGrant` for it.
 *  2. Slices stream out of the source through the importer; each is hashed and PUT to the first node of its
 *     chain, which forwards it down the chain (cut-through) — up to `concurrency` blocks in flight, each block
 *     held in memory only until all its copies are acknowledged (so memory is about `concurrency × sliceSize`).
 *  3. Every reply carries the chain's signed StorageAcks; each is verified (signature, fields, and the node's
 *     registered key when `keys` is given), and the owner signs its side of the transfer's `TrafficReceipt`.
 *     A node that failed (unreachable, timeout, 5xx — a full disk included) is replaced through
 *     `network.replace()` and only the missing copies are written again.
 *  4. When every slice and DAG block has its copies, the owner signs the `IndexWrite` and `network.commit()`
 *     records the file. A failure before that commits nothing (the stored blocks are collected by the
 *     workers' GC after the grant expires).
 *
 * Identical slices (same CID) are stored once.
 */
import fs from "node:fs";
import { randomBytes } from "node:crypto";
import type { CID } from "multiformats/cid";
import { importer } from "ipfs-unixfs-importer";
import type { ImporterOptions } from "ipfs-unixfs-importer";
import type { Address, Hex, TypedDataDomain } from "viem";
import { HmsError, TransportError, relayedCode } from "../../core/errors";
import { domainOf, recoverTypedSync } from "../../core/signing";
import type { FileCommit, NodeEndpoint, Placement, SignedStorageAck, StorageNetwork } from "../../protocol/network";
import {
  DEFAULT_SLICE_SIZE,
  dagBlockCount,
  importerOptions,
  sliceCid,
  sliceCount,
  sliceLayout,
  MAX_LINKS,
} from "../../protocol/slicing";
import { ackMessage, fileCommitHash, type SignedUploadGrant } from "../../protocol/storage-wire";
import { periodAt, uploadReceipt, type PeriodClock, type ReceiptSink } from "../../protocol/transfer";
import type { ClientSigner } from "./signer";
import { WorkerClient, isRetryable } from "./worker-client";

/** Bytes to upload: in memory, a file on disk, or a stream (then `size` is required). */
export type UploadSource =
  Uint8Array | { file: string } | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** The chain and contracts signatures bind to, and MiningPool's clock. */
export interface NetworkParams {
  chainId: number;
  nodeRegistry: Address;
  miningPool: Address;
  clock: PeriodClock;
}

export interface UploadParameters {
  /** The file's owner: signs the grant, the index write and its side of every receipt. */
  owner: ClientSigner;
  network: NetworkParams;
  /** Path in the owner's namespace of the index. */
  path: string;
  /** Size of a stream source (checked: a source that yields another size fails with STORAGE_SIZE_MISMATCH). */
  size?: bigint;
  sliceSize?: number;
  copies?: number;
  /** Blocks in flight at once (default 4). */
  concurrency?: number;
  /** Replacements asked per block before giving up (default 4). */
  maxReplacements?: number;
  /** Lifetime of the upload grant, seconds (default 3600). */
  grantTtlSeconds?: number;
  /** Where the owner's receipts go (the meta client); none = not reported. */
  receipts?: ReceiptSink;
  /** Registered signing key of a node: acks are checked against it when given. */
  keys?: (nodeId: Hex) => Promise<Address>;
  /** Lease per node, for workers that run the on-chain lease gate. */
  leases?: ReadonlyMap<Hex, bigint>;
  /** IndexWrite nonce (strictly increasing per owner; default: the current time in microseconds). */
  nonce?: bigint;
  signal?: AbortSignal;
  onProgress?: (progress: { bytes: bigint; blocks: number; total: bigint }) => void;
  /** Shared HTTP client of the workers (default: one for this upload, closed after it). */
  worker?: WorkerClient;
  now?: () => number;
}

/** A stored block and the acks of its copies. */
export interface StoredBlock {
  cid: string;
  size: number;
  acks: SignedStorageAck[];
}

export interface UploadReturnType {
  rootCid: string;
  size: bigint;
  uploadId: Hex;
  slices: StoredBlock[];
  dagBlocks: StoredBlock[];
  /** Log position of the index write. */
  commit: { term: bigint; index: bigint };
  /** Nodes replaced during the upload. */
  replaced: number;
  /** Client-side receipts signed. */
  receipts: number;
}

/** Codes `upload` throws (all `HmsError`s). */
export type UploadErrorType =
  | "STORAGE_SIZE_MISMATCH"
  | "STORAGE_NO_COPIES"
  | "STORAGE_BAD_REPLY"
  | "STORAGE_ABORTED"
  | "STORAGE_UNAUTHORIZED"
  | "STORAGE_BAD_REQUEST"
  | "STORAGE_TOO_LARGE";

/** Largest dag-pb node of the layout: links of ≤ 48 bytes (CIDv1 sha2-256, varint sizes) plus the UnixFS data. */
const DAG_NODE_BOUND = MAX_LINKS * 64 + 8192;

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new HmsError("STORAGE_ABORTED", "upload aborted", { value: String(signal.reason) });
}

async function* sized(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: bigint,
): AsyncGenerator<Uint8Array> {
  let seen = 0n;
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    seen += BigInt(chunk.length);
    if (seen > size)
      throw new HmsError("STORAGE_SIZE_MISMATCH", `source yields more than the declared ${size} bytes`, {
        value: seen,
      });
    yield chunk;
  }
  if (seen !== size)
    throw new HmsError("STORAGE_SIZE_MISMATCH", `source yielded ${seen} bytes, ${size} declared`, { value: seen });
}

async function sourceOf(
  source: UploadSource,
  declared: bigint | undefined,
): Promise<{ size: bigint; content: AsyncIterable<Uint8Array> }> {
  if (source instanceof Uint8Array) {
    const size = BigInt(source.length);
    if (declared !== undefined && declared !== size)
      throw new HmsError("STORAGE_SIZE_MISMATCH", `buffer holds ${size} bytes, ${declared} declared`, { value: size });
    return { size, content: sized([source], size) };
  }
  if (typeof source === "object" && source !== null && "file" in source) {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(source.file);
    } catch (err) {
      throw new HmsError("STORAGE_BAD_REQUEST", `cannot read ${source.file}: ${(err as Error).message}`, {
        value: source.file,
        cause: err,
      });
    }
    const size = BigInt(stat.size);
    return { size, content: sized(fs.createReadStream(source.file, { highWaterMark: 1 << 20 }), declared ?? size) };
  }
  if (declared === undefined)
    throw new HmsError("STORAGE_BAD_REQUEST", "a stream source needs its size (params.size)", { value: "size" });
  return { size: declared, content: sized(source as AsyncIterable<Uint8Array>, declared) };
}

/** A counting semaphore: at most `n` holders. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

class Uploader {
  readonly slices: StoredBlock[] = [];
  readonly dagBlocks: StoredBlock[] = [];
  private readonly byCid = new Map<string, Promise<SignedStorageAck[]>>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly slots: Slots;
  private readonly domain: TypedDataDomain;
  private readonly trafficDomain: TypedDataDomain;
  private readonly controller = new AbortController();
  failure: unknown;
  replaced = 0;
  receipts = 0;
  bytes = 0n;
  private dagIndex = 0;
  private blocksDone = 0;
  /** The term the slice writes carry: the placement's, or the current master's once renewed after a failover. */
  private term: bigint;
  private renewing: Promise<void> | undefined;
  renewals = 0;

  constructor(
    private readonly network: StorageNetwork,
    private readonly placement: Placement,
    private readonly grant: SignedUploadGrant,
    private readonly params: UploadParameters,
    private readonly worker: WorkerClient,
    private readonly sliceTotal: number,
    private readonly total: bigint,
  ) {
    this.term = placement.term;
    this.slots = new Slots(Math.max(1, params.concurrency ?? 4));
    this.domain = domainOf("network", params.network.chainId, params.network.nodeRegistry);
    this.trafficDomain = domainOf("traffic", params.network.chainId, params.network.miningPool);
    params.signal?.addEventListener("abort", () => this.controller.abort(params.signal?.reason), { once: true });
  }

  private now(): number {
    return this.params.now?.() ?? Date.now();
  }

  /**
   * A worker refused the write's term (STORAGE_STALE_TERM: it has seen a newer master): the current master confirms
   * the placement under its term, once for every block that hit the same fence; at most 3 times an upload.
   */
  private async renew(stale: bigint, cause: unknown): Promise<void> {
    if (this.term > stale) return; // another block already renewed past it
    const renew = this.network.renew?.bind(this.network);
    if (renew === undefined || this.renewals >= 3) throw cause;
    this.renewing ??= (async () => {
      this.renewals++;
      this.term = await renew({ uploadId: this.placement.uploadId });
    })().finally(() => (this.renewing = undefined));
    await this.renewing;
  }

  /** Throws the first failure of any block (so the importer stops reading the source). */
  check(): void {
    if (this.failure !== undefined) throw this.failure;
    aborted(this.params.signal);
  }

  /** Starts storing block `index` (a slice below `sliceTotal`, else a DAG block) in the background. */
  async start(kind: "slice" | "dag", cid: CID, bytes: Uint8Array, sliceIndex?: number): Promise<void> {
    this.check();
    const index = kind === "slice" ? sliceIndex! : this.sliceTotal + this.dagIndex++;
    const record: StoredBlock = { cid: cid.toString(), size: bytes.length, acks: [] };
    if (kind === "slice") this.slices[index] = record;
    else this.dagBlocks.push(record);
    let stored = this.byCid.get(record.cid);
    if (stored === undefined) {
      await this.slots.acquire();
      stored = this.store(index, record.cid, cid.multihash.digest, bytes).finally(() => this.slots.release());
      this.byCid.set(record.cid, stored);
    }
    const done = stored.then(
      (acks) => {
        record.acks = acks;
        if (kind === "slice") this.bytes += BigInt(bytes.length);
        this.blocksDone++;
        this.params.onProgress?.({ bytes: this.bytes, blocks: this.blocksDone, total: this.total });
      },
      (err: unknown) => {
        this.failure ??= err;
        this.controller.abort(err);
      },
    );
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  async finish(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    this.check();
  }

  private async store(
    index: number,
    cid: string,
    digestBytes: Uint8Array,
    bytes: Uint8Array,
  ): Promise<SignedStorageAck[]> {
    const copies = this.params.copies ?? 3;
    const chain0 = this.placement.slices[index];
    if (chain0 === undefined || chain0.length < copies)
      throw new HmsError("STORAGE_NO_COPIES", `placement has no chain of ${copies} nodes for block ${index}`, {
        value: index,
      });
    let chain: NodeEndpoint[] = chain0.slice(0, copies);
    const digest = `0x${Buffer.from(digestBytes).toString("hex")}` as Hex;
    const acks = new Map<Hex, SignedStorageAck>();
    const excluded = new Set<Hex>();
    let replacements = 0;
    const maxReplacements = this.params.maxReplacements ?? 4;
    while (acks.size < copies) {
      this.check();
      const pending = chain.filter((n) => !acks.has(n.nodeId.toLowerCase() as Hex));
      const period = periodAt(this.params.network.clock, BigInt(Math.floor(this.now() / 1000)));
      let failed: NodeEndpoint | undefined;
      let cause: unknown;
      const term = this.term;
      try {
        const reply = await this.worker.putSlice(pending[0].url, cid, bytes, bytes.length, {
          grant: this.grant,
          chain: pending.slice(1),
          term,
          period,
          leases: this.params.leases,
          signal: this.controller.signal,
        });
        for (let i = 0; i < reply.acks.length; i++) {
          const node = pending[i];
          const ack = reply.acks[i];
          if (node === undefined || !(await this.verifyAck(node, ack, digest, bytes.length))) {
            failed = node ?? pending[pending.length - 1];
            cause = new HmsError("STORAGE_BAD_REPLY", `ack ${i} of block ${cid} does not verify`, {
              value: ack.nodeId,
            });
            break;
          }
          acks.set(node.nodeId.toLowerCase() as Hex, ack);
          await this.receipt(digest, node.nodeId, bytes.length, period);
        }
        if (failed === undefined && reply.failure?.code === "STORAGE_STALE_TERM") {
          // A node down the chain has seen a newer master: the copies acked so far stay; the rest go again.
          await this.renew(
            term,
            new TransportError("STORAGE_STALE_TERM", 409, reply.failure.message, {
              value: reply.failure.url,
            }),
          );
          continue;
        }
        if (failed === undefined && reply.failure) {
          failed = pending.find((n) => n.nodeId.toLowerCase() === reply.failure!.nodeId.toLowerCase());
          cause = new TransportError(
            relayedCode(reply.failure.code, "STORAGE_UNAVAILABLE"),
            reply.failure.status,
            reply.failure.message,
            { value: reply.failure.url },
          );
        }
        if (failed === undefined && acks.size < copies) {
          failed = pending[reply.acks.length];
          cause = new HmsError("STORAGE_BAD_REPLY", `reply for block ${cid} lacks ack ${reply.acks.length}`, {
            value: cid,
          });
        }
      } catch (err) {
        if (err instanceof HmsError && err.code === "STORAGE_ABORTED") throw err;
        if (this.controller.signal.aborted) throw this.failure ?? err;
        if (err instanceof HmsError && err.code === "STORAGE_STALE_TERM") {
          await this.renew(term, err);
          continue;
        }
        if (!isRetryable(err)) throw err;
        failed = pending[0];
        cause = err;
      }
      if (failed === undefined) continue;
      excluded.add(failed.nodeId.toLowerCase() as Hex);
      if (++replacements > maxReplacements)
        throw new HmsError(
          "STORAGE_NO_COPIES",
          `block ${cid} has ${acks.size} of ${copies} copies after ${maxReplacements} replacements`,
          {
            value: cid,
            cause,
          },
        );
      const replacement = await this.network.replace({
        uploadId: this.placement.uploadId,
        slice: index,
        exclude: [...excluded, ...acks.keys()],
      });
      this.replaced++;
      chain = chain.map((n) => (n.nodeId.toLowerCase() === failed!.nodeId.toLowerCase() ? replacement : n));
    }
    return chain.map((n) => acks.get(n.nodeId.toLowerCase() as Hex)!);
  }

  private async verifyAck(node: NodeEndpoint, ack: SignedStorageAck, digest: Hex, size: number): Promise<boolean> {
    if (
      ack.nodeId.toLowerCase() !== node.nodeId.toLowerCase() ||
      ack.slice.toLowerCase() !== digest ||
      ack.size !== BigInt(size) ||
      ack.owner.toLowerCase() !== this.grant.owner.toLowerCase() ||
      ack.uploadId.toLowerCase() !== this.grant.uploadId.toLowerCase()
    )
      return false;
    let signer: Address;
    try {
      signer = recoverTypedSync(this.domain, "StorageAck", ackMessage(ack), ack.signature);
    } catch {
      return false;
    }
    if (this.params.keys === undefined) return true;
    return (await this.params.keys(ack.nodeId)).toLowerCase() === signer.toLowerCase();
  }

  private async receipt(digest: Hex, nodeId: Hex, size: number, period: bigint): Promise<void> {
    const sink = this.params.receipts;
    const receipt = uploadReceipt({
      uploadId: this.placement.uploadId,
      sliceDigest: digest,
      nodeId,
      owner: this.params.owner.address,
      size,
      period,
    });
    const signature = await this.params.owner.signTyped(this.trafficDomain, "TrafficReceipt", receipt);
    this.receipts++;
    if (sink) await sink.submit({ receipt, signature }, "client");
  }
}

/**
 * Uploads `source` and records it at `params.path`. Throws an `HmsError` ({@link UploadErrorType}, or a worker's
 * or the meta layer's own code); nothing is recorded unless it resolves.
 */
export async function upload(
  network: StorageNetwork,
  source: UploadSource,
  params: UploadParameters,
): Promise<UploadReturnType> {
  aborted(params.signal);
  const layout = sliceLayout(params.sliceSize ?? DEFAULT_SLICE_SIZE);
  const copies = params.copies ?? 3;
  if (!Number.isSafeInteger(copies) || copies < 1 || copies > 16)
    throw new HmsError("STORAGE_BAD_REQUEST", "copies must be 1..16", { value: copies });
  const { size, content } = await sourceOf(source, params.size);
  const slices = sliceCount(size, layout.sliceSize);
  const dag = dagBlockCount(slices, layout.maxLinks);
  const owner = params.owner.address;
  const placement = await network.place({
    owner,
    size,
    sliceSize: layout.sliceSize,
    slices: slices + dag,
    copies,
    path: params.path,
  });
  const now = params.now ?? Date.now;
  const deadline = BigInt(Math.floor(now() / 1000) + (params.grantTtlSeconds ?? 3600));
  const grantMessage = {
    owner,
    uploadId: placement.uploadId,
    maxBytes: size + BigInt(dag * DAG_NODE_BOUND),
    deadline,
  };
  const domain = domainOf("network", params.network.chainId, params.network.nodeRegistry);
  const grant: SignedUploadGrant = {
    ...grantMessage,
    signature: await params.owner.signTyped(domain, "UploadGrant", grantMessage),
  };
  const worker = params.worker ?? new WorkerClient();
  const up = new Uploader(network, placement, grant, params, worker, slices, size);
  let rootCid: string | undefined;
  try {
    const options: ImporterOptions = {
      ...importerOptions(layout),
      blockWriteConcurrency: Math.max(1, params.concurrency ?? 4),
      bufferImporter: async function* (file) {
        let index = 0;
        for await (const chunk of file.content) {
          const cid = sliceCid(chunk);
          await up.start("slice", cid, chunk, index++);
          yield async () => ({ cid, size: BigInt(chunk.length), block: chunk });
        }
      },
    };
    const blockstore = {
      put: async (cid: CID, bytes: Uint8Array) => {
        await up.start("dag", cid, bytes);
        return cid;
      },
    };
    for await (const entry of importer([{ content }], blockstore, options)) rootCid = entry.cid.toString();
    await up.finish();
  } catch (err) {
    await up.finish().catch(() => undefined);
    if (params.worker === undefined) await worker.close().catch(() => undefined);
    throw up.failure ?? err;
  }
  if (params.worker === undefined) await worker.close().catch(() => undefined);
  if (rootCid === undefined) throw new HmsError("STORAGE_BAD_REQUEST", "the importer produced no root", { value: "" });
  const file: FileCommit = {
    owner,
    path: params.path,
    rootCid,
    size,
    sliceSize: layout.sliceSize,
    uploadId: placement.uploadId,
    dagBlocks: up.dagBlocks,
    slices: up.slices,
  };
  const nonce = params.nonce ?? BigInt(now()) * 1000n + BigInt(randomBytes(2).readUInt16BE() % 1000);
  const writeDeadline = BigInt(Math.floor(now() / 1000) + 600);
  const signature = await params.owner.signTyped(domain, "IndexWrite", {
    owner,
    op: "put",
    path: params.path,
    target: "",
    contentHash: fileCommitHash(file),
    nonce,
    deadline: writeDeadline,
  });
  const commit = await network.commit(file, { nonce, deadline: writeDeadline, signature });
  return {
    rootCid,
    size,
    uploadId: placement.uploadId,
    slices: up.slices,
    dagBlocks: up.dagBlocks,
    commit,
    replaced: up.replaced,
    receipts: up.receipts,
  };
}
