/**
 * A storage worker: the block store, the services around it (pipeline, reads, repair, receipts, GC, the IPFS
 * API) and their HTTP routes, wired together. `daemon.ts` builds one from the configuration; tests build one
 * in process with injected collaborators.
 *
 * Routes (docs/STORAGE.md, "HTTP API"):
 *   PUT  /v1/slices/<cid>          pipelined write (pipeline.ts)
 *   GET  /v1/slices/<cid>          verified read, Range (serve.ts)
 *   POST /v1/replicate             repair order from the meta master (replicate.ts)
 *   GET  /v1/receipts?from=&to=    node-side receipts, traffic-feed format
 *   POST /v1/gc                    run a GC pass now (loopback callers only)
 *   /api/v0/*, /ipfs/<cid>         IPFS RPC subset and trustless gateway (ipfs/)
 *   GET  /health, GET /metrics
 */
import path from "node:path";
import fs from "node:fs";
import type { FastifyInstance } from "fastify";
import type { Address, Hex } from "viem";
import type { Logger } from "pino";
import { HmsError } from "../core/errors";
import { moduleLogger } from "../core/logger";
import type { Metrics } from "../core/metrics";
import { Store } from "../core/store";
import type { StorageNetwork } from "../protocol/network";
import { MAX_FEED_SPAN, RECEIPTS_PATH, periodToWire } from "../protocol/receipts";
import { REPLICATE_PATH, SLICES_PATH, type UploadCommits } from "../protocol/storage-wire";
import type { PeriodClock, ReceiptSink } from "../protocol/transfer";
import { privateKeySigner } from "../client/storage/signer";
import { WorkerClient } from "../client/storage/worker-client";
import { FsBlockstore, type SliceStore } from "./blockstore";
import { GarbageCollector, type GcOptions } from "./gc";
import { peerIdOf } from "./ipfs/peer-id";
import { registerIpfsRoutes } from "./ipfs/routes";
import { KuboBlockstore } from "./kubo-blockstore";
import { OpenLeaseGate, type LeaseGate } from "./lease";
import { SlicePipeline } from "./pipeline";
import { Replicator } from "./replicate";
import { SliceServer } from "./serve";
import { createStorageServer } from "./server";
import { NodeSigner, type SigningDomains } from "./signer";
import { ReceiptOutbox, TermFence, UploadRecords } from "./state";
import { HeartbeatSender } from "./heartbeat";
import type { SignedHeartbeat } from "../protocol/meta-wire";

export interface StorageWorkerOptions {
  nodeId: Hex;
  /** The node's registered signing key. */
  privateKey: Hex;
  dataDir: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Advertised base URL (default `http://<host>:<port>`). */
  publicUrl?: string;
  region: string;
  capacityBytes: number;
  maxBlockBytes: number;
  domains: SigningDomains;
  clock: PeriodClock;
  fsync?: boolean;
  verifyOnRead?: boolean;
  /** Block backend: this machine's disk (default) or a Kubo node's RPC API. */
  kuboUrl?: string;
  hopTimeoutMs?: number;
  fetchTimeoutMs?: number;
  gc?: Partial<GcOptions> & { intervalMs?: number };
  lease?: LeaseGate;
  /** The meta layer's answer to "was this upload committed?" (GC of abandoned uploads). */
  commits?: UploadCommits;
  /** Where node-side receipts go after the local outbox (the meta client). */
  receiptSink?: ReceiptSink;
  /** With a network, IPFS `add` stores 3 copies through the pipeline instead of locally. */
  network?: StorageNetwork;
  logger: Logger;
  metrics: Metrics;
  /** Clock, ms (tests). */
  now?: () => number;
  /** Signed heartbeats to the meta master (heartbeat.ts), when a meta client is wired in. */
  heartbeat?: { send(beat: SignedHeartbeat): Promise<void>; intervalMs: number };
  /**
   * Tells the meta master that this node lost its copy of a block (found corrupt on a read and quarantined), as an
   * HDFS DataNode reports bad blocks to the NameNode: the master checks the copy and re-creates it elsewhere.
   */
  reportLost?: (cid: string) => Promise<void>;
}

function isLoopback(ip: string): boolean {
  return ip === "127.0.0.1" || ip === "::1" || ip === "::ffff:127.0.0.1";
}

export class StorageWorker {
  readonly nodeId: Hex;
  readonly address: Address;
  readonly region: string;
  url = "";
  private gcTimer: NodeJS.Timeout | undefined;
  private heartbeats: HeartbeatSender | undefined;
  private stopped = false;

