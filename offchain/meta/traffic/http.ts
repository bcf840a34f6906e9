/**
 * The traffic feed over HTTP: `serveTrafficFeed` exposes any {@link TrafficFeed} (the generator today, the meta
 * layer later) and `HttpTrafficFeed` is the client the validator daemons use. Loopback by default.
 *
 *   GET /v1/receipts?from=<period>&to=<period>  → { chainId, pool, periods: [WirePeriod…] }
 *   GET /health                                 → { ok: true, role: "traffic-source", … }
 *   GET /metrics                                → Prometheus text (hms_traffic_*)
 *
 * Errors reply `{ ok: false, error: { code, message, value } }` with 400 (bad range) or 500.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { Agent, request } from "undici";
import type { Address } from "viem";
import type { Logger } from "pino";
import { HmsError, TransportError, ValidationError } from "../../core/errors";
import { Metrics, registerMetricsRoute } from "../../core/metrics";
import {
  MAX_FEED_SPAN,
  periodFromWire,
  periodToWire,
  type PeriodReceipts,
  type TrafficFeed,
  type WirePeriod,
} from "./feed";

export const RECEIPTS_PATH = "/v1/receipts";

export interface ServeOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  chainId: number;
  pool: Address;
  logger?: Logger;
  metrics?: Metrics;
  /** Extra `/health` fields. */
  health?: () => Record<string, unknown>;
}

export interface ServedFeed {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

function parsePeriod(name: string, raw: unknown): bigint {
  if (typeof raw !== "string" || !/^(0|[1-9]\d{0,19})$/.test(raw))
    throw new ValidationError("TRAFFIC_RANGE", `query parameter ${name} must be a decimal period`, { value: raw });
  return BigInt(raw);
}

/** Serves `feed` over HTTP; resolves once listening. */
export async function serveTrafficFeed(feed: TrafficFeed, options: ServeOptions): Promise<ServedFeed> {
  const app = Fastify({ logger: false });
  const served = options.metrics?.counter("traffic_periods_served_total", "Periods of receipts served");
  const queries = options.metrics?.counter("traffic_queries_total", "Receipt queries", ["status"]);
  app.setErrorHandler((err: Error, _req, reply) => {
    const status = err instanceof TransportError ? err.status : err instanceof ValidationError ? 400 : 500;
    const body =
      err instanceof HmsError ? err.toJSON() : { code: "INTERNAL", message: "internal error", value: undefined };
    if (status === 500) options.logger?.error({ err }, "traffic feed request failed");
    queries?.inc({ status: String(status) });
    void reply.status(status).send({ ok: false, error: body });
  });
  app.get(RECEIPTS_PATH, async (req) => {
    const q = req.query as Record<string, unknown>;
    const from = parsePeriod("from", q.from);
    const to = parsePeriod("to", q.to);
    if (to < from || to - from >= BigInt(MAX_FEED_SPAN))
      throw new ValidationError("TRAFFIC_RANGE", `from..to must be ascending and span at most ${MAX_FEED_SPAN}`, {
        value: `${from}..${to}`,
      });
    const periods = await feed.receipts(from, to);
    served?.inc(periods.length);
    queries?.inc({ status: "200" });
    return { chainId: options.chainId, pool: options.pool, periods: periods.map(periodToWire) };
  });
  app.get("/health", async () => ({
    ok: true,
    role: "traffic-source",
    uptimeSeconds: process.uptime(),
    ...(options.health?.() ?? {}),
  }));
  if (options.metrics) registerMetricsRoute(app, options.metrics);
  const host = options.host ?? "127.0.0.1";
  await app.listen({ host, port: options.port ?? 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === "string") throw new TransportError("LISTEN", 0, "server has no TCP address");
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
  return { url, app, close: () => app.close() };
}

/** A {@link TrafficFeed} read from a traffic source (or meta node) over HTTP. */
export class HttpTrafficFeed implements TrafficFeed {
  private readonly agent: Agent;
  private readonly base: string;

  constructor(
    url: string,
    private readonly options: { timeoutMs?: number; chainId?: number; pool?: Address } = {},
  ) {
    this.base = url.replace(/\/+$/, "");
    const timeout = options.timeoutMs ?? 10_000;
    this.agent = new Agent({ keepAliveTimeout: 10_000, headersTimeout: timeout, bodyTimeout: timeout });
  }

  /**
   * Fetches receipts of `from`..`to` (split into MAX_FEED_SPAN chunks). Throws a {@link TransportError}
   * (`UNREACHABLE`, `HTTP_<status>`, `TRAFFIC_WIRE`) or, if the source serves another chain or pool than
   * expected, `TRAFFIC_DOMAIN`.
   */
  async receipts(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    const out: PeriodReceipts[] = [];
    for (let lo = from; lo <= to; lo += BigInt(MAX_FEED_SPAN)) {
      const hi = lo + BigInt(MAX_FEED_SPAN) - 1n < to ? lo + BigInt(MAX_FEED_SPAN) - 1n : to;
      out.push(...(await this.fetch(lo, hi)));
    }
    return out;
  }

  private async fetch(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    const url = `${this.base}${RECEIPTS_PATH}?from=${from}&to=${to}`;
    let res;
    try {
      res = await request(url, { method: "GET", dispatcher: this.agent });
    } catch (err) {
      throw new TransportError("UNREACHABLE", 0, `traffic source ${this.base} unreachable: ${(err as Error).message}`, {
        value: this.base,
        cause: err,
      });
    }
    const text = await res.body.text();
    let body: { ok?: boolean; chainId?: number; pool?: string; periods?: WirePeriod[]; error?: { message?: string } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new TransportError("BAD_REPLY", res.statusCode, `non-JSON reply from ${url}`, {
        value: text.slice(0, 200),
      });
    }
    if (res.statusCode !== 200 || !Array.isArray(body.periods))
      throw new TransportError(
        `HTTP_${res.statusCode}`,
        res.statusCode,
        body.error?.message ?? `HTTP ${res.statusCode}`,
        {
          value: url,
        },
      );
    if (
      (this.options.chainId !== undefined && body.chainId !== this.options.chainId) ||
      (this.options.pool !== undefined && body.pool?.toLowerCase() !== this.options.pool.toLowerCase())
    )
      throw new TransportError("TRAFFIC_DOMAIN", 502, `traffic source serves chain ${body.chainId} pool ${body.pool}`, {
        value: { chainId: body.chainId, pool: body.pool },
      });
    return body.periods.map(periodFromWire);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
