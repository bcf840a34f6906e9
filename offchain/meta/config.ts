/**
 * Configuration of `hms meta`: a YAML/JSON file, then `HMS_META_*` variables, then command-line overrides
 * (offchain/core/config.ts `loadConfig`). Every key, its variable and its default are listed in docs/META.md.
 *
 * ```yaml
 * privateKeyFile: /etc/hms/meta.key            # this meta node's key (peer envelopes, ReceiptAcks)
 * dataDir: .data/meta-0
 * listen: { host: 127.0.0.1, port: 7400 }      # the public API (clients, workers, validators)
 * peerListen: { host: 127.0.0.1, port: 7410 }  # the meta peers' signed messages (election, log)
 * peers:                                        # every meta node, this one included (odd count)
 *   - { address: "0x…", peerUrl: http://127.0.0.1:7410, apiUrl: http://127.0.0.1:7400 }
 * chainId: 31337
 * contracts: { nodeRegistry: "0x…", miningPool: "0x…" }   # or `deployment: deployments/localhost.json`
 * period: { genesis: 1767225600, length: 600 }            # MiningPool's clock
 * nodes:                                        # storage nodes and their registered signing keys
 *   - { nodeId: "0x…", address: "0x…" }
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
import { HmsError } from "../core/errors";
import { contractAddress, loadDeployment } from "../chain/deployment";

export const META_ENV_PREFIX = "HMS_META_";

const httpUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ""));
const listenSchema = z
  .strictObject({ host: z.string().min(1).default("127.0.0.1"), port: portSchema.default(0) })
  .prefault({});

export const metaConfigSchema = z
  .strictObject({
    role: z.literal("meta").default("meta"),
    /** This meta node's key (signs peer envelopes and ReceiptAcks). Never logged. */
    privateKey: bytes32Schema.optional(),
    /** …or a file holding it. */
    privateKeyFile: z.string().min(1).optional(),
    /** The password of an encrypted keystore `privateKeyFile`, in a file of its own (0600). */
    privateKeyPasswordFile: z.string().min(1).optional(),
    /** LevelDB of the log, the index, the receipts and the election state. */
    dataDir: z.string().min(1),
    /** Public API: clients, storage workers, validators. */
    listen: listenSchema,
    /** Peer transport (signed envelopes between meta nodes only). */
    peerListen: listenSchema,
    /** Every meta node of the cluster, this one included; an odd count is advised (majority = ⌊n/2⌋ + 1). */
    peers: z
      .array(z.strictObject({ address: addressSchema, peerUrl: httpUrl, apiUrl: httpUrl }))
      .min(1)
      .max(15),
    chainId: z.number().int().positive().optional(),
    contracts: z.strictObject({ nodeRegistry: addressSchema, miningPool: addressSchema }).optional(),
    /** Deployment file (path or network name): fills chainId and contracts when not given. */
    deployment: z.string().min(1).optional(),
    /** MiningPool's period clock (unix seconds of period 0, seconds per period). */
    period: z.strictObject({ genesis: uint64Schema, length: z.number().int().positive() }),
    /** Storage nodes and their registered signing keys (the NodeRegistry's `signingKey`). */
    nodes: z
      .array(z.strictObject({ nodeId: bytes32Schema, address: addressSchema }))
      .max(10_000)
      .default([]),
    election: z
      .strictObject({
        /** The master's heartbeat (empty append) period, ms. */
        heartbeatMs: z.number().int().positive().default(100),
        /** A follower that hears no master for a random time in [min, max] ms starts an election. */
        timeoutMinMs: z.number().int().positive().default(400),
        timeoutMaxMs: z.number().int().positive().default(800),
        /**
         * Cap of the election back-off, ms (default 16 × timeoutMaxMs): each term that ends without a master doubles
         * the timeouts up to it, so a starved machine still elects one (docs/META.md "Election").
         */
        backoffMaxMs: z.number().int().positive().optional(),
        /** Timeout of one peer exchange, ms. */
        rpcTimeoutMs: z.number().int().positive().default(1_000),
        /** A write not persisted by a majority in this time fails with META_NO_QUORUM (not acknowledged). */
        commitTimeoutMs: z.number().int().positive().default(5_000),
      })
      .prefault({}),
    health: z
      .strictObject({
        /** Workers' heartbeat period the master expects, ms. */
        heartbeatMs: z.number().int().positive().default(1_000),
        /** A node silent this long is down (PROTOCOL §12: 3 missed heartbeats of 1 s). */
        downAfterMs: z.number().int().positive().default(3_000),
        /** Period of the repair pass on the master, ms. */
        repairIntervalMs: z.number().int().positive().default(1_000),
        /** Copies every slice should have. */
        copies: z.number().int().min(1).max(16).default(3),
        /** Period of an audit round, ms (0 = no audits). */
        auditIntervalMs: z.number().int().nonnegative().default(5_000),
        /** Slices challenged per audit round. */
        auditSample: z.number().int().positive().default(4),
        /** Timeout of one repair order or audit read, ms. */
        orderTimeoutMs: z.number().int().positive().default(15_000),
      })
      .prefault({}),
    receipts: z
      .strictObject({
        /** Receipts are taken for periods within this many of the current one (older = closed: a replay). */
        tolerancePeriods: z.number().int().nonnegative().default(2),
        /** Largest batch of one submission. */
        maxBatch: z.number().int().positive().max(10_000).default(2_000),
      })
      .prefault({}),
    /** An upload's placement is kept (for replacements) this long, ms. */
    uploadTtlMs: z
      .number()
      .int()
      .positive()
      .default(24 * 3_600_000),
    /**
     * Compute supervision (docs/COMPUTE.md "Supervision"): compute workers' heartbeats are verified against their
     * NodeRegistry signing keys read at `rpcUrl`; the master moves the workloads of dead nodes with the holder of
     * ResourceMarket's ORACLE_ROLE (`oracleKey`; without it the master only logs what it would do).
     */
    compute: z
      .strictObject({
        rpcUrl: z.url({ protocol: /^https?$/ }),
        /** ResourceMarket (else the deployment file's). */
        resourceMarket: addressSchema.optional(),
        /** The ORACLE_ROLE key (moveLease, terminateLease). Never logged. */
        oracleKey: bytes32Schema.optional(),
        oracleKeyFile: z.string().min(1).optional(),
        /** A compute node silent this long is dead, ms. */
        downAfterMs: z.number().int().positive().default(3_000),
        /** Period of the supervision pass on the master, ms. */
        intervalMs: z.number().int().positive().default(1_000),
        /** With no node able to take a dead node's workload, terminate its lease after this silence, ms. */
        noNodeGraceMs: z.number().int().nonnegative().default(30_000),
        /** Moves within windowMs before a workload is a crash loop (terminated), and the backoff between moves. */
        maxMigrations: z.number().int().positive().default(3),
        windowMs: z.number().int().positive().default(600_000),
        backoffMs: z.number().int().nonnegative().default(1_000),
        maxBackoffMs: z.number().int().nonnegative().default(60_000),
        /** Weight of the random term of placement in [0, 1]. */
        randomFactor: z.number().min(0).max(1).default(0.2),
        /** Timeout of a forwarded run request, ms. */
        forwardTimeoutMs: z.number().int().positive().default(10_000),
      })
      .optional(),
    /**
     * Test faults only (never in production): `dropReceiptsInFeed` makes this node, while master, leave the
     * receipts whose task id ends in this hex digit out of the feed it serves (a master that drops receipts).
     */
    faults: z
      .strictObject({
        dropReceiptsInFeed: z
          .string()
          .regex(/^[0-9a-f]$/)
          .optional(),
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
    if (cfg.compute?.oracleKey !== undefined && cfg.compute.oracleKeyFile !== undefined)
      ctx.addIssue({
        code: "custom",
        message: "give oracleKey or oracleKeyFile, not both",
        path: ["compute", "oracleKeyFile"],
      });
    if (cfg.compute !== undefined && cfg.compute.resourceMarket === undefined && cfg.deployment === undefined)
      ctx.addIssue({
        code: "custom",
        message: "compute supervision needs compute.resourceMarket or a deployment file",
        path: ["compute", "resourceMarket"],
      });
    if (cfg.contracts === undefined && cfg.deployment === undefined)
      ctx.addIssue({ code: "custom", message: "give contracts or a deployment file", path: ["contracts"] });
    if (cfg.election.timeoutMaxMs < cfg.election.timeoutMinMs)
      ctx.addIssue({
        code: "custom",
        message: "timeoutMaxMs must be ≥ timeoutMinMs",
        path: ["election", "timeoutMaxMs"],
      });
    if (cfg.election.backoffMaxMs !== undefined && cfg.election.backoffMaxMs < cfg.election.timeoutMaxMs)
      ctx.addIssue({
        code: "custom",
        message: "backoffMaxMs must be ≥ timeoutMaxMs",
        path: ["election", "backoffMaxMs"],
      });
    if (cfg.election.timeoutMinMs < 2 * cfg.election.heartbeatMs)
      ctx.addIssue({
        code: "custom",
        message: "timeoutMinMs must be at least twice heartbeatMs",
        path: ["election", "timeoutMinMs"],
      });
    const seen = new Set<string>();
    cfg.peers.forEach((p, i) => {
      if (seen.has(p.address.toLowerCase()))
        ctx.addIssue({ code: "custom", message: `peer ${p.address} is listed twice`, path: ["peers", i, "address"] });
      seen.add(p.address.toLowerCase());
    });
    const ids = new Set<string>();
    cfg.nodes.forEach((n, i) => {
      if (ids.has(n.nodeId.toLowerCase()))
        ctx.addIssue({ code: "custom", message: `node ${n.nodeId} is listed twice`, path: ["nodes", i, "nodeId"] });
      ids.add(n.nodeId.toLowerCase());
    });
  });

