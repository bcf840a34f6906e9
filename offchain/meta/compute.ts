/**
 * Compute supervision on the meta layer (issue 14 items 4 and 9, docs/COMPUTE.md "Supervision"):
 *
 *  - {@link ComputeNodes}: the compute workers' signed heartbeats (protocol/compute-supervise.ts), verified
 *    against each node's NodeRegistry signing key, with the workloads each one runs and the user's signed run
 *    request of each. Soft state, on every meta node (workers send to all), rebuilt within one heartbeat period.
 *  - {@link ComputeSupervisor}: a loop on the master only (like health.ts) that, for each workload whose node's
 *    heartbeats stopped or that crash-loops there, applies `migrationDecision` (scheduler.ts) and carries it out
 *    on chain with the oracle key — `ResourceMarket.moveLease` to the chosen node's offer, the dead node paid
 *    until its last signed heartbeat, then forwards the user's signed request to that node — or `terminateLease` (the user refunded) when no node can take it or
 *    it crash-loops across moves.
 *
 * Chain state is the truth: before acting the supervisor reads the lease; a lease already moved is followed to
 * the lease it became (and its request forwarded again, idempotently), a closed one is forgotten. So a master
 * that redoes a pass — or a new master after a failover, which heard the same heartbeats — never moves a lease
 * twice: `moveLease` of a closed lease reverts, and the chain serialises two masters racing. The migration
 * history (backoff, crash-loop cut-off, nodes it failed on) is read from the chain's LeaseMoved events, not kept
 * in memory, so it survives failovers too.
 *
 * Pure parts (`ComputeNodes`, `superviseAction`) take the clock as input; the chain and the forwarding are
 * injected ({@link SupervisorChain}, `forward`).
 */
import { keccak256, toHex, type Address, type Hex, type TypedDataDomain } from "viem";
import type { Logger } from "pino";
import { HmsError } from "../core/errors";
import type { Metrics } from "../core/metrics";
import { canonicalJson } from "../protocol/compute";
import {
  MAX_MOVE_DEPTH,
  verifyComputeHeartbeat,
  type HeartbeatWorkload,
  type SignedRunRequest,
  type VerifiedComputeHeartbeat,
} from "../protocol/compute-supervise";
import {
  migrationDecision,
  type MigrationDecision,
  type MigrationPolicy,
  type SchedulerNode,
  type SchedulerOptions,
} from "./scheduler";

// ── the node table ───────────────────────────────────────────────────────────────────────────────────

export interface ComputeNodeState {
  nodeId: Hex;
  key: Address;
  seq: bigint;
  /** Master's clock at the last heartbeat, ms. */
  lastBeatMs: number;
  /** The last heartbeat's own time, unix seconds (the node's last signed proof of life). */
  lastBeatTime: bigint;
  region: string;
  url: string;
  offerId: bigint;
  capacity: { cpuMillis: number; memoryMiB: number; diskMiB: number };
  used: { cpuMillis: number; memoryMiB: number; diskMiB: number };
  workloads: HeartbeatWorkload[];
}

export class ComputeNodes {
  private readonly nodes = new Map<string, ComputeNodeState>();

  constructor(private readonly o: { domain: TypedDataDomain; maxSkewMs: number }) {}

