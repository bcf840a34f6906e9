/**
 * The meta index: every owner's directory tree (path → file → slices → replica nodes) in LevelDB, changed only
 * by applying replicated log entries, in log order, one atomic batch per call — so every meta node that applies
 * the same log holds the same index. `apply` is idempotent by log index (an entry at or below the applied
 * position is a duplicate and changes nothing) and its outcome is deterministic (a write the tree refuses is
 * rejected the same way everywhere, after consuming its nonce so that the signed write can never be replayed).
 *
 * File-system semantics (paths: index/paths.ts):
 * - put creates missing parent directories (like `mkdir -p`) and replaces an existing file; a directory at the
 *   path, or a file among its parents, refuses it.
 * - mkdir is `mkdir -p`: existing directories are fine, a file in the way is `META_EXISTS` / `META_NOT_DIRECTORY`.
 * - rm removes a file or an empty directory; a non-empty one needs `recursive`; `/` with `recursive` empties the
 *   namespace. A trailing slash insists on a directory.
 * - mv is `mv`: onto an existing directory it moves into it; onto a file it replaces the file (a directory onto
 *   an empty directory replaces it, onto a non-empty one is refused); the destination's parent must exist; a
 *   directory cannot move into itself.
 * Reads (stat, ls, locate) are open to anyone; the Bloom filter answers "not here" before LevelDB is read.
 */
import type { Address, Hex } from "viem";
import { HmsError } from "../../core/errors";
import type { Store } from "../../core/store";
import type { FileLocation, NodeEndpoint } from "../../protocol/network";
import { DEFAULT_FALSE_POSITIVE_RATE, GROWTH, IndexBloom } from "../bloom";
import { ancestorsOf, baseName, isWithin, joinPath, parentOf, parsePath, ROOT } from "./paths";
import {
  entries,
  INDEX_PREFIX,
  IndexTx,
  lastWrites,
  nonces,
  position as positionRepo,
  rootCids,
  slices as sliceRepo,
  storeReader,
  uploads,
  type IndexReader,
} from "./repositories";
import type {
  ApplyOutcome,
  DirEntry,
  DirRecord,
  EntryRecord,
  FileRecord,
  IndexCommand,
  LastWrite,
  LogPosition,
  SliceRecord,
  StatResult,
} from "./types";

/** A log entry as the index applies it; commands of other state machines (receipts…) only advance the position. */
export interface IndexEntry {
  term: bigint;
  index: bigint;
  command: IndexCommand | { kind: string };
}

/** Options of {@link MetaIndex.open}. */
export interface MetaIndexOptions {
  falsePositiveRate?: number;
  bloomSeed?: number;
}

/** Counters for metrics. */
export interface IndexStats {
  /** Lookups the Bloom filter answered "not here" without touching LevelDB. */
  bloomNegatives: number;
  /** Lookups that passed the filter and found the key. */
  bloomHits: number;
  /** Lookups that passed the filter and found nothing (false positives, or removed keys). */
  bloomFalsePositives: number;
  bloomRebuilds: number;
}

const INDEX_KINDS = new Set(["put", "mkdir", "rm", "mv", "replicas"]);

/** A typed refusal raised inside a command handler, turned into a "rejected" outcome. */
class Rejection extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function reject(code: string, message: string): never {
  throw new Rejection(code, message);
}

function lower(a: Address): Address {
  return a.toLowerCase() as Address;
}

export class MetaIndex {
  private applied: LogPosition = { term: 0n, index: 0n };
  private queue: Promise<unknown> = Promise.resolve();
  private filter!: IndexBloom;
  readonly stats: IndexStats = { bloomNegatives: 0, bloomHits: 0, bloomFalsePositives: 0, bloomRebuilds: 0 };
  private readonly reader: IndexReader;

  private constructor(
    readonly store: Store,
    private readonly options: MetaIndexOptions,
  ) {
    this.reader = storeReader(store);
  }

