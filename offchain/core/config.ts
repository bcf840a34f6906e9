/**
 * Configuration: a YAML or JSON file, then environment variables on top, validated by a zod schema —
 * one schema per daemon role. Errors are {@link ConfigError}s naming the key path, the bad value and
 * where it came from (file or variable).
 *
 * Environment variables map onto the schema's keys: `envPrefix` + the key in UPPER_SNAKE_CASE, with
 * `__` between nesting levels. With prefix `HMS_PBFT_`, `listen.port` is `HMS_PBFT_LISTEN__PORT` and
 * `pbft.viewChangeTimeoutMs` is `HMS_PBFT_PBFT__VIEW_CHANGE_TIMEOUT_MS`. A variable whose key is a string
 * (or a bigint/enum/literal) is taken verbatim; any other is parsed as JSON (`8080`, `true`,
 * `[{"address":"0x…","url":"http://…"}]`). A variable with the prefix that matches no key is an error,
 * so a typo cannot silently leave a default in place.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import YAML from "yaml";
import { privateKeyToAddress } from "viem/accounts";
import type { Address, Hex } from "viem";
import { ConfigError, HmsError, safeValue, type ErrorCode } from "./errors";
import { decryptKeystoreText, isKeystoreText } from "./keystore";
import { parseErrorPosition, redactSecrets, redactValue } from "./secrets";

/** Where each value came from, by key path (`listen.port` → `HMS_PBFT_LISTEN__PORT` or the file path). */
export type ConfigSources = Map<string, string>;

export interface LoadConfigOptions {
  /** A `.yaml`/`.yml`/`.json` file; YAML is parsed for any other extension (YAML is a superset of JSON). */
  file?: string;
  /** Environment to read; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Prefix of the variables of this role, e.g. `HMS_PBFT_`. */
  envPrefix: string;
  /** Values that win over file and environment (e.g. command-line flags), as a nested object. */
  overrides?: Record<string, unknown>;
}

type AnySchema = z.ZodType;

/** `viewChangeTimeoutMs` → `VIEW_CHANGE_TIMEOUT_MS`. */
export function envKey(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toUpperCase();
}

interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  values?: unknown[];
}

function defOf(schema: AnySchema): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strips optional/default/nullable/pipe wrappers down to the schema that says what the value is. */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(s);
    if (
      ["optional", "default", "prefault", "nullable", "readonly", "catch", "nonoptional"].includes(def.type) &&
      def.innerType
    )
      s = def.innerType;
    else if (def.type === "pipe" && def.in) s = def.in;
    else return s;
  }
  return s;
}

function objectShape(schema: AnySchema): Record<string, AnySchema> | undefined {
  const inner = unwrap(schema);
  const def = defOf(inner);
  if (def.type !== "object") return undefined;
  return (inner as unknown as { shape: Record<string, AnySchema> }).shape;
}

/** Taken verbatim from a variable: strings, bigints, string enums/literals, and unions with such a member. */
function isVerbatim(schema: AnySchema): boolean {
  const def = defOf(unwrap(schema)) as Def & { options?: AnySchema[] };
  if (["string", "bigint", "enum", "template_literal"].includes(def.type)) return true;
  if (def.type === "literal") return (def.values ?? []).every((v) => typeof v === "string");
  if (def.type === "union") return (def.options ?? []).some((o) => isVerbatim(o));
  return false;
}

/** Every leaf key of an object schema, with its variable name: `[["listen","port"], "HMS_PBFT_LISTEN__PORT"]`. */
export function envVariables(
  schema: AnySchema,
  envPrefix: string,
): Array<{ path: string[]; name: string; leaf: AnySchema }> {
  const out: Array<{ path: string[]; name: string; leaf: AnySchema }> = [];
  const walk = (s: AnySchema, keyPath: string[], prefix: string) => {
    const shape = objectShape(s);
    if (shape === undefined) {
      out.push({ path: keyPath, name: prefix.replace(/__$/, ""), leaf: s });
      return;
    }
    for (const [key, child] of Object.entries(shape)) walk(child, [...keyPath, key], `${prefix}${envKey(key)}__`);
  };
  walk(schema, [], envPrefix);
  return out.filter((v) => v.path.length > 0);
}

function setPath(target: Record<string, unknown>, keyPath: (string | number)[], value: unknown): void {
  let node = target;
  for (const key of keyPath.slice(0, -1)) {
    const next = node[key as string];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[key as string] = {};
    node = node[key as string] as Record<string, unknown>;
  }
  node[keyPath[keyPath.length - 1] as string] = value;
}

