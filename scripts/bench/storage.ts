/**
 * Storage benchmark (issue 12 item 10): on loopback, 3 `hms storage` worker processes, beside a raw baseline
 * measured in the same run — a plain Node HTTP PUT/GET of the same bytes to/from one file on the same disk
 * (scripts/bench/raw-file-server.ts, fsync before the PUT is answered).
 *
 *   upload    `upload()` of a file with 3 pipelined copies (cut-through), every slice acknowledged by 3 signed
 *             StorageAcks and receipted by the client; target ≥ 0.5× the raw PUT throughput
 *   download  `download()` with every slice verified against its CID by the client (and by the worker on
 *             read); target ≥ 0.8× the raw GET throughput
 *   memory    the client's and each worker's peak RSS while a 1 GiB file is uploaded and downloaded; target
 *             < 256 MiB each
 *
 *   npm run bench:storage                                   # 256 MiB × 3 runs, then the 1 GiB memory run
 *   npm run bench:storage -- --size 64 --runs 1 --big 0 --no-write
 *
 * Options: --size MiB (256) --runs N (3) --big MiB (1024, 0 = skip) --concurrency C (4) --slice bytes (1 MiB)
 *          --no-write --out docs/BENCHMARKS.md --profile DIR (workers run with --cpu-prof into DIR)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Agent, request } from "undici";
import { generatePrivateKey } from "viem/accounts";
import { download, privateKeySigner, upload, WorkerClient } from "../../offchain/client/storage";
import { StorageCluster } from "../../offchain/testing/storage-cluster";
import { FixtureStorageNetwork } from "../../offchain/testing/storage-network";
import { cpuOf } from "./proc";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const MIB = 1024 * 1024;
const SIZE = Number(arg("size", "256")) * MIB;
const RUNS = Number(arg("runs", "3"));
const BIG = Number(arg("big", "1024")) * MIB;
const CONCURRENCY = Number(arg("concurrency", "4"));
const SLICE = Number(arg("slice", String(MIB)));
const DOWNLOAD_CONCURRENCY = Number(arg("download-concurrency", String(CONCURRENCY)));
const OUT = arg("out", path.join("docs", "BENCHMARKS.md"));
const PROFILE = arg("profile", "");
/** `--lean`: the memory run's processes use a small V8 young generation and two malloc arenas (docs/STORAGE.md). */
const MEMORY_FLAGS = flag("lean") ? ["--max-semi-space-size=2"] : [];
const MEMORY_ENV: Record<string, string> = flag("lean") ? { MALLOC_ARENA_MAX: "2" } : {};
const ROOT = path.join(__dirname, "..", "..");

/** Writes `size` pseudo-random bytes (ChaCha20 keystream) to `file`. */
async function makeFile(file: string, size: number, seed: string): Promise<void> {
  const cipher = createCipheriv("chacha20", createHash("sha256").update(seed).digest(), Buffer.alloc(16));
  const zero = Buffer.alloc(4 * MIB);
  const out = fs.createWriteStream(file);
  for (let left = size; left > 0; left -= zero.length) {
    const chunk = cipher.update(zero.subarray(0, Math.min(left, zero.length)));
    if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const mbps = (bytes: number, ms: number) => bytes / MIB / (ms / 1000);
const ratio = (x: number) => `${x.toFixed(2)}×`;

/** CPU seconds of this process and of `pids`, summed. */
function cpuNow(pids: number[]): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1e6 + pids.reduce((sum, pid) => sum + cpuOf(pid), 0);
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples peak RSS of this process and of `pids` every 50 ms until stopped. */
function sampleRss(pids: number[]): { stop(): { client: number; workers: number[] } } {
  let client = 0;
  const workers = pids.map(() => 0);
  const tick = () => {
    client = Math.max(client, process.memoryUsage().rss);
    pids.forEach((pid, i) => (workers[i] = Math.max(workers[i], rssOf(pid))));
  };
  tick();
  const timer = setInterval(tick, 50);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { client, workers };
    },
  };
}

