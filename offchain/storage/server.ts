/**
 * The worker's HTTP server: fastify, loopback by default. Every rejection is an `HmsError` answered with its
 * registered status and `{ ok: false, error: { code, message, value, … } }` — the shape of core/transport.ts —
 * except under `/api/v0/`, where the Kubo RPC shape `{ Message, Code, Type: "error" }` is what the IPFS
 * clients parse. Bodies of slice writes are not parsed by fastify: the routes stream `req.raw` themselves.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { Logger } from "pino";
import { ERROR_CODES, HmsError } from "../core/errors";
import { Metrics, registerMetricsRoute } from "../core/metrics";

export interface StorageServerOptions {
  logger: Logger;
  metrics: Metrics;
  /** Idle timeout of a connection (no bytes either way), ms. */
  idleTimeoutMs: number;
  /** Fields of `GET /health` (called per request). */
  health: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** The status and JSON body of an error reply. */
export function errorReply(err: unknown, log: Logger): { status: number; error: HmsError } {
  if (err instanceof HmsError) return { status: ERROR_CODES[err.code].http, error: err };
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    return { status: 413, error: new HmsError("STORAGE_TOO_LARGE", e.message ?? "body too large") };
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500)
    return {
      status: e.statusCode,
      error: new HmsError(
        e.statusCode === 404 ? "TRANSPORT_NOT_FOUND" : "STORAGE_BAD_REQUEST",
        e.message ?? "bad request",
      ),
    };
  log.error({ err }, "storage request failed");
  return { status: 500, error: new HmsError("TRANSPORT_INTERNAL", "internal error") };
}

export function createStorageServer(options: StorageServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    connectionTimeout: options.idleTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: 30_000,
    forceCloseConnections: "idle",
    bodyLimit: 1024 * 1024,
    // CIDs are path parameters: a base32 CIDv1 of a 512-bit digest is ~115 characters.
    routerOptions: { maxParamLength: 512 },
    // Errors raised before routing (bad URL, over-long parameter) get the same JSON shape as the rest.
    frameworkErrors: (err, _req, reply) => {
      const error = new HmsError("STORAGE_BAD_REQUEST", err.message, { value: err.code });
      void (reply as FastifyReply).status(400).send({ ok: false, error: error.toJSON() });
    },
  });
  const rejected = options.metrics.counter("storage_rejected_total", "Requests rejected, by error code", ["code"]);
  app.setErrorHandler((err, req, reply) => {
    const { status, error } = errorReply(err, options.logger);
    rejected.inc({ code: error.code });
    if (reply.raw.headersSent || reply.raw.destroyed) return;
    if (req.url.startsWith("/api/v0/"))
      void reply.status(status).send({ Message: error.message, Code: 0, Type: "error", hms: error.toJSON() });
    else void reply.status(status).send({ ok: false, error: error.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    const error = new HmsError("TRANSPORT_NOT_FOUND", `nothing at ${req.method} ${req.url}`, { value: req.url });
    void reply.status(404).send({ ok: false, error: error.toJSON() });
  });
  app.get("/health", async () => ({
    ok: true,
    role: "storage",
    uptimeSeconds: process.uptime(),
    ...(await options.health()),
  }));
  registerMetricsRoute(app, options.metrics);
  return app;
}
