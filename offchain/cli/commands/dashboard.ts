/**
 * `hms dashboard [-c file] [--port n] [--log-level level]`: serve the network dashboard (offchain/dashboard) on
 * 127.0.0.1 — the built SPA and its live feed (Server-Sent Events) of the chain, the daemons' `/health` and
 * `/metrics`, and the meta API. Configuration: the file and `HMS_DASHBOARD_*` variables (rpcUrl, deployment,
 * validators, storage, compute, meta, owners…). Needs `npm run dashboard:build` once. Exit codes: docs/ERRORS.md
 * (2 configuration or assets missing, 5 RPC unreachable at start).
 */
import type { Command } from "commander";
import { exitCodeOf, isHmsError } from "../../core/errors";
import { createLogger, type LogLevel } from "../../core/logger";
import { Shutdown } from "../../core/shutdown";
import { loadDashboardConfig } from "../../dashboard/config";
import { startDashboard, type DashboardServer } from "../../dashboard/server";

interface DashboardOptions {
  config?: string;
  port?: string;
  logLevel?: LogLevel;
}

async function runDashboard(opts: DashboardOptions): Promise<void> {
  let logger = createLogger({ name: "dashboard", level: opts.logLevel });
  let server: DashboardServer | undefined;
  try {
    const overrides: Record<string, unknown> = {};
    if (opts.logLevel) overrides.log = { level: opts.logLevel };
    if (opts.port !== undefined) overrides.listen = { port: Number(opts.port) };
    const config = loadDashboardConfig(opts.config, process.env, overrides);
    logger = createLogger({ name: "dashboard", level: config.log.level, pretty: config.log.pretty });
    server = await startDashboard(config, { logger });
    const s = server;
    process.stdout.write(`dashboard: ${s.url}\n`);
    new Shutdown({ logger, timeoutMs: 5_000 }).add("dashboard", () => s.close()).install();
  } catch (err) {
    await server?.close().catch(() => undefined);
    const code = exitCodeOf(err);
    const detail = isHmsError(err) ? err.toJSON() : { message: (err as Error)?.message ?? String(err) };
    logger.fatal({ err: detail, exitCode: code }, "dashboard failed");
    process.stderr.write(
      `hms dashboard: ${isHmsError(err) ? err.code : "ERROR"}: ${(err as Error)?.message ?? String(err)} (exit ${code})\n`,
    );
    process.exit(code);
  }
}

/** Registers `hms dashboard` on `program`. */
export function registerDashboardCommand(program: Command): Command {
  program
    .command("dashboard")
    .description("serve the network dashboard (chain, daemons' health and metrics, meta API) on 127.0.0.1")
    .option("-c, --config <file>", "YAML or JSON configuration (HMS_DASHBOARD_* variables override it)")
    .option("-p, --port <port>", "listen port (default 8090)")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent")
    .action((opts: DashboardOptions) => runDashboard(opts));
  return program;
}
