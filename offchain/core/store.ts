/**
 * Persistence of state that must survive a restart: LevelDB (classic-level) with string keys and
 * typed JSON values. The encoding is bigint-safe and byte-safe: `123n` is stored as
 * `{"$bigint":"123"}` and a `Uint8Array` as `{"$bytes":"0x…"}`, and both decode back to their types.
 * A plain string is stored verbatim behind a one-character marker (no JSON escaping pass: PBFT
 * request payloads are megabytes). `batch()` groups puts and deletes into one atomic write.
 *
 * Blobs — large, write-once values such as PBFT request payloads — go to files in `<location>.blobs/`
 * instead (`putBlob` / `getBlob` / `deleteBlob` / `listBlobs`): one file write instead of LevelDB's
 * log + memtable + table + compaction copies (≈ 3.4 ms instead of ≈ 15 ms of CPU per 3 MB). A blob is
 * written to a temporary file and renamed, so it is either whole or absent. Durability matches the
 * LevelDB writes here (no fsync): a process crash loses nothing written, a power loss may. Write a
 * blob before the record that refers to it, delete it after.
 */
import fs from "node:fs";
import path from "node:path";
import { ClassicLevel } from "classic-level";
import { StoreError } from "./errors";

/** Marks a string stored verbatim (JSON text never starts with it). */
const RAW = "\u0001";

/** Encodes a value as JSON text, keeping bigints and byte arrays (strings verbatim, see above). */
export function encodeValue(value: unknown): string {
  if (typeof value === "string") return RAW + value;
  const plain = fastStringify(value);
  if (plain !== undefined) return plain;
  const text = JSON.stringify(value, function replacer(this: unknown, _key, v: unknown) {
    if (typeof v === "bigint") return { $bigint: v.toString() };
    if (v instanceof Uint8Array) return { $bytes: `0x${Buffer.from(v).toString("hex")}` };
    return v;
  });
  if (text === undefined)
    throw new StoreError("STORE_ENCODE", "value cannot be stored as JSON", { value: String(value) });
  return text;
}

/**
 * Plain `JSON.stringify` (several times faster than with a replacer function) when the value holds
 * no bigint and no byte array; undefined otherwise. A bigint makes it throw; byte arrays are found by
 * a scan, only for objects that could hide one.
 */
function fastStringify(value: unknown): string | undefined {
  if (hasBytes(value, 0)) return undefined;
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (err instanceof TypeError && /BigInt/i.test(err.message)) return undefined;
    throw err;
  }
}

function hasBytes(v: unknown, depth: number): boolean {
  if (v instanceof Uint8Array) return true;
  if (v === null || typeof v !== "object" || depth > 64) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (x !== null && typeof x === "object" && hasBytes(x, depth + 1)) return true;
    return false;
  }
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== null && typeof x === "object" && hasBytes(x, depth + 1)) return true;
  }
  return false;
}

/** Inverse of {@link encodeValue}. Throws `STORE_DECODE` for text that is not JSON. */
export function decodeValue<T = unknown>(text: string): T {
  if (text.startsWith(RAW)) return text.slice(1) as T;
  try {
    return JSON.parse(text, (_key, v: unknown) => {
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o);
        if (keys.length === 1 && typeof o.$bigint === "string") return BigInt(o.$bigint);
        if (keys.length === 1 && typeof o.$bytes === "string")
          return Uint8Array.from(Buffer.from(o.$bytes.slice(2), "hex"));
      }
      return v;
    }) as T;
  } catch (err) {
    throw new StoreError("STORE_DECODE", `stored value is not valid JSON: ${(err as Error).message}`, {
      value: text.slice(0, 100),
      cause: err,
    });
  }
}

export interface StoreBatch {
  put(key: string, value: unknown): StoreBatch;
  del(key: string): StoreBatch;
  /** Number of queued operations. */
  readonly length: number;
  /** Applies every queued operation atomically; `sync` waits for the OS to flush it to disk (fsync). */
  write(options?: { sync?: boolean }): Promise<void>;
}

