/**
 * The compute rules both sides share (PROTOCOL §9, docs/COMPUTE.md): what one compute unit of a ResourceMarket
 * lease buys, the workload spec (zod) and its check against the lease, the canonical spec hash recorded on
 * chain (`recordTask`), the restart policy with backoff and crash-loop cut-off, and the metering maths that turn
 * runtime samples into signed per-period usage. The worker that runs a workload and the client that leases it
 * import the same functions.
 *
 * Pure: no I/O.
 */
import { z } from "zod";
import { keccak256, toHex, type Hex } from "viem";
import { HmsError } from "../core/errors";
import type { UsageReportMessage } from "../core/signing";

// ── units ────────────────────────────────────────────────────────────────────────────────────────────

/** What one unit of a compute lease covers: a quarter of a CPU, 256 MiB of memory and 1 GiB of disk. */
export const COMPUTE_UNIT = { cpuMillis: 250, memoryMiB: 256, diskMiB: 1024 } as const;

/** The resources `units` compute units cover. */
export function leaseCovers(units: bigint | number): { cpuMillis: number; memoryMiB: number; diskMiB: number } {
  const u = Number(units);
  if (!Number.isSafeInteger(u) || u <= 0)
    throw new HmsError("COMPUTE_SPEC_INVALID", `lease units must be a positive integer, got ${units}`, {
      value: units,
    });
  return {
    cpuMillis: u * COMPUTE_UNIT.cpuMillis,
    memoryMiB: u * COMPUTE_UNIT.memoryMiB,
    diskMiB: u * COMPUTE_UNIT.diskMiB,
  };
}

/** The fewest units that cover `limits`. */
export function unitsFor(limits: { cpuMillis: number; memoryMiB: number; diskMiB: number }): number {
  return Math.max(
    1,
    Math.ceil(limits.cpuMillis / COMPUTE_UNIT.cpuMillis),
    Math.ceil(limits.memoryMiB / COMPUTE_UNIT.memoryMiB),
    Math.ceil(limits.diskMiB / COMPUTE_UNIT.diskMiB),
  );
}

