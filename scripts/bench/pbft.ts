/**
 * PBFT benchmark against the PPoV patent's measurements (PROTOCOL.md §10): replicas on this host,
 * n = 3…8, batches of K = 10,000 traffic records (236 bytes each) — round time from the batch's
 * submission to the primary until a quorum q of replicas has executed it, median and p95 over several
 * rounds, and records per second (sequential rounds, and with several batches in flight).
 *
 *   npm run bench:pbft                                  # n = 3…8, both transports, writes docs/BENCHMARKS.md
 *   npm run bench:pbft -- --n 4,7 --rounds 5 --transport memory --no-write
 *
 * Transports:
 *   http    one OS process per replica, HTTP on 127.0.0.1 (envelopes MAC'd per recipient), EIP-712
 *           secp256k1 signatures on every protocol message, state persisted to LevelDB before acting (as deployed)
 *   memory  all replicas in this process, messages handed over as objects, same crypto and validation
 *
 * Options: --n 3,4,… --rounds R (12) --warmup W (8) --records K (10000) --pipeline P (4, 0 = skip)
 *          --transport http|memory|both --no-persist --no-write --out docs/BENCHMARKS.md
 *          --baseline REF   also measure the code of git REF (e.g. `main`), each n and transport right
 *                           before this code's, and print the ratios (the machine is shared: the same
 *                           minute's load for both)
 */
import { execFileSync, fork, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import type { Address } from "viem";
import { PbftReplica } from "../../offchain/consensus/pbft/replica";
import { createEip712Crypto } from "../../offchain/consensus/pbft/crypto";
import { quorumSize, faultTolerance } from "../../offchain/consensus/pbft/quorum";
import type { PbftMessage, ReplicaAction } from "../../offchain/consensus/pbft/types";
import { RECORD_BYTES, makeBatch, validateBatch } from "../../offchain/testing/pbft-batch";

/** PPoV patent, 10,000 transactions per block, one 1 Gbps Xeon server (PROTOCOL.md §10). */
export const PPOV_ROUND_SECONDS: Record<number, number> = { 3: 0.132, 4: 0.15, 5: 0.163, 6: 0.189, 7: 0.217, 8: 0.252 };
export const PPOV_TPS = { min: 223_706, max: 322_992 };

const STAKING = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
const CHAIN_ID = 31337;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const NS = arg("n", "3,4,5,6,7,8")
  .split(",")
  .map((x) => Number(x.trim()));
const ROUNDS = Number(arg("rounds", "12"));
const WARMUP = Number(arg("warmup", "8"));
const K = Number(arg("records", "10000"));
const PIPELINE = Number(arg("pipeline", "4"));
const TRANSPORT = arg("transport", "both");
const PERSIST = !flag("no-persist");
const OUT = arg("out", path.join("docs", "BENCHMARKS.md"));
const BASELINE = arg("baseline", "");

interface Row {
  transport: "http" | "memory";
  n: number;
  f: number;
  q: number;
  rounds: number[];
  median: number;
  p95: number;
  recordsPerSecond: number;
  pipelinedRecordsPerSecond?: number;
  /** CPU time of all replicas per measured round (user + system), seconds. */
  cpuPerRound: number;
  /** 1-minute load average when this row was measured. */
  load: number;
  /** The same measurement of the --baseline code, taken just before. */
  before?: { median: number; pipelinedRecordsPerSecond?: number; cpuPerRound: number };
}

function roundLabel(r: number): string {
  return r < WARMUP ? `warm-up ${r + 1}/${WARMUP}` : `round ${r + 1 - WARMUP}/${ROUNDS}`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
}

function summarise(
  transport: Row["transport"],
  n: number,
  rounds: number[],
  cpuPerRound: number,
  pipelined?: number,
): Row {
  const sorted = [...rounds].sort((a, b) => a - b);
  const median =
    sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]
      : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return {
    transport,
    n,
    f: faultTolerance(n),
    q: quorumSize(n),
    rounds,
    median,
    p95: percentile(sorted, 0.95),
    recordsPerSecond: K / median,
    pipelinedRecordsPerSecond: pipelined,
    cpuPerRound,
    load: os.loadavg()[0],
  };
}

/* ------------------------------------------------------------------------------------------------
 * In-memory transport
 * ---------------------------------------------------------------------------------------------- */

