/**
 * `hms devnet up | status | down`: the whole network on loopback, one command each.
 *
 * `up` starts a Hardhat node on a free 127.0.0.1 port (`hardhat node`, a detached child; or uses `--rpc`), deploys
 * the system (offchain/chain/deploy.ts), runs `hms init`'s logic on it (offchain/cli/commands/init.ts `runInit`:
 * keys, funding, bookkeepers elected, nodes registered, configs) with free ports, then starts every daemon —
 * the traffic source, the meta nodes, the storage and compute workers, the validators and the dashboard — as a detached
 * `hms <role> -c <config>` process (its own process group, output in `<dir>/logs/<name>.log`), records them in
 * `<dir>/devnet.json` (endpoints, PIDs, ports, config, key and log files; no secret inline) and returns once every
 * `/health` is ok and the meta nodes have elected a master. The processes need no supervisor: each is a session
 * leader of its own, and the chain is a plain `hardhat node`.
 *
 * `status` reads devnet.json: per process its PID (alive, and still the process started: its command line
 * names its config), `/health`, the meta nodes' `/v1/status` (master, term), the chain's block, and MiningPool's
 * current and last reported period. `down` SIGTERMs every process group (daemons first, the chain last), SIGKILLs
 * what is left after a grace, and checks that no PID is alive and every port is free.
 */
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Address } from "viem";
import { loadComputeConfig, type ComputeConfig } from "../compute/config";
import { EmbeddedRuntime } from "../compute/runtime/embedded";
import { HmsError } from "../core/errors";
import { HMS_BIN, ROOT, freePorts } from "./cluster";

/** Seconds between blocks on the devnet's own hardhat node (interval mining; not on an `--rpc` chain). */
export const DEVNET_BLOCK_SECONDS = 2;

export const DEVNET_FILE = "devnet.json";

/** The roles a devnet runs. */
export type DevnetRole = "chain" | "traffic-source" | "meta" | "storage" | "compute" | "validator" | "dashboard";

/** One process of a devnet (devnet.json). */
export interface DevnetProcess {
  name: string;
  role: DevnetRole;
  /** Undefined for a chain given with `--rpc` (not ours to stop). */
  pid?: number;
  /** Its API (the chain's JSON-RPC URL). */
  url: string;
  /** Every TCP port it listens on (127.0.0.1). */
  ports: number[];
  config?: string;
  keyFile?: string;
  /** Node id (storage, compute, meta) or signing key (validator). */
  id?: string;
  /** Storage workers: region code. */
  region?: number;
  log?: string;
  /** A string of the process's command line: a PID whose command line lacks it is another process. */
  marker?: string;
}

/** `<dir>/devnet.json`. */
export interface DevnetState {
  version: 1;
  dir: string;
  startedAt: string;
  rpcUrl: string;
  chainId: number;
  /** The deployment file every daemon reads. */
  deployment: string;
  /** `hms init`'s summary (accounts, node ids, files). */
  init: string;
  /** The operators' keystore and the file holding its password (0600, devnet only). */
  keystore: string;
  passwordFile: string;
  /** The daemons' `--log-level` (restarts keep it). */
  logLevel?: string;
  processes: DevnetProcess[];
}

export interface DevnetCounts {
  bookkeepers: number;
  storage: number;
  compute: number;
  meta: number;
  /** Region codes the storage workers are spread over. */
  regions: string;
}

/** `hms devnet up`'s defaults: 4 bookkeepers, 5 storage workers in 3 regions, 2 compute workers, 3 meta nodes. */
export const DEVNET_DEFAULTS: DevnetCounts = {
  bookkeepers: 4,
  storage: 5,
  compute: 2,
  meta: 3,
  regions: "276,840,392",
};

export function stateFile(dir: string): string {
  return path.join(path.resolve(dir), DEVNET_FILE);
}

