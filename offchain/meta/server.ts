/**
 * The meta node's public HTTP API (docs/META.md; wire schemas in protocol/meta-wire.ts). Loopback by default.
 *
 *   POST /v1/place            placement of a new upload (master; a `path` the index would refuse a put at is refused first) → { placement }
 *   POST /v1/renew            an upload's placement under the current term (master)  → { term }
 *   POST /v1/replace          a node for a failed chain member (master)   → { node }
 *   POST /v1/commit           record a file (owner's IndexWrite "put")    → { term, index }
 *   POST /v1/write            mkdir | rm | mv (owner's IndexWrite)        → { term, index }
 *   GET  /v1/locate?cid= | ?owner=&path=   [&minIndex=]                  → { file }
 *   GET  /v1/ls?owner=&path=, /v1/stat?owner=&path=                       → { entries } / { stat }
 *   POST /v1/bad              a copy that failed a client's verification (master)
 *   POST /v1/receipts         one side's receipts (master)                → { results: [{ ack } | { error }] }
 *   GET  /v1/receipts?from=&to=   the validators' TrafficFeed (any node)  → { chainId, pool, periods }
 *   GET  /v1/proposal?period= the period's proposal input (master): receipts matched by task
 *   POST /v1/heartbeat        a worker's signed heartbeat (every node: workers send to all, the master acts)
 *   POST /v1/compute/heartbeat a compute worker's signed heartbeat with its workloads (meta/compute.ts)
 *   GET  /v1/compute/nodes    the compute node table
 *   POST /v1/uploads/committed  which uploads are in the index (GC)       → { committed }
 *   GET  /v1/nodes, POST /v1/measurements   node table / ContributionRegistry figures (master)
 *   GET  /v1/status, GET /health, GET /metrics  (status: role, term, positions, and the `network` a client signs for)
 *
 * Every reply carries `x-hms-meta-role`, `x-hms-meta-term` and `x-hms-meta-index` (applied) headers; errors are
 * `{ ok: false, error: { code, message, value, leader? } }` with the code's HTTP status.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { Address, Hex } from "viem";
import type { Logger } from "pino";
import { ERROR_CODES, HmsError, TransportError } from "../core/errors";
import { registerMetricsRoute, type Metrics } from "../core/metrics";
import { MAX_FEED_SPAN, RECEIPTS_PATH, periodToWire } from "../protocol/receipts";
import { receiptOfWire } from "../protocol/storage-wire";
import {
  META_HEADERS,
  META_PATHS,
  badReportSchema,
  commitRequestSchema,
  committedRequestSchema,
  endpointToWire,
  fileCommitFromWire,
  fileLocationToWire,
  heartbeatFromWire,
  parseMetaWire,
  placeRequestSchema,
  placementToWire,
  receiptAckToWire,
  receiptSubmitSchema,
  renewRequestSchema,
  replaceRequestSchema,
  writeRequestSchema,
} from "../protocol/meta-wire";
import { COMPUTE_HEARTBEAT_PATH, COMPUTE_NODES_PATH } from "../protocol/compute-supervise";
import type { MetaCluster } from "./cluster";
import type { MetaIndex } from "./index";
import type { NodeTable } from "./nodes";
import type { MetaService } from "./service";

export interface MetaServerDeps {
  service: MetaService;
  cluster: MetaCluster;
  index: MetaIndex;
  nodes: NodeTable;
  address: Address;
  apiUrl: () => string;
  domains: { chainId: number; miningPool: Address; nodeRegistry?: Address };
  /** MiningPool's period clock (reported in `/v1/status` so a client can sign grants and receipts). */
  clock?: { genesis: bigint; periodLength: bigint };
  logger: Logger;
  metrics: Metrics;
  /** Compute supervision (meta/compute.ts), when configured: heartbeats in, the node table out. */
  compute?: { heartbeat(raw: unknown): Promise<void>; nodes(): Record<string, unknown>[] };
}

function decimal(name: string, raw: unknown, optional = false): bigint | undefined {
  if (raw === undefined && optional) return undefined;
  if (typeof raw !== "string" || !/^(0|[1-9]\d{0,19})$/.test(raw))
    throw new HmsError("META_BAD_REQUEST", `query parameter ${name} must be a decimal integer`, { value: raw });
  return BigInt(raw);
}

