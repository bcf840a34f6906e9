/**
 * Logging: pino. One root logger per process (`createLogger`), and a child per module
 * (`moduleLogger(root, "pbft")` → every line carries `module: "pbft"`). Human-readable (pino-pretty,
 * written synchronously, no worker thread) on a TTY or with NODE_ENV=development, JSON lines otherwise.
 * Private keys are redacted wherever they appear under the usual field names.
 */
import pino, { type DestinationStream, type Logger, type LevelWithSilent } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";
export type LogLevel = LevelWithSilent;

export interface LoggerOptions {
  /** Minimum level; default `info` (or `LOG_LEVEL`). */
  level?: LogLevel;
  /** Pretty output; default: stdout is a TTY or NODE_ENV=development. */
  pretty?: boolean;
  /** Process/daemon name, added to every line as `name`. */
  name?: string;
  /** Output stream (tests pass a collecting stream); default stdout. */
  destination?: DestinationStream;
  /** Fields added to every line. */
  base?: Record<string, unknown>;
}

/** Field paths whose values are replaced by `[redacted]`. */
export const REDACT_PATHS = ["privateKey", "*.privateKey", "config.privateKey", "key", "*.secret"];

/** True when output should be pretty by default. */
export function defaultPretty(): boolean {
  return process.stdout.isTTY === true || process.env.NODE_ENV === "development";
}

/** The process's root logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.LOG_LEVEL as LogLevel | undefined) ?? "info";
  const usePretty = options.pretty ?? defaultPretty();
  const destination =
    options.destination ??
    (usePretty
      ? pretty({
          sync: true,
          colorize: process.stdout.isTTY === true,
          translateTime: "SYS:HH:MM:ss.l",
          ignore: "pid,hostname",
          messageFormat: "{if module}[{module}] {end}{msg}",
        })
      : pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level,
      name: options.name,
      base: { ...(options.base ?? {}) },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      serializers: { err: pino.stdSerializers.err },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** A child logger for one module: every line carries `module`. */
export function moduleLogger(parent: Logger, module: string, bindings: Record<string, unknown> = {}): Logger {
  return parent.child({ module, ...bindings });
}

/** A logger that discards everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