/** The devnet recorded in `dir`, or undefined. */
export function readState(dir: string): DevnetState | undefined {
  const file = stateFile(dir);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as DevnetState;
  } catch (err) {
    throw new HmsError("CLI_DEVNET_DIR", `${file} is not a devnet record`, { value: file, cause: err });
  }
}

export function writeState(state: DevnetState): void {
  const file = stateFile(state.dir);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + "\n");
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * True while `pid` runs and is still the process the devnet started: alive (signal 0), not a zombie, and — where
 * /proc tells — its command line holds `marker` (so a reused PID is never taken for, or killed as, a devnet process).
 */
export function pidAlive(pid: number | undefined, marker?: string): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/^\d+ \(.*\) Z/.test(stat)) return false;
    if (marker !== undefined)
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").includes(marker);
  } catch {
    // no /proc (or it just exited): the signal said alive
  }
  return true;
}

/** True if nothing listens on 127.0.0.1:`port` (we can bind it). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The processes of `state` still alive (the external chain never counts). */
export function aliveProcesses(state: DevnetState | undefined): DevnetProcess[] {
  return (state?.processes ?? []).filter((p) => p.pid !== undefined && pidAlive(p.pid, p.marker));
}

/** The last `lines` lines of a log file (empty if unreadable). */
export function logTail(file: string | undefined, lines = 20): string {
  if (file === undefined) return "";
  try {
    const text = fs.readFileSync(file, "utf8");
    return text
      .split("\n")
      .slice(-lines - 1)
      .join("\n")
      .trimEnd();
  } catch {
    return "";
  }
}

/** Starts `command` detached (own session and process group), stdout and stderr appended to `log`. */
export function spawnDetached(command: string[], log: string, env: Record<string, string> = {}): number {
  const fd = fs.openSync(log, "a");
  try {
    const child = spawn(command[0], command.slice(1), {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, NODE_ENV: "production", ...env },
    });
    if (child.pid === undefined) throw new Error(`cannot start ${command.join(" ")}`);
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

/** Starts daemon `role` with `config` detached (`hms <role> -c <config>`), its output appended to `log`. */
function spawnDaemon(role: DevnetRole, config: string, log: string, logLevel: string): number {
  return spawnDetached([process.execPath, HMS_BIN, role, "-c", config, "--log-level", logLevel], log);
}

/** Sends `signal` to the process group of `p` (every child it started too), else to the process. */
export function signalProcess(p: DevnetProcess, sig: NodeJS.Signals): void {
  if (p.pid === undefined) return;
  try {
    process.kill(-p.pid, sig);
  } catch {
    try {
      process.kill(p.pid, sig);
    } catch {
      // gone
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET a JSON document with a timeout; undefined when it does not answer. */
export async function getJson(
  url: string,
  timeoutMs = 2_000,
): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    return { status: res.status, body };
  } catch {
    return undefined;
  }
}

/** One JSON-RPC call; undefined when the chain does not answer. */
export async function rpc(url: string, method: string, timeoutMs = 2_000): Promise<unknown> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json()) as { result?: unknown };
    return body.result;
  } catch {
    return undefined;
  }
}

/** True when the process answers: the chain its JSON-RPC, a daemon `/health` with HTTP 200 and no `ok: false`. */
export async function processHealthy(p: DevnetProcess): Promise<{ ok: boolean; health?: Record<string, unknown> }> {
  if (p.role === "chain") {
    const block = await rpc(p.url, "eth_blockNumber");
    return {
      ok: typeof block === "string",
      health: typeof block === "string" ? { block: BigInt(block).toString() } : undefined,
    };
  }
  const r = await getJson(`${p.url}/health`);
  return { ok: r !== undefined && r.status === 200 && r.body.ok !== false, health: r?.body };
}

