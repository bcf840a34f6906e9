/**
 * `npm run bench:compute`: workload start latency per runtime (embedded; Podman through the Docker Engine API
 * when installed), and the metering overhead on a CPU-bound workload (issue 14 item 8: ≤ 2 %).
 *
 * Overhead method, per runtime, in one run: the same fixed amount of CPU work (a shell counting loop, calibrated
 * to ~BENCH_JOB_MS of run time) is run BENCH_PAIRS times unmetered and BENCH_PAIRS times metered, interleaved
 * A/B, B/A, A/B… so that drift in the machine's load hits both sides alike. The run time is the runtime's own
 * start → finish time of the workload (embedded: spawn → exit file; Podman: the container's StartedAt →
 * FinishedAt), so the start-up and the bench's polling are outside it.
 * - metered = what a worker does, at BENCH_SAMPLE_MS (default 200 ms, 25× the worker's default 5 s): `sample()`
 *   on that period, and for the embedded runtime its memory/disk watchdog on (500 ms, its default);
 * - unmetered = the same workload on a runtime with no sampling and no watchdog.
 * Printed: the median of the per-pair ratios metered/unmetered as `N.NNNN×` and %, their spread (interquartile
 * half-range, and min–max), an A/A control (unmetered pairs against each other: the machine's noise floor), the
 * metering's own CPU (the bench process, plus the Podman service for oci) per second of workload, and the verdict:
 * "pass" only if the overhead plus the spread is within 2 %, "fail" if the overhead minus the spread is over it,
 * else "inside the noise (±x %)". Results go to stdout as a table and JSON (docs/BENCHMARKS.md).
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { parseWorkloadSpec } from "../../offchain/protocol/compute";
import { EmbeddedRuntime } from "../../offchain/compute/runtime/embedded";
import { OciRuntime } from "../../offchain/compute/runtime/oci";
import { LABELS, type WorkloadRuntime } from "../../offchain/compute/runtime/types";

const NODE = `0x${"be".repeat(32)}`;
const IMAGE = "localhost/hms-busybox:test";
const CLK_TCK = 100;
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
};
const median = (xs: number[]) => quantile(xs, 0.5);
let seq = 0;

function req(runtime: WorkloadRuntime, command: string[], cpuMillis: number) {
  const id = `hms-bench-${process.pid}-${seq++}`;
  return {
    id,
    leaseId: BigInt(seq),
    spec: parseWorkloadSpec({
      image: runtime.kind === "oci" ? IMAGE : undefined,
      command,
      limits: { cpuMillis, memoryMiB: 64 },
    }),
    labels: { [LABELS.node]: NODE, [LABELS.lease]: `${seq}` },
  };
}

async function startLatency(runtime: WorkloadRuntime, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = req(runtime, ["sleep", "30"], 250);
    const t0 = performance.now();
    await runtime.start(r);
    for (;;) {
      if ((await runtime.status(r.id))?.state === "running") break;
      await sleep(5);
    }
    out.push(performance.now() - t0);
    await runtime.remove(r.id);
  }
  return out;
}

/** CPU ticks of a process (the Podman service), to count what answering the stats calls costs it. */
function ticksOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = fs
      .readFileSync(`/proc/${pid}/stat`, "utf8")
      .replace(/^.*\) /s, "")
      .split(" ");
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return 0;
  }
}

interface Arm {
  runtime: WorkloadRuntime;
  sampleMs: number | undefined;
}