export type MetaConfig = z.output<typeof metaConfigSchema>;

/** Loads the configuration (file, `HMS_META_*`, overrides). Throws ConfigError (exit code 2). */
export function loadMetaConfig(
  file?: string,
  env: Record<string, string | undefined> = process.env,
  overrides?: Record<string, unknown>,
): MetaConfig {
  return loadConfig(metaConfigSchema, { file, env, envPrefix: META_ENV_PREFIX, overrides });
}

/** The meta node's key and address (`META_NO_KEY`, `SECRET_FILE`). */
export function resolveMetaKey(config: Pick<MetaConfig, "privateKey" | "privateKeyFile" | "privateKeyPasswordFile">): {
  privateKey: Hex;
  address: Address;
} {
  return resolvePrivateKey(config, "META_NO_KEY", "privateKey / privateKeyFile (HMS_META_PRIVATE_KEY_FILE)");
}

/** The EIP-712 domains' chain and contracts: from the config, else the deployment file. */
export function metaDomains(config: MetaConfig): { chainId: number; nodeRegistry: Address; miningPool: Address } {
  if (config.contracts !== undefined) {
    const chainId = config.chainId ?? (config.deployment ? loadDeployment(config.deployment).chainId : undefined);
    if (chainId === undefined)
      throw new HmsError("CONFIG_INVALID", "chainId is required with explicit contracts", { value: "chainId" });
    return { chainId, ...config.contracts };
  }
  const deployment = loadDeployment(config.deployment!);
  return {
    chainId: config.chainId ?? deployment.chainId,
    nodeRegistry: contractAddress(deployment, "NodeRegistry"),
    miningPool: contractAddress(deployment, "MiningPool"),
  };
}

