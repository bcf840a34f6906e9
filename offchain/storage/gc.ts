/**
 * Garbage collection (docs/STORAGE.md, "GC"), one pass every `gc.intervalMs`:
 *
 *   1. temp files older than `tempGraceMs` that no live writer owns — orphans of a client or worker killed
 *      mid-upload (a restart already deletes all of them);
 *   2. uploads whose grant expired more than `uploadGraceMs` ago: if the meta layer says it committed the
 *      upload, its blocks are pinned and the record dropped; if not, the upload was abandoned (a client killed
 *      mid-upload, a failed commit) and its blocks are deleted unless pinned or held by another upload;
 *   3. blocks older than the grace with no upload record and no pin (a crash between a block's rename and its
 *      record) are deleted.
 *
 * Steps 2 and 3 need an {@link UploadCommits} oracle: without one a worker cannot know what the index
 * references, so it deletes no block.
 */
import fs from "node:fs";
import type { Hex } from "viem";
import type { Logger } from "pino";
import type { Metrics } from "../core/metrics";
import type { UploadCommits } from "../protocol/storage-wire";
import type { SliceStore } from "./blockstore";
import type { UploadRecords } from "./state";

export interface GcOptions {
  tempGraceMs: number;
  uploadGraceMs: number;
}

export interface GcResult {
  tempFiles: number;
  blocks: number;
  bytes: number;
  uploadsCommitted: number;
  uploadsAbandoned: number;
}

export class GarbageCollector {
  private running: Promise<GcResult> | undefined;
  private readonly collected;

  constructor(
    private readonly store: SliceStore,
    private readonly records: UploadRecords,
    private readonly options: GcOptions,
    private readonly deps: { now: () => number; metrics: Metrics; logger: Logger; commits?: UploadCommits },
  ) {
    this.collected = deps.metrics.counter("storage_gc_collected_total", "Items collected by GC", ["kind"]);
  }

  /** Runs one pass (concurrent calls share it). */
  pass(): Promise<GcResult> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<GcResult> {
    const now = this.deps.now();
    const result: GcResult = { tempFiles: 0, blocks: 0, bytes: 0, uploadsCommitted: 0, uploadsAbandoned: 0 };
    for (const t of await this.store.orphanTemps()) {
      if (now - t.mtimeMs < this.options.tempGraceMs) continue;
      await fs.promises.rm(t.file, { force: true });
      result.tempFiles++;
    }
    const commits = this.deps.commits;
    if (commits !== undefined) {
      const due = this.records
        .uploads()
        .filter(([, rec]) => now - Number(rec.deadline) * 1000 > this.options.uploadGraceMs);
      const committed = due.length > 0 ? await commits.committed(due.map(([id]) => id)) : new Set<Hex>();
      const candidates = new Set<string>();
      for (const [id] of due) {
        const blocks = this.records.blocksOf(id);
        if (committed.has(id)) {
          for (const key of blocks) await this.records.pin(key, `upload ${id} committed`, now);
          result.uploadsCommitted++;
        } else {
          for (const key of blocks) candidates.add(key);
          result.uploadsAbandoned++;
        }
        await this.records.forget(id);
      }
      const pinned = await this.records.pinned();
      const referenced = this.records.referenced();
      for await (const b of this.store.list()) {
        if (pinned.has(b.key) || referenced.has(b.key)) continue;
        const orphan = now - b.mtimeMs > this.options.uploadGraceMs + this.options.tempGraceMs;
        if (!candidates.has(b.key) && !orphan) continue;
        await this.store.deleteKey(b.key);
        result.blocks++;
        result.bytes += b.size;
      }
    }
    this.collected.inc({ kind: "temp" }, result.tempFiles);
    this.collected.inc({ kind: "block" }, result.blocks);
    if (result.tempFiles + result.blocks > 0) this.deps.logger.info(result, "gc pass collected");
    return result;
  }
}