  private constructor(
    private readonly options: StorageWorkerOptions,
    readonly app: FastifyInstance,
    readonly state: Store,
    readonly store: SliceStore,
    readonly signer: NodeSigner,
    readonly fence: TermFence,
    readonly records: UploadRecords,
    readonly receipts: ReceiptOutbox,
    readonly pipeline: SlicePipeline,
    readonly gc: GarbageCollector,
    private readonly client: WorkerClient,
    private readonly log: Logger,
  ) {
    this.nodeId = signer.nodeId;
    this.address = signer.address;
    this.region = options.region;
  }

  /** Opens the data directory (locked: one worker per directory), builds the services, listens. */
  static async start(options: StorageWorkerOptions): Promise<StorageWorker> {
    const log = moduleLogger(options.logger, "storage", { nodeId: options.nodeId });
    const now = options.now ?? Date.now;
    try {
      await fs.promises.mkdir(options.dataDir, { recursive: true });
    } catch (err) {
      throw new HmsError("STORAGE_DATA_DIR", `cannot create ${options.dataDir}: ${(err as Error).message}`, {
        value: options.dataDir,
        cause: err,
      });
    }
    // A small memtable: the state is a few records per slice, and a worker's memory is budgeted (docs/STORAGE.md).
    const state = await Store.open(path.join(options.dataDir, "state"), { writeBufferSize: 4 * 1024 * 1024 });
    const client = new WorkerClient({ timeoutMs: options.hopTimeoutMs ?? 15_000 });
    let store: SliceStore | undefined;
    try {
      store =
        options.kuboUrl !== undefined
          ? await KuboBlockstore.open(options.kuboUrl, { capacity: options.capacityBytes })
          : await FsBlockstore.open(options.dataDir, {
              capacity: options.capacityBytes,
              fsync: options.fsync,
              verifyOnRead: options.verifyOnRead,
              onQuarantine: (cid) => {
                log.warn({ cid }, "block corrupt on disk: quarantined, never served; reported to the meta master");
                void options
                  .reportLost?.(cid)
                  .catch((err: unknown) =>
                    log.warn({ cid, err: (err as Error).message }, "lost block not reported (the audits will find it)"),
                  );
              },
            });
      const signer = new NodeSigner(options.privateKey, options.nodeId, options.domains);
      const fence = await TermFence.open(state);
      const records = await UploadRecords.open(state);
      const receipts = new ReceiptOutbox(state, options.receiptSink, (err) =>
        log.warn({ err }, "receipt not forwarded (kept in the outbox)"),
      );
      const metrics = options.metrics;
      const common = { store, signer, metrics, logger: log, now };
      const pipeline = new SlicePipeline({
        ...common,
        state,
        records,
        fence,
        lease: options.lease ?? new OpenLeaseGate(),
        receipts,
        client,
        clock: options.clock,
        maxBlockBytes: options.maxBlockBytes,
        hopTimeoutMs: options.hopTimeoutMs ?? 15_000,
      });
      const reader = new SliceServer({ ...common, receipts, clock: options.clock });
      const replicator = new Replicator({
        ...common,
        fence,
        records,
        client,
        maxBlockBytes: options.maxBlockBytes,
        fetchTimeoutMs: options.fetchTimeoutMs ?? 30_000,
      });
      const gc = new GarbageCollector(
        store,
        records,
        { tempGraceMs: options.gc?.tempGraceMs ?? 3_600_000, uploadGraceMs: options.gc?.uploadGraceMs ?? 86_400_000 },
        { now, metrics, logger: log, commits: options.commits },
      );
      const s = store;
      const freeGauge = metrics.gauge("storage_free_bytes", "Capacity left for new writes");
      const usedGauge = metrics.gauge("storage_used_bytes", "Bytes of stored blocks");
      const blocksGauge = metrics.gauge("storage_blocks", "Stored blocks");
      const self: { worker?: StorageWorker } = {};
      const app = createStorageServer({
        logger: log,
        metrics,
        idleTimeoutMs: (options.hopTimeoutMs ?? 15_000) * 4,
        health: async () => {
          const st = s.stats();
          const disk = await fs.promises.statfs(options.dataDir).catch(() => undefined);
          const free = Math.max(0, st.capacity - st.bytes - st.reserved);
          freeGauge.set(free);
          usedGauge.set(st.bytes);
          blocksGauge.set(st.blocks);
          return {
            nodeId: options.nodeId,
            address: signer.address,
            url: self.worker?.url,
            region: options.region,
            backend: s.kind,
            capacity: st.capacity,
            free,
            /** Free bytes of the filesystem under the data directory (capacity is the operator's promise). */
            diskFree: disk ? disk.bavail * disk.bsize : undefined,
            slices: st.blocks,
            bytes: st.bytes,
            reserved: st.reserved,
            inflightWrites: pipeline.inFlight,
            term: fence.term.toString(),
            memory: process.memoryUsage(),
          };
        },
      });
      await app.register(async (raw) => {
        // Slice bodies are streamed by the pipeline, never parsed or buffered by fastify.
        raw.removeAllContentTypeParsers();
        raw.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));
        raw.put(`${SLICES_PATH}/:cid`, async (req, reply) =>
          reply.code(201).send(await pipeline.handle(req.raw, (req.params as { cid: string }).cid)),
        );
      });
      app.get(`${SLICES_PATH}/:cid`, (req, reply) => reader.handle(req, reply, (req.params as { cid: string }).cid));
      app.post(REPLICATE_PATH, async (req) => replicator.handle(req.body));
      app.get(RECEIPTS_PATH, async (req) => {
        const q = req.query as Record<string, string | undefined>;
        const parse = (name: string, v: string | undefined) => {
          if (v === undefined || !/^(0|[1-9]\d{0,19})$/.test(v))
            throw new HmsError("STORAGE_BAD_REQUEST", `query parameter ${name} must be a decimal period`, { value: v });
          return BigInt(v);
        };
        const from = parse("from", q.from);
        const to = parse("to", q.to);
        if (to < from || to - from >= BigInt(MAX_FEED_SPAN))
          throw new HmsError("STORAGE_BAD_REQUEST", `period range must be ascending and span < ${MAX_FEED_SPAN}`, {
            value: `${from}..${to}`,
          });
        return {
          chainId: options.domains.chainId,
          pool: options.domains.miningPool,
          periods: (await receipts.periods(from, to)).map(periodToWire),
        };
      });
      app.post("/v1/gc", async (req) => {
        if (!isLoopback(req.ip))
          throw new HmsError("STORAGE_UNAUTHORIZED", "GC is run from loopback only", { value: req.ip });
        return { ok: true, ...(await gc.pass()) };
      });
      await registerIpfsRoutes(app, {
        store,
        records,
        logger: log,
        maxBlockBytes: options.maxBlockBytes,
        peer: peerIdOf(options.privateKey),
        url: () => self.worker?.url ?? "",
        now,
        tmpDir: path.join(options.dataDir, "tmp"),
        network: options.network,
        owner: options.network ? privateKeySigner(options.privateKey) : undefined,
        networkParams: { ...options.domains, clock: options.clock },
      });
      const worker = new StorageWorker(
        options,
        app,
        state,
        store,
        signer,
        fence,
        records,
        receipts,
        pipeline,
        gc,
        client,
        log,
      );
      self.worker = worker;
      await worker.listen();
      const interval = options.gc?.intervalMs ?? 600_000;
      if (interval > 0) {
        worker.gcTimer = setInterval(() => {
          void gc.pass().catch((err) => log.error({ err }, "gc pass failed"));
        }, interval);
        worker.gcTimer.unref();
      }
      if (options.heartbeat) {
        worker.heartbeats = new HeartbeatSender({
          nodeId: options.nodeId,
          privateKey: options.privateKey,
          chainId: options.domains.chainId,
          nodeRegistry: options.domains.nodeRegistry,
          region: options.region,
          url: () => worker.url,
          stats: () => {
            const st = s.stats();
            return { capacity: st.capacity, free: st.capacity - st.bytes - st.reserved, load: pipeline.inFlight };
          },
          send: options.heartbeat.send,
          intervalMs: options.heartbeat.intervalMs,
          logger: log,
        });
        worker.heartbeats.start();
      }
      log.info(
        { url: worker.url, region: options.region, backend: store.kind, ...store.stats() },
        "storage worker listening",
      );
      return worker;
    } catch (err) {
      await client.close().catch(() => undefined);
      await store?.close().catch(() => undefined);
      await state.close().catch(() => undefined);
      throw err;
    }
  }

  private async listen(): Promise<void> {
    const host = this.options.host ?? "127.0.0.1";
    try {
      await this.app.listen({ host, port: this.options.port ?? 0 });
    } catch (err) {
      throw new HmsError(
        "TRANSPORT_LISTEN",
        `cannot listen on ${host}:${this.options.port}: ${(err as Error).message}`,
        {
          value: `${host}:${this.options.port}`,
          cause: err,
        },
      );
    }
    const addr = this.app.server.address();
    const port = typeof addr === "object" && addr !== null ? addr.port : this.options.port;
    this.url =
      this.options.publicUrl?.replace(/\/+$/, "") ?? `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  }

  /** Stops accepting, lets requests in flight finish (bounded by the caller's shutdown timeout), closes state. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.gcTimer) clearInterval(this.gcTimer);
    this.heartbeats?.stop();
    await this.app.close();
    await this.client.close().catch(() => undefined);
    await this.store.close();
    await this.state.close();
    this.log.info("storage worker stopped");
  }
}
