// ESLint flat config: typescript-eslint's recommended rules for every TypeScript file, and the layering of
// offchain/ (docs/ARCHITECTURE.md, "Layers") enforced with eslint-plugin-boundaries.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import boundaries from "eslint-plugin-boundaries";

/** Modules that do I/O: pure layers (protocol/, consensus/) must not import them. */
const IO_MODULES = [
  "fs",
  "fs/promises",
  "node:fs",
  "node:fs/promises",
  "net",
  "node:net",
  "http",
  "node:http",
  "https",
  "node:https",
  "http2",
  "node:http2",
  "dgram",
  "node:dgram",
  "child_process",
  "node:child_process",
  "worker_threads",
  "node:worker_threads",
  "classic-level",
  "fastify",
  "undici",
  "dockerode",
  "pino",
];

const ioPath = (name) => ({
  name,
  allowTypeImports: true,
  message: "pure layers do no I/O: take it as an injected interface",
});
const CORE_IO = {
  allowTypeImports: true,
  group: [
    "**/core/store",
    "**/core/transport",
    "**/core/config",
    "**/core/logger",
    "**/core/metrics",
    "**/core/shutdown",
  ],
  message: "pure layers import only core/errors, core/error-codes and core/signing",
};
/** The consensus edge: the PBFT event loop and its daemon wiring (persistence, transport, timers). */
const PBFT_EDGE = ["offchain/consensus/pbft/node.ts", "offchain/consensus/pbft/daemon.ts"];

/** The meta layer's pure rules (placement, Bloom filter, election, replication, index paths and admission). */
const META_PURE = [
  "offchain/meta/placement.ts",
  "offchain/meta/bloom.ts",
  "offchain/meta/election/**/*.ts",
  "offchain/meta/replication/**/*.ts",
  "offchain/meta/index/paths.ts",
  "offchain/meta/index/auth.ts",
  "offchain/meta/index/types.ts",
];
/** Seeded simulations that drive the real rules (no I/O): they may import the daemons' pure modules. */
const SIM_PURE = ["offchain/sim/**/*.ts"];

const LAYERS = [
  { type: "core", pattern: "offchain/core" },
  { type: "protocol", pattern: "offchain/protocol" },
  { type: "chain", pattern: "offchain/chain" },
  { type: "consensus", pattern: "offchain/consensus" },
  { type: "client", pattern: "offchain/client" },
  { type: "daemon", pattern: "offchain/(meta|storage|compute|validator)", capture: ["daemon"] },
  { type: "devnet", pattern: "offchain/devnet" },
  { type: "testing", pattern: "offchain/testing" },
  { type: "dashboard", pattern: "offchain/dashboard" },
  { type: "cli", pattern: "offchain/cli" },
  { type: "sim", pattern: "offchain/sim" },
];

const to = (types) => ({ to: { element: { types: { anyOf: types } } } });

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "artifacts/**",
      "cache/**",
      "typechain-types/**",
      "coverage/**",
      "**/dist/**",
      "subgraph/**",
      "offchain/chain/abis.ts",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-unused-expressions": "off", // chai's `expect(x).to.be.true`
    },
  },
  {
    files: ["offchain/**/*.ts"],
    plugins: { boundaries },
    settings: {
      "import/resolver": { node: { extensions: [".ts", ".js", ".json"] } },
      "boundaries/elements": LAYERS,
      "boundaries/include": ["offchain/**/*.ts"],
    },
    rules: {
      "boundaries/dependencies": [
        2,
        {
          default: "disallow",
          policies: [
            { from: { element: { type: "core" } }, allow: to(["core"]) },
            { from: { element: { type: "protocol" } }, allow: to(["core", "protocol"]) },
            { from: { element: { type: "chain" } }, allow: to(["core", "protocol", "chain"]) },
            { from: { element: { type: "consensus" } }, allow: to(["core", "protocol", "consensus"]) },
            { from: { element: { type: "client" } }, allow: to(["core", "protocol", "chain", "client"]) },
            { from: { element: { type: "dashboard" } }, allow: to(["core", "protocol", "chain", "dashboard"]) },
            { from: { element: { type: "daemon" } }, allow: to(["core", "protocol", "chain", "consensus", "client"]) },
            {
              from: { element: { type: "daemon" } },
              allow: { to: { element: { type: "daemon", captured: { daemon: "{{from.captured.daemon}}" } } } },
            },
            { from: { element: { type: "sim" } }, allow: to(["core", "protocol", "consensus", "daemon", "sim"]) },
            {
              from: { element: { type: "devnet" } },
              allow: to(["core", "protocol", "chain", "consensus", "client", "daemon", "devnet"]),
            },
            {
              from: { element: { type: "testing" } },
              allow: to(["core", "protocol", "chain", "consensus", "client", "daemon", "devnet", "testing"]),
            },
            {
              from: { element: { type: "cli" } },
              allow: to([
                "core",
                "protocol",
                "chain",
                "consensus",
                "client",
                "daemon",
                "devnet",
                "testing",
                "dashboard",
                "cli",
              ]),
            },
          ],
        },
      ],
    },
  },
  {
    // Pure layers: no I/O modules, and of core only the pure files (errors, error codes, signing).
    files: ["offchain/protocol/**/*.ts", "offchain/consensus/**/*.ts", ...META_PURE, ...SIM_PURE],
    ignores: PBFT_EDGE,
    rules: {
      "@typescript-eslint/no-restricted-imports": ["error", { paths: IO_MODULES.map(ioPath), patterns: [CORE_IO] }],
    },
  },
  {
    // The PBFT edge (persistence + transport) reaches I/O only through core.
    files: PBFT_EDGE,
    rules: { "@typescript-eslint/no-restricted-imports": ["error", { paths: IO_MODULES.map(ioPath) }] },
  },
  {
    // The dashboard SPA runs in the browser (built by Vite): browser globals, no Node.
    files: ["offchain/dashboard/web/**/*.ts", "offchain/dashboard/web/**/*.mjs"],
    languageOptions: {
      globals: {
        window: "readonly",
        document: "readonly",
        location: "readonly",
        EventSource: "readonly",
        MessageEvent: "readonly",
        HTMLElement: "readonly",
        HTMLSelectElement: "readonly",
        HTMLAnchorElement: "readonly",
        HTMLTableElement: "readonly",
        HTMLElementTagNameMap: "readonly",
        Node: "readonly",
        Event: "readonly",
        queueMicrotask: "readonly",
      },
    },
  },
);
