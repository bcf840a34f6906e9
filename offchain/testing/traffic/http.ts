/**
 * The stand-in traffic feed over HTTP: `serveTrafficFeed` exposes any {@link TrafficFeed} (the seeded generator
 * in tests) with the same API the meta layer serves; `HttpTrafficFeed` (offchain/client/feed.ts) reads it.
 * Loopback by default.
 *
 *   GET /v1/receipts?from=<period>&to=<period>  → { chainId, pool, periods: [WirePeriod…] }
 *   GET /health                                 → { ok: true, role: "traffic-source", … }
 *   GET /metrics                                → Prometheus text (hms_traffic_*)
 *
 * Errors reply `{ ok: false, error: { code, message, value } }` with 400 (bad range) or 500.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { Address } from "viem";
import type { Logger } from "pino";
import { HmsError, TransportError, ValidationError } from "../../core/errors";
import { Metrics, registerMetricsRoute } from "../../core/metrics";
import { MAX_FEED_SPAN, periodToWire, type TrafficFeed, RECEIPTS_PATH } from "../../protocol/receipts";

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
      err instanceof HmsError
        ? err.toJSON()
        : { code: "TRANSPORT_INTERNAL", message: "internal error", value: undefined };
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
  try {
    await app.listen({ host, port: options.port ?? 0 });
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new TransportError(
      "TRANSPORT_LISTEN",
      undefined,
      `cannot listen on ${host}:${options.port ?? 0}: ${code === "EADDRINUSE" ? "the port is in use" : (err as Error).message}`,
      { value: `${host}:${options.port ?? 0}`, cause: err },
    );
  }
  const addr = app.server.address();
  if (addr === null || typeof addr === "string")
    throw new TransportError("TRANSPORT_LISTEN", 0, "server has no TCP address");
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
  return { url, app, close: () => app.close() };
}
