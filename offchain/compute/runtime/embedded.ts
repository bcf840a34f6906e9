/**
 * The embedded runtime: each workload is a supervised child process of the worker, for machines without a
 * container engine. **It is not an isolation boundary**: the workload runs as the worker's user, sees its file
 * system and network, and can do whatever that user can. Run only trusted workloads with it, or use the oci
 * runtime (docs/COMPUTE.md "Runtimes").
 *
 * Limits, as far as an unprivileged process can set them:
 * - memory: `RLIMIT_AS` (address space, through `prlimit` when present) and a watchdog that kills the process
 *   group when its resident memory passes the limit (reported as `oomKilled`);
 * - disk: `RLIMIT_FSIZE` (largest file) and the same watchdog on the bytes under its work directory;
 * - CPU: a lower priority (`nice -n 10`) — a CPU quota needs cgroups, i.e. the oci runtime;
 * - network: none (not metered either: per-process byte counters need a network namespace).
 *
 * Each workload lives in `<root>/<id>/`: `work/` (its cwd and HOME), `output.log` (stdout and stderr), `pid`
 * (pid and start time of its process group leader, to re-find it after a worker restart without mistaking a
 * reused pid), `exit` (its exit code, written by the wrapper shell) and `request.json`. The process is detached
 * in its own process group, so a worker restart leaves it running and the restarted worker adopts it.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { HmsError } from "../../core/errors";
import type { UsageSample } from "../../protocol/compute";
import type { RunRequest, WorkloadRuntime, WorkloadStatus } from "./types";

const CLK_TCK = 100; // Linux USER_HZ
const PAGE = 4096;
const WRAPPER = 'code=0; "$@" || code=$?; echo "$code" > "$0.tmp" && mv "$0.tmp" "$0"';

interface PidRecord {
  pid: number;
  startTicks: number;
  startedAtMs: number;
}

export interface EmbeddedRuntimeOptions {
  /** Directory of the workloads' work directories and logs. */
  root: string;
  /** Apply RLIMIT_AS / RLIMIT_FSIZE through `prlimit` (default: when /usr/bin/prlimit exists). */
  prlimit?: string | false;
  /** How often the watchdog checks memory and disk, ms (0 = never). */
  watchdogMs?: number;
  /**
   * Longest time a /proc scan for the workloads' processes is reused, ms (default 1000). Finding a process
   * group's members means reading the stat of every process on the machine (~8 µs each); within this time a
   * sample or watchdog pass re-reads only the members already found, so a process started since the last scan is
   * counted from the next one on (its counters are cumulative: nothing is lost but the lag).
   */
  scanMs?: number;
}

/** One buffer for every /proc read: a stat line is far shorter than 4 KiB. */
const STAT_BUF = Buffer.alloc(4096);

/** `/proc/<pid>/<file>` in three syscalls (open, read, close) into {@link STAT_BUF}; undefined if it is gone. */
function readProcFile(pid: number, file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(`/proc/${pid}/${file}`, "r");
  } catch {
    return undefined;
  }
  try {
    const n = fs.readSync(fd, STAT_BUF, 0, STAT_BUF.length, 0);
    return STAT_BUF.toString("latin1", 0, n);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

function parseStat(text: string): { state: string; pgrp: number; cpuTicks: number; startTicks: number; rss: number } {
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields after "(comm)": 0 state, 2 pgrp, 11 utime, 12 stime, 13 cutime, 14 cstime, 19 starttime, 21 rss
  return {
    state: f[0],
    pgrp: Number(f[2]),
    cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    startTicks: Number(f[19]),
    rss: Number(f[21]) * PAGE,
  };
}

function readProcStat(
  pid: number,
): { state: string; pgrp: number; cpuTicks: number; startTicks: number; rss: number } | undefined {
  const text = readProcFile(pid, "stat");
  return text === undefined ? undefined : parseStat(text);
}

interface ProcInfo {
  pid: number;
  state: string;
  cpuTicks: number;
  rss: number;
}

/** The pgrp field of a stat line, without splitting the whole line (most lines a scan reads are not ours). */
function pgrpOf(text: string): number {
  const a = text.lastIndexOf(")") + 3; // after ") S"
  const b = text.indexOf(" ", a + 1); // after " ppid"
  return Number(text.slice(b + 1, text.indexOf(" ", b + 1)));
}

/**
 * One pass over /proc: the processes (zombies included: a zombie's CPU is not yet in its parent's `cutime`) of
 * each of `pgrps`. One pass serves every workload; a process of none of them costs one read and no split.
 */
function scanGroups(pgrps: Set<number>): Map<number, ProcInfo[]> {
  const out = new Map<number, ProcInfo[]>();
  for (const g of pgrps) out.set(g, []);
  for (const name of fs.readdirSync("/proc")) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue; // not a pid
    const pid = Number(name);
    const text = readProcFile(pid, "stat");
    if (text === undefined) continue;
    const list = out.get(pgrpOf(text));
    if (list === undefined) continue;
    const st = parseStat(text);
    list.push({ pid, state: st.state, cpuTicks: st.cpuTicks, rss: st.rss });
  }
  return out;
}

