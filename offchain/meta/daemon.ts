/**
 * `hms meta`: one meta node (PROTOCOL §8, issue 13). This file only wires the services together: the LevelDB store
 * (the index, the log, the receipts, the placements), the index (index/), the election and log replication over
 * HTTP to the peers (cluster.ts), the request handling (service.ts) and its HTTP API (server.ts), the node table
 * and the health loops (nodes.ts, health.ts) that run while this node is master.
 */
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { createPublicClient, createWalletClient, http, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Logger } from "pino";
import { HmsError } from "../core/errors";
import { moduleLogger } from "../core/logger";
import { domainOf } from "../core/signing";
import type { Metrics } from "../core/metrics";
import { Store } from "../core/store";
import { WORKLOADS_PATH } from "../protocol/compute";
import { MetaCluster } from "./cluster";
import { computeMarket, metaDomains, resolveMetaKey, resolveOracleKey, selfPeer, type MetaConfig } from "./config";
import { ComputeNodes, ComputeSupervisor } from "./compute";
import { ViemSupervisorChain } from "./compute-chain";
import { HealthService } from "./health";
import { MetaIndex } from "./index";
import { LogStore } from "./log-store";
import { NodeTable } from "./nodes";
import { DEFAULT_PLACEMENT_WEIGHTS } from "./placement";
import { createMetaServer } from "./server";
import { MetaService } from "./service";

export interface MetaRuntime {
  logger: Logger;
  metrics: Metrics;
}

export class MetaDaemon {
  private stopped = false;

  private constructor(
    readonly address: Address,
    readonly app: FastifyInstance,
    readonly apiUrl: string,
    readonly cluster: MetaCluster,
    readonly index: MetaIndex,
    readonly nodes: NodeTable,
    readonly health: HealthService,
    private readonly store: Store,
    private readonly log: Logger,
    readonly compute?: ComputeSupervisor,
  ) {}

  /** Starts the node: throws `META_NO_KEY`, `META_KEY_MISMATCH`, `STORE_OPEN`, `TRANSPORT_LISTEN`, config errors. */
  static async start(config: MetaConfig, runtime: MetaRuntime): Promise<MetaDaemon> {
    const { privateKey, address } = resolveMetaKey(config);
    const { peer } = selfPeer(config, address);
    const domains = metaDomains(config);
    const log = moduleLogger(runtime.logger, "meta", { address });
    try {
      await fs.promises.mkdir(config.dataDir, { recursive: true });
    } catch (err) {
      throw new HmsError("CONFIG_INVALID", `cannot create ${config.dataDir}: ${(err as Error).message}`, {
        value: config.dataDir,
        details: { key: "dataDir" },
      });
    }
    const store = await Store.open(path.join(config.dataDir, "meta"));
    let cluster: MetaCluster | undefined;
    let app: FastifyInstance | undefined;
    try {
      const index = await MetaIndex.open(store);
      const logStore = await LogStore.open(store);
      const nodes = new NodeTable(config.nodes, {
        domain: domainOf("network", domains.chainId, domains.nodeRegistry),
        downAfterMs: config.health.downAfterMs,
      });
      const box: { service?: MetaService; health?: HealthService; compute?: ComputeSupervisor } = {};
      cluster = await MetaCluster.start({
        privateKey,
        address,
        chainId: domains.chainId,
        peers: config.peers,
        host: config.peerListen.host,
        port: config.peerListen.port,
        heartbeatMs: config.election.heartbeatMs,
        timeoutMinMs: config.election.timeoutMinMs,
        timeoutMaxMs: config.election.timeoutMaxMs,
        backoffMaxMs: config.election.backoffMaxMs,
        rpcTimeoutMs: config.election.rpcTimeoutMs,
        commitTimeoutMs: config.election.commitTimeoutMs,
        log: logStore,
        apply: (entries) => box.service!.apply(entries),
        appliedIndex: () => index.position.index,
        logger: log,
        metrics: runtime.metrics,
        onRole: (role) => {
          box.service?.resetLeaderState();
          if (role === "leading") {
            box.health?.start();
            box.compute?.start();
          } else {
            box.health?.stop();
            box.compute?.stop();
          }
        },
      });
      const c = cluster;
      const service = new MetaService({
        store,
        index,
        cluster: c,
        nodes,
        privateKey,
        address,
        domains,
        clock: { genesis: config.period.genesis, periodLength: BigInt(config.period.length) },
        tolerancePeriods: config.receipts.tolerancePeriods,
        copies: config.health.copies,
        weights: DEFAULT_PLACEMENT_WEIGHTS,
        logger: log,
        dropReceiptsInFeed: config.faults.dropReceiptsInFeed,
        // A client's bad-copy report: the master audits that copy now (health.ts checkReported).
        onBadCopy: (cid, nodeId) => void box.health?.checkReported(cid, nodeId).catch(() => undefined),
      });
      box.service = service;
      const health = new HealthService(
        {
          index,
          nodes,
          propose: (cmd) => c.propose(cmd as never),
          leading: () => c.leading,
          term: () => c.term,
          candidates: () => service.candidates(),
          weights: DEFAULT_PLACEMENT_WEIGHTS,
          logger: log,
          metrics: runtime.metrics,
        },
        config.health,
      );
      box.health = health;
      if (c.leading) health.start();
      const compute = config.compute === undefined ? undefined : startCompute(config, domains, c, log, runtime);
      box.compute = compute?.supervisor;
      if (c.leading) compute?.supervisor.start();
      let apiUrl = peer.apiUrl;
      app = createMetaServer({
        service,
        cluster: c,
        index,
        nodes,
        address,
        apiUrl: () => apiUrl,
        domains,
        clock: { genesis: config.period.genesis, periodLength: BigInt(config.period.length) },
        logger: log,
        metrics: runtime.metrics,
        compute: compute?.api,
      });
      try {
        await app.listen({ host: config.listen.host, port: config.listen.port });
      } catch (err) {
        throw new HmsError(
          "TRANSPORT_LISTEN",
          `cannot listen on ${config.listen.host}:${config.listen.port}: ${(err as Error).message}`,
          {
            value: `${config.listen.host}:${config.listen.port}`,
            cause: err,
          },
        );
      }
      const addr = app.server.address();
      if (config.listen.port === 0 && typeof addr === "object" && addr !== null)
        apiUrl = `http://${config.listen.host}:${addr.port}`;
      log.info(
        {
          apiUrl,
          peerUrl: c.peerUrl,
          peers: config.peers.length,
          term: c.term.toString(),
          applied: index.position.index.toString(),
        },
        "meta node listening",
      );
      return new MetaDaemon(address, app, apiUrl, c, index, nodes, health, store, log, compute?.supervisor);
    } catch (err) {
      await app?.close().catch(() => undefined);
      await cluster?.stop(0).catch(() => undefined);
      await store.close().catch(() => undefined);
      throw err;
    }
  }

