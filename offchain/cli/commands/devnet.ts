/**
 * `hms devnet up | status | down`: the whole network on 127.0.0.1 with one command (offchain/devnet/devnet.ts).
 *
 *   hms devnet up [--dir .hms-devnet] [--rpc url]   chain, deployment, init, every daemon detached; returns when ready
 *   hms devnet status [--dir]                       processes, health, meta master and term, block, periods, storage,
 *                                                   the dashboard's URL
 *   hms devnet down [--dir] [--purge]               stops everything (the chain last) and checks nothing is left
 *
 * Each takes `--json`. Failures end with the registry's exit code (CLI_DEVNET_*, docs/ERRORS.md).
 */
import type { Command } from "commander";
import type { DevnetInit } from "../../devnet/devnet";
import { emit, localAction, parseInteger, type CliIo } from "../runtime";

const DEFAULT_DIR = ".hms-devnet";

interface UpOptions {
  dir: string;
  rpc?: string;
  json?: boolean;
  bookkeepers: string;
  storage: string;
  compute: string;
  meta: string;
  regions: string;
  timeout: string;
  logLevel: string;
}

async function up(io: CliIo, o: UpOptions): Promise<void> {
  const { devnetUp } = await import("../../devnet/devnet");
  const { parseRegions } = await import("./init");
  parseRegions(o.regions);
  const { runInit } = await import("./init");
  const { makeChainContext } = await import("../runtime");
  const { loadDeployment } = await import("../../chain/deployment");
  const init: DevnetInit = (a) => {
    // init's own output stays quiet: `up` prints the devnet.
    const quiet: CliIo = { stdout: () => undefined, stderr: () => undefined, env: io.env, interactive: false };
    const ctx = makeChainContext(
      quiet,
      { yes: true, deployment: a.deployment, keystore: a.keystore, passwordFile: a.passwordFile },
      loadDeployment(a.deployment),
      a.rpcUrl,
    );
    return runInit(
      ctx,
      {
        dir: a.dir,
        bookkeepers: String(a.counts.bookkeepers),
        storage: String(a.counts.storage),
        compute: String(a.counts.compute),
        meta: String(a.counts.meta),
        regions: a.counts.regions,
        margin: "20000",
        fund: "1000",
        lightKdf: true,
        oracleKeyFile: a.oracleKeyFile,
      },
      a.ports,
    );
  };
  // The devnet's dashboard serves the built SPA: built here (Vite, as `npm run dashboard:build`) when missing.
  const assets = await import("../../dashboard/assets");
  if (!assets.assetsBuilt(assets.assetsDirOf(io.env))) {
    io.stderr("devnet: building the dashboard (npm run dashboard:build)\n");
    assets.buildAssets(assets.assetsDirOf(io.env));
  }
  const state = await devnetUp({
    init,
    dir: o.dir,
    rpc: o.rpc,
    bookkeepers: Number(parseInteger(o.bookkeepers, "--bookkeepers")),
    storage: Number(parseInteger(o.storage, "--storage")),
    compute: Number(parseInteger(o.compute, "--compute")),
    meta: Number(parseInteger(o.meta, "--meta")),
    regions: o.regions,
    timeoutMs: Number(parseInteger(o.timeout, "--timeout")) * 1000,
    logLevel: o.logLevel,
    progress: (line) => io.stderr(`devnet: ${line}\n`),
  });
  emit({ io, opts: o }, state, () =>
    [
      `devnet ready in ${state.dir} (chain ${state.rpcUrl}, deployment ${state.deployment})`,
      ...state.processes.map(
        (p) => `  ${p.name.padEnd(16)} ${(p.pid === undefined ? "external" : `pid ${p.pid}`).padEnd(11)} ${p.url}`,
      ),
      ...state.processes.filter((p) => p.role === "dashboard").map((p) => `dashboard: ${p.url}`),
      `logs in ${state.dir}/logs; hms devnet status --dir ${o.dir}; hms devnet down --dir ${o.dir}`,
    ].join("\n"),
  );
}

async function status(io: CliIo, o: { dir: string; json?: boolean }): Promise<void> {
  const { devnetStatus } = await import("../../devnet/devnet");
  const s = await devnetStatus(o.dir);
  emit({ io, opts: o }, s, () => {
    const lines = [
      `devnet ${s.dir}: ${s.running} processes running, ${s.healthy ? "all healthy" : "NOT all healthy"}`,
      `chain   ${s.rpcUrl} block ${s.chain.blockNumber ?? "?"}, period ${s.chain.period ?? "?"}, last reported ${s.chain.lastReportedPeriod ?? "none"}`,
      `meta    master ${s.meta.master ?? "none"}${s.meta.term === null ? "" : ` (term ${s.meta.term})`}`,
      ...(s.dashboard === null ? [] : [`dashboard ${s.dashboard}`]),
    ];
    for (const p of s.processes) {
      let extra = "";
      if (p.meta) extra = ` ${String(p.meta.role)} term ${String(p.meta.term)}`;
      if (p.storage)
        extra = ` region ${String(p.storage.region)}, ${String(p.storage.bytes)} of ${String(p.storage.capacity)} bytes, ${String(p.storage.slices)} slices`;
      if (p.validator)
        extra = ` ${String(p.validator.role)}, epoch ${String(p.validator.epoch)}, last reported ${String(p.validator.lastReported)}`;
      lines.push(
        `  ${p.name.padEnd(16)} ${(p.pid === null ? "external" : `pid ${p.pid}`).padEnd(11)} ${(p.alive ? "alive" : "dead").padEnd(6)} ${(p.healthy ? "healthy" : "unhealthy").padEnd(10)} ${p.url}${extra}`,
      );
    }
    return lines.join("\n");
  });
}

