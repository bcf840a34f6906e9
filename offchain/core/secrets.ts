/**
 * Secrets never reach a log line or an error message, whatever the input. A private key is 32 bytes; wherever
 * user input is echoed back (a config value in an error, a parser's excerpt of a file, a fatal line), anything
 * that could be one is replaced: a run of exactly 64 hex digits (with or without `0x`), a decimal integer of
 * 60 digits or more (a key read as a number), and a float rendering of such a number (`1.23e+76`, what YAML
 * makes of `0x…`). Longer hex runs (signatures, calldata) are left alone, and no legitimate setting is a number
 * of 60 digits. Pure: no I/O.
 */

/** What a redacted secret is replaced with. */
export const REDACTED = "<redacted>";

const HEX_KEY = /(?<![0-9a-fA-Fx])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9a-fA-F])/g;
const BIG_DECIMAL = /(?<![0-9.])\d{60,}(?![0-9])/g;
const BIG_FLOAT = /(?<![0-9.])\d(?:\.\d+)?[eE]\+?(?:[6-9]\d|[1-9]\d{2,})(?![0-9])/g;

/** `text` with every key-like token replaced by {@link REDACTED}. */
export function redactSecrets(text: string): string {
  return text.replace(HEX_KEY, REDACTED).replace(BIG_DECIMAL, REDACTED).replace(BIG_FLOAT, REDACTED);
}

/** True if `value` (a string, number or bigint) holds something key-like. */
export function looksSecret(value: unknown): boolean {
  if (typeof value === "bigint") return value >= 10n ** 59n || value <= -(10n ** 59n);
  if (typeof value === "number") return Math.abs(value) >= 1e59;
  if (typeof value === "string") return redactSecrets(value) !== value;
  return false;
}

/** `value` with key-like strings and numbers inside it replaced by {@link REDACTED} (objects and arrays walked). */
export function redactValue(value: unknown, depth = 0): unknown {
  if (looksSecret(value)) return typeof value === "string" ? redactSecrets(value) : REDACTED;
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, depth + 1)]));
}

/**
 * Where a YAML or JSON parser failed, without its excerpt of the text (which could be a secret: a key file
 * passed as a config or deployment file by mistake): ` at line L, column C` or ` at position N`, or nothing.
 */
export function parseErrorPosition(err: unknown): string {
  const e = err as { linePos?: Array<{ line: number; col: number }>; code?: string; message?: string } | undefined;
  if (e?.linePos?.[0])
    return ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}${e.code ? ` (${e.code})` : ""}`;
  const at = /position (\d+)/.exec(e?.message ?? "");
  return at ? ` at position ${at[1]}` : "";
}