function benchMemory(n: number): Row {
  const keys = Array.from({ length: n }, () => generatePrivateKey());
  const order = keys.map((k) => privateKeyToAddress(k));
  const replicas = keys.map(
    (k, i) =>
      new PbftReplica({
        configId: 1n,
        order,
        self: order[i],
        crypto: createEip712Crypto({ privateKey: k, chainId: CHAIN_ID, stakingContract: STAKING }),
        validate: validateBatch,
        params: {
          viewChangeTimeoutMs: 60_000,
          retransmitMs: 60_000,
          checkpointInterval: 10,
          watermarkWindow: 40,
          retainCommitted: 2,
        },
      }),
  );
  const index = new Map(order.map((a, i) => [a.toLowerCase(), i]));
  const q = quorumSize(n);
  const queue: Array<{ to: number; from: number; m: PbftMessage }> = [];
  const executedCount = new Map<number, number>();
  const doneAt = new Map<number, number>();
  const route = (from: number, actions: ReplicaAction[]) => {
    for (const a of actions) {
      if (a.type === "broadcast") for (let j = 0; j < n; j++) if (j !== from) queue.push({ to: j, from, m: a.message });
      if (a.type === "send") queue.push({ to: index.get(a.to.toLowerCase())!, from, m: a.message });
      if (a.type === "execute") {
        const c = (executedCount.get(a.seq) ?? 0) + 1;
        executedCount.set(a.seq, c);
        if (c === q) doneAt.set(a.seq, performance.now());
      }
    }
  };
  const drain = () => {
    while (queue.length > 0) {
      const e = queue.shift()!;
      route(e.to, replicas[e.to].handle({ type: "message", from: order[e.from], message: e.m }));
    }
  };
  for (let i = 0; i < n; i++) route(i, replicas[i].handle({ type: "start" }));
  drain();
  const rounds: number[] = [];
  let seq = 0;
  let cpu = 0;
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    const batch = makeBatch(K, r + 1, r + 1);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    route(0, replicas[0].handle({ type: "request", request: batch }));
    drain();
    seq++;
    const t = (doneAt.get(seq)! - t0) / 1000;
    const c = process.cpuUsage(c0);
    if (r >= WARMUP) {
      rounds.push(t);
      cpu += (c.user + c.system) / 1e6;
    }
    process.stdout.write(`  memory n=${n} ${roundLabel(r)}: ${t.toFixed(3)} s\n`);
  }
  let pipelined: number | undefined;
  if (PIPELINE > 0) {
    const batches = Array.from({ length: PIPELINE }, (_, i) => makeBatch(K, 1000 + i, 1000 + i));
    const t0 = performance.now();
    for (const b of batches) route(0, replicas[0].handle({ type: "request", request: b }));
    drain();
    seq += PIPELINE;
    pipelined = (PIPELINE * K) / ((doneAt.get(seq)! - t0) / 1000);
    process.stdout.write(`  memory n=${n} ${PIPELINE} batches in flight: ${pipelined.toFixed(0)} records/s\n`);
  }
  return summarise("memory", n, rounds, cpu / ROUNDS, pipelined);
}

/* ------------------------------------------------------------------------------------------------
 * HTTP transport, one process per replica
 * ---------------------------------------------------------------------------------------------- */

