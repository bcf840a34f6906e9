/**
 * The compute worker (`hms compute`, PROTOCOL §9, docs/COMPUTE.md): a Container node of the NodeRegistry that
 * publishes a compute offer in ResourceMarket, follows the lease events of its node from a persisted cursor,
 * runs each lease's workload through a runtime (./runtime/), restarts it by its policy (backoff, crash-loop
 * cut-off), stops it when the lease ends or is closed, and meters it: one signed UsageReport per period.
 *
 * Restart safety: every lease and workload is a record in LevelDB (./state.ts) written before the worker acts on
 * it; the runtime names workloads after the node and the lease, so a restarted worker adopts the containers or
 * processes that kept running instead of starting second ones, and catches up the events it missed.
 *
 * One loop (`tick`) does all the reconciliation; HTTP requests that change a record go through the same lock.
 */
import fs from "node:fs";
import path from "node:path";
import type { Address, Hex, PublicClient, TypedDataDomain, WalletClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Logger } from "pino";
import type { FastifyInstance } from "fastify";
import { resourceMarketAbi } from "../chain/abis";
import { offerPosted, ResourceKind } from "../chain/market";
import { HmsError } from "../core/errors";
import type { Metrics } from "../core/metrics";
import { domainOf, recoverTyped, signTyped, type UsageReportMessage } from "../core/signing";
import { Store } from "../core/store";
import {
  ACCESS_HEADERS,
  WORKLOADS_PATH,
  WorkloadState,
  ZERO_USAGE,
  accumulate,
  checkWithinLease,
  leaseCovers,
  parseWorkloadSpec,
  restartDecision,
  specHash,
  submitBodySchema,
  usageReport,
  usageToWire,
} from "../protocol/compute";
import {
  MAX_MOVE_DEPTH,
  movedChain,
  type ComputeHeartbeatBody,
  type HeartbeatWorkload,
  type WireComputeHeartbeat,
} from "../protocol/compute-supervise";
import { ComputeHeartbeatSender } from "./heartbeat";
import { ChainLeases, type LeaseView } from "./leases";
import { LABELS, workloadId, type WorkloadRuntime } from "./runtime/types";
import { createComputeServer } from "./server";
import { ComputeState, type WorkloadRecord } from "./state";

export const ZERO_HASH = `0x${"00".repeat(32)}` as Hex;

export interface ComputeOffer {
  units: bigint;
  pricePerUnitSecond: bigint;
  minDuration: bigint;
  maxDuration: bigint;
}

export interface ComputeWorkerOptions {
  nodeId: Hex;
  /** The node's registered signing key: signs usage reports. */
  privateKey: Hex;
  dataDir: string;
  host: string;
  port: number;
  publicUrl?: string;
  chainId: number;
  /** Verifying contract of the `network` EIP-712 domain (WorkloadRequest, UsageReport). */
  nodeRegistry: Address;
  market: Address;
  publicClient: PublicClient;
  /** The node operator's wallet: posts the offer and records tasks. Without it the worker only runs leases. */
  operator?: WalletClient;
  offer?: ComputeOffer;
  runtime: WorkloadRuntime;
  /** First block to scan when there is no cursor yet. */
  fromBlock?: bigint;
  pollMs: number;
  sampleMs: number;
  periodMs: number;
  stopGraceMs: number;
  logger: Logger;
  metrics: Metrics;
  /** Signed heartbeats to the meta layer (docs/COMPUTE.md "Supervision"); none without. */
  heartbeat?: { send(beat: WireComputeHeartbeat): Promise<void>; intervalMs: number; region: string };
}

/** A request signed by the lease's user (see WorkloadRequest in core/signing.ts). */
interface Signed {
  leaseId: bigint;
  action: "run" | "read" | "stop";
  specHash: Hex;
  deadline: bigint;
  signature: Hex;
}

const TERMINAL = new Set(["ended"]);

