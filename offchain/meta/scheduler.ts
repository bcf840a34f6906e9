/**
 * The workload scheduler of the meta layer (PROTOCOL §9, docs/COMPUTE.md "Scheduling"): a pure function that
 * places a workload on a node with the free resources, in the wanted region, next to the workloads it has
 * affinity with and away from those it has anti-affinity with, spread by a random factor; and the migration rule
 * that moves a workload off a node whose heartbeats stopped or on which it keeps failing — with an exponential
 * backoff between moves and a crash-loop cut-off, after which it is reported and not retried.
 *
 * Pure: inputs in, a decision out. Time is `nowMs`, randomness an injected `rng` (a seeded one replays).
 */
import { HmsError } from "../core/errors";

export interface Resources {
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
}

export interface SchedulerNode {
  nodeId: string;
  region: string;
  capacity: Resources;
  /** Resources held by the workloads placed there. */
  used: Resources;
  /** Labels of the workloads it runs (affinity rules match them). */
  workloadLabels: ReadonlyArray<Readonly<Record<string, string>>>;
  /** Last heartbeat, unix ms. */
  lastHeartbeatMs: number;
  /** Contribution or price preference in [0, 1] (1 = best); default 0.5. */
  preference?: number;
}

export interface PlacementRequest {
  limits: Resources;
  region?: string;
  affinity?: Readonly<Record<string, string>>;
  antiAffinity?: Readonly<Record<string, string>>;
  /** Nodes not to use (the one it is migrating from, ones it failed on). */
  exclude?: readonly string[];
}

export interface SchedulerOptions {
  nowMs: number;
  /** A node without a heartbeat for longer is dead. */
  heartbeatTimeoutMs: number;
  /** Weight of the random term in [0, 1]: 0 = always the best fit, 1 = uniform among eligible nodes. */
  randomFactor: number;
  /** Uniform in [0, 1). */
  rng: () => number;
}

export type Ineligibility = "dead" | "excluded" | "region" | "cpu" | "memory" | "disk" | "affinity" | "anti-affinity";

/** Why `node` cannot take `req`, or undefined if it can. */
export function ineligibility(
  node: SchedulerNode,
  req: PlacementRequest,
  o: Pick<SchedulerOptions, "nowMs" | "heartbeatTimeoutMs">,
): Ineligibility | undefined {
  if (o.nowMs - node.lastHeartbeatMs > o.heartbeatTimeoutMs) return "dead";
  if (req.exclude?.includes(node.nodeId)) return "excluded";
  if (req.region !== undefined && node.region !== req.region) return "region";
  if (node.used.cpuMillis + req.limits.cpuMillis > node.capacity.cpuMillis) return "cpu";
  if (node.used.memoryMiB + req.limits.memoryMiB > node.capacity.memoryMiB) return "memory";
  if (node.used.diskMiB + req.limits.diskMiB > node.capacity.diskMiB) return "disk";
  const matches = (labels: Readonly<Record<string, string>>, k: string, v: string) => labels[k] === v;
  for (const [k, v] of Object.entries(req.affinity ?? {}))
    if (!node.workloadLabels.some((l) => matches(l, k, v))) return "affinity";
  for (const [k, v] of Object.entries(req.antiAffinity ?? {}))
    if (node.workloadLabels.some((l) => matches(l, k, v))) return "anti-affinity";
  return undefined;
}

/** Fraction of the node left free after the placement, averaged over the resources (spreads load). */
function freeAfter(node: SchedulerNode, limits: Resources): number {
  const part = (cap: number, used: number, want: number) => (cap <= 0 ? 0 : (cap - used - want) / cap);
  return (
    (part(node.capacity.cpuMillis, node.used.cpuMillis, limits.cpuMillis) +
      part(node.capacity.memoryMiB, node.used.memoryMiB, limits.memoryMiB) +
      part(node.capacity.diskMiB, node.used.diskMiB, limits.diskMiB || 0)) /
    3
  );
}

