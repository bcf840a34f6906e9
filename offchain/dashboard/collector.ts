/**
 * The dashboard's one reader of upstream sources: it polls the chain every `chainPollMs`, and the daemons' health
 * and the meta index each every `healthPollMs` in loops of their own (never two polls of a kind at once, and a
 * slow index read never delays a health change), assembles the {@link Snapshot} and tells its listeners when
 * it changed. The server fans each change out to every browser over Server-Sent Events, so upstream load does
 * not grow with the number of browsers.
 */
import type { Logger } from "pino";
import type { Deployment } from "../chain/deployment";
import { isHmsError } from "../core/errors";
import type { ReportDocument } from "../protocol/report";
import type { DaemonHealth, MetaView, Snapshot, SourceStatus, ValidatorMetrics, WorkloadRow } from "./snapshot";
import { WorkloadSource } from "./sources/compute";
import { ChainSource, type ChainParts } from "./sources/chain";
import { DaemonWatcher, fetchUpstream, storageView, validatorMetrics, validatorView } from "./sources/daemons";
import { MetaSource, emptyMetaView, markReplicas } from "./sources/meta";

export interface CollectorOptions {
  rpcUrl: string;
  deployment: Deployment;
  chainPollMs: number;
  healthPollMs: number;
  requestTimeoutMs: number;
  fromBlock?: number;
  validators?: readonly string[];
  storage?: readonly string[];
  compute?: readonly string[];
  meta?: readonly string[];
  owners?: readonly string[];
  logger: Logger;
}

/** Daemons to watch, replaceable while running (the demo adds its validators when it starts them). */
export interface WatchList {
  validators: string[];
  storage: string[];
  compute: string[];
  meta: string[];
}

/** Keys left out when deciding whether a snapshot changed (they change at every poll). */
const VOLATILE = new Set(["lastSeen", "updatedAt", "generatedAt", "version"]);

