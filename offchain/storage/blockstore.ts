/**
 * The worker's content-addressed block store on disk (docs/STORAGE.md, "On-disk layout").
 *
 *   <dataDir>/blocks/<XY>/<KEY>.data   one file per block; KEY = base32 (upper, no multibase prefix) of the
 *                                      block's multihash, XY = its next-to-last two characters — Kubo's flatfs
 *                                      layout (`next-to-last/2`), so a Kubo operator recognises it
 *   <dataDir>/tmp/<random>.part        blocks being received; never served
 *   <dataDir>/quarantine/<KEY>.data    blocks that failed verification on read; never served
 *
 * Writes are atomic: bytes go to a temporary file in tmp/ (same filesystem) while they are hashed; on commit
 * the digest is compared with the CID's, the file is fsync'd, renamed into blocks/ and the directory fsync'd.
 * A crash (even `kill -9` or a power loss) leaves either the whole block under its name or nothing but a temp
 * file, which `open()` deletes: a half-written slice is never served.
 *
 * Reads verify: every block is hashed before it is served (≈ 1 ms per MiB here, measured in
 * docs/BENCHMARKS.md); one that does not match its name is moved to quarantine/, dropped from the index and
 * answered as `STORAGE_CORRUPT`, so no corrupt entry is ever served, whatever happened to the disk.
 *
 * Why not blockstore-fs: it writes through steno, whose temporary file has a fixed name next to the block
 * (two concurrent writers of one block share it), it never fsyncs (a power loss can leave an empty or
 * partial block under its final name), and it only takes whole blocks, while the upload pipeline hashes and
 * stores a slice as it streams through. This class implements the same `interface-blockstore` contract
 * (`asBlockstore()`), so the UnixFS importer/exporter use it directly.
 *
 * Blocks are keyed by multihash (as in Kubo): a raw and a dag-pb CID of the same digest are the same bytes.
 * The index (key → size) is rebuilt by scanning blocks/ on open — O(blocks), about a second per 100,000
 * blocks here — and kept in memory for `has`, capacity and `/health`.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { base32upper } from "multiformats/bases/base32";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import type { Blockstore, InputPair, Pair } from "interface-blockstore";
import { HmsError } from "../core/errors";
import { RAW_CODEC, parseStorableCid, type StorableCid } from "../protocol/slicing";

/** A block being received: hashed and written as it streams, committed only if it matches its CID. */
export interface BlockWriter {
  readonly cid: StorableCid;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Hashes and appends `chunk` (writes are queued; `commit` waits for them). */
  write(chunk: Uint8Array): void;
  /**
   * Checks the size (if expected) and the digest of what was written; throws `STORAGE_TRUNCATED` /
   * `STORAGE_DIGEST_MISMATCH`. Synchronous: the pipeline releases the tail of a slice downstream only after it.
   */
  verify(): void;
  /**
   * {@link verify}, then makes the block durable and visible. On any failure the temp file is deleted; throws
   * the verification errors, `STORAGE_IO` or `STORAGE_FULL`.
   */
  commit(): Promise<{ size: number; existed: boolean }>;
  /** Deletes the temp file (idempotent). */
  abort(): Promise<void>;
}

/** What the worker needs from a block backend (this file's {@link FsBlockstore}, or a Kubo node). */
export interface SliceStore {
  /** Human name of the backend (`fs`, `kubo`), for `/health`. */
  readonly kind: string;
  has(cid: StorableCid): boolean | Promise<boolean>;
  /** Size of a stored block, undefined if absent. */
  size(cid: StorableCid): number | undefined | Promise<number | undefined>;
  /** The verified bytes. Throws `STORAGE_NOT_FOUND`, `STORAGE_CORRUPT`, `STORAGE_IO`. */
  get(cid: StorableCid): Promise<Uint8Array>;
  /** A streaming writer; `expectedSize` reserves capacity (throws `STORAGE_FULL` when it does not fit). */
  writer(cid: StorableCid, expectedSize?: number): Promise<BlockWriter>;
  /** Deletes a block (absent is fine). */
  delete(cid: StorableCid): Promise<void>;
  /** Deletes a block by its multihash key (GC). */
  deleteKey(key: string): Promise<void>;
  /** Temp files no live writer owns, with their modification times (GC of orphans); none for remote stores. */
  orphanTemps(): Promise<Array<{ file: string; mtimeMs: number }>>;
  /** Every stored block: multihash key, size, modification time (ms). */
  list(): AsyncIterable<{ key: string; cid: CID; size: number; mtimeMs: number }>;
  /** Count and bytes of stored blocks, and bytes reserved by writes in flight. */
  stats(): { blocks: number; bytes: number; reserved: number; capacity: number };
  close(): Promise<void>;
}