async function benchHttp(n: number): Promise<Row> {
  const entry = path.join(__dirname, "..", "..", "offchain", "testing", "pbft-replica-process.ts");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-bench-pbft-"));
  const keys = Array.from({ length: n }, () => generatePrivateKey());
  const order = keys.map((k) => privateKeyToAddress(k));
  const q = quorumSize(n);
  const children: ChildProcess[] = [];
  const ready = new Set<number>();
  const execAt = new Map<number, number[]>();
  const submittedAt = new Map<number, number>();
  const waiters: Array<() => void> = [];
  const cpuReports = new Map<number, number>();
  const urls: string[] = [];
  const notify = () => waiters.splice(0).forEach((w) => w());
  const waitFor = async (what: string, pred: () => boolean, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  try {
    for (let i = 0; i < n; i++) {
      const env: Record<string, string> = {
        ...(process.env as Record<string, string>),
        TS_NODE_TRANSPILE_ONLY: "1",
        PBFT_VALIDATOR: "traffic",
        PBFT_PERSIST: PERSIST ? "1" : "0",
        PBFT_NAME: `bench-${i}`,
        HMS_PBFT_PRIVATE_KEY: keys[i],
        HMS_PBFT_CONFIG_ID: "1",
        HMS_PBFT_CHAIN_ID: String(CHAIN_ID),
        HMS_PBFT_STAKING_CONTRACT: STAKING,
        // Ephemeral ports (no race for a pre-picked port): URLs are handed out once every replica listens.
        HMS_PBFT_REPLICAS: JSON.stringify(order.map((a) => ({ address: a, url: "http://127.0.0.1:9" }))),
        HMS_PBFT_LISTEN__PORT: "0",
        HMS_PBFT_DATA_DIR: path.join(dir, `r${i}`),
        HMS_PBFT_PBFT__VIEW_CHANGE_TIMEOUT_MS: "60000",
        HMS_PBFT_PBFT__RETRANSMIT_MS: "30000",
        HMS_PBFT_PBFT__RETAIN_COMMITTED: "2",
        HMS_PBFT_LOG__LEVEL: "warn",
        HMS_PBFT_LOG__PRETTY: "false",
      };
      const child = fork(entry, [], {
        execArgv: [
          ...(process.env.BENCH_CHILD_EXEC_ARGV ?? "").split(" ").filter(Boolean),
          "-r",
          "ts-node/register/transpile-only",
        ],
        env,
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      children.push(child);
      child.on(
        "message",
        (m: { type: string; seq: number; period: number; t: number; micros: number; url: string }) => {
          if (m.type === "ready") {
            ready.add(i);
            urls[i] = m.url;
          }
          if (m.type === "cpu") cpuReports.set(i, m.micros);
          if (m.type === "executed") execAt.set(m.seq, [...(execAt.get(m.seq) ?? []), m.t]);
          if (m.type === "submitted") submittedAt.set(m.period, m.t);
          notify();
        },
      );
    }
    process.stdout.write(`  http n=${n}: starting ${n} replica processes…\n`);
    await waitFor("replicas ready", () => ready.size === n);
    const peers = order.map((address, j) => ({ address, url: urls[j] }));
    for (const c of children) c.send({ type: "peers", peers });
    let pregenerated = false;
    children[0].on("message", (m: { type: string }) => {
      if (m.type === "pregenerated") pregenerated = true;
    });
    children[0].send({ type: "pregenerate", records: K, period: 1, seed: 1, count: WARMUP + ROUNDS });
    await waitFor("batches generated", () => pregenerated);
    const rounds: number[] = [];
    let seq = 0;
    const quorumTime = (s: number) => [...(execAt.get(s) ?? [])].sort((a, b) => a - b)[q - 1];
    const totalCpu = async () => {
      cpuReports.clear();
      for (const c of children) c.send({ type: "cpu" });
      await waitFor("cpu reports", () => cpuReports.size === n);
      return [...cpuReports.values()].reduce((a, b) => a + b, 0) / 1e6;
    };
    let cpuStart = 0;
    for (let r = 0; r < WARMUP + ROUNDS; r++) {
      if (r === WARMUP) cpuStart = await totalCpu();
      const period = r + 1;
      children[0].send({ type: "batch", records: K, period, seed: period });
      seq++;
      const s = seq;
      await waitFor(`round ${r + 1}`, () => (execAt.get(s)?.length ?? 0) >= n);
      const t = (quorumTime(s) - submittedAt.get(period)!) / 1000;
      if (r >= WARMUP) rounds.push(t);
      process.stdout.write(`  http n=${n} ${roundLabel(r)}: ${t.toFixed(3)} s\n`);
    }
    const cpuPerRound = ((await totalCpu()) - cpuStart) / ROUNDS;
    let pipelined: number | undefined;
    if (PIPELINE > 0) {
      const first = 1000;
      pregenerated = false;
      children[0].send({ type: "pregenerate", records: K, period: first, seed: first, count: PIPELINE });
      await waitFor("batches generated", () => pregenerated);
      children[0].send({ type: "batch", records: K, period: first, seed: first, count: PIPELINE });
      const last = seq + PIPELINE;
      await waitFor("pipelined batches", () => (execAt.get(last)?.length ?? 0) >= q);
      await waitFor("pipelined submissions", () => submittedAt.has(first));
      pipelined = (PIPELINE * K) / ((quorumTime(last) - submittedAt.get(first)!) / 1000);
      process.stdout.write(`  http n=${n} ${PIPELINE} batches in flight: ${pipelined.toFixed(0)} records/s\n`);
    }
    return summarise("http", n, rounds, cpuPerRound, pipelined);
  } finally {
    const exited = children.map((c) =>
      c.exitCode !== null || c.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((r) => c.once("exit", () => r())),
    );
    for (const c of children) c.kill("SIGTERM");
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 10_000))]);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/* ------------------------------------------------------------------------------------------------
 * Baseline: the same benchmark, run on another commit's tree
 * ---------------------------------------------------------------------------------------------- */

/** Extracts `ref`'s tree into a temporary directory (node_modules linked from this one). */
function baselineTree(ref: string): string {
  const root = path.join(__dirname, "..", "..");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-bench-pbft-base-"));
  const tar = execFileSync("git", ["archive", ref], { cwd: root, maxBuffer: 1 << 30 });
  const r = spawnSync("tar", ["-x", "-C", dir], { input: tar });
  if (r.status !== 0) throw new Error(`bench: cannot extract ${ref}: ${r.stderr.toString()}`);
  fs.symlinkSync(fs.realpathSync(path.join(root, "node_modules")), path.join(dir, "node_modules"));
  return dir;
}

/** Runs the baseline tree's benchmark for one n and transport; parses its printed table row. */
function benchBaseline(dir: string, n: number, transport: Row["transport"]): Row["before"] {
  const args = ["-r", "ts-node/register/transpile-only", path.join(dir, "scripts", "bench", "pbft.ts")];
  args.push("--n", String(n), "--transport", transport, "--no-write");
  args.push("--rounds", String(ROUNDS), "--warmup", String(WARMUP), "--records", String(K));
  args.push("--pipeline", String(PIPELINE));
  if (!PERSIST) args.push("--no-persist");
  process.stdout.write(`  baseline ${transport} n=${n}…\n`);
  const r = spawnSync(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" },
    maxBuffer: 1 << 26,
  });
  const out = r.stdout.toString();
  const line = out.split("\n").find((l) => l.startsWith(`| ${transport} | ${n} |`));
  if (r.status !== 0 || line === undefined)
    throw new Error(`bench: baseline failed: ${r.stderr.toString().slice(-2000)}`);
  const cells = line.split("|").map((c) => c.trim().replace(/,/g, ""));
  const num = (x: string) => (x === "–" ? undefined : Number(x));
  // | transport | n | f | q | median | p95 | ppov | ÷ | seq rps | pipelined rps | … | cpu | load |
  return {
    median: num(cells[5])!,
    pipelinedRecordsPerSecond: num(cells[10]),
    cpuPerRound: num(cells[cells.length - 3])!,
  };
}

