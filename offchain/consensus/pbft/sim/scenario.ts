/**
 * Random but reproducible simulation scenarios: one seed → one scenario (replica count, faulty
 * replicas and their behaviour, network conditions before and after GST, partitions, request
 * schedule, protocol parameters). A scenario is plain JSON, printed with any failure so it can be
 * replayed (`runScenario(generateScenario(seed))`, or `PBFT_SEED=<seed>`).
 */
import { faultTolerance } from "../quorum";
import { Prng } from "./prng";

export type FaultKind =
  /** Crashed from the start: sends nothing. */
  | "silent"
  /** As primary, sends two different valid pre-prepares for the same (view, seq) to different replicas. */
  | "equivocate"
  /** Signs prepares/commits (and, as primary, pre-prepares) with wrong digests. */
  | "wrong-digest"
  /** As primary, proposes requests that fail validation. */
  | "invalid-proposal"
  /** Honest but slow: every message to or from it takes `lagFactor` times longer. */
  | "lag"
  /** Honest; crashes at `crashAt` and restarts from its persisted snapshot at `restartAt`. */
  | "crash-restart"
  /** As primary, orders no client request; keeps the others busy with NULL pre-prepares instead. */
  | "censor-null"
  /** As primary, orders no new client request; re-proposes already executed requests instead. */
  | "censor-dup"
  /** As primary, sends every backup a different validly signed pre-prepare for each (view, seq). */
  | "equivocate-all"
  /** As a new primary, sends half the backups a NEW-VIEW built on its own amnesic view-change. */
  | "nv-equivocate"
  /** Sends view-changes with forged prepared certificates (its own prepares only) or none at all. */
  | "vc-forged"
  /** Prepares and commits both the proposed digest and another one, each to half the replicas. */
  | "double-prepare"
  /** Replays old messages it received (any view, any sender) to random replicas. */
  | "replay"
  /** Answers every STATUS with an empty ENTRIES claiming it retains nothing below a huge seq. */
  | "forced-jump"
  /** Sends every replica a stream of validly signed VIEW-CHANGEs for ever higher future views. */
  | "vc-flood"
  /** As primary, commits NULLs and misplaced requests at the sequence numbers of future requests. */
  | "burn-seq"
  /**
   * Sends its prepares and commits with signatures that do not verify (the channel still authenticates
   * it): counted on the channel's authentication, useless as evidence — certificates must leave them out.
   */
  | "bad-sig-votes"
  /** Honest; its chain reads are slow: requests it cannot check yet get a transient verdict until `slowUntil`. */
  | "slow-chain"
  /** Honest; at `crashAt` it loses its PBFT state directory and restarts empty at `restartAt` (signing record kept). */
  | "lose-state";

export const BYZANTINE_KINDS: readonly FaultKind[] = [
  "silent",
  "equivocate",
  "wrong-digest",
  "invalid-proposal",
  "censor-null",
  "censor-dup",
  "equivocate-all",
  "nv-equivocate",
  "vc-forged",
  "double-prepare",
  "replay",
  "forced-jump",
  "vc-flood",
  "burn-seq",
  "bad-sig-votes",
];

/** Every kind, as the scenario generator draws them. */
export const ALL_FAULT_KINDS: readonly FaultKind[] = [
  ...BYZANTINE_KINDS,
  "lag",
  "crash-restart",
  "slow-chain",
  "lose-state",
];

/** Kinds of replicas that are correct (counted in the liveness check) though slowed or restarted. */
export const RESTARTING_KINDS: readonly FaultKind[] = ["crash-restart", "lose-state"];

export interface Fault {
  /** Index into the replica list (not the leader order). */
  replica: number;
  kind: FaultKind;
  crashAt?: number;
  restartAt?: number;
  /** slow-chain: transient verdicts until then. */
  slowUntil?: number;
}

export interface LinkConditions {
  minDelay: number;
  maxDelay: number;
  dropRate: number;
  dupRate: number;
}