/** One run of the fixed CPU job: its run time (runtime's clock), the samples taken, the metering's CPU, ms. */
async function job(arm: Arm, iterations: number, servicePid?: number) {
  const { runtime } = arm;
  const r = req(runtime, ["sh", "-c", `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done`], 1000);
  const cpu0 = process.cpuUsage();
  const svc0 = ticksOf(servicePid);
  await runtime.start(r);
  let samples = 0;
  let sampling: Promise<void> = Promise.resolve();
  let sampler: NodeJS.Timeout | undefined;
  if (arm.sampleMs !== undefined)
    sampler = setInterval(() => {
      sampling = sampling.then(() =>
        runtime.sample(r.id).then(
          () => void samples++,
          () => undefined,
        ),
      );
    }, arm.sampleMs);
  let s;
  for (;;) {
    s = await runtime.status(r.id);
    if (s?.state === "exited") break;
    // the run time is the runtime's clock: polling only notices the end (Podman's inspect costs CPU, so rarely)
    await sleep(runtime.kind === "oci" ? 250 : 50);
  }
  clearInterval(sampler);
  await sampling;
  const c = process.cpuUsage(cpu0);
  const meterCpuMs = (c.user + c.system) / 1000 + ((ticksOf(servicePid) - svc0) * 1000) / CLK_TCK;
  await runtime.remove(r.id);
  if (s.exitCode !== 0 || s.startedAtMs === undefined || s.finishedAtMs === undefined)
    throw new Error(`the CPU job ended badly: ${JSON.stringify(s)}`);
  return { ms: s.finishedAtMs - s.startedAtMs, samples, meterCpuMs };
}

/** Iterations that take about `targetMs` of run time on this runtime (two probes, the second one scaled). */
async function calibrate(arm: Arm, targetMs: number): Promise<number> {
  let iterations = 200_000;
  for (let i = 0; i < 2; i++) {
    const { ms } = await job(arm, iterations);
    iterations = Math.max(10_000, Math.round((iterations * targetMs) / Math.max(ms, 1)));
  }
  return iterations;
}

function spreadOf(ratios: number[]) {
  return {
    median: median(ratios),
    iqrHalf: (quantile(ratios, 0.75) - quantile(ratios, 0.25)) / 2,
    min: Math.min(...ratios),
    max: Math.max(...ratios),
  };
}

async function overhead(plain: Arm, metered: Arm, pairs: number, targetMs: number, servicePid?: number) {
  const iterations = await calibrate(plain, targetMs);
  const p: Awaited<ReturnType<typeof job>>[] = [];
  const m: Awaited<ReturnType<typeof job>>[] = [];
  const control: number[] = [];
  for (let i = 0; i < pairs; i++) {
    // A/B then B/A: drift in the machine's load hits both sides alike
    if (i % 2 === 0) {
      p.push(await job(plain, iterations, servicePid));
      m.push(await job(metered, iterations, servicePid));
    } else {
      m.push(await job(metered, iterations, servicePid));
      p.push(await job(plain, iterations, servicePid));
    }
    process.stderr.write(`  pair ${i + 1}/${pairs}: unmetered ${p[i].ms} ms, metered ${m[i].ms} ms\n`);
  }
  // A/A control: consecutive unmetered runs against each other — what "no difference" looks like here
  for (let i = 0; i + 1 < p.length; i += 2) control.push(p[i + 1].ms / p[i].ms);
  const ratio = spreadOf(p.map((x, i) => m[i].ms / x.ms));
  const over = ratio.median - 1;
  const noise = ratio.iqrHalf;
  const verdict =
    over + noise <= 0.02
      ? "pass (≤ 2 %)"
      : over - noise > 0.02
        ? "fail (> 2 %)"
        : `inside the noise (±${(noise * 100).toFixed(2)} %)`;
  const seconds = m.reduce((a, x) => a + x.ms, 0) / 1000;
  return {
    iterations,
    pairs,
    sampleMs: metered.sampleMs,
    unmeteredMs: median(p.map((x) => x.ms)),
    meteredMs: median(m.map((x) => x.ms)),
    ratio,
    control: control.length ? spreadOf(control) : undefined,
    overheadPct: over * 100,
    verdict,
    samplesPerRun: median(m.map((x) => x.samples)),
    meterCpuMsPerS: m.reduce((a, x) => a + x.meterCpuMs, 0) / seconds,
    idleCpuMsPerS: p.reduce((a, x) => a + x.meterCpuMs, 0) / (p.reduce((a, x) => a + x.ms, 0) / 1000),
    unmetered: p.map((x) => x.ms),
    metered: m.map((x) => x.ms),
  };
}