const BLOB_NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export class Store {
  /** Directory of the blobs. */
  readonly blobDir: string;
  private tmpCounter = 0;

  private constructor(
    private readonly db: ClassicLevel<string, string>,
    readonly location: string,
  ) {
    this.blobDir = `${location}.blobs`;
  }

  /**
   * Opens (creating if needed) the database at `location`. Throws `STORE_OPEN` (e.g. locked by another
   * process). `writeBufferSize` (default 32 MiB, LevelDB's own is 4 MiB) keeps multi-megabyte values
   * from forcing a memtable flush on every write; Snappy `compression` is off by default (the large
   * values — signed, base64 or random — do not compress, and compressing them costs CPU on every
   * flush and compaction).
   */
  static async open(
    location: string,
    options: { writeBufferSize?: number; compression?: boolean } = {},
  ): Promise<Store> {
    const db = new ClassicLevel<string, string>(location, {
      keyEncoding: "utf8",
      valueEncoding: "utf8",
      writeBufferSize: options.writeBufferSize ?? 32 * 1024 * 1024,
      compression: options.compression ?? false,
    });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: Error }).cause ?? err;
      if ((cause as { code?: string }).code === "LEVEL_LOCKED")
        throw new StoreError(
          "STORE_LOCKED",
          `data directory ${location} is in use by another process (stop it first, or give this one another dataDir)`,
          { value: location, cause: err },
        );
      throw new StoreError("STORE_OPEN", `cannot open store at ${location}: ${(cause as Error).message}`, {
        value: location,
        cause: err,
      });
    }
    const store = new Store(db, location);
    try {
      await fs.promises.mkdir(store.blobDir, { recursive: true });
      for (const f of await fs.promises.readdir(store.blobDir))
        if (f.endsWith(".tmp")) await fs.promises.rm(path.join(store.blobDir, f), { force: true });
    } catch (err) {
      await db.close();
      throw new StoreError("STORE_OPEN", `cannot prepare blob directory ${store.blobDir}: ${(err as Error).message}`, {
        value: store.blobDir,
        cause: err,
      });
    }
    return store;
  }

  private blobPath(name: string): string {
    if (typeof name !== "string" || !BLOB_NAME_RE.test(name))
      throw new StoreError("STORE_BLOB_NAME", `invalid blob name ${JSON.stringify(name)}`, { value: name });
    return path.join(this.blobDir, name);
  }

  /** Writes a blob (whole or not at all). */
  async putBlob(name: string, text: string): Promise<void> {
    const file = this.blobPath(name);
    const tmp = `${file}.${process.pid}.${++this.tmpCounter}.tmp`;
    try {
      await fs.promises.writeFile(tmp, text, "utf8");
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      throw new StoreError("STORE_IO", `cannot write blob ${name}: ${(err as Error).message}`, {
        value: name,
        cause: err,
      });
    }
  }

  /** Reads a blob; undefined if absent. */
  async getBlob(name: string): Promise<string | undefined> {
    const file = this.blobPath(name);
    try {
      return await fs.promises.readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new StoreError("STORE_IO", `cannot read blob ${name}: ${(err as Error).message}`, {
        value: name,
        cause: err,
      });
    }
  }

  /** Deletes a blob (absent is fine). */
  async deleteBlob(name: string): Promise<void> {
    const file = this.blobPath(name);
    try {
      await fs.promises.rm(file, { force: true });
    } catch (err) {
      throw new StoreError("STORE_IO", `cannot delete blob ${name}: ${(err as Error).message}`, {
        value: name,
        cause: err,
      });
    }
  }

  /** Names of all blobs. */
  async listBlobs(): Promise<string[]> {
    return (await fs.promises.readdir(this.blobDir)).filter((f) => !f.endsWith(".tmp")).sort();
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    let text: string | undefined;
    try {
      text = await this.db.get(key);
    } catch (err) {
      throw new StoreError("STORE_IO", `cannot read ${key}: ${(err as Error).message}`, { value: key, cause: err });
    }
    return text === undefined ? undefined : decodeValue<T>(text);
  }

  async put(key: string, value: unknown): Promise<void> {
    const text = encodeValue(value);
    try {
      await this.db.put(key, text);
    } catch (err) {
      throw new StoreError("STORE_IO", `cannot write ${key}: ${(err as Error).message}`, { value: key, cause: err });
    }
  }

  async del(key: string): Promise<void> {
    try {
      await this.db.del(key);
    } catch (err) {
      throw new StoreError("STORE_IO", `cannot delete ${key}: ${(err as Error).message}`, { value: key, cause: err });
    }
  }

  /** An atomic batch of puts and deletes. */
  batch(): StoreBatch {
    const ops: Array<{ type: "put"; key: string; value: string } | { type: "del"; key: string }> = [];
    const db = this.db;
    const b: StoreBatch = {
      put(key, value) {
        ops.push({ type: "put", key, value: encodeValue(value) });
        return b;
      },
      del(key) {
        ops.push({ type: "del", key });
        return b;
      },
      get length() {
        return ops.length;
      },
      async write(options) {
        if (ops.length === 0) return;
        try {
          await db.batch(ops, { sync: options?.sync === true });
        } catch (err) {
          throw new StoreError("STORE_IO", `batch of ${ops.length} failed: ${(err as Error).message}`, {
            value: ops.length,
            cause: err,
          });
        }
      },
    };
    return b;
  }

  /** Entries whose key starts with `prefix`, in key order. */
  async *entries<T = unknown>(prefix = ""): AsyncGenerator<[string, T]> {
    const range = prefix === "" ? {} : { gte: prefix, lt: `${prefix}\uffff` };
    for await (const [key, text] of this.db.iterator(range)) yield [key, decodeValue<T>(text)];
  }

  /** Keys that start with `prefix`. */
  async keys(prefix = ""): Promise<string[]> {
    const range = prefix === "" ? {} : { gte: prefix, lt: `${prefix}\uffff` };
    return this.db.keys(range).all();
  }

  get isOpen(): boolean {
    return this.db.status === "open";
  }

  async close(): Promise<void> {
    if (this.db.status === "open" || this.db.status === "opening") await this.db.close();
  }
}
