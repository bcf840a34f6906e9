/**
 * Typed repositories of the index over one LevelDB {@link Store}: one key prefix per kind, keys and values
 * encoded here and nowhere else. Writes go through a {@link IndexTx} (an overlay of pending puts and deletes that
 * later reads in the same transaction see), committed as one atomic batch.
 *
 * Keys (`\0` separates parts; paths never contain it):
 *   idx:e:<owner>\0<parent dir>\0<name>   → EntryRecord   (stat by owner+path, ls by prefix)
 *   idx:c:<root cid>\0<owner>\0<path>     → 1             (files by root CID)
 *   idx:s:<slice cid>                     → SliceRecord   (slice → replica nodes)
 *   idx:n:<owner>                         → bigint        (last accepted IndexWrite nonce)
 *   idx:u:<upload id>                     → UploadRef     (committed uploads, for the workers' GC)
 *   idx:p                                 → LogPosition   (last applied log entry)
 */
import type { Address, Hex } from "viem";
import type { Store } from "../../core/store";
import { baseName, parentOf, ROOT } from "./paths";
import type { EntryRecord, LastWrite, LogPosition, SliceRecord } from "./types";

const SEP = "\u0000";
const END = "\uffff";
export const INDEX_PREFIX = "idx:";
const P_ENTRY = `${INDEX_PREFIX}e:`;
const P_CID = `${INDEX_PREFIX}c:`;
const P_SLICE = `${INDEX_PREFIX}s:`;
const P_NONCE = `${INDEX_PREFIX}n:`;
const P_UPLOAD = `${INDEX_PREFIX}u:`;
const P_LAST_WRITE = `${INDEX_PREFIX}lw:`;
const K_POSITION = `${INDEX_PREFIX}p`;

/** Reads of a store or of a transaction (which sees its own pending writes). */
export interface IndexReader {
  get<T>(key: string): Promise<T | undefined>;
  /** Entries whose key starts with `prefix`, in key order. */
  scan<T>(prefix: string): Promise<Array<[string, T]>>;
}

/** The {@link IndexReader} of a bare store. */
export function storeReader(store: Store): IndexReader {
  return {
    get: <T>(key: string) => store.get<T>(key),
    async scan<T>(prefix: string) {
      const out: Array<[string, T]> = [];
      for await (const kv of store.entries<T>(prefix)) out.push(kv);
      return out;
    },
  };
}

const DELETED = Symbol("deleted");

/** Pending writes over a store; {@link commit} writes them in one atomic batch. */
export class IndexTx implements IndexReader {
  private readonly overlay = new Map<string, unknown>();

  constructor(private readonly store: Store) {}

  async get<T>(key: string): Promise<T | undefined> {
    if (this.overlay.has(key)) {
      const v = this.overlay.get(key);
      return v === DELETED ? undefined : (v as T);
    }
    return this.store.get<T>(key);
  }