async function podman(): Promise<{ socketPath: string; child: ChildProcess } | string> {
  try {
    execFileSync("podman", ["image", "exists", IMAGE], { stdio: "ignore" });
  } catch {
    return `podman or ${IMAGE} missing (see .ci/run for the set-up)`;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-bench-podman-"));
  const socketPath = path.join(dir, "podman.sock");
  const child = spawn("podman", ["system", "service", "--time=0", `unix://${socketPath}`], { stdio: "ignore" });
  const docker = new Docker({ socketPath });
  for (let i = 0; i < 300; i++) {
    if (
      await docker.ping().then(
        () => true,
        () => false,
      )
    )
      return { socketPath, child };
    await sleep(100);
  }
  child.kill("SIGKILL");
  return "podman system service did not answer";
}

type Result = { startMs?: number; overhead?: Awaited<ReturnType<typeof overhead>>; skipped?: string };

async function main() {
  const n = Number(process.env.BENCH_STARTS ?? 5);
  const pairs = Number(process.env.BENCH_PAIRS ?? 10);
  const targetMs = Number(process.env.BENCH_JOB_MS ?? 2000);
  const sampleMs = Number(process.env.BENCH_SAMPLE_MS ?? 200);
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model}`,
    loadavgBefore: os.loadavg(),
    pairs,
    targetMs,
    sampleMs,
  };
  if (process.env.BENCH_SKIP_EMBEDDED === undefined) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "hms-bench-embedded-"));
    const plain = new EmbeddedRuntime({ root, watchdogMs: 0 });
    const metered = new EmbeddedRuntime({ root, watchdogMs: 500 });
    const emb = await startLatency(plain, n);
    process.stderr.write("embedded: overhead\n");
    results.embedded = {
      startMs: median(emb),
      starts: emb,
      overhead: await overhead(
        { runtime: plain, sampleMs: undefined },
        { runtime: metered, sampleMs },
        pairs,
        targetMs,
      ),
    };
    await plain.close();
    await metered.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
  const p = process.env.BENCH_SKIP_PODMAN === undefined ? await podman() : "BENCH_SKIP_PODMAN set";
  if (typeof p === "string") results.oci = { skipped: p };
  else {
    const oci = new OciRuntime({ socketPath: p.socketPath, nodeId: NODE });
    const lat = await startLatency(oci, n);
    process.stderr.write("oci (Podman): overhead\n");
    results.oci = {
      startMs: median(lat),
      starts: lat,
      overhead: await overhead(
        { runtime: oci, sampleMs: undefined },
        { runtime: oci, sampleMs },
        pairs,
        targetMs,
        p.child.pid,
      ),
    };
    p.child.kill("SIGTERM");
  }
  results.loadavgAfter = os.loadavg();
  const pct = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(2)} %`;
  const row = (name: string, r: Result) => {
    if (r.skipped) return `| ${name} | skipped: ${r.skipped} | | | | | | | |`;
    const o = r.overhead!;
    return (
      `| ${name} | ${r.startMs!.toFixed(0)} ms | ${o.unmeteredMs.toFixed(0)} ms | ${o.meteredMs.toFixed(0)} ms ` +
      `(${o.samplesPerRun} samples) | ${o.ratio.median.toFixed(4)}× (${pct(o.ratio.median - 1)}) | ` +
      `±${(o.ratio.iqrHalf * 100).toFixed(2)} % (${pct(o.ratio.min - 1)} … ${pct(o.ratio.max - 1)}) | ` +
      `${o.control ? `${pct(o.control.median - 1)} ±${(o.control.iqrHalf * 100).toFixed(2)} %` : "-"} | ` +
      `${o.meterCpuMsPerS.toFixed(1)} ms/s (idle ${o.idleCpuMsPerS.toFixed(1)}) | ${o.verdict} |`
    );
  };
  console.log(
    `| runtime | start (median) | CPU job unmetered (median) | metered, every ${sampleMs} ms | ` +
      `metered / unmetered (median of ${pairs} pairs) | spread (IQR/2; min … max) | A/A control | ` +
      `metering CPU per s of job | verdict |`,
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  if (results.embedded) console.log(row("embedded", results.embedded as Result));
  console.log(row("oci (Podman)", results.oci as Result));
  console.log(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
