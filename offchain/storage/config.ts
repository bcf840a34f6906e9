/**
 * Configuration of `hms storage`: a YAML/JSON file, then `HMS_STORAGE_*` variables, then command-line
 * overrides (offchain/core/config.ts `loadConfig`). Every key, its variable and its default are listed in
 * docs/STORAGE.md.
 *
 * ```yaml
 * nodeId: "0x…"                              # the node's NodeRegistry id
 * privateKeyFile: /etc/hms/storage.key       # its registered signing key (or HMS_STORAGE_PRIVATE_KEY)
 * dataDir: .data/storage-0
 * listen: { host: 127.0.0.1, port: 7301 }
 * region: eu-1
 * capacityBytes: 107374182400                # 100 GiB
 * chainId: 31337
 * contracts: { nodeRegistry: "0x…", miningPool: "0x…" }   # or `deployment: deployments/localhost.json`
 * period: { genesis: 1767225600, length: 600 }            # MiningPool's; or read from `rpcUrl`
 * ```
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import {
  addressSchema,
  bytes32Schema,
  loadConfig,
  logConfigSchema,
  portSchema,
  resolvePrivateKey,
  uint64Schema,
} from "../core/config";
import { MAX_BLOCK_SIZE } from "../protocol/slicing";

export const STORAGE_ENV_PREFIX = "HMS_STORAGE_";

const httpUrl = z.url({ protocol: /^https?$/ });

export const storageConfigSchema = z
  .strictObject({
    role: z.literal("storage").default("storage"),
    /** NodeRegistry id of this resource node (signed into every StorageAck and node-side receipt). */
    nodeId: bytes32Schema,
    /** The node's registered signing key. Never logged. */
    privateKey: bytes32Schema.optional(),
    /** …or a file holding it (0x + 64 hex digits, surrounding whitespace ignored). */
    privateKeyFile: z.string().min(1).optional(),
    /** The password of an encrypted keystore `privateKeyFile`, in a file of its own (0600). */
    privateKeyPasswordFile: z.string().min(1).optional(),
    /** Blocks, temp files, quarantine and the LevelDB state. */
    dataDir: z.string().min(1),
    listen: z.strictObject({ host: z.string().min(1).default("127.0.0.1"), port: portSchema.default(0) }).prefault({}),
    /** URL other nodes and clients reach this worker at (default: the listen address). */
    publicUrl: httpUrl.optional(),
    /** Region label (placement spreads copies across regions). */
    region: z.string().min(1).max(64).default("local"),
    /** Bytes this node offers: writes beyond it are refused with 507 STORAGE_FULL. */
    capacityBytes: z.number().int().positive(),
    /** Largest block accepted (413 beyond); Kubo's limit by default. */
    maxBlockBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(MAX_BLOCK_SIZE),
    /** Chain of the `network` and `traffic` EIP-712 domains. */
    chainId: z.number().int().positive().optional(),
    contracts: z
      .strictObject({
        /** Verifying contract of StorageAck / UploadGrant signatures. */
        nodeRegistry: addressSchema,
        /** Verifying contract of traffic receipts; its genesis and period length clock them. */
        miningPool: addressSchema,
        /** For the on-chain lease gate. */
        resourceMarket: addressSchema.optional(),
      })
      .optional(),
    /** Deployment file (path or network name): fills chainId and contracts when they are not given. */
    deployment: z.string().min(1).optional(),
    /** JSON-RPC endpoint: reads the period clock when `period` is not given, and serves the lease gate. */
    rpcUrl: httpUrl.optional(),
    /** MiningPool's period clock (unix seconds of period 0, seconds per period). */
    period: z.strictObject({ genesis: uint64Schema, length: z.number().int().positive() }).optional(),
    /** Meta nodes (for a worker that stores IPFS `add`s with 3 copies through the network). */
    metaUrls: z.array(httpUrl).default([]),
    /** Period of the signed heartbeats to the meta master, ms (with metaUrls). */
    heartbeatMs: z.number().int().positive().default(1_000),
    store: z
      .strictObject({
        /** fsync every block and its directory before acknowledging it. */
        fsync: z.boolean().default(true),
        /** Hash every block before serving it (corrupt blocks are quarantined, never served). */
        verifyOnRead: z.boolean().default(true),
        /** Block backend: this worker's disk, or an existing Kubo node through its RPC API. */
        backend: z.enum(["fs", "kubo"]).default("fs"),
        /** Kubo RPC base URL when backend = kubo (e.g. http://127.0.0.1:5001). */
        kuboUrl: httpUrl.optional(),
      })
      .prefault({}),
    pipeline: z
      .strictObject({
        /** Timeout of a downstream hop's reply headers, and of a pause in any body, ms. */
        hopTimeoutMs: z.number().int().positive().default(15_000),
        /** Timeout of fetching a copy from a surviving replica (repair), ms. */
        fetchTimeoutMs: z.number().int().positive().default(30_000),
      })
      .prefault({}),
    gc: z
      .strictObject({
        /** Period of the GC pass, ms (0 = never by itself). */
        intervalMs: z.number().int().nonnegative().default(600_000),
        /** Temp files older than this are orphans of writers that never finished, ms. */
        tempGraceMs: z.number().int().positive().default(3_600_000),
        /** Blocks of an upload that was never committed are collected this long after its grant expired, ms. */
        uploadGraceMs: z.number().int().nonnegative().default(86_400_000),
      })
      .prefault({}),
    lease: z
      .strictObject({
        /** `off`: any valid grant may write; `chain`: an active ResourceMarket storage lease is required. */
        mode: z.enum(["off", "chain"]).default("off"),
        /** Lease lookups are cached this long, ms. */
        cacheMs: z.number().int().nonnegative().default(30_000),
      })
      .prefault({}),
    log: logConfigSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.privateKey !== undefined && cfg.privateKeyFile !== undefined)
      ctx.addIssue({
        code: "custom",
        message: "give privateKey or privateKeyFile, not both",
        path: ["privateKeyFile"],
      });
    if (cfg.contracts === undefined && cfg.deployment === undefined)
      ctx.addIssue({ code: "custom", message: "give contracts or a deployment file", path: ["contracts"] });
    if (cfg.period === undefined && (cfg.rpcUrl === undefined || (cfg.contracts === undefined && !cfg.deployment)))
      ctx.addIssue({ code: "custom", message: "give period, or rpcUrl to read it from MiningPool", path: ["period"] });
    if (cfg.store.backend === "kubo" && cfg.store.kuboUrl === undefined)
      ctx.addIssue({ code: "custom", message: "backend kubo needs store.kuboUrl", path: ["store", "kuboUrl"] });
    if (cfg.lease.mode === "chain" && cfg.rpcUrl === undefined)
      ctx.addIssue({ code: "custom", message: "lease mode chain needs rpcUrl", path: ["lease", "mode"] });
  });

export type StorageConfig = z.output<typeof storageConfigSchema>;

/** Loads the configuration (file, `HMS_STORAGE_*`, overrides). Throws ConfigError (exit code 2). */
export function loadStorageConfig(
  file?: string,
  env: Record<string, string | undefined> = process.env,
  overrides?: Record<string, unknown>,
): StorageConfig {
  return loadConfig(storageConfigSchema, { file, env, envPrefix: STORAGE_ENV_PREFIX, overrides });
}

/** The node's private key and address (core/config.ts `resolvePrivateKey`; `STORAGE_NO_KEY`, `SECRET_FILE`). */
export function resolveNodeKey(
  config: Pick<StorageConfig, "privateKey" | "privateKeyFile" | "privateKeyPasswordFile">,
): {
  privateKey: Hex;
  address: Address;
} {
  return resolvePrivateKey(
    config,
    "STORAGE_NO_KEY",
    "privateKey / privateKeyFile (HMS_STORAGE_PRIVATE_KEY / HMS_STORAGE_PRIVATE_KEY_FILE)",
  );
}