async function startRawServer(file: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "raw-file-server.ts"), file],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)).port);
    });
    child.once("exit", (code) => reject(new Error(`raw server exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function rawPut(agent: Agent, url: string, src: string, size: number): Promise<number> {
  const t = performance.now();
  const res = await request(`${url}/file`, {
    method: "PUT",
    dispatcher: agent,
    headers: { "content-length": String(size), "content-type": "application/octet-stream" },
    body: fs.createReadStream(src, { highWaterMark: MIB }),
  });
  await res.body.text();
  if (res.statusCode !== 201) throw new Error(`raw PUT ${res.statusCode}`);
  return performance.now() - t;
}

async function rawGet(agent: Agent, url: string, size: number): Promise<number> {
  const t = performance.now();
  const res = await request(`${url}/file`, { method: "GET", dispatcher: agent });
  let n = 0;
  for await (const chunk of res.body) n += (chunk as Buffer).length;
  if (n !== size) throw new Error(`raw GET got ${n} of ${size}`);
  return performance.now() - t;
}

async function ours(
  net: FixtureStorageNetwork,
  cluster: StorageCluster,
  worker: WorkerClient,
  src: string,
  size: number,
  path_: string,
): Promise<{ up: number; down: number; cpuUp: number; cpuDown: number; cid: string }> {
  const owner = privateKeySigner(generatePrivateKey());
  const pids = cluster.workers.map((w) => w.process.pid!);
  let c = cpuNow(pids);
  const c0 = { client: process.cpuUsage().user + process.cpuUsage().system, workers: pids.map(cpuOf) };
  let t = performance.now();
  const stored = await upload(
    net,
    { file: src },
    {
      owner,
      network: cluster.params,
      path: path_,
      sliceSize: SLICE,
      concurrency: CONCURRENCY,
      worker,
    },
  );
  const up = performance.now() - t;
  const cpuUp = cpuNow(pids) - c;
  if (flag("cpu-detail"))
    process.stdout.write(
      `  upload CPU s: client ${((process.cpuUsage().user + process.cpuUsage().system - c0.client) / 1e6).toFixed(2)}, workers ${pids.map((p, k) => (cpuOf(p) - c0.workers[k]).toFixed(2)).join(" / ")}\n`,
    );
  c = cpuNow(pids);
  t = performance.now();
  const d = await download(net, stored.rootCid, {
    concurrency: DOWNLOAD_CONCURRENCY,
    worker,
    client: owner,
    network: cluster.params,
  });
  let n = 0;
  for await (const chunk of d) n += chunk.length;
  const down = performance.now() - t;
  const cpuDown = cpuNow(pids) - c;
  if (n !== size) throw new Error(`download got ${n} of ${size}`);
  return { up, down, cpuUp, cpuDown, cid: stored.rootCid };
}

/** Replaces the generated "## Storage" section of the benchmarks file (hand-written sections after it stay). */
function writeSection(markdown: string): void {
  const file = path.join(ROOT, OUT);
  const doc = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n";
  const marker = "\n## Storage\n";
  const start = doc.indexOf(marker);
  if (start < 0) fs.writeFileSync(file, `${doc.trimEnd()}\n\n${markdown.trimEnd()}\n`);
  else {
    const next = doc.indexOf("\n## ", start + marker.length);
    fs.writeFileSync(
      file,
      `${doc.slice(0, start + 1)}${markdown.trimEnd()}\n${next < 0 ? "" : `\n${doc.slice(next + 1)}`}`,
    );
  }
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-bench-storage-"));
  const src = path.join(dir, "source.bin");
  const rawFile = path.join(dir, "raw-target.bin");
  let cluster: StorageCluster | undefined;
  let raw: { url: string; child: ChildProcess } | undefined;
  const agent = new Agent({ connections: 4 });
  const worker = new WorkerClient({ connections: 16, timeoutMs: 60_000 });
  try {
    await makeFile(src, SIZE, "hms-bench-storage");
    raw = await startRawServer(rawFile);
    cluster = await StorageCluster.start({
      dir: path.join(dir, "cluster"),
      count: 3,
      logLevel: "warn",
      capacityBytes: 64 * 1024 ** 3,
      extra: {
        store: { fsync: !flag("no-fsync"), verifyOnRead: !flag("no-verify-on-read") },
      },
      execArgv: PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(PROFILE)}`] : undefined,
    });
    const net = new FixtureStorageNetwork(cluster.endpoints(), {
      chainId: cluster.params.chainId,
      nodeRegistry: cluster.params.nodeRegistry,
    });
    const rows: Array<{
      rawUp: number;
      rawDown: number;
      up: number;
      down: number;
      cpu: { rawUp: number; rawDown: number; up: number; down: number };
      load: number;
    }> = [];
    const rawPids = [raw.child.pid!];
    // Warm-up: connections, JIT, page cache of the source.
    await rawPut(agent, raw.url, src, SIZE);
    await rawGet(agent, raw.url, SIZE);
    await ours(net, cluster, worker, src, SIZE, "/warmup");
    for (let r = 0; r < RUNS; r++) {
      let c = cpuNow(rawPids);
      const rawUp = await rawPut(agent, raw.url, src, SIZE);
      const cpuRawUp = cpuNow(rawPids) - c;
      c = cpuNow(rawPids);
      const rawDown = await rawGet(agent, raw.url, SIZE);
      const cpuRawDown = cpuNow(rawPids) - c;
      const { up, down, cpuUp, cpuDown } = await ours(net, cluster, worker, src, SIZE, `/run-${r}`);
      rows.push({
        rawUp,
        rawDown,
        up,
        down,
        cpu: { rawUp: cpuRawUp, rawDown: cpuRawDown, up: cpuUp, down: cpuDown },
        load: os.loadavg()[0],
      });
      process.stdout.write(
        `run ${r + 1}/${RUNS}: raw PUT ${mbps(SIZE, rawUp).toFixed(0)} MiB/s, upload ×3 ${mbps(SIZE, up).toFixed(0)} MiB/s (${ratio(rawUp / up)}); ` +
          `raw GET ${mbps(SIZE, rawDown).toFixed(0)} MiB/s, verified download ${mbps(SIZE, down).toFixed(0)} MiB/s (${ratio(rawDown / down)}); CPU s raw PUT ${cpuRawUp.toFixed(2)} / upload ${cpuUp.toFixed(2)} / raw GET ${cpuRawDown.toFixed(2)} / download ${cpuDown.toFixed(2)}; load ${os.loadavg()[0].toFixed(2)}\n`,
      );
    }
    let memory: { client: number; clientIdle: number; workers: number[]; workersIdle: number[] } | undefined;
    if (BIG > 0) {
      // Fresh workers and a client process of its own, so that each RSS is of one role only.
      await cluster.stopAll();
      cluster = await StorageCluster.start({
        dir: path.join(dir, "cluster-memory"),
        count: 3,
        logLevel: "warn",
        capacityBytes: 64 * 1024 ** 3,
        execArgv: MEMORY_FLAGS,
        env: MEMORY_ENV,
      });
      const bigSrc = path.join(dir, "big.bin");
      await makeFile(bigSrc, BIG, "hms-bench-storage-big");
      const pids = cluster.workers.map((w) => w.process.pid!);
      const workersIdle = pids.map(rssOf);
      const sampler = sampleRss(pids);
      const params = JSON.stringify(cluster.params, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            ...MEMORY_FLAGS,
            "-r",
            "ts-node/register/transpile-only",
            path.join(__dirname, "storage-client.ts"),
            bigSrc,
            JSON.stringify(cluster!.endpoints()),
            params,
          ],
          { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...MEMORY_ENV } },
        );
        let text = "";
        child.stdout!.on("data", (d: Buffer) => (text += d));
        child.once("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`memory client exited ${code}`))));
      });
      const probe = JSON.parse(out.trim().split("\n").pop()!) as { idle: number; peak: number; bytes: number };
      if (probe.bytes !== BIG) throw new Error(`memory client read ${probe.bytes} of ${BIG}`);
      const peaks = sampler.stop();
      memory = { client: probe.peak, clientIdle: probe.idle, workers: peaks.workers, workersIdle };
      await fs.promises.rm(bigSrc, { force: true });
      process.stdout.write(
        `1 GiB through: peak RSS client ${(memory.client / MIB).toFixed(0)} MiB (idle ${(memory.clientIdle / MIB).toFixed(0)}), workers ${memory.workers.map((w) => (w / MIB).toFixed(0)).join(" / ")} MiB (idle ${memory.workersIdle.map((w) => (w / MIB).toFixed(0)).join(" / ")})\n`,
      );
    }
    const up = rows.map((r) => r.rawUp / r.up);
    const down = rows.map((r) => r.rawDown / r.down);
    const loadAfter = os.loadavg();
    const lines = [
      "## Storage",
      "",
      `Command: \`npm run bench:storage${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\` (${new Date().toISOString().slice(0, 10)}, ${Math.round((Date.now() - started) / 1000)} s).`,
      "",
      `Machine: ${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, Node ${process.version}. Load average before/after: ${loadBefore.map((l) => l.toFixed(2)).join(" ")} / ${loadAfter.map((l) => l.toFixed(2)).join(" ")} (shared machine).`,
      "",
      `Workload: a ${SIZE / MIB} MiB file of pseudo-random bytes, slices of ${SLICE} bytes, ${CONCURRENCY} slices in flight, 3 worker processes on 127.0.0.1 (fsync per block, verify on read), ${RUNS} measured runs after a warm-up. Baseline in the same run: plain Node HTTP PUT (fsync before the reply) / GET of the same bytes to/from one file on the same disk.`,
      "",
      "| run | raw PUT MiB/s | upload, 3 pipelined copies, MiB/s | upload ÷ raw (≥ 0.50×) | raw GET MiB/s | verified download MiB/s | download ÷ raw (≥ 0.80×) | CPU s: raw PUT / upload / raw GET / download | load |",
      "|---|---|---|---|---|---|---|---|---|",
      ...rows.map(
        (r, i) =>
          `| ${i + 1} | ${mbps(SIZE, r.rawUp).toFixed(0)} | ${mbps(SIZE, r.up).toFixed(0)} | ${ratio(r.rawUp / r.up)} | ${mbps(SIZE, r.rawDown).toFixed(0)} | ${mbps(SIZE, r.down).toFixed(0)} | ${ratio(r.rawDown / r.down)} | ${r.cpu.rawUp.toFixed(2)} / ${r.cpu.up.toFixed(2)} / ${r.cpu.rawDown.toFixed(2)} / ${r.cpu.down.toFixed(2)} | ${r.load.toFixed(2)} |`,
      ),
      `| **median** | ${mbps(SIZE, median(rows.map((r) => r.rawUp))).toFixed(0)} | ${mbps(SIZE, median(rows.map((r) => r.up))).toFixed(0)} | **${ratio(median(up))}** | ${mbps(SIZE, median(rows.map((r) => r.rawDown))).toFixed(0)} | ${mbps(SIZE, median(rows.map((r) => r.down))).toFixed(0)} | **${ratio(median(down))}** | | |`,
      "",
    ];
    if (memory)
      lines.push(
        `Memory, a ${BIG / MIB} MiB file uploaded then downloaded by a client process of its own through 3 fresh workers (peak RSS, target < 256 MiB each; in parentheses the process's RSS before the transfer, most of it ts-node and the TypeScript compiler, which \`bin/hms.js\` loads to run without a build step): client ${(memory.client / MIB).toFixed(0)} MiB (${(memory.clientIdle / MIB).toFixed(0)}); workers ${memory.workers.map((w, i) => `${(w / MIB).toFixed(0)} MiB (${(memory!.workersIdle[i] / MIB).toFixed(0)})`).join(", ")}. Node options of these processes: ${MEMORY_FLAGS.length ? MEMORY_FLAGS.join(" ") : "none"}${
          Object.keys(MEMORY_ENV).length
            ? `, ${Object.entries(MEMORY_ENV)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ")}`
            : ""
        }.`,
        "",
      );
    const text = lines.join("\n");
    process.stdout.write(`\n${text}\n`);
    process.stdout.write(`upload ÷ raw ${ratio(median(up))}, download ÷ raw ${ratio(median(down))}\n`);
    if (!flag("no-write")) writeSection(text);
  } finally {
    await worker.close().catch(() => undefined);
    await agent.close().catch(() => undefined);
    await cluster?.stopAll();
    raw?.child.kill("SIGTERM");
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:storage failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