  /** Opens the index in `store` (its `idx:` keys) and rebuilds the Bloom filter from it. */
  static async open(store: Store, options: MetaIndexOptions = {}): Promise<MetaIndex> {
    const index = new MetaIndex(store, options);
    index.applied = await positionRepo.get(index.reader);
    await index.rebuildBloom();
    return index;
  }

  /** The last applied log position. */
  get position(): LogPosition {
    return { ...this.applied };
  }

  get bloom(): IndexBloom {
    return this.filter;
  }

  /** Rebuilds the Bloom filter from the root-CID table (every file's CID and owner + path), with room to grow. */
  async rebuildBloom(): Promise<void> {
    const keys = await this.store.keys(rootCids.prefix);
    const bloom = IndexBloom.create({
      capacity: keys.length * GROWTH,
      falsePositiveRate: this.options.falsePositiveRate ?? DEFAULT_FALSE_POSITIVE_RATE,
      seed: this.options.bloomSeed,
    });
    for (const k of keys) {
      const ref = rootCids.parse(k);
      bloom.add(IndexBloom.cidKey(ref.cid));
      bloom.add(IndexBloom.pathKey(ref.owner, ref.path));
    }
    this.filter = bloom;
    this.stats.bloomRebuilds++;
  }

  private serialize<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Applies one entry (see {@link applyAll}). */
  async apply(entry: IndexEntry, stage?: (tx: IndexTx) => Promise<void>): Promise<ApplyOutcome> {
    return (await this.applyAll([entry], stage))[0];
  }

  /**
   * Applies consecutive entries in one atomic batch and returns one outcome per entry. Entries at or below the
   * applied position are duplicates; a gap throws `META_LOG_GAP`, a term below the applied one `META_BAD_WRITE`
   * (nothing is written then). `stage` may add other writes to the same batch (another state machine's).
   */
  async applyAll(list: readonly IndexEntry[], stage?: (tx: IndexTx) => Promise<void>): Promise<ApplyOutcome[]> {
    return this.serialize(async () => {
      const tx = new IndexTx(this.store);
      const bloomKeys: string[] = [];
      const outcomes: ApplyOutcome[] = [];
      let pos = this.applied;
      for (const entry of list) {
        if (entry.index <= pos.index) {
          outcomes.push({ status: "duplicate" });
          continue;
        }
        if (entry.index !== pos.index + 1n)
          throw new HmsError("META_LOG_GAP", `entry ${entry.index} does not follow applied index ${pos.index}`, {
            value: entry.index.toString(),
          });
        if (entry.term < pos.term)
          throw new HmsError("META_BAD_WRITE", `entry ${entry.index} has term ${entry.term} below ${pos.term}`, {
            value: entry.term.toString(),
          });
        pos = { term: entry.term, index: entry.index };
        outcomes.push(await this.applyCommand(tx, entry, bloomKeys));
      }
      if (pos.index === this.applied.index) return outcomes;
      positionRepo.put(tx, pos);
      if (stage !== undefined) await stage(tx);
      await tx.commit();
      this.applied = pos;
      for (const k of bloomKeys) this.filter.add(k);
      if (this.filter.needsRebuild) await this.rebuildBloom();
      return outcomes;
    });
  }

  private async applyCommand(tx: IndexTx, entry: IndexEntry, bloomKeys: string[]): Promise<ApplyOutcome> {
    if (!INDEX_KINDS.has(entry.command.kind)) return { status: "applied" };
    const cmd = entry.command as IndexCommand;
    try {
      if (cmd.kind === "replicas") {
        await this.applyReplicas(tx, cmd);
        return { status: "applied" };
      }
      const owner = lower(cmd.owner);
      const last = await nonces.get(tx, owner);
      if (last !== undefined && cmd.nonce <= last)
        reject("META_REPLAYED", `nonce ${cmd.nonce} is not above the last accepted ${last}`);
      nonces.put(tx, owner, cmd.nonce);
      const pos = { term: entry.term, index: entry.index };
      const outcome = await this.applyWrite(tx, cmd, owner, pos, bloomKeys);
      if (cmd.digest !== undefined)
        lastWrites.put(tx, owner, {
          nonce: cmd.nonce,
          digest: cmd.digest,
          term: pos.term,
          index: pos.index,
          status: outcome.status === "rejected" ? "rejected" : "applied",
          ...(outcome.status === "rejected" ? { code: outcome.code, message: outcome.message } : {}),
        });
      return outcome;
    } catch (err) {
      if (err instanceof Rejection) return { status: "rejected", code: err.code, message: err.message };
      throw err;
    }
  }