export class Collector {
  readonly chain: ChainSource;
  private readonly daemons: DaemonWatcher;
  private meta: MetaSource;
  private readonly watch: WatchList;
  private chainParts: ChainParts | null = null;
  private validators: Snapshot["validators"] = [];
  private storage: Snapshot["storage"] = [];
  private compute: DaemonHealth[] = [];
  private metaView: MetaView = emptyMetaView();
  private workloads: WorkloadRow[] = [];
  private readonly workloadSource: WorkloadSource;
  private readonly sources = new Map<string, SourceStatus>();
  private readonly lastMetrics = new Map<string, ValidatorMetrics>();
  private current: Snapshot;
  private key = "";
  private readonly listeners = new Set<(s: Snapshot) => void>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: CollectorOptions) {
    this.log = options.logger;
    this.chain = new ChainSource({
      rpcUrl: options.rpcUrl,
      deployment: options.deployment,
      fromBlock: BigInt(options.fromBlock ?? 0),
    });
    this.daemons = new DaemonWatcher(options.requestTimeoutMs);
    this.workloadSource = new WorkloadSource(options.requestTimeoutMs);
    this.watch = {
      validators: [...(options.validators ?? [])],
      storage: [...(options.storage ?? [])],
      compute: [...(options.compute ?? [])],
      meta: [...(options.meta ?? [])],
    };
    this.meta = this.metaSource();
    this.current = this.assemble(0);
  }

  private metaSource(): MetaSource {
    return new MetaSource({
      urls: this.watch.meta,
      owners: this.options.owners ?? [],
      timeoutMs: this.options.requestTimeoutMs,
    });
  }

  /** The latest snapshot. */
  get snapshot(): Snapshot {
    return this.current;
  }

  /** Calls `fn` with every changed snapshot; returns the unsubscribe function. */
  subscribe(fn: (s: Snapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Adds daemons to watch (deduplicated). */
  addDaemons(add: Partial<WatchList>): void {
    for (const k of ["validators", "storage", "compute", "meta"] as const)
      for (const u of add[k] ?? []) {
        const url = u.replace(/\/+$/, "");
        if (!this.watch[k].includes(url)) this.watch[k].push(url);
      }
    if (add.meta?.length) this.meta = this.metaSource();
  }

  /** Starts both poll loops; resolves after the first round of each. */
  async start(): Promise<void> {
    await Promise.all([this.pollChain(), this.pollDaemons(), this.pollDetails()]);
    this.publish();
    this.loop(() => this.pollChain(), this.options.chainPollMs);
    // Health has its own loop: a slow meta read (a locate per file) never holds back a red badge.
    this.loop(() => this.pollDaemons(), this.options.healthPollMs);
    this.loop(() => this.pollDetails(), this.options.healthPollMs);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.listeners.clear();
  }

  private loop(fn: () => Promise<void>, everyMs: number): void {
    const run = async () => {
      if (this.stopped) return;
      await fn();
      this.publish();
      if (!this.stopped) this.timers.push(setTimeout(run, everyMs));
    };
    this.timers.push(setTimeout(run, everyMs));
  }

  private mark(name: string, err?: unknown): void {
    const prev = this.sources.get(name);
    if (err === undefined) {
      this.sources.set(name, { name, ok: true, updatedAt: Date.now() });
      return;
    }
    const code = isHmsError(err) ? err.code : "DASHBOARD_UPSTREAM";
    const message = (err as Error)?.message ?? String(err);
    if (prev?.ok !== false) this.log.warn({ source: name, code, err: message }, "dashboard source failed");
    this.sources.set(name, { name, ok: false, updatedAt: prev?.updatedAt ?? null, error: { code, message } });
  }

  private async pollChain(): Promise<void> {
    try {
      this.chainParts = await this.chain.read();
      this.mark("chain");
    } catch (err) {
      this.mark("chain", err);
      return;
    }
    // Report documents (top nodes) from any validator that serves them, verified against the signed dataCid.
    for (const period of this.chain.periodsWithoutDocument().slice(0, 3))
      for (const url of this.watch.validators) {
        try {
          const body = (await fetchUpstream(`${url}/v1/reports/${period}`, this.options.requestTimeoutMs)) as {
            document?: ReportDocument;
          };
          if (body.document && this.chain.attachDocument(period, body.document)) break;
        } catch {
          // not executed by this validator, or it is down
        }
      }
    try {
      this.chainParts = await this.chain.read();
    } catch {
      // keep the first read
    }
  }

  private async pollDaemons(): Promise<void> {
    const t = this.options.requestTimeoutMs;
    const { validators, storage, compute } = this.watch;
    const [v, s, c] = await Promise.all([
      Promise.all(
        validators.map(async (url) => {
          const row = await this.daemons.poll(url, "validator");
          // A validator that stopped answering keeps its last figures (shown beside its red badge).
          let metrics: ValidatorMetrics | null = this.lastMetrics.get(url) ?? null;
          if (row.up)
            metrics = await fetchUpstream(`${url}/metrics`, t, "text")
              .then((text) => validatorMetrics(text as string))
              .catch(() => metrics);
          if (metrics) this.lastMetrics.set(url, metrics);
          return validatorView(row, metrics);
        }),
      ),
      Promise.all(storage.map(async (url) => storageView(await this.daemons.poll(url, "storage")))),
      Promise.all(compute.map((url) => this.daemons.poll(url, "compute"))),
    ]);
    this.validators = v;
    this.storage = s;
    this.compute = c;
    this.daemons.retain([...validators, ...storage, ...compute]);
    this.mark("daemons");
  }

  /** The slower reads: the meta index (a locate per file) and the compute workers' workloads. */
  private async pollDetails(): Promise<void> {
    await Promise.all([
      this.meta.read().then(
        (view) => {
          this.metaView = view;
          if (this.watch.meta.length > 0) this.mark("meta");
        },
        (err: unknown) => this.mark("meta", err),
      ),
      this.workloadSource.read(this.watch.compute).then((rows) => {
        this.workloads = rows;
      }),
    ]);
  }

  private assemble(version: number): Snapshot {
    const p = this.chainParts;
    return {
      version,
      generatedAt: Date.now(),
      chain: p?.chain ?? null,
      nodes: p?.nodes ?? [],
      periods: p?.periods ?? [],
      earnings: p?.earnings ?? [],
      committee: p?.committee ?? null,
      market: p?.market ?? null,
      validators: this.validators,
      storage: this.storage,
      compute: this.compute,
      workloads: this.workloads,
      meta: { ...this.metaView, files: markReplicas(this.metaView.files, this.storage, this.metaView.measurements) },
      sources: [...this.sources.values()],
    };
  }

  private publish(): void {
    const next = this.assemble(this.current.version + 1);
    const key = JSON.stringify(next, (k, v: unknown) => (VOLATILE.has(k) ? undefined : v));
    if (key === this.key) return;
    this.key = key;
    this.current = next;
    for (const fn of [...this.listeners]) {
      try {
        fn(next);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "dashboard listener failed");
      }
    }
  }
}
