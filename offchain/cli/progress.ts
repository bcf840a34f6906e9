/**
 * Transfer progress of `hms put` / `hms get` on stderr: on a terminal a bar redrawn in place (bytes, percent,
 * bytes/s, ETA), otherwise one plain line every few seconds (logs stay readable), nothing at all with `--json`.
 * The formatting is pure (tested on its own); {@link ProgressReporter} only decides when to write.
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** "0 B", "512 B", "1.5 KiB", "3.00 MiB", "12.3 GiB" (binary units, 3 significant digits from KiB up). */
export function formatBytes(bytes: number | bigint): string {
  let n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return "? B";
  let u = 0;
  while (n >= 1024 && u < UNITS.length - 1) {
    n /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(n)} B`;
  const digits = n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return `${n.toFixed(digits)} ${UNITS[u]}`;
}

/** "1.20 MiB/s"; "-" when the rate is unknown (no time elapsed yet). */
export function formatRate(bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) return "-";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "0s", "45s", "3m07s", "2h05m"; "--" when unknown (rate 0 or not measured yet). */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(s / 3600);
  if (h >= 100) return `${h}h`;
  return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Seconds left at `rate` bytes/s (undefined when the rate is unknown or zero). */
export function etaSeconds(done: number, total: number, rate: number | undefined): number | undefined {
  if (done >= total) return 0;
  if (rate === undefined || !(rate > 0)) return undefined;
  return (total - done) / rate;
}

/** "[#########-----------]" of `width` cells (inner), full at done ≥ total, empty when total is 0 and nothing done. */
export function renderBar(done: number, total: number, width = 24): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : done > 0 ? 1 : 0;
  const full = Math.round(fraction * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}]`;
}

/** Percentage with one decimal ("42.0%"); "100.0%" for an empty total. */
export function formatPercent(done: number, total: number): string {
  const p = total > 0 ? Math.min(100, (done / total) * 100) : 100;
  return `${p.toFixed(1)}%`;
}

export interface ProgressSnapshot {
  label: string;
  done: number;
  total: number;
  /** Bytes per second (undefined before it can be measured). */
  rate: number | undefined;
  elapsedMs: number;
}

/** The terminal bar line: "put a.bin [####----] 1.50 MiB / 3.00 MiB  50.0%  1.20 MiB/s  ETA 2s". */
export function barLine(p: ProgressSnapshot, width = 24): string {
  return `${p.label} ${renderBar(p.done, p.total, width)} ${formatBytes(p.done)} / ${formatBytes(p.total)}  ${formatPercent(p.done, p.total)}  ${formatRate(p.rate)}  ETA ${formatEta(etaSeconds(p.done, p.total, p.rate))}`;
}

/** A plain progress line: "put a.bin: 1.50 MiB of 3.00 MiB (50.0%), 1.20 MiB/s, ETA 2s". */
export function plainLine(p: ProgressSnapshot): string {
  return `${p.label}: ${formatBytes(p.done)} of ${formatBytes(p.total)} (${formatPercent(p.done, p.total)}), ${formatRate(p.rate)}, ETA ${formatEta(etaSeconds(p.done, p.total, p.rate))}`;
}

/** The closing line of a finished transfer: "put a.bin: 3.00 MiB in 2.5s (1.20 MiB/s)". */
export function doneLine(label: string, bytes: number, elapsedMs: number): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? bytes / seconds : undefined;
  return `${label}: ${formatBytes(bytes)} in ${seconds.toFixed(1)}s (${formatRate(rate)})`;
}

/**
 * Measures a transfer's rate over a sliding window (the last `windowMs` of samples, so a stall shows) and writes
 * its progress: a bar redrawn with `\r` at most every `ttyIntervalMs` on a terminal, else a line every
 * `plainIntervalMs`; `mode: "silent"` writes nothing.
 */
export class ProgressReporter {
  private readonly samples: Array<{ t: number; bytes: number }> = [];
  private readonly started: number;
  private lastWrite = -Infinity;
  private drawn = false;
  private done = 0;

  constructor(
    private readonly options: {
      label: string;
      total: number;
      mode: "tty" | "plain" | "silent";
      write: (text: string) => void;
      now?: () => number;
      windowMs?: number;
      ttyIntervalMs?: number;
      plainIntervalMs?: number;
      width?: number;
    },
  ) {
    this.started = this.now();
    this.samples.push({ t: this.started, bytes: 0 });
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Bytes per second over the window (undefined until time has passed). */
  rate(at = this.now()): number | undefined {
    const windowMs = this.options.windowMs ?? 5_000;
    while (this.samples.length > 2 && this.samples[1].t < at - windowMs) this.samples.shift();
    const first = this.samples[0];
    const dt = at - first.t;
    if (dt <= 0) return undefined;
    return ((this.done - first.bytes) * 1000) / dt;
  }

  snapshot(at = this.now()): ProgressSnapshot {
    return {
      label: this.options.label,
      done: this.done,
      total: this.options.total,
      rate: this.rate(at),
      elapsedMs: at - this.started,
    };
  }

  /** Records `done` bytes so far; writes when it is time to. */
  update(done: number): void {
    const at = this.now();
    this.done = done;
    this.samples.push({ t: at, bytes: done });
    const { mode } = this.options;
    if (mode === "silent") return;
    const interval = mode === "tty" ? (this.options.ttyIntervalMs ?? 100) : (this.options.plainIntervalMs ?? 2_000);
    if (at - this.lastWrite < interval) return;
    this.lastWrite = at;
    if (mode === "tty") {
      this.options.write(`\r${barLine(this.snapshot(at), this.options.width)}\u001b[K`);
      this.drawn = true;
    } else this.options.write(`${plainLine(this.snapshot(at))}\n`);
  }

  /** Ends the progress display with the summary line (nothing in silent mode). */
  finish(message?: string): void {
    const at = this.now();
    if (this.options.mode === "silent") return;
    const line = message ?? doneLine(this.options.label, this.done, at - this.started);
    this.options.write(this.drawn ? `\r${line}\u001b[K\n` : `${line}\n`);
  }

  /** Clears a drawn bar (on failure: the error line follows on a clean line). */
  abort(): void {
    if (this.options.mode === "tty" && this.drawn) this.options.write("\r\u001b[K");
  }
}
