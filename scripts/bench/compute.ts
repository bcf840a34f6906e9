/**
 * `npm run bench:compute`: workload start latency per runtime (embedded; Podman through the Docker Engine API
 * when installed), and the metering overhead on a CPU-bound workload — the same fixed amount of work run
 * unmetered and metered (sampled every 200 ms, 25× the worker's default rate), interleaved in one run, the
 * slowdown being the ratio of the medians. Results go to stdout as a table and JSON (docs/BENCHMARKS.md).
 */
import { spawn, execFileSync } from "node:child_process";
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
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
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
      await new Promise((res) => setTimeout(res, 5));
    }
    out.push(performance.now() - t0);
    await runtime.remove(r.id);
  }
  return out;
}

/** Wall time of a fixed CPU-bound job, with or without a sampler running against it. */
async function job(runtime: WorkloadRuntime, metered: boolean, iterations: number): Promise<number> {
  const r = req(runtime, ["sh", "-c", `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done`], 1000);
  const t0 = performance.now();
  await runtime.start(r);
  let sampler: NodeJS.Timeout | undefined;
  if (metered) sampler = setInterval(() => void runtime.sample(r.id).catch(() => undefined), 200);
  for (;;) {
    const s = await runtime.status(r.id);
    if (s?.state === "exited") break;
    await new Promise((res) => setTimeout(res, 20));
  }
  const ms = performance.now() - t0;
  clearInterval(sampler);
  await runtime.remove(r.id);
  return ms;
}

async function overhead(runtime: WorkloadRuntime, pairs: number, iterations: number) {
  const plain: number[] = [];
  const metered: number[] = [];
  for (let i = 0; i < pairs; i++) {
    // alternate the order so that drift in the machine's load hits both sides alike
    if (i % 2 === 0) {
      plain.push(await job(runtime, false, iterations));
      metered.push(await job(runtime, true, iterations));
    } else {
      metered.push(await job(runtime, true, iterations));
      plain.push(await job(runtime, false, iterations));
    }
  }
  return {
    plainMs: median(plain),
    meteredMs: median(metered),
    slowdown: median(metered) / median(plain) - 1,
    plain,
    metered,
  };
}

async function podman(): Promise<{ socketPath: string; stop: () => void } | string> {
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
      return { socketPath, stop: () => child.kill("SIGTERM") };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  return "podman system service did not answer";
}

async function main() {
  const n = Number(process.env.BENCH_STARTS ?? 5);
  const pairs = Number(process.env.BENCH_PAIRS ?? 5);
  const iterations = Number(process.env.BENCH_ITERATIONS ?? 400_000);
  const results: Record<string, unknown> = {
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model}`,
    iterations,
    pairs,
  };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "hms-bench-embedded-"));
  const embedded = new EmbeddedRuntime({ root, watchdogMs: 0 });
  const emb = await startLatency(embedded, n);
  results.embedded = { startMs: median(emb), starts: emb, overhead: await overhead(embedded, pairs, iterations) };
  await embedded.close();
  fs.rmSync(root, { recursive: true, force: true });
  const p = await podman();
  if (typeof p === "string") results.oci = { skipped: p };
  else {
    const oci = new OciRuntime({ socketPath: p.socketPath, nodeId: NODE });
    const lat = await startLatency(oci, n);
    results.oci = { startMs: median(lat), starts: lat, overhead: await overhead(oci, pairs, iterations) };
    p.stop();
  }
  const row = (
    name: string,
    r: { startMs?: number; overhead?: { plainMs: number; meteredMs: number; slowdown: number }; skipped?: string },
  ) =>
    r.skipped
      ? `| ${name} | skipped: ${r.skipped} | | | |`
      : `| ${name} | ${r.startMs!.toFixed(0)} ms | ${r.overhead!.plainMs.toFixed(0)} ms | ${r.overhead!.meteredMs.toFixed(0)} ms | ${(r.overhead!.slowdown * 100).toFixed(2)} % |`;
  console.log("| runtime | start (median) | CPU job unmetered | metered (200 ms samples) | slowdown |");
  console.log("|---|---|---|---|---|");
  console.log(row("embedded", results.embedded as never));
  console.log(row("oci (Podman)", results.oci as never));
  console.log(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
