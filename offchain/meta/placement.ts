/**
 * Placement of slice copies on storage nodes (PROTOCOL §8): a pure function of the nodes' state, tunable weights
 * and a random source. Each copy goes to the eligible node with the highest score
 *
 *   score = w.capacity·capacity/maxCapacity + w.free·free/maxFree + w.uptime·min(1, uptime/uptimeHorizon)
 *         + w.connections·(1 − connections/(maxConnections + 1)) + w.random·u,   u uniform in [0, 1)
 *
 * among the eligible nodes whose region this slice does not use yet (any eligible node once every region is
 * used), so a slice's copies are on distinct nodes always and on as many distinct regions as the eligible
 * nodes offer. Eligible: online, not excluded, not already holding a copy of this slice, with free space for
 * it. Each copy placed takes its size from the node's free space and adds one to its connection count for the
 * rest of the call, so one upload spreads over the nodes; the random term spreads independent uploads placed
 * from the same (stale) node table — without it they would all land on the same top nodes.
 *
 * Pure: no I/O; the randomness is injected ({@link seededRandom} for tests and reproducible runs).
 */
import { z } from "zod";
import type { Hex } from "viem";
import { HmsError } from "../core/errors";
import type { NodeEndpoint } from "../protocol/network";
import { Prng } from "../consensus/pbft/sim/prng";

/** Placement weights (config `placement`); all ≥ 0. */
export const placementWeightsSchema = z
  .strictObject({
    capacity: z.number().nonnegative().default(1),
    free: z.number().nonnegative().default(2),
    uptime: z.number().nonnegative().default(1),
    connections: z.number().nonnegative().default(1),
    random: z.number().nonnegative().default(2),
    /** Online time that scores full marks, seconds (default 7 days). */
    uptimeHorizonSec: z
      .number()
      .positive()
      .default(7 * 24 * 3600),
  })
  .prefault({});
export type PlacementWeights = z.output<typeof placementWeightsSchema>;
export const DEFAULT_PLACEMENT_WEIGHTS: PlacementWeights = placementWeightsSchema.parse({});

/** A storage node as placement sees it (from its heartbeats and the master's QoS records). */
export interface NodeCandidate extends NodeEndpoint {
  /** Total space, bytes. */
  capacity: bigint;
  /** Free space, bytes. */
  free: bigint;
  /** Continuous online time, seconds. */
  uptimeSec: number;
  /** Open transfers (its load). */
  connections: number;
  /** False when the health service declared it down. */
  online: boolean;
}

/** A uniform random number in [0, 1). */
export type RandomSource = () => number;

/** A reproducible random source. */
export function seededRandom(seed: number): RandomSource {
  const prng = new Prng(seed);
  return () => prng.next();
}

/** What to place. */
export interface PlacementRequest {
  /** Size in bytes of each slice (or DAG block) to place, in order. */
  sizes: readonly number[];
  /** Copies per slice. */
  copies: number;
  /** Nodes never to use (e.g. the client's own, or failed ones). */
  exclude?: readonly Hex[];
}

interface Work {
  node: NodeCandidate;
  free: bigint;
  connections: number;
  base: number;
}

function check(request: PlacementRequest, nodes: readonly NodeCandidate[]): void {
  if (!Number.isInteger(request.copies) || request.copies < 1)
    throw new HmsError("META_BAD_PLACEMENT", "copies must be a positive integer", { value: request.copies });
  for (const s of request.sizes)
    if (!Number.isInteger(s) || s < 0)
      throw new HmsError("META_BAD_PLACEMENT", "slice sizes must be non-negative integers", { value: s });
  const ids = new Set<string>();
  for (const n of nodes) {
    const id = n.nodeId.toLowerCase();
    if (ids.has(id)) throw new HmsError("META_BAD_PLACEMENT", `node ${id} is listed twice`, { value: id });
    ids.add(id);
    if (n.free < 0n || n.capacity < 0n)
      throw new HmsError("META_BAD_PLACEMENT", `node ${id} has negative space`, { value: id });
  }
}

/** The deterministic part of a node's score (everything but the random term). */
export function baseScore(
  node: Pick<NodeCandidate, "capacity" | "free" | "uptimeSec" | "connections">,
  norm: { maxCapacity: bigint; maxFree: bigint; maxConnections: number },
  w: PlacementWeights,
  free: bigint = node.free,
  connections: number = node.connections,
): number {
  const ratio = (a: bigint, b: bigint) => (b === 0n ? 0 : Number((a * 1_000_000n) / b) / 1_000_000);
  return (
    w.capacity * ratio(node.capacity, norm.maxCapacity) +
    w.free * ratio(free, norm.maxFree) +
    w.uptime * Math.min(1, Math.max(0, node.uptimeSec) / w.uptimeHorizonSec) +
    w.connections * (1 - connections / (norm.maxConnections + 1))
  );
}