/** What `up` needs of `hms init`'s summary (offchain/cli/commands/init.ts `InitSummary`). */
export interface DevnetInitSummary {
  trafficSource: { config: string; url: string };
  dashboard: { config: string; url: string };
  bookkeepers: { signingKey: string; keyFile: string; config: string; url: string }[];
  nodes: {
    kind: string;
    nodeId: string;
    keyFile: string;
    config: string;
    url: string;
    region?: number;
    peerUrl?: string;
  }[];
}

/** Where daemon `i` of a role listens (the ports `up` picked). */
export type DevnetPorts = (
  role: "traffic" | "validator" | "storage" | "compute" | "meta" | "metaPeer" | "dashboard",
  i: number,
) => number;

/** `hms init`'s logic on the freshly deployed chain (the CLI passes offchain/cli/commands/init.ts `runInit`). */
/** The Hardhat account holding ResourceMarket's ORACLE_ROLE on a devnet (free of the local roles). */
export const DEVNET_ORACLE_ACCOUNT = 9;

export type DevnetInit = (args: {
  dir: string;
  rpcUrl: string;
  deployment: string;
  keystore: string;
  passwordFile: string;
  counts: DevnetCounts;
  ports: DevnetPorts;
  /** ResourceMarket's ORACLE_ROLE key file (a devnet on a chain of its own: Hardhat account #9). */
  oracleKeyFile?: string;
}) => Promise<DevnetInitSummary>;

export interface UpOptions extends DevnetCounts {
  init: DevnetInit;
  dir: string;
  rpc?: string;
  /** Readiness timeout, ms. */
  timeoutMs: number;
  logLevel: string;
  /** Progress lines (stderr). */
  progress(line: string): void;
}

/** Refuses a dir that holds a running devnet (CLI_DEVNET_RUNNING) or a stopped one / init files (CLI_DEVNET_DIR). */
export function checkDirFree(dir: string): void {
  const state = readState(dir);
  const alive = aliveProcesses(state);
  if (alive.length > 0)
    throw new HmsError(
      "CLI_DEVNET_RUNNING",
      `${path.resolve(dir)} already holds a running devnet (${alive.length} processes, e.g. ${alive[0].name} pid ${alive[0].pid}): hms devnet down --dir ${dir} first`,
      { value: path.resolve(dir), details: { pids: alive.map((p) => p.pid) } },
    );
  if (state !== undefined || fs.existsSync(path.join(dir, "init.json")))
    throw new HmsError(
      "CLI_DEVNET_DIR",
      `${path.resolve(dir)} holds a stopped devnet: hms devnet down --purge --dir ${dir} to start afresh, or give another --dir`,
      { value: path.resolve(dir) },
    );
}