export interface FsBlockstoreOptions {
  /** Total bytes this store may hold (capacity of the node). */
  capacity: number;
  /** fsync each block and its directory before it becomes visible (default true). */
  fsync?: boolean;
  /** Hash every block before serving it (default true). */
  verifyOnRead?: boolean;
  /** Called with the CID of every block found corrupt and quarantined (the worker tells the meta layer). */
  onQuarantine?: (cid: string) => void;
}

/** Kubo flatfs key of a CID: base32 upper of the multihash, without the multibase prefix. */
export function blockKey(cid: CID): string {
  return base32upper.encode(cid.multihash.bytes).slice(1);
}

/** The CID (v1, `codec`) of a flatfs key. */
export function cidOfKey(key: string, codec: number = RAW_CODEC): CID {
  const multihash = Digest.decode(base32upper.decode(`B${key}`));
  return CID.createV1(codec, multihash);
}

function ioError(what: string, value: unknown, err: unknown): HmsError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT")
    return new HmsError("STORAGE_FULL", `disk full while ${what}`, { value, cause: err });
  return new HmsError("STORAGE_IO", `${what} failed: ${(err as Error).message}`, { value, cause: err });
}

const KEY_RE = /^[A-Z2-7]{10,}$/;
const WRITE_BATCH = 256 * 1024;

export class FsBlockstore implements SliceStore {
  readonly kind = "fs";
  readonly blocksDir: string;
  readonly tmpDir: string;
  readonly quarantineDir: string;
  private readonly index = new Map<string, number>();
  private readonly shards = new Set<string>();
  /** Temp files of writers in flight. */
  readonly live = new Set<string>();
  private bytes = 0;
  private reserved = 0;
  private readonly fsync: boolean;
  private readonly verifyOnRead: boolean;
  private readonly onQuarantine: ((cid: string) => void) | undefined;
  /** Temp files removed by the last `open` (orphans of a crash). */
  orphansRemoved = 0;

  private constructor(
    readonly dir: string,
    readonly capacity: number,
    options: FsBlockstoreOptions,
  ) {
    this.blocksDir = path.join(dir, "blocks");
    this.tmpDir = path.join(dir, "tmp");
    this.quarantineDir = path.join(dir, "quarantine");
    this.fsync = options.fsync ?? true;
    this.verifyOnRead = options.verifyOnRead ?? true;
    this.onQuarantine = options.onQuarantine;
  }

  /**
   * Opens (creating) the store in `dir`: deletes every temp file (no writer survives its process; the caller
   * holds the data directory's lock) and rebuilds the index. Throws `STORAGE_DATA_DIR`.
   */
  static async open(dir: string, options: FsBlockstoreOptions): Promise<FsBlockstore> {
    const store = new FsBlockstore(dir, options.capacity, options);
    try {
      for (const d of [store.blocksDir, store.tmpDir, store.quarantineDir])
        await fs.promises.mkdir(d, { recursive: true });
      for (const f of await fs.promises.readdir(store.tmpDir)) {
        await fs.promises.rm(path.join(store.tmpDir, f), { force: true });
        store.orphansRemoved++;
      }
      for (const shard of await fs.promises.readdir(store.blocksDir)) {
        const shardDir = path.join(store.blocksDir, shard);
        const stat = await fs.promises.stat(shardDir);
        if (!stat.isDirectory()) continue;
        store.shards.add(shard);
        for (const f of await fs.promises.readdir(shardDir)) {
          if (!f.endsWith(".data")) continue;
          const key = f.slice(0, -5);
          if (!KEY_RE.test(key)) continue;
          const s = await fs.promises.stat(path.join(shardDir, f));
          store.index.set(key, s.size);
          store.bytes += s.size;
        }
      }
    } catch (err) {
      throw new HmsError("STORAGE_DATA_DIR", `cannot open block store in ${dir}: ${(err as Error).message}`, {
        value: dir,
        cause: err,
      });
    }
    return store;
  }

  private pathOf(key: string): { shard: string; file: string } {
    const shard = key.slice(-3, -1);
    return { shard, file: path.join(this.blocksDir, shard, `${key}.data`) };
  }

  has(cid: StorableCid): boolean {
    return this.index.has(blockKey(cid.cid));
  }

  size(cid: StorableCid): number | undefined {
    return this.index.get(blockKey(cid.cid));
  }

  stats(): { blocks: number; bytes: number; reserved: number; capacity: number } {
    return { blocks: this.index.size, bytes: this.bytes, reserved: this.reserved, capacity: this.capacity };
  }

