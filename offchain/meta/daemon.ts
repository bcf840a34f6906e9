/**
 * `hms meta`: one meta node (PROTOCOL §8, issue 13). This file only wires the services together: the LevelDB store
 * (the index, the log, the receipts, the placements), the index (index/), the election and log replication over
 * HTTP to the peers (cluster.ts), the request handling (service.ts) and its HTTP API (server.ts), the node table
 * and the health loops (nodes.ts, health.ts) that run while this node is master.
 */
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import type { Address } from "viem";
import type { Logger } from "pino";
import { HmsError } from "../core/errors";
import { moduleLogger } from "../core/logger";
import { domainOf } from "../core/signing";
import type { Metrics } from "../core/metrics";
import { Store } from "../core/store";
import { MetaCluster } from "./cluster";
import { metaDomains, resolveMetaKey, selfPeer, type MetaConfig } from "./config";
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
      const box: { service?: MetaService; health?: HealthService } = {};
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
          if (role === "leading") box.health?.start();
          else box.health?.stop();
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
      return new MetaDaemon(address, app, apiUrl, c, index, nodes, health, store, log);
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
    await this.cluster.stop();
    await this.app.close();
    await this.health.close();
    await this.store.close();
    this.log.info("meta node stopped");
  }
}
