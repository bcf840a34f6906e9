/**
 * `hms meta [-c file] [--log-level level]`: run a meta node (offchain/meta/daemon.ts).
 * `hms meta-status [--url u…] [-c file] [--json]`: role, term, master and log positions of meta nodes.
 *
 * Configuration comes from the file and `HMS_META_*` variables (docs/META.md); the key from `privateKeyFile` or
 * `HMS_META_PRIVATE_KEY`, never from the command line. SIGINT/SIGTERM stop it gracefully: a master hands its
 * role to a caught-up peer first. Exit codes: docs/ERRORS.md (2 configuration, key or key mismatch).
 */
import type { Command } from "commander";
import { exitCodeOf, isHmsError } from "../../core/errors";
import { createLogger, type LogLevel } from "../../core/logger";
import { Metrics } from "../../core/metrics";
import { Shutdown } from "../../core/shutdown";
import { MetaClient } from "../../client/meta";
import { loadMetaConfig } from "../../meta/config";
import { MetaDaemon } from "../../meta/daemon";

interface MetaOptions {
  config?: string;
  logLevel?: LogLevel;
}

function fail(what: string, err: unknown, logger?: ReturnType<typeof createLogger>): never {
  const code = exitCodeOf(err);
  const detail = isHmsError(err) ? err.toJSON() : { message: (err as Error)?.message ?? String(err) };
  logger?.fatal({ err: detail, exitCode: code }, `${what} failed`);
  process.stderr.write(
    `hms ${what}: ${isHmsError(err) ? err.code : "ERROR"}: ${(err as Error)?.message ?? String(err)} (exit ${code})\n`,
  );
  process.exit(code);
}

async function runMeta(opts: MetaOptions): Promise<void> {
  let logger = createLogger({ name: "meta", level: opts.logLevel });
  let daemon: MetaDaemon | undefined;
  try {
    const config = loadMetaConfig(
      opts.config,
      process.env,
      opts.logLevel ? { log: { level: opts.logLevel } } : undefined,
    );
    logger = createLogger({ name: "meta", level: config.log.level, pretty: config.log.pretty });
    const shutdown = new Shutdown({ logger, timeoutMs: 15_000 });
    daemon = await MetaDaemon.start(config, { logger, metrics: new Metrics({ collectDefault: true }) });
    const d = daemon;
    shutdown.add("meta node", () => d.stop()).install();
  } catch (err) {
    await daemon?.stop().catch(() => undefined);
    fail("meta", err, logger);
  }
}

async function runStatus(opts: { url: string[]; json?: boolean; config?: string }): Promise<void> {
  let urls = opts.url;
  if (urls.length === 0 && opts.config) urls = loadMetaConfig(opts.config).peers.map((p) => p.apiUrl);
  if (urls.length === 0) fail("meta-status", new Error("give --url (repeatable) or -c config"));
  const client = new MetaClient({ urls, timeoutMs: 2_000 });
  const rows = await Promise.all(
    urls.map(async (url) => {
      try {
        const s = await client.status(url);
        return { url, ok: true, ...s.raw };
      } catch (err) {
        return { url, ok: false, error: isHmsError(err) ? err.code : (err as Error).message };
      }
    }),
  );
  await client.close();
  if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else
    for (const r of rows as Array<Record<string, unknown>>)
      process.stdout.write(
        r.ok
          ? `${r.url}  ${String(r.role).padEnd(9)} term ${r.term}  applied ${r.appliedIndex}/${r.commitIndex}  master ${r.leader ?? "?"}\n`
          : `${r.url}  unreachable (${r.error})\n`,
      );
}

/** Registers `hms meta` on `program`. */
export function registerMetaCommand(program: Command): Command {
  program
    .command("meta")
    .description("run a meta node (index, placement, PoA master election, log replication, receipts feed, health)")
    .option("-c, --config <file>", "YAML or JSON configuration (HMS_META_* variables override it)")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent")
    .action((opts: MetaOptions) => runMeta(opts));
  program
    .command("meta-status")
    .description("role, term, master and log positions of meta nodes")
    .option("--url <url>", "a meta node's API URL (repeatable)", (v: string, acc: string[]) => [...acc, v], [])
    .option("-c, --config <file>", "read the nodes from a meta configuration's peers")
    .option("--json", "machine-readable output")
    .action((opts: { url: string[]; json?: boolean; config?: string }) => runStatus(opts));
  return program;
}