function groupMembers(pgrp: number): number[] {
  return scanGroups(new Set([pgrp]))
    .get(pgrp)!
    .filter((p) => p.state !== "Z")
    .map((p) => p.pid);
}

function dirBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += fs.statSync(p, { throwIfNoEntry: false })?.size ?? 0;
  }
  return total;
}

/** Runs workloads as supervised child processes (see the file comment: not an isolation boundary). */
export class EmbeddedRuntime implements WorkloadRuntime {
  readonly kind = "embedded" as const;
  private readonly prlimit: string | false;
  private readonly watchdog: NodeJS.Timeout | undefined;
  private readonly limits = new Map<string, { memoryBytes: number; diskBytes: number }>();
  /** The last /proc scan: the members of each process group asked about (see `scanMs`). */
  private scan: { atMs: number; groups: Map<number, ProcInfo[]> } | undefined;
  /** Highest CPU ticks reported per workload and generation: a sample never goes back (see `sample`). */
  private readonly cpuHigh = new Map<string, { generation: number; ticks: number }>();

  constructor(private readonly options: EmbeddedRuntimeOptions) {
    fs.mkdirSync(options.root, { recursive: true });
    this.prlimit = options.prlimit ?? (fs.existsSync("/usr/bin/prlimit") ? "/usr/bin/prlimit" : false);
    const every = options.watchdogMs ?? 500;
    if (every > 0) {
      this.watchdog = setInterval(() => this.enforce(), every);
      this.watchdog.unref();
    }
  }

  /**
   * The processes of group `pgrp`, zombies included, with fresh counters: the members found by the last scan
   * re-read one by one while it is younger than `scanMs`, else a new scan of /proc for every group asked about.
   */
  private group(pgrp: number): ProcInfo[] {
    const now = Date.now();
    const known = this.scan?.groups.get(pgrp);
    if (this.scan !== undefined && known !== undefined && now - this.scan.atMs < (this.options.scanMs ?? 1000)) {
      const fresh: ProcInfo[] = [];
      for (const p of known) {
        const st = readProcStat(p.pid);
        if (st !== undefined && st.pgrp === pgrp)
          fresh.push({ pid: p.pid, state: st.state, cpuTicks: st.cpuTicks, rss: st.rss });
      }
      this.scan.groups.set(pgrp, fresh);
      return fresh;
    }
    // groups found empty last time are gone (a stopped workload, or the previous start of a restarted one)
    const wanted = new Set([...(this.scan?.groups ?? [])].filter(([, ps]) => ps.length > 0).map(([g]) => g));
    wanted.add(pgrp);
    this.scan = { atMs: now, groups: scanGroups(wanted) };
    return this.scan.groups.get(pgrp)!;
  }

  private forget(pgrp: number): void {
    this.scan?.groups.delete(pgrp);
  }

  private dir(id: string): string {
    if (!/^[a-z0-9][a-z0-9-]{0,127}$/.test(id))
      throw new HmsError("COMPUTE_RUNTIME", `unsafe workload id ${JSON.stringify(id)}`, { value: id });
    return path.join(this.options.root, id);
  }

