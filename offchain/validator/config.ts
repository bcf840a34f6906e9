/**
 * Configuration of `hms validator`: a YAML/JSON file, then `HMS_VALIDATOR_*` variables, then command-line
 * overrides (offchain/core/config.ts `loadConfig`). Every key, its variable and its default are listed in
 * docs/VALIDATOR.md.
 *
 * ```yaml
 * privateKeyFile: /etc/hms/validator.key     # or privateKey: "0x…" (HMS_VALIDATOR_PRIVATE_KEY)
 * rpcUrl: http://127.0.0.1:8545
 * deployment: deployments/localhost.json
 * listen: { host: 127.0.0.1, port: 7400 }
 * dataDir: .data/validator-0
 * peers:                                      # committee signing key → base URL
 *   "0xA…": http://127.0.0.1:7401
 * trafficSource: { url: http://127.0.0.1:7300 }  # or { metaUrls: [http://127.0.0.1:7601, …] } (the meta layer)
 * publishReports: true                        # default: with metaUrls (report documents stored and checked)
 * topN: 100
 * ```
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import {
  addressSchema,
  bytes32Schema,
  loadConfig,
  logConfigSchema,
  pbftParamsSchema,
  portSchema,
  resolvePrivateKey,
  transportConfigSchema,
} from "../core/config";
import { isHmsError } from "../core/errors";
import { ValidatorError } from "./errors";

export const VALIDATOR_ENV_PREFIX = "HMS_VALIDATOR_";

const httpUrl = z.url({ protocol: /^https?$/ });

/**
 * `{ url }`: one traffic feed (`hms traffic-source`, or a single meta node) is trusted as it is. `{ metaUrls }`:
 * the meta layer — the validator reads a majority of those nodes and takes the union (offchain/client/meta-feed.ts
 * `MajorityTrafficFeed`), and refuses a proposal that leaves out a receipt that read holds (`checkNoOmission`).
 */
