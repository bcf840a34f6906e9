/**
 * The storage layer on a real chain, as processes: `hms meta` nodes ({@link MetaProcessCluster}) and `hms storage`
 * workers ({@link StorageCluster}, demo nodes 0…n−1 with their registered signing keys) that know each other
 * (the workers' `metaUrls`: heartbeats, placement, their side of every receipt), in the chain's EIP-712 domains.
 * The validator process test and the demo's storage chapter start it; a client is a {@link MetaClient} (network,
 * receipt sink), and the validators read the receipts with a {@link MajorityTrafficFeed} over {@link urls}.
 *
 * The period clock: receipts are stamped with `periodAt(clock, wall time)`, while a test chain's time runs ahead
 * of the wall clock (Hardhat keeps a fixed offset after `evm_setNextBlockTimestamp`). {@link chainAlignedClock}
 * shifts MiningPool's genesis by that offset, so a transfer made now is receipted in the chain's current period.
 */
import fs from "node:fs";
import path from "node:path";
import { request } from "undici";
import type { Address, Hex } from "viem";
import { MetaClient } from "../client/meta";
import { demoNodeId, demoNodeKey } from "../devnet/accounts";
import { MajorityTrafficFeed } from "../client/meta-feed";
import type { NetworkParams } from "../client/storage/upload";
import { matchReceipts } from "../protocol/ledger";
import type { PeriodReceipts } from "../protocol/receipts";
import { freePorts } from "../devnet/cluster";
import { MetaProcessCluster } from "./meta-cluster";
import { StorageCluster } from "./storage-cluster";

export interface ChainDomains {
  chainId: number;
  nodeRegistry: Address;
  miningPool: Address;
}

/**
 * MiningPool's clock shifted by (chain time − wall time): `periodAt(result, wall now)` is the chain's current
 * period. `chainTime` is the latest block's timestamp, read just before.
 */
export function chainAlignedClock(
  pool: { genesis: bigint; periodLength: bigint },
  chainTime: bigint,
  wallMs = Date.now(),
): { genesis: bigint; periodLength: bigint } {
  const offset = chainTime - BigInt(Math.floor(wallMs / 1000));
  return { genesis: pool.genesis - offset, periodLength: pool.periodLength };
}

export interface StorageLayerOptions extends ChainDomains {
  dir: string;
  clock: { genesis: bigint; periodLength: bigint };
  /** Meta nodes (default 3) and storage workers (default 3, demo nodes 0…). */
  metas?: number;
  workers?: number;
  logLevel?: string;
  echo?: boolean;
  /** Called with the meta nodes' API URLs as they start (e.g. to start validators meanwhile). */
  onMeta?: (urls: string[]) => void | Promise<void>;
  /** Extra configuration of every meta node (or of node i). */
  metaExtra?: Record<string, unknown> | ((i: number) => Record<string, unknown>);
}

export class StorageLayer {
  private constructor(
    readonly meta: MetaProcessCluster,
    readonly storage: StorageCluster,
    readonly params: NetworkParams,
  ) {}

