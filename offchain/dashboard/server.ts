/**
 * `hms dashboard`'s HTTP server (fastify, 127.0.0.1 by default): the built single-page app (Vite output of
 * offchain/dashboard/web, `npm run dashboard:build`), and its API —
 *
 *   GET /api/snapshot          the latest {@link Snapshot} (JSON)
 *   GET /api/events            Server-Sent Events: `snapshot` with the full snapshot at connect and at every change
 *   GET /api/reports/:period   the report document of a period, from a validator, checked against its dataCid
 *   GET /health                `{ ok, clients, version }`
 *
 * The collector reads every upstream source once per poll whatever the number of browsers; each browser holds one
 * SSE connection. Nothing here holds a key: every source is public.
 */
import fs from "node:fs";
import path from "node:path";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { Logger } from "pino";
import { loadDeployment, type Deployment } from "../chain/deployment";
import { HmsError, isHmsError } from "../core/errors";
import { DEFAULT_ASSETS_DIR } from "./assets";
import { Collector, type WatchList } from "./collector";
import type { DashboardConfig } from "./config";
import type { Snapshot } from "./snapshot";
import { fetchUpstream } from "./sources/daemons";

export { DEFAULT_ASSETS_DIR };

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
};

export interface DashboardServer {
  url: string;
  collector: Collector;
  app: FastifyInstance;
  /** Watches more daemons from now on. */
  watch(add: Partial<WatchList>): void;
  /** Number of SSE clients connected. */
  readonly clients: number;
  close(): Promise<void>;
}

export interface DashboardDeps {
  logger: Logger;
  /** A deployment object instead of reading `config.deployment`. */
  deployment?: Deployment;
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const e = isHmsError(err) ? err : new HmsError("DASHBOARD_UPSTREAM", (err as Error)?.message ?? String(err));
  return reply.code(e.spec.http).send({ ok: false, error: e.toJSON() });
}

/** Starts the collector and the HTTP server. Throws `DASHBOARD_NOT_BUILT` when the assets are missing. */
export async function startDashboard(config: DashboardConfig, deps: DashboardDeps): Promise<DashboardServer> {
  const assets = path.resolve(config.assetsDir ?? DEFAULT_ASSETS_DIR);
  const index = path.join(assets, "index.html");
  if (!fs.existsSync(index))
    throw new HmsError("DASHBOARD_NOT_BUILT", `no ${index}: run \`npm run dashboard:build\` first`, { value: assets });
  const deployment = deps.deployment ?? loadDeployment(config.deployment);
  const log = deps.logger;
  const collector = new Collector({
    rpcUrl: config.rpcUrl,
    deployment,
    chainPollMs: config.chainPollMs,
    healthPollMs: config.healthPollMs,
    requestTimeoutMs: config.requestTimeoutMs,
    fromBlock: config.fromBlock,
    validators: config.validators,
    storage: config.storage,
    compute: config.compute,
    meta: config.meta,
    owners: config.owners,
    logger: log,
  });
  await collector.start();

  const app = Fastify({ logger: false });
  const clients = new Set<FastifyReply>();
  const frame = (s: Snapshot) => `event: snapshot\nid: ${s.version}\ndata: ${JSON.stringify(s)}\n\n`;
  const unsubscribe = collector.subscribe((s) => {
    const text = frame(s);
    for (const c of clients) c.raw.write(text);
  });
  const keepAlive = setInterval(() => {
    for (const c of clients) c.raw.write(": keep-alive\n\n");
  }, 15_000);

  app.get("/health", async () => ({ ok: true, clients: clients.size, version: collector.snapshot.version }));
  app.get("/api/snapshot", async (_req, reply) => reply.header("cache-control", "no-store").send(collector.snapshot));
  app.get("/api/events", (req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    reply.raw.write("retry: 2000\n\n");
    reply.raw.write(frame(collector.snapshot));
    clients.add(reply);
    req.raw.on("close", () => clients.delete(reply));
  });
  app.get<{ Params: { period: string } }>("/api/reports/:period", async (req, reply) => {
    const period = req.params.period;
    if (!/^\d{1,20}$/.test(period))
      return sendError(
        reply,
        new HmsError("DASHBOARD_BAD_REQUEST", `bad period ${JSON.stringify(period)}`, { value: period }),
      );
    for (const url of collector.snapshot.validators.map((v) => v.url)) {
      try {
        const body = (await fetchUpstream(`${url}/v1/reports/${period}`, config.requestTimeoutMs)) as {
          document?: unknown;
        };
        if (body.document !== undefined && collector.chain.attachDocument(BigInt(period), body.document as never))
          return reply.send({ ok: true, period, source: url, document: body.document });
      } catch {
        // try the next validator
      }
    }
    return sendError(
      reply,
      new HmsError("DASHBOARD_NOT_FOUND", `no validator serves a verified report document of period ${period}`, {
        value: period,
      }),
    );
  });
  // The SPA: files of the build, index.html for anything else (client-side routes are #hashes anyway).
  app.get("/*", async (req, reply) => {
    const rel = decodeURIComponent((req.params as { "*": string })["*"] ?? "");
    const file = path.resolve(assets, rel === "" ? "index.html" : rel);
    const inside = file === assets || file.startsWith(assets + path.sep);
    const target = inside && fs.existsSync(file) && fs.statSync(file).isFile() ? file : index;
    const type = TYPES[path.extname(target)] ?? "application/octet-stream";
    const immutable = target !== index && rel.startsWith("assets/");
    return reply
      .header("content-type", type)
      .header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache")
      .send(fs.createReadStream(target));
  });

  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.listen.port;
  const url = `http://${config.listen.host}:${port}`;
  log.info(
    { url, assets, validators: config.validators.length, storage: config.storage.length },
    "dashboard listening",
  );
  return {
    url,
    collector,
    app,
    watch: (add) => collector.addDaemons(add),
    get clients() {
      return clients.size;
    },
    async close() {
      clearInterval(keepAlive);
      unsubscribe();
      collector.stop();
      for (const c of clients) c.raw.end();
      clients.clear();
      await app.close();
    },
  };
}
