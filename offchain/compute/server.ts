/**
 * The compute worker's HTTP server: fastify, loopback by default, `/health` and `/metrics`, and every rejection
 * an `HmsError` answered with its registered status and `{ ok: false, error: { code, message, value, … } }`.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { ERROR_CODES, HmsError } from "../core/errors";
import { registerMetricsRoute, type Metrics } from "../core/metrics";

export interface ComputeServerOptions {
  logger: Logger;
  metrics: Metrics;
  health: () => Promise<Record<string, unknown>>;
}

export function createComputeServer(options: ComputeServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024, forceCloseConnections: true });
  const rejected = options.metrics.counter("compute_rejected_total", "Requests rejected, by error code", ["code"]);
  app.setErrorHandler((err, _req, reply) => {
    let error: HmsError;
    let status: number;
    if (err instanceof HmsError) {
      error = err;
      status = ERROR_CODES[err.code].http;
    } else {
      const e = err as { statusCode?: number; message?: string };
      status = typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
      error =
        status === 500
          ? new HmsError("TRANSPORT_INTERNAL", "internal error")
          : new HmsError("TRANSPORT_BAD_REQUEST", e.message ?? "bad request");
      if (status === 500) options.logger.error({ err }, "compute request failed");
    }
    rejected.inc({ code: error.code });
    void reply.status(status).send({ ok: false, error: error.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    const error = new HmsError("TRANSPORT_NOT_FOUND", `nothing at ${req.method} ${req.url}`, { value: req.url });
    void reply.status(404).send({ ok: false, error: error.toJSON() });
  });
  app.get("/health", async () => ({
    ok: true,
    role: "compute",
    uptimeSeconds: process.uptime(),
    ...(await options.health()),
  }));
  registerMetricsRoute(app, options.metrics);
  return app;
}