  /** Applies an admitted owner's write (its nonce already taken); a refusal is an outcome, not an error. */
  private async applyWrite(
    tx: IndexTx,
    cmd: Exclude<IndexCommand, { kind: "replicas" }>,
    owner: Address,
    pos: LogPosition,
    bloomKeys: string[],
  ): Promise<ApplyOutcome> {
    try {
      switch (cmd.kind) {
        case "put":
          await this.applyPut(tx, cmd, owner, pos, bloomKeys);
          break;
        case "mkdir":
          await this.applyMkdir(tx, cmd, owner, pos);
          break;
        case "rm":
          await this.applyRm(tx, cmd, owner);
          break;
        case "mv":
          await this.applyMv(tx, cmd, owner, pos, bloomKeys);
          break;
      }
      return { status: "applied" };
    } catch (err) {
      if (err instanceof Rejection) return { status: "rejected", code: err.code, message: err.message };
      if (err instanceof HmsError && err.code === "META_BAD_PATH")
        return { status: "rejected", code: err.code, message: err.message };
      throw err;
    }
  }

  /** What a put at `path` finds (throws a Rejection if the index would refuse it): the rule of applyPut. */
  private async putTarget(r: IndexReader, owner: Address, path: string) {
    const p = parsePath(path);
    if (p.trailingSlash) reject("META_BAD_PATH", `a file path cannot end with / (${path})`);
    const missing = await this.missingAncestors(r, owner, p.path);
    const existing = await entries.get(r, owner, p.path);
    if (existing?.kind === "dir") reject("META_IS_DIRECTORY", `${p.path} is a directory`);
    return { p, missing, existing };
  }

  /**
   * Throws the typed error (META_BAD_PATH, META_IS_DIRECTORY, META_NOT_DIRECTORY) a put of a file at `path` would
   * get now — checked before an upload is placed, so that no byte moves for a write the index would refuse
   * (the put's commit applies the same rule again).
   */
  async checkPut(owner: Address, path: string): Promise<void> {
    try {
      await this.putTarget(this.reader, lower(owner), path);
    } catch (err) {
      if (err instanceof Rejection) throw new HmsError(err.code as never, err.message, { value: path });
      throw err;
    }
  }

  /** Checks that every ancestor of `path` is a directory (or absent); returns the absent ones. */
  private async missingAncestors(r: IndexReader, owner: Address, path: string): Promise<string[]> {
    const missing: string[] = [];
    for (const a of ancestorsOf(path)) {
      if (a === ROOT) continue;
      const e = await entries.get(r, owner, a);
      if (e === undefined) missing.push(a);
      else if (e.kind === "file") reject("META_NOT_DIRECTORY", `${a} is a file, not a directory`);
    }
    return missing;
  }

  private dirRecord(owner: Address, path: string, pos: LogPosition, time: bigint): EntryRecord {
    return { kind: "dir", dir: { owner, path, term: pos.term, index: pos.index, time } };
  }