  /**
   * Verifies a heartbeat (`META_BAD_HEARTBEAT`: malformed, not signed by `registeredKey`, a seq not above the
   * last, a time off `nowMs` by more than maxSkewMs) and records it. `registeredKey` is the node's NodeRegistry
   * signing key (undefined: `META_UNKNOWN_NODE`).
   */
  beat(raw: unknown, registeredKey: (nodeId: Hex) => Address | undefined, nowMs: number): ComputeNodeState {
    const v: VerifiedComputeHeartbeat = verifyComputeHeartbeat(this.o.domain, raw);
    const m = v.message;
    const key = registeredKey(m.nodeId);
    if (key === undefined)
      throw new HmsError("META_UNKNOWN_NODE", `compute heartbeat of unregistered node ${m.nodeId}`, {
        value: m.nodeId,
      });
    if (v.signer.toLowerCase() !== key.toLowerCase())
      throw new HmsError("META_BAD_HEARTBEAT", `compute heartbeat of ${m.nodeId} not signed by its key ${key}`, {
        value: v.signer,
      });
    const known = this.nodes.get(m.nodeId);
    if (known !== undefined && m.seq <= known.seq)
      throw new HmsError("META_BAD_HEARTBEAT", `heartbeat seq ${m.seq} is not above ${known.seq}`, {
        value: m.seq.toString(),
      });
    const skewMs = Math.abs(Number(m.time) * 1000 - nowMs);
    if (skewMs > this.o.maxSkewMs)
      throw new HmsError("META_BAD_HEARTBEAT", `heartbeat time ${m.time} is ${skewMs} ms off this node's clock`, {
        value: m.time.toString(),
      });
    const state: ComputeNodeState = {
      nodeId: m.nodeId,
      key: key.toLowerCase() as Address,
      seq: m.seq,
      lastBeatMs: nowMs,
      lastBeatTime: m.time,
      region: m.region,
      url: m.url.replace(/\/+$/, ""),
      offerId: m.offerId,
      capacity: {
        cpuMillis: Number(m.capacityCpuMillis),
        memoryMiB: Number(m.capacityMemoryMiB),
        diskMiB: Number(m.capacityDiskMiB),
      },
      used: { cpuMillis: Number(m.usedCpuMillis), memoryMiB: Number(m.usedMemoryMiB), diskMiB: Number(m.usedDiskMiB) },
      workloads: v.workloads,
    };
    this.nodes.set(m.nodeId, state);
    return state;
  }

  get(nodeId: string): ComputeNodeState | undefined {
    return this.nodes.get(nodeId.toLowerCase());
  }

  all(): ComputeNodeState[] {
    return [...this.nodes.values()];
  }

  alive(nodeId: string, nowMs: number, downAfterMs: number): boolean {
    const n = this.get(nodeId);
    return n !== undefined && nowMs - n.lastBeatMs <= downAfterMs;
  }

  /** The scheduler's view of the nodes. */
  schedulerNodes(): SchedulerNode[] {
    return this.all().map((n) => ({
      nodeId: n.nodeId,
      region: n.region,
      capacity: n.capacity,
      used: n.used,
      workloadLabels: n.workloads.map((w) => w.labels),
      lastHeartbeatMs: n.lastBeatMs,
    }));
  }

  /** Whether node `nodeId`'s last heartbeat lists lease `leaseId`. */
  runs(nodeId: string, leaseId: bigint): boolean {
    return this.get(nodeId)?.workloads.some((w) => BigInt(w.leaseId) === leaseId) === true;
  }

  /** A JSON view (GET /v1/compute/nodes). */
  view(nowMs: number, downAfterMs: number): Record<string, unknown>[] {
    return this.all().map((n) => ({
      nodeId: n.nodeId,
      online: nowMs - n.lastBeatMs <= downAfterMs,
      lastBeatAgoMs: nowMs - n.lastBeatMs,
      lastBeatTime: n.lastBeatTime.toString(),
      region: n.region,
      url: n.url,
      offerId: n.offerId.toString(),
      capacity: n.capacity,
      used: n.used,
      workloads: n.workloads.map((w) => ({
        leaseId: w.leaseId,
        specHash: w.specHash,
        phase: w.phase,
        restarts: w.restarts,
        failing: w.failing,
      })),
    }));
  }
}

// ── the decision (pure) ──────────────────────────────────────────────────────────────────────────────

/** What the chain says about the lease a supervised workload runs under. */
export type LeaseFact =
  | { status: "active"; nodeId: Hex }
  /** Closed by a move: the rest runs as lease `to`, on node `toNode`. */
  | { status: "moved"; to: bigint; toNode: Hex }
  /** Closed otherwise (user, provider, oracle termination, expiry): nothing more to do. */
  | { status: "closed" };