/**
 * Places `request.copies` copies of each slice; returns one chain per slice (`[i][0]` is the pipeline head).
 * Throws `META_NO_PLACEMENT` (with the slice index) when fewer eligible nodes than copies remain.
 */
export function placeSlices(
  nodes: readonly NodeCandidate[],
  request: PlacementRequest,
  weights: PlacementWeights = DEFAULT_PLACEMENT_WEIGHTS,
  random: RandomSource = Math.random,
): NodeEndpoint[][] {
  check(request, nodes);
  const exclude = new Set((request.exclude ?? []).map((x) => x.toLowerCase()));
  const pool = nodes.filter((n) => n.online && !exclude.has(n.nodeId.toLowerCase()));
  const norm = {
    maxCapacity: pool.reduce((m, n) => (n.capacity > m ? n.capacity : m), 0n),
    maxFree: pool.reduce((m, n) => (n.free > m ? n.free : m), 0n),
    maxConnections: pool.reduce((m, n) => Math.max(m, n.connections), 0) + request.sizes.length * request.copies,
  };
  const work: Work[] = pool.map((node) => ({
    node,
    free: node.free,
    connections: node.connections,
    base: baseScore(node, norm, weights),
  }));
  const out: NodeEndpoint[][] = [];
  const chosen: Work[] = [];
  for (let i = 0; i < request.sizes.length; i++) {
    const size = BigInt(request.sizes[i]);
    const regions = new Set<string>();
    chosen.length = 0;
    for (let c = 0; c < request.copies; c++) {
      let best: Work | undefined;
      let bestScore = -Infinity;
      let bestNewRegion = false;
      for (const w of work) {
        if (w.free < size || chosen.includes(w)) continue;
        const newRegion = !regions.has(w.node.region);
        if (bestNewRegion && !newRegion) continue;
        const score = w.base + weights.random * random();
        if ((newRegion && !bestNewRegion) || score > bestScore) {
          best = w;
          bestScore = score;
          bestNewRegion = newRegion;
        }
      }
      if (best === undefined)
        throw new HmsError(
          "META_NO_PLACEMENT",
          `slice ${i} (${size} bytes): only ${c} of ${request.copies} copies fit on the ${pool.length} eligible nodes`,
          { value: i, details: { copies: request.copies, placed: c, eligible: pool.length } },
        );
      chosen.push(best);
      regions.add(best.node.region);
      best.free -= size;
      best.connections += 1;
      best.base = baseScore(best.node, norm, weights, best.free, best.connections);
    }
    out.push(chosen.map((w) => ({ nodeId: w.node.nodeId, url: w.node.url, region: w.node.region })));
  }
  return out;
}

/**
 * One node to replace a failed member of a slice's chain: not in `exclude` (the chain's other members and the
 * failed ones), preferring a region the chain does not use. Throws `META_NO_PLACEMENT`.
 */
export function pickReplacement(
  nodes: readonly NodeCandidate[],
  request: { size: number; exclude: readonly Hex[]; regions?: readonly string[] },
  weights: PlacementWeights = DEFAULT_PLACEMENT_WEIGHTS,
  random: RandomSource = Math.random,
): NodeEndpoint {
  const used = new Set(request.regions ?? []);
  const exclude = new Set(request.exclude.map((x) => x.toLowerCase()));
  const pool = nodes.filter((n) => !exclude.has(n.nodeId.toLowerCase()));
  // A node in a region the chain does not use yet if one can take it, else any.
  const fresh = pool.filter((n) => !used.has(n.region));
  const one = { sizes: [request.size], copies: 1 };
  try {
    return placeSlices(fresh, one, weights, random)[0][0];
  } catch (err) {
    if (!(err instanceof HmsError) || err.code !== "META_NO_PLACEMENT") throw err;
    return placeSlices(pool, one, weights, random)[0][0];
  }
}

/** Baseline of the benchmark: distinct nodes drawn uniformly at random, no scores, no regions, no space check. */
export function placeUniform(
  nodes: readonly NodeEndpoint[],
  request: PlacementRequest,
  random: RandomSource = Math.random,
): NodeEndpoint[][] {
  const out: NodeEndpoint[][] = [];
  for (let i = 0; i < request.sizes.length; i++) {
    const picked = new Set<number>();
    while (picked.size < Math.min(request.copies, nodes.length)) picked.add(Math.floor(random() * nodes.length));
    out.push([...picked].map((j) => nodes[j]));
  }
  return out;
}