  async check(): Promise<void> {
    if (!fs.existsSync("/bin/sh"))
      throw new HmsError("COMPUTE_RUNTIME_UNAVAILABLE", "the embedded runtime needs /bin/sh", { value: "/bin/sh" });
  }

  private pidRecord(id: string): PidRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir(id), "pid"), "utf8")) as PidRecord;
    } catch {
      return undefined;
    }
  }

  /** The leader if it is still the process we started (same start time), else undefined. */
  private alive(rec: PidRecord | undefined): boolean {
    if (rec === undefined) return false;
    const st = readProcStat(rec.pid);
    if (st === undefined || st.startTicks !== rec.startTicks) return false;
    return st.state !== "Z" || groupMembers(rec.pid).length > 0;
  }

  async start(request: RunRequest): Promise<WorkloadStatus> {
    const dir = this.dir(request.id);
    const { spec } = request;
    const memoryBytes = spec.limits.memoryMiB * 1024 * 1024;
    const diskBytes = spec.limits.diskMiB * 1024 * 1024;
    this.limits.set(request.id, { memoryBytes, diskBytes });
    const existing = await this.status(request.id);
    if (existing?.state === "running") return existing;
    if (spec.command.length === 0)
      throw new HmsError(
        "COMPUTE_SPEC_INVALID",
        `the embedded runtime runs a command; image ${spec.image} needs the oci runtime`,
        { value: spec.image, details: { key: "command" } },
      );
    fs.mkdirSync(path.join(dir, "work"), { recursive: true });
    fs.writeFileSync(path.join(dir, "request.json"), JSON.stringify({ ...request, leaseId: `${request.leaseId}` }));
    fs.rmSync(path.join(dir, "exit"), { force: true });
    fs.rmSync(path.join(dir, "oom"), { force: true });
    const argv = ["nice", "-n", "10"];
    if (this.prlimit) {
      // RLIMIT_AS counts mappings, not use: leave head-room over the limit the watchdog enforces on RSS.
      argv.push(this.prlimit, `--as=${memoryBytes * 4 + 256 * 1024 * 1024}`);
      if (diskBytes > 0) argv.push(`--fsize=${diskBytes}`);
      argv.push("--");
    }
    argv.push(...spec.command);
    const out = fs.openSync(path.join(dir, "output.log"), "a");
    let child;
    try {
      child = spawn("/bin/sh", ["-c", WRAPPER, path.join(dir, "exit"), ...argv], {
        cwd: path.join(dir, "work"),
        env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: path.join(dir, "work"), HMS_BIND: "127.0.0.1", ...spec.env },
        detached: true,
        stdio: ["ignore", out, out],
      });
    } finally {
      fs.closeSync(out);
    }
    const pid = child.pid;
    if (pid === undefined)
      throw new HmsError("COMPUTE_RUNTIME", `cannot spawn ${spec.command[0]}`, { value: spec.command });
    child.on("error", () => undefined);
    child.unref();
    const st = readProcStat(pid);
    const rec: PidRecord = { pid, startTicks: st?.startTicks ?? 0, startedAtMs: Date.now() };
    fs.writeFileSync(path.join(dir, "pid"), JSON.stringify(rec));
    return { id: request.id, state: "running", startedAtMs: rec.startedAtMs, generation: rec.startedAtMs };
  }

  async status(id: string): Promise<WorkloadStatus | undefined> {
    const dir = this.dir(id);
    if (!fs.existsSync(dir)) return undefined;
    const rec = this.pidRecord(id);
    if (rec === undefined) return undefined;
    const base = { id, startedAtMs: rec.startedAtMs, generation: rec.startedAtMs };
    if (this.alive(rec)) return { ...base, state: "running" };
    let exitText: string;
    try {
      exitText = fs.readFileSync(path.join(dir, "exit"), "utf8").trim();
    } catch {
      exitText = "";
    }
    const oomKilled = fs.existsSync(path.join(dir, "oom"));
    const stat = fs.statSync(path.join(dir, exitText ? "exit" : "pid"));
    return {
      ...base,
      state: "exited",
      // no exit file: the wrapper itself was killed (a stop, or the watchdog)
      exitCode: exitText ? Number(exitText) : 137,
      oomKilled,
      // whole ms: usage reports carry integer times (the file system gives fractions)
      finishedAtMs: exitText ? Math.floor(stat.mtimeMs) : undefined,
    };
  }

  async sample(id: string): Promise<UsageSample> {
    const rec = this.pidRecord(id);
    if (rec === undefined) throw new HmsError("COMPUTE_NOT_FOUND", `no workload ${id}`, { value: id });
    let ticks = 0;
    let rss = 0;
    for (const p of this.group(rec.pid)) {
      // a zombie holds its CPU time until its parent reaps it (then the parent's cutime has it)
      ticks += p.cpuTicks;
      if (p.state !== "Z") rss += p.rss;
    }
    // A member reaped by a process outside the group (a daemon re-parented to init) takes its CPU time with it;
    // the counter is cumulative, so report the highest reading of this start instead of going back.
    const high = this.cpuHigh.get(id);
    if (high !== undefined && high.generation === rec.startedAtMs) ticks = Math.max(ticks, high.ticks);
    this.cpuHigh.set(id, { generation: rec.startedAtMs, ticks });
    return {
      atMs: Date.now(),
      cpuNs: (BigInt(ticks) * 1_000_000_000n) / BigInt(CLK_TCK),
      memoryBytes: rss,
      netRxBytes: 0n,
      netTxBytes: 0n,
      diskBytes: dirBytes(path.join(this.dir(id), "work")),
      generation: rec.startedAtMs,
    };
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.dir(id), "output.log"), "utf8");
    } catch {
      throw new HmsError("COMPUTE_NOT_FOUND", `no workload ${id}`, { value: id });
    }
    if (options.tail === undefined) return text;
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines.slice(-options.tail).join("\n") + (lines.length ? "\n" : "");
  }

  private signal(rec: PidRecord, sig: NodeJS.Signals): void {
    try {
      process.kill(-rec.pid, sig);
    } catch {
      // already gone
    }
  }

  async stop(id: string, graceMs: number): Promise<void> {
    const rec = this.pidRecord(id);
    if (!this.alive(rec)) return;
    this.signal(rec!, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && this.alive(rec)) await new Promise((r) => setTimeout(r, 50));
    if (this.alive(rec)) this.signal(rec!, "SIGKILL");
    while (groupMembers(rec!.pid).length > 0 && Date.now() < deadline + 2000)
      await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Stops every workload still running under the root (SIGTERM, SIGKILL after `graceMs`): what a worker that is
   * being retired for good (`hms devnet down`) leaves behind, since a worker's own stop keeps them for its restart.
   * Returns the ids stopped.
   */
  async stopAll(graceMs: number): Promise<string[]> {
    let ids: string[];
    try {
      ids = fs.readdirSync(this.options.root);
    } catch {
      return [];
    }
    const running = ids.filter((id) => this.alive(this.pidRecord(id)));
    await Promise.all(running.map((id) => this.stop(id, graceMs)));
    return running;
  }

  async remove(id: string): Promise<void> {
    const rec = this.pidRecord(id);
    await this.stop(id, 0);
    this.limits.delete(id);
    this.cpuHigh.delete(id);
    if (rec !== undefined) this.forget(rec.pid);
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    return fs.readdirSync(this.options.root).filter((n) => fs.existsSync(path.join(this.options.root, n, "pid")));
  }

  /** The watchdog: kills a workload over its memory or disk limit (marks it `oom`). */
  private enforce(): void {
    for (const [id, limit] of this.limits) {
      const rec = this.pidRecord(id);
      if (!this.alive(rec)) continue;
      let rss = 0;
      for (const p of this.group(rec!.pid)) if (p.state !== "Z") rss += p.rss;
      const disk = limit.diskBytes > 0 ? dirBytes(path.join(this.dir(id), "work")) : 0;
      if (rss > limit.memoryBytes || (limit.diskBytes > 0 && disk > limit.diskBytes)) {
        // The workload's directory may be gone already (removed meanwhile): never write the mark elsewhere.
        if (fs.existsSync(this.dir(id)))
          fs.writeFileSync(path.join(this.dir(id), "oom"), JSON.stringify({ rss, disk }));
        this.signal(rec!, "SIGKILL");
      }
    }
  }

  async close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
  }
}
