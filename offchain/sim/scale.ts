/**
 * `npm run sim:scale` (issue 15 item 6): a seeded, event-driven simulation of the storage layer past one machine —
 * thousands of storage nodes in regions, millions of slices × 3 copies — driving the real rules, no sockets:
 *
 *  - placement: {@link placeSlices} places every slice (in batches, each over a random sample of the online
 *    nodes — see "approximations" below);
 *  - repair: {@link planSliceRepair} (which slices are under-replicated) and {@link nextReplacement} (which node
 *    gets the new copy, through placement's `pickReplacement`) — the functions HealthService itself runs;
 *  - election: the meta cluster's {@link ElectionMachine}s, driven through the same regional outages.
 *
 * Events (a time-ordered queue, simulated seconds): independent node failures (exponential, mean `mttfDays`; a
 * fraction `permanentFraction` destroys the node's data and the node is replaced by an empty one after
 * `replaceDays`, the rest are transient outages of mean `transientMeanHours`), correlated regional outages (a whole
 * region down for `regionalHours`), repair (a node down for `detectHours` has each of its slices repaired: one new
 * copy per missing copy, the transfer queued on the target's download and the source's upload at
 * `bandwidthBytesPerSec`), and a daily sample of the copy-count histogram. Memory: slice→node copies are an
 * Int32Array (3 per slice), node→slices lists are growable Int32Arrays; nothing is allocated per slice at rest.
 *
 * Approximations (stated in docs/SCALING.md): placement and replacement see a random sample of
 * `candidateSample` online nodes per call, not all of them (`placeSlices` is O(nodes) per copy; over 10 000 nodes
 * and 30 M copies it would take hours) — the rules (scores, region spread, exclusions, free space) are the real
 * ones over that sample; the master's repair pass is modelled as immediate detection at `detectHours` after a
 * node went down (HealthService's interval is minutes, far below it); a new copy that arrives when the slice
 * already has 3 online copies is dropped (HealthService's surplus removal).
 *
 * Pure: no I/O, no clock.
 */
import type { Address, Hex } from "viem";
import { Prng } from "../consensus/pbft/sim/prng";
import { nextReplacement, planSliceRepair } from "../meta/health";
import { DEFAULT_PLACEMENT_WEIGHTS, placeSlices, type NodeCandidate } from "../meta/placement";
import { ElectionMachine, INITIAL_ELECTION_STATE } from "../meta/election/machine";
import { EventQueue, SimNetwork, DEFAULT_FAULTS } from "../meta/election/sim";
import { DEFAULT_ELECTION_TIMING, type DurableElectionState, type ElectionAction } from "../meta/election/types";

const DAY = 86_400;
const HOUR = 3_600;
const YEAR = 365 * DAY;
const COPIES = 3;

export interface ScaleSimOptions {
  seed: number;
  nodes: number;
  slices: number;
  days: number;
  regions: number;
  sliceBytes: number;
  /** Mean time to failure of one node, days (exponential). */
  mttfDays: number;
  /** Fraction of failures that destroy the node's data. */
  permanentFraction: number;
  transientMeanHours: number;
  /** A permanently failed node is replaced by an empty one after this long. */
  replaceDays: number;
  /** Regional outages per region per year, and their duration range, hours. */
  regionalPerYear: number;
  regionalMinHours: number;
  regionalMaxHours: number;
  /** A node down this long has its slices repaired (the health service's timeout). */
  detectHours: number;
  /** Repair bandwidth of each node, each way. */
  bandwidthBytesPerSec: number;
  /** Online nodes offered to placeSlices / pickReplacement per call. */
  candidateSample: number;
  /** Slices per placeSlices call at the initial placement. */
  placeBatch: number;
  /**
   * Slices placed through placeSlices; slice `s` beyond them copies the placement of slice `s mod placeReal`,
   * every node shifted by `regions · ⌊s / placeReal⌋` (same regions, same spread, other nodes).
   */
  placeReal: number;
  /** Meta nodes driven through the regional outages (0: none). */
  metaNodes: number;
  /** Regional outages scheduled up front (in addition to the random ones): [start s, duration s, region]. */
  extraOutages?: Array<[number, number, number]>;
  /** Regions destroyed (every node of it fails permanently at once): [time s, region]. */
  regionLosses?: Array<[number, number]>;
}