  /** Free bytes left for new writes. */
  get free(): number {
    return Math.max(0, this.capacity - this.bytes - this.reserved);
  }

  async get(cid: StorableCid): Promise<Uint8Array> {
    const key = blockKey(cid.cid);
    if (!this.index.has(key))
      throw new HmsError("STORAGE_NOT_FOUND", `block ${cid.cid} is not stored here`, { value: cid.cid.toString() });
    const { file } = this.pathOf(key);
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        this.forget(key);
        throw new HmsError("STORAGE_NOT_FOUND", `block ${cid.cid} is not stored here`, { value: cid.cid.toString() });
      }
      throw ioError(`reading block ${cid.cid}`, cid.cid.toString(), err);
    }
    if (this.verifyOnRead && !createHash("sha256").update(bytes).digest().equals(cid.cid.multihash.digest)) {
      await this.quarantine(key);
      this.onQuarantine?.(cid.cid.toString());
      throw new HmsError("STORAGE_CORRUPT", `stored block ${cid.cid} does not match its CID; quarantined`, {
        value: cid.cid.toString(),
      });
    }
    return bytes;
  }

  private forget(key: string): void {
    const size = this.index.get(key);
    if (size === undefined) return;
    this.index.delete(key);
    this.bytes -= size;
  }

  private async quarantine(key: string): Promise<void> {
    const { file } = this.pathOf(key);
    this.forget(key);
    await fs.promises.rename(file, path.join(this.quarantineDir, `${key}.data`)).catch(() => undefined);
  }

  /** Reserves `bytes` of capacity for a write in flight; throws `STORAGE_FULL`. */
  private reserve(bytes: number, cid: StorableCid): void {
    if (bytes > this.free)
      throw new HmsError("STORAGE_FULL", `no room for ${bytes} bytes (${this.free} free of ${this.capacity})`, {
        value: cid.cid.toString(),
        details: { free: this.free, capacity: this.capacity, needed: bytes },
      });
    this.reserved += bytes;
  }

  async writer(cid: StorableCid, expectedSize?: number): Promise<BlockWriter> {
    const reservation = expectedSize ?? 0;
    this.reserve(reservation, cid);
    const tmp = path.join(this.tmpDir, `${randomBytes(12).toString("hex")}.part`);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(tmp, "wx");
    } catch (err) {
      this.reserved -= reservation;
      throw ioError("creating a temp file", tmp, err);
    }
    this.live.add(tmp);
    return new FsBlockWriter(this, cid, handle, tmp, expectedSize, () => {
      this.reserved -= reservation;
      this.live.delete(tmp);
    });
  }

  /** Called by a writer whose temp file is complete and verified: fsync, rename, index. */
  async install(key: string, tmp: string, handle: fs.promises.FileHandle, size: number): Promise<boolean> {
    const { shard, file } = this.pathOf(key);
    if (this.fsync) await handle.sync();
    await handle.close();
    if (!this.shards.has(shard)) {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      if (this.fsync) await syncDir(this.blocksDir);
      this.shards.add(shard);
    }
    await fs.promises.rename(tmp, file);
    if (this.fsync) await syncDir(path.dirname(file));
    const existed = this.index.has(key);
    if (!existed) {
      this.index.set(key, size);
      this.bytes += size;
    }
    return existed;
  }

  async put(cid: StorableCid, bytes: Uint8Array): Promise<void> {
    const w = await this.writer(cid, bytes.length);
    w.write(bytes);
    await w.commit();
  }

  async delete(cid: StorableCid): Promise<void> {
    await this.deleteKey(blockKey(cid.cid));
  }

  async deleteKey(key: string): Promise<void> {
    const { file } = this.pathOf(key);
    try {
      await fs.promises.rm(file, { force: true });
    } catch (err) {
      throw ioError(`deleting block ${key}`, key, err);
    }
    this.forget(key);
  }

  async *list(): AsyncGenerator<{ key: string; cid: CID; size: number; mtimeMs: number }> {
    for (const [key, size] of [...this.index]) {
      const stat = await fs.promises.stat(this.pathOf(key).file).catch(() => undefined);
      if (stat === undefined) continue;
      yield { key, cid: cidOfKey(key), size, mtimeMs: stat.mtimeMs };
    }
  }

  async orphanTemps(): Promise<Array<{ file: string; mtimeMs: number }>> {
    const out: Array<{ file: string; mtimeMs: number }> = [];
    for (const f of await fs.promises.readdir(this.tmpDir)) {
      const file = path.join(this.tmpDir, f);
      if (this.live.has(file)) continue;
      const stat = await fs.promises.stat(file).catch(() => undefined);
      if (stat) out.push({ file, mtimeMs: stat.mtimeMs });
    }
    return out;
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  /** The `interface-blockstore` view of this store (for the UnixFS importer and exporter). */
  asBlockstore(): Blockstore {
    return asBlockstore(this);
  }
}

