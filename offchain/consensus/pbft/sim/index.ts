/** The PBFT simulator: scenarios from seeds, a deterministic network, safety/liveness checks. */
export { Prng } from "./prng";
export { SimKeys, canonical } from "./crypto";
export {
  generateScenario,
  BYZANTINE_KINDS,
  RESTARTING_KINDS,
  ALL_FAULT_KINDS,
  type Scenario,
  type Fault,
  type FaultKind,
  type LinkConditions,
} from "./scenario";
export { runScenario, simAddresses, simValidate, simRequestSeq, type SimResult, type SimOptions } from "./simulator";

import { generateScenario, type Scenario } from "./scenario";
import { runScenario, type SimResult } from "./simulator";

export interface SeedFailure {
  seed: number;
  scenario: Scenario;
  violations: string[];
}

/** Runs seeds `from … from+count−1`; `onProgress(done)` is called after each. */
export function runSeeds(
  from: number,
  count: number,
  onProgress?: (done: number, result: SimResult) => void,
): SeedFailure[] {
  const failures: SeedFailure[] = [];
  for (let i = 0; i < count; i++) {
    const seed = from + i;
    const scenario = generateScenario(seed);
    let result: SimResult;
    try {
      result = runScenario(scenario);
    } catch (err) {
      result = {
        ok: false,
        violations: [`exception: ${(err as Error).stack ?? String(err)}`],
        stats: {} as SimResult["stats"],
      };
    }
    if (!result.ok) failures.push({ seed, scenario, violations: result.violations });
    onProgress?.(i + 1, result);
  }
  return failures;
}

/** A failure as text: the seed, how to replay it, the violations and the scenario. */
export function describeFailure(f: SeedFailure): string {
  return [
    `seed ${f.seed} FAILED — replay: PBFT_SEED=${f.seed} npx hardhat test test/offchain/pbft/sim.test.ts  (or: npm run soak:pbft -- --from ${f.seed} --seeds 1)`,
    ...f.violations.map((v) => `  - ${v}`),
    `  scenario: ${JSON.stringify(f.scenario)}`,
  ].join("\n");
}