export const DEFAULT_SCALE_OPTIONS: ScaleSimOptions = {
  seed: 1,
  nodes: 10_000,
  slices: 10_000_000,
  days: 365,
  regions: 10,
  sliceBytes: 4 * 1024 * 1024,
  mttfDays: 90,
  permanentFraction: 0.025,
  transientMeanHours: 2,
  replaceDays: 2,
  regionalPerYear: 3,
  regionalMinHours: 2,
  regionalMaxHours: 10,
  detectHours: 12,
  bandwidthBytesPerSec: 10_000_000,
  candidateSample: 16,
  placeBatch: 256,
  placeReal: 1_000_000,
  metaNodes: 5,
};

/**
 * A setting where losses are frequent enough to measure in one run (the test's and the script's second table):
 * every failure destroys the node's data, repair starts a day later.
 */
export const STRESS_OPTIONS: ScaleSimOptions = {
  ...DEFAULT_SCALE_OPTIONS,
  nodes: 300,
  slices: 30_000,
  days: 120,
  mttfDays: 20,
  permanentFraction: 1,
  replaceDays: 1,
  detectHours: 24,
  regionalPerYear: 0,
};

export interface ScaleSimResult {
  options: ScaleSimOptions;
  /** Slices whose every copy was destroyed. */
  lost: number;
  /** Copy-count histogram (online copies 0..3) sampled each day; `[day][k]`. */
  histogram: number[][];
  /** Lowest number of slices with exactly 3 online copies over the samples, and slices that were ever at 0 online. */
  minFull: number;
  everZero: number;
  /** Repair traffic (in + out) per node per day, bytes: mean over node-days, p99, max. */
  trafficMean: number;
  trafficP99: number;
  trafficMax: number;
  copiesCreated: number;
  /** Mean time from a copy becoming unavailable for good (node down past the timeout) to its new copy, s. */
  meanRepairSec: number;
  failures: { transient: number; permanent: number; regional: number };
  /** Analytic model (Markov chain, 3 copies): per-copy loss rate λ, repair rate μ, per-slice MTTDL, losses / year. */
  analytic: {
    lambdaPerSec: number;
    muPerSec: number;
    mttdlSec: number;
    lossPerYear: number;
    approxMttdlSec: number;
    /** Copies re-created per year: 3S × the rate at which a copy is down past the timeout. */
    copiesPerYear: number;
    /** Repair traffic (in + out) per node per day, bytes. */
    trafficPerNodeDay: number;
    /** Slices with fewer than 3 online copies at a random instant: S·(1 − (1 − u)³), u a node's down fraction. */
    degraded: number;
  };
  /** Simulated: losses and copies re-created scaled to a year; mean of the daily samples of slices below 3 online. */
  lossPerYear: number;
  copiesPerYear: number;
  degradedMean: number;
  election: ElectionDriveResult;
  /** Wall-clock split, ms. */
  timing: { placeMs: number; runMs: number };
  events: number;
}

/**
 * Mean time to data loss of one slice with 3 copies: Markov chain on the number of copies (3 → 2 at 3λ, 2 → 1 at
 * 2λ, 1 → 0 at λ; repair 2 → 3 and 1 → 2 at μ), solved exactly; ≈ μ²/(6λ³) when μ ≫ λ.
 */
export function mttdl3(lambda: number, mu: number): number {
  // T3 = 1/(3λ) + T2; T2 = (1 + 2λ T1 + μ T3)/(2λ + μ); T1 = (1 + μ T2)/(λ + μ).
  // Substituting T3 and T1 into T2 gives T2 · (2λ + μ − μ − 2λμ/(λ+μ)) = 1 + 2λ/(λ+μ) + μ/(3λ).
  const a = 2 * lambda - (2 * lambda * mu) / (lambda + mu);
  const t2 = (1 + (2 * lambda) / (lambda + mu) + mu / (3 * lambda)) / a;
  return 1 / (3 * lambda) + t2;
}