// ── workload spec ────────────────────────────────────────────────────────────────────────────────────

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,62}[a-z0-9])?$/;
/** An OCI image reference: [registry[:port]/]name[:tag][@sha256:digest], lower case. */
const IMAGE_REF = /^[a-z0-9]+([._\-/:][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$/;

export const RESTART_POLICIES = ["never", "on-failure", "always"] as const;

const labelSchema = z.record(
  z.string().regex(LABEL_KEY, "label keys are lower-case DNS-like names"),
  z.string().max(63),
);

export const restartSchema = z
  .strictObject({
    /** `never`: a stop is final; `on-failure`: restart after a non-zero exit; `always`: after any exit. */
    policy: z.enum(RESTART_POLICIES).default("on-failure"),
    /** Restarts allowed within `windowMs` before the workload is a crash loop (reported, not retried). */
    maxRestarts: z.number().int().min(0).max(100).default(5),
    /** First backoff, ms; doubled per restart up to `maxBackoffMs`. */
    backoffMs: z.number().int().min(0).max(600_000).default(1_000),
    maxBackoffMs: z.number().int().min(0).max(3_600_000).default(60_000),
    /** Sliding window of the crash-loop count, ms. */
    windowMs: z.number().int().positive().max(86_400_000).default(600_000),
  })
  .prefault({});

export const workloadSpecSchema = z
  .strictObject({
    /** OCI image (run by the oci runtime). Without one, `command` runs as a process (embedded runtime). */
    image: z.string().min(1).max(255).regex(IMAGE_REF, "not an OCI image reference").optional(),
    /** argv: the program and its arguments (overrides the image's CMD when an image is given). */
    command: z.array(z.string().max(4096)).max(256).default([]),
    /** Environment variables. */
    env: z
      .record(z.string().regex(ENV_NAME, "environment names are [A-Za-z_][A-Za-z0-9_]*"), z.string().max(8192))
      .default({}),
    limits: z.strictObject({
      /** CPU in millicores (1000 = one core). */
      cpuMillis: z.number().int().min(10).max(256_000),
      /** Memory limit, MiB. */
      memoryMiB: z.number().int().min(4).max(1_048_576),
      /** Disk the workload may write, MiB. */
      diskMiB: z.number().int().min(0).max(16_777_216).default(0),
    }),
    /** Ports the workload listens on, bound to the worker's loopback (127.0.0.1) only. */
    ports: z
      .array(
        z.strictObject({ port: z.number().int().min(1).max(65535), protocol: z.enum(["tcp", "udp"]).default("tcp") }),
      )
      .max(16)
      .default([]),
    restart: restartSchema,
    /** Labels the scheduler's affinity / anti-affinity rules match. */
    labels: labelSchema.default({}),
    /** Placement constraints (offchain/meta/scheduler.ts). */
    placement: z
      .strictObject({
        region: z.string().min(1).max(64).optional(),
        /** Place only next to workloads carrying all of these labels. */
        affinity: labelSchema.default({}),
        /** Never place next to a workload carrying any of these labels. */
        antiAffinity: labelSchema.default({}),
      })
      .prefault({}),
  })
  .superRefine((spec, ctx) => {
    if (spec.image === undefined && spec.command.length === 0)
      ctx.addIssue({ code: "custom", message: "give an image or a command", path: ["command"] });
    if (spec.restart.maxBackoffMs < spec.restart.backoffMs)
      ctx.addIssue({ code: "custom", message: "maxBackoffMs is below backoffMs", path: ["restart", "maxBackoffMs"] });
    const seen = new Set<string>();
    for (const [i, p] of spec.ports.entries()) {
      const key = `${p.port}/${p.protocol}`;
      if (seen.has(key)) ctx.addIssue({ code: "custom", message: `port ${key} listed twice`, path: ["ports", i] });
      seen.add(key);
    }
  });

export type WorkloadSpecInput = z.input<typeof workloadSpecSchema>;
export type WorkloadSpec = z.output<typeof workloadSpecSchema>;
export type RestartSpec = WorkloadSpec["restart"];

/** Parses a workload spec; throws `COMPUTE_SPEC_INVALID` naming the first bad field (`details.key`). */
export function parseWorkloadSpec(input: unknown): WorkloadSpec {
  const parsed = workloadSpecSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = issue.path.map(String).join(".");
  let value: unknown = input;
  for (const p of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey];
  throw new HmsError("COMPUTE_SPEC_INVALID", `workload spec ${key || "(root)"}: ${issue.message}`, {
    value,
    details: { key },
  });
}

/** Throws `COMPUTE_SPEC_OVER_LEASE` naming the first resource `spec` asks beyond what `units` cover. */
export function checkWithinLease(spec: WorkloadSpec, units: bigint | number): void {
  const covers = leaseCovers(units);
  for (const r of ["cpuMillis", "memoryMiB", "diskMiB"] as const) {
    if (spec.limits[r] > covers[r])
      throw new HmsError(
        "COMPUTE_SPEC_OVER_LEASE",
        `the spec asks ${r} = ${spec.limits[r]}; a lease of ${units} unit(s) covers ${covers[r]} (${unitsFor(spec.limits)} units needed)`,
        { value: spec.limits[r], details: { key: `limits.${r}`, covers: covers[r], units: String(units) } },
      );
  }
}

/** JSON with object keys sorted, so that equal specs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value as object)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/** keccak256 of the canonical JSON of the parsed spec: the task hash of `recordTask` and of WorkloadRequests. */
export function specHash(spec: WorkloadSpec): Hex {
  return keccak256(toHex(canonicalJson(spec)));
}

// ── restart policy ───────────────────────────────────────────────────────────────────────────────────

export type RestartDecision =
  | { action: "restart"; delayMs: number }
  | { action: "done"; reason: "policy" | "succeeded" }
  | { action: "crash-loop"; restarts: number };

/**
 * What to do after a workload exited with `exitCode` at `nowMs`, given the times of its earlier restarts:
 * restart after an exponential backoff, stop for good (policy), or report a crash loop (more than
 * `maxRestarts` restarts within `windowMs`) and never retry.
 */
export function restartDecision(
  policy: RestartSpec,
  exitCode: number,
  restartTimesMs: readonly number[],
  nowMs: number,
): RestartDecision {
  if (policy.policy === "never") return { action: "done", reason: "policy" };
  if (policy.policy === "on-failure" && exitCode === 0) return { action: "done", reason: "succeeded" };
  const recent = restartTimesMs.filter((t) => nowMs - t < policy.windowMs).length;
  if (recent >= policy.maxRestarts) return { action: "crash-loop", restarts: recent };
  return { action: "restart", delayMs: Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** recent) };
}

// ── metering ─────────────────────────────────────────────────────────────────────────────────────────

/** One reading of a workload's counters from its runtime. Counters are cumulative since it (re)started. */
export interface UsageSample {
  /** Unix ms of the reading. */
  atMs: number;
  /** CPU time used, ns (user + system). */
  cpuNs: bigint;
  /** Resident memory now, bytes. */
  memoryBytes: number;
  netRxBytes: bigint;
  netTxBytes: bigint;
  /** Bytes the workload has written to its disk (writable layer / work directory). */
  diskBytes: number;
  /** Increases when the runtime restarted the workload (counters reset then). */
  generation: number;
}

/** Usage accumulated over a period (or a lease). */
export interface Usage {
  cpuNs: bigint;
  /** Memory byte·ms (trapezoid between samples). */
  memoryByteMs: bigint;
  netRxBytes: bigint;
  netTxBytes: bigint;
  diskBytes: number;
}

export const ZERO_USAGE: Usage = { cpuNs: 0n, memoryByteMs: 0n, netRxBytes: 0n, netTxBytes: 0n, diskBytes: 0 };

const badSample = (why: string, value: unknown) => new HmsError("COMPUTE_BAD_USAGE", `usage sample ${why}`, { value });

/**
 * Adds the usage between `prev` and `next` to `usage`. Counters that went back (a restart: a new generation)
 * count from zero; a sample older than the previous one is refused (`COMPUTE_BAD_USAGE`).
 */
export function accumulate(usage: Usage, prev: UsageSample | undefined, next: UsageSample): Usage {
  if (next.cpuNs < 0n || next.netRxBytes < 0n || next.netTxBytes < 0n || next.memoryBytes < 0 || next.diskBytes < 0)
    throw badSample("has a negative counter", next);
  if (prev === undefined)
    return {
      cpuNs: usage.cpuNs + next.cpuNs,
      memoryByteMs: usage.memoryByteMs,
      netRxBytes: usage.netRxBytes + next.netRxBytes,
      netTxBytes: usage.netTxBytes + next.netTxBytes,
      diskBytes: next.diskBytes,
    };
  if (next.atMs < prev.atMs) throw badSample(`goes back in time (${next.atMs} < ${prev.atMs})`, next);
  const reset = next.generation !== prev.generation;
  const delta = (a: bigint, b: bigint) => (reset || b < a ? b : b - a);
  const dt = BigInt(Math.round(next.atMs - prev.atMs));
  const memory = reset ? BigInt(next.memoryBytes) * dt : (BigInt(prev.memoryBytes + next.memoryBytes) * dt) / 2n;
  return {
    cpuNs: usage.cpuNs + delta(prev.cpuNs, next.cpuNs),
    memoryByteMs: usage.memoryByteMs + memory,
    netRxBytes: usage.netRxBytes + delta(prev.netRxBytes, next.netRxBytes),
    netTxBytes: usage.netTxBytes + delta(prev.netTxBytes, next.netTxBytes),
    diskBytes: next.diskBytes,
  };
}

/** Sum of two usages (disk: the later one). */
export function addUsage(a: Usage, b: Usage): Usage {
  return {
    cpuNs: a.cpuNs + b.cpuNs,
    memoryByteMs: a.memoryByteMs + b.memoryByteMs,
    netRxBytes: a.netRxBytes + b.netRxBytes,
    netTxBytes: a.netTxBytes + b.netTxBytes,
    diskBytes: b.diskBytes,
  };
}

/** Workload states of a UsageReport. */
export const WorkloadState = { Running: 0, Exited: 1, Failed: 2, Stopped: 3 } as const;

const MIB = 1024n * 1024n;

/** The metering period of a time: floor((t − genesis) / length). */
export function meteringPeriod(nowMs: number, genesisMs: number, lengthMs: number): bigint {
  if (lengthMs <= 0 || nowMs < genesisMs)
    throw new HmsError(
      "COMPUTE_BAD_USAGE",
      `no metering period at ${nowMs} (genesis ${genesisMs}, length ${lengthMs})`,
      {
        value: nowMs,
      },
    );
  return BigInt(Math.floor((nowMs - genesisMs) / lengthMs));
}

/** The UsageReport message of one period (rounded down to whole ms, MiB·s). */
export function usageReport(p: {
  leaseId: bigint;
  nodeId: Hex;
  period: bigint;
  startMs: number;
  endMs: number;
  usage: Usage;
  totalCpuNs: bigint;
  restarts: number;
  state: number;
  specHash: Hex;
}): UsageReportMessage {
  if (p.endMs < p.startMs) throw new HmsError("COMPUTE_BAD_USAGE", "a report ends before it starts", { value: p });
  return {
    leaseId: p.leaseId,
    nodeId: p.nodeId,
    period: p.period,
    start: BigInt(p.startMs),
    end: BigInt(p.endMs),
    cpuMs: p.usage.cpuNs / 1_000_000n,
    memoryMiBs: p.usage.memoryByteMs / (MIB * 1000n),
    netRxBytes: p.usage.netRxBytes,
    netTxBytes: p.usage.netTxBytes,
    diskBytes: BigInt(p.usage.diskBytes),
    totalCpuMs: p.totalCpuNs / 1_000_000n,
    restarts: p.restarts,
    state: p.state,
    specHash: p.specHash,
  };
}

/**
 * The contribution measurement a period of usage feeds (offchain/protocol/contribution.ts `Measurement.value`
 * of a container node): CPU-seconds plus memory GiB-seconds, the two resources a compute unit sells.
 */
export function computeContribution(reports: readonly Pick<UsageReportMessage, "cpuMs" | "memoryMiBs">[]): bigint {
  let cpuMs = 0n;
  let memMiBs = 0n;
  for (const r of reports) {
    cpuMs += r.cpuMs;
    memMiBs += r.memoryMiBs;
  }
  return cpuMs / 1000n + memMiBs / 1024n;
}

/**
 * How long a node has proven it ran a workload: from the start of its first report to the end of its last,
 * whole seconds. Durations, not clock readings, so that a worker's clock and the chain's need not agree: the
 * oracle terminates a dead workload's lease at `lease.start + provenSeconds` (offchain/client/compute).
 */
export function provenSeconds(reports: readonly Pick<UsageReportMessage, "start" | "end">[]): bigint {
  if (reports.length === 0) return 0n;
  let first = reports[0].start;
  let last = reports[0].end;
  for (const r of reports) {
    if (r.start < first) first = r.start;
    if (r.end > last) last = r.end;
  }
  return (last - first) / 1000n;
}

// ── wire (worker HTTP API) ───────────────────────────────────────────────────────────────────────────

export const WORKLOADS_PATH = "/v1/workloads";

const hex = (bytes: number) => z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`));
const decimal = z.string().regex(/^\d{1,78}$/);

/** `POST /v1/workloads`: the user's signed request to run `spec` under `leaseId`. */
export const submitBodySchema = z.strictObject({
  leaseId: decimal,
  spec: z.unknown(),
  deadline: decimal,
  signature: hex(65),
  /**
   * A request the meta master forwards after moving a lease (docs/COMPUTE.md "Supervision"): the lease the user
   * signed it over, which the chain must show moved into `leaseId`.
   */
  movedFrom: decimal.optional(),
});
export type SubmitBody = z.infer<typeof submitBodySchema>;

/** Signed access to a lease's logs or a stop (headers of GET …/logs, POST …/stop). */
export const ACCESS_HEADERS = { deadline: "x-hms-deadline", signature: "x-hms-signature" } as const;

/** A signed usage report as served by the worker (integers as decimal strings). */
export interface WireUsageReport {
  message: Record<keyof UsageReportMessage, string | number>;
  signature: Hex;
  signer: Hex;
}

/** JSON form of a UsageReport (bigints → decimal strings). */
export function usageToWire(m: UsageReportMessage): Record<keyof UsageReportMessage, string | number> {
  const out = {} as Record<keyof UsageReportMessage, string | number>;
  for (const [k, v] of Object.entries(m)) out[k as keyof UsageReportMessage] = typeof v === "bigint" ? v.toString() : v;
  return out;
}

/** Back from the JSON form; throws `COMPUTE_BAD_USAGE` on a malformed one. */
export function usageFromWire(w: Record<string, unknown>): UsageReportMessage {
  try {
    const big = (k: string) => BigInt(w[k] as string);
    return {
      leaseId: big("leaseId"),
      nodeId: w.nodeId as Hex,
      period: big("period"),
      start: big("start"),
      end: big("end"),
      cpuMs: big("cpuMs"),
      memoryMiBs: big("memoryMiBs"),
      netRxBytes: big("netRxBytes"),
      netTxBytes: big("netTxBytes"),
      diskBytes: big("diskBytes"),
      totalCpuMs: big("totalCpuMs"),
      restarts: Number(w.restarts),
      state: Number(w.state),
      specHash: w.specHash as Hex,
    };
  } catch (err) {
    throw new HmsError("COMPUTE_BAD_USAGE", "malformed usage report", { value: w, cause: err });
  }
}
