/**
 * `hms validator export-protection [-c file] [-o file]` and `hms validator import-protection -f file [-c file]`:
 * move a validator's signing record (slashing protection, offchain/validator/signing-record.ts) as
 * EIP-3076-like JSON. The daemon must be stopped (its data directory is locked while it runs: `STORE_LOCKED`).
 * Import prints `{ imported, conflicts, … }` (one JSON line) and exits 6 when the file conflicts with the record.
 */
import type { Command } from "commander";
import { parseLogLevel, runCommand, type CliLogLevel, type CommandContext } from "../run";

interface ProtectionOptions {
  config?: string;
  logLevel?: CliLogLevel;
}

type Opened = Awaited<ReturnType<typeof openRecord>>;

/** The signing record of a configured validator. */
async function openRecord(opts: ProtectionOptions, ctx: CommandContext, defaultLevel: CliLogLevel) {
  const fs = await import("node:fs");
  const path = await import("node:path");
  const { createLogger, defaultPretty } = await import("../../core/logger");
  const { loadValidatorConfig, resolveKey } = await import("../../validator/config");
  const { contractAddress, loadDeployment } = await import("../../chain/deployment");
  const { Store } = await import("../../core/store");
  const { SigningRecordStore, exportRecord, importRecord } = await import("../../validator/signing-record");
  ctx.logger = createLogger({ name: "validator", level: opts.logLevel ?? defaultLevel });
  ctx.jsonLog = !defaultPretty();
  const config = loadValidatorConfig(
    opts.config,
    process.env,
    opts.logLevel ? { log: { level: opts.logLevel } } : undefined,
  );
  const { address } = resolveKey(config);
  const deployment = loadDeployment(config.deployment);
  const meta = {
    address,
    chainId: config.chainId ?? deployment.chainId,
    staking: contractAddress(deployment, "BookkeeperStaking"),
    pool: contractAddress(deployment, "MiningPool"),
  };
  fs.mkdirSync(config.dataDir, { recursive: true });
  const store = await Store.open(path.join(config.dataDir, "validator"));
  try {
    return { record: await SigningRecordStore.open(store, meta), meta, store, exportRecord, importRecord };
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function exportProtection(opts: ProtectionOptions & { out?: string }): Promise<void> {
  let opened: Opened | undefined;
  await runCommand(
    "export-protection",
    async (ctx) => {
      opened = await openRecord(opts, ctx, "warn");
      const text = JSON.stringify(opened.exportRecord(opened.record.record, opened.meta), null, 2) + "\n";
      await opened.store.close();
      opened = undefined;
      if (opts.out) (await import("node:fs")).writeFileSync(opts.out, text);
      else process.stdout.write(text);
    },
    async () => opened?.store.close(),
  );
}

async function importProtection(opts: ProtectionOptions & { file: string }): Promise<void> {
  let opened: Opened | undefined;
  await runCommand(
    "import-protection",
    async (ctx) => {
      const fs = await import("node:fs");
      const { HmsError } = await import("../../core/errors");
      // Read the file first: a missing file is reported as such, before the data directory is touched.
      let doc: unknown;
      let text: string;
      try {
        text = fs.readFileSync(opts.file, "utf8");
      } catch (err) {
        throw new HmsError("CONFIG_USAGE", `cannot read import file ${opts.file}: ${(err as Error).message}`, {
          value: opts.file,
          cause: err,
        });
      }
      try {
        doc = JSON.parse(text);
      } catch {
        throw new HmsError("SLASHING_PROTECTION_IMPORT", `import file ${opts.file} is not JSON`, { value: opts.file });
      }
      opened = await openRecord(opts, ctx, "info");
      const result = await opened.record.merge(opened.importRecord(doc, opened.meta));
      await opened.store.close();
      opened = undefined;
      ctx.logger?.info(result, "signing record imported");
      process.stdout.write(`${JSON.stringify(result)}\n`);
      if (result.conflicts > 0) process.exitCode = (await import("../../core/errors")).EXIT_CODES.safety;
    },
    async () => opened?.store.close(),
  );
}

/** Registers `export-protection` and `import-protection` under `hms validator`. */
export function registerProtectionCommands(validator: Command): Command {
  validator
    .command("export-protection")
    .description("write the validator's signing record (EIP-3076-like JSON); the daemon must be stopped")
    .option("-c, --config <file>", "the validator's configuration")
    .option("-o, --out <file>", "output file (default: stdout)")
    .option("--log-level <level>", "log level", parseLogLevel)
    .action((opts: ProtectionOptions & { out?: string }) => exportProtection(opts));
  validator
    .command("import-protection")
    .description("merge a signing record into the validator's data directory; the daemon must be stopped")
    .requiredOption("-f, --file <file>", "interchange JSON to import")
    .option("-c, --config <file>", "the validator's configuration")
    .option("--log-level <level>", "log level", parseLogLevel)
    .action((opts: ProtectionOptions & { file: string }) => importProtection(opts));
  return validator;
}
