/**
 * Network load run (issue 15 item 4): N concurrent storage clients (default 100), each with an owner key of its
 * own, put small (1–64 KiB) and large (2–8 MiB) files and get files they — or any other client — put earlier,
 * against a whole devnet (`hms devnet up`: the chain, 3 meta nodes, 5 storage workers in 3 regions, 2 compute
 * workers, 4 validators, the traffic source), for a fixed time. Baseline measured in the same run: the same loop
 * with 1 client first (default 10 s), so the table gives the throughput and p50 ratios of N clients vs 1.
 *
 *   put-small / put-large   `putFile` (3 pipelined copies, every copy's signed ack verified, index write)
 *   get-small / get-large   `getFile` by path in the putter's namespace (every slice verified against its CID by
 *                           the client); the bytes are compared with the ones put (regenerated from the file's
 *                           seed): a mismatch or a short read is an error *and* a corrupt read (must be 0)
 *   memory                  every daemon's RSS (its process group: the daemon and any child) every --sample s over
 *                           the whole run, start / peak / end, and growth = mean of the last third of the loaded
 *                           phase's samples ÷ mean of its middle third (flagged above --max-growth); CPU seconds
 *                           (utime + stime of the group) used during the run
 *
 * Per operation: ops, errors (by code), error rate, p50 / p99 / max latency, MiB/s of payload, ops/s. Also: the
 * meta nodes' terms polled every --sample s (an election under load shows as a term change), the CPU share of the
 * devnet and the clients against the whole machine's (/proc/stat), and the warnings / errors the daemons logged.
 * Exit code 1 when a read came back corrupt or the N-client phase's error rate is above --max-error-rate.
 *
 *   npm run bench:network                                  # its own devnet (stopped at the end), 100 clients, 60 s
 *   npm run bench:network -- --clients 20 --duration 30 --baseline 5
 *   npm run bench:network -- --dir ~/.hms/devnet            # an existing devnet (left running)
 *
 * Options: --clients N (100) --duration s (60) --baseline s (10; 0 = no baseline) --seed S (hms-bench-network)
 *          --dir DIR (use the devnet there) --storage/--meta/--bookkeepers/--compute/--regions (its own devnet)
 *          --log-level L (warn: its own devnet's daemons) --sample s (2) --op-timeout s (120)
 *          --max-error-rate r (0.01) --max-growth x (1.25) --json --write (the section into docs/BENCHMARKS.md)
 *          --keep (keep its own devnet's directory, stopped, with the logs; always kept when the run fails)
 */
