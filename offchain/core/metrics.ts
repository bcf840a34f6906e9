/**
 * Metrics: prom-client. One {@link Metrics} (one Registry) per process — `processMetrics()` — with
 * helpers that create counters, gauges and histograms named `hms_<name>` (idempotently: asking twice
 * for the same name returns the same metric). The HTTP transport serves the registry on `/metrics`;
 * `registerMetricsRoute` does it for any fastify server.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { FastifyInstance } from "fastify";
import { HmsError } from "./errors";

export const METRIC_PREFIX = "hms_";
const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export interface MetricsOptions {
  /** Prefix of every metric name; default `hms_`. */
  prefix?: string;
  /** Labels added to every metric (e.g. `{ replica: "0xabc…" }`). */
  defaultLabels?: Record<string, string>;
  /** Collect Node process metrics (CPU, memory, event loop lag); default false. */
  collectDefault?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  readonly prefix: string;
  private readonly made = new Map<string, Counter | Gauge | Histogram>();

  constructor(options: MetricsOptions = {}) {
    this.prefix = options.prefix ?? METRIC_PREFIX;
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    if (options.collectDefault) collectDefaultMetrics({ register: this.registry, prefix: this.prefix });
  }

  /** `name` with the prefix (added once). Throws `METRIC_NAME` for an invalid Prometheus name. */
  fullName(name: string): string {
    const full = name.startsWith(this.prefix) ? name : `${this.prefix}${name}`;
    if (!NAME_RE.test(full))
      throw new HmsError("METRICS_BAD_NAME", `invalid metric name ${JSON.stringify(name)}`, { value: name });
    return full;
  }

  private reuse<T extends Counter | Gauge | Histogram>(full: string, kind: new (...a: never[]) => T): T | undefined {
    const existing = this.made.get(full);
    if (existing === undefined) return undefined;
    if (!(existing instanceof kind))
      throw new HmsError("METRICS_TYPE_CONFLICT", `metric ${full} already exists with another type`, { value: full });
    return existing;
  }

  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const full = this.fullName(name);
    const found = this.reuse(full, Counter);
    if (found) return found as Counter<L>;
    const m = new Counter<L>({ name: full, help, labelNames, registers: [this.registry] });
    this.made.set(full, m as Counter);
    return m;
  }

  gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    const full = this.fullName(name);
    const found = this.reuse(full, Gauge);
    if (found) return found as Gauge<L>;
    const m = new Gauge<L>({ name: full, help, labelNames, registers: [this.registry] });
    this.made.set(full, m as Gauge);
    return m;
  }

  histogram<L extends string = string>(
    name: string,
    help: string,
    options: { labelNames?: readonly L[]; buckets?: number[] } = {},
  ): Histogram<L> {
    const full = this.fullName(name);
    const found = this.reuse(full, Histogram);
    if (found) return found as Histogram<L>;
    const m = new Histogram<L>({
      name: full,
      help,
      labelNames: options.labelNames ?? [],
      buckets: options.buckets ?? [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.made.set(full, m as Histogram);
    return m;
  }

  /** Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

let processWide: Metrics | undefined;

/** The process-wide registry (created on first use, with Node process metrics). */
export function processMetrics(): Metrics {
  processWide ??= new Metrics({ collectDefault: true });
  return processWide;
}

/** Serves `metrics` on `GET /metrics` of a fastify server. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get("/metrics", async (_req, reply) => {
    const text = await metrics.render();
    return reply.header("content-type", metrics.contentType).send(text);
  });
}
