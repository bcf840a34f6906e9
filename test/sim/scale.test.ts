import { expect } from "chai";
import { STRESS_OPTIONS, driveElection, mttdl3, runScaleSim, type ScaleSimOptions } from "../../offchain/sim/scale";
import { DEFAULT_ELECTION_TIMING } from "../../offchain/meta/election/types";
import { nextReplacement, planSliceRepair } from "../../offchain/meta/health";
import { DEFAULT_PLACEMENT_WEIGHTS, seededRandom, type NodeCandidate } from "../../offchain/meta/placement";
import type { Hex } from "viem";

const DAY = 86_400;
const HOUR = 3_600;

/** 300 nodes in 10 regions, 30 000 slices × 3 (the test scale). */
const SMALL: Partial<ScaleSimOptions> = { nodes: 300, slices: 30_000, days: 20, metaNodes: 0 };
/** No independent failures and no random regional outages: only the scenario's own events. */
const QUIET: Partial<ScaleSimOptions> = { ...SMALL, mttfDays: 1e9, regionalPerYear: 0 };

describe("sim:scale (offchain/sim/scale.ts)", function () {
  this.timeout(300_000);

  it("is deterministic for a seed", function () {
    const strip = (r: ReturnType<typeof runScaleSim>) => ({ ...r, timing: undefined });
    const a = runScaleSim({ ...SMALL, seed: 7, mttfDays: 30, permanentFraction: 0.2 });
    const b = runScaleSim({ ...SMALL, seed: 7, mttfDays: 30, permanentFraction: 0.2 });
    expect(strip(a)).to.deep.equal(strip(b));
    expect(a.copiesCreated).to.be.greaterThan(0);
    const c = runScaleSim({ ...SMALL, seed: 8, mttfDays: 30, permanentFraction: 0.2 });
    expect(c.histogram).to.not.deep.equal(a.histogram);
  });

  it("repair restores 3 copies after an outage longer than the timeout", function () {
    // Region 3 (30 nodes, a tenth of the copies) down 20 h from day 1.5; repair starts after 12 h.
    const r = runScaleSim({ ...QUIET, seed: 3, extraOutages: [[1.5 * DAY, 20 * HOUR, 3]], days: 4 });
    expect(r.histogram[1]).to.deep.equal([0, 0, 0, 30_000]);
    expect(r.histogram[2][2]).to.be.within(8_000, 10_000); // day 2: one copy of ≈ 3/10 of the slices offline
    expect(r.copiesCreated).to.be.within(8_000, 10_000); // ≈ 30 000 × 3 / 10
    expect(r.histogram[3]).to.deep.equal([0, 0, 0, 30_000]);
    expect(r.lost).to.equal(0);
  });

  it("a regional outage, or the loss of a whole region, never loses a slice: copies span regions", function () {
    const outage = runScaleSim({ ...QUIET, seed: 4, extraOutages: [[DAY, 8 * HOUR, 5]], days: 3 });
    expect(outage.everZero).to.equal(0);
    expect(outage.copiesCreated).to.equal(0); // shorter than the timeout: waited out
    expect(outage.histogram.map((h) => h[0] + h[1])).to.deep.equal([0, 0, 0, 0]);
    const destroyed = runScaleSim({ ...QUIET, seed: 5, regionLosses: [[DAY, 2]], days: 4 });
    expect(destroyed.lost).to.equal(0);
    expect(destroyed.everZero).to.equal(0);
    expect(destroyed.histogram[destroyed.histogram.length - 1]).to.deep.equal([0, 0, 0, 30_000]);
  });

  it("drives the meta cluster's election through regional outages: one leader per term, a new master in time", function () {
    const outages = Array.from({ length: 40 }, (_, i) => ({ at: i * DAY, durationSec: 6 * HOUR, region: i % 10 }));
    const e = driveElection(11, 5, outages, 10);
    expect(e.episodes).to.equal(20); // meta nodes in regions 0–4
    expect(e.violations).to.deep.equal([]);
    expect(e.unsettled).to.equal(0);
    expect(e.leaderLost).to.be.greaterThan(0);
    expect(e.newMasterMs).to.have.length(e.leaderLost);
    for (const ms of e.newMasterMs) expect(ms).to.be.below(4 * DEFAULT_ELECTION_TIMING.timeoutMaxMs);
  });

  it("the Markov model: exact MTTDL ≈ μ²/(6λ³) when μ ≫ λ", function () {
    const l = 1e-8;
    const m = 1e-4;
    expect(mttdl3(l, m) / ((m * m) / (6 * l ** 3))).to.be.within(1, 1.01);
  });

  it("simulated loss agrees with the analytic model for 3 copies within a factor of 3 where losses are frequent", function () {
    // STRESS_OPTIONS: 300 nodes, 30 000 slices, every failure permanent (MTTF 20 d), repair after 24 h.
    // The Markov model assumes exponential repair times; the simulation's fixed timeout halves the chance that
    // two more copies fail within one repair window, so ≈ 0.5× is expected.
    const r = runScaleSim({ ...STRESS_OPTIONS, seed: 1, metaNodes: 0 });
    expect(r.lost).to.be.greaterThan(300);
    const ratio = r.lossPerYear / r.analytic.lossPerYear;
    expect(ratio).to.be.within(1 / 3, 3);
    expect(r.copiesPerYear / r.analytic.copiesPerYear).to.be.within(0.8, 1.2);
  });
});

describe("meta/health: the pure repair decision (shared by HealthService and the sim)", function () {
  const id = (i: number) => `0x${i.toString(16).padStart(40, "0")}` as Hex;
  const rep = (i: number) => ({ nodeId: id(i), region: `r${i % 3}`, url: `http://n${i}` });
  const online =
    (...up: number[]) =>
    (x: Hex) =>
      up.map(id).includes(x);

  it("planSliceRepair: nothing to do, missing copies, surplus, no source", function () {
    expect(planSliceRepair([rep(1), rep(2), rep(3)], online(1, 2, 3), 3)).to.include({ needed: false, missing: 0 });
    const down = planSliceRepair([rep(1), rep(2), rep(3)], online(1), 3);
    expect(down).to.include({ needed: true, missing: 2 });
    expect(down.down).to.deep.equal([id(2), id(3)]);
    expect(planSliceRepair([rep(1), rep(2), rep(3), rep(4)], online(1, 2, 3, 4), 3).surplus).to.deep.equal([id(4)]);
    expect(planSliceRepair([rep(1), rep(2)], online(), 3)).to.include({ needed: true, missing: 0 });
  });

  it("nextReplacement: never a replica or a tried node, another region first, undefined when none fits", function () {
    const nodes: NodeCandidate[] = [1, 2, 3, 4, 5, 6].map((i) => ({
      ...rep(i),
      capacity: 10n ** 9n,
      free: 10n ** 9n,
      uptimeSec: 0,
      connections: 0,
      online: true,
    }));
    const random = seededRandom(1);
    const slice = { size: 100, replicas: [rep(1), rep(2)], online: [rep(1), rep(2)], added: [], tried: [id(3)] };
    for (let k = 0; k < 20; k++) {
      const t = nextReplacement(nodes, slice, DEFAULT_PLACEMENT_WEIGHTS, random);
      expect(t?.nodeId).to.equal(id(6)); // region r0 is the only one unused; 3 (r0) was tried
    }
    expect(nextReplacement(nodes.slice(0, 3), slice, DEFAULT_PLACEMENT_WEIGHTS, random)).to.equal(undefined);
  });
});
