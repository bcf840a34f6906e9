/**
 * The order in which `npm test` hands test files to its parallel workers: the longest files first, so that the
 * run does not end waiting on one slow file started last (mocha assigns files to free workers in list order).
 * Measured with `npm test` on this machine (README, "Tests"); a file missing from the list only runs later,
 * nothing is skipped.
 */
export const SLOW_FIRST = [
  "test/validator/validators.test.ts",
  "test/devnet/devnet.test.ts",
  "test/dashboard/devnet.e2e.test.ts",
  "test/validator/meta-feed.test.ts",
  "test/sim/scale.test.ts",
  "test/market/ResourceMarket.property.test.ts",
  "test/staking/BookkeeperStaking.property.test.ts",
  "test/compute/process.test.ts",
  "test/compute/supervise.process.test.ts",
  "test/cli/package.test.ts",
  "test/cli/audit.test.ts",
  "test/cli/storage.test.ts",
  "test/storage/failover-upload.test.ts",
  "test/compute/runtime.test.ts",
  "test/cli/errors.test.ts",
  "test/storage/config.test.ts",
  "test/staking/gas.test.ts",
  "test/token/HMSToken.property.test.ts",
  "test/cli/commands.test.ts",
  "test/meta/cluster.test.ts",
  "test/offchain/pbft/sim.test.ts",
  "test/offchain/pbft/processes.test.ts",
  "test/staking/system.test.ts",
  "test/storage/faults.test.ts",
  "test/rewards/system.test.ts",
  "test/dashboard/server.test.ts",
];

/** `files` (absolute paths) with the {@link SLOW_FIRST} ones first, in that order; the rest as given. */
export function orderTestFiles(files: readonly string[], root: string): string[] {
  const rank = (f: string) => {
    const i = SLOW_FIRST.findIndex((s) => f === `${root}/${s}`);
    return i < 0 ? SLOW_FIRST.length : i;
  };
  return files
    .map((f, i) => ({ f, i, r: rank(f) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.f);
}