export const trafficSourceSchema = z
  .strictObject({
    /** One feed's base URL (`GET /v1/receipts`). */
    url: httpUrl.optional(),
    /** The meta nodes' API base URLs (all of them: a majority must answer). */
    metaUrls: z.array(httpUrl).optional(),
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .superRefine((s, ctx) => {
    if (s.url !== undefined && s.metaUrls !== undefined)
      ctx.addIssue({
        code: "custom",
        message: "give url (one feed) or metaUrls (the meta layer), not both",
        path: ["metaUrls"],
      });
    else if (s.url === undefined && s.metaUrls === undefined)
      ctx.addIssue({ code: "custom", message: "give url (one feed) or metaUrls (the meta layer)", path: ["url"] });
    else if (s.metaUrls !== undefined && s.metaUrls.length === 0)
      ctx.addIssue({ code: "custom", message: "metaUrls must list at least one meta node", path: ["metaUrls"] });
    if (s.metaUrls !== undefined && new Set(s.metaUrls.map((u) => u.replace(/\/+$/, ""))).size !== s.metaUrls.length)
      ctx.addIssue({ code: "custom", message: "metaUrls lists a meta node twice", path: ["metaUrls"] });
  });

export const validatorConfigSchema = z
  .strictObject({
    role: z.literal("validator").default("validator"),
    /** The bookkeeper's signing key (its NodeRegistry bookkeeper key). Never logged. */
    privateKey: bytes32Schema.optional(),
    /** …or a file holding it (0x + 64 hex digits, surrounding whitespace ignored). */
    privateKeyFile: z.string().min(1).optional(),
    /** The password of an encrypted keystore `privateKeyFile`, in a file of its own (0600). */
    privateKeyPasswordFile: z.string().min(1).optional(),
    /** JSON-RPC endpoint of the chain. */
    rpcUrl: httpUrl,
    /** Deployment file (path or network name, see offchain/chain/deployment.ts). */
    deployment: z.string().min(1),
    /** Expected chain id (default: the deployment file's); the RPC must serve it. */
    chainId: z.number().int().positive().optional(),
    /** PBFT transport, report signatures, `/health`, `/metrics`, `/v1/reports/:period`. */
    listen: z.strictObject({ host: z.string().min(1).default("127.0.0.1"), port: portSchema.default(0) }).prefault({}),
    /** LevelDB state: signing record, reports, carry-overs, PBFT logs per epoch. */
    dataDir: z.string().min(1),
    /** Committee members' signing-key addresses → base URLs (static; see docs for discovery). */
    peers: z.record(addressSchema, httpUrl).default({}),
    /** Where the period's receipts come from: `url` (one feed, e.g. the traffic source) or `metaUrls` (the meta layer). */
    trafficSource: trafficSourceSchema,
    /**
     * Publish report documents in the storage network and prepare only reports whose `dataCid` resolves there
     * (docs/VALIDATOR.md "Report documents"). Default: true with `trafficSource.metaUrls` (the meta layer is the
     * storage network's), false with `trafficSource.url`; true needs `metaUrls`.
     */
    publishReports: z.boolean().optional(),
    /** Nodes rewarded per period: must be the same at every validator (proposals with another top-N are rejected). */
    topN: z
      .number()
      .int()
      .min(1)
      .max(2 ** 32 - 1)
      .default(100),
    transmit: z
      .strictObject({
        /** Delay per position after the primary before a member transmits (and settles, and elects). */
        staggerMs: z.number().int().nonnegative().default(5_000),
        /** How long the primary waits for signatures beyond the quorum before transmitting. */
        signatureWaitMs: z.number().int().nonnegative().default(1_000),
        /** Re-broadcast of this validator's report signature until the report lands. */
        rebroadcastMs: z.number().int().positive().default(2_000),
        /** Receipt wait per transaction. */
        receiptTimeoutMs: z.number().int().positive().default(60_000),
      })
      .prefault({}),
    poll: z
      .strictObject({
        /** Chain poll / daemon tick interval. */
        intervalMs: z.number().int().positive().default(1_000),
        /** viem's polling interval while waiting for receipts. */
        receiptPollMs: z.number().int().positive().default(250),
      })
      .prefault({}),
    rpc: z
      .strictObject({
        /** Attempts of a read (and of the start-up connection) on transient failures. */
        retries: z.number().int().min(1).max(100).default(6),
        backoffMs: z.number().int().positive().default(250),
        maxBackoffMs: z.number().int().positive().default(8_000),
        timeoutMs: z.number().int().positive().default(10_000),
      })
      .prefault({}),
    /** Gas: below `minBalanceWei` the key's account is reported unfunded (`/health` ok: false), no transaction is tried. */
    gas: z
      .strictObject({
        minBalanceWei: z
          .union([z.number().int().nonnegative(), z.string().regex(/^\d{1,78}$/, "expected a decimal integer")])
          .transform((v) => BigInt(v))
          .default(10n ** 15n),
        checkIntervalMs: z.number().int().positive().default(10_000),
      })
      .prefault({}),
    /** Call the permissionless `elect()` when an epoch started without an election. */
    elect: z.boolean().default(true),
    transport: transportConfigSchema.prefault({}),
    pbft: pbftParamsSchema.prefault({}),
    log: logConfigSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.publishReports === true && cfg.trafficSource.metaUrls === undefined)
      ctx.addIssue({
        code: "custom",
        message: "publishReports needs trafficSource.metaUrls (the storage network's meta nodes)",
        path: ["publishReports"],
      });
    if (cfg.privateKey !== undefined && cfg.privateKeyFile !== undefined)
      ctx.addIssue({
        code: "custom",
        message: "give privateKey or privateKeyFile, not both",
        path: ["privateKeyFile"],
      });
  });

export type ValidatorConfig = z.output<typeof validatorConfigSchema>;

/** Whether the validator publishes report documents (`publishReports`; default: reading the meta layer). */
export function publishesReports(config: Pick<ValidatorConfig, "publishReports" | "trafficSource">): boolean {
  return config.trafficSource.metaUrls !== undefined && (config.publishReports ?? true);
}

/** Loads the configuration (file, `HMS_VALIDATOR_*`, overrides). Throws ConfigError (exit code 2). */
export function loadValidatorConfig(
  file?: string,
  env: Record<string, string | undefined> = process.env,
  overrides?: Record<string, unknown>,
): ValidatorConfig {
  return loadConfig(validatorConfigSchema, { file, env, envPrefix: VALIDATOR_ENV_PREFIX, overrides });
}

/**
 * The validator's private key and address, from `privateKey` or `privateKeyFile` (a plain key file or an encrypted
 * keystore with `privateKeyPasswordFile`: core/config.ts `resolvePrivateKey`). Throws `VALIDATOR_NO_KEY` when
 * neither is set, `VALIDATOR_KEY_FILE` for an unreadable or malformed file or a wrong password (exit code 2).
 */
export function resolveKey(config: Pick<ValidatorConfig, "privateKey" | "privateKeyFile" | "privateKeyPasswordFile">): {
  privateKey: Hex;
  address: Address;
} {
  try {
    return resolvePrivateKey(
      config,
      "VALIDATOR_NO_KEY",
      "privateKey / privateKeyFile (HMS_VALIDATOR_PRIVATE_KEY / HMS_VALIDATOR_PRIVATE_KEY_FILE)",
      "VALIDATOR_KEY_FILE",
    );
  } catch (err) {
    if (isHmsError(err) && (err.code === "VALIDATOR_NO_KEY" || err.code === "VALIDATOR_KEY_FILE"))
      throw new ValidatorError(err.code, err.message, { value: err.value, cause: err.cause });
    throw err;
  }
}
