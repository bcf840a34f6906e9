import { expect } from "chai";
import {
  ALL_FAULT_KINDS,
  describeFailure,
  generateScenario,
  runScenario,
  runSeeds,
} from "../../../offchain/consensus/pbft/sim";

/**
 * Seeds 1…PBFT_SIM_SEEDS (default 1000), or just PBFT_SEED. A failing seed prints itself with its
 * scenario and the command that replays it.
 */
describe("pbft/simulator — safety and liveness over random seeds", function () {
  this.timeout(1_200_000);
  const single = process.env.PBFT_SEED;
  const from = single !== undefined ? Number(single) : Number(process.env.PBFT_SIM_FROM ?? 1);
  const count = single !== undefined ? 1 : Number(process.env.PBFT_SIM_SEEDS ?? 1000);

  it(`holds safety and liveness for ${count} seed(s) from ${from}`, function () {
    const failures = runSeeds(from, count);
    if (failures.length > 0) {
      const text = failures.slice(0, 10).map(describeFailure).join("\n\n");
      console.log(text);
      expect.fail(`${failures.length} of ${count} seeds failed:\n${text}`);
    }
  });

  it("is deterministic: a seed replays exactly", function () {
    const a = runScenario(generateScenario(4242));
    const b = runScenario(generateScenario(4242));
    expect(a).to.deep.equal(b);
    expect(a.stats.events).to.be.greaterThan(0);
  });

  it("exercises view changes, evidence, restarts and state jumps across the seed range", function () {
    let viewChanges = 0;
    let evidence = 0;
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 150; seed++) {
      const s = generateScenario(seed);
      s.faults.forEach((f) => kinds.add(f.kind));
      const r = runScenario(s);
      if (r.stats.maxView > 0) viewChanges++;
      evidence += r.stats.evidence;
    }
    expect(viewChanges).to.be.greaterThan(30);
    expect(evidence).to.be.greaterThan(10);
    // Every fault kind the generator knows shows up in the first 150 seeds.
    expect([...kinds].sort()).to.deep.equal([...ALL_FAULT_KINDS].sort());
  });

  it("the checker is not vacuous: more than f silent replicas is reported as a liveness failure", function () {
    const s = generateScenario(7, { n: 4 });
    const broken = {
      ...s,
      faults: [
        { replica: 0, kind: "silent" as const },
        { replica: 1, kind: "silent" as const },
      ],
      requests: [10],
      gst: 0,
    };
    const r = runScenario(broken, { livenessBudgetMs: 5000 });
    expect(r.ok).to.equal(false);
    expect(r.violations.join(" ")).to.contain("LIVENESS");
  });
});