import { createCipheriv, createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import type { Address } from "viem";
import { createStorageClient, hmsStorageActions } from "../../offchain/client/storage";
import {
  devnetDown,
  metaStatuses,
  readState,
  type DevnetProcess,
  type DevnetState,
} from "../../offchain/devnet/devnet";
import { runHms } from "../../offchain/devnet/cluster";
import { seededRandom } from "../../offchain/meta/placement";
import { cpuOf } from "./proc";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
function num(name: string, fallback: string): number {
  const v = Number(arg(name, fallback));
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number`);
  return v;
}

const KIB = 1024;
const MIB = 1024 * KIB;
const CLIENTS = Math.max(1, Math.floor(num("clients", "100")));
const DURATION_S = num("duration", "60");
const BASELINE_S = num("baseline", "10");
const SEED = arg("seed", "hms-bench-network");
const DIR = arg("dir", "");
const SAMPLE_S = Math.max(0.2, num("sample", "2"));
const OP_TIMEOUT_MS = num("op-timeout", "120") * 1000;
const MAX_ERROR_RATE = num("max-error-rate", "0.01");
const MAX_GROWTH = num("max-growth", "1.25");
const LOG_LEVEL = arg("log-level", "warn");
const JSON_OUT = flag("json");
/** Keep its own devnet's directory (stopped) for a look at the logs; also done when the run fails. */
const KEEP = flag("keep");
const OUT = path.join(__dirname, "..", "..", "docs", "BENCHMARKS.md");

/** The operation mix: weights of put small / put large / get (a get of a file not yet put falls back to a put). */
const MIX = { putSmall: 0.4, putLarge: 0.1, get: 0.5 };
const SMALL = { min: 1 * KIB, max: 64 * KIB };
const LARGE = { min: 2 * MIB, max: 8 * MIB };

type OpName = "put-small" | "put-large" | "get-small" | "get-large";
const OPS: OpName[] = ["put-small", "put-large", "get-small", "get-large"];

/** A file some client put: enough to find it and to regenerate its bytes. */
interface Stored {
  owner: Address;
  path: string;
  size: number;
  seed: string;
  client: number;
  large: boolean;
}

interface OpRecord {
  op: OpName;
  ms: number;
  bytes: number;
  ok: boolean;
  code?: string;
  corrupt?: boolean;
}

interface OpSummary {
  op: OpName | "all";
  ops: number;
  errors: number;
  errorRate: number;
  corrupt: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  mibPerS: number;
  opsPerS: number;
  errorCodes: Record<string, number>;
}

interface PhaseResult {
  name: string;
  clients: number;
  /** Wall time from the start to the last operation's end (operations started before the deadline finish). */
  seconds: number;
  ops: OpSummary[];
  total: OpSummary;
  /** A few error messages, first seen per code. */
  errorSamples: Record<string, string>;
}

/** The file's bytes: ChaCha20 keystream under sha256(seed), from byte 0. */
function contentStream(seed: string) {
  const cipher = createCipheriv("chacha20", createHash("sha256").update(seed).digest(), Buffer.alloc(16));
  return (n: number) => cipher.update(Buffer.alloc(n));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function summarise(op: OpSummary["op"], records: OpRecord[], seconds: number): OpSummary {
  const ms = records.map((r) => r.ms).sort((a, b) => a - b);
  const errors = records.filter((r) => !r.ok);
  const errorCodes: Record<string, number> = {};
  for (const e of errors) errorCodes[e.code ?? "UNKNOWN"] = (errorCodes[e.code ?? "UNKNOWN"] ?? 0) + 1;
  const okBytes = records.filter((r) => r.ok).reduce((a, r) => a + r.bytes, 0);
  return {
    op,
    ops: records.length,
    errors: errors.length,
    errorRate: records.length === 0 ? 0 : errors.length / records.length,
    corrupt: records.filter((r) => r.corrupt).length,
    p50Ms: percentile(ms, 0.5),
    p99Ms: percentile(ms, 0.99),
    maxMs: ms.length ? ms[ms.length - 1] : NaN,
    mibPerS: okBytes / MIB / seconds,
    opsPerS: records.filter((r) => r.ok).length / seconds,
    errorCodes,
  };
}

function codeOf(err: unknown): string {
  const e = err as { code?: unknown; name?: string } | undefined;
  if (typeof e?.code === "string") return e.code;
  return e?.name ?? "UNKNOWN";
}

// ── process sampling (/proc) ──────────────────────────────────────────────────────────────────────────────

/** Pids of the process group led by `pid` (the daemon and whatever it started), `pid` first. */
function groupPids(pid: number): number[] {
  const out = [pid];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    try {
      const fields = fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ");
      if (Number(fields[2]) === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * KIB : 0;
  } catch {
    return 0;
  }
}

interface Sample {
  /** Seconds since the run started. */
  t: number;
  phase: string;
  /** Per daemon name: RSS bytes of its group, CPU seconds of its group. */
  rss: Record<string, number>;
  cpu: Record<string, number>;
  /** Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait). */
  machineCpu: number;
}

function machineCpu(): number {
  try {
    const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest is inside user)
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) / 100;
  } catch {
    return NaN;
  }
}

interface MemoryRow {
  name: string;
  role: string;
  startMiB: number;
  peakMiB: number;
  endMiB: number;
  /** Mean of the last third of the loaded phase's samples ÷ mean of its middle third. */
  growth: number;
  flagged: boolean;
  cpuSeconds: number;
}

function startSampler(procs: { name: string; pid: number }[], phase: () => string, t0: number) {
  const samples: Sample[] = [];
  const tick = () => {
    const s: Sample = { t: (Date.now() - t0) / 1000, phase: phase(), rss: {}, cpu: {}, machineCpu: machineCpu() };
    for (const p of procs) {
      const pids = p.name === "bench-clients" ? [p.pid] : groupPids(p.pid);
      s.rss[p.name] = pids.reduce((a, x) => a + rssOf(x), 0);
      s.cpu[p.name] = pids.reduce((a, x) => a + cpuOf(x), 0);
    }
    samples.push(s);
  };
  tick();
  const timer = setInterval(tick, SAMPLE_S * 1000);
  return {
    samples,
    stop() {
      clearInterval(timer);
      tick();
      return samples;
    },
  };
}

function memoryRows(procs: { name: string; role: string }[], samples: Sample[], loaded: string): MemoryRow[] {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const inLoad = samples.filter((s) => s.phase === loaded);
  const third = Math.floor(inLoad.length / 3);
  return procs.map((p) => {
    const rss = samples.map((s) => s.rss[p.name] ?? 0);
    const load = inLoad.map((s) => s.rss[p.name] ?? 0);
    const growth = third >= 1 ? mean(load.slice(-third)) / mean(load.slice(third, 2 * third)) : NaN;
    return {
      name: p.name,
      role: p.role,
      startMiB: rss[0] / MIB,
      peakMiB: Math.max(...rss) / MIB,
      endMiB: rss[rss.length - 1] / MIB,
      growth,
      flagged: growth > MAX_GROWTH,
      cpuSeconds: (samples[samples.length - 1].cpu[p.name] ?? 0) - (samples[0].cpu[p.name] ?? 0),
    };
  });
}

/** CPU during the loaded phase: core-seconds of ours (devnet + clients) and of the whole machine, and available. */
function cpuShare(samples: Sample[], loaded: string) {
  const inLoad = samples.filter((s) => s.phase === loaded);
  if (inLoad.length < 2) return undefined;
  const [a, b] = [inLoad[0], inLoad[inLoad.length - 1]];
  const sum = (s: Sample) => Object.values(s.cpu).reduce((x, y) => x + y, 0);
  const seconds = b.t - a.t;
  return {
    seconds,
    ours: sum(b) - sum(a),
    machine: b.machineCpu - a.machineCpu,
    available: seconds * os.cpus().length,
  };
}

/** Warnings and errors the daemons logged during the run (pino JSON lines, level ≥ 40), by daemon and message. */
function logFindings(procs: DevnetProcess[], from: Map<string, number>) {
  const out: { name: string; warn: number; error: number; top: [string, number][] }[] = [];
  for (const p of procs) {
    if (p.log === undefined || !fs.existsSync(p.log)) continue;
    const fd = fs.openSync(p.log, "r");
    const start = from.get(p.name) ?? 0;
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, Math.min(size - start, 64 * MIB)));
    fs.readSync(fd, buf, 0, buf.length, start);
    fs.closeSync(fd);
    let warn = 0;
    let error = 0;
    const msgs = new Map<string, number>();
    for (const line of buf.toString("utf8").split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const j = JSON.parse(line) as { level?: number; msg?: string; code?: string; err?: { code?: string } };
        if ((j.level ?? 0) < 40) continue;
        if ((j.level ?? 0) >= 50) error++;
        else warn++;
        const key = `${j.msg ?? "?"}${(j.code ?? j.err?.code) ? ` (${j.code ?? j.err?.code})` : ""}`;
        msgs.set(key, (msgs.get(key) ?? 0) + 1);
      } catch {
        // not a log line
      }
    }
    if (warn + error > 0)
      out.push({ name: p.name, warn, error, top: [...msgs.entries()].sort((x, y) => y[1] - x[1]).slice(0, 3) });
  }
  return out;
}

interface MetaSample {
  t: number;
  phase: string;
  /** Per meta node: role and term (undefined: it did not answer within 2 s). */
  nodes: ({ role: string; term: string } | undefined)[];
  /** Meta and storage daemons: their event loop's longest delay since the previous poll, ms (prom-client). */
  lagMaxMs: Record<string, number>;
}

/** `nodejs_eventloop_lag_max_seconds` of a daemon's /metrics (reset by every scrape), ms; undefined if none. */
async function lagMaxMs(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const m = /^\w*nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(await res.text());
    return m ? Number(m[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Polls every meta node's /v1/status: who is master and in which term, so that elections show up. */
function startMetaWatch(procs: DevnetProcess[], phase: () => string, t0: number) {
  const samples: MetaSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = (Date.now() - t0) / 1000;
      const ph = phase();
      const watched = procs.filter((p) => p.role === "meta" || p.role === "storage");
      const [st, lags] = await Promise.all([metaStatuses(procs), Promise.all(watched.map((p) => lagMaxMs(p.url)))]);
      const lag: Record<string, number> = {};
      watched.forEach((p, i) => {
        if (lags[i] !== undefined) lag[p.name] = lags[i]!;
      });
      samples.push({
        t,
        phase: ph,
        nodes: st.map((x) => (x === undefined ? undefined : { role: String(x.role), term: String(x.term) })),
        lagMaxMs: lag,
      });
      await new Promise((r) => setTimeout(r, SAMPLE_S * 1000));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/** Terms seen (the highest any node reported per sample), elections (term rises) and unanswered polls. */
function metaSummary(samples: MetaSample[]) {
  const terms = samples.map((s) => s.nodes.reduce((m, n) => (n && BigInt(n.term) > m ? BigInt(n.term) : m), 0n));
  const changes: { t: number; phase: string; from: string; to: string }[] = [];
  for (let i = 1; i < samples.length; i++)
    if (terms[i] > terms[i - 1])
      changes.push({
        t: samples[i].t,
        phase: samples[i].phase,
        from: terms[i - 1].toString(),
        to: terms[i].toString(),
      });
  const unanswered = samples.reduce((a, s) => a + s.nodes.filter((n) => n === undefined).length, 0);
  const noLeader = samples.filter((s) => !s.nodes.some((n) => n?.role === "leader")).length;
  // The longest event-loop stall of each watched daemon while loaded (the first poll of the phase covers the
  // time before it, so it is left out).
  const loaded = samples.filter((s) => s.phase === "load").slice(1);
  const lagMax: Record<string, number> = {};
  for (const s of loaded) for (const [k, v] of Object.entries(s.lagMaxMs)) lagMax[k] = Math.max(lagMax[k] ?? 0, v);
  return {
    lagMaxMs: lagMax,
    firstTerm: terms[0]?.toString(),
    lastTerm: terms[terms.length - 1]?.toString(),
    changes,
    polls: samples.length,
    unanswered,
    noLeader,
  };
}

// ── the load ──────────────────────────────────────────────────────────────────────────────────────────────

type Client = ReturnType<typeof makeClient>;

function makeClient(metaUrls: string[], index: number) {
  const key = generatePrivateKey();
  const storage = createStorageClient({ metaUrls, owner: key }).extend(hmsStorageActions);
  return { index, owner: privateKeyToAddress(key), storage, puts: 0 };
}

/** Runs `clients` loops until `seconds` have passed (operations under way finish); returns every record. */
async function runPhase(
  name: string,
  clients: Client[],
  seconds: number,
  pool: Stored[],
  stop: AbortSignal,
  progress: (line: string) => void,
): Promise<PhaseResult> {
  const records: OpRecord[] = [];
  const errorSamples: Record<string, string> = {};
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let lastLine = started;
  const one = async (c: Client, rand: () => number) => {
    const r = rand();
    const signal = AbortSignal.any([stop, AbortSignal.timeout(OP_TIMEOUT_MS)]);
    let op: OpName = "put-small";
    const t = performance.now();
    let bytes = 0;
    try {
      if (r < MIX.get && pool.length > 0) {
        const f = pool[Math.floor(rand() * pool.length)];
        op = f.large ? "get-large" : "get-small";
        // Another client's file: raise the read floor to the master's commit (read-your-writes is per client).
        if (f.client !== c.index) await c.storage.meta.catchUp();
        const read = await c.storage.getFile({ path: f.path, owner: f.owner, signal });
        const expected = contentStream(f.seed);
        let corrupt = false;
        for await (const chunk of read) {
          if (!Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).equals(expected(chunk.length))) {
            corrupt = true;
            break;
          }
          bytes += chunk.length;
        }
        if (!corrupt && bytes !== f.size) corrupt = true;
        if (corrupt) {
          errorSamples.CORRUPT_READ ??= `${f.path} of ${f.owner}: ${bytes} bytes matched of ${f.size}`;
          records.push({ op, ms: performance.now() - t, bytes, ok: false, code: "CORRUPT_READ", corrupt: true });
          return;
        }
      } else {
        const large = r >= MIX.get + MIX.putSmall || (r < MIX.get && rand() < MIX.putLarge / (1 - MIX.get));
        op = large ? "put-large" : "put-small";
        const range = large ? LARGE : SMALL;
        const size = range.min + Math.floor(rand() * (range.max - range.min + 1));
        const n = c.puts++;
        const seed = `${SEED}/${name}/${c.index}/${n}`;
        const file = `/bench/${name}/c${c.index}/f${n}-${size}.bin`;
        const data = contentStream(seed)(size);
        await c.storage.putFile({
          source: new Uint8Array(data.buffer, data.byteOffset, data.length),
          path: file,
          signal,
        });
        bytes = size;
        pool.push({ owner: c.owner, path: file, size, seed, client: c.index, large });
      }
      records.push({ op, ms: performance.now() - t, bytes, ok: true });
    } catch (err) {
      const code = signal.aborted && !stop.aborted ? `TIMEOUT_${OP_TIMEOUT_MS / 1000}S(${codeOf(err)})` : codeOf(err);
      errorSamples[code] ??= (err as Error)?.message?.slice(0, 300) ?? String(err);
      records.push({ op, ms: performance.now() - t, bytes, ok: false, code });
    }
  };
  await Promise.all(
    clients.map(async (c) => {
      const rand = seededRandom(
        Number(BigInt(`0x${createHash("sha256").update(`${SEED}/${name}/${c.index}`).digest("hex").slice(0, 8)}`)),
      );
      while (performance.now() < deadline && !stop.aborted) {
        await one(c, rand);
        if (performance.now() - lastLine > 10_000) {
          lastLine = performance.now();
          const errors = records.filter((x) => !x.ok).length;
          progress(
            `${name}: ${((lastLine - started) / 1000).toFixed(0)} s, ${records.length} ops, ${errors} errors, ${pool.length} files stored, load ${os.loadavg()[0].toFixed(2)}`,
          );
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const ops = OPS.map((op) =>
    summarise(
      op,
      records.filter((r) => r.op === op),
      elapsed,
    ),
  );
  return {
    name,
    clients: clients.length,
    seconds: elapsed,
    ops,
    total: summarise("all", records, elapsed),
    errorSamples,
  };
}

// ── output ────────────────────────────────────────────────────────────────────────────────────────────────

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "-");
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "-");
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "-");
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

function opTable(p: PhaseResult): string[] {
  const row = (s: OpSummary) =>
    `| ${s.op === "all" ? "**all**" : s.op} | ${s.ops} | ${s.errors} | ${pct(s.errorRate)} | ${s.corrupt} | ${f0(s.p50Ms)} | ${f0(s.p99Ms)} | ${f0(s.maxMs)} | ${f2(s.mibPerS)} | ${f2(s.opsPerS)} | ${
      Object.entries(s.errorCodes)
        .map(([k, v]) => `${k} ×${v}`)
        .join(", ") || "-"
    } |`;
  return [
    `${p.name}: ${p.clients} client${p.clients === 1 ? "" : "s"}, ${f1(p.seconds)} s`,
    "",
    "| operation | ops | errors | error rate | corrupt reads | p50 ms | p99 ms | max ms | MiB/s | ops/s | error codes |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...p.ops.filter((s) => s.ops > 0).map(row),
    row(p.total),
    "",
  ];
}

function memoryTable(rows: MemoryRow[]): string[] {
  return [
    `| process | start MiB | peak MiB | end MiB | growth (last ÷ middle third, flag > ${MAX_GROWTH.toFixed(2)}×) | CPU s |`,
    "|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${f0(r.startMiB)} | ${f0(r.peakMiB)} | ${f0(r.endMiB)} | ${ratio(r.growth)}${r.flagged ? " **growing**" : ""} | ${f1(r.cpuSeconds)} |`,
    ),
    "",
  ];
}