/**
 * This node's place among its peers: throws `META_KEY_MISMATCH` when the key's address is not in `peers` (the
 * node would be an unknown peer to every other one).
 */
export function selfPeer(config: MetaConfig, address: Address): { index: number; peer: MetaConfig["peers"][number] } {
  const index = config.peers.findIndex((p) => p.address.toLowerCase() === address.toLowerCase());
  if (index < 0)
    throw new HmsError(
      "META_KEY_MISMATCH",
      `this node's key is ${address}, which the peer list does not name: fix privateKeyFile or peers`,
      { value: address, details: { peers: config.peers.map((p) => p.address) } },
    );
  return { index, peer: config.peers[index] };
}

/** The oracle key of compute supervision, if configured (`SECRET_FILE` for an unreadable file). */
export function resolveOracleKey(config: MetaConfig): Hex | undefined {
  const c = config.compute;
  if (c === undefined || (c.oracleKey === undefined && c.oracleKeyFile === undefined)) return undefined;
  return resolvePrivateKey(
    { privateKey: c.oracleKey, privateKeyFile: c.oracleKeyFile },
    "META_NO_KEY",
    "compute.oracleKey / compute.oracleKeyFile",
  ).privateKey;
}

/** The ResourceMarket address compute supervision uses: the config's, else the deployment file's. */
export function computeMarket(config: MetaConfig): Address | undefined {
  if (config.compute === undefined) return undefined;
  if (config.compute.resourceMarket !== undefined) return config.compute.resourceMarket;
  return contractAddress(loadDeployment(config.deployment!), "ResourceMarket");
}