export type SuperviseAction =
  | { kind: "none"; why: "host-alive" | "not-yet" }
  | { kind: "forget"; why: "closed" | "running-on-target" }
  /** The lease was moved: make sure its new node runs it (forward the request; idempotent). */
  | { kind: "forward"; leaseId: bigint; nodeId: Hex }
  /** Follow the move: supervise lease `leaseId` on `nodeId` from now on (its node is down too). */
  | { kind: "follow"; leaseId: bigint; nodeId: Hex }
  | { kind: "move"; to: Hex; reason: "node-dead" | "workload-failing" }
  | { kind: "terminate"; reason: "crash-loop" | "no-node" };

export interface SuperviseInput {
  host: Hex;
  hostAlive: boolean;
  failing: boolean;
  /** Needed only when the lease is active and the host dead or failing. */
  lease?: LeaseFact;
  targetAlive?: boolean;
  targetRuns?: boolean;
  /** `migrationDecision`'s answer for an active lease. */
  decision?: MigrationDecision;
  nowMs: number;
  /** The host has been silent this long, ms (a no-node give-up waits `noNodeGraceMs`). */
  silentForMs: number;
  noNodeGraceMs: number;
}

/**
 * One workload's next step: nothing while its host beats and it does not crash-loop; else by the chain's lease
 * state — forget a closed lease, follow a moved one (forward its request while the new node does not list it),
 * or apply the migration decision (move; terminate on a crash loop, or when no node can take it once the host
 * has been silent for `noNodeGraceMs`).
 */
export function superviseAction(i: SuperviseInput): SuperviseAction {
  if (i.hostAlive && !i.failing) return { kind: "none", why: "host-alive" };
  const lease = i.lease;
  if (lease === undefined) return { kind: "none", why: "not-yet" };
  if (lease.status === "closed") return { kind: "forget", why: "closed" };
  if (lease.status === "moved") {
    if (i.targetRuns) return { kind: "forget", why: "running-on-target" };
    if (i.targetAlive) return { kind: "forward", leaseId: lease.to, nodeId: lease.toNode };
    return { kind: "follow", leaseId: lease.to, nodeId: lease.toNode };
  }
  const d = i.decision;
  if (d === undefined || d.action === "keep") return { kind: "none", why: "host-alive" };
  if (d.action === "migrate")
    return i.nowMs >= d.notBeforeMs
      ? { kind: "move", to: d.to as Hex, reason: d.reason }
      : { kind: "none", why: "not-yet" };
  if (d.reason === "no-node" && i.silentForMs < i.noNodeGraceMs && !i.failing) return { kind: "none", why: "not-yet" };
  return { kind: "terminate", reason: d.reason };
}

/** keccak256 of the canonical JSON of the move's evidence (the `reportHash` of moveLease / terminateLease). */
export function supervisionReportHash(evidence: Record<string, unknown>): Hex {
  return keccak256(toHex(canonicalJson(evidence)));
}

// ── the loop ─────────────────────────────────────────────────────────────────────────────────────────

export interface ChainLease {
  active: boolean;
  nodeId: Hex;
  start: bigint;
}

/** The supervisor's view of ResourceMarket (daemon: viem + the oracle wallet; tests: a fake). */
export interface SupervisorChain {
  lease(leaseId: bigint): Promise<ChainLease>;
  /** The lease `leaseId` was moved into (LeaseMoved.newLeaseId), if it was moved. */
  movedTo(leaseId: bigint): Promise<bigint | undefined>;
  /** The lease moved into `leaseId` and the move's block time (unix seconds), if any. */
  movedFrom(leaseId: bigint): Promise<{ from: bigint; at: bigint } | undefined>;
  /** The node of an active offer (undefined when inactive or unknown). */
  offerNode(offerId: bigint): Promise<Hex | undefined>;
  /**
   * Oracle: moveLease — the old node paid until `failedAt` (unix seconds, 0 = now; clamped by the adapter), the
   * unserved gap refunded to the user; returns the new lease id.
   */
  move(leaseId: bigint, offerId: bigint, failedAt: bigint, reportHash: Hex): Promise<bigint>;
  /** Oracle: terminateLease at `failedAt` (unix seconds, clamped by the adapter to what the market accepts). */
  terminate(leaseId: bigint, failedAt: bigint, reportHash: Hex): Promise<void>;
}

