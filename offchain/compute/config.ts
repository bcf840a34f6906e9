/**
 * Configuration of `hms compute`: a YAML/JSON file, then `HMS_COMPUTE_*` variables, then command-line overrides
 * (offchain/core/config.ts `loadConfig`). Every key and its default are listed in docs/COMPUTE.md.
 *
 * ```yaml
 * nodeId: "0x…"                          # the Container node's NodeRegistry id
 * privateKeyFile: /etc/hms/compute.key   # its registered signing key (or HMS_COMPUTE_PRIVATE_KEY)
 * operatorKeyFile: /etc/hms/operator.key # the node operator's key: posts the offer, records tasks (optional)
 * dataDir: .data/compute-0
 * listen: { host: 127.0.0.1, port: 7401 }
 * rpcUrl: http://127.0.0.1:8545
 * deployment: localhost                  # or chainId + contracts
 * runtime: { kind: oci, socketPath: /run/podman/podman.sock }
 * metaUrls: [http://127.0.0.1:7400]     # signed heartbeats to every meta node (supervision)
 * offer: { units: 16, pricePerUnitSecond: "1000000000", minDuration: 60, maxDuration: 2592000 }
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

export const COMPUTE_ENV_PREFIX = "HMS_COMPUTE_";

const httpUrl = z.url({ protocol: /^https?$/ });

export const computeConfigSchema = z
  .strictObject({
    role: z.literal("compute").default("compute"),
    nodeId: bytes32Schema,
    privateKey: bytes32Schema.optional(),
    privateKeyFile: z.string().min(1).optional(),
    /** The password of an encrypted keystore `privateKeyFile`, in a file of its own (0600). */
    privateKeyPasswordFile: z.string().min(1).optional(),
    /** The operator's key (registry.operatorOf(nodeId)): posts the offer and records tasks. */
    operatorKey: bytes32Schema.optional(),
    operatorKeyFile: z.string().min(1).optional(),
    dataDir: z.string().min(1),
    listen: z.strictObject({ host: z.string().min(1).default("127.0.0.1"), port: portSchema.default(0) }).prefault({}),
    publicUrl: httpUrl.optional(),
    rpcUrl: httpUrl,
    chainId: z.number().int().positive().optional(),
    contracts: z.strictObject({ nodeRegistry: addressSchema, resourceMarket: addressSchema }).optional(),
    deployment: z.string().min(1).optional(),
    /** First block to scan for lease events when the data directory is new. */
    fromBlock: uint64Schema.default(0n),
    runtime: z
      .strictObject({
        kind: z.enum(["embedded", "oci"]).default("embedded"),
        /** Docker Engine API socket (Docker, or `podman system service`). */
        socketPath: z.string().min(1).default("/run/podman/podman.sock"),
      })
      .prefault({}),
    /** The compute offer published in ResourceMarket when none of this node is active. */
    offer: z
      .strictObject({
        units: uint64Schema,
        pricePerUnitSecond: uint64Schema,
        minDuration: uint64Schema.default(60n),
        maxDuration: uint64Schema.default(30n * 86_400n),
      })
      .optional(),
    /** Reconciliation period (lease events, workload states), ms. */
    pollMs: z.number().int().min(50).default(2_000),
    /** Metering: one sample per workload every sampleMs; one signed report per periodMs. */
    sampleMs: z.number().int().min(100).default(5_000),
    periodMs: z.number().int().min(1_000).default(60_000),
    /**
     * Meta nodes (API URLs) to send signed heartbeats to — every one of them (docs/COMPUTE.md "Supervision"): the
     * meta master moves this node's workloads elsewhere when they stop. None: no heartbeats, no supervision.
     */
    metaUrls: z
      .array(httpUrl.transform((u) => u.replace(/\/+$/, "")))
      .max(15)
      .default([]),
    /** Period of the heartbeats, ms. */
    heartbeatMs: z.number().int().min(100).default(1_000),
    /** Region label in the heartbeats (a workload's `placement.region` matches it). */
    region: z.string().min(1).max(64).default("local"),
    /** SIGTERM → SIGKILL grace of a stopped workload, ms. */
    stopGraceMs: z.number().int().min(0).default(5_000),
    log: logConfigSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.privateKey !== undefined && cfg.privateKeyFile !== undefined)
      ctx.addIssue({
        code: "custom",
        message: "give privateKey or privateKeyFile, not both",
        path: ["privateKeyFile"],
      });
    if (cfg.operatorKey !== undefined && cfg.operatorKeyFile !== undefined)
      ctx.addIssue({
        code: "custom",
        message: "give operatorKey or operatorKeyFile, not both",
        path: ["operatorKeyFile"],
      });
    if (cfg.contracts === undefined && cfg.deployment === undefined)
      ctx.addIssue({ code: "custom", message: "give contracts or a deployment file", path: ["contracts"] });
    if (cfg.offer !== undefined && cfg.operatorKey === undefined && cfg.operatorKeyFile === undefined)
      ctx.addIssue({ code: "custom", message: "publishing an offer needs the operator's key", path: ["offer"] });
    if (cfg.sampleMs > cfg.periodMs)
      ctx.addIssue({ code: "custom", message: "sampleMs must not exceed periodMs", path: ["sampleMs"] });
  });

export type ComputeConfig = z.output<typeof computeConfigSchema>;

export function loadComputeConfig(
  file?: string,
  env: Record<string, string | undefined> = process.env,
  overrides?: Record<string, unknown>,
): ComputeConfig {
  return loadConfig(computeConfigSchema, { file, env, envPrefix: COMPUTE_ENV_PREFIX, overrides });
}

export function resolveComputeKey(
  config: Pick<ComputeConfig, "privateKey" | "privateKeyFile" | "privateKeyPasswordFile">,
): {
  privateKey: Hex;
  address: Address;
} {
  return resolvePrivateKey(config, "COMPUTE_NO_KEY", "privateKey / privateKeyFile (HMS_COMPUTE_PRIVATE_KEY)");
}

/** The operator key, if configured. */
export function resolveOperatorKey(config: Pick<ComputeConfig, "operatorKey" | "operatorKeyFile">): Hex | undefined {
  if (config.operatorKey === undefined && config.operatorKeyFile === undefined) return undefined;
  return resolvePrivateKey(
    { privateKey: config.operatorKey, privateKeyFile: config.operatorKeyFile },
    "COMPUTE_NO_KEY",
    "operatorKey / operatorKeyFile",
  ).privateKey;
}