export class ComputeWorker {
  private timer: NodeJS.Timeout | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private runtimeOk = true;
  private lastTickError: string | undefined;
  readonly account: PrivateKeyAccount;
  readonly domain: TypedDataDomain;
  private readonly leases: ChainLeases;
  private readonly m;
  private heartbeats: ComputeHeartbeatSender | undefined;

  private constructor(
    private readonly o: ComputeWorkerOptions,
    private readonly store: Store,
    readonly state: ComputeState,
    private readonly app: FastifyInstance,
    readonly url: string,
  ) {
    this.account = privateKeyToAccount(o.privateKey);
    this.domain = domainOf("network", o.chainId, o.nodeRegistry);
    this.leases = new ChainLeases(o.publicClient, o.market, o.nodeId);
    this.m = {
      phases: o.metrics.gauge("compute_workloads", "Workloads by phase", ["phase"]),
      reports: o.metrics.counter("compute_usage_reports_total", "Usage reports signed", ["state"]),
      starts: o.metrics.histogram("compute_start_seconds", "Time to start a workload", { labelNames: ["runtime"] }),
      restarts: o.metrics.counter("compute_restarts_total", "Workload restarts by the restart policy"),
      cpu: o.metrics.counter("compute_cpu_seconds_total", "CPU-seconds metered"),
      ticks: o.metrics.counter("compute_tick_errors_total", "Reconciliation passes that failed", ["code"]),
    };
  }

  /** Opens the records, publishes the offer, adopts running workloads, listens, and starts the loop. */
  static async start(o: ComputeWorkerOptions): Promise<ComputeWorker> {
    try {
      fs.mkdirSync(o.dataDir, { recursive: true });
    } catch (err) {
      throw new HmsError("STORE_OPEN", `cannot create ${o.dataDir}: ${(err as Error).message}`, { value: o.dataDir });
    }
    await o.runtime.check();
    const store = await Store.open(path.join(o.dataDir, "state"));
    let worker: ComputeWorker | undefined;
    try {
      const state = new ComputeState(store);
      let self: ComputeWorker | undefined;
      const app = createComputeServer({
        logger: o.logger,
        metrics: o.metrics,
        health: () => self!.health(),
      });
      const url0 = { value: "" };
      worker = self = new ComputeWorker(o, store, state, app, url0.value);
      worker.routes();
      await worker.publishOffer();
      await worker.tick();
      const address = await app.listen({ host: o.host, port: o.port });
      (worker as { url: string }).url = o.publicUrl ?? address.replace("[::1]", "127.0.0.1");
      worker.schedule();
      worker.startHeartbeats();
      o.logger.info({ url: worker.url, nodeId: o.nodeId, runtime: o.runtime.kind }, "compute worker started");
      return worker;
    } catch (err) {
      await worker?.app.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      throw err;
    }
  }

