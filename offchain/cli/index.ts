/**
 * `hms` — the HMS Network command line (bin/hms.js runs it through ts-node, so `npx hms …` works from the
 * repository without a build step).
 *
 *   hms validator [-c file]                      run a bookkeeper validator daemon
 *   hms validator export-protection [-c] [-o]     write the signing record as EIP-3076-like JSON
 *   hms validator import-protection -f file [-c]  merge a signing record into the data directory
 *   hms traffic-source [-c file]                  serve the deterministic traffic feed
 *
 * Configuration comes from the file and `HMS_VALIDATOR_*` / `HMS_TRAFFIC_*` variables (docs/VALIDATOR.md).
 * Exit codes: 0 clean stop, 1 unexpected failure, 2 configuration (missing key included), 3 wrong chain id,
 * 4 unregistered bookkeeper, 5 RPC unreachable, 6 signing record refused a signature.
 */
import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { createLogger, type Logger, type LogLevel } from "../core/logger";
import { Metrics } from "../core/metrics";
import { Shutdown } from "../core/shutdown";
import { Store } from "../core/store";
import { isHmsError } from "../core/errors";
import { contractAddress, loadDeployment } from "../chain/deployment";
import { loadValidatorConfig, resolveKey } from "../validator/config";
import { Validator } from "../validator/daemon";
import { exitCodeOf, EXIT_CODES } from "../validator/errors";
import { SigningRecordStore, exportRecord, importRecord, type RecordMeta } from "../validator/signing-record";
import { loadTrafficSourceConfig, startTrafficSource } from "../testing/traffic/service";
import { registerStorageCommand } from "./commands/storage";
// ── chain-side commands, keys and init (issue 18) ──
import { version } from "../../package.json";
import { registerKeysCommand } from "./commands/keys";
import { registerInitCommand } from "./commands/init";
import { registerStatusCommand } from "./commands/status";
import { registerBalanceCommand } from "./commands/balance";
import { registerTransferCommand } from "./commands/transfer";
import { registerNodeCommand } from "./commands/node";
import { registerBookkeeperCommand } from "./commands/bookkeeper";
import { registerDelegateCommand } from "./commands/delegate";
import { registerVoteCommand } from "./commands/vote";
import { registerRewardsCommand } from "./commands/rewards";
import { registerMarketCommand } from "./commands/market";
import { registerAllocationCommand } from "./commands/allocation";
import { registerCouncilCommand } from "./commands/council";

interface CommonOptions {
  config?: string;
  logLevel?: LogLevel;
}

/** Prints a start-up failure (stderr and a fatal log line) and returns its exit code. */
function failure(err: unknown, logger: Logger, what: string): number {
  const code = exitCodeOf(err);
  const detail = isHmsError(err) ? err.toJSON() : { message: (err as Error)?.message ?? String(err) };
  logger.fatal({ err: detail, exitCode: code }, `${what} failed`);
  const label = isHmsError(err) ? err.code : "ERROR";
  process.stderr.write(`hms ${what}: ${label}: ${(err as Error)?.message ?? String(err)} (exit ${code})\n`);
  return code;
}

function overridesOf(opts: CommonOptions): Record<string, unknown> | undefined {
  return opts.logLevel ? { log: { level: opts.logLevel } } : undefined;
}

async function runValidator(opts: CommonOptions): Promise<void> {
  let logger = createLogger({ name: "validator", level: opts.logLevel });
  let validator: Validator | undefined;
  try {
    const config = loadValidatorConfig(opts.config, process.env, overridesOf(opts));
    logger = createLogger({ name: "validator", level: config.log.level, pretty: config.log.pretty });
    const shutdown = new Shutdown({ logger, timeoutMs: 15_000 });
    validator = await Validator.start(config, {
      logger,
      metrics: new Metrics({ collectDefault: true }),
      onFatal: (err) => void shutdown.run(`fatal: ${(err as Error)?.message ?? err}`, { exitCode: exitCodeOf(err) }),
    });
    const v = validator;
    shutdown.add("validator", () => v.stop()).install();
  } catch (err) {
    await validator?.stop().catch(() => undefined);
    process.exit(failure(err, logger, "validator"));
  }
}

