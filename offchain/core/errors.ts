/**
 * The typed error base of everything off-chain.
 *
 * Every error a daemon raises on purpose is an {@link HmsError}: a stable machine-readable `code` from the one
 * registry (./error-codes.ts — its meaning, exit code and HTTP status), a human message, and the offending
 * `value` when there is one, so that a bad config key, a rejected message or a malformed signature can be
 * reported precisely. Pure: no I/O.
 */
import { ERROR_CODES, EXIT_CODES, isErrorCode, type ErrorCode, type ErrorCodeSpec } from "./error-codes";

export { ERROR_CODES, EXIT_CODES, isErrorCode, type ErrorCode, type ErrorCodeSpec } from "./error-codes";

/** Options of an {@link HmsError}. */
export interface HmsErrorOptions {
  /** The offending value (config value, header, message field…), reported as is. */
  value?: unknown;
  /** The underlying error, if any. */
  cause?: unknown;
  /** Extra structured context (e.g. the config key path), merged into {@link HmsError.toJSON}. */
  details?: Record<string, unknown>;
}

/** Base class of all HMS off-chain errors. `code` is a registered code (e.g. `CONFIG_INVALID`). */
export class HmsError extends Error {
  readonly code: ErrorCode;
  readonly value: unknown;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: HmsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.value = options.value;
    this.details = options.details ?? {};
  }

  /** The registry entry of {@link code}. */
  get spec(): ErrorCodeSpec {
    return ERROR_CODES[this.code];
  }

  /** The process exit code this error ends a command with. */
  get exitCode(): number {
    return EXIT_CODES[ERROR_CODES[this.code].exit];
  }

  /** JSON-safe form (bigints as decimal strings, long values truncated) for logs and HTTP replies. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, value: safeValue(this.value), ...this.details };
  }
}

/** Bad configuration: `details.key` names the key path (e.g. `listen.port`), `value` the bad value. */
export class ConfigError extends HmsError {
  constructor(code: Extract<ErrorCode, `CONFIG_${string}`>, message: string, options: HmsErrorOptions = {}) {
    super(code, message, options);
  }
  /** The key path of the offending setting, when known. */
  get key(): string | undefined {
    return this.details.key as string | undefined;
  }
}

/**
 * A transport failure; `status` is the HTTP status that goes with it (sent by servers, seen by clients): the
 * registry's status of the code unless given (a relayed peer reply keeps the peer's status).
 */
export class TransportError extends HmsError {
  readonly status: number;
  constructor(code: ErrorCode, status: number | undefined, message: string, options: HmsErrorOptions = {}) {
    super(code, message, options);
    this.status = status ?? ERROR_CODES[code].http;
  }
}

/** A persistence failure (LevelDB unavailable, undecodable record…). */
export class StoreError extends HmsError {}

/** A value that fails validation (a message field, an argument). */
export class ValidationError extends HmsError {}

/** True if `err` is an {@link HmsError} (optionally with the given code). */
export function isHmsError(err: unknown, code?: ErrorCode): err is HmsError {
  return err instanceof HmsError && (code === undefined || err.code === code);
}

/** The exit code a command ends with for `err`: the registry's for an {@link HmsError}, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  return err instanceof HmsError ? err.exitCode : EXIT_CODES.failure;
}

/** The code to report for a peer's error reply: its own when registered, else `fallback`. */
export function relayedCode(code: unknown, fallback: ErrorCode): ErrorCode {
  return isErrorCode(code) ? code : fallback;
}

/** A short JSON-safe rendering of an arbitrary value (bigint → string, long strings truncated). */
export function safeValue(value: unknown, maxLength = 200): unknown {
  if (value === undefined || value === null) return value;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string")
    return value.length > maxLength ? `${value.slice(0, maxLength)}…(${value.length})` : value;
  if (typeof value === "number" || typeof value === "boolean") return value;
  try {
    const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    if (text === undefined) return String(value);
    return text.length > maxLength ? `${text.slice(0, maxLength)}…(${text.length})` : JSON.parse(text);
  } catch {
    return String(value);
  }
}