export interface Placement {
  nodeId: string;
  score: number;
  eligible: number;
}

/**
 * Places `req`: among the eligible nodes, the highest score (1 − f)·(free after + preference)/2 + f·rng().
 * Throws `COMPUTE_NO_PLACEMENT` with each node's reason when none is eligible.
 */
export function place(req: PlacementRequest, nodes: readonly SchedulerNode[], o: SchedulerOptions): Placement {
  if (o.randomFactor < 0 || o.randomFactor > 1)
    throw new HmsError("COMPUTE_NO_PLACEMENT", `randomFactor ${o.randomFactor} is outside [0, 1]`, {
      value: o.randomFactor,
    });
  const reasons: Record<string, Ineligibility> = {};
  let best: Placement | undefined;
  let eligible = 0;
  for (const node of nodes) {
    const why = ineligibility(node, req, o);
    if (why !== undefined) {
      reasons[node.nodeId] = why;
      continue;
    }
    eligible++;
    const fit = (freeAfter(node, req.limits) + (node.preference ?? 0.5)) / 2;
    const score = (1 - o.randomFactor) * fit + o.randomFactor * o.rng();
    if (best === undefined || score > best.score) best = { nodeId: node.nodeId, score, eligible: 0 };
  }
  if (best === undefined)
    throw new HmsError("COMPUTE_NO_PLACEMENT", `no node can take the workload (${nodes.length} examined)`, {
      value: req.limits,
      details: { reasons },
    });
  return { ...best, eligible };
}

// ── migration ────────────────────────────────────────────────────────────────────────────────────────

export interface MigrationPolicy {
  /** Moves allowed within `windowMs` before the workload is a crash loop. */
  maxMigrations: number;
  windowMs: number;
  /** Wait before the n-th move: backoffMs · 2^(n−1), at most maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
}

export interface PlacedWorkload {
  request: PlacementRequest;
  nodeId: string;
  /** The node reported it crash-looping (restart policy exhausted there). */
  failing: boolean;
  /** Unix ms of its earlier migrations. */
  migrations: readonly number[];
  /** Nodes it already failed on (not tried again). */
  failedOn: readonly string[];
}

export type MigrationDecision =
  | { action: "keep" }
  | { action: "migrate"; to: string; notBeforeMs: number; reason: "node-dead" | "workload-failing" }
  | { action: "give-up"; reason: "crash-loop" | "no-node"; migrations: number };

/** Whether and where to move a workload now. */
export function migrationDecision(
  w: PlacedWorkload,
  nodes: readonly SchedulerNode[],
  policy: MigrationPolicy,
  o: SchedulerOptions,
): MigrationDecision {
  const host = nodes.find((n) => n.nodeId === w.nodeId);
  const dead = host === undefined || o.nowMs - host.lastHeartbeatMs > o.heartbeatTimeoutMs;
  if (!dead && !w.failing) return { action: "keep" };
  const recent = w.migrations.filter((t) => o.nowMs - t < policy.windowMs);
  if (recent.length >= policy.maxMigrations)
    return { action: "give-up", reason: "crash-loop", migrations: recent.length };
  const exclude = [...new Set([...(w.request.exclude ?? []), ...w.failedOn, w.nodeId])];
  let to: Placement;
  try {
    to = place({ ...w.request, exclude }, nodes, o);
  } catch {
    return { action: "give-up", reason: "no-node", migrations: recent.length };
  }
  const last = recent.length === 0 ? undefined : Math.max(...recent);
  const delay = recent.length === 0 ? 0 : Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (recent.length - 1));
  return {
    action: "migrate",
    to: to.nodeId,
    notBeforeMs: last === undefined ? o.nowMs : Math.max(o.nowMs, last + delay),
    reason: dead ? "node-dead" : "workload-failing",
  };
}

/** A seeded uniform generator (mulberry32) for replayable scheduling. */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