/** Starts the chain (unless `--rpc`), deploys, initialises, starts every daemon and waits until all are ready. */
export async function devnetUp(o: UpOptions): Promise<DevnetState> {
  const dir = path.resolve(o.dir);
  checkDirFree(dir);
  const logs = path.join(dir, "logs");
  fs.mkdirSync(logs, { recursive: true });
  const processes: DevnetProcess[] = [];
  const state: DevnetState = {
    version: 1,
    dir,
    startedAt: new Date().toISOString(),
    rpcUrl: "",
    chainId: 0,
    deployment: path.join(dir, "deployment.json"),
    init: path.join(dir, "init.json"),
    keystore: path.join(dir, "keystore"),
    passwordFile: path.join(dir, "keystore.password"),
    logLevel: o.logLevel,
    processes,
  };
  // Interrupted (Ctrl-C) while starting: what was started is stopped, not left behind detached.
  const interrupted = (sig: NodeJS.Signals) => {
    o.progress(`${sig}: stopping what was started`);
    void stopProcesses(processes, 2_000).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  try {
    // ── the chain ──
    if (o.rpc === undefined) {
      const [port] = await freePorts(1);
      const log = path.join(logs, "chain.log");
      const url = `http://127.0.0.1:${port}`;
      const command = [
        process.execPath,
        require.resolve("hardhat/internal/cli/cli"),
        "node",
        "--hostname",
        "127.0.0.1",
        "--port",
        String(port),
      ];
      const pid = spawnDetached(command, log, { HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" });
      processes.push({ name: "chain", role: "chain", pid, url, ports: [port], log, marker: `--port ${port}` });
      writeState({ ...state, rpcUrl: url });
      o.progress(`chain: hardhat node on ${url} (pid ${pid})`);
      await waitReady(processes.slice(0, 1), o.timeoutMs);
      state.rpcUrl = url;
    } else {
      state.rpcUrl = o.rpc.replace(/\/+$/, "");
      processes.push({ name: "chain", role: "chain", url: state.rpcUrl, ports: [] });
      await waitReady(processes.slice(0, 1), Math.min(o.timeoutMs, 10_000));
    }
    writeState(state);

    // ── deploy ──
    o.progress("deploying the system");
    const { localChain, HARDHAT_CHAIN_ID } = await import("../chain/local");
    const { deploySystem, fsArtifacts, localDeployOptions } = await import("../chain/deploy");
    const { writeDeployment } = await import("../chain/deployment");
    const chain = localChain(state.rpcUrl);
    state.chainId = await chain.publicClient.getChainId();
    if (state.chainId !== HARDHAT_CHAIN_ID)
      throw new HmsError("CLI_INIT", `a devnet runs on Hardhat's chain ${HARDHAT_CHAIN_ID}, not ${state.chainId}`, {
        value: state.chainId,
      });
    const accounts = Array.from({ length: 20 }, (_, i) => chain.account(i).address as Address);
    const deployment = await deploySystem(
      chain.publicClient,
      chain.wallet(0),
      fsArtifacts(path.join(ROOT, "artifacts")),
      {
        ...localDeployOptions(accounts),
        network: "devnet",
        // The meta master's compute supervision moves the leases of dead compute workers with this role.
        marketOracle: accounts[DEVNET_ORACLE_ACCOUNT],
      },
    );
    // Hardhat's well-known account #9 (a devnet only): its key in a 0600 file for the meta nodes' configs.
    const oracleKeyFile = path.join(dir, "oracle.key");
    const oracleKey = chain.account(DEVNET_ORACLE_ACCOUNT).getHdKey().privateKey!;
    fs.writeFileSync(oracleKeyFile, `0x${Buffer.from(oracleKey).toString("hex")}\n`, { mode: 0o600 });
    writeDeployment(state.deployment, deployment);
    // A hardhat node mines only on transactions, and its clock (what periods and epochs are measured by) only
    // moves with blocks: on a devnet of its own, a block every few seconds keeps periods ending by themselves.
    if (o.rpc === undefined) await chain.testClient.setIntervalMining({ interval: DEVNET_BLOCK_SECONDS });
    writeState(state);

    // ── init: keys, funding, registrations, election, configs ──
    o.progress(
      `initialising: ${o.bookkeepers} bookkeepers, ${o.storage} storage (regions ${o.regions}), ${o.compute} compute, ${o.meta} meta`,
    );
    const ports = await freePorts(1 + o.bookkeepers + o.storage + o.compute + 2 * o.meta + 1);
    const offset = {
      dashboard: 1 + o.bookkeepers + o.storage + o.compute + 2 * o.meta,
      traffic: 0,
      validator: 1,
      storage: 1 + o.bookkeepers,
      compute: 1 + o.bookkeepers + o.storage,
      meta: 1 + o.bookkeepers + o.storage + o.compute,
      metaPeer: 1 + o.bookkeepers + o.storage + o.compute + o.meta,
    };
    fs.writeFileSync(state.passwordFile, crypto.randomBytes(16).toString("hex") + "\n", { mode: 0o600 });
    const summary = await o.init({
      dir,
      rpcUrl: state.rpcUrl,
      deployment: state.deployment,
      keystore: state.keystore,
      passwordFile: state.passwordFile,
      counts: o,
      ports: (role, i) => ports[offset[role] + i],
      oracleKeyFile,
    });

    // ── the daemons ──
    const daemon = (p: Omit<DevnetProcess, "pid" | "log" | "marker"> & { config: string }) => {
      const log = path.join(logs, `${p.name}.log`);
      processes.push({ ...p, pid: spawnDaemon(p.role, p.config, log, o.logLevel), log, marker: p.config });
    };
    if (o.storage > 0)
      daemon({
        name: "traffic-source",
        role: "traffic-source",
        url: summary.trafficSource.url,
        ports: [ports[offset.traffic]],
        config: summary.trafficSource.config,
      });
    const byKind = (kind: string) => summary.nodes.filter((x) => x.kind === kind);
    for (const [i, m] of byKind("meta").entries())
      daemon({
        name: `meta-${i}`,
        role: "meta",
        url: m.url,
        ports: [Number(new URL(m.url).port), Number(new URL(m.peerUrl!).port)],
        config: m.config,
        keyFile: m.keyFile,
        id: m.nodeId,
      });
    for (const kind of ["storage", "compute"] as const)
      for (const [i, x] of byKind(kind).entries())
        daemon({
          name: `${kind}-${i}`,
          role: kind,
          url: x.url,
          ports: [Number(new URL(x.url).port)],
          config: x.config,
          keyFile: x.keyFile,
          id: x.nodeId,
          ...(x.region !== undefined ? { region: x.region } : {}),
        });
    for (const [i, b] of summary.bookkeepers.entries())
      daemon({
        name: `validator-${i}`,
        role: "validator",
        url: b.url,
        ports: [Number(new URL(b.url).port)],
        config: b.config,
        keyFile: b.keyFile,
        id: b.signingKey,
      });
    // The dashboard last: it reads every daemon above (its /health answers as soon as it listens; `hms devnet up`
    // builds its assets first when they are missing).
    daemon({
      name: "dashboard",
      role: "dashboard",
      url: summary.dashboard.url,
      ports: [ports[offset.dashboard]],
      config: summary.dashboard.config,
    });
    writeState(state);
    o.progress(`started ${processes.length - 1} daemons; waiting until every /health is ok`);
    await waitReady(processes, o.timeoutMs);
    await waitMetaMaster(processes, o.timeoutMs);
    return state;
  } catch (err) {
    // Nothing is left running after a failed start; devnet.json and the logs stay for a look.
    await stopProcesses(processes, 5_000);
    throw err;
  } finally {
    process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
  }
}

/** Waits until every process is healthy; CLI_DEVNET_NOT_READY names the first one that exited or is not. */
export async function waitReady(processes: DevnetProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(processes);
  while (pending.size > 0) {
    await Promise.all(
      [...pending].map(async (p) => {
        if (p.pid !== undefined && !pidAlive(p.pid, p.marker))
          throw notReady(p, `${p.name} exited before it was ready`);
        if ((await processHealthy(p)).ok) pending.delete(p);
      }),
    );
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      const p = [...pending][0];
      throw notReady(p, `${p.name} (${p.url}) not ready after ${Math.round(timeoutMs / 1000)} s`, [...pending]);
    }
    await sleep(500);
  }
}

function notReady(p: DevnetProcess, message: string, pending: DevnetProcess[] = [p]): HmsError {
  const tail = logTail(p.log);
  return new HmsError(
    "CLI_DEVNET_NOT_READY",
    `${message}${
      pending.length > 1
        ? ` (also not ready: ${pending
            .slice(1)
            .map((x) => x.name)
            .join(", ")})`
        : ""
    }; log ${p.log ?? "-"}${tail ? `, its tail:\n${tail}` : ""}`,
    { value: p.name, details: { notReady: pending.map((x) => x.name) } },
  );
}

/** The meta nodes' `/v1/status` (undefined for one that does not answer). */
export async function metaStatuses(processes: DevnetProcess[]): Promise<(Record<string, unknown> | undefined)[]> {
  return Promise.all(
    processes.filter((p) => p.role === "meta").map(async (p) => (await getJson(`${p.url}/v1/status`))?.body),
  );
}

/** Waits until one meta node is the master (role leader). */
async function waitMetaMaster(processes: DevnetProcess[], timeoutMs: number): Promise<void> {
  const metas = processes.filter((p) => p.role === "meta");
  if (metas.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await metaStatuses(processes);
    if (st.some((s) => s?.role === "leader")) return;
    if (Date.now() > deadline)
      throw notReady(metas[0], `the meta nodes elected no master in ${Math.round(timeoutMs / 1000)} s`, metas);
    await sleep(250);
  }
}

/**
 * SIGTERM to every live process (daemons first, the chain last), SIGKILL to what is left after `graceMs`.
 * Returns the processes that were alive.
 */
export async function stopProcesses(processes: DevnetProcess[], graceMs: number): Promise<DevnetProcess[]> {
  const alive = processes.filter((p) => p.pid !== undefined && pidAlive(p.pid, p.marker));
  const stage = async (group: DevnetProcess[]) => {
    for (const p of group) signalProcess(p, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (group.some((p) => pidAlive(p.pid, p.marker)) && Date.now() < deadline) await sleep(100);
    for (const p of group) if (pidAlive(p.pid, p.marker)) signalProcess(p, "SIGKILL");
    const killDeadline = Date.now() + 5_000;
    while (group.some((p) => pidAlive(p.pid, p.marker)) && Date.now() < killDeadline) await sleep(100);
  };
  const daemons = alive.filter((p) => p.role !== "chain");
  const chain = alive.filter((p) => p.role === "chain");
  await stage(daemons);
  await stage(chain);
  return [...daemons, ...chain];
}

export interface RestartOptions {
  /** How it is stopped: SIGTERM (graceful, SIGKILL after `graceMs`) or SIGKILL at once (a crash). */
  signal?: "SIGTERM" | "SIGKILL";
  graceMs?: number;
  /** Start it with another config file (e.g. its ports moved behind a fault proxy); recorded in devnet.json. */
  config?: string;
  /** Wait until its `/health` is ok (default true), up to `timeoutMs`. */
  wait?: boolean;
  timeoutMs?: number;
}

/**
 * Stops daemon `name` of the devnet in `dir` (if it runs) and starts it again with the same command — or with
 * `config` — recording the new PID in devnet.json (so `down` stops it). Same data dir and key: a restart, not a
 * new node. Returns the process as recorded.
 */
export async function restartProcess(dir: string, name: string, o: RestartOptions = {}): Promise<DevnetProcess> {
  const state = readState(dir);
  const p = state?.processes.find((x) => x.name === name);
  if (state === undefined || p === undefined || p.config === undefined || p.role === "chain")
    throw new HmsError(
      "CLI_DEVNET_NONE",
      `${path.resolve(dir)} has no daemon ${name}${
        state
          ? ` (daemons: ${state.processes
              .filter((x) => x.config)
              .map((x) => x.name)
              .join(", ")})`
          : ""
      }`,
      { value: name },
    );
  if (pidAlive(p.pid, p.marker)) {
    if (o.signal === "SIGKILL") {
      signalProcess(p, "SIGKILL");
      const deadline = Date.now() + 5_000;
      while (pidAlive(p.pid, p.marker) && Date.now() < deadline) await sleep(50);
    } else await stopProcesses([p], o.graceMs ?? 10_000);
  }
  const config = o.config ?? p.config;
  const log = p.log ?? path.join(state.dir, "logs", `${p.name}.log`);
  fs.appendFileSync(log, `\n--- restarted ${new Date().toISOString()} ---\n`);
  const restarted: DevnetProcess = {
    ...p,
    pid: spawnDaemon(p.role, config, log, state.logLevel ?? "info"),
    config,
    log,
    marker: config,
  };
  state.processes = state.processes.map((x) => (x.name === name ? restarted : x));
  writeState(state);
  if (o.wait !== false) await waitReady([restarted], o.timeoutMs ?? 60_000);
  return restarted;
}

export interface DownResult {
  dir: string;
  /** Names of the processes that were running and are stopped. */
  stopped: string[];
  purged: boolean;
  /** Embedded-runtime workloads still running after their compute worker stopped, now stopped ("<worker>/<id>"). */
  workloads: string[];
}

/** Stops the devnet of `dir` and verifies that no PID is alive and no port is taken; idempotent. */
export async function devnetDown(dir: string, { purge = false, graceMs = 10_000 } = {}): Promise<DownResult> {
  const resolved = path.resolve(dir);
  const state = readState(resolved);
  const stopped = state === undefined ? [] : await stopProcesses(state.processes, graceMs);
  const workloads = state === undefined ? [] : await stopEmbeddedWorkloads(state.processes, graceMs);
  if (state !== undefined) {
    const ours = state.processes.filter((p) => p.pid !== undefined);
    const deadline = Date.now() + 10_000;
    let left: DevnetProcess[];
    let taken: number[];
    for (;;) {
      left = ours.filter((p) => pidAlive(p.pid, p.marker));
      taken = [];
      for (const port of ours.flatMap((p) => p.ports)) if (!(await portFree(port))) taken.push(port);
      if ((left.length === 0 && taken.length === 0) || Date.now() > deadline) break;
      await sleep(250);
    }
    if (left.length > 0 || taken.length > 0)
      throw new HmsError(
        "CLI_DEVNET_STOP",
        `the devnet in ${resolved} did not stop cleanly: ${left.length > 0 ? `still alive ${left.map((p) => `${p.name} (pid ${p.pid})`).join(", ")}` : ""}${left.length > 0 && taken.length > 0 ? "; " : ""}${taken.length > 0 ? `ports still taken ${taken.join(", ")}` : ""}`,
        { value: resolved, details: { alive: left.map((p) => p.pid), ports: taken } },
      );
  }
  let purged = false;
  if (purge && fs.existsSync(resolved)) {
    fs.rmSync(resolved, { recursive: true, force: true });
    purged = true;
  }
  return { dir: resolved, stopped: stopped.map((p) => p.name), purged, workloads };
}

/**
 * The workloads the devnet's compute workers ran with the embedded runtime: detached process groups that a worker's
 * stop leaves running for its restart to adopt (docs/COMPUTE.md). A devnet going down retires its workers for good,
 * so it stops them too ("<worker>/<lease>" of each one stopped). OCI containers are the engine's and are left alone.
 */
async function stopEmbeddedWorkloads(processes: readonly DevnetProcess[], graceMs: number): Promise<string[]> {
  const out: string[] = [];
  for (const p of processes) {
    if (p.role !== "compute" || p.config === undefined || !fs.existsSync(p.config)) continue;
    let config: ComputeConfig;
    try {
      config = loadComputeConfig(p.config, {});
    } catch {
      continue; // not readable as a compute config: nothing we started from it
    }
    if (config.runtime.kind !== "embedded") continue;
    const root = path.join(config.dataDir, "workloads");
    if (!fs.existsSync(root)) continue;
    const runtime = new EmbeddedRuntime({ root, watchdogMs: 0 });
    try {
      for (const id of await runtime.stopAll(Math.min(graceMs, 5_000))) out.push(`${p.name}/${id}`);
    } finally {
      await runtime.close();
    }
  }
  return out;
}

export interface ProcessStatus {
  name: string;
  role: DevnetRole;
  pid: number | null;
  alive: boolean;
  url: string;
  healthy: boolean;
  log: string | null;
  config: string | null;
  /** Meta nodes: role (leader / follower / candidate) and term. */
  meta?: { role: unknown; term: unknown; leader: unknown };
  /** Storage workers: region, bytes stored, capacity, free bytes and slices, from /health. */
  storage?: { region: unknown; bytes: unknown; capacity: unknown; free: unknown; slices: unknown };
  /** Validators: their PBFT role, epoch and last reported period, from /health. */
  validator?: { role: unknown; epoch: unknown; lastReported: unknown };
}

export interface DevnetStatus {
  dir: string;
  rpcUrl: string;
  deployment: string;
  running: number;
  healthy: boolean;
  chain: { blockNumber: string | null; period: string | null; lastReportedPeriod: string | null };
  meta: { master: string | null; term: string | null };
  /** The dashboard's URL (null: this devnet runs none). */
  dashboard: string | null;
  processes: ProcessStatus[];
}

/** Everything `hms devnet status` shows. */
export async function devnetStatus(dir: string): Promise<DevnetStatus> {
  const state = readState(dir);
  if (state === undefined)
    throw new HmsError("CLI_DEVNET_NONE", `${path.resolve(dir)} holds no devnet (no ${DEVNET_FILE}): hms devnet up`, {
      value: path.resolve(dir),
    });
  const processes = await Promise.all(
    state.processes.map(async (p): Promise<ProcessStatus> => {
      const alive = p.pid === undefined ? true : pidAlive(p.pid, p.marker);
      const h = alive ? await processHealthy(p) : { ok: false, health: undefined };
      const row: ProcessStatus = {
        name: p.name,
        role: p.role,
        pid: p.pid ?? null,
        alive,
        url: p.url,
        healthy: h.ok,
        log: p.log ?? null,
        config: p.config ?? null,
      };
      const hb = h.health ?? {};
      if (p.role === "storage" && h.health)
        row.storage = { region: hb.region, bytes: hb.bytes, capacity: hb.capacity, free: hb.free, slices: hb.slices };
      if (p.role === "validator" && h.health)
        row.validator = { role: hb.role, epoch: hb.epoch, lastReported: hb.lastReported };
      if (p.role === "meta" && alive) {
        const s = (await getJson(`${p.url}/v1/status`))?.body;
        if (s) row.meta = { role: s.role, term: s.term, leader: s.leader };
      }
      return row;
    }),
  );
  const master = processes.find((p) => p.meta?.role === "leader");
  const chainRow = processes.find((p) => p.role === "chain");
  const block = chainRow?.healthy ? await rpc(state.rpcUrl, "eth_blockNumber") : undefined;
  let period: string | null = null;
  let lastReportedPeriod: string | null = null;
  if (typeof block === "string") {
    try {
      const { loadDeployment } = await import("../chain/deployment");
      const { createHmsClient, hmsActions, hmsChain } = await import("../client");
      const { http } = await import("viem");
      const deployment = loadDeployment(state.deployment);
      const reader = createHmsClient({
        deployment,
        chain: hmsChain(deployment, state.rpcUrl),
        transport: http(state.rpcUrl, { retryCount: 1, timeout: 5_000 }),
      }).extend(hmsActions);
      const s = await reader.getStatus();
      period = s.period.current.toString();
      lastReportedPeriod = s.period.nextToReport > 0n ? (s.period.nextToReport - 1n).toString() : null;
    } catch {
      // the chain answers but the deployment does not (yet)
    }
  }
  return {
    dir: state.dir,
    rpcUrl: state.rpcUrl,
    deployment: state.deployment,
    running: processes.filter((p) => p.pid !== null && p.alive).length,
    healthy: processes.every((p) => p.alive && p.healthy),
    chain: { blockNumber: typeof block === "string" ? BigInt(block).toString() : null, period, lastReportedPeriod },
    meta: {
      master: master ? master.name : null,
      term: master?.meta?.term === undefined ? null : String(master.meta.term),
    },
    dashboard: state.processes.find((p) => p.role === "dashboard")?.url ?? null,
    processes,
  };
}