/* ------------------------------------------------------------------------------------------------
 * Report
 * ---------------------------------------------------------------------------------------------- */

function fmt(x: number | undefined, digits = 3): string {
  return x === undefined || Number.isNaN(x) ? "–" : x.toFixed(digits);
}
function int(x: number | undefined): string {
  return x === undefined || Number.isNaN(x) ? "–" : Math.round(x).toLocaleString("en-US");
}

function ratio(x: number | undefined, y: number | undefined): string {
  return x === undefined || y === undefined || !(y > 0) ? "–" : `${(x / y).toFixed(2)}×`;
}

function table(rows: Row[]): string {
  const withBefore = rows.some((r) => r.before !== undefined);
  const extra = withBefore
    ? ` before: median (s) | median ÷ before | before: records/s (${PIPELINE} in flight) | in flight ÷ before | before: CPU s per round | CPU ÷ before |`
    : "";
  const lines = [
    `| transport | n | f | q | round median (s) | round p95 (s) | PPoV round (s) | median ÷ PPoV | records/s (sequential) | records/s (${PIPELINE} in flight) | best ÷ PPoV 223,706 tx/s | best ÷ PPoV 322,992 tx/s | CPU s per round (all replicas) | load avg |${extra}`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|---|---|${withBefore ? "---|---|---|---|---|---|" : ""}`,
  ];
  for (const r of rows) {
    const ppov = PPOV_ROUND_SECONDS[r.n];
    const best = Math.max(r.recordsPerSecond, r.pipelinedRecordsPerSecond ?? 0);
    const b = r.before;
    const cols = withBefore
      ? ` ${fmt(b?.median)} | ${ratio(r.median, b?.median)} | ${int(b?.pipelinedRecordsPerSecond)} | ${ratio(r.pipelinedRecordsPerSecond, b?.pipelinedRecordsPerSecond)} | ${fmt(b?.cpuPerRound)} | ${ratio(r.cpuPerRound, b?.cpuPerRound)} |`
      : "";
    lines.push(
      `| ${r.transport} | ${r.n} | ${r.f} | ${r.q} | ${fmt(r.median)} | ${fmt(r.p95)} | ${fmt(ppov)} | ${fmt(ppov ? r.median / ppov : undefined, 2)} | ${int(r.recordsPerSecond)} | ${int(r.pipelinedRecordsPerSecond)} | ${fmt(best / PPOV_TPS.min, 2)} | ${fmt(best / PPOV_TPS.max, 2)} | ${fmt(r.cpuPerRound)} | ${fmt(r.load, 1)} |${cols}`,
    );
  }
  return lines.join("\n");
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? "unknown CPU"} × ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

function writeReport(rows: Row[], loadBefore: number[], loadAfter: number[], seconds: number): void {
  const cmd = `npm run bench:pbft${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const section = [
    "## PBFT",
    "",
    `Command: \`${cmd}\` (${new Date().toISOString().slice(0, 10)}, ${seconds.toFixed(0)} s).`,
    "",
    `Machine: ${machine()}. Load average before/after: ${loadBefore.map((x) => x.toFixed(2)).join(" ")} / ${loadAfter.map((x) => x.toFixed(2)).join(" ")} (the machine is shared).`,
    "",
    `Workload: batches of K = ${K.toLocaleString("en-US")} traffic records of ${RECORD_BYTES} bytes (task id, node id, client, bytes, period, client sig, node sig), ${((K * RECORD_BYTES * 4) / 3 / 2 ** 20).toFixed(1)} MiB of base64 per batch; ${ROUNDS} measured rounds per n after ${WARMUP} warm-up rounds.`,
    "Round time = from the batch's submission to the primary until q replicas have executed it (q = ⌊2n/3⌋+1, which is 2f+1 at n = 3f+1); the primary digests and validates the batch inside the round.",
    `Authentication (docs/PBFT.md "Authentication"): every protocol message is signed (EIP-712, secp256k1) for evidence; over HTTP it travels in an envelope MAC'd for its recipient (HMAC-SHA256, pairwise ECDH keys; signed until the recipient's public key is known); a prepare or commit from its own signer counts on that authentication, and its signature is checked only when it enters a certificate (q − 1 prepares per prepared certificate; commit certificates when served to a lagging replica); the primary's pre-prepare signature is checked by every backup. Replicas ${PERSIST ? "persist their state (LevelDB record + request payload files) before acting" : "do not persist (--no-persist)"}.`,
    ...(BASELINE
      ? [
          `Before = the tree of \`${BASELINE}\` (every message verified twice: signed envelope + PBFT signature), measured by the same command just before each row (same n, same minute's load).`,
        ]
      : []),
    "CPU s per round: user + system time of all replica processes (HTTP) or of the benchmark process (memory) per measured round. Load avg: the 1-minute load average when the row finished — it counts this benchmark's own replica processes as well as other jobs on the machine.",
    "PPoV figures: the patent's measurements (10,000 tx per block, one 1 Gbps Xeon server), PROTOCOL.md §10.",
    "",
    table(rows),
    "",
  ].join("\n");
  let text = fs.existsSync(OUT) ? fs.readFileSync(OUT, "utf8") : "# Benchmarks\n\n";
  const start = text.indexOf("## PBFT");
  if (start >= 0) {
    const next = text.indexOf("\n## ", start + 1);
    text = text.slice(0, start) + section + (next >= 0 ? text.slice(next + 1) : "");
  } else text = `${text.trimEnd()}\n\n${section}`;
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, text);
  console.log(`wrote ${OUT}`);
}

async function main(): Promise<void> {
  for (const n of NS) if (!Number.isInteger(n) || n < 1 || n > 48) throw new Error(`bad --n value ${n}`);
  const started = Date.now();
  const loadBefore = os.loadavg();
  console.log(
    `PBFT benchmark: n = ${NS.join(",")}, K = ${K}, ${ROUNDS} rounds (+${WARMUP} warm-up), transport ${TRANSPORT}`,
  );
  console.log(`machine: ${machine()}; load average ${loadBefore.map((x) => x.toFixed(2)).join(" ")}`);
  const rows: Row[] = [];
  const baseDir = BASELINE ? baselineTree(BASELINE) : undefined;
  try {
    for (const n of NS) {
      if (TRANSPORT === "http" || TRANSPORT === "both") {
        const before = baseDir ? benchBaseline(baseDir, n, "http") : undefined;
        rows.push({ ...(await benchHttp(n)), before });
      }
      if (TRANSPORT === "memory" || TRANSPORT === "both") {
        const before = baseDir ? benchBaseline(baseDir, n, "memory") : undefined;
        rows.push({ ...benchMemory(n), before });
      }
    }
  } finally {
    if (baseDir) fs.rmSync(baseDir, { recursive: true, force: true });
  }
  rows.sort((a, b) => (a.transport === b.transport ? a.n - b.n : a.transport === "http" ? -1 : 1));
  console.log(`\n${table(rows)}\n`);
  if (!flag("no-write")) writeReport(rows, loadBefore, os.loadavg(), (Date.now() - started) / 1000);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
