import type { HardhatUserConfig } from "hardhat/config";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_TEST_GET_TEST_FILES } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";
import "@nomicfoundation/hardhat-viem";
import "./tools/abis";
import { orderTestFiles } from "./tools/test-order";

/**
 * Offline compiler: Hardhat normally downloads solc. These machines have no internet, so the
 * compile subtask is pointed at the solc-js (WASM) build shipped in the `solc` npm package.
 * Any other compiler version falls through to Hardhat's default (and would need the network).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SOLC_VERSION: string = require("solc/package.json").version;

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    longVersion: require("solc").version(),
  };
});

/** The longest test files first, so that the parallel workers finish together (tools/test-order.ts). */
subtask(TASK_TEST_GET_TEST_FILES, async (args, hre, runSuper) =>
  orderTestFiles((await runSuper(args)) as string[], hre.config.paths.root),
);

const MARKET_COMPILER = {
  version: SOLC_VERSION,
  settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun", viaIR: false },
};

const config: HardhatUserConfig = {
  solidity: {
    compilers: [
      {
        version: SOLC_VERSION,
        settings: {
          optimizer: { enabled: true, runs: 1000 },
          evmVersion: "cancun",
          viaIR: false,
        },
      },
    ],
    overrides: {
      // The market sits at the 24,576-byte code-size limit (EIP-170); fewer optimizer runs keep it under with
      // moveLease, for a few hundred gas more per call (docs/GAS.md).
      "contracts/market/ResourceMarket.sol": MARKET_COMPILER,
      // Imports the market: the same job, or the market is also compiled (and warned about) at 1,000 runs.
      "contracts/test/MarketMocks.sol": MARKET_COMPILER,
    },
  },
  networks: {
    hardhat: {
      // Deterministic local chain; tests and the demo time-travel with network helpers.
      initialBaseFeePerGas: 0,
      // HMS_HARDHAT_WALL_CLOCK=1 (process tests of wall-clock deadlines, test/compute/supervise.process.test.ts):
      // blocks may share a second, so a burst of transactions never pushes the chain's clock ahead of the wall's.
      ...(process.env.HMS_HARDHAT_WALL_CLOCK === "1" ? { allowBlocksWithSameTimestamp: true } : {}),
      // Instrumented contracts (npm run coverage) are far larger: deploying BookkeeperStaking (which creates its
      // council) then needs more than Osaka's 16.7M per-transaction cap (EIP-7825), so coverage runs on Prague.
      ...(process.env.SOLIDITY_COVERAGE === "true" ? { hardfork: "prague" } : {}),
    },
    localhost: { url: process.env.HMS_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
    offline: true,
    currency: "USD",
    outputFile: process.env.GAS_REPORT_FILE,
    noColors: process.env.GAS_REPORT_FILE !== undefined,
    reportPureAndViewMethods: false,
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  mocha: {
    timeout: 120_000,
    // Test files run in parallel worker processes (each with its own in-process Hardhat chain), two by default
    // on this 2-core machine; HMS_TEST_JOBS changes the count, HMS_TEST_JOBS=1 runs them one after another.
    parallel: Number(process.env.HMS_TEST_JOBS ?? 2) > 1,
    jobs: Number(process.env.HMS_TEST_JOBS ?? 2),
    // HMS_TEST_REPORTER=json HMS_TEST_REPORT=file.json writes every test's duration (to find the slow ones).
    ...(process.env.HMS_TEST_REPORTER
      ? {
          reporter: process.env.HMS_TEST_REPORTER,
          reporterOptions: process.env.HMS_TEST_REPORT ? { output: process.env.HMS_TEST_REPORT } : {},
        }
      : {}),
  },
};

export default config;