function str(name: string, raw: unknown): string {
  if (typeof raw !== "string" || raw.length === 0)
    throw new HmsError("META_BAD_REQUEST", `query parameter ${name} is required`, { value: raw });
  return raw;
}

function ownerOf(raw: unknown): Address {
  const v = str("owner", raw);
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) throw new HmsError("META_BAD_REQUEST", "owner must be an address", { value: v });
  return v.toLowerCase() as Address;
}

const json = (v: unknown) =>
  JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x)));

export function createMetaServer(d: MetaServerDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  const requests = d.metrics.counter("meta_api_requests_total", "API requests, by route and status", [
    "route",
    "status",
  ]);
  app.addHook("onSend", async (req, reply, payload) => {
    reply.header(
      META_HEADERS.role,
      d.cluster.leading ? "leader" : d.cluster.role === "following" ? "follower" : "candidate",
    );
    reply.header(META_HEADERS.term, d.cluster.term.toString());
    reply.header(META_HEADERS.index, d.cluster.appliedIndex.toString());
    requests.inc({ route: req.routeOptions.url ?? "unknown", status: String(reply.statusCode) });
    return payload;
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    let status: number;
    let body: Record<string, unknown>;
    if (err instanceof HmsError) {
      status = err instanceof TransportError ? err.status : ERROR_CODES[err.code].http;
      body = err.toJSON();
    } else if (typeof err.statusCode === "number" && err.statusCode < 500) {
      status = err.statusCode;
      body = { code: "META_BAD_REQUEST", message: err.message };
    } else {
      d.logger.error({ err }, "meta request failed");
      status = 500;
      body = { code: "TRANSPORT_INTERNAL", message: "internal error" };
    }
    if (status >= 500 && status !== 503) d.logger.warn({ err: body }, "meta request failed");
    void reply.status(status).send({ ok: false, error: body });
  });

  const s = d.service;

  app.post(META_PATHS.place, async (req) => {
    const r = parseMetaWire(placeRequestSchema, req.body, "place request");
    return { ok: true, placement: placementToWire(await s.place(r)) };
  });

  app.post(META_PATHS.renew, async (req) => {
    const r = parseMetaWire(renewRequestSchema, req.body, "renew request");
    return { ok: true, term: (await s.renew(r)).toString() };
  });

  app.post(META_PATHS.replace, async (req) => {
    const r = parseMetaWire(replaceRequestSchema, req.body, "replace request");
    return { ok: true, node: endpointToWire(await s.replace(r)) };
  });

  app.post(META_PATHS.commit, async (req) => {
    const r = parseMetaWire(commitRequestSchema, req.body, "commit request");
    const file = fileCommitFromWire((req.body as { file: unknown }).file);
    const pos = await s.write({ op: "put", file }, r.write);
    return { ok: true, term: pos.term.toString(), index: pos.index.toString() };
  });

  app.post(META_PATHS.write, async (req) => {
    const r = parseMetaWire(writeRequestSchema, req.body, "index write");
    const op =
      r.op === "mkdir"
        ? { op: r.op, owner: r.owner, path: r.path }
        : r.op === "rm"
          ? { op: r.op, owner: r.owner, path: r.path, recursive: r.recursive }
          : { op: r.op, owner: r.owner, path: r.path, target: r.target };
    const pos = await s.write(op, r.write);
    return { ok: true, term: pos.term.toString(), index: pos.index.toString() };
  });

  app.get(META_PATHS.locate, async (req) => {
    const q = req.query as Record<string, unknown>;
    await s.fresh(decimal("minIndex", q.minIndex, true));
    const query =
      q.cid !== undefined ? { cid: str("cid", q.cid) } : { owner: ownerOf(q.owner), path: str("path", q.path) };
    return { ok: true, file: fileLocationToWire(await d.index.locate(query)) };
  });

  app.get(META_PATHS.ls, async (req) => {
    const q = req.query as Record<string, unknown>;
    await s.fresh(decimal("minIndex", q.minIndex, true));
    return { ok: true, entries: json(await d.index.ls(ownerOf(q.owner), str("path", q.path))) };
  });

  app.get(META_PATHS.stat, async (req) => {
    const q = req.query as Record<string, unknown>;
    await s.fresh(decimal("minIndex", q.minIndex, true));
    return { ok: true, stat: json(await d.index.stat(ownerOf(q.owner), str("path", q.path))) };
  });

  app.post(META_PATHS.bad, async (req) => {
    const r = parseMetaWire(badReportSchema, req.body, "bad-copy report");
    s.reportBad(r);
    return { ok: true };
  });

  app.post(RECEIPTS_PATH, async (req) => {
    const r = parseMetaWire(receiptSubmitSchema, req.body, "receipts");
    const results = await s.submitReceipts(r.side, r.receipts.map(receiptOfWire));
    return {
      ok: true,
      results: results.map((x) => ("ack" in x ? { ack: receiptAckToWire(x.ack) } : { error: x.error.toJSON() })),
    };
  });

  app.get(RECEIPTS_PATH, async (req) => {
    const q = req.query as Record<string, unknown>;
    const from = decimal("from", q.from)!;
    const to = decimal("to", q.to)!;
    if (to < from || to - from >= BigInt(MAX_FEED_SPAN))
      throw new HmsError("META_BAD_REQUEST", `from..to must be ascending and span at most ${MAX_FEED_SPAN}`, {
        value: `${from}..${to}`,
      });
    await s.fresh(decimal("minIndex", q.minIndex, true));
    const periods = await s.feed(from, to);
    return { ok: true, chainId: d.domains.chainId, pool: d.domains.miningPool, periods: periods.map(periodToWire) };
  });

  app.get(META_PATHS.proposal, async (req) => {
    const q = req.query as Record<string, unknown>;
    const p = await s.proposalInput(decimal("period", q.period)!);
    return {
      ok: true,
      period: p.period.toString(),
      ended: p.ended,
      receipts: periodToWire(p.receipts),
      matched: json(p.matched),
      flagged: json(p.flagged.map((f) => ({ taskId: f.taskId, reason: f.reason }))),
    };
  });

  app.post(META_PATHS.heartbeat, async (req) => {
    s.heartbeat(heartbeatFromWire(req.body));
    return { ok: true, term: d.cluster.term.toString() };
  });

  app.post(COMPUTE_HEARTBEAT_PATH, async (req) => {
    if (d.compute === undefined)
      throw new HmsError("META_BAD_REQUEST", "this meta node does not supervise compute (no compute config)", {
        value: COMPUTE_HEARTBEAT_PATH,
      });
    await d.compute.heartbeat(req.body);
    return { ok: true, term: d.cluster.term.toString() };
  });
  app.get(COMPUTE_NODES_PATH, async () => ({ ok: true, nodes: d.compute?.nodes() ?? [] }));

  app.post(META_PATHS.committed, async (req) => {
    const r = parseMetaWire(committedRequestSchema, req.body, "committed query");
    return { ok: true, committed: [...(await d.index.committed(r.uploadIds as Hex[]))] };
  });

  app.get(META_PATHS.nodes, async () => ({ ok: true, nodes: d.nodes.measurements() }));
  app.post(META_PATHS.measurements, async () => {
    if (!d.cluster.leading) throw d.cluster.notLeader();
    return { ok: true, term: d.cluster.term.toString(), nodes: d.nodes.measurements() };
  });

  const status = () => ({
    address: d.address,
    role: d.cluster.leading ? "leader" : d.cluster.role === "following" ? "follower" : "candidate",
    electionRole: d.cluster.role,
    /** Election back-off exponent: the timeouts are 2^n × the configured ones after terms without a master. */
    electionBackoff: d.cluster.electionBackoff,
    term: d.cluster.term.toString(),
    leader: d.cluster.leaderApiUrl,
    leaderAddress: d.cluster.leaderAddress,
    commitIndex: d.cluster.commitIndex.toString(),
    appliedIndex: d.cluster.appliedIndex.toString(),
    logIndex: d.cluster.tip.index.toString(),
    apiUrl: d.apiUrl(),
    peerUrl: d.cluster.peerUrl,
    nodesOnline: d.nodes.live().length,
    bloom: d.index.stats,
    // What a storage client signs against: the EIP-712 domains and the period clock of this network.
    network: {
      chainId: d.domains.chainId,
      nodeRegistry: d.domains.nodeRegistry,
      miningPool: d.domains.miningPool,
      period: d.clock ? { genesis: d.clock.genesis.toString(), length: d.clock.periodLength.toString() } : undefined,
    },
  });
  app.get(META_PATHS.status, async () => ({ ok: true, ...status() }));
  app.get("/health", async () => ({ ok: true, service: "meta", ...status(), uptimeSeconds: process.uptime() }));
  registerMetricsRoute(app, d.metrics);
  return app;
}
