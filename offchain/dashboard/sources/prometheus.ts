/**
 * A small reader of the Prometheus text exposition format (what core/metrics serves on `/metrics`): samples by
 * metric name with their labels, and the figures the dashboard derives from a histogram. Pure: no I/O.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of `text`; comments, blank and malformed lines are skipped. */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    if (m[3] !== undefined)
      for (const l of m[3].matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    const value = m[4] === "+Inf" ? Infinity : m[4] === "-Inf" ? -Infinity : Number(m[4]);
    if (Number.isNaN(value) && m[4] !== "NaN") continue;
    out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sum of every sample named `name` whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples)
    if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  return total;
}

/** True if some sample is named `name`. */
export function has(samples: readonly Sample[], name: string): boolean {
  return samples.some((s) => s.name === name);
}

/**
 * The `q` quantile of histogram `name` (cumulative `_bucket{le}` samples summed over other labels), as the upper
 * bound of the bucket that holds it — the usual conservative estimate. Null when the histogram is empty.
 */
export function histogramQuantile(samples: readonly Sample[], name: string, q: number): number | null {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue;
    const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.length > 0 ? sorted[sorted.length - 1][1] : 0;
  if (total === 0) return null;
  const rank = q * total;
  for (const [le, c] of sorted) if (c >= rank) return le;
  return null;
}
