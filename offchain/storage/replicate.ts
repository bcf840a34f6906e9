/**
 * Repair: `POST /v1/replicate {cid, from: [worker URLs], term, owner?, uploadId?}` — the meta master asks this
 * worker to fetch a copy of a block from surviving replicas. An order from an older term than the highest seen
 * is refused (409 `STORAGE_STALE_TERM`, fencing: a deposed master cannot add copies). The sources are tried in
 * random order; the first copy that verifies against the CID is stored (and pinned: the meta layer wants it
 * kept); if none does, 502 `STORAGE_UNAVAILABLE`. With `owner` and `uploadId` the reply carries this node's
 * StorageAck for the index.
 *
 * Repair traffic is node to node: no client, so no traffic receipt.
 */
import { randomInt } from "node:crypto";
import type { Logger } from "pino";
import { HmsError } from "../core/errors";
import type { Metrics } from "../core/metrics";
import { matchesCid, parseStorableCid } from "../protocol/slicing";
import { ackToWire, parseWire, replicateRequestSchema } from "../protocol/storage-wire";
import type { WorkerClient } from "../client/storage/worker-client";
import { blockKey, type SliceStore } from "./blockstore";
import type { NodeSigner } from "./signer";
import type { TermFence, UploadRecords } from "./state";

export interface ReplicateDeps {
  store: SliceStore;
  signer: NodeSigner;
  fence: TermFence;
  records: UploadRecords;
  client: WorkerClient;
  maxBlockBytes: number;
  fetchTimeoutMs: number;
  now: () => number;
  metrics: Metrics;
  logger: Logger;
}

function shuffled<T>(list: readonly T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export class Replicator {
  private readonly outcomes;

  constructor(private readonly deps: ReplicateDeps) {
    this.outcomes = deps.metrics.counter("storage_replications_total", "Repair orders, by outcome", ["outcome"]);
  }

  async handle(body: unknown): Promise<Record<string, unknown>> {
    const d = this.deps;
    const order = parseWire(replicateRequestSchema, body, "replicate request");
    await d.fence.admit(order.term);
    const cid = parseStorableCid(order.cid);
    let size = await d.store.size(cid);
    let source = "local";
    if (size === undefined) {
      const failures: string[] = [];
      for (const url of shuffled(order.from)) {
        try {
          const bytes = await d.client.getSlice(url, order.cid, {
            maxBytes: d.maxBlockBytes,
            timeoutMs: d.fetchTimeoutMs,
          });
          if (!matchesCid(cid, bytes)) {
            failures.push(`${url}: bytes do not match`);
            continue;
          }
          const w = await d.store.writer(cid, bytes.length);
          w.write(bytes);
          await w.commit();
          size = bytes.length;
          source = url;
          break;
        } catch (err) {
          if (err instanceof HmsError && err.code === "STORAGE_FULL") throw err;
          failures.push(`${url}: ${(err as Error).message}`);
        }
      }
      if (size === undefined) {
        this.outcomes.inc({ outcome: "unavailable" });
        throw new HmsError("STORAGE_UNAVAILABLE", `no source served a valid copy of ${order.cid}`, {
          value: order.cid,
          details: { failures },
        });
      }
    }
    await d.records.pin(blockKey(cid.cid), `replicate term ${order.term}`, d.now());
    this.outcomes.inc({ outcome: source === "local" ? "present" : "copied" });
    d.logger.info({ cid: order.cid, from: source, term: order.term.toString() }, "replica stored");
    const ack =
      order.owner && order.uploadId
        ? ackToWire(d.signer.ack(cid.digest, size, order.owner, order.uploadId))
        : undefined;
    return { ok: true, cid: order.cid, size, from: source, ...(ack ? { ack } : {}) };
  }
}