  private async applyPut(
    tx: IndexTx,
    cmd: Extract<IndexCommand, { kind: "put" }>,
    owner: Address,
    pos: LogPosition,
    bloomKeys: string[],
  ): Promise<void> {
    const { p, missing, existing } = await this.putTarget(tx, owner, cmd.path);
    for (const d of missing) entries.put(tx, owner, d, this.dirRecord(owner, d, pos, cmd.time));
    if (existing?.kind === "file") await this.removeFile(tx, existing.file);
    for (const s of [...cmd.slices, ...cmd.dagBlocks]) {
      const rec: SliceRecord = (await sliceRepo.get(tx, s.cid)) ?? { cid: s.cid, size: s.size, replicas: [], refs: 0 };
      sliceRepo.put(tx, { ...rec, replicas: mergeReplicas(rec.replicas, s.replicas), refs: rec.refs + 1 });
    }
    const file: FileRecord = {
      owner,
      path: p.path,
      rootCid: cmd.rootCid,
      size: cmd.size,
      sliceSize: cmd.sliceSize,
      uploadId: cmd.uploadId.toLowerCase() as Hex,
      slices: cmd.slices.map((s) => ({ cid: s.cid, size: s.size })),
      dagBlocks: cmd.dagBlocks.map((s) => ({ cid: s.cid, size: s.size })),
      leases: cmd.leases,
      term: pos.term,
      index: pos.index,
      time: cmd.time,
    };
    this.addFile(tx, file, bloomKeys);
  }

  private addFile(tx: IndexTx, file: FileRecord, bloomKeys: string[]): void {
    entries.put(tx, file.owner, file.path, { kind: "file", file });
    rootCids.put(tx, file.rootCid, file.owner, file.path);
    uploads.put(tx, file.uploadId, { owner: file.owner, path: file.path, rootCid: file.rootCid });
    bloomKeys.push(IndexBloom.cidKey(file.rootCid), IndexBloom.pathKey(file.owner, file.path));
  }

  /** Drops a file's entry and references (its slices when no other file uses them). */
  private async removeFile(tx: IndexTx, file: FileRecord): Promise<void> {
    entries.del(tx, file.owner, file.path);
    rootCids.del(tx, file.rootCid, file.owner, file.path);
    const up = await uploads.get(tx, file.uploadId);
    if (up !== undefined && up.owner === file.owner && up.path === file.path) uploads.del(tx, file.uploadId);
    for (const s of [...file.slices, ...file.dagBlocks]) {
      const rec = await sliceRepo.get(tx, s.cid);
      if (rec === undefined) continue;
      if (rec.refs <= 1) sliceRepo.del(tx, s.cid);
      else sliceRepo.put(tx, { ...rec, refs: rec.refs - 1 });
    }
  }

  /** Every entry below `dir` (not `dir` itself), parents before children. */
  private async descendants(r: IndexReader, owner: Address, dir: string): Promise<EntryRecord[]> {
    const out: EntryRecord[] = [];
    const queue = [dir];
    while (queue.length > 0) {
      const d = queue.shift() as string;
      for (const child of await entries.children(r, owner, d)) {
        out.push(child);
        if (child.kind === "dir") queue.push(child.dir.path);
      }
    }
    return out;
  }

  private async applyMkdir(
    tx: IndexTx,
    cmd: Extract<IndexCommand, { kind: "mkdir" }>,
    owner: Address,
    pos: LogPosition,
  ): Promise<void> {
    const p = parsePath(cmd.path);
    if (p.path === ROOT) return;
    const missing = await this.missingAncestors(tx, owner, p.path);
    const existing = await entries.get(tx, owner, p.path);
    if (existing?.kind === "file") reject("META_EXISTS", `${p.path} is a file`);
    if (existing?.kind === "dir") return;
    for (const d of [...missing, p.path]) entries.put(tx, owner, d, this.dirRecord(owner, d, pos, cmd.time));
  }

  private async applyRm(tx: IndexTx, cmd: Extract<IndexCommand, { kind: "rm" }>, owner: Address): Promise<void> {
    const p = parsePath(cmd.path);
    let below: EntryRecord[];
    if (p.path === ROOT) {
      below = await this.descendants(tx, owner, ROOT);
      if (below.length > 0 && !cmd.recursive) reject("META_DIR_NOT_EMPTY", `/ is not empty (rm -r to empty it)`);
    } else {
      const e = await entries.get(tx, owner, p.path);
      if (e === undefined) reject("META_NOT_FOUND", `no such file or directory: ${p.path}`);
      if (e.kind === "file") {
        if (p.trailingSlash) reject("META_NOT_DIRECTORY", `${p.path} is a file, not a directory`);
        await this.removeFile(tx, e.file);
        return;
      }
      below = await this.descendants(tx, owner, p.path);
      if (below.length > 0 && !cmd.recursive) reject("META_DIR_NOT_EMPTY", `${p.path} is not empty (rm -r)`);
      entries.del(tx, owner, p.path);
    }
    for (const e of below) {
      if (e.kind === "file") await this.removeFile(tx, e.file);
      else entries.del(tx, owner, e.dir.path);
    }
  }

