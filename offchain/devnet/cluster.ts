/**
 * A local validator cluster for the demo and the integration tests: the in-process Hardhat chain served over
 * JSON-RPC on 127.0.0.1, `hms validator` / `hms traffic-source` child processes (bin/hms.js, the real CLI)
 * with their JSON log lines parsed, and their configuration files. Everything binds to 127.0.0.1, and
 * `stopAll` / the processes' own exit handling leave nothing running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Address, Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";

export const ROOT = path.join(__dirname, "..", "..");
export const HMS_BIN = path.join(ROOT, "bin", "hms.js");

/**
 * `count` distinct free TCP ports on 127.0.0.1, held open together while they are picked (so none is handed
 * out twice) and drawn below Linux's ephemeral range (32768+), so that an outgoing connection cannot take a
 * daemon's port while the daemon restarts.
 */
export async function freePorts(count: number): Promise<number[]> {
  const held: net.Server[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt > 200 * count) throw new Error(`no ${count} free ports found`);
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      if (ports.includes(port)) continue;
      const server = net.createServer();
      const ok = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => resolve(true));
      });
      if (ok) {
        held.push(server);
        ports.push(port);
      }
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
  return ports;
}

/** One free TCP port on 127.0.0.1 (see {@link freePorts}). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}

/** Serves the in-process Hardhat network over JSON-RPC (Hardhat's `node` server subtask) on 127.0.0.1. */
export async function serveChain(hre: HardhatRuntimeEnvironment): Promise<{ url: string; close(): Promise<void> }> {
  const server = (await hre.run(TASK_NODE_CREATE_SERVER, {
    hostname: "127.0.0.1",
    port: 0,
    provider: hre.network.provider,
  })) as { listen(): Promise<{ address: string; port: number }>; close(): Promise<void> };
  const { port } = await server.listen();
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** One parsed JSON log line of a daemon. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** An `hms …` child process. */
export class HmsProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  /** Raw standard output. */
  stdout = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly name: string,
    args: string[],
    env: Record<string, string> = {},
    private readonly echo = false,
    /** Node options before the script (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow). */
    execArgv: string[] = [],
  ) {
    this.child = spawn(process.execPath, [...execArgv, HMS_BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: "production", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let buffer = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      buffer += d.toString("utf8");
      this.stdout += d.toString("utf8");
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.onLine(line);
      }
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.stderr.push(d.toString("utf8"));
      if (this.echo) process.stderr.write(`[${this.name}] ${d}`);
      this.notify();
    });
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => {
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      }),
    );
  }

  private onLine(line: string): void {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    this.lines.push(parsed !== null && typeof parsed === "object" ? (parsed as LogLine) : { raw: line });
    if (this.echo) process.stdout.write(`[${this.name}] ${line}\n`);
    this.notify();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Resolves with the first log line (already seen or future) matching `predicate`. */
  waitForLog(predicate: (l: LogLine) => boolean, timeoutMs = 30_000, what = "log line"): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(predicate);
        if (found) {
          done();
          resolve(found);
        } else if (this.exit !== undefined) {
          done();
          reject(new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before ${what}\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: timed out waiting for ${what}\n${this.tail()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** The last lines of output, for error messages. */
  tail(n = 15): string {
    const out = this.lines.slice(-n).map((l) => JSON.stringify(l));
    return [...out, ...this.stderr.slice(-5)].join("\n");
  }

  /** Sends a signal (SIGKILL: crash; SIGTERM: graceful). */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.running) this.child.kill(signal);
  }

  /** Graceful stop: SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit. */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exit!;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

export interface ValidatorSpec {
  index: number;
  privateKey: Hex;
  address: Address;
  port: number;
  url: string;
  dataDir: string;
  configFile: string;
}

export interface ClusterConfig {
  dir: string;
  rpcUrl: string;
  deploymentFile: string;
  /** One traffic feed (`trafficSource: { url }`, e.g. `hms traffic-source`)… */
  trafficUrl?: string;
  /** …or the meta layer's API URLs (`trafficSource: { metaUrls }`: majority read, omission check). */
  metaUrls?: readonly string[];
  keys: readonly Hex[];
  topN?: number;
  logLevel?: string;
  /** Overrides of every validator's configuration (pbft, transmit, poll…). */
  extra?: Record<string, unknown>;
  /** Ports of the validators (default: fresh ones from {@link freePorts}). */
  ports?: number[];
}

/** Picks ports and writes one JSON configuration per validator key. */
export async function writeValidatorConfigs(c: ClusterConfig): Promise<ValidatorSpec[]> {
  const ports = c.ports ?? (await freePorts(c.keys.length));
  const specs = c.keys.map((privateKey, index) => {
    const address = privateKeyToAddress(privateKey);
    const url = `http://127.0.0.1:${ports[index]}`;
    return {
      index,
      privateKey,
      address,
      port: ports[index],
      url,
      dataDir: path.join(c.dir, `validator-${index}`),
      configFile: path.join(c.dir, `validator-${index}.json`),
    };
  });
  const peers = Object.fromEntries(specs.map((s) => [s.address, s.url]));
  for (const s of specs) {
    fs.writeFileSync(path.join(c.dir, `validator-${s.index}.key`), `${s.privateKey}\n`, { mode: 0o600 });
    const config = {
      privateKeyFile: path.join(c.dir, `validator-${s.index}.key`),
      rpcUrl: c.rpcUrl,
      deployment: c.deploymentFile,
      listen: { host: "127.0.0.1", port: s.port },
      dataDir: s.dataDir,
      peers,
      trafficSource: c.metaUrls !== undefined ? { metaUrls: [...c.metaUrls] } : { url: c.trafficUrl },
      topN: c.topN ?? 100,
      log: { level: c.logLevel ?? "info", pretty: false },
      ...(c.extra ?? {}),
    };
    fs.writeFileSync(s.configFile, JSON.stringify(config, null, 2));
  }
  return specs;
}

/** Starts `hms validator -c <file>`. */
export function startValidator(spec: ValidatorSpec, echo = false): HmsProcess {
  return new HmsProcess(`validator-${spec.index}`, ["validator", "-c", spec.configFile], {}, echo);
}

/** Waits until `url`/health answers. */
export async function waitHealthy(url: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return (await res.json()) as Record<string, unknown>;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET a JSON document from a daemon. */
export async function getJson<T = Record<string, unknown>>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Runs `hms …` to completion: exit code, stdout and stderr. */
export async function runHms(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new HmsProcess(`hms ${args[0]}`, args, env);
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const exit = await p.exited;
  clearTimeout(timer);
  return {
    code: exit.code,
    stdout: p.stdout,
    stderr: p.stderr.join(""),
  };
}