  /** Graceful stop: hands leadership over, lets requests in flight finish, closes the store. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.health.stop();
    this.compute?.stop();
    await this.cluster.stop();
    await this.app.close();
    await this.health.close();
    await this.compute?.close();
    await this.store.close();
    this.log.info("meta node stopped");
  }
}

/**
 * Compute supervision (meta/compute.ts): the compute node table fed by heartbeats (keys from the NodeRegistry at
 * `compute.rpcUrl`) and the master's supervisor, with the oracle wallet when `compute.oracleKey` is set.
 */
function startCompute(
  config: MetaConfig,
  domains: { chainId: number; nodeRegistry: Address },
  cluster: MetaCluster,
  log: Logger,
  runtime: MetaRuntime,
) {
  const cc = config.compute!;
  const chain = {
    id: domains.chainId,
    name: `chain-${domains.chainId}`,
    nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [cc.rpcUrl] } },
  };
  const publicClient = createPublicClient({ chain, transport: http(cc.rpcUrl) }) as PublicClient;
  const oracleKey = resolveOracleKey(config);
  const oracle = oracleKey
    ? createWalletClient({ account: privateKeyToAccount(oracleKey), chain, transport: http(cc.rpcUrl) })
    : undefined;
  const viemChain = new ViemSupervisorChain({
    public: publicClient,
    oracle,
    market: computeMarket(config)!,
    nodeRegistry: domains.nodeRegistry,
  });
  const nodes = new ComputeNodes({
    domain: domainOf("network", domains.chainId, domains.nodeRegistry),
    maxSkewMs: Math.max(cc.downAfterMs, 5_000),
  });
  const supervisor = new ComputeSupervisor(
    {
      nodes,
      chain: oracle === undefined ? undefined : viemChain,
      forward: async (url, body) => {
        const res = await fetch(`${url}${WORKLOADS_PATH}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(cc.forwardTimeoutMs),
        });
        if (!res.ok) {
          const text = await res.text().catch(() => "");
          throw new HmsError("TRANSPORT_UNREACHABLE", `forward to ${url}: ${res.status} ${text.slice(0, 300)}`, {
            value: url,
            details: { status: res.status },
          });
        }
      },
      leading: () => cluster.leading,
      logger: moduleLogger(log, "compute"),
      metrics: runtime.metrics,
    },
    {
      intervalMs: cc.intervalMs,
      downAfterMs: cc.downAfterMs,
      noNodeGraceMs: cc.noNodeGraceMs,
      policy: {
        maxMigrations: cc.maxMigrations,
        windowMs: cc.windowMs,
        backoffMs: cc.backoffMs,
        maxBackoffMs: cc.maxBackoffMs,
      },
      randomFactor: cc.randomFactor,
    },
  );
  if (oracle === undefined) log.warn("compute supervision without an oracle key: dead nodes' workloads are not moved");
  const api = {
    heartbeat: async (raw: unknown) => {
      const nodeId = (raw as { nodeId?: unknown } | null)?.nodeId;
      const key =
        typeof nodeId === "string" && /^0x[0-9a-fA-F]{64}$/.test(nodeId)
          ? await viemChain.signingKey(nodeId as `0x${string}`).catch((err: unknown) => {
              throw new HmsError("TRANSPORT_UNREACHABLE", `cannot read the signing key of ${nodeId}`, {
                value: nodeId,
                cause: err,
              });
            })
          : undefined;
      nodes.beat(raw, () => key, Date.now());
    },
    nodes: () => nodes.view(Date.now(), cc.downAfterMs),
  };
  return { supervisor, api };
}
