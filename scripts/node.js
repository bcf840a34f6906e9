#!/usr/bin/env node
/* global require, process, console, setInterval */
/* eslint-disable @typescript-eslint/no-require-imports */
// `npm run node`: Hardhat's JSON-RPC node on 127.0.0.1 (extra arguments are passed on, e.g. `-- --port 8546`),
// in this process — no child left behind. npm starts it with `exec`, so npm's SIGINT/SIGTERM reach it; if
// npm itself dies without forwarding (SIGKILL), the parent check below stops the node instead of leaving it
// serving :8545 as an orphan.
const parent = process.ppid;
const stop = (why) => {
  console.error(`npm run node: ${why}; stopping the node`);
  process.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal));
setInterval(() => {
  if (process.ppid !== parent) stop(`its parent (pid ${parent}) is gone`);
}, 500).unref();
process.argv = [
  process.argv[0],
  require.resolve("hardhat/internal/cli/cli"),
  "node",
  "--hostname",
  "127.0.0.1",
  ...process.argv.slice(2),
];
require("hardhat/internal/cli/cli");