function getPath(source: unknown, keyPath: readonly PropertyKey[]): unknown {
  let node: unknown = source;
  for (const key of keyPath) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (
    base === null ||
    over === null ||
    typeof base !== "object" ||
    typeof over !== "object" ||
    Array.isArray(base) ||
    Array.isArray(over)
  )
    return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
  return out;
}

function recordSources(value: unknown, keyPath: string[], source: string, sources: ConfigSources): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) recordSources(v, [...keyPath, k], source, sources);
  } else if (keyPath.length > 0) sources.set(keyPath.join("."), source);
}

/** Reads and parses a config file (YAML or JSON). Throws `CONFIG_FILE`; never echoes the file's content. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError("CONFIG_FILE", `cannot read config file ${file}: ${(err as Error).message}`, {
      value: file,
      cause: err,
      details: { file },
    });
  }
  let parsed: unknown;
  try {
    parsed = path.extname(file).toLowerCase() === ".json" ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError(
      "CONFIG_FILE",
      `config file ${file} is not valid ${path.extname(file) || "YAML"}${parseErrorPosition(err)}`,
      {
        value: file,
        cause: err,
        details: { file },
      },
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed))
    // Never echo what the file holds: a key file passed by mistake would be printed.
    throw new ConfigError(
      "CONFIG_FILE",
      `config file ${file} must hold a mapping at the top level (it holds a ${Array.isArray(parsed) ? "list" : typeof parsed})`,
      {
        value: file,
        details: { file },
      },
    );
  return parsed as Record<string, unknown>;
}

/** The values that `env` sets for `schema`, as a nested object. Throws `CONFIG_ENV`. */
export function readConfigEnv(
  schema: AnySchema,
  envPrefix: string,
  env: Record<string, string | undefined>,
  sources?: ConfigSources,
): Record<string, unknown> {
  const vars = envVariables(schema, envPrefix);
  const byName = new Map(vars.map((v) => [v.name, v]));
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(envPrefix) || raw === undefined) continue;
    const v = byName.get(name);
    if (v === undefined) {
      const known = vars.map((x) => x.name).join(", ");
      throw new ConfigError("CONFIG_ENV", `unknown setting ${name} (known: ${known})`, {
        value: safeValue(redactValue(raw)),
        details: { key: name, source: name },
      });
    }
    let value: unknown = raw;
    if (!isVerbatim(v.leaf)) {
      try {
        value = JSON.parse(raw);
      } catch {
        throw new ConfigError(
          "CONFIG_ENV",
          `${name} (${v.path.join(".")}) is not valid JSON: ${JSON.stringify(safeValue(redactSecrets(raw)))}`,
          {
            value: safeValue(redactValue(raw)),
            details: { key: v.path.join("."), source: name },
          },
        );
      }
    }
    setPath(out, v.path, value);
    sources?.set(v.path.join("."), name);
  }
  return out;
}

/** Describes one zod issue as `key: message (got <value> from <source>)`. */
function describeIssue(
  issue: z.core.$ZodIssue,
  merged: unknown,
  sources: ConfigSources,
): { key: string; text: string; value: unknown; source?: string } {
  let keyPath = issue.path.map(String);
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0) keyPath = [...keyPath, issue.keys[0]];
  const key = keyPath.join(".") || "(root)";
  const value = getPath(merged, keyPath);
  let source: string | undefined;
  for (let i = keyPath.length; i > 0 && source === undefined; i--) source = sources.get(keyPath.slice(0, i).join("."));
  const got =
    value === undefined
      ? "missing"
      : `got ${JSON.stringify(safeValue(redactValue(key.toLowerCase().includes("privatekey") ? "<redacted>" : value)))}`;
  const text =
    issue.code === "unrecognized_keys"
      ? `${issue.path.map(String).join(".") || "(root)"}: unknown key(s) ${issue.keys.join(", ")}${source ? ` (from ${source})` : ""}`
      : `${key}: ${issue.message} (${got}${source ? ` from ${source}` : ""})`;
  return { key, text, value, source };
}

/**
 * Loads a configuration: schema defaults, then `file`, then environment variables with `envPrefix`,
 * then `overrides`; validates the result with `schema`. Throws {@link ConfigError}: `CONFIG_FILE`
 * (unreadable/unparsable file), `CONFIG_ENV` (unknown variable, non-JSON value) or `CONFIG_INVALID`
 * (schema violation; `key`, `value` and `details.source` name the first bad setting, the message lists all).
 */
