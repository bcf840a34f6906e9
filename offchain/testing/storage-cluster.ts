/**
 * Storage workers as real child processes (`hms storage -c <file>` through bin/hms.js, the real CLI) for tests
 * and the benchmark: one data directory, key file and JSON configuration per worker, fixed loopback ports (so a
 * restarted worker keeps its URL), the demo nodes' well-known ids and keys (offchain/devnet/accounts.ts), and
 * the EIP-712 domains and period clock the clients need. `stopAll` leaves nothing running.
 */
import fs from "node:fs";
import path from "node:path";
import { request } from "undici";
import type { Address, Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { demoNodeId, demoNodePrivateKey } from "../devnet/accounts";
import { HmsProcess, freePorts } from "../devnet/cluster";
import type { NodeEndpoint } from "../protocol/network";
import type { NetworkParams } from "../client/storage/upload";

/** Stand-in contract addresses of the signing domains (no chain is needed unless the lease gate reads one). */
export const TEST_DOMAINS = {
  chainId: 31337,
  nodeRegistry: "0x00000000000000000000000000000000000000a1" as Address,
  miningPool: "0x00000000000000000000000000000000000000a2" as Address,
} as const;

export interface ClusterWorker {
  index: number;
  nodeId: Hex;
  privateKey: Hex;
  address: Address;
  region: string;
  port: number;
  url: string;
  dataDir: string;
  configFile: string;
  process: HmsProcess;
}

export interface StorageClusterOptions {
  dir: string;
  count: number;
  /** Region of worker i (default `region-<i>`). */
  region?: (i: number) => string;
  capacityBytes?: number;
  /** Extra configuration of every worker (or of worker i). */
  extra?: Record<string, unknown> | ((i: number) => Record<string, unknown>);
  logLevel?: string;
  echo?: boolean;
  /** EIP-712 domains of the workers (default {@link TEST_DOMAINS}; a real chain's for a process test on one). */
  domains?: { chainId: number; nodeRegistry: Address; miningPool: Address };
  /** Ports of the workers (default: fresh ones). */
  ports?: readonly number[];
  /** Period clock (default: genesis an hour ago, 600 s periods). */
  clock?: { genesis: bigint; periodLength: bigint };
  /** Node ids start at this demo node index (default 0). */
  firstNode?: number;
  /** Extra environment of the worker processes. */
  env?: Record<string, string>;
  /** Node options of the worker processes (e.g. `--cpu-prof --cpu-prof-dir=…`). */
  execArgv?: string[];
}

export class StorageCluster {
  private constructor(
    readonly options: StorageClusterOptions,
    readonly workers: ClusterWorker[],
    readonly params: NetworkParams,
  ) {}

  static async start(options: StorageClusterOptions): Promise<StorageCluster> {
    fs.mkdirSync(options.dir, { recursive: true });
    const ports = options.ports ?? (await freePorts(options.count));
    const clock = options.clock ?? { genesis: BigInt(Math.floor(Date.now() / 1000) - 3600), periodLength: 600n };
    const first = options.firstNode ?? 0;
    const domains = options.domains ?? TEST_DOMAINS;
    const workers: ClusterWorker[] = [];
    for (let i = 0; i < options.count; i++) {
      const privateKey = demoNodePrivateKey(first + i);
      const keyFile = path.join(options.dir, `storage-${i}.key`);
      fs.writeFileSync(keyFile, `${privateKey}\n`, { mode: 0o600 });
      const region = options.region?.(i) ?? `region-${i}`;
      const dataDir = path.join(options.dir, `storage-${i}`);
      const extra = typeof options.extra === "function" ? options.extra(i) : (options.extra ?? {});
      const config = {
        nodeId: demoNodeId(first + i),
        privateKeyFile: keyFile,
        dataDir,
        listen: { host: "127.0.0.1", port: ports[i] },
        region,
        capacityBytes: options.capacityBytes ?? 8 * 1024 ** 3,
        chainId: domains.chainId,
        contracts: { nodeRegistry: domains.nodeRegistry, miningPool: domains.miningPool },
        period: { genesis: clock.genesis.toString(), length: Number(clock.periodLength) },
        log: { level: options.logLevel ?? "info", pretty: false },
        ...extra,
      };
      const configFile = path.join(options.dir, `storage-${i}.json`);
      fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
      workers.push({
        index: i,
        nodeId: config.nodeId,
        privateKey,
        address: privateKeyToAddress(privateKey),
        region,
        port: ports[i],
        url: `http://127.0.0.1:${ports[i]}`,
        dataDir,
        configFile,
        process: undefined as unknown as HmsProcess,
      });
    }
    const cluster = new StorageCluster(options, workers, {
      chainId: domains.chainId,
      nodeRegistry: domains.nodeRegistry,
      miningPool: domains.miningPool,
      clock,
    });
    try {
      await Promise.all(workers.map((w) => cluster.launch(w)));
    } catch (err) {
      await cluster.stopAll();
      throw err;
    }
    return cluster;
  }

  private async launch(w: ClusterWorker): Promise<void> {
    w.process = new HmsProcess(
      `storage-${w.index}`,
      ["storage", "-c", w.configFile],
      this.options.env ?? {},
      this.options.echo ?? false,
      this.options.execArgv ?? [],
    );
    // Poll /health rather than wait for the "listening" log line: a quiet log level hides it.
    const deadline = Date.now() + 180_000; // ts-node start-up on a loaded 2-core machine
    for (;;) {
      if (!w.process.running) throw new Error(`storage-${w.index} exited before listening\n${w.process.tail()}`);
      try {
        const res = await request(`${w.url}/health`, { method: "GET", headersTimeout: 2_000, bodyTimeout: 2_000 });
        const body = (await res.body.json()) as { ok?: boolean };
        if (res.statusCode === 200 && body.ok === true) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`storage-${w.index} did not answer /health\n${w.process.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  endpoints(): NodeEndpoint[] {
    return this.workers.map((w) => ({ nodeId: w.nodeId, url: w.url, region: w.region }));
  }

  /** Registered signing key of each node id. */
  keys(): Map<Hex, Address> {
    return new Map(this.workers.map((w) => [w.nodeId.toLowerCase() as Hex, w.address]));
  }

  /** SIGKILL (a crash) or SIGTERM (graceful); resolves once it exited. */
  async kill(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.workers[i].process;
    p.kill(signal);
    await p.exited;
  }

  /** Starts worker i again on its data directory and port. */
  async restart(i: number): Promise<void> {
    if (this.workers[i].process.running) await this.kill(i, "SIGTERM");
    await this.launch(this.workers[i]);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.workers.filter((w) => w.process?.running).map((w) => w.process.stop(10_000)));
  }
}