async function syncDir(dir: string): Promise<void> {
  const h = await fs.promises.open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

class FsBlockWriter implements BlockWriter {
  bytes = 0;
  private readonly hash = createHash("sha256");
  private queue: Promise<unknown> = Promise.resolve();
  private failed: unknown;
  private done = false;
  private digest: Buffer | undefined;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;

  constructor(
    private readonly store: FsBlockstore,
    readonly cid: StorableCid,
    private readonly handle: fs.promises.FileHandle,
    private readonly tmp: string,
    private readonly expectedSize: number | undefined,
    private readonly release: () => void,
  ) {}

  write(chunk: Uint8Array): void {
    if (this.done) return;
    this.bytes += chunk.length;
    this.hash.update(chunk);
    // Chunks are gathered and written with one writev per ≥ 256 KiB: a socket delivers ~64 KiB at a time.
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= WRITE_BATCH) this.flush();
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    const chunks = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.queue = this.queue.then(async () => {
      if (this.failed !== undefined) return;
      try {
        await this.handle.writev(chunks);
      } catch (err) {
        this.failed = err;
      }
    });
  }

  verify(): void {
    const text = this.cid.cid.toString();
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize)
      throw new HmsError("STORAGE_TRUNCATED", `block ${text}: got ${this.bytes} of ${this.expectedSize} bytes`, {
        value: text,
        details: { cid: text, received: this.bytes, expected: this.expectedSize },
      });
    this.digest ??= this.hash.digest();
    if (!this.digest.equals(this.cid.cid.multihash.digest))
      throw new HmsError("STORAGE_DIGEST_MISMATCH", `bytes received do not hash to ${text}`, {
        value: text,
        details: { cid: text },
      });
  }

  async commit(): Promise<{ size: number; existed: boolean }> {
    if (this.done)
      throw new HmsError("STORAGE_IO", "block writer already finished", { value: this.cid.cid.toString() });
    this.flush();
    await this.queue;
    const text = this.cid.cid.toString();
    try {
      this.verify();
      if (this.failed !== undefined) throw ioError(`writing block ${text}`, text, this.failed);
      let existed: boolean;
      try {
        existed = await this.store.install(blockKey(this.cid.cid), this.tmp, this.handle, this.bytes);
      } catch (err) {
        throw ioError(`storing block ${text}`, text, err);
      }
      this.done = true;
      this.release();
      return { size: this.bytes, existed };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.release();
    await this.queue;
    await this.handle.close().catch(() => undefined);
    await fs.promises.rm(this.tmp, { force: true }).catch(() => undefined);
  }
}

async function collect(source: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  const parts: Uint8Array[] = [];
  for await (const p of source) parts.push(p);
  return Buffer.concat(parts);
}

/**
 * `interface-blockstore` over a {@link SliceStore}: what ipfs-unixfs-importer writes through and
 * ipfs-unixfs-exporter reads through. Only sha2-256 raw/dag-pb blocks are accepted (`STORAGE_BAD_CID`).
 */
export function asBlockstore(store: SliceStore): Blockstore {
  const parse = (cid: CID) => parseStorableCid(cid);
  const bs = {
    async has(cid: CID) {
      return store.has(parse(cid));
    },
    async put(cid: CID, bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>) {
      const data = await collect(bytes);
      const c = parse(cid);
      const w = await store.writer(c, data.length);
      w.write(data);
      await w.commit();
      return cid;
    },
    async *get(cid: CID) {
      yield await store.get(parse(cid));
    },
    async delete(cid: CID) {
      await store.delete(parse(cid));
    },
    async *putMany(source: Iterable<InputPair> | AsyncIterable<InputPair>) {
      for await (const { cid, bytes } of source) yield await bs.put(cid, bytes);
    },
    async *getMany(source: Iterable<CID> | AsyncIterable<CID>): AsyncGenerator<Pair> {
      for await (const cid of source) yield { cid, bytes: bs.get(cid) };
    },
    async *deleteMany(source: Iterable<CID> | AsyncIterable<CID>) {
      for await (const cid of source) {
        await bs.delete(cid);
        yield cid;
      }
    },
    async *getAll(): AsyncGenerator<Pair> {
      for await (const { cid } of store.list()) yield { cid, bytes: bs.get(cid) };
    },
  };
  return bs as unknown as Blockstore;
}
