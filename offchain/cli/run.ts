/**
 * The one error path of every `hms` command: a failure is printed once, as one line on stderr
 * (`hms <command>: CODE: message (exit N)`), plus one structured `fatal` line in the JSON log for supervisors
 * (not on a pretty terminal, where it would repeat the stderr line); the process exits with the registry's
 * exit code (offchain/core/error-codes.ts, docs/ERRORS.md). Secrets never reach either line (core/secrets.ts).
 *
 * This module is loaded for `hms --help`: it imports only the error registry; loggers are created lazily.
 */
import type { Logger } from "pino";
import { HmsError, exitCodeOf, isHmsError, type ErrorCode } from "../core/errors";
import { redactSecrets, redactValue } from "../core/secrets";

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type CliLogLevel = (typeof LOG_LEVELS)[number];

/** commander argument parser of `--log-level`: a usage error (exit 2) naming the bad value. */
export function parseLogLevel(value: string): CliLogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value))
    throw new HmsError("CONFIG_USAGE", `--log-level ${JSON.stringify(value)} is not one of ${LOG_LEVELS.join(", ")}`, {
      value,
      details: { key: "log.level" },
    });
  return value as CliLogLevel;
}

/** The code, message and exit code printed for `err` (secrets redacted). */
export function describeFailure(err: unknown): { code: ErrorCode | "ERROR"; message: string; exitCode: number } {
  const raw = err instanceof Error ? err.message : String(err);
  return { code: isHmsError(err) ? err.code : "ERROR", message: redactSecrets(raw), exitCode: exitCodeOf(err) };
}

/** State shared between a command and the error path: the logger once the configuration gave one. */
export interface CommandContext {
  logger?: Logger;
  /** True when the logger writes JSON lines (then the failure is also logged as a `fatal` line). */
  jsonLog?: boolean;
}

/** Prints `err` once (stderr line + fatal JSON log line) and returns its exit code. */
export function printFailure(err: unknown, command: string, ctx: CommandContext = {}): number {
  const { code, message, exitCode } = describeFailure(err);
  if (ctx.logger && ctx.jsonLog !== false) {
    const detail = isHmsError(err) ? { ...(redactValue(err.toJSON()) as object), message } : { code, message };
    ctx.logger.fatal({ error: detail, exitCode }, `${command} failed`);
  }
  process.stderr.write(`hms ${command}: ${code}: ${message} (exit ${exitCode})\n`);
  return exitCode;
}

/**
 * Runs a command's body; on failure, runs `cleanup` (best effort), prints the failure once and exits with its
 * code. `ctx` is filled by the body as soon as it has a logger.
 */
export async function runCommand(
  command: string,
  body: (ctx: CommandContext) => Promise<void>,
  cleanup?: () => Promise<void>,
): Promise<void> {
  const ctx: CommandContext = {};
  try {
    await body(ctx);
  } catch (err) {
    await cleanup?.().catch(() => undefined);
    process.exit(printFailure(err, command, ctx));
  }
}