/** The signing record of a configured validator (the daemon must not be running: LevelDB is locked). */
async function openRecord(
  opts: CommonOptions,
): Promise<{ record: SigningRecordStore; meta: RecordMeta; store: Store }> {
  const config = loadValidatorConfig(opts.config, process.env, overridesOf(opts));
  const { address } = resolveKey(config);
  const deployment = loadDeployment(config.deployment);
  const meta: RecordMeta = {
    address,
    chainId: config.chainId ?? deployment.chainId,
    staking: contractAddress(deployment, "BookkeeperStaking"),
    pool: contractAddress(deployment, "MiningPool"),
  };
  fs.mkdirSync(config.dataDir, { recursive: true });
  const store = await Store.open(path.join(config.dataDir, "validator"));
  try {
    return { record: await SigningRecordStore.open(store, meta), meta, store };
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function exportProtection(opts: CommonOptions & { out?: string }): Promise<void> {
  const logger = createLogger({ name: "validator", level: opts.logLevel ?? "warn" });
  try {
    const { record, meta, store } = await openRecord(opts);
    const text = JSON.stringify(exportRecord(record.record, meta), null, 2) + "\n";
    await store.close();
    if (opts.out) fs.writeFileSync(opts.out, text);
    else process.stdout.write(text);
  } catch (err) {
    process.exit(failure(err, logger, "export-protection"));
  }
}

async function importProtection(opts: CommonOptions & { file: string }): Promise<void> {
  const logger = createLogger({ name: "validator", level: opts.logLevel ?? "info" });
  try {
    const { record, meta, store } = await openRecord(opts);
    let doc: unknown;
    try {
      doc = JSON.parse(fs.readFileSync(opts.file, "utf8"));
    } catch (err) {
      await store.close();
      throw Object.assign(new Error(`cannot read ${opts.file}: ${(err as Error).message}`), {});
    }
    const result = await record.merge(importRecord(doc, meta));
    await store.close();
    logger.info(result, "signing record imported");
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (result.conflicts > 0) process.exitCode = EXIT_CODES.safety;
  } catch (err) {
    process.exit(failure(err, logger, "import-protection"));
  }
}

async function runTrafficSource(opts: CommonOptions): Promise<void> {
  let logger = createLogger({ name: "traffic-source", level: opts.logLevel });
  try {
    const config = loadTrafficSourceConfig(opts.config, process.env, overridesOf(opts));
    logger = createLogger({ name: "traffic-source", level: config.log.level, pretty: config.log.pretty });
    const served = await startTrafficSource(config, { logger });
    new Shutdown({ logger, timeoutMs: 5_000 }).add("traffic source", () => served.close()).install();
  } catch (err) {
    process.exit(failure(err, logger, "traffic-source"));
  }
}

/** The `hms` program. */
export function program(): Command {
  const p = new Command("hms").description("HMS Network daemons and tools").enablePositionalOptions();
  const validator = p
    .command("validator")
    .description("run a bookkeeper validator daemon (PBFT-agreed traffic reports posted on chain)")
    .enablePositionalOptions()
    .option("-c, --config <file>", "YAML or JSON configuration (HMS_VALIDATOR_* variables override it)")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent")
    .action((opts: CommonOptions) => runValidator(opts));
  validator
    .command("export-protection")
    .description("write the validator's signing record (EIP-3076-like JSON); the daemon must be stopped")
    .option("-c, --config <file>", "the validator's configuration")
    .option("-o, --out <file>", "output file (default: stdout)")
    .option("--log-level <level>", "log level")
    .action((opts: CommonOptions & { out?: string }) => exportProtection(opts));
  validator
    .command("import-protection")
    .description("merge a signing record into the validator's data directory; the daemon must be stopped")
    .requiredOption("-f, --file <file>", "interchange JSON to import")
    .option("-c, --config <file>", "the validator's configuration")
    .option("--log-level <level>", "log level")
    .action((opts: CommonOptions & { file: string }) => importProtection(opts));
  p.command("traffic-source")
    .description("serve the deterministic traffic feed (stand-in for the meta layer)")
    .option("-c, --config <file>", "YAML or JSON configuration (HMS_TRAFFIC_* variables override it)")
    .option("--log-level <level>", "log level")
    .action((opts: CommonOptions) => runTrafficSource(opts));
  registerStorageCommand(p);
  // ── chain-side commands, keys and init (issue 18) ──
  p.version(version, "-V, --version", "print the hms version");
  for (const register of [
    registerKeysCommand,
    registerInitCommand,
    registerStatusCommand,
    registerBalanceCommand,
    registerTransferCommand,
    registerNodeCommand,
    registerBookkeeperCommand,
    registerDelegateCommand,
    registerVoteCommand,
    registerRewardsCommand,
    registerMarketCommand,
    registerAllocationCommand,
    registerCouncilCommand,
  ])
    register(p);
  return p;
}

/** Entry point of bin/hms.js. */
export function main(argv: string[] = process.argv): void {
  program()
    .parseAsync(argv)
    .catch((err) => {
      process.stderr.write(`hms: ${(err as Error).message}\n`);
      process.exit(EXIT_CODES.failure);
    });
}