/** Deterministic id of storage node `i`. */
function nodeId(i: number): Hex {
  return `0x${(0x5000_0000 + i).toString(16).padStart(40, "0")}` as Hex;
}

export function runScaleSim(partial: Partial<ScaleSimOptions> = {}): ScaleSimResult {
  const o: ScaleSimOptions = { ...DEFAULT_SCALE_OPTIONS, ...partial };
  const prng = new Prng(o.seed);
  const placeRandom = prng.fork();
  const rnd = () => placeRandom.next();
  const N = o.nodes;
  const S = o.slices;
  const end = o.days * DAY;
  const expo = (mean: number) => -Math.log(1 - prng.next()) * mean;

  // ---- nodes
  const ids: Hex[] = Array.from({ length: N }, (_, i) => nodeId(i));
  const index = new Map<string, number>(ids.map((id, i) => [id.toLowerCase(), i]));
  const region = new Int32Array(N);
  for (let i = 0; i < N; i++) region[i] = i % o.regions;
  const regionName = Array.from({ length: o.regions }, (_, r) => `region-${r}`);
  const capacity = BigInt(Math.ceil(((S * COPIES) / N) * 3)) * BigInt(o.sliceBytes);
  const candidates: NodeCandidate[] = ids.map((id, i) => ({
    nodeId: id,
    url: `http://node-${i}`,
    region: regionName[region[i]],
    capacity,
    free: capacity,
    uptimeSec: 30 * DAY,
    connections: 0,
    online: true,
  }));
  const up = new Uint8Array(N).fill(1);
  /** Incremented at every down/up: stale detection events are ignored. */
  const downVersion = new Int32Array(N);
  const downSince = new Float64Array(N);
  const regionDown = new Int32Array(o.regions);
  const nodeFailed = new Uint8Array(N); // own failure in progress (independent of regional outages)
  const inBusy = new Float64Array(N);
  const outBusy = new Float64Array(N);
  const traffic = new Float64Array(N * Math.max(1, o.days));

  // ---- slices
  const copies = new Int32Array(S * COPIES).fill(-1);
  const onlineCnt = new Uint8Array(S);
  const inflight = new Uint8Array(S);
  const waiting = new Uint8Array(S);
  const lostFlag = new Uint8Array(S);
  const hist = [0, 0, 0, 0];
  const lists: Int32Array[] = Array.from({ length: N }, () => new Int32Array(Math.ceil(((S * COPIES) / N) * 1.2) + 4));
  const listLen = new Int32Array(N);
  const pushList = (n: number, s: number) => {
    if (listLen[n] === lists[n].length) {
      const grown = new Int32Array(lists[n].length * 2);
      grown.set(lists[n]);
      lists[n] = grown;
    }
    lists[n][listLen[n]++] = s;
  };
  /** Iterates the slices node `n` holds now, compacting away stale entries. */
  const eachSlice = (n: number, f: (s: number) => void) => {
    const l = lists[n];
    let w = 0;
    const len = listLen[n];
    for (let r = 0; r < len; r++) {
      const s = l[r];
      const b = s * COPIES;
      if (copies[b] !== n && copies[b + 1] !== n && copies[b + 2] !== n) continue;
      // Drop duplicates (a slice repaired back onto a node that still lists it).
      l[w++] = s;
    }
    listLen[n] = w;
    for (let r = 0; r < w; r++) f(l[r]);
  };
  const setOnline = (s: number, c: number) => {
    hist[onlineCnt[s]]--;
    onlineCnt[s] = c;
    hist[c]++;
  };
  hist[0] = S;

  // ---- initial placement through placeSlices, in batches over random samples of the nodes
  const t0 = Date.now();
  const sample = (k: number): NodeCandidate[] => {
    const picked = new Set<number>();
    const want = Math.min(k, N);
    let guard = 0;
    while (picked.size < want && guard++ < want * 20) {
      const i = Math.floor(prng.next() * N);
      if (up[i] === 1) picked.add(i);
    }
    return [...picked].map((i) => candidates[i]);
  };
  const sizes = new Array<number>(o.placeBatch).fill(o.sliceBytes);
  const sliceBig = BigInt(o.sliceBytes);
  const real = Math.min(S, Math.max(1, o.placeReal));
  for (let s0 = 0; s0 < real; s0 += o.placeBatch) {
    const k = Math.min(o.placeBatch, real - s0);
    const chains = placeSlices(
      sample(o.candidateSample),
      { sizes: k === o.placeBatch ? sizes : sizes.slice(0, k), copies: COPIES },
      DEFAULT_PLACEMENT_WEIGHTS,
      rnd,
    );
    for (let j = 0; j < k; j++)
      for (let c = 0; c < COPIES; c++) {
        const n = index.get(chains[j][c].nodeId.toLowerCase()) as number;
        copies[(s0 + j) * COPIES + c] = n;
        candidates[n].free -= sliceBig;
      }
  }
  const perRegion = Math.floor(N / o.regions);
  for (let s = real; s < S; s++) {
    const shift = Math.floor(s / real);
    const t = s % real;
    for (let c = 0; c < COPIES; c++) {
      const n = copies[t * COPIES + c];
      copies[s * COPIES + c] =
        n < perRegion * o.regions ? (n % o.regions) + o.regions * ((Math.floor(n / o.regions) + shift) % perRegion) : n;
    }
  }
  for (let s = 0; s < S; s++) {
    for (let c = 0; c < COPIES; c++) {
      const n = copies[s * COPIES + c];
      pushList(n, s);
      if (s >= real) candidates[n].free -= sliceBig;
    }
    setOnline(s, COPIES);
  }
  const placeMs = Date.now() - t0;

  // ---- events
  type Ev =
    | { k: "fail"; n: number; v: number; permanent?: boolean }
    | { k: "back"; n: number; permanent: boolean }
    | { k: "detect"; n: number; v: number }
    | { k: "detectLost"; slices: Int32Array }
    | { k: "regionDown"; r: number; dur: number }
    | { k: "regionUp"; r: number }
    | { k: "done"; s: number; target: number; since: number }
    | { k: "sample" };
  const q = new EventQueue<Ev>();
  /** Generation of each node's pending own failure (a region loss supersedes it). */
  const failGen = new Int32Array(N);
  for (let n = 0; n < N; n++) q.push(expo(o.mttfDays * DAY), { k: "fail", n, v: 0 });
  const outages: Array<[number, number, number]> = [...(o.extraOutages ?? [])];
  if (o.regionalPerYear > 0)
    for (let r = 0; r < o.regions; r++)
      for (let t = expo(YEAR / o.regionalPerYear); t < end; t += expo(YEAR / o.regionalPerYear))
        outages.push([t, (o.regionalMinHours + prng.next() * (o.regionalMaxHours - o.regionalMinHours)) * HOUR, r]);
  for (const [t, dur, r] of outages) q.push(t, { k: "regionDown", r, dur });
  for (const [t, r] of o.regionLosses ?? [])
    for (let n = r; n < N; n += o.regions) q.push(t, { k: "fail", n, v: -1, permanent: true });
  for (let d = 0; d <= o.days; d++) q.push(d * DAY, { k: "sample" });

  const failures = { transient: 0, permanent: 0, regional: outages.length };
  let lost = 0;
  let copiesCreated = 0;
  let repairSecSum = 0;
  let repairCount = 0;
  const histogram: number[][] = [];
  let minFull = S;
  let everZero = 0;
  const everZeroFlag = new Uint8Array(S);
  const dayOf = (t: number) => Math.min(o.days - 1, Math.max(0, Math.floor(t / DAY)));

  const isOnline = (id: Hex) => up[index.get(id.toLowerCase()) as number] === 1;
  const countOnline = (s: number) => {
    let c = 0;
    for (let k = 0; k < COPIES; k++) {
      const n = copies[s * COPIES + k];
      if (n >= 0 && up[n] === 1) c++;
    }
    return c;
  };

  const goDown = (n: number, now: number) => {
    if (up[n] === 0) return;
    up[n] = 0;
    candidates[n].online = false;
    downSince[n] = now;
    downVersion[n]++;
    eachSlice(n, (s) => {
      const c = onlineCnt[s] - 1;
      setOnline(s, c);
      if (c === 0 && everZeroFlag[s] === 0 && lostFlag[s] === 0) {
        everZeroFlag[s] = 1;
        everZero++;
      }
    });
    q.push(now + o.detectHours * HOUR, { k: "detect", n, v: downVersion[n] });
  };
  const goUp = (n: number, now: number) => {
    if (up[n] === 1 || nodeFailed[n] === 1 || regionDown[region[n]] > 0) return;
    up[n] = 1;
    candidates[n].online = true;
    candidates[n].uptimeSec = 0;
    downVersion[n]++;
    eachSlice(n, (s) => {
      setOnline(s, onlineCnt[s] + 1);
      if (waiting[s] === 1) {
        waiting[s] = 0;
        repair(s, now);
      }
    });
  };

  /** One slice through the real repair decision and replacement choice. */
  const repair = (s: number, now: number) => {
    if (lostFlag[s] === 1 || inflight[s] > 0) return;
    const replicas: Array<{ nodeId: Hex; region: string; n: number }> = [];
    for (let k = 0; k < COPIES; k++) {
      const n = copies[s * COPIES + k];
      if (n >= 0) replicas.push({ nodeId: ids[n], region: regionName[region[n]], n });
    }
    const plan = planSliceRepair(replicas, isOnline, COPIES);
    if (!plan.needed) return;
    // Only the copies down past the timeout count as missing (a shorter outage is waited out).
    const stillDown = replicas.filter((r) => up[r.n] === 0 && now - downSince[r.n] < o.detectHours * HOUR).length;
    const missing = plan.missing - stillDown;
    if (plan.online.length === 0) {
      waiting[s] = 1;
      return;
    }
    if (missing <= 0) return;
    const added: Array<{ region: string }> = [];
    const tried: Hex[] = [];
    for (let m = 0; m < missing; m++) {
      const target = nextReplacement(
        sample(o.candidateSample),
        { size: o.sliceBytes, replicas, online: plan.online, added, tried },
        DEFAULT_PLACEMENT_WEIGHTS,
        rnd,
      );
      if (target === undefined) break;
      tried.push(target.nodeId);
      added.push(target);
      const t = index.get(target.nodeId.toLowerCase()) as number;
      const src = plan.online[Math.floor(prng.next() * plan.online.length)].n;
      const dur = o.sliceBytes / o.bandwidthBytesPerSec;
      const start = Math.max(now, inBusy[t], outBusy[src]);
      inBusy[t] = outBusy[src] = start + dur;
      const day = dayOf(start);
      traffic[t * o.days + day] += o.sliceBytes;
      traffic[src * o.days + day] += o.sliceBytes;
      inflight[s]++;
      candidates[t].connections++;
      q.push(start + dur, { k: "done", s, target: t, since: now });
    }
  };

  let events = 0;
  const t1 = Date.now();
  for (let ev = q.pop(); ev !== undefined && ev.at <= end; ev = q.pop()) {
    events++;
    const now = ev.at;
    const e = ev.event;
    switch (e.k) {
      case "fail": {
        const n = e.n;
        // Stale (superseded by a region loss), or already failed (a region loss on top of its own failure: ignored).
        if ((e.v >= 0 && e.v !== failGen[n]) || nodeFailed[n] === 1) break;
        failGen[n]++;
        const permanent = e.permanent === true || prng.chance(o.permanentFraction);
        nodeFailed[n] = 1;
        goDown(n, now);
        if (permanent) {
          failures.permanent++;
          // The data is gone: clear its copies (a slice with none left is lost); they are repaired at the timeout.
          const gone: number[] = [];
          eachSlice(n, (s) => {
            gone.push(s);
            for (let k = 0; k < COPIES; k++) if (copies[s * COPIES + k] === n) copies[s * COPIES + k] = -1;
            if (lostFlag[s] === 0 && copies[s * 3] < 0 && copies[s * 3 + 1] < 0 && copies[s * 3 + 2] < 0) {
              lostFlag[s] = 1;
              lost++;
            }
          });
          listLen[n] = 0;
          q.push(now + o.detectHours * HOUR, { k: "detectLost", slices: Int32Array.from(gone) });
          candidates[n].free = capacity;
          q.push(now + o.replaceDays * DAY, { k: "back", n, permanent });
        } else {
          failures.transient++;
          q.push(now + expo(o.transientMeanHours * HOUR), { k: "back", n, permanent });
        }
        break;
      }
      case "back":
        nodeFailed[e.n] = 0;
        goUp(e.n, now);
        q.push(now + expo(o.mttfDays * DAY), { k: "fail", n: e.n, v: failGen[e.n] });
        break;
      case "detect":
        if (e.v !== downVersion[e.n] || up[e.n] === 1) break;
        eachSlice(e.n, (s) => repair(s, now));
        break;
      case "detectLost":
        for (const s of e.slices) repair(s, now);
        break;
      case "regionDown":
        regionDown[e.r]++;
        for (let n = e.r; n < N; n += o.regions) goDown(n, now);
        q.push(now + e.dur, { k: "regionUp", r: e.r });
        break;
      case "regionUp":
        regionDown[e.r]--;
        for (let n = e.r; n < N; n += o.regions) goUp(n, now);
        break;
      case "done": {
        const { s, target } = e;
        inflight[s]--;
        candidates[target].connections--;
        if (lostFlag[s] === 0 && up[target] === 1) {
          // Fill a slot that is empty or on a node down past the timeout; none: surplus, dropped.
          let slot = -1;
          for (let k = 0; k < COPIES && slot < 0; k++) if (copies[s * COPIES + k] < 0) slot = k;
          for (let k = 0; k < COPIES && slot < 0; k++) {
            const n = copies[s * COPIES + k];
            if (up[n] === 0 && now - downSince[n] >= o.detectHours * HOUR) slot = k;
          }
          if (slot >= 0 && copies[s * COPIES + slot] !== target) {
            copies[s * COPIES + slot] = target;
            pushList(target, s);
            candidates[target].free -= sliceBig;
            copiesCreated++;
            repairSecSum += now - e.since + o.detectHours * HOUR;
            repairCount++;
            setOnline(s, countOnline(s));
          }
        }
        if (inflight[s] === 0) repair(s, now);
        break;
      }
      case "sample": {
        histogram.push([...hist]);
        if (hist[3] < minFull) minFull = hist[3];
        for (let n = 0; n < N; n++) if (up[n] === 1) candidates[n].uptimeSec += DAY;
        break;
      }
    }
  }
  const runMs = Date.now() - t1;

  // ---- traffic per node-day
  const td = Array.from(traffic).sort((a, b) => a - b);
  const trafficMean = td.reduce((a, b) => a + b, 0) / Math.max(1, td.length);
  const trafficP99 = td[Math.min(td.length - 1, Math.floor(td.length * 0.99))] ?? 0;
  const trafficMax = td[td.length - 1] ?? 0;

  // ---- analytic model
  const lambdaPerSec = o.permanentFraction / (o.mttfDays * DAY);
  const meanRepairSec = repairCount > 0 ? repairSecSum / repairCount : o.detectHours * HOUR;
  const muPerSec = 1 / meanRepairSec;
  const mttdlSec = mttdl3(lambdaPerSec, muPerSec);
  const approxMttdlSec = (muPerSec * muPerSec) / (6 * lambdaPerSec ** 3);
  const mttf = o.mttfDays * DAY;
  const detect = o.detectHours * HOUR;
  const transient = o.transientMeanHours * HOUR;
  const regionalMean = ((o.regionalMinHours + o.regionalMaxHours) / 2) * HOUR;
  const pastTimeout = // per node per second: permanent failures + transient outages and regional outages longer than the timeout
    o.permanentFraction / mttf +
    ((1 - o.permanentFraction) / mttf) * Math.exp(-detect / transient) +
    (o.regionalPerYear / YEAR) *
      Math.max(
        0,
        Math.min(1, (o.regionalMaxHours * HOUR - detect) / ((o.regionalMaxHours - o.regionalMinHours) * HOUR || 1)),
      );
  const copiesPerYearA = COPIES * S * pastTimeout * YEAR;
  const u =
    ((1 - o.permanentFraction) * transient + o.permanentFraction * Math.min(o.replaceDays * DAY, meanRepairSec)) /
      mttf +
    (o.regionalPerYear * regionalMean) / YEAR;
  const analytic = {
    lambdaPerSec,
    muPerSec,
    mttdlSec,
    lossPerYear: (S * YEAR) / mttdlSec,
    approxMttdlSec,
    copiesPerYear: copiesPerYearA,
    trafficPerNodeDay: (copiesPerYearA * 2 * o.sliceBytes) / (N * 365),
    degraded: S * (1 - (1 - u) ** 3),
  };

  const election =
    o.metaNodes > 0
      ? driveElection(
          o.seed,
          o.metaNodes,
          outages.filter(([t]) => t < end).map(([t, dur, r]) => ({ at: t, durationSec: dur, region: r })),
          o.regions,
        )
      : { episodes: 0, leaderLost: 0, newMasterMs: [], violations: [], terms: 0, unsettled: 0 };

  return {
    options: o,
    lost,
    histogram,
    minFull,
    everZero,
    trafficMean,
    trafficP99,
    trafficMax,
    copiesCreated,
    meanRepairSec,
    failures,
    analytic,
    lossPerYear: (lost * YEAR) / end,
    copiesPerYear: (copiesCreated * YEAR) / end,
    degradedMean: histogram.reduce((a, h) => a + (S - h[3]), 0) / Math.max(1, histogram.length),
    election,
    timing: { placeMs, runMs },
    events,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The meta cluster through the regional outages

export interface ElectionDriveResult {
  /** Outages that took down at least one meta node. */
  episodes: number;
  /** Of them, the ones that took down the master. */
  leaderLost: number;
  /** Time from the master's loss to a new master followed by every live voter, per such episode, ms. */
  newMasterMs: number[];
  /** Terms with more than one leader, over every episode (must be empty). */
  violations: Array<{ term: bigint; leaders: Address[] }>;
  /** Distinct terms that had a leader. */
  terms: number;
  /** Episodes in which no master was followed by every live voter within the window. */
  unsettled: number;
}

/**
 * Meta node `i` sits in region `i % regions` (3–5 meta nodes in distinct regions). For each regional outage that
 * hits a meta node, one episode: the cluster starts from its durable state (terms carry over between episodes),
 * settles on a master, then the nodes of the region crash; the episode measures the time to a new master when the
 * master was among them, runs `min(outage, 20 s)` of the outage (heartbeats are 100 ms: the hours between events
 * are not simulated) and restarts the crashed nodes. Every (term, leader) is recorded across all episodes.
 */
export function driveElection(
  seed: number,
  metaNodes: number,
  outages: ReadonlyArray<{ at: number; durationSec: number; region: number }>,
  regions: number,
): ElectionDriveResult {
  const prng = new Prng(seed ^ 0x5eed);
  const addresses = Array.from(
    { length: metaNodes },
    (_, i) => `0x${(0x4d00_0000 + i).toString(16).padStart(40, "0")}` as Address,
  );
  const durable: DurableElectionState[] = addresses.map(() => ({ ...INITIAL_ELECTION_STATE }));
  const leadersByTerm = new Map<bigint, Set<Address>>();
  const out: ElectionDriveResult = {
    episodes: 0,
    leaderLost: 0,
    newMasterMs: [],
    violations: [],
    terms: 0,
    unsettled: 0,
  };
  const timing = DEFAULT_ELECTION_TIMING;

  for (const outage of [...outages].sort((a, b) => a.at - b.at)) {
    const hit = addresses.map((_, i) => i).filter((i) => i % regions === outage.region);
    if (hit.length === 0) continue;
    out.episodes++;
    const net = new SimNetwork(metaNodes, prng.fork(), { ...DEFAULT_FAULTS, loss: 0, minDelayMs: 1, maxDelayMs: 30 });
    type Ev =
      | { kind: "deliver"; to: number; from: number; message: import("../meta/election/types").ElectionMessage }
      | { kind: "tick"; node: number; version: number }
      | { kind: "crash" }
      | { kind: "restart" };
    const q = new EventQueue<Ev>();
    const version = new Array(metaNodes).fill(0);
    const epochOf = new Array(metaNodes).fill(0);
    const make = (i: number) => {
      const r = prng.fork();
      return new ElectionMachine({ self: addresses[i], voters: addresses, ...timing }, durable[i], () => r.next());
    };
    const machines = addresses.map((_, i) => make(i));
    const perform = (i: number, actions: ElectionAction[], now: number) => {
      for (const a of actions) {
        if (a.type === "persist") durable[i] = { ...a.state };
        else if (a.type === "role" && a.role === "leading") {
          const set = leadersByTerm.get(a.term) ?? new Set<Address>();
          set.add(addresses[i]);
          leadersByTerm.set(a.term, set);
        } else if (a.type === "send" || a.type === "broadcast") {
          const targets =
            a.type === "send"
              ? [addresses.findIndex((x) => x.toLowerCase() === a.to.toLowerCase())]
              : addresses.map((_, j) => j).filter((j) => j !== i);
          for (const j of targets) {
            const d = net.delay(i, j);
            if (d !== undefined) q.push(now + d, { kind: "deliver", to: j, from: i, message: a.message });
          }
        }
      }
      const at = machines[i].nextTimer;
      if (Number.isFinite(at)) q.push(Math.max(at, now), { kind: "tick", node: i, version: ++version[i] });
    };
    /** The master every live voter follows, or null. */
    const master = (): number | null => {
      let leader: string | null = null;
      for (let i = 0; i < metaNodes; i++) {
        if (!net.up.has(i)) continue;
        const m = machines[i];
        const l = m.role === "leading" ? addresses[i] : m.role === "following" ? m.leader : null;
        if (l === null || (leader !== null && l.toLowerCase() !== leader.toLowerCase())) return null;
        leader = l;
      }
      if (leader === null) return null;
      const li = addresses.findIndex((x) => x.toLowerCase() === (leader as string).toLowerCase());
      return net.up.has(li) && machines[li].role === "leading" ? li : null;
    };
    for (let i = 0; i < metaNodes; i++) perform(i, machines[i].start(0), 0);
    const settleBy = 20_000;
    const outageMs = Math.min(outage.durationSec * 1000, 20_000);
    let crashAt = Number.POSITIVE_INFINITY;
    let leaderHit = false;
    let newMasterAt: number | null = null;
    let settledOnce = false;
    const endAt = settleBy + outageMs + 10_000;
    for (let ev = q.pop(); ev !== undefined && ev.at <= endAt; ev = q.pop()) {
      const now = ev.at;
      const e = ev.event;
      if (e.kind === "deliver") {
        if (net.up.has(e.to) && epochOf[e.to] >= 0)
          perform(e.to, machines[e.to].receive(addresses[e.from], e.message, now), now);
      } else if (e.kind === "tick") {
        if (net.up.has(e.node) && e.version === version[e.node]) perform(e.node, machines[e.node].tick(now), now);
      } else if (e.kind === "crash") {
        const m = master();
        leaderHit = m !== null && hit.includes(m);
        for (const i of hit) {
          net.up.delete(i);
          version[i]++;
          epochOf[i]++;
        }
        crashAt = now;
        q.push(now + outageMs, { kind: "restart" });
      } else if (e.kind === "restart") {
        for (const i of hit) {
          net.up.add(i);
          machines[i] = make(i);
          perform(i, machines[i].start(now), now);
        }
      }
      if (!settledOnce && master() !== null) {
        settledOnce = true;
        q.push(now + 1_000, { kind: "crash" });
      }
      if (leaderHit && newMasterAt === null && now > crashAt && now < crashAt + outageMs && master() !== null)
        newMasterAt = now;
    }
    if (leaderHit) {
      out.leaderLost++;
      if (newMasterAt !== null) out.newMasterMs.push(newMasterAt - crashAt);
      else out.unsettled++;
    } else if (!settledOnce) out.unsettled++;
  }
  out.violations = [...leadersByTerm]
    .filter(([, set]) => set.size > 1)
    .map(([term, set]) => ({ term, leaders: [...set] }));
  out.terms = leadersByTerm.size;
  return out;
}
