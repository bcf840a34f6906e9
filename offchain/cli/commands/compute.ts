/**
 * `hms compute [-c file] [--log-level level]`: run a compute worker (offchain/compute/daemon.ts, docs/COMPUTE.md).
 * Configuration from the file and `HMS_COMPUTE_*` variables; keys from files or variables, never the command line.
 * SIGINT/SIGTERM stop it gracefully; its workloads keep running and a restart adopts them.
 *
 * Also registers the user commands `hms run`, `ps`, `logs` and `stop` (one file each).
 */
import type { Command } from "commander";
import { exitCodeOf, isHmsError } from "../../core/errors";
import { createLogger, type LogLevel } from "../../core/logger";
import { Metrics } from "../../core/metrics";
import { Shutdown } from "../../core/shutdown";
import { loadComputeConfig } from "../../compute/config";
import { startComputeDaemon } from "../../compute/daemon";
import type { ComputeWorker } from "../../compute/worker";
import { registerLogsCommand } from "./logs";
import { registerPsCommand } from "./ps";
import { registerRunCommand } from "./run";
import { registerStopCommand } from "./stop";

interface ComputeOptions {
  config?: string;
  logLevel?: LogLevel;
}

async function runCompute(opts: ComputeOptions): Promise<void> {
  let logger = createLogger({ name: "compute", level: opts.logLevel });
  let worker: ComputeWorker | undefined;
  try {
    const config = loadComputeConfig(
      opts.config,
      process.env,
      opts.logLevel ? { log: { level: opts.logLevel } } : undefined,
    );
    logger = createLogger({ name: "compute", level: config.log.level, pretty: config.log.pretty });
    const shutdown = new Shutdown({ logger, timeoutMs: 15_000 });
    worker = await startComputeDaemon(config, { logger, metrics: new Metrics({ collectDefault: true }) });
    const w = worker;
    shutdown.add("compute worker", () => w.stop()).install();
  } catch (err) {
    await worker?.stop().catch(() => undefined);
    const code = exitCodeOf(err);
    logger.fatal(
      { err: isHmsError(err) ? err.toJSON() : { message: (err as Error)?.message }, exitCode: code },
      "compute failed",
    );
    process.stderr.write(
      `hms compute: ${isHmsError(err) ? err.code : "ERROR"}: ${(err as Error)?.message ?? String(err)} (exit ${code})\n`,
    );
    process.exit(code);
  }
}

/** Registers `hms compute` and the user commands `hms run`, `ps`, `logs`, `stop`. */
export function registerComputeCommands(program: Command): Command {
  program
    .command("compute")
    .description("run a compute worker (leased workloads in containers or processes, metered and signed)")
    .option("-c, --config <file>", "YAML or JSON configuration (HMS_COMPUTE_* variables override it)")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent")
    .action((opts: ComputeOptions) => runCompute(opts));
  registerRunCommand(program);
  registerPsCommand(program);
  registerLogsCommand(program);
  registerStopCommand(program);
  return program;
}
