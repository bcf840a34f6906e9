/**
 * `hms traffic-source`: the deterministic generator behind the HTTP feed, configured by file and
 * `HMS_TRAFFIC_*` variables (offchain/core/config.ts `loadConfig`). The chain id and the mining pool (the
 * receipts' EIP-712 domain) come from the deployment file unless given.
 *
 * ```yaml
 * deployment: deployments/localhost.json
 * listen: { host: 127.0.0.1, port: 7300 }
 * seed: demo
 * nodes:
 *   - { nodeId: "0x…", privateKey: "0x…" }       # the node's registered signing key
 * clients: 4
 * tasksPerPeriod: { min: 4, max: 10 }
 * noise: 0.1
 * startPeriod: 0
 * ```
 */
import { z } from "zod";
import type { Logger } from "pino";
import { addressSchema, bytes32Schema, logConfigSchema, portSchema, uint64Schema, loadConfig } from "../../core/config";
import { Metrics } from "../../core/metrics";
import { ConfigError } from "../../core/errors";
import { contractAddress, loadDeployment } from "../../chain/deployment";
import { DEFAULT_GENERATOR, GeneratedTraffic } from "./generator";
import { serveTrafficFeed, type ServedFeed } from "./http";

export const TRAFFIC_ENV_PREFIX = "HMS_TRAFFIC_";

export const trafficSourceConfigSchema = z
  .strictObject({
    role: z.literal("traffic-source").default("traffic-source"),
    /** Deployment file (path or network name): chain id and MiningPool address. */
    deployment: z.string().min(1).optional(),
    /** Overrides of the deployment file's values (or instead of it). */
    chainId: z.number().int().positive().optional(),
    pool: addressSchema.optional(),
    listen: z.strictObject({ host: z.string().min(1).default("127.0.0.1"), port: portSchema.default(0) }).prefault({}),
    seed: z.string().min(1).default(DEFAULT_GENERATOR.seed),
    /** Nodes served, with their registered signing keys (they sign the node side of each receipt). */
    nodes: z
      .array(
        z.strictObject({
          nodeId: bytes32Schema,
          privateKey: bytes32Schema,
          weight: z.number().positive().optional(),
        }),
      )
      .min(1)
      .max(1024),
    clients: z.number().int().min(1).max(10_000).default(DEFAULT_GENERATOR.clients),
    tasksPerPeriod: z
      .strictObject({ min: z.number().int().min(0), max: z.number().int().min(0).max(100_000) })
      .refine((t) => t.min <= t.max, "min must not exceed max")
      .default({ ...DEFAULT_GENERATOR.tasksPerPeriod }),
    bytes: z
      .strictObject({ min: uint64Schema, max: uint64Schema })
      .refine((b) => b.min >= 1n && b.min <= b.max && b.max < 1n << 63n, "need 1 ≤ min ≤ max < 2^63")
      .default({ ...DEFAULT_GENERATOR.bytes }),
    noise: z.number().min(0).max(1).default(DEFAULT_GENERATOR.noise),
    startPeriod: uint64Schema.default(0n),
    log: logConfigSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.deployment === undefined && (cfg.chainId === undefined || cfg.pool === undefined))
      ctx.addIssue({ code: "custom", message: "give a deployment file, or chainId and pool", path: ["deployment"] });
  });

export type TrafficSourceConfig = z.output<typeof trafficSourceConfigSchema>;

/** Loads the traffic source's configuration (file, then `HMS_TRAFFIC_*`, then overrides). */
export function loadTrafficSourceConfig(
  file?: string,
  env: Record<string, string | undefined> = process.env,
  overrides?: Record<string, unknown>,
): TrafficSourceConfig {
  return loadConfig(trafficSourceConfigSchema, { file, env, envPrefix: TRAFFIC_ENV_PREFIX, overrides });
}

/** The generator a configuration describes. */
export function generatorFromConfig(config: TrafficSourceConfig): GeneratedTraffic {
  let chainId = config.chainId;
  let pool = config.pool;
  if (config.deployment !== undefined) {
    const deployment = loadDeployment(config.deployment);
    chainId ??= deployment.chainId;
    pool ??= contractAddress(deployment, "MiningPool");
  }
  if (chainId === undefined || pool === undefined)
    throw new ConfigError("CONFIG_INVALID", "traffic source needs a chain id and a pool", { value: config.deployment });
  return new GeneratedTraffic({
    chainId,
    pool,
    seed: config.seed,
    nodes: config.nodes,
    clients: config.clients,
    tasksPerPeriod: config.tasksPerPeriod,
    bytes: config.bytes,
    noise: config.noise,
    startPeriod: config.startPeriod,
  });
}

/** Starts the feed service. */
export async function startTrafficSource(
  config: TrafficSourceConfig,
  options: { logger?: Logger; metrics?: Metrics } = {},
): Promise<ServedFeed & { generator: GeneratedTraffic }> {
  const generator = generatorFromConfig(config);
  const served = await serveTrafficFeed(generator, {
    host: config.listen.host,
    port: config.listen.port,
    chainId: generator.options.chainId,
    pool: generator.options.pool,
    logger: options.logger,
    metrics: options.metrics ?? new Metrics({ collectDefault: true }),
    health: () => ({ seed: config.seed, nodes: config.nodes.length, startPeriod: config.startPeriod.toString() }),
  });
  options.logger?.info(
    { url: served.url, nodes: config.nodes.length, seed: config.seed, startPeriod: config.startPeriod.toString() },
    "traffic source listening",
  );
  return { ...served, generator };
}
