/**
 * The master's health services (PROTOCOL §8 "Health", issue 13 item 6), in the manner of Storj's satellite:
 *
 *  - **repair**: every `repairIntervalMs` it walks the index's slices; a slice with fewer than `copies` copies on
 *    online nodes gets new ones — a node picked by placement (not holding it, another region first) is ordered
 *    (`POST /v1/replicate`, carrying the master's term: a worker refuses an older one) to fetch it from a
 *    surviving replica — and the index is updated by a replicated `replicas` command that adds the new copies
 *    and drops the ones on down nodes. A slice with more online copies than `copies` loses the surplus from
 *    the index (the last-listed ones).
 *  - **audits**: every `auditIntervalMs` it picks `auditSample` slices at random and, for each, a random online
 *    replica, reads the slice and checks it against its CID. A failed audit counts against the node
 *    (NodeTable.audit) and drops that copy from the index, which the next repair pass re-creates.
 *
 * Both run only while this node is master and stop at its first step down; a repair pass never runs twice at once.
 */
import { randomInt } from "node:crypto";
import type { Hex } from "viem";
import type { Logger } from "pino";
import type { Metrics } from "../core/metrics";
import { WorkerClient } from "../client/storage/worker-client";
import { matchesCid, parseStorableCid } from "../protocol/slicing";
import type { NodeEndpoint } from "../protocol/network";
import type { MetaIndex } from "./index/meta-index";
import type { IndexCommand, SliceRecord } from "./index/types";
import type { NodeTable } from "./nodes";
import { pickReplacement, type NodeCandidate, type PlacementWeights, type RandomSource } from "./placement";

export interface HealthOptions {
  copies: number;
  repairIntervalMs: number;
  auditIntervalMs: number;
  auditSample: number;
  orderTimeoutMs: number;
  maxBlockBytes?: number;
}

export interface HealthDeps {
  index: MetaIndex;
  nodes: NodeTable;
  /** Appends a command through the log (resolves once a majority persisted and this node applied it). */
  propose(command: IndexCommand): Promise<unknown>;
  /** True while this node is master; its term. */
  leading(): boolean;
  term(): bigint;
  candidates(): NodeCandidate[];
  weights: PlacementWeights;
  logger: Logger;
  metrics: Metrics;
}

/** What one repair pass did. */
export interface RepairPass {
  checked: number;
  repaired: number;
  copiesAdded: number;
  removed: number;
  failed: number;
}

/** What repair must do for one slice, decided from its replicas and which nodes are online (pure). */
export interface SliceRepairPlan<R extends { nodeId: Hex; region: string }> {
  /** False when the slice has exactly `copies` copies, all online: nothing to do. */
  needed: boolean;
  online: R[];
  /** Replicas on nodes that are not online. */
  down: Hex[];
  /** Online copies beyond `copies` (the last-listed ones), to drop from the index. */
  surplus: Hex[];
  /** Copies to create (0 when there is a surplus, or when no online copy is left to copy from). */
  missing: number;
}

/** The repair decision for one slice: which copies are down, surplus or missing. Used by HealthService and the sim. */
export function planSliceRepair<R extends { nodeId: Hex; region: string }>(
  replicas: readonly R[],
  isOnline: (nodeId: Hex) => boolean,
  copies: number,
): SliceRepairPlan<R> {
  const online = replicas.filter((r) => isOnline(r.nodeId));
  const down = replicas.filter((r) => !isOnline(r.nodeId)).map((r) => r.nodeId);
  const surplus = online.length > copies ? online.slice(copies).map((r) => r.nodeId) : [];
  const missing = online.length === 0 || online.length >= copies ? 0 : copies - online.length;
  return { needed: online.length !== copies || online.length !== replicas.length, online, down, surplus, missing };
}

/**
 * The next replacement node for a slice being repaired (through placement's {@link pickReplacement}): not one of
 * its replicas nor a node already tried, another region than the online and added copies first; undefined when
 * no node can take it. Used by HealthService and the sim.
 */
export function nextReplacement(
  candidates: readonly NodeCandidate[],
  slice: {
    size: number;
    replicas: readonly { nodeId: Hex }[];
    online: readonly { region: string }[];
    added: readonly { region: string }[];
    tried: readonly Hex[];
  },
  weights: PlacementWeights,
  random?: RandomSource,
): NodeEndpoint | undefined {
  const exclude = new Set<string>(slice.replicas.map((r) => r.nodeId.toLowerCase()));
  for (const t of slice.tried) exclude.add(t.toLowerCase());
  try {
    return pickReplacement(
      candidates,
      {
        size: slice.size,
        exclude: [...exclude] as Hex[],
        regions: [...slice.online.map((r) => r.region), ...slice.added.map((a) => a.region)],
      },
      weights,
      random,
    );
  } catch {
    return undefined;
  }
}