  async scan<T>(prefix: string): Promise<Array<[string, T]>> {
    const merged = new Map<string, T>();
    for await (const [k, v] of this.store.entries<T>(prefix)) merged.set(k, v);
    for (const [k, v] of this.overlay)
      if (k.startsWith(prefix)) {
        if (v === DELETED) merged.delete(k);
        else merged.set(k, v as T);
      }
    return [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  put(key: string, value: unknown): void {
    this.overlay.set(key, value);
  }

  del(key: string): void {
    this.overlay.set(key, DELETED);
  }

  /** Number of pending writes. */
  get size(): number {
    return this.overlay.size;
  }

  async commit(): Promise<void> {
    const batch = this.store.batch();
    for (const [k, v] of this.overlay) {
      if (v === DELETED) batch.del(k);
      else batch.put(k, v);
    }
    await batch.write();
    this.overlay.clear();
  }
}

/** Entries (files and directories) by owner + normal-form path; listing by directory. */
export const entries = {
  key(owner: Address, path: string): string {
    return `${P_ENTRY}${owner}${SEP}${parentOf(path)}${SEP}${baseName(path)}`;
  },
  childPrefix(owner: Address, dir: string): string {
    return `${P_ENTRY}${owner}${SEP}${dir}${SEP}`;
  },
  /** The owner's prefix (every entry of one namespace). */
  ownerPrefix(owner: Address): string {
    return `${P_ENTRY}${owner}${SEP}`;
  },
  prefix: P_ENTRY,
  async get(r: IndexReader, owner: Address, path: string): Promise<EntryRecord | undefined> {
    if (path === ROOT) return undefined;
    return r.get<EntryRecord>(entries.key(owner, path));
  },
  async children(r: IndexReader, owner: Address, dir: string): Promise<EntryRecord[]> {
    return (await r.scan<EntryRecord>(entries.childPrefix(owner, dir))).map(([, v]) => v);
  },
  /** True if `dir` has at least one child (a bounded scan would do; the overlay makes a full one simpler). */
  async hasChildren(r: IndexReader, owner: Address, dir: string): Promise<boolean> {
    return (await r.scan(entries.childPrefix(owner, dir))).length > 0;
  },
  put(tx: IndexTx, owner: Address, path: string, record: EntryRecord): void {
    tx.put(entries.key(owner, path), record);
  },
  del(tx: IndexTx, owner: Address, path: string): void {
    tx.del(entries.key(owner, path));
  },
};

/** Where a root CID is stored. */
export interface CidRef {
  owner: Address;
  path: string;
}

/** Files by root CID (several owners or paths may hold the same content). */
export const rootCids = {
  key(cid: string, owner: Address, path: string): string {
    return `${P_CID}${cid}${SEP}${owner}${SEP}${path}`;
  },
  prefix: P_CID,
  async refs(r: IndexReader, cid: string): Promise<CidRef[]> {
    const pre = `${P_CID}${cid}${SEP}`;
    return (await r.scan(pre)).map(([k]) => {
      const rest = k.slice(pre.length);
      const i = rest.indexOf(SEP);
      return { owner: rest.slice(0, i) as Address, path: rest.slice(i + 1) };
    });
  },
  /** Decodes a key of this table. */
  parse(key: string): { cid: string } & CidRef {
    const parts = key.slice(P_CID.length).split(SEP);
    return { cid: parts[0], owner: parts[1] as Address, path: parts[2] };
  },
  put(tx: IndexTx, cid: string, owner: Address, path: string): void {
    tx.put(rootCids.key(cid, owner, path), 1);
  },
  del(tx: IndexTx, cid: string, owner: Address, path: string): void {
    tx.del(rootCids.key(cid, owner, path));
  },
  /** Upper bound of this table's keys (for range scans). */
  end: `${P_CID}${END}`,
};

/** Slices and DAG blocks → the nodes holding their copies. */
export const slices = {
  key(cid: string): string {
    return `${P_SLICE}${cid}`;
  },
  prefix: P_SLICE,
  async get(r: IndexReader, cid: string): Promise<SliceRecord | undefined> {
    return r.get<SliceRecord>(slices.key(cid));
  },
  put(tx: IndexTx, record: SliceRecord): void {
    tx.put(slices.key(record.cid), record);
  },
  del(tx: IndexTx, cid: string): void {
    tx.del(slices.key(cid));
  },
};

/** Last accepted IndexWrite nonce per owner. */
export const nonces = {
  key(owner: Address): string {
    return `${P_NONCE}${owner}`;
  },
  async get(r: IndexReader, owner: Address): Promise<bigint | undefined> {
    return r.get<bigint>(nonces.key(owner));
  },
  put(tx: IndexTx, owner: Address, nonce: bigint): void {
    tx.put(nonces.key(owner), nonce);
  },
};

/** The owner's last admitted write and its outcome (types.ts LastWrite). */
export const lastWrites = {
  key(owner: Address): string {
    return `${P_LAST_WRITE}${owner}`;
  },
  async get(r: IndexReader, owner: Address): Promise<LastWrite | undefined> {
    return r.get<LastWrite>(lastWrites.key(owner));
  },
  put(tx: IndexTx, owner: Address, w: LastWrite): void {
    tx.put(lastWrites.key(owner), w);
  },
};

/** A committed upload and the file it became. */
export interface UploadRef {
  owner: Address;
  path: string;
  rootCid: string;
}

/** Committed uploads by upload id. */
export const uploads = {
  key(uploadId: Hex): string {
    return `${P_UPLOAD}${uploadId.toLowerCase()}`;
  },
  async get(r: IndexReader, uploadId: Hex): Promise<UploadRef | undefined> {
    return r.get<UploadRef>(uploads.key(uploadId));
  },
  put(tx: IndexTx, uploadId: Hex, ref: UploadRef): void {
    tx.put(uploads.key(uploadId), ref);
  },
  del(tx: IndexTx, uploadId: Hex): void {
    tx.del(uploads.key(uploadId));
  },
};

/** The last applied log position. */
export const position = {
  key: K_POSITION,
  async get(r: IndexReader): Promise<LogPosition> {
    return (await r.get<LogPosition>(K_POSITION)) ?? { term: 0n, index: 0n };
  },
  put(tx: IndexTx, pos: LogPosition): void {
    tx.put(K_POSITION, pos);
  },
};