  private async applyMv(
    tx: IndexTx,
    cmd: Extract<IndexCommand, { kind: "mv" }>,
    owner: Address,
    pos: LogPosition,
    bloomKeys: string[],
  ): Promise<void> {
    const from = parsePath(cmd.path);
    const to = parsePath(cmd.target);
    if (from.path === ROOT) reject("META_BAD_PATH", "cannot move the root directory");
    const src = await entries.get(tx, owner, from.path);
    if (src === undefined) reject("META_NOT_FOUND", `no such file or directory: ${from.path}`);
    if (src.kind === "file" && from.trailingSlash) reject("META_NOT_DIRECTORY", `${from.path} is a file`);
    let dst = to.path;
    const atTarget = to.path === ROOT ? "dir" : (await entries.get(tx, owner, to.path))?.kind;
    if (atTarget === "dir") dst = joinPath(to.path, baseName(from.path));
    else if (to.trailingSlash) {
      if (atTarget === "file") reject("META_NOT_DIRECTORY", `${to.path} is a file, not a directory`);
      reject("META_NOT_FOUND", `no such directory: ${to.path}`);
    }
    if (dst === from.path) return;
    if (src.kind === "dir" && isWithin(dst, from.path))
      reject("META_MOVE_INTO_SELF", `cannot move ${from.path} into itself (${dst})`);
    const parent = parentOf(dst);
    if (parent !== ROOT) {
      const pe = await entries.get(tx, owner, parent);
      if (pe === undefined) reject("META_NOT_FOUND", `no such directory: ${parent}`);
      if (pe.kind === "file") reject("META_NOT_DIRECTORY", `${parent} is a file, not a directory`);
    }
    const existing = await entries.get(tx, owner, dst);
    if (existing !== undefined) {
      if (src.kind === "file" && existing.kind === "dir") reject("META_IS_DIRECTORY", `${dst} is a directory`);
      if (src.kind === "dir" && existing.kind === "file") reject("META_NOT_DIRECTORY", `${dst} is a file`);
      if (existing.kind === "dir" && (await entries.hasChildren(tx, owner, dst)))
        reject("META_DIR_NOT_EMPTY", `${dst} is not empty`);
      if (existing.kind === "file") await this.removeFile(tx, existing.file);
      else entries.del(tx, owner, dst);
    }
    const moveFile = async (file: FileRecord, newPath: string) => {
      entries.del(tx, owner, file.path);
      rootCids.del(tx, file.rootCid, owner, file.path);
      this.addFile(tx, { ...file, path: newPath, term: pos.term, index: pos.index }, bloomKeys);
    };
    if (src.kind === "file") {
      await moveFile(src.file, dst);
      return;
    }
    const below = await this.descendants(tx, owner, from.path);
    entries.del(tx, owner, from.path);
    entries.put(tx, owner, dst, { kind: "dir", dir: { ...src.dir, path: dst } });
    for (const e of below) {
      const oldPath = e.kind === "file" ? e.file.path : e.dir.path;
      const newPath = dst + oldPath.slice(from.path.length);
      if (e.kind === "file") await moveFile(e.file, newPath);
      else {
        entries.del(tx, owner, oldPath);
        entries.put(tx, owner, newPath, { kind: "dir", dir: { ...e.dir, path: newPath } });
      }
    }
  }

