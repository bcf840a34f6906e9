/**
 * Which replica to read a slice from (PROTOCOL §8; anti-cheating condition 3 of §4): the nearest by a latency
 * estimate, and uniformly at random among the replicas that are about as near — so a node cannot attract the
 * reads of its own files, and load spreads over equals. The estimate is an exponentially weighted moving
 * average of each node's time per byte, learnt from the client's own transfers; a node never measured counts
 * as equal to the best (it gets tried), a failure counts as a slow transfer.
 */
import { randomInt } from "node:crypto";
import type { Hex } from "viem";
import type { NodeEndpoint } from "../../protocol/network";

export interface LatencyOptions {
  /** Weight of a new sample (0..1). */
  alpha?: number;
  /** Replicas within this factor of the best estimate are "equal" (1.5 = up to 50 % slower). */
  tolerance?: number;
  /** Random integer in [0, n) (tests inject a deterministic one). */
  random?: (n: number) => number;
}

export class LatencyEstimator {
  private readonly perByte = new Map<Hex, number>();
  private readonly alpha: number;
  private readonly tolerance: number;
  private readonly random: (n: number) => number;

  constructor(options: LatencyOptions = {}) {
    this.alpha = options.alpha ?? 0.3;
    this.tolerance = options.tolerance ?? 1.5;
    this.random = options.random ?? ((n) => randomInt(n));
  }

  /** Records a completed transfer of `bytes` in `ms` from `node` (a fixed 64 KiB floor keeps tiny reads fair). */
  observe(node: Hex, ms: number, bytes: number): void {
    const sample = Math.max(ms, 0.01) / Math.max(bytes, 65_536);
    const old = this.perByte.get(node);
    this.perByte.set(node, old === undefined ? sample : old + this.alpha * (sample - old));
  }

  /** Records a failure: the node now looks 4× slower than the slowest known (or than itself). */
  penalize(node: Hex): void {
    const worst = Math.max(0, ...this.perByte.values());
    this.perByte.set(node, Math.max(worst, this.perByte.get(node) ?? 0, 1e-6) * 4);
  }

  estimate(node: Hex): number | undefined {
    return this.perByte.get(node);
  }

  /**
   * The replicas in the order to try them: first one drawn at random among the nearest-equal set, then the
   * rest of that set in random order, then the others by increasing estimate ({@link orderReplicas}).
   */
  order(replicas: readonly NodeEndpoint[]): NodeEndpoint[] {
    return orderReplicas(replicas, (id) => this.perByte.get(id), this.tolerance, this.random);
  }
}

/**
 * The routing rule among a slice's replicas, pure: `estimate` gives a node's time per byte (undefined: never
 * measured, counts as equal to the best); replicas within `tolerance` × the best estimate are "near" and come first
 * in random order (`random(n)`: an integer in [0, n)), the others follow by increasing estimate. Used by
 * {@link LatencyEstimator.order} and by the economics simulation (scripts/sim/economics.ts).
 */
export function orderReplicas(
  replicas: readonly NodeEndpoint[],
  estimate: (node: Hex) => number | undefined,
  tolerance: number,
  random: (n: number) => number,
): NodeEndpoint[] {
  if (replicas.length <= 1) return [...replicas];
  const known = replicas.filter((r) => estimate(r.nodeId) !== undefined);
  const best = known.length > 0 ? Math.min(...known.map((r) => estimate(r.nodeId)!)) : 0;
  const near = replicas.filter((r) => {
    const e = estimate(r.nodeId);
    return e === undefined || e <= best * tolerance;
  });
  const far = replicas.filter((r) => !near.includes(r)).sort((a, b) => estimate(a.nodeId)! - estimate(b.nodeId)!);
  for (let i = near.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [near[i], near[j]] = [near[j], near[i]];
  }
  return [...near, ...far];
}