  /** Starts the meta nodes and the workers at once, and waits until the master sees every worker online. */
  static async start(o: StorageLayerOptions): Promise<StorageLayer> {
    fs.mkdirSync(o.dir, { recursive: true });
    const workers = o.workers ?? 3;
    const nodes = Array.from({ length: workers }, (_, i) => ({
      nodeId: demoNodeId(i),
      address: demoNodeKey(i).address,
    }));
    const domains = { chainId: o.chainId, nodeRegistry: o.nodeRegistry, miningPool: o.miningPool };
    const metas = o.metas ?? 3;
    // Ports first: the workers (and whatever `onMeta` starts) get the meta URLs while the meta nodes start.
    const all = await freePorts(2 * metas + workers);
    const ports = all.slice(0, 2 * metas);
    const urls = ports.slice(0, metas).map((p) => `http://127.0.0.1:${p}`);
    const started = await Promise.allSettled([
      MetaProcessCluster.start({
        dir: path.join(o.dir, "meta"),
        count: metas,
        ports,
        ...domains,
        clock: o.clock,
        nodes,
        logLevel: o.logLevel ?? "warn",
        echo: o.echo,
        // Two shared cores: the default 400–800 ms election timeouts live-lock under load (test/meta/cluster.test.ts).
        extra: (i) => ({
          election: { heartbeatMs: 200, timeoutMinMs: 1_500, timeoutMaxMs: 3_000, rpcTimeoutMs: 3_000 },
          ...(typeof o.metaExtra === "function" ? o.metaExtra(i) : (o.metaExtra ?? {})),
        }),
      }),
      StorageCluster.start({
        dir: path.join(o.dir, "storage"),
        count: workers,
        ports: all.slice(2 * metas),
        domains,
        clock: o.clock,
        extra: { metaUrls: urls },
        logLevel: o.logLevel ?? "warn",
        echo: o.echo,
      }),
      Promise.resolve(o.onMeta?.(urls)),
    ]);
    const [m, st, cb] = started;
    if (m.status === "rejected" || st.status === "rejected" || cb.status === "rejected") {
      if (m.status === "fulfilled") await m.value.stopAll();
      if (st.status === "fulfilled") await st.value.stopAll();
      throw [m, st, cb].find((x): x is PromiseRejectedResult => x.status === "rejected")!.reason;
    }
    const meta = m.value;
    const storage = st.value;
    const layer = new StorageLayer(meta, storage, storage.params);
    try {
      await layer.waitOnline(workers);
    } catch (err) {
      await layer.stop();
      throw err;
    }
    return layer;
  }

  /** API URLs of the meta nodes (what `trafficSource.metaUrls` lists). */
  urls(): string[] {
    return this.meta.urls();
  }

  /** A client of the meta layer: the network `upload`/`download` use, and the sink of the client's receipts. */
  client(): MetaClient {
    return new MetaClient({
      urls: this.urls(),
      retryMs: 30_000,
      domain: { chainId: this.params.chainId, nodeRegistry: this.params.nodeRegistry },
      metas: this.meta.specs.map((s) => s.address),
    });
  }

  /** The validators' read of the receipts: a majority of the meta nodes, their union. */
  feed(): MajorityTrafficFeed {
    return new MajorityTrafficFeed(this.urls(), { chainId: this.params.chainId, pool: this.params.miningPool });
  }

  /** Waits until the master counts `count` workers online (their heartbeats arrived). */
  async waitOnline(count: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const url of this.urls()) {
        try {
          const res = await request(`${url}/v1/status`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
          const st = (await res.body.json()) as { role?: string; nodesOnline?: number };
          if (st.role === "leader" && (st.nodesOnline ?? 0) >= count) return;
        } catch {
          // not up yet
        }
      }
      if (Date.now() > deadline) throw new Error(`the meta master does not see ${count} storage workers online`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    await this.storage.stopAll();
    await this.meta.stopAll();
  }
}

/** Matched bytes per node (lower-case id) and in total of the given receipts (each period matched on its own). */
export function matchedTraffic(periods: readonly PeriodReceipts[]): {
  byNode: Map<Hex, bigint>;
  total: bigint;
  tasks: number;
  flagged: number;
} {
  const byNode = new Map<Hex, bigint>();
  let total = 0n;
  let tasks = 0;
  let flagged = 0;
  for (const p of periods) {
    const r = matchReceipts(
      p.period,
      p.client.map((x) => x.receipt),
      p.node.map((x) => x.receipt),
    );
    flagged += r.flagged.length;
    for (const m of r.matched) {
      const id = m.nodeId.toLowerCase() as Hex;
      byNode.set(id, (byNode.get(id) ?? 0n) + m.bytes);
      total += m.bytes;
      tasks++;
    }
  }
  return { byNode, total, tasks, flagged };
}