export function loadConfig<S extends AnySchema>(schema: S, options: LoadConfigOptions): z.output<S> {
  const sources: ConfigSources = new Map();
  let merged: unknown = {};
  if (options.file !== undefined) {
    const fromFile = readConfigFile(options.file);
    recordSources(fromFile, [], options.file, sources);
    merged = fromFile;
  }
  const fromEnv = readConfigEnv(schema, options.envPrefix, options.env ?? process.env, sources);
  merged = deepMerge(merged, fromEnv);
  if (options.overrides !== undefined) {
    recordSources(options.overrides, [], "overrides", sources);
    merged = deepMerge(merged, options.overrides);
  }
  return parseConfig(schema, merged, sources);
}

/** Validates an already-assembled config object (same errors as {@link loadConfig}). */
export function parseConfig<S extends AnySchema>(
  schema: S,
  input: unknown,
  sources: ConfigSources = new Map(),
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => describeIssue(i, input, sources));
  const first = issues[0];
  throw new ConfigError("CONFIG_INVALID", `invalid configuration: ${issues.map((i) => i.text).join("; ")}`, {
    value: first.key.toLowerCase().includes("privatekey") ? "<redacted>" : safeValue(redactValue(first.value)),
    details: { key: first.key, source: first.source, issues: issues.map((i) => i.text) },
  });
}

/* ------------------------------------------------------------------------------------------------
 * Shared field schemas.
 * ---------------------------------------------------------------------------------------------- */

/** A 20-byte 0x address (any case). */
export const addressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "expected a 0x-prefixed 20-byte hex address")
  .transform((s) => s as Address);
/** A 32-byte 0x hex string (private keys, digests). */
export const bytes32Schema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "expected 0x + 64 hex digits")
  .transform((s) => s as Hex);
/** A uint64 given as a number or a decimal string; output bigint. */
export const uint64Schema = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, "expected a decimal integer"), z.bigint()])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v < 1n << 64n, "does not fit in uint64");
export const portSchema = z.number().int().min(0).max(65535);
export const logLevelSchema = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export const logConfigSchema = z.strictObject({
  level: logLevelSchema.default("info"),
  /** Human-readable output; default: when stdout is a TTY or NODE_ENV=development. */
  pretty: z.boolean().optional(),
});

export const transportConfigSchema = z.strictObject({
  /** Largest accepted request body, bytes (PBFT pre-prepares carry a whole batch). */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(1 << 30)
    .default(64 * 1024 * 1024),
  /** Client-side timeout of one HTTP exchange, ms. */
  requestTimeoutMs: z.number().int().positive().default(10_000),
});

export const pbftParamsSchema = z
  .strictObject({
    /** A checkpoint every k sequence numbers. */
    checkpointInterval: z.number().int().positive().default(10),
    /** L: sequence numbers accepted above the low watermark (a multiple of checkpointInterval). */
    watermarkWindow: z.number().int().positive().default(40),
    /** Base view-change timeout, ms (doubles with each unsuccessful view change, capped). */
    viewChangeTimeoutMs: z.number().int().positive().default(4000),
    /** Retransmission / status period while work is unfinished, ms. */
    retransmitMs: z.number().int().positive().default(1000),
    /** Heartbeat status period while idle, ms. */
    statusIntervalMs: z.number().int().positive().default(10_000),
    /** Committed entries kept below the stable checkpoint for lagging replicas. */
    retainCommitted: z.number().int().nonnegative().default(20),
    /** The view-change timeout doubles per consecutive failed view change, up to 2^this. */
    maxBackoffExponent: z.number().int().nonnegative().max(20).default(5),
    /** Committed entries per reply to a lagging replica, and their payload size bound (characters). */
    maxEntriesPerReply: z.number().int().positive().default(8),
    maxReplyBytes: z
      .number()
      .int()
      .positive()
      .default(16 * 1024 * 1024),
    /** Requests waiting to be ordered. */
    maxPending: z.number().int().positive().default(1024),
    /** Backups forward client requests to the primary. */
    forwardRequests: z.boolean().default(true),
  })
  .refine((p) => p.watermarkWindow % p.checkpointInterval === 0 && p.watermarkWindow >= p.checkpointInterval, {
    message: "watermarkWindow must be a positive multiple of checkpointInterval",
    path: ["watermarkWindow"],
  });