export interface SupervisorOptions {
  intervalMs: number;
  downAfterMs: number;
  noNodeGraceMs: number;
  policy: MigrationPolicy;
  randomFactor: number;
  rng?: () => number;
}

export interface SupervisorDeps {
  nodes: ComputeNodes;
  /** Undefined: observe only (no oracle key): decisions are logged, nothing is sent. */
  chain?: SupervisorChain;
  /** POSTs a forwarded run request to a worker (`POST /v1/workloads` with `movedFrom`). */
  forward(url: string, body: Record<string, unknown>): Promise<void>;
  leading(): boolean;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}

/** A workload the supervisor watches: the lease it runs under now, its node, and the user's request. */
interface Watched {
  leaseId: bigint;
  host: Hex;
  failing: boolean;
  limits: HeartbeatWorkload["limits"];
  placement: { region?: string; affinity?: Record<string, string>; antiAffinity?: Record<string, string> };
  request: SignedRunRequest;
}

/** What one pass did. */
export interface SupervisePass {
  watched: number;
  moved: number;
  forwarded: number;
  terminated: number;
  failed: number;
}

export class ComputeSupervisor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SupervisePass> | undefined;
  /** Workloads whose lease was followed past a move to a node that is down too (keyed by the signed lease). */
  private readonly followed = new Map<string, Watched>();
  /** Leases found closed for good (final: a closed lease never reopens). */
  private readonly ended = new Set<bigint>();
  /** Leases this node, without an oracle key, already said it would move. */
  private readonly warned = new Set<bigint>();
  private readonly now: () => number;
  private readonly counters;

  constructor(
    private readonly d: SupervisorDeps,
    private readonly o: SupervisorOptions,
  ) {
    this.now = d.now ?? Date.now;
    this.counters = {
      actions: d.metrics.counter("meta_compute_actions_total", "Compute supervision actions, by kind and outcome", [
        "kind",
        "outcome",
      ]),
      online: d.metrics.gauge("meta_compute_nodes_online", "Compute nodes whose heartbeats are current"),
    };
  }

  start(): void {
    this.stop();
    this.timer = setInterval(() => void this.pass().catch(() => undefined), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.followed.clear();
  }

  async close(): Promise<void> {
    this.stop();
    await this.running?.catch(() => undefined);
  }

  /** One pass (serialised: a pass already running is joined). */
  pass(): Promise<SupervisePass> {
    this.running ??= this.supervise().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Every workload heard of, newest report first per signed lease (a moved workload is listed by both nodes). */
  private watched(): Watched[] {
    const byRequest = new Map<string, Watched & { beat: number }>();
    for (const n of this.d.nodes.all())
      for (const w of n.workloads) {
        const spec = w.request.spec as { placement?: Watched["placement"] } | undefined;
        const entry = {
          leaseId: BigInt(w.leaseId),
          host: n.nodeId,
          failing: w.failing,
          limits: w.limits,
          placement: spec?.placement ?? {},
          request: w.request,
          beat: n.lastBeatMs,
        };
        const key = `${w.request.leaseId}/${w.request.signature}`;
        const prior = byRequest.get(key);
        // The same request reported by two nodes: the later lease is the one it was moved into.
        if (prior === undefined || entry.leaseId > prior.leaseId) byRequest.set(key, entry);
      }
    for (const [key, f] of this.followed) {
      const prior = byRequest.get(key);
      if (prior === undefined || f.leaseId > prior.leaseId) byRequest.set(key, { ...f, beat: 0 });
    }
    return [...byRequest.values()];
  }

  private async supervise(): Promise<SupervisePass> {
    const pass: SupervisePass = { watched: 0, moved: 0, forwarded: 0, terminated: 0, failed: 0 };
    const nowMs = this.now();
    this.counters.online.set(this.d.nodes.all().filter((n) => nowMs - n.lastBeatMs <= this.o.downAfterMs).length);
    if (!this.d.leading()) return pass;
    for (const w of this.watched()) {
      if (!this.d.leading()) break;
      pass.watched++;
      try {
        await this.superviseOne(w, pass);
      } catch (err) {
        pass.failed++;
        this.counters.actions.inc({ kind: "error", outcome: (err as HmsError).code ?? "ERROR" });
        this.d.logger.warn({ err, leaseId: `${w.leaseId}` }, "compute supervision of a workload failed");
      }
    }
    if (pass.moved + pass.forwarded + pass.terminated + pass.failed > 0) this.d.logger.info(pass, "compute pass");
    return pass;
  }

  private key(w: Watched): string {
    return `${w.request.leaseId}/${w.request.signature}`;
  }

  private async superviseOne(w: Watched, pass: SupervisePass): Promise<void> {
    const nodes = this.d.nodes;
    const nowMs = this.now();
    const hostAlive = nodes.alive(w.host, nowMs, this.o.downAfterMs);
    const base = {
      host: w.host,
      hostAlive,
      failing: w.failing,
      nowMs,
      silentForMs: nowMs - (nodes.get(w.host)?.lastBeatMs ?? 0),
      noNodeGraceMs: this.o.noNodeGraceMs,
    };
    const chain = this.d.chain;
    if (hostAlive && !w.failing) {
      if (nodes.runs(w.host, w.leaseId)) {
        this.followed.delete(this.key(w));
        return;
      }
      // A move this master made (or followed) that the new node does not run yet: forward again (idempotent).
      if (chain === undefined) return;
      const fact = await this.leaseFact(chain, w.leaseId);
      if (fact.status === "closed") this.followed.delete(this.key(w));
      else if (fact.status === "moved")
        this.followed.set(this.key(w), { ...w, leaseId: fact.to, host: fact.toNode, failing: false });
      else if (fact.nodeId.toLowerCase() === w.host.toLowerCase()) {
        await this.forward(w.host, w.leaseId, w);
        pass.forwarded++;
      }
      return;
    }
    const lease = chain === undefined ? undefined : await this.leaseFact(chain, w.leaseId);
    let decision: MigrationDecision | undefined;
    if (lease?.status === "active") decision = await this.decide(chain!, w, nowMs);
    const action = superviseAction({
      ...base,
      lease,
      decision,
      targetAlive: lease?.status === "moved" ? nodes.alive(lease.toNode, nowMs, this.o.downAfterMs) : undefined,
      targetRuns: lease?.status === "moved" ? nodes.runs(lease.toNode, lease.to) : undefined,
    });
    if (chain === undefined) {
      // Once per lease: the pass repeats every intervalMs.
      if ((!hostAlive || w.failing) && !this.warned.has(w.leaseId) && this.warned.add(w.leaseId))
        this.d.logger.warn(
          { leaseId: `${w.leaseId}`, host: w.host, decision },
          "compute workload needs moving, but this meta node has no oracle key",
        );
      return;
    }
    switch (action.kind) {
      case "none":
        return;
      case "forget":
        this.followed.delete(this.key(w));
        return;
      case "follow":
        this.followed.set(this.key(w), { ...w, leaseId: action.leaseId, host: action.nodeId, failing: false });
        return;
      case "forward":
        await this.forward(action.nodeId, action.leaseId, w);
        pass.forwarded++;
        return;
      case "move": {
        if (!this.d.leading()) return;
        const target = nodes.get(action.to)!;
        if ((await chain.offerNode(target.offerId))?.toLowerCase() !== target.nodeId.toLowerCase())
          throw new HmsError("COMPUTE_NO_PLACEMENT", `node ${target.nodeId} has no active offer ${target.offerId}`, {
            value: target.offerId.toString(),
          });
        const reportHash = supervisionReportHash({
          kind: "move",
          leaseId: w.leaseId.toString(),
          from: w.host,
          to: target.nodeId,
          reason: action.reason,
          lastBeat: (nodes.get(w.host)?.lastBeatTime ?? 0n).toString(),
        });
        // A dead node is paid until its last signed heartbeat; a live one whose workload crash-loops, until now.
        const failedAt = action.reason === "node-dead" ? (nodes.get(w.host)?.lastBeatTime ?? 0n) : 0n;
        const newLease = await chain.move(w.leaseId, target.offerId, failedAt, reportHash);
        pass.moved++;
        this.counters.actions.inc({ kind: "move", outcome: action.reason });
        this.d.logger.warn(
          {
            leaseId: `${w.leaseId}`,
            newLeaseId: `${newLease}`,
            from: w.host,
            to: target.nodeId,
            reason: action.reason,
          },
          "compute workload moved",
        );
        const moved = { ...w, leaseId: newLease, host: target.nodeId, failing: false };
        this.followed.set(this.key(w), moved);
        await this.forward(target.nodeId, newLease, w).then(
          () => pass.forwarded++,
          (err) => this.d.logger.warn({ err, leaseId: `${newLease}` }, "forward failed: retried next pass"),
        );
        return;
      }
      case "terminate": {
        if (!this.d.leading()) return;
        const lastBeat = nodes.get(w.host)?.lastBeatTime ?? 0n;
        const reportHash = supervisionReportHash({
          kind: "terminate",
          leaseId: w.leaseId.toString(),
          node: w.host,
          reason: action.reason,
          lastBeat: lastBeat.toString(),
        });
        await chain.terminate(w.leaseId, w.failing ? 0n : lastBeat, reportHash);
        pass.terminated++;
        this.followed.delete(this.key(w));
        this.counters.actions.inc({ kind: "terminate", outcome: action.reason });
        this.d.logger.warn(
          { leaseId: `${w.leaseId}`, node: w.host, reason: action.reason },
          "compute lease terminated: the user is refunded the rest",
        );
        return;
      }
    }
  }

  /**
   * The lease's state on chain, its moves followed to their end: active; moved into a lease still active (the
   * last of the chain); or closed for good (closed without a move, or moved into leases that all ended since).
   * A lease found closed for good is remembered (a closed lease never reopens), so a dead node's stale report of
   * it costs no more chain reads.
   */
  private async leaseFact(chain: SupervisorChain, leaseId: bigint): Promise<LeaseFact> {
    if (this.ended.has(leaseId)) return { status: "closed" };
    const lease = await chain.lease(leaseId);
    if (lease.active) return { status: "active", nodeId: lease.nodeId };
    let at = leaseId;
    for (let i = 0; i < MAX_MOVE_DEPTH; i++) {
      const to = await chain.movedTo(at);
      if (to === undefined) break;
      const next = await chain.lease(to);
      if (next.active) return { status: "moved", to, toNode: next.nodeId.toLowerCase() as Hex };
      at = to;
    }
    this.ended.add(leaseId);
    return { status: "closed" };
  }

  /** `migrationDecision` with the history read from the chain's moves into this lease. */
  private async decide(chain: SupervisorChain, w: Watched, nowMs: number): Promise<MigrationDecision> {
    const migrations: number[] = [];
    const failedOn: string[] = [];
    let at = w.leaseId;
    for (let i = 0; i < 8; i++) {
      const m = await chain.movedFrom(at);
      if (m === undefined) break;
      migrations.push(Number(m.at) * 1000);
      failedOn.push((await chain.lease(m.from)).nodeId.toLowerCase());
      at = m.from;
    }
    const o: SchedulerOptions = {
      nowMs,
      heartbeatTimeoutMs: this.o.downAfterMs,
      randomFactor: this.o.randomFactor,
      rng: this.o.rng ?? Math.random,
    };
    return migrationDecision(
      {
        request: {
          limits: w.limits,
          region: w.placement.region,
          affinity: w.placement.affinity,
          antiAffinity: w.placement.antiAffinity,
        },
        nodeId: w.host.toLowerCase(),
        failing: w.failing,
        migrations,
        failedOn,
      },
      this.d.nodes.schedulerNodes(),
      this.o.policy,
      o,
    );
  }

  private async forward(nodeId: Hex, leaseId: bigint, w: Watched): Promise<void> {
    const node = this.d.nodes.get(nodeId);
    if (node === undefined) throw new HmsError("META_UNKNOWN_NODE", `no compute node ${nodeId}`, { value: nodeId });
    await this.d.forward(node.url, {
      leaseId: `${leaseId}`,
      spec: w.request.spec,
      deadline: w.request.deadline,
      signature: w.request.signature,
      movedFrom: w.request.leaseId,
    });
    this.counters.actions.inc({ kind: "forward", outcome: "sent" });
  }
}