/** Ends the generated part of the section: what follows it (up to the next "## ") is kept by --write. */
const END_MARKER = "<!-- end of bench:network output; notes below are kept by --write -->";

/**
 * Replaces (or appends) the generated part of the "## Network load run (bench:network)" section of
 * docs/BENCHMARKS.md: up to {@link END_MARKER} when the section has one (hand-written notes after it stay), else the
 * whole section.
 */
function writeSection(markdown: string): void {
  const doc = fs.existsSync(OUT) ? fs.readFileSync(OUT, "utf8") : "# Benchmarks\n";
  const marker = "\n## Network load run (bench:network)\n";
  const start = doc.indexOf(marker);
  const generated = `${markdown.trimEnd()}\n\n${END_MARKER}\n`;
  if (start < 0) {
    fs.writeFileSync(OUT, `${doc.trimEnd()}\n\n${generated}`);
    return;
  }
  const next = doc.indexOf("\n## ", start + marker.length);
  const end = doc.indexOf(END_MARKER, start);
  const rest =
    end >= 0 && (next < 0 || end < next)
      ? doc.slice(end + END_MARKER.length + 1)
      : next < 0
        ? ""
        : `\n${doc.slice(next + 1)}`;
  fs.writeFileSync(OUT, `${doc.slice(0, start + 1)}${generated}${rest}`);
}