/** Configuration of a PBFT replica process (the validator daemon extends it in a later issue). */
export const pbftReplicaConfigSchema = z
  .strictObject({
    role: z.literal("pbft-replica").default("pbft-replica"),
    /** The replica's secp256k1 key: signs transport envelopes and PBFT messages. Never logged. */
    privateKey: bytes32Schema,
    /** Configuration id (epoch of the elected set): the `epoch` of signed Proposals. */
    configId: uint64Schema,
    /** Chain id of the staking domain (and of transport envelopes). */
    chainId: z.number().int().positive(),
    /** BookkeeperStaking address: verifying contract of the staking EIP-712 domain. */
    stakingContract: addressSchema,
    /** The replicas in leader order: primary of view v is replicas[v mod n]. */
    replicas: z
      .array(z.strictObject({ address: addressSchema, url: z.url({ protocol: /^https?$/ }) }))
      .min(1)
      .max(48),
    listen: z.strictObject({ host: z.string().min(1).default("127.0.0.1"), port: portSchema.default(0) }).prefault({}),
    /** Directory of the LevelDB state. */
    dataDir: z.string().min(1),
    transport: transportConfigSchema.prefault({}),
    pbft: pbftParamsSchema.prefault({}),
    log: logConfigSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.replicas.forEach((r, i) => {
      const a = r.address.toLowerCase();
      if (seen.has(a))
        ctx.addIssue({ code: "custom", message: "duplicate replica address", path: ["replicas", i, "address"] });
      seen.add(a);
    });
    let self: string | undefined;
    try {
      self = privateKeyToAddress(cfg.privateKey).toLowerCase();
    } catch {
      ctx.addIssue({ code: "custom", message: "not a valid secp256k1 private key", path: ["privateKey"] });
      return;
    }
    if (!seen.has(self))
      ctx.addIssue({
        code: "custom",
        message: `this key's address ${self} is not among the replicas`,
        path: ["privateKey"],
      });
  });

export type PbftReplicaConfig = z.output<typeof pbftReplicaConfigSchema>;

/** Where a daemon's signing key comes from (its config's `privateKey`, `privateKeyFile`, `privateKeyPasswordFile`). */
export interface KeySources {
  privateKey?: Hex;
  /** A file holding the key: 0x + 64 hex digits, or an encrypted Web3 Secret Storage (v3) keystore file. */
  privateKeyFile?: string;
  /** The keystore file's password, in a file of its own (one trailing newline ignored). */
  privateKeyPasswordFile?: string;
}

function readSecretFile(file: string, what: string, code: ErrorCode): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new HmsError(code, `cannot read ${what} ${file}: ${(err as Error).message}`, { value: file, cause: err });
  }
}

/**
 * A daemon's private key and address: `privateKey`, else `privateKeyFile` — a plain key file, or a keystore file
 * (`hms keys new`, geth, `cast wallet`) unlocked with `privateKeyPasswordFile`. Throws `noKey` when none is set or
 * the key is not a secp256k1 key, `fileCode` (default SECRET_FILE) for an unreadable or malformed file, a keystore
 * without its password file, or a wrong password. Nothing thrown holds the key or the password.
 */
export function resolvePrivateKey(
  config: KeySources,
  noKey: ErrorCode,
  hint: string,
  fileCode: ErrorCode = "SECRET_FILE",
): { privateKey: Hex; address: Address } {
  let key = config.privateKey;
  if (key === undefined && config.privateKeyFile !== undefined) {
    const file = config.privateKeyFile;
    const text = readSecretFile(file, "key file", fileCode).trim();
    if (isKeystoreText(text)) {
      if (config.privateKeyPasswordFile === undefined)
        throw new HmsError(fileCode, `key file ${file} is an encrypted keystore: set privateKeyPasswordFile`, {
          value: file,
        });
      const password = readSecretFile(config.privateKeyPasswordFile, "password file", fileCode).replace(/\r?\n$/, "");
      try {
        key = decryptKeystoreText(text, password);
      } catch (err) {
        throw new HmsError(fileCode, `cannot decrypt keystore ${file}: wrong password or a damaged file`, {
          value: file,
          cause: err,
        });
      }
    } else if (!/^0x[0-9a-fA-F]{64}$/.test(text))
      throw new HmsError(fileCode, `key file ${file} holds neither 0x + 64 hex digits nor a keystore`, {
        value: file,
      });
    else key = text as Hex;
  }
  if (key === undefined) throw new HmsError(noKey, `no signing key: set ${hint}`);
  try {
    return { privateKey: key, address: privateKeyToAddress(key) };
  } catch (err) {
    throw new HmsError(noKey, "the signing key is not a valid secp256k1 private key", {
      value: "<redacted>",
      cause: err,
    });
  }
}