  private async applyReplicas(tx: IndexTx, cmd: Extract<IndexCommand, { kind: "replicas" }>): Promise<void> {
    const rec = await sliceRepo.get(tx, cmd.cid);
    if (rec === undefined) reject("META_NOT_FOUND", `no slice ${cmd.cid} in the index`);
    const remove = new Set(cmd.remove.map((n) => n.toLowerCase()));
    const kept = rec.replicas.filter((n) => !remove.has(n.nodeId.toLowerCase()));
    sliceRepo.put(tx, { ...rec, replicas: mergeReplicas(kept, cmd.add) });
  }

  // ── reads ──────────────────────────────────────────────────────────────────────────────────────────────

  /** `stat`: the file or directory at `path`; throws `META_NOT_FOUND` / `META_NOT_DIRECTORY` / `META_BAD_PATH`. */
  async stat(owner: Address, path: string): Promise<StatResult> {
    const o = lower(owner);
    const p = parsePath(path);
    if (p.path === ROOT) {
      const children = (await entries.children(this.reader, o, ROOT)).length;
      return { kind: "dir", dir: { owner: o, path: ROOT, term: 0n, index: 0n, time: 0n }, children };
    }
    const e = await entries.get(this.reader, o, p.path);
    if (e === undefined) throw notFound(p.path);
    if (e.kind === "file") {
      if (p.trailingSlash)
        throw new HmsError("META_NOT_DIRECTORY", `${p.path} is a file, not a directory`, { value: path });
      return { kind: "file", file: e.file };
    }
    return { kind: "dir", dir: e.dir, children: (await entries.children(this.reader, o, p.path)).length };
  }

  /** `ls`: the entries of a directory in name order (of a file: the file itself, like `ls file`). */
  async ls(owner: Address, path: string): Promise<DirEntry[]> {
    const o = lower(owner);
    const st = await this.stat(o, path);
    if (st.kind === "file")
      return [
        {
          name: baseName(st.file.path),
          kind: "file",
          path: st.file.path,
          size: st.file.size,
          rootCid: st.file.rootCid,
        },
      ];
    return (await entries.children(this.reader, o, st.dir.path)).map((e) =>
      e.kind === "file"
        ? { name: baseName(e.file.path), kind: "file", path: e.file.path, size: e.file.size, rootCid: e.file.rootCid }
        : { name: baseName(e.dir.path), kind: "dir", path: e.dir.path },
    );
  }

  /** False when the Bloom filter says the file is definitely not in the index. */
  mightContain(query: { cid: string } | { owner: Address; path: string }): boolean {
    const key =
      "cid" in query ? IndexBloom.cidKey(query.cid) : IndexBloom.pathKey(query.owner, normalizeOrSelf(query.path));
    return this.filter.mightContain(key);
  }

  /** The file record by root CID or owner + path (Bloom filter first); throws `META_NOT_FOUND`. */
  async file(query: { cid: string } | { owner: Address; path: string }): Promise<FileRecord> {
    if (!this.mightContain(query)) {
      this.stats.bloomNegatives++;
      throw notFound("cid" in query ? query.cid : query.path);
    }
    let file: FileRecord | undefined;
    if ("cid" in query) {
      const [ref] = await rootCids.refs(this.reader, query.cid);
      const e = ref === undefined ? undefined : await entries.get(this.reader, ref.owner, ref.path);
      if (e?.kind === "file") file = e.file;
    } else {
      const p = parsePath(query.path);
      const e = await entries.get(this.reader, lower(query.owner), p.path);
      if (e?.kind === "dir") throw new HmsError("META_IS_DIRECTORY", `${p.path} is a directory`, { value: query.path });
      if (e?.kind === "file") file = e.file;
    }
    if (file === undefined) {
      this.stats.bloomFalsePositives++;
      throw notFound("cid" in query ? query.cid : query.path);
    }
    this.stats.bloomHits++;
    return file;
  }

