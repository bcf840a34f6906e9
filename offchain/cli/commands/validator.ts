/**
 * `hms validator [-c file] [--log-level level]`: run a bookkeeper validator daemon (offchain/validator/,
 * docs/VALIDATOR.md). Configuration from the file and `HMS_VALIDATOR_*` variables; the signing key from
 * `privateKey(File)`, never from the command line. SIGINT/SIGTERM stop it with its state flushed. Its
 * sub-commands `export-protection` / `import-protection` are in ./protection.ts. Exit codes: docs/ERRORS.md.
 *
 * The daemon's modules load only when the command runs (`hms --help` stays fast).
 */
import type { Command } from "commander";
import { parseLogLevel, runCommand, type CliLogLevel } from "../run";
import { registerProtectionCommands } from "./protection";

export interface ValidatorOptions {
  config?: string;
  logLevel?: CliLogLevel;
}

async function runValidator(opts: ValidatorOptions): Promise<void> {
  let stop: (() => Promise<void>) | undefined;
  await runCommand(
    "validator",
    async (ctx) => {
      const { createLogger, defaultPretty } = await import("../../core/logger");
      const { loadValidatorConfig } = await import("../../validator/config");
      ctx.logger = createLogger({ name: "validator", level: opts.logLevel });
      ctx.jsonLog = !defaultPretty();
      const config = loadValidatorConfig(
        opts.config,
        process.env,
        opts.logLevel ? { log: { level: opts.logLevel } } : undefined,
      );
      const pretty = config.log.pretty ?? defaultPretty();
      ctx.logger = createLogger({ name: "validator", level: config.log.level, pretty });
      ctx.jsonLog = !pretty;
      const logger = ctx.logger;
      const [{ Metrics }, { Shutdown }, { Validator }, { exitCodeOf }] = await Promise.all([
        import("../../core/metrics"),
        import("../../core/shutdown"),
        import("../../validator/daemon"),
        import("../../core/errors"),
      ]);
      const shutdown = new Shutdown({ logger, timeoutMs: 15_000 });
      const validator = await Validator.start(config, {
        logger,
        metrics: new Metrics({ collectDefault: true }),
        onFatal: (err) => void shutdown.run(`fatal: ${(err as Error)?.message ?? err}`, { exitCode: exitCodeOf(err) }),
      });
      stop = () => validator.stop();
      shutdown.add("validator", () => validator.stop()).install();
    },
    () => stop?.() ?? Promise.resolve(),
  );
}

/** Registers `hms validator` (and its protection sub-commands) on `program`. */
export function registerValidatorCommand(program: Command): Command {
  const validator = program
    .command("validator")
    .description("run a bookkeeper validator daemon (PBFT-agreed traffic reports posted on chain)")
    .enablePositionalOptions()
    .option("-c, --config <file>", "YAML or JSON configuration (HMS_VALIDATOR_* variables override it)")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent", parseLogLevel)
    .action((opts: ValidatorOptions) => runValidator(opts));
  registerProtectionCommands(validator);
  return program;
}