export class HealthService {
  private repairTimer: NodeJS.Timeout | undefined;
  private auditTimer: NodeJS.Timeout | undefined;
  private running: Promise<RepairPass> | undefined;
  private readonly checks = new Map<string, Promise<boolean | undefined>>();
  private readonly client: WorkerClient;
  private readonly counters;

  constructor(
    private readonly deps: HealthDeps,
    private readonly options: HealthOptions,
  ) {
    this.client = new WorkerClient({ timeoutMs: options.orderTimeoutMs });
    const m = deps.metrics;
    this.counters = {
      repaired: m.counter("meta_repairs_total", "Copies re-created by repair, by outcome", ["outcome"]),
      surplus: m.counter("meta_surplus_removed_total", "Surplus copies removed from the index"),
      audits: m.counter("meta_audits_total", "Slice audits, by outcome", ["outcome"]),
      downs: m.counter("meta_nodes_down_total", "Storage nodes declared down"),
      online: m.gauge("meta_nodes_online", "Storage nodes online"),
    };
  }

  /** Starts the loops (call when this node becomes master). */
  start(): void {
    this.stop();
    this.repairTimer = setInterval(() => void this.repairPass().catch(() => undefined), this.options.repairIntervalMs);
    this.repairTimer.unref();
    if (this.options.auditIntervalMs > 0) {
      this.auditTimer = setInterval(() => void this.auditRound().catch(() => undefined), this.options.auditIntervalMs);
      this.auditTimer.unref();
    }
  }

  stop(): void {
    clearInterval(this.repairTimer);
    clearInterval(this.auditTimer);
    this.repairTimer = this.auditTimer = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    await this.running?.catch(() => undefined);
    await this.client.close().catch(() => undefined);
  }

  /** One repair pass (serialised: a pass already running is joined). */
  repairPass(): Promise<RepairPass> {
    this.running ??= this.repair().finally(() => (this.running = undefined));
    return this.running;
  }

  private async repair(): Promise<RepairPass> {
    const d = this.deps;
    const pass: RepairPass = { checked: 0, repaired: 0, copiesAdded: 0, removed: 0, failed: 0 };
    for (const n of d.nodes.tick()) {
      this.counters.downs.inc();
      d.logger.warn({ nodeId: n.nodeId, url: n.url }, "storage node down");
    }
    this.counters.online.set(d.nodes.live().length);
    if (!d.leading()) return pass;
    const todo: SliceRecord[] = [];
    for await (const rec of d.index.allSlices()) {
      pass.checked++;
      if (planSliceRepair(rec.replicas, (id) => d.nodes.isOnline(id), this.options.copies).needed) todo.push(rec);
    }
    for (const rec of todo) {
      if (!d.leading()) break;
      try {
        const r = await this.repairSlice(rec);
        if (r.added > 0) pass.repaired++;
        pass.copiesAdded += r.added;
        pass.removed += r.removed;
      } catch (err) {
        pass.failed++;
        d.logger.warn({ err, cid: rec.cid }, "repair of a slice failed");
      }
    }
    if (pass.repaired + pass.removed + pass.failed > 0) d.logger.info(pass, "repair pass");
    return pass;
  }

  private async repairSlice(rec: SliceRecord): Promise<{ added: number; removed: number }> {
    const d = this.deps;
    const plan = planSliceRepair(rec.replicas, (id) => d.nodes.isOnline(id), this.options.copies);
    const { online, down } = plan;
    if (plan.surplus.length > 0) {
      const surplus = plan.surplus;
      await d.propose({ kind: "replicas", cid: rec.cid, add: [], remove: [...surplus, ...down] });
      this.counters.surplus.inc(surplus.length);
      return { added: 0, removed: surplus.length + down.length };
    }
    if (online.length === 0) {
      d.logger.error({ cid: rec.cid }, "slice has no copy on an online node: cannot repair until one returns");
      return { added: 0, removed: 0 };
    }
    const added: NodeEndpoint[] = [];
    const tried: Hex[] = [];
    let attempts = 0;
    while (online.length + added.length < this.options.copies && attempts < 2 * this.options.copies) {
      attempts++;
      const target = nextReplacement(
        d.candidates(),
        { size: rec.size, replicas: rec.replicas, online, added, tried },
        d.weights,
      );
      if (target === undefined) break;
      tried.push(target.nodeId);
      try {
        await this.client.replicate(target.url, {
          cid: rec.cid,
          from: online.map((r) => d.nodes.endpoint(r.nodeId)?.url ?? r.url),
          term: d.term(),
        });
        added.push(target);
        this.counters.repaired.inc({ outcome: "copied" });
      } catch (err) {
        d.nodes.missed(target.nodeId);
        this.counters.repaired.inc({ outcome: "failed" });
        d.logger.warn({ err, cid: rec.cid, node: target.nodeId }, "repair order failed");
      }
    }
    if (added.length > 0 || down.length > 0) {
      // Drop the copies on down nodes only once the slice is back to its copy count (else they may return).
      const remove = online.length + added.length >= this.options.copies ? down : [];
      if (added.length > 0 || remove.length > 0)
        await d.propose({ kind: "replicas", cid: rec.cid, add: added, remove });
      return { added: added.length, removed: remove.length };
    }
    return { added: 0, removed: 0 };
  }

