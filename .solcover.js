/* global module */
// solidity-coverage (`npm run coverage`). The claim path of MiningPool is hand-tuned assembly that compiles without
// the optimizer's help only barely; instrumentation adds locals, so let the Yul optimizer run (stack-to-memory
// allocation and stack shuffling) while coverage keeps the instrumented statements.
module.exports = {
  configureYulOptimizer: true,
  solcOptimizerDetails: {
    peephole: false,
    inliner: false,
    jumpdestRemover: false,
    orderLiterals: true,
    deduplicate: false,
    cse: false,
    constantOptimizer: false,
    yul: true,
    yulDetails: { stackAllocation: true },
  },
  skipFiles: ["test/"],
};
