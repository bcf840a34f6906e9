/**
 * `hms compute`: one compute worker (docs/COMPUTE.md). This file only turns the configuration into a
 * {@link ComputeWorker}: keys, the deployment's addresses, the viem clients and the runtime.
 */
import path from "node:path";
import { createPublicClient, createWalletClient, http, type Address, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Logger } from "pino";
import { contractAddress, loadDeployment } from "../chain/deployment";
import { MetaClient } from "../client/meta";
import { HmsError } from "../core/errors";
import type { Metrics } from "../core/metrics";
import { resolveComputeKey, resolveOperatorKey, type ComputeConfig } from "./config";
import { EmbeddedRuntime } from "./runtime/embedded";
import { OciRuntime } from "./runtime/oci";
import type { WorkloadRuntime } from "./runtime/types";
import { ComputeWorker } from "./worker";

export interface ComputeDaemonRuntime {
  logger: Logger;
  metrics: Metrics;
}

function addressesOf(config: ComputeConfig): { chainId?: number; nodeRegistry: Address; market: Address } {
  if (config.contracts !== undefined)
    return {
      chainId: config.chainId,
      nodeRegistry: config.contracts.nodeRegistry,
      market: config.contracts.resourceMarket,
    };
  const d = loadDeployment(config.deployment!);
  return {
    chainId: config.chainId ?? d.chainId,
    nodeRegistry: contractAddress(d, "NodeRegistry"),
    market: contractAddress(d, "ResourceMarket"),
  };
}

/** The runtime `config` names (the embedded one needs nothing; oci needs a Docker Engine API socket). */
export function runtimeOf(config: Pick<ComputeConfig, "runtime" | "dataDir" | "nodeId">): WorkloadRuntime {
  if (config.runtime.kind === "oci")
    return new OciRuntime({ socketPath: config.runtime.socketPath, nodeId: config.nodeId });
  return new EmbeddedRuntime({ root: path.join(config.dataDir, "workloads") });
}

export async function startComputeDaemon(config: ComputeConfig, rt: ComputeDaemonRuntime): Promise<ComputeWorker> {
  const { privateKey } = resolveComputeKey(config);
  const operatorKey = resolveOperatorKey(config);
  const addrs = addressesOf(config);
  const publicClient = createPublicClient({ transport: http(config.rpcUrl) }) as PublicClient;
  let chainId = addrs.chainId;
  if (chainId === undefined) {
    try {
      chainId = await publicClient.getChainId();
    } catch (err) {
      throw new HmsError("TRANSPORT_UNREACHABLE", `cannot reach ${config.rpcUrl}`, {
        value: config.rpcUrl,
        cause: err,
      });
    }
  }
  const chain = {
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  };
  const operator: WalletClient | undefined = operatorKey
    ? createWalletClient({ account: privateKeyToAccount(operatorKey), chain, transport: http(config.rpcUrl) })
    : undefined;
  const meta =
    config.metaUrls.length > 0
      ? new MetaClient({ urls: config.metaUrls, timeoutMs: Math.max(1_000, config.heartbeatMs) })
      : undefined;
  return ComputeWorker.start({
    nodeId: config.nodeId,
    privateKey,
    dataDir: config.dataDir,
    host: config.listen.host,
    port: config.listen.port,
    publicUrl: config.publicUrl,
    chainId,
    nodeRegistry: addrs.nodeRegistry,
    market: addrs.market,
    publicClient,
    operator,
    offer: config.offer,
    runtime: runtimeOf(config),
    fromBlock: config.fromBlock,
    pollMs: config.pollMs,
    sampleMs: config.sampleMs,
    periodMs: config.periodMs,
    stopGraceMs: config.stopGraceMs,
    logger: rt.logger,
    metrics: rt.metrics,
    heartbeat:
      meta === undefined
        ? undefined
        : { send: (beat) => meta.computeHeartbeat(beat), intervalMs: config.heartbeatMs, region: config.region },
  });
}