  /** One audit round: `auditSample` random slices, each read from a random online replica and checked. */
  async auditRound(): Promise<{ passed: number; failed: number }> {
    const d = this.deps;
    const out = { passed: 0, failed: 0 };
    if (!d.leading()) return out;
    const sample: SliceRecord[] = [];
    let seen = 0;
    // Reservoir sampling over the slice table: one pass, uniform.
    for await (const rec of d.index.allSlices()) {
      seen++;
      if (sample.length < this.options.auditSample) sample.push(rec);
      else {
        const j = randomInt(seen);
        if (j < this.options.auditSample) sample[j] = rec;
      }
    }
    for (const rec of sample) {
      const online = rec.replicas.filter((r) => d.nodes.isOnline(r.nodeId));
      if (online.length === 0) continue;
      if (await this.auditCopy(rec, online[randomInt(online.length)])) out.passed++;
      else out.failed++;
    }
    return out;
  }

  /**
   * Reads one copy of a slice from its node and checks it against the CID; a copy that fails is dropped from the
   * index (the next repair pass re-creates it elsewhere). Counts the audit in the node's measurements.
   */
  private async auditCopy(rec: SliceRecord, replica: { nodeId: Hex; url: string }, cause = "audit"): Promise<boolean> {
    const d = this.deps;
    const url = d.nodes.endpoint(replica.nodeId)?.url ?? replica.url;
    const started = Date.now();
    let passed = false;
    let why = "";
    let unreachable = false;
    try {
      const bytes = await this.client.getSlice(url, rec.cid, {
        maxBytes: this.options.maxBlockBytes ?? 4 * 1024 * 1024,
        timeoutMs: this.options.orderTimeoutMs,
      });
      passed = matchesCid(parseStorableCid(rec.cid), bytes);
      if (!passed) why = "bytes do not match the CID";
    } catch (err) {
      why = (err as Error).message;
      // No answer (a status 0 TransportError): the node may be down or restarting, not proven to lack the copy.
      unreachable =
        (err as { code?: string; status?: number }).code === "STORAGE_UNAVAILABLE" &&
        (err as { status?: number }).status === 0;
    }
    // A reported copy on a node that does not answer is left to the down-node rules (re-created, then dropped).
    if (unreachable && cause === "reported") return false;
    d.nodes.audit(replica.nodeId, passed, Date.now() - started);
    this.counters.audits.inc({ outcome: passed ? "passed" : "failed" });
    if (!passed) {
      d.logger.warn({ cid: rec.cid, node: replica.nodeId, why, cause }, "audit failed: dropping the copy for repair");
      if (d.leading()) await d.propose({ kind: "replicas", cid: rec.cid, add: [], remove: [replica.nodeId] });
    }
    return passed;
  }

  /**
   * A client reported a bad copy (`POST /v1/bad`: wrong bytes, missing, timed out): the master audits that copy at
   * once — a client's word alone never drops a copy, so a lying client cannot make the network shed good copies —
   * and, if it answers with other bytes or without the block, drops it and runs a repair pass (a node that does not
   * answer is left to the down-node rules). One check per copy at a time; a report of a node that holds no copy of
   * the slice is ignored.
   */
  checkReported(cid: string, nodeId: Hex): Promise<boolean | undefined> {
    const key = `${cid}/${nodeId.toLowerCase()}`;
    const running = this.checks.get(key);
    if (running) return running;
    const check = (async () => {
      const d = this.deps;
      if (!d.leading()) return undefined;
      const rec = await d.index.slice(cid);
      const replica = rec?.replicas.find((r) => r.nodeId.toLowerCase() === nodeId.toLowerCase());
      if (rec === undefined || replica === undefined) return undefined;
      const passed = await this.auditCopy(rec, replica, "reported");
      if (!passed) await this.repairPass().catch(() => undefined);
      return passed;
    })().finally(() => this.checks.delete(key));
    this.checks.set(key, check);
    return check;
  }
}