  /** {@link StorageNetwork.locate}: a file's slices with their offsets and replicas. */
  async locate(query: { cid: string } | { owner: Address; path: string }): Promise<FileLocation> {
    const file = await this.file(query);
    let offset = 0n;
    const out: FileLocation["slices"] = [];
    for (const s of file.slices) {
      const rec = await sliceRepo.get(this.reader, s.cid);
      out.push({ cid: s.cid, offset, size: s.size, replicas: rec?.replicas ?? [] });
      offset += BigInt(s.size);
    }
    return {
      owner: file.owner,
      path: file.path,
      rootCid: file.rootCid,
      size: file.size,
      sliceSize: file.sliceSize,
      slices: out,
      term: file.term,
      index: file.index,
    };
  }

  /** A slice's (or DAG block's) record. */
  async slice(cid: string): Promise<SliceRecord | undefined> {
    return sliceRepo.get(this.reader, cid);
  }

  /** Every slice record (health / repair walk them). */
  async *allSlices(): AsyncGenerator<SliceRecord> {
    for await (const [, v] of this.store.entries<SliceRecord>(sliceRepo.prefix)) yield v;
  }

  /** The owner's last admitted write and its outcome (answers a retry of the same signed write). */
  async lastWrite(owner: Address): Promise<LastWrite | undefined> {
    return lastWrites.get(this.reader, lower(owner));
  }

  /** The owner's last applied nonce (the master adds the ones it logged but not yet applied). */
  async lastNonce(owner: Address): Promise<bigint | undefined> {
    return nonces.get(this.reader, lower(owner));
  }

  /** {@link UploadCommits.committed}: which of these uploads are recorded in the index. */
  async committed(uploadIds: readonly Hex[]): Promise<Set<Hex>> {
    const out = new Set<Hex>();
    for (const id of uploadIds) if ((await uploads.get(this.reader, id)) !== undefined) out.add(id);
    return out;
  }

  // ── snapshots (catch-up of a new or lagging meta node) ──────────────────────────────────────────────────

  /** Every key of the index (including its applied position) from one consistent LevelDB snapshot. */
  async *snapshot(): AsyncGenerator<[string, unknown]> {
    for await (const kv of this.store.entries(INDEX_PREFIX)) yield kv;
  }

  /**
   * Replaces the whole index by a snapshot's pairs (one atomic batch) and rebuilds the Bloom filter. The
   * snapshot must carry its position key; throws `META_BAD_SNAPSHOT` otherwise or for a foreign key.
   */
  async installSnapshot(pairs: Iterable<[string, unknown]>): Promise<LogPosition> {
    return this.serialize(async () => {
      const batch = this.store.batch();
      for (const k of await this.store.keys(INDEX_PREFIX)) batch.del(k);
      let pos: LogPosition | undefined;
      for (const [k, v] of pairs) {
        if (!k.startsWith(INDEX_PREFIX))
          throw new HmsError("META_BAD_SNAPSHOT", `snapshot key outside the index: ${k}`, { value: k });
        if (k === positionRepo.key) pos = v as LogPosition;
        batch.put(k, v);
      }
      if (pos === undefined || typeof pos.index !== "bigint" || typeof pos.term !== "bigint")
        throw new HmsError("META_BAD_SNAPSHOT", "snapshot has no log position", { value: positionRepo.key });
      await batch.write();
      this.applied = pos;
      await this.rebuildBloom();
      return { ...pos };
    });
  }
}

function notFound(what: string): HmsError {
  return new HmsError("META_NOT_FOUND", `not in the index: ${what}`, { value: what });
}

function normalizeOrSelf(path: string): string {
  try {
    return parsePath(path).path;
  } catch {
    return path;
  }
}

/** `a` plus the nodes of `b` it does not have (by node id), order kept. */
export function mergeReplicas(a: readonly NodeEndpoint[], b: readonly NodeEndpoint[]): NodeEndpoint[] {
  const out = [...a];
  const have = new Set(a.map((n) => n.nodeId.toLowerCase()));
  for (const n of b)
    if (!have.has(n.nodeId.toLowerCase())) {
      have.add(n.nodeId.toLowerCase());
      out.push(n);
    }
  return out;
}

export type { DirRecord };