async function down(io: CliIo, o: { dir: string; json?: boolean; purge?: boolean; grace: string }): Promise<void> {
  const { devnetDown } = await import("../../devnet/devnet");
  const r = await devnetDown(o.dir, {
    purge: o.purge,
    graceMs: Number(parseInteger(o.grace, "--grace")) * 1000,
  });
  emit({ io, opts: o }, r, () =>
    [
      r.stopped.length === 0
        ? `nothing is running in ${r.dir}`
        : `stopped ${r.stopped.length} processes (${r.stopped.join(", ")}); no PID alive, every port free`,
      ...(r.purged ? [`removed ${r.dir}`] : []),
    ].join("\n"),
  );
}

async function restart(
  io: CliIo,
  name: string,
  o: { dir: string; json?: boolean; kill?: boolean; grace: string; timeout: string },
): Promise<void> {
  const { restartProcess } = await import("../../devnet/devnet");
  const t = Date.now();
  const p = await restartProcess(o.dir, name, {
    signal: o.kill ? "SIGKILL" : "SIGTERM",
    graceMs: Number(parseInteger(o.grace, "--grace")) * 1000,
    timeoutMs: Number(parseInteger(o.timeout, "--timeout")) * 1000,
  });
  emit(
    { io, opts: o },
    { ...p, ms: Date.now() - t },
    () => `${p.name} restarted (pid ${p.pid}), healthy in ${((Date.now() - t) / 1000).toFixed(1)} s; log ${p.log}`,
  );
}

/** Registers `hms devnet` on `program`. */
export function registerDevnetCommand(program: Command): Command {
  const devnet = program.command("devnet").description("the whole network on 127.0.0.1: up, status, down");
  devnet
    .command("up")
    .description(
      "start a Hardhat node (or use --rpc), deploy, init, and run every daemon detached; returns once all are healthy",
    )
    .option("--dir <dir>", "where the configs, keys, data, logs and devnet.json go", DEFAULT_DIR)
    .option("--rpc <url>", "use this Hardhat chain (31337) instead of starting one")
    .option("--bookkeepers <n>", "bookkeepers (validator daemons)", "4")
    .option("--storage <n>", "storage workers", "5")
    .option("--compute <n>", "compute workers", "2")
    .option("--meta <n>", "meta nodes (each the others' peer)", "3")
    .option("--regions <codes>", "region codes the storage workers are spread over", "276,840,392")
    .option("--timeout <s>", "readiness timeout, seconds", "300")
    .option("--log-level <level>", "the daemons' log level", "info")
    .option("--json", "print devnet.json's content as JSON")
    .action(localAction(async (io, opts) => up(io, opts as unknown as UpOptions)));
  devnet
    .command("status")
    .description("every process (PID, /health), the meta master and term, block, periods and storage usage")
    .option("--dir <dir>", "the devnet's directory", DEFAULT_DIR)
    .option("--json", "print the result as JSON")
    .action(localAction(async (io, opts) => status(io, opts as { dir: string; json?: boolean })));
  devnet
    .command("restart")
    .description("stop one daemon (SIGTERM, or SIGKILL with --kill) and start it again with its config and data")
    .argument("<name>", "the daemon, as devnet status names it (e.g. storage-2, meta-0, validator-1)")
    .option("--dir <dir>", "the devnet's directory", DEFAULT_DIR)
    .option("--kill", "SIGKILL it (a crash) instead of a graceful stop")
    .option("--grace <s>", "seconds between SIGTERM and SIGKILL", "10")
    .option("--timeout <s>", "seconds to wait for its /health", "60")
    .option("--json", "print the restarted process as JSON")
    .action(
      localAction(async (io, opts, name: string) =>
        restart(io, name, opts as { dir: string; json?: boolean; kill?: boolean; grace: string; timeout: string }),
      ),
    );
  devnet
    .command("down")
    .description("stop every process (SIGTERM, SIGKILL after the grace; the chain last) and check none is left")
    .option("--dir <dir>", "the devnet's directory", DEFAULT_DIR)
    .option("--purge", "also remove the directory")
    .option("--grace <s>", "seconds between SIGTERM and SIGKILL", "10")
    .option("--json", "print the result as JSON")
    .action(
      localAction(async (io, opts) =>
        down(io, opts as { dir: string; json?: boolean; purge?: boolean; grace: string }),
      ),
    );
  return program;
}
