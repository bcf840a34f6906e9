/**
 * `hms storage`: one storage worker, a resource node of the NodeRegistry (PROTOCOL §8, issue 12). This file only
 * turns the configuration into a {@link StorageWorker}: the node key, the EIP-712 domains (from the config or
 * the deployment file), MiningPool's period clock (from the config or read once from the chain), and the lease
 * gate. The services live in their own files (pipeline, serve, replicate, gc, ipfs/).
 */
import { createPublicClient, http, type Address, type PublicClient } from "viem";
import type { Logger } from "pino";
import { contractAddress, loadDeployment } from "../chain/deployment";
import { HmsError } from "../core/errors";
import type { Metrics } from "../core/metrics";
import type { StorageNetwork } from "../protocol/network";
import type { UploadCommits } from "../protocol/storage-wire";
import type { PeriodClock, ReceiptSink } from "../protocol/transfer";
import { resolveNodeKey, type StorageConfig } from "./config";
import { ChainLeaseGate, OpenLeaseGate } from "./lease";
import type { SigningDomains } from "./signer";
import { StorageWorker } from "./worker";
import { MetaClient } from "../client/meta";

export interface StorageRuntime {
  logger: Logger;
  metrics: Metrics;
  /** The meta layer, when the worker has one (IPFS `add` with 3 copies; GC of abandoned uploads; receipts). */
  network?: StorageNetwork;
  commits?: UploadCommits;
  receiptSink?: ReceiptSink;
}

function domainsOf(config: StorageConfig): SigningDomains & { resourceMarket?: Address } {
  if (config.contracts !== undefined) {
    if (config.chainId === undefined && config.deployment === undefined)
      throw new HmsError("CONFIG_INVALID", "chainId is required with explicit contracts", { value: "chainId" });
    const chainId = config.chainId ?? loadDeployment(config.deployment!).chainId;
    return { chainId, ...config.contracts };
  }
  const deployment = loadDeployment(config.deployment!);
  let market: Address | undefined;
  try {
    market = contractAddress(deployment, "ResourceMarket");
  } catch {
    market = undefined;
  }
  return {
    chainId: config.chainId ?? deployment.chainId,
    nodeRegistry: contractAddress(deployment, "NodeRegistry"),
    miningPool: contractAddress(deployment, "MiningPool"),
    resourceMarket: market,
  };
}

async function clockOf(config: StorageConfig, client: PublicClient | undefined, pool: Address): Promise<PeriodClock> {
  if (config.period !== undefined)
    return { genesis: config.period.genesis, periodLength: BigInt(config.period.length) };
  const { miningPoolAbi } = await import("../chain/abis"); // only when the clock is read from the chain
  try {
    const [genesis, periodLength] = await Promise.all([
      client!.readContract({ address: pool, abi: miningPoolAbi, functionName: "genesis" }),
      client!.readContract({ address: pool, abi: miningPoolAbi, functionName: "periodLength" }),
    ]);
    return { genesis: BigInt(genesis), periodLength: BigInt(periodLength) };
  } catch (err) {
    throw new HmsError("TRANSPORT_UNREACHABLE", `cannot read MiningPool's clock from ${config.rpcUrl}`, {
      value: config.rpcUrl,
      cause: err,
    });
  }
}

/** Starts the worker described by `config`. Throws `HmsError`s (config, key, data directory, listen, RPC). */
export async function startStorageDaemon(config: StorageConfig, runtime: StorageRuntime): Promise<StorageWorker> {
  const { privateKey } = resolveNodeKey(config);
  const domains = domainsOf(config);
  const client = config.rpcUrl ? (createPublicClient({ transport: http(config.rpcUrl) }) as PublicClient) : undefined;
  const clock = await clockOf(config, client, domains.miningPool);
  let lease = undefined;
  if (config.lease.mode === "chain") {
    const market = config.contracts?.resourceMarket ?? domains.resourceMarket;
    if (market === undefined || client === undefined)
      throw new HmsError("CONFIG_INVALID", "lease mode chain needs rpcUrl and the ResourceMarket address", {
        value: "lease.mode",
      });
    lease = new ChainLeaseGate(client, market, { cacheMs: config.lease.cacheMs });
  }
  // With meta nodes configured, the meta client is the worker's network, GC oracle, receipt sink and heartbeat target.
  const meta =
    config.metaUrls.length > 0 && runtime.network === undefined
      ? new MetaClient({
          urls: config.metaUrls,
          domain: { chainId: domains.chainId, nodeRegistry: domains.nodeRegistry },
        })
      : undefined;
  const worker = await StorageWorker.start({
    nodeId: config.nodeId,
    privateKey,
    dataDir: config.dataDir,
    host: config.listen.host,
    port: config.listen.port,
    publicUrl: config.publicUrl,
    region: config.region,
    capacityBytes: config.capacityBytes,
    maxBlockBytes: config.maxBlockBytes,
    domains: { chainId: domains.chainId, nodeRegistry: domains.nodeRegistry, miningPool: domains.miningPool },
    clock,
    fsync: config.store.fsync,
    verifyOnRead: config.store.verifyOnRead,
    kuboUrl: config.store.backend === "kubo" ? config.store.kuboUrl : undefined,
    hopTimeoutMs: config.pipeline.hopTimeoutMs,
    fetchTimeoutMs: config.pipeline.fetchTimeoutMs,
    gc: config.gc,
    lease: lease ?? new OpenLeaseGate(),
    commits: runtime.commits ?? meta,
    receiptSink: runtime.receiptSink ?? meta,
    network: runtime.network ?? meta,
    heartbeat: meta ? { send: (beat) => meta.heartbeat(beat), intervalMs: config.heartbeatMs } : undefined,
    reportLost: meta ? (cid) => meta.reportBad({ cid, nodeId: config.nodeId, reason: "mismatch" }) : undefined,
    logger: runtime.logger,
    metrics: runtime.metrics,
  });
  if (lease === undefined) return worker;
  // The gate follows the market's lease events while the worker runs (a lease closed early stops admitting bytes).
  const unfollow = lease.follow({
    onError: (err) => runtime.logger.warn({ reason: err.message.split("\n")[0] }, "lease event watch failed; retrying"),
  });
  const stop = worker.stop.bind(worker);
  worker.stop = async () => {
    unfollow();
    await stop();
  };
  return worker;
}
