/**
 * Meta nodes as real child processes (`hms meta -c <file>` through bin/hms.js) for tests, the benchmark and the
 * demo: one data directory, key file and JSON configuration per node, fixed loopback ports (a restarted node
 * keeps its URLs), and — with `proxies` — every peer link i → j through its own TCP fault proxy, so that a test
 * can cut a node off from its peers (both directions) and heal it. `stopAll` leaves nothing running.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { request } from "undici";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { HmsProcess, freePorts } from "../devnet/cluster";

/** Key of demo meta node `i`: `keccak256("hms-demo/meta/<i>")`. */
export function demoMetaPrivateKey(i: number): Hex {
  return keccak256(toHex(`hms-demo/meta/${i}`));
}

/** A TCP proxy on 127.0.0.1 that can drop every connection (a partition) and accept again (heal). */
export class FaultProxy {
  private readonly sockets = new Set<net.Socket>();
  private cutOff = false;
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    readonly target: number,
  ) {}

  static async start(port: number, target: number): Promise<FaultProxy> {
    const server = net.createServer();
    const proxy = new FaultProxy(server, port, target);
    server.on("connection", (client) => proxy.onConnection(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  private onConnection(client: net.Socket): void {
    if (this.cutOff) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target, "127.0.0.1");
    this.sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  get isCut(): boolean {
    return this.cutOff;
  }

  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}

export interface MetaNodeSpec {
  index: number;
  privateKey: Hex;
  address: Address;
  apiPort: number;
  peerPort: number;
  apiUrl: string;
  dataDir: string;
  configFile: string;
  process?: HmsProcess;
}

export interface MetaProcessClusterOptions {
  dir: string;
  count: number;
  /** Route every peer link through a FaultProxy. */
  proxies?: boolean;
  chainId: number;
  nodeRegistry: Address;
  miningPool: Address;
  clock: { genesis: bigint; periodLength: bigint };
  /** Storage nodes the meta layer knows (registered signing keys). */
  nodes?: ReadonlyArray<{ nodeId: Hex; address: Address }>;
  /** Extra configuration of every node (or of node i). */
  extra?: Record<string, unknown> | ((i: number) => Record<string, unknown>);
  logLevel?: string;
  echo?: boolean;
  /**
   * API ports then peer ports of the nodes (at least 2 × count, e.g. from `freePorts`), then optionally the proxies'
   * (fresh ones for what is not given): the URLs are known before the cluster starts, so storage workers configured
   * with them can start alongside it. Default: free ports.
   */
  ports?: readonly number[];
}

export class MetaProcessCluster {
  /** proxies[i][j]: the link from node i to node j's peer port. */
  readonly proxies: (FaultProxy | undefined)[][] = [];

  private constructor(
    readonly options: MetaProcessClusterOptions,
    readonly specs: MetaNodeSpec[],
  ) {}

  static async start(options: MetaProcessClusterOptions): Promise<MetaProcessCluster> {
    fs.mkdirSync(options.dir, { recursive: true });
    const n = options.count;
    const needed = 2 * n + (options.proxies ? n * n : 0);
    const given = options.ports ?? [];
    if (given.length !== 0 && given.length < 2 * n)
      throw new Error(`the meta cluster needs at least ${2 * n} ports, got ${given.length}`);
    const ports = [...given, ...(await freePorts(Math.max(0, needed - given.length)))];
    const specs: MetaNodeSpec[] = Array.from({ length: n }, (_, i) => {
      const privateKey = demoMetaPrivateKey(i);
      return {
        index: i,
        privateKey,
        address: privateKeyToAddress(privateKey),
        apiPort: ports[i],
        peerPort: ports[n + i],
        apiUrl: `http://127.0.0.1:${ports[i]}`,
        dataDir: path.join(options.dir, `meta-${i}`),
        configFile: path.join(options.dir, `meta-${i}.json`),
      };
    });
    const cluster = new MetaProcessCluster(options, specs);
    try {
      for (let i = 0; i < n; i++) {
        cluster.proxies.push([]);
        for (let j = 0; j < n; j++)
          cluster.proxies[i].push(
            options.proxies && i !== j
              ? await FaultProxy.start(ports[2 * n + i * n + j], specs[j].peerPort)
              : undefined,
          );
      }
      for (const s of specs) cluster.writeConfig(s);
      await Promise.all(specs.map((s) => cluster.launch(s.index)));
    } catch (err) {
      await cluster.stopAll();
      throw err;
    }
    return cluster;
  }

  private writeConfig(s: MetaNodeSpec): void {
    const o = this.options;
    fs.writeFileSync(path.join(o.dir, `meta-${s.index}.key`), `${s.privateKey}\n`, { mode: 0o600 });
    const extra = typeof o.extra === "function" ? o.extra(s.index) : (o.extra ?? {});
    const config = {
      privateKeyFile: path.join(o.dir, `meta-${s.index}.key`),
      dataDir: s.dataDir,
      listen: { host: "127.0.0.1", port: s.apiPort },
      peerListen: { host: "127.0.0.1", port: s.peerPort },
      peers: this.specs.map((p) => ({
        address: p.address,
        peerUrl: `http://127.0.0.1:${this.proxies[s.index]?.[p.index]?.port ?? p.peerPort}`,
        apiUrl: p.apiUrl,
      })),
      chainId: o.chainId,
      contracts: { nodeRegistry: o.nodeRegistry, miningPool: o.miningPool },
      period: { genesis: o.clock.genesis.toString(), length: Number(o.clock.periodLength) },
      nodes: o.nodes ?? [],
      log: { level: o.logLevel ?? "info", pretty: false },
      ...extra,
    };
    fs.writeFileSync(s.configFile, JSON.stringify(config, null, 2));
  }

  /** Starts node i (on its data directory and ports) and waits for its /health. */
  async launch(i: number): Promise<void> {
    const s = this.specs[i];
    s.process = new HmsProcess(`meta-${i}`, ["meta", "-c", s.configFile], {}, this.options.echo ?? false);
    const deadline = Date.now() + 240_000; // ts-node start-up of the whole CLI is slow on a loaded machine
    for (;;) {
      if (!s.process.running) throw new Error(`meta-${i} exited before listening\n${s.process.tail()}`);
      try {
        const res = await request(`${s.apiUrl}/health`, { method: "GET", headersTimeout: 2_000, bodyTimeout: 2_000 });
        const body = (await res.body.json()) as { ok?: boolean };
        if (res.statusCode === 200 && body.ok === true) return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw new Error(`meta-${i} did not answer /health\n${s.process.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  urls(): string[] {
    return this.specs.map((s) => s.apiUrl);
  }

  /** Status of every running node (undefined for one that does not answer). */
  async statuses(): Promise<(Record<string, unknown> | undefined)[]> {
    return Promise.all(
      this.specs.map(async (s) => {
        if (!s.process?.running) return undefined;
        try {
          const res = await request(`${s.apiUrl}/v1/status`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
          return (await res.body.json()) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      }),
    );
  }

  /** Waits until exactly one running node (among `among`, default all) leads; returns its index and term. */
  async waitForLeader(timeoutMs = 30_000, among?: number[]): Promise<{ index: number; term: bigint }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.statuses();
      const leaders = st
        .map((x, i) => ({ x, i }))
        .filter(({ x, i }) => x?.role === "leader" && (among === undefined || among.includes(i)));
      if (leaders.length === 1) return { index: leaders[0].i, term: BigInt(leaders[0].x!.term as string) };
      if (Date.now() > deadline)
        throw new Error(`no single leader within ${timeoutMs} ms: ${JSON.stringify(st.map((x) => x?.role))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Waits until the current master (whichever node leads at each poll: leadership may move on a loaded machine)
   * sees at least `count` storage workers online by their heartbeats.
   */
  async waitForWorkersOnline(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.statuses();
      const leader = st.find((x) => x?.role === "leader");
      if (leader !== undefined && Number(leader.nodesOnline ?? 0) >= count) return;
      if (Date.now() > deadline)
        throw new Error(`workers not online at the master within ${timeoutMs} ms: ${JSON.stringify(leader ?? st)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Cuts node i off from every peer (both directions), or heals it. */
  partition(i: number, cut: boolean): void {
    for (let j = 0; j < this.specs.length; j++) {
      for (const p of [this.proxies[i]?.[j], this.proxies[j]?.[i]]) {
        if (p === undefined) continue;
        if (cut) p.cut();
        else p.heal();
      }
    }
  }

  async kill(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.specs[i].process;
    if (!p?.running) return;
    p.kill(signal);
    await p.exited;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.specs.filter((s) => s.process?.running).map((s) => s.process!.stop(10_000)));
    for (const row of this.proxies) for (const p of row) await p?.close();
  }
}
