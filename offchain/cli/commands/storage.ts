/**
 * `hms storage [-c file] [--log-level level]`: run a storage worker (offchain/storage/daemon.ts). Configuration
 * comes from the file and `HMS_STORAGE_*` variables (docs/STORAGE.md); the signing key from `privateKeyFile`
 * or `HMS_STORAGE_PRIVATE_KEY`, never from the command line. SIGINT/SIGTERM stop it gracefully (requests in
 * flight finish). Exit codes: docs/ERRORS.md (2 configuration or key, 5 RPC unreachable). The worker's modules
 * load only when the command runs.
 */
import type { Command } from "commander";
import { parseLogLevel, runCommand, type CliLogLevel } from "../run";

interface StorageOptions {
  config?: string;
  logLevel?: CliLogLevel;
}

async function runStorage(opts: StorageOptions): Promise<void> {
  let stop: (() => Promise<void>) | undefined;
  await runCommand(
    "storage",
    async (ctx) => {
      const { createLogger, defaultPretty } = await import("../../core/logger");
      const { loadStorageConfig } = await import("../../storage/config");
      ctx.logger = createLogger({ name: "storage", level: opts.logLevel });
      ctx.jsonLog = !defaultPretty();
      const config = loadStorageConfig(
        opts.config,
        process.env,
        opts.logLevel ? { log: { level: opts.logLevel } } : undefined,
      );
      const pretty = config.log.pretty ?? defaultPretty();
      const logger = createLogger({ name: "storage", level: config.log.level, pretty });
      ctx.logger = logger;
      ctx.jsonLog = !pretty;
      const [{ Metrics }, { Shutdown }, { startStorageDaemon }] = await Promise.all([
        import("../../core/metrics"),
        import("../../core/shutdown"),
        import("../../storage/daemon"),
      ]);
      const shutdown = new Shutdown({ logger, timeoutMs: 15_000 });
      const worker = await startStorageDaemon(config, { logger, metrics: new Metrics({ collectDefault: true }) });
      stop = () => worker.stop();
      shutdown.add("storage worker", () => worker.stop()).install();
    },
    () => stop?.() ?? Promise.resolve(),
  );
}

/** Registers `hms storage` on `program`. */
export function registerStorageCommand(program: Command): Command {
  program
    .command("storage")
    .description("run a storage worker (content-addressed slices, pipelined copies, IPFS-compatible API)")
    .option("-c, --config <file>", "YAML or JSON configuration (HMS_STORAGE_* variables override it)")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent", parseLogLevel)
    .action((opts: StorageOptions) => runStorage(opts));
  return program;
}
