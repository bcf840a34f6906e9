/**
 * Assembles a running PBFT replica from a {@link PbftReplicaConfig}: LevelDB store, signed HTTP
 * transport, EIP-712 crypto (one shared KeyRing for envelopes and protocol messages), logger,
 * metrics, and the {@link PbftNode} event loop. The validator daemon wraps this with its report logic.
 */
import type { Logger } from "pino";
import type { PbftReplicaConfig } from "../../core/config";
import { moduleLogger } from "../../core/logger";
import { processMetrics, type Metrics } from "../../core/metrics";
import { Store } from "../../core/store";
import { HttpTransport } from "../../core/transport";
import { KeyRing } from "../../core/signing";
import { privateKeyToAddress } from "viem/accounts";
import { createEip712Crypto } from "./crypto";
import { PbftNode, checkPeers, type ExecutedRequest } from "./node";
import type { Evidence, ReplicaAction, RequestValidator } from "./types";

export interface StartReplicaOptions {
  validate: RequestValidator;
  logger?: Logger;
  metrics?: Metrics;
  /** Default true: persist to `config.dataDir`. */
  persist?: boolean;
  onExecute?: (e: ExecutedRequest) => void;
  onEvidence?: (e: Evidence) => void;
  onAction?: (a: ReplicaAction) => void;
}

export interface RunningReplica {
  node: PbftNode;
  transport: HttpTransport;
  store?: Store;
  /** Base URL the transport listens on. */
  url: string;
  /** Stops the replica, the server and the store, in that order. */
  close(): Promise<void>;
}

export async function startPbftReplica(
  config: PbftReplicaConfig,
  options: StartReplicaOptions,
): Promise<RunningReplica> {
  const log = options.logger ? moduleLogger(options.logger, "pbft") : undefined;
  const metrics = options.metrics ?? processMetrics();
  const self = privateKeyToAddress(config.privateKey);
  const order = config.replicas.map((r) => r.address);
  const peers = new Map(config.replicas.map((r) => [r.address.toLowerCase(), r.url.replace(/\/+$/, "")]));
  checkPeers(order, peers);
  const keyRing = new KeyRing();
  const store = options.persist === false ? undefined : await Store.open(config.dataDir);
  const transport = new HttpTransport({
    privateKey: config.privateKey,
    chainId: config.chainId,
    peers: order.filter((a) => a.toLowerCase() !== self.toLowerCase()),
    host: config.listen.host,
    port: config.listen.port,
    maxBodyBytes: config.transport.maxBodyBytes,
    requestTimeoutMs: config.transport.requestTimeoutMs,
    logger: log ? moduleLogger(log, "transport") : undefined,
    metrics,
    keyRing,
  });
  let node: PbftNode;
  try {
    node = await PbftNode.open({
      replica: {
        configId: config.configId,
        order,
        self,
        crypto: createEip712Crypto({
          privateKey: config.privateKey,
          chainId: config.chainId,
          stakingContract: config.stakingContract,
          keyRing,
        }),
        validate: options.validate,
        params: config.pbft,
      },
      transport,
      peers,
      store,
      logger: log,
      metrics,
      onExecute: options.onExecute,
      onEvidence: options.onEvidence,
      onAction: options.onAction,
    });
  } catch (err) {
    await store?.close();
    throw err;
  }
  const url = await transport.listen();
  node.start();
  log?.info({ url, self, view: node.replica.view, lastExecuted: node.replica.lastExecuted }, "replica started");
  return {
    node,
    transport,
    store,
    url,
    async close() {
      await node.close();
      await transport.close();
      await store?.close();
    },
  };
}