export interface Scenario {
  seed: number;
  n: number;
  f: number;
  /** Leader order as indices into the replica list. */
  order: number[];
  faults: Fault[];
  checkpointInterval: number;
  watermarkWindow: number;
  viewChangeTimeoutMs: number;
  retransmitMs: number;
  maxBackoffExponent: number;
  forwardRequests: boolean;
  /** Global stabilisation time: from then on no drops, no partitions, delays ≤ post.maxDelay. */
  gst: number;
  pre: LinkConditions;
  post: LinkConditions;
  lagFactor: number;
  partitions: Array<{ from: number; to: number; groups: number[][] }>;
  /** Submission times of the client requests. */
  requests: number[];
  clientRetryMs: number;
  /**
   * Requests name their sequence number (request i names seq i + 1, as the validator's period proposals
   * do) and are valid only from their submission time on (a period that has not ended): before it the
   * validator's verdict is transient. A request executed at another seq does not count.
   */
  namedSeqs: boolean;
}

/** The scenario of `seed`. `overrides` pin fields (e.g. `{ n: 4 }`) while the rest stays random. */
export function generateScenario(seed: number, overrides: Partial<Scenario> = {}): Scenario {
  const rng = new Prng(seed);
  const n =
    overrides.n ??
    rng.weighted<number>([
      [1, 2],
      [2, 3],
      [3, 5],
      [4, 32],
      [5, 10],
      [6, 8],
      [7, 20],
      [8, 6],
      [10, 10],
      [13, 4],
    ]);
  const f = faultTolerance(n);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const faultCount =
    f === 0
      ? 0
      : rng.weighted<number>([
          [0, 1],
          [f, 4],
          [Math.max(0, f - 1), 1],
        ]);
  const kinds = ALL_FAULT_KINDS;
  // Often make the first primaries faulty: that is what forces view changes.
  const candidates = rng.chance(0.6) ? [...order] : rng.shuffle(order);
  const gst = rng.weighted<number>([
    [0, 2],
    [rng.int(100, 1000), 4],
    [rng.int(1000, 3000), 3],
  ]);
  const faults: Fault[] = candidates.slice(0, faultCount).map((replica) => {
    const kind = rng.pick(kinds);
    if (kind === "slow-chain") return { replica, kind, slowUntil: gst + rng.int(0, 2000) };
    if (kind !== "crash-restart" && kind !== "lose-state") return { replica, kind };
    const crashAt = rng.int(0, gst + 500);
    return { replica, kind, crashAt, restartAt: crashAt + rng.int(200, 2500) };
  });
  const k = rng.pick([2, 3, 4, 5]);
  const retransmitMs = rng.pick([60, 100, 150]);
  const partitions: Scenario["partitions"] = [];
  if (gst > 200 && n >= 3 && rng.chance(0.35)) {
    const from = rng.int(0, gst - 100);
    const shuffled = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    const cut = rng.int(1, n - 1);
    partitions.push({
      from,
      to: Math.min(gst, from + rng.int(100, 2000)),
      groups: [shuffled.slice(0, cut), shuffled.slice(cut)],
    });
  }
  const requestCount = rng.int(1, 12);
  const horizon = gst + rng.int(0, 1500);
  const requests = Array.from({ length: requestCount }, () => rng.int(0, horizon)).sort((a, b) => a - b);
  const viewChangeTimeoutMs = rng.pick([300, 400, 600]);
  // After GST: mostly fast links, but also one-way delays near and above the base timeout (the
  // doubled timeouts must catch up with them).
  const postMax = rng.weighted<number>([
    [rng.pick([5, 10, 20]), 6],
    [Math.round(viewChangeTimeoutMs * rng.pick([0.3, 0.45, 0.5])), 2],
    [Math.round(viewChangeTimeoutMs * rng.pick([0.8, 1.2])), 1],
  ]);
  const namedSeqs = rng.chance(0.3);
  const scenario: Scenario = {
    seed,
    n,
    f,
    order,
    faults,
    checkpointInterval: k,
    watermarkWindow: k * rng.pick([2, 3, 4]),
    viewChangeTimeoutMs,
    retransmitMs,
    maxBackoffExponent: 3,
    forwardRequests: rng.chance(0.7),
    gst,
    pre: {
      minDelay: 1,
      maxDelay: rng.pick([20, 50, 120]),
      dropRate: rng.pick([0, 0.05, 0.15, 0.3]),
      dupRate: rng.pick([0, 0.05, 0.2]),
    },
    post: {
      minDelay: postMax > 20 ? Math.round(postMax * 0.8) : 1,
      maxDelay: postMax,
      dropRate: 0,
      dupRate: rng.pick([0, 0.05]),
    },
    lagFactor: rng.pick([3, 5, 8]),
    partitions,
    requests,
    clientRetryMs: 400,
    namedSeqs,
  };
  return { ...scenario, ...overrides };
}
