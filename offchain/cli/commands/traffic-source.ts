/**
 * `hms traffic-source [-c file] [--log-level level]`: serve the deterministic traffic feed, the stand-in for the
 * meta layer (offchain/testing/traffic/). Configuration from the file and `HMS_TRAFFIC_*` variables.
 */
import type { Command } from "commander";
import { parseLogLevel, runCommand, type CliLogLevel } from "../run";

interface TrafficSourceOptions {
  config?: string;
  logLevel?: CliLogLevel;
}

async function runTrafficSource(opts: TrafficSourceOptions): Promise<void> {
  await runCommand("traffic-source", async (ctx) => {
    const { createLogger, defaultPretty } = await import("../../core/logger");
    const { loadTrafficSourceConfig, startTrafficSource } = await import("../../testing/traffic/service");
    const { Shutdown } = await import("../../core/shutdown");
    ctx.logger = createLogger({ name: "traffic-source", level: opts.logLevel });
    ctx.jsonLog = !defaultPretty();
    const config = loadTrafficSourceConfig(
      opts.config,
      process.env,
      opts.logLevel ? { log: { level: opts.logLevel } } : undefined,
    );
    const pretty = config.log.pretty ?? defaultPretty();
    const logger = createLogger({ name: "traffic-source", level: config.log.level, pretty });
    ctx.logger = logger;
    ctx.jsonLog = !pretty;
    const served = await startTrafficSource(config, { logger });
    new Shutdown({ logger, timeoutMs: 5_000 }).add("traffic source", () => served.close()).install();
  });
}

/** Registers `hms traffic-source` on `program`. */
export function registerTrafficSourceCommand(program: Command): Command {
  program
    .command("traffic-source")
    .description("serve the deterministic traffic feed (stand-in for the meta layer)")
    .option("-c, --config <file>", "YAML or JSON configuration (HMS_TRAFFIC_* variables override it)")
    .option("--log-level <level>", "log level", parseLogLevel)
    .action((opts: TrafficSourceOptions) => runTrafficSource(opts));
  return program;
}