  private startHeartbeats(): void {
    const hb = this.o.heartbeat;
    if (hb === undefined) return;
    this.heartbeats = new ComputeHeartbeatSender({
      privateKey: this.o.privateKey,
      domain: this.domain,
      body: (seq) => this.heartbeatBody(seq, hb.region),
      send: hb.send,
      intervalMs: hb.intervalMs,
      logger: this.o.logger,
    });
    this.heartbeats.start();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick()
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, this.o.pollMs);
  }

  /** Runs `fn` alone (ticks and record-changing requests never interleave). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Stops the loop and the server and closes the records. Workloads keep running: a restart adopts them. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.heartbeats?.stop();
    await this.app.close();
    await this.lock;
    await this.o.runtime.close();
    await this.store.close();
  }

  // ── offer ───────────────────────────────────────────────────────────────────────────────────────────

  private async publishOffer(): Promise<void> {
    const { offer, operator } = this.o;
    if (offer === undefined || operator?.account === undefined) return;
    const known = await this.state.offerId();
    if (known !== undefined) {
      const o = await this.o.publicClient.readContract({
        address: this.o.market,
        abi: resourceMarketAbi,
        functionName: "getOffer",
        args: [known],
      });
      if (o.active && o.nodeId.toLowerCase() === this.o.nodeId.toLowerCase()) return;
    }
    const hash = await operator.writeContract({
      address: this.o.market,
      abi: resourceMarketAbi,
      functionName: "postOffer",
      args: [this.o.nodeId, { kind: ResourceKind.Compute, ...offer }],
      account: operator.account,
      chain: operator.chain,
    });
    const receipt = await this.o.publicClient.waitForTransactionReceipt({ hash });
    const { offerId } = offerPosted(receipt);
    await this.state.setOfferId(offerId);
    this.o.logger.info({ offerId: `${offerId}`, ...offer }, "compute offer posted");
  }

  // ── the reconciliation loop ─────────────────────────────────────────────────────────────────────────

  /** One pass: catch up lease events, then bring every workload in line with its lease. */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      try {
        await this.catchUp();
        const now = await this.leases.now();
        for (const r of await this.state.workloads()) {
          if (TERMINAL.has(r.phase)) continue;
          await this.reconcile(r, now).catch((err) => {
            this.o.logger.warn({ err, leaseId: `${r.leaseId}` }, "workload reconciliation failed");
            this.m.ticks.inc({ code: (err as HmsError).code ?? "ERROR" });
          });
        }
        await this.updatePhases();
        this.lastTickError = undefined;
      } catch (err) {
        this.lastTickError = (err as Error).message;
        this.m.ticks.inc({ code: (err as HmsError).code ?? "ERROR" });
        this.o.logger.warn({ err }, "compute tick failed");
        throw err;
      }
    });
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const cursor = await this.state.cursor();
      const from = cursor === undefined ? (this.o.fromBlock ?? 0n) : cursor + 1n;
      const changes = await this.leases.fetch(from);
      if (changes === undefined) return;
      const touched = new Map<bigint, WorkloadRecord>();
      const get = async (id: bigint) => touched.get(id) ?? (await this.state.workload(id));
      for (const s of changes.started) {
        if (await get(s.leaseId)) continue; // replayed after a crash: already known
        touched.set(s.leaseId, { ...s, closed: false, phase: "leased", restartTimes: [], totalCpuNs: 0n });
      }
      for (const t of changes.toppedUp) {
        const r = await get(t.leaseId);
        if (r && !r.closed) touched.set(t.leaseId, { ...r, end: t.newEnd });
      }
      for (const c of changes.closed) {
        const r = await get(c.leaseId);
        if (r) touched.set(c.leaseId, { ...r, closed: true, end: c.end < r.end ? c.end : r.end });
      }
      await this.state.apply([...touched.values()], changes.toBlock);
      if (touched.size > 0)
        this.o.logger.info(
          { toBlock: `${changes.toBlock}`, leases: [...touched.keys()].map(String) },
          "lease events applied",
        );
    }
  }

  private requestOf(r: WorkloadRecord) {
    return {
      id: r.runtimeId!,
      leaseId: r.leaseId,
      spec: r.spec!,
      labels: { [LABELS.node]: this.o.nodeId, [LABELS.lease]: `${r.leaseId}`, [LABELS.spec]: r.specHash! },
    };
  }

  private async reconcile(r: WorkloadRecord, now: bigint): Promise<void> {
    const wall = Date.now();
    if (r.closed || now >= r.end) {
      await this.finish(r, r.closed ? "lease closed" : "lease ended");
      return;
    }
    if (r.phase === "backoff" && r.restartAtMs !== undefined && wall >= r.restartAtMs) {
      await this.o.runtime.start(this.requestOf(r));
      r.restartTimes = [...r.restartTimes, wall];
      r.phase = "running";
      r.restartAtMs = undefined;
      this.m.restarts.inc();
      await this.state.put(r);
      return;
    }
    if (r.phase !== "running") return;
    const status = await this.o.runtime.status(r.runtimeId!);
    if (status === undefined) {
      // removed behind the worker's back: the lease still pays for it, so run it again
      this.o.logger.warn({ leaseId: `${r.leaseId}` }, "workload missing from the runtime: starting it again");
      await this.o.runtime.start(this.requestOf(r));
      return;
    }
    if (status.state === "running") {
      const due = r.lastSample === undefined || wall - r.lastSample.atMs >= this.o.sampleMs;
      if (due) {
        await this.meter(r);
        await this.state.put(r);
      }
      return;
    }
    // exited: its last counters were sampled while it ran
    r.exitCode = status.exitCode;
    const decision = restartDecision(r.spec!.restart, status.exitCode ?? 1, r.restartTimes, wall);
    if (decision.action === "restart") {
      r.phase = "backoff";
      r.restartAtMs = wall + decision.delayMs;
      await this.state.put(r);
      this.o.logger.info(
        { leaseId: `${r.leaseId}`, exitCode: status.exitCode, delayMs: decision.delayMs },
        "workload exited: restarting",
      );
      return;
    }
    r.phase = decision.action === "crash-loop" ? "crash-loop" : "exited";
    r.stoppedAtMs = status.finishedAtMs ?? wall;
    const state =
      decision.action === "crash-loop" || (status.exitCode ?? 0) !== 0 ? WorkloadState.Failed : WorkloadState.Exited;
    await this.closePeriod(r, r.stoppedAtMs, state);
    this.o.logger.info(
      { leaseId: `${r.leaseId}`, exitCode: status.exitCode, phase: r.phase },
      "workload stopped for good",
    );
  }

  /** The lease ended: stop the workload, sign its last report, keep its logs (removed with the data dir). */
  private async finish(r: WorkloadRecord, why: string): Promise<void> {
    const wasRunning = r.phase === "running" || r.phase === "backoff";
    if (r.runtimeId !== undefined && wasRunning) {
      if (r.phase === "running") await this.meter(r).catch(() => undefined);
      await this.o.runtime.stop(r.runtimeId, this.o.stopGraceMs);
    }
    const at = Date.now();
    r.phase = "ended";
    r.stoppedAtMs ??= at;
    if (wasRunning) await this.closePeriod(r, at, WorkloadState.Stopped);
    else await this.state.put(r);
    this.o.logger.info({ leaseId: `${r.leaseId}`, why }, "lease over: workload stopped");
  }

  // ── metering ────────────────────────────────────────────────────────────────────────────────────────

  /** Samples the workload, adds to its period, and signs the period's report when a new period began. */
  private async meter(r: WorkloadRecord): Promise<void> {
    const sample = await this.o.runtime.sample(r.runtimeId!);
    const before = r.periodUsage?.cpuNs ?? 0n;
    r.periodUsage = accumulate(r.periodUsage ?? ZERO_USAGE, r.lastSample, sample);
    const added = r.periodUsage.cpuNs - before;
    r.totalCpuNs += added;
    this.m.cpu.inc(Number(added) / 1e9);
    r.lastSample = sample;
    const period = BigInt(Math.floor(sample.atMs / this.o.periodMs));
    if (r.period === undefined) {
      r.period = period;
      r.periodStartMs = sample.atMs;
    } else if (period > r.period) {
      await this.closePeriod(r, sample.atMs, WorkloadState.Running);
      r.period = period;
      r.periodStartMs = sample.atMs;
    }
  }

  /** Signs and stores the report of the current period (ending at `endMs`) with the record. */
  private async closePeriod(r: WorkloadRecord, endMs: number, state: number): Promise<void> {
    const message: UsageReportMessage = usageReport({
      leaseId: r.leaseId,
      nodeId: this.o.nodeId,
      period: r.period ?? BigInt(Math.floor(endMs / this.o.periodMs)),
      startMs: r.periodStartMs ?? r.firstStartMs ?? endMs,
      endMs: Math.max(endMs, r.periodStartMs ?? endMs),
      usage: r.periodUsage ?? ZERO_USAGE,
      totalCpuNs: r.totalCpuNs,
      restarts: r.restartTimes.length,
      state,
      specHash: r.specHash ?? ZERO_HASH,
    });
    const signature = await signTyped(this.account, this.domain, "UsageReport", message);
    r.periodUsage = ZERO_USAGE;
    r.periodStartMs = endMs;
    if (state !== WorkloadState.Running) r.period = undefined;
    await this.state.report(r, { message, signature });
    this.m.reports.inc({ state: String(state) });
  }

  private async updatePhases(): Promise<void> {
    const counts: Record<string, number> = { leased: 0, running: 0, backoff: 0, exited: 0, "crash-loop": 0, ended: 0 };
    for (const r of await this.state.workloads()) counts[r.phase]++;
    for (const [phase, n] of Object.entries(counts)) this.m.phases.set({ phase }, n);
  }

  // ── requests ────────────────────────────────────────────────────────────────────────────────────────

  /** Checks a user's signed request against the lease on chain; returns the lease. */
  private async authorize(req: Signed): Promise<LeaseView> {
    if (req.deadline * 1000n < BigInt(Date.now()))
      throw new HmsError("COMPUTE_NO_LEASE", `the request expired at ${req.deadline}`, { value: req.deadline });
    const signer = await recoverTyped(
      this.domain,
      "WorkloadRequest",
      { leaseId: req.leaseId, action: req.action, specHash: req.specHash, deadline: req.deadline },
      req.signature,
    );
    const lease = await this.leases.lease(req.leaseId);
    if (lease.nodeId.toLowerCase() !== this.o.nodeId.toLowerCase())
      throw new HmsError("COMPUTE_NO_LEASE", `lease ${req.leaseId} pays node ${lease.nodeId}, not this one`, {
        value: req.leaseId,
      });
    if (signer.toLowerCase() !== lease.user.toLowerCase())
      throw new HmsError("COMPUTE_NO_LEASE", `lease ${req.leaseId} belongs to ${lease.user}, not ${signer}`, {
        value: signer,
      });
    return lease;
  }

  /**
   * A run request forwarded by the meta master after it moved a lease (docs/COMPUTE.md "Supervision"): `req` is
   * the user's signature over the lease it moved from. Accepted when lease `target` is of this node and active,
   * the signer is its user, the chain's LeaseMoved events lead from `target` back to `req.leaseId`
   * (`movedChain`: `COMPUTE_NOT_MOVED` otherwise), the deadline was valid while that lease ran, and the spec is
   * the one its provider recorded for it, if any (`COMPUTE_CONFLICT`). The deadline is not compared with now: the
   * user authorised the spec for the lease and what the network moves it into, not for a window of time.
   */
  private async authorizeMoved(target: bigint, req: Signed): Promise<LeaseView> {
    let signer: string;
    try {
      signer = await recoverTyped(
        this.domain,
        "WorkloadRequest",
        { leaseId: req.leaseId, action: req.action, specHash: req.specHash, deadline: req.deadline },
        req.signature,
      );
    } catch {
      signer = "0x";
    }
    const lease = await this.leases.lease(target);
    if (lease.nodeId.toLowerCase() !== this.o.nodeId.toLowerCase())
      throw new HmsError("COMPUTE_NO_LEASE", `lease ${target} pays node ${lease.nodeId}, not this one`, {
        value: target,
      });
    if (signer.toLowerCase() !== lease.user.toLowerCase())
      throw new HmsError("COMPUTE_NO_LEASE", `lease ${target} belongs to ${lease.user}, not ${signer}`, {
        value: signer,
      });
    const movedInto = new Map<bigint, bigint>();
    let at = target;
    for (let i = 0; i < MAX_MOVE_DEPTH && at !== req.leaseId; i++) {
      const prev = await this.leases.movedInto(at);
      if (prev === undefined) break;
      movedInto.set(at, prev);
      at = prev;
    }
    const origin = at === req.leaseId ? await this.leases.lease(req.leaseId) : undefined;
    movedChain(target, req.leaseId, movedInto, req.deadline, origin?.start);
    const recorded = await this.leases.taskHash(req.leaseId);
    if (recorded !== ZERO_HASH && recorded.toLowerCase() !== req.specHash.toLowerCase())
      throw new HmsError(
        "COMPUTE_CONFLICT",
        `lease ${req.leaseId} ran spec ${recorded}; the forwarded request is for ${req.specHash}`,
        { value: req.specHash },
      );
    return lease;
  }

  /** What this worker tells the meta layer in a heartbeat (protocol/compute-supervise.ts). */
  async heartbeatBody(seq: bigint, region: string): Promise<ComputeHeartbeatBody> {
    const capacity =
      this.o.offer !== undefined ? leaseCovers(this.o.offer.units) : { cpuMillis: 0, memoryMiB: 0, diskMiB: 0 };
    const used = { cpuMillis: 0, memoryMiB: 0, diskMiB: 0 };
    const workloads: HeartbeatWorkload[] = [];
    for (const r of await this.state.workloads()) {
      if (r.closed || r.spec === undefined || r.specHash === undefined || r.request === undefined) continue;
      if (r.phase !== "running" && r.phase !== "backoff" && r.phase !== "crash-loop") continue;
      if (r.phase !== "crash-loop") {
        used.cpuMillis += r.spec.limits.cpuMillis;
        used.memoryMiB += r.spec.limits.memoryMiB;
        used.diskMiB += r.spec.limits.diskMiB;
      }
      workloads.push({
        leaseId: `${r.leaseId}`,
        specHash: r.specHash,
        phase: r.phase,
        restarts: r.restartTimes.length,
        failing: r.phase === "crash-loop",
        limits: { ...r.spec.limits },
        labels: { ...r.spec.labels },
        request: {
          leaseId: `${r.request.leaseId}`,
          spec: r.spec,
          deadline: `${r.request.deadline}`,
          signature: r.request.signature,
        },
      });
    }
    return {
      nodeId: this.o.nodeId.toLowerCase() as Hex,
      seq: `${seq}`,
      time: `${Math.floor(Date.now() / 1000)}`,
      region,
      url: this.url,
      offerId: `${(await this.state.offerId()) ?? 0n}`,
      capacity,
      used,
      workloads,
    };
  }

  /** `POST /v1/workloads`: run the spec under the lease (idempotent for the same spec). */
  async submit(body: unknown): Promise<Record<string, unknown>> {
    const parsed = submitBodySchema.safeParse(body);
    if (!parsed.success)
      throw new HmsError("TRANSPORT_BAD_REQUEST", `workload request: ${parsed.error.issues[0].message}`, {
        value: parsed.error.issues[0].path.join("."),
      });
    const spec = parseWorkloadSpec(parsed.data.spec);
    const hash = specHash(spec);
    const leaseId = BigInt(parsed.data.leaseId);
    const signed: Signed = {
      leaseId: parsed.data.movedFrom !== undefined ? BigInt(parsed.data.movedFrom) : leaseId,
      action: "run",
      specHash: hash,
      deadline: BigInt(parsed.data.deadline),
      signature: parsed.data.signature as Hex,
    };
    const lease =
      signed.leaseId === leaseId ? await this.authorize(signed) : await this.authorizeMoved(leaseId, signed);
    if (!lease.active || lease.end <= (await this.leases.now()))
      throw new HmsError("COMPUTE_CONFLICT", `lease ${leaseId} has ended`, { value: leaseId });
    checkWithinLease(spec, lease.units);
    if (this.o.runtime.kind === "embedded" && spec.command.length === 0)
      throw new HmsError(
        "COMPUTE_SPEC_INVALID",
        `this worker runs commands (embedded runtime); image ${spec.image} needs an oci worker`,
        {
          value: spec.image,
          details: { key: "command" },
        },
      );
    if (this.o.runtime.kind === "oci" && spec.image === undefined)
      throw new HmsError("COMPUTE_SPEC_INVALID", "this worker runs OCI images: give spec.image", {
        value: spec.command,
        details: { key: "image" },
      });
    return this.exclusive(async () => {
      const known = await this.state.workload(leaseId);
      const r: WorkloadRecord = known ?? {
        leaseId,
        user: lease.user,
        units: lease.units,
        start: lease.start,
        end: lease.end,
        closed: false,
        phase: "leased",
        restartTimes: [],
        totalCpuNs: 0n,
      };
      if (r.specHash !== undefined) {
        if (r.specHash !== hash)
          throw new HmsError("COMPUTE_CONFLICT", `lease ${leaseId} already runs spec ${r.specHash}`, { value: hash });
        return this.view(r);
      }
      if (r.phase === "ended") throw new HmsError("COMPUTE_CONFLICT", `lease ${leaseId} has ended`, { value: leaseId });
      r.spec = spec;
      r.specHash = hash;
      r.request = { leaseId: signed.leaseId, deadline: signed.deadline, signature: signed.signature };
      r.runtimeId = workloadId(this.o.nodeId, leaseId);
      const t0 = performance.now();
      const status = await this.o.runtime.start(this.requestOf(r));
      this.m.starts.observe({ runtime: this.o.runtime.kind }, (performance.now() - t0) / 1000);
      r.phase = "running";
      r.firstStartMs = status.startedAtMs ?? Date.now();
      r.periodStartMs = r.firstStartMs;
      r.period = BigInt(Math.floor(r.firstStartMs / this.o.periodMs));
      await this.state.put(r);
      this.o.logger.info(
        { leaseId: `${leaseId}`, specHash: hash, runtime: this.o.runtime.kind, signedOver: `${signed.leaseId}` },
        "workload started",
      );
      void this.recordTask(leaseId, hash);
      return this.view(r);
    });
  }

  private async recordTask(leaseId: bigint, hash: Hex): Promise<void> {
    const op = this.o.operator;
    if (op?.account === undefined) return;
    try {
      const tx = await op.writeContract({
        address: this.o.market,
        abi: resourceMarketAbi,
        functionName: "recordTask",
        args: [leaseId, hash, `${this.url}${WORKLOADS_PATH}/${leaseId}`],
        account: op.account,
        chain: op.chain,
      });
      await this.o.publicClient.waitForTransactionReceipt({ hash: tx });
    } catch (err) {
      this.o.logger.warn({ err, leaseId: `${leaseId}` }, "recordTask failed (the workload runs anyway)");
    }
  }

  private signedHeaders(leaseId: bigint, action: Signed["action"], headers: Record<string, unknown>): Signed {
    const deadline = headers[ACCESS_HEADERS.deadline];
    const signature = headers[ACCESS_HEADERS.signature];
    if (typeof deadline !== "string" || !/^\d{1,20}$/.test(deadline) || typeof signature !== "string")
      throw new HmsError(
        "COMPUTE_NO_LEASE",
        `${action} needs ${ACCESS_HEADERS.deadline} and ${ACCESS_HEADERS.signature}`,
        {
          value: deadline,
        },
      );
    return { leaseId, action, specHash: ZERO_HASH, deadline: BigInt(deadline), signature: signature as Hex };
  }

  private async record(leaseIdText: string): Promise<WorkloadRecord> {
    if (!/^\d{1,78}$/.test(leaseIdText))
      throw new HmsError("TRANSPORT_BAD_REQUEST", `lease id ${leaseIdText} is not a decimal integer`, {
        value: leaseIdText,
      });
    const r = await this.state.workload(BigInt(leaseIdText));
    if (r === undefined)
      throw new HmsError("COMPUTE_NOT_FOUND", `no lease ${leaseIdText} on this worker`, { value: leaseIdText });
    return r;
  }

  /** The public status of a lease's workload. */
  view(r: WorkloadRecord): Record<string, unknown> {
    return {
      leaseId: `${r.leaseId}`,
      user: r.user,
      units: `${r.units}`,
      end: `${r.end}`,
      closed: r.closed,
      phase: r.phase,
      runtime: this.o.runtime.kind,
      runtimeId: r.runtimeId,
      specHash: r.specHash,
      restarts: r.restartTimes.length,
      exitCode: r.exitCode,
      firstStartMs: r.firstStartMs,
      stoppedAtMs: r.stoppedAtMs,
      cpuMs: `${r.totalCpuNs / 1_000_000n}`,
      memoryBytes: r.lastSample?.memoryBytes,
    };
  }

  private routes(): void {
    const app = this.app;
    app.post(WORKLOADS_PATH, async (req, reply) =>
      reply.status(201).send({ ok: true, workload: await this.submit(req.body) }),
    );
    app.get(WORKLOADS_PATH, async () => ({
      ok: true,
      workloads: (await this.state.workloads()).map((r) => this.view(r)),
    }));
    app.get<{ Params: { id: string } }>(`${WORKLOADS_PATH}/:id`, async (req) => ({
      ok: true,
      workload: this.view(await this.record(req.params.id)),
    }));
    app.get<{ Params: { id: string } }>(`${WORKLOADS_PATH}/:id/usage`, async (req) => {
      const r = await this.record(req.params.id);
      const reports = await this.state.reports(r.leaseId);
      return {
        ok: true,
        signer: this.account.address,
        reports: reports.map((x) => ({ message: usageToWire(x.message), signature: x.signature })),
      };
    });
    app.get<{ Params: { id: string }; Querystring: { tail?: string } }>(`${WORKLOADS_PATH}/:id/logs`, async (req) => {
      const r = await this.record(req.params.id);
      await this.authorize(this.signedHeaders(r.leaseId, "read", req.headers));
      if (r.runtimeId === undefined) return { ok: true, logs: "" };
      const tail = req.query.tail !== undefined ? Number(req.query.tail) : undefined;
      return { ok: true, logs: await this.o.runtime.logs(r.runtimeId, { tail }) };
    });
    app.post<{ Params: { id: string } }>(`${WORKLOADS_PATH}/:id/stop`, async (req) => {
      const r0 = await this.record(req.params.id);
      await this.authorize(this.signedHeaders(r0.leaseId, "stop", req.headers));
      return this.exclusive(async () => {
        const r = (await this.state.workload(r0.leaseId))!;
        if (r.phase === "running" || r.phase === "backoff") {
          if (r.phase === "running") await this.meter(r).catch(() => undefined);
          await this.o.runtime.stop(r.runtimeId!, this.o.stopGraceMs);
          r.phase = "exited";
          r.stoppedAtMs = Date.now();
          await this.closePeriod(r, r.stoppedAtMs, WorkloadState.Stopped);
        }
        return { ok: true, workload: this.view(r) };
      });
    });
  }

  private async health(): Promise<Record<string, unknown>> {
    try {
      await this.o.runtime.check();
      this.runtimeOk = true;
    } catch {
      this.runtimeOk = false;
    }
    const workloads = await this.state.workloads();
    return {
      nodeId: this.o.nodeId,
      runtime: this.o.runtime.kind,
      runtimeOk: this.runtimeOk,
      cursor: `${(await this.state.cursor()) ?? ""}`,
      offerId: `${(await this.state.offerId()) ?? ""}`,
      running: workloads.filter((w) => w.phase === "running").length,
      lastTickError: this.lastTickError,
    };
  }
}