// ── main ──────────────────────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  const progress = (line: string) => process.stderr.write(`bench:network: ${line}\n`);
  const stopper = new AbortController();
  let ownDir: string | undefined;
  let cleaning: Promise<void> | undefined;
  let keep = KEEP;
  const cleanup = () =>
    (cleaning ??= (async () => {
      if (ownDir === undefined) return;
      progress(`stopping the devnet in ${ownDir}`);
      await devnetDown(ownDir, { graceMs: 5_000 }).catch((err) => progress(`devnet down: ${(err as Error).message}`));
      if (keep) progress(`kept ${ownDir} (stopped): its logs are in ${path.join(ownDir, "logs")}`);
      else await fs.promises.rm(path.dirname(ownDir), { recursive: true, force: true }).catch(() => undefined);
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    progress(`${sig}: stopping`);
    stopper.abort();
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  // It stops by itself whatever hangs: the devnet's start, both phases, the operations under way and the clean-up.
  const watchdogMs = (DIR === "" ? 400_000 : 0) + (BASELINE_S + DURATION_S) * 1000 + 2 * OP_TIMEOUT_MS + 60_000;
  const watchdog = setTimeout(() => {
    progress(`still running after ${Math.round(watchdogMs / 1000)} s: stopping`);
    stopper.abort();
    void cleanup().finally(() => process.exit(1));
  }, watchdogMs);
  watchdog.unref();

  const loadBefore = os.loadavg();
  const t0 = Date.now();
  const clients: Client[] = [];
  try {
    let state: DevnetState;
    let startSeconds = 0;
    if (DIR !== "") {
      const s = readState(DIR);
      if (s === undefined) throw new Error(`${DIR} holds no devnet (no devnet.json)`);
      state = s;
    } else {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hms-bench-network-"));
      ownDir = path.join(tmp, "devnet");
      const pass = ["storage", "meta", "bookkeepers", "compute", "regions"].flatMap((k) =>
        process.argv.includes(`--${k}`) ? [`--${k}`, arg(k, "")] : [],
      );
      progress(`starting a devnet in ${ownDir} (${pass.join(" ") || "defaults"}, log level ${LOG_LEVEL})`);
      const up = await runHms(
        ["devnet", "up", "--dir", ownDir, "--json", "--log-level", LOG_LEVEL, ...pass],
        {},
        400_000,
      );
      if (stopper.signal.aborted) return 130;
      if (up.code !== 0) throw new Error(`hms devnet up exited ${up.code}:\n${up.stderr.slice(-2000)}`);
      state = JSON.parse(up.stdout) as DevnetState;
      startSeconds = (Date.now() - t0) / 1000;
      progress(`devnet up in ${startSeconds.toFixed(0)} s: ${state.processes.length} processes`);
    }
    const metaUrls = state.processes.filter((p) => p.role === "meta").map((p) => p.url);
    if (metaUrls.length === 0) throw new Error("the devnet has no meta node");
    const daemons = state.processes.filter((p): p is DevnetProcess & { pid: number } => p.pid !== undefined);
    const procs = [
      ...daemons.map((p) => ({ name: p.name, role: p.role as string, pid: p.pid })),
      { name: "bench-clients", role: "clients", pid: process.pid },
    ];
    const logStart = new Map(
      daemons.map((p) => [p.name, p.log !== undefined && fs.existsSync(p.log) ? fs.statSync(p.log).size : 0]),
    );
    let phase = "idle";
    const runT0 = Date.now();
    const sampler = startSampler(procs, () => phase, runT0);
    const metaWatch = startMetaWatch(state.processes, () => phase, runT0);

    for (let i = 0; i < CLIENTS; i++) clients.push(makeClient(metaUrls, i));
    // Every client learns the network's signing domains once, before the clock starts.
    await Promise.all(clients.map((c) => c.storage.network()));
    const pool: Stored[] = [];
    const phases: PhaseResult[] = [];
    if (BASELINE_S > 0) {
      phase = "baseline";
      progress(`baseline: 1 client for ${BASELINE_S} s`);
      phases.push(await runPhase("baseline", clients.slice(0, 1), BASELINE_S, pool, stopper.signal, progress));
    }
    phase = "load";
    progress(`load: ${CLIENTS} clients for ${DURATION_S} s`);
    const load = await runPhase("load", clients, DURATION_S, pool, stopper.signal, progress);
    phases.push(load);
    phase = "after";
    const samples = sampler.stop();
    const meta = metaSummary(await metaWatch.stop());
    const memory = memoryRows(procs, samples, "load");
    const cpu = cpuShare(samples, "load");
    const logs = logFindings(daemons, logStart);
    const base = phases.find((p) => p.name === "baseline");
    const loadAfter = os.loadavg();
    const ratios = base
      ? {
          throughputOps: load.total.opsPerS / base.total.opsPerS,
          throughputMiB: load.total.mibPerS / base.total.mibPerS,
          p50: Object.fromEntries(
            OPS.map((op) => [op, load.ops.find((s) => s.op === op)!.p50Ms / base.ops.find((s) => s.op === op)!.p50Ms]),
          ) as Record<OpName, number>,
        }
      : undefined;
    const corrupt = phases.reduce((a, p) => a + p.total.corrupt, 0);
    const pass = corrupt === 0 && load.total.errorRate <= MAX_ERROR_RATE;
    const shown = process.argv.slice(2).filter((a) => a !== "--json" && a !== "--write");
    const result = {
      // The options that shape the measurement (--json and --write only choose where the result goes).
      command: `npm run bench:network${shown.length ? ` -- ${shown.join(" ")}` : ""}`,
      date: new Date().toISOString(),
      machine: {
        cpu: os.cpus()[0]?.model ?? "cpu",
        cores: os.cpus().length,
        memGiB: Math.round(os.totalmem() / 1024 ** 3),
        node: process.version,
        loadBefore,
        loadAfter,
      },
      devnet: {
        dir: state.dir,
        own: ownDir !== undefined,
        startSeconds,
        processes: state.processes.map((p) => ({ name: p.name, role: p.role })),
      },
      options: {
        clients: CLIENTS,
        duration: DURATION_S,
        baseline: BASELINE_S,
        seed: SEED,
        mix: MIX,
        small: SMALL,
        large: LARGE,
        opTimeoutS: OP_TIMEOUT_MS / 1000,
        maxErrorRate: MAX_ERROR_RATE,
        maxGrowth: MAX_GROWTH,
        sampleS: SAMPLE_S,
        logLevel: DIR === "" ? LOG_LEVEL : undefined,
      },
      phases,
      ratios,
      memory,
      cpu,
      logs,
      meta,
      samples,
      filesStored: pool.length,
      corruptReads: corrupt,
      pass,
    };

    const lines = [
      "## Network load run (bench:network)",
      "",
      `Command: \`${result.command}\` (${result.date.slice(0, 16).replace("T", " ")} UTC, ${Math.round((Date.now() - t0) / 1000)} s in all${ownDir ? `, devnet up in ${startSeconds.toFixed(0)} s` : ""}).`,
      "",
      `Machine: ${result.machine.cpu} × ${result.machine.cores} cores, ${result.machine.memGiB} GiB, Node ${process.version}; the clients, the devnet's ${state.processes.length} processes and whatever else runs share these cores. Load average before/after: ${loadBefore.map((l) => l.toFixed(2)).join(" ")} / ${loadAfter.map((l) => l.toFixed(2)).join(" ")}.`,
      "",
      `Workload: ${CLIENTS} clients in one Node process, each with an owner key of its own, looping for ${DURATION_S} s (operations under way at the deadline finish): ${MIX.putSmall * 100} % put of ${SMALL.min / KIB}–${SMALL.max / KIB} KiB, ${MIX.putLarge * 100} % put of ${LARGE.min / MIB}–${LARGE.max / MIB} MiB (1 MiB slices, 3 copies), ${MIX.get * 100} % get by path of a file any client put (the bytes compared with the ones put). Seed \`${SEED}\`. Baseline in the same run: ${BASELINE_S > 0 ? `1 client for ${BASELINE_S} s first` : "none (--baseline 0)"}. Latency is the whole operation (a get: locate, every slice fetched and verified, the bytes compared; a get of another client's file also a read-floor catch-up); MiB/s counts payload bytes of successful operations.`,
      "",
    ];
    for (const p of phases) lines.push(...opTable(p));
    if (ratios && base)
      lines.push(
        `${CLIENTS} clients vs 1: throughput **${ratio(ratios.throughputOps)}** ops/s (${ratio(ratios.throughputMiB)} MiB/s); p50 latency ${OPS.filter(
          (op) => Number.isFinite(ratios.p50[op]),
        )
          .map((op) => `${op} ${ratio(ratios.p50[op])}`)
          .join(", ")}.`,
        "",
      );
    lines.push(
      `Memory (RSS of each daemon's process group) every ${SAMPLE_S} s over the whole run, ${samples.length} samples; growth over the ${CLIENTS}-client phase's samples; CPU s used during the run:`,
      "",
      ...memoryTable(memory),
      ...(cpu
        ? [
            `CPU during the ${CLIENTS}-client phase (${f0(cpu.seconds)} s, ${f0(cpu.available)} core-seconds on ${os.cpus().length} cores): the devnet and the clients ${f0(cpu.ours)} core-s (${f0((100 * cpu.ours) / cpu.available)} %), the whole machine ${f0(cpu.machine)} core-s (${f0((100 * cpu.machine) / cpu.available)} %; the rest is other work on the machine).`,
            "",
          ]
        : []),
      `Meta layer: term ${meta.firstTerm} at the start, ${meta.lastTerm} at the end (each node's /v1/status every ${SAMPLE_S} s, ${meta.polls} polls): ${
        meta.changes.length === 0
          ? "no election during the run"
          : `${meta.changes.length} term change${meta.changes.length === 1 ? "" : "s"} (elections) — ${meta.changes
              .map((c) => `${c.from} → ${c.to} at ${f0(c.t)} s (${c.phase})`)
              .join(", ")}`
      }; ${meta.unanswered} polls unanswered within 2 s, ${meta.noLeader} with no node answering as master. Longest event-loop stall during the ${CLIENTS}-client phase (prom-client's \`nodejs_eventloop_lag_max_seconds\`, scraped every poll), ms: ${
        Object.entries(meta.lagMaxMs)
          .map(([k, v]) => `${k} ${f0(v)}`)
          .join(", ") || "-"
      } (the meta nodes' election timeout is 400–800 ms, their heartbeat 100 ms).`,
      "",
      logs.length === 0
        ? "Daemon logs during the run: no warnings or errors."
        : `Daemon logs during the run (warnings / errors, most frequent messages): ${logs
            .map((l) => `${l.name} ${l.warn} / ${l.error} (${l.top.map(([m, n]) => `${m} ×${n}`).join("; ")})`)
            .join("; ")}.`,
      "",
      `Corrupt reads: **${corrupt}**. Error rate of the ${CLIENTS}-client phase ${pct(load.total.errorRate)} (limit ${pct(MAX_ERROR_RATE)}): **${pass ? "pass" : "FAIL"}**.${
        memory.some((m) => m.flagged)
          ? ` Growing (> ${MAX_GROWTH.toFixed(2)}×): ${memory
              .filter((m) => m.flagged)
              .map((m) => m.name)
              .join(", ")}.`
          : ""
      }`,
      "",
    );
    const errorSamples = phases.flatMap((p) => Object.entries(p.errorSamples).map(([k, v]) => `${p.name} ${k}: ${v}`));
    const text = lines.join("\n");
    if (JSON_OUT) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write(`\n${text}\n`);
      if (errorSamples.length)
        process.stdout.write(`first error of each code:\n${errorSamples.map((l) => `  ${l}`).join("\n")}\n`);
    }
    if (flag("write")) writeSection(text);
    if (!pass) keep = true;
    return pass ? 0 : 1;
  } catch (err) {
    keep = true;
    throw err;
  } finally {
    stopper.abort();
    await Promise.all(clients.map((c) => c.storage.close().catch(() => undefined)));
    await cleanup();
    clearTimeout(watchdog);
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench:network failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
