/**
 * `hms storage [-c file] [--log-level level]`: run a storage worker (offchain/storage/daemon.ts). Configuration
 * comes from the file and `HMS_STORAGE_*` variables (docs/STORAGE.md); the signing key from `privateKeyFile`
 * or `HMS_STORAGE_PRIVATE_KEY`, never from the command line. SIGINT/SIGTERM stop it gracefully (requests in
 * flight finish). Exit codes: docs/ERRORS.md (2 configuration or key, 5 RPC unreachable).
 */
import type { Command } from "commander";
import { exitCodeOf, isHmsError } from "../../core/errors";
import { createLogger, type LogLevel } from "../../core/logger";
import { Metrics } from "../../core/metrics";
import { Shutdown } from "../../core/shutdown";
import { loadStorageConfig } from "../../storage/config";
import { startStorageDaemon } from "../../storage/daemon";
import type { StorageWorker } from "../../storage/worker";

interface StorageOptions {
  config?: string;
  logLevel?: LogLevel;
}

async function runStorage(opts: StorageOptions): Promise<void> {
  let logger = createLogger({ name: "storage", level: opts.logLevel });
  let worker: StorageWorker | undefined;
  try {
    const config = loadStorageConfig(
      opts.config,
      process.env,
      opts.logLevel ? { log: { level: opts.logLevel } } : undefined,
    );
    logger = createLogger({ name: "storage", level: config.log.level, pretty: config.log.pretty });
    const shutdown = new Shutdown({ logger, timeoutMs: 15_000 });
    worker = await startStorageDaemon(config, { logger, metrics: new Metrics({ collectDefault: true }) });
    const w = worker;
    shutdown.add("storage worker", () => w.stop()).install();
  } catch (err) {
    await worker?.stop().catch(() => undefined);
    const code = exitCodeOf(err);
    const detail = isHmsError(err) ? err.toJSON() : { message: (err as Error)?.message ?? String(err) };
    logger.fatal({ err: detail, exitCode: code }, "storage failed");
    process.stderr.write(
      `hms storage: ${isHmsError(err) ? err.code : "ERROR"}: ${(err as Error)?.message ?? String(err)} (exit ${code})\n`,
    );
    process.exit(code);
  }
}

/** Registers `hms storage` on `program`. */
export function registerStorageCommand(program: Command): Command {
  program
    .command("storage")
    .description("run a storage worker (content-addressed slices, pipelined copies, IPFS-compatible API)")
    .option("-c, --config <file>", "YAML or JSON configuration (HMS_STORAGE_* variables override it)")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent")
    .action((opts: StorageOptions) => runStorage(opts));
  return program;
}
