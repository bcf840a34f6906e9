/**
 * `npm run coverage` (solidity-coverage) instruments every contract: gas figures change, so tests that measure or
 * bound gas skip themselves under it (`skipUnderCoverage(this)` in a `before` hook).
 */
import hre from "hardhat";

/** True while solidity-coverage runs the suite on instrumented contracts. */
export const UNDER_COVERAGE: boolean =
  (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true;

/** Skips the enclosing suite (call from `before`) or test (call from `it`) under coverage instrumentation. */
export function skipUnderCoverage(ctx: Mocha.Context): void {
  if (UNDER_COVERAGE) ctx.skip();
}
