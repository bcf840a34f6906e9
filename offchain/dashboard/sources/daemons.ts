/**
 * The daemons' public endpoints: one poll of a validator's, storage worker's or compute worker's `/health` (and a
 * validator's `/metrics`), turned into the rows of the Network and Consensus views. A daemon is up while its last
 * poll answered `ok: true` within the timeout; the first failed poll marks it down (so a killed worker turns red
 * within one poll interval). State between polls (last seen, down since) lives in {@link DaemonWatcher}.
 */
import { HmsError } from "../../core/errors";
import type { DaemonHealth, StorageWorkerView, ValidatorMetrics, ValidatorView } from "../snapshot";
import { has, histogramQuantile, parsePrometheus, sumOf } from "./prometheus";

/** GET `url` with a timeout; JSON or text. Throws `DASHBOARD_UPSTREAM` naming the URL. */
export async function fetchUpstream(url: string, timeoutMs: number, as: "json" | "text" = "json"): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new HmsError(
      "DASHBOARD_UPSTREAM",
      `${url}: ${(err as Error).name === "TimeoutError" ? "timed out" : (err as Error).message}`,
      {
        value: url,
        cause: err,
      },
    );
  }
  const text = await res.text().catch(() => "");
  if (!res.ok)
    throw new HmsError("DASHBOARD_UPSTREAM", `${url}: HTTP ${res.status}`, {
      value: url,
      details: { status: res.status },
    });
  if (as === "text") return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new HmsError("DASHBOARD_UPSTREAM", `${url}: not JSON`, { value: url });
  }
}

/** The figures of the Consensus view, from a validator's `/metrics` text. */
export function validatorMetrics(text: string): ValidatorMetrics {
  const s = parsePrometheus(text);
  const roundCount = sumOf(s, "hms_validator_round_seconds_count");
  const latencyCount = sumOf(s, "hms_validator_report_latency_seconds_count");
  return {
    roundCount,
    roundSumSeconds: sumOf(s, "hms_validator_round_seconds_sum"),
    roundP50: histogramQuantile(s, "hms_validator_round_seconds", 0.5),
    roundP90: histogramQuantile(s, "hms_validator_round_seconds", 0.9),
    viewChanges: has(s, "hms_validator_view_changes_total")
      ? sumOf(s, "hms_validator_view_changes_total")
      : sumOf(s, "hms_pbft_view_changes_total"),
    reportLatencyMean: latencyCount > 0 ? sumOf(s, "hms_validator_report_latency_seconds_sum") / latencyCount : null,
    periodsReportedSelf: sumOf(s, "hms_validator_periods_reported_total", { by: "self" }),
    periodsReportedOther: sumOf(s, "hms_validator_periods_reported_total", { by: "other" }),
  };
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : typeof v === "number" ? String(v) : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Keeps each watched daemon's last answer and when it went down. */
export class DaemonWatcher {
  private readonly state = new Map<string, DaemonHealth>();

  constructor(private readonly timeoutMs: number) {}

  /** Polls `url`/health once and returns the updated row. */
  async poll(url: string, kind: DaemonHealth["kind"], now = Date.now()): Promise<DaemonHealth> {
    const prev = this.state.get(url) ?? { url, kind, up: false, lastSeen: null, downSince: null, health: null };
    let row: DaemonHealth;
    try {
      const body = (await fetchUpstream(`${url}/health`, this.timeoutMs)) as Record<string, unknown>;
      if (body === null || typeof body !== "object" || body.ok !== true)
        throw new HmsError("DASHBOARD_UPSTREAM", `${url}/health: not ok`, { value: url });
      row = { url, kind, up: true, lastSeen: now, downSince: null, health: body };
    } catch (err) {
      row = {
        url,
        kind,
        up: false,
        lastSeen: prev.lastSeen,
        downSince: prev.up || prev.downSince === null ? now : prev.downSince,
        health: prev.health,
        error: (err as Error).message,
      };
    }
    this.state.set(url, row);
    return row;
  }

  /** Forgets daemons no longer watched. */
  retain(urls: readonly string[]): void {
    for (const k of [...this.state.keys()]) if (!urls.includes(k)) this.state.delete(k);
  }
}

/** A storage worker's row from its health row. */
export function storageView(row: DaemonHealth): StorageWorkerView {
  const h = row.health ?? {};
  return {
    ...row,
    nodeId: str(h.nodeId),
    region: str(h.region),
    capacity: num(h.capacity),
    free: num(h.free),
    diskFree: num(h.diskFree),
    slices: num(h.slices),
    bytes: num(h.bytes),
  };
}

/** A validator's row from its health row and (when it answered) its metrics. */
export function validatorView(row: DaemonHealth, metrics: ValidatorMetrics | null): ValidatorView {
  const h = row.health ?? {};
  return {
    ...row,
    address: str(h.address),
    role: row.up ? str(h.role) : null,
    epoch: str(h.epoch),
    view: num(h.view),
    lastReported: str(h.lastReported),
    metrics,
  };
}
