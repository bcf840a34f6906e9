/**
 * The meta node's request handling (issue 13 items 1, 5–7), between the HTTP routes (server.ts) and the
 * replicated state: placements and replacements, owner-signed index writes, reads with staleness, receipts and
 * their acks, heartbeats and bad-copy reports, the validators' feed and the period's proposal input.
 *
 * Writes run on the master only (`cluster.propose`: acknowledged once a majority persisted them); reads run on
 * any node, after it applied the caller's `minIndex` (read-your-writes) or META_STALE_READ.
 *
 * Log entries besides the index's commands: `upload` (an upload's placement, so that a new master can serve
 * its replacements) and `receipts` (receipts.ts) — applied in the index's own LevelDB batch.
 */
import { randomBytes } from "node:crypto";
import type { Address, Hex, TypedDataDomain } from "viem";
import type { Logger } from "pino";
import { HmsError, isErrorCode } from "../core/errors";
import { domainOf, fastTypedDigest, recoverTypedSync } from "../core/signing";
import type { Store } from "../core/store";
import type { NodeEndpoint, Placement, SignedStorageAck } from "../protocol/network";
import { indexWriteMessage, type IndexWriteOp } from "../protocol/index-write";
import { matchReceipts } from "../protocol/ledger";
import { periodAt, type PeriodClock, type ReceiptSide } from "../protocol/transfer";
import type { PeriodReceipts, SignedReceipt, WireReceipt } from "../protocol/receipts";
import { ackMessage } from "../protocol/storage-wire";
import type { SignedHeartbeat, SignedReceiptAck } from "../protocol/meta-wire";
import type { MetaCluster } from "./cluster";
import type { LogEntry } from "./log-store";
import { MetaIndex, authorizeWrite, commandOf, type ApplyOutcome, type IndexCommand } from "./index";
import { NodeTable } from "./nodes";
import { pickReplacement, placeSlices, type NodeCandidate, type PlacementWeights } from "./placement";
import {
  admitReceipts,
  applyReceipts,
  receipts as receiptRepo,
  signReceiptAck,
  type ReceiptOutcome,
  type ReceiptsCommand,
} from "./receipts";
import { storeReader, type IndexReader, type IndexTx } from "./index/repositories";

/** An upload's placement as replicated. */
export interface UploadRecord {
  owner: Address;
  /** Node ids of each slice's chain. */
  chains: Hex[][];
  term: bigint;
  /** Master's clock when placed, ms. */
  time: number;
}

interface UploadCommand {
  kind: "upload";
  uploadId: Hex;
  record: UploadRecord;
}

const P_UPLOAD = "upl:";

export interface ServiceOptions {
  store: Store;
  index: MetaIndex;
  cluster: MetaCluster;
  nodes: NodeTable;
  privateKey: Hex;
  address: Address;
  domains: { chainId: number; nodeRegistry: Address; miningPool: Address };
  clock: PeriodClock;
  tolerancePeriods: number;
  copies: number;
  weights: PlacementWeights;
  logger: Logger;
  /** Test fault: while master, leave receipts whose task id ends in this hex digit out of the feed. */
  dropReceiptsInFeed?: string;
  /** Called for every bad-copy report (health's targeted audit). */
  onBadCopy?(cid: string, nodeId: Hex): void;
  now?: () => number;
}

/** One receipt's answer: its ack, or why it was refused. */
export type ReceiptResult = { ack: SignedReceiptAck } | { error: HmsError };

export class MetaService {
  readonly network: TypedDataDomain;
  readonly traffic: TypedDataDomain;
  /** Nonces logged but maybe not yet applied, per owner (master only; reset on every role change). */
  private readonly pendingNonces = new Map<string, bigint>();
  /** Writes being logged, by digest: a retry that arrives meanwhile waits for the same answer. */
  private readonly inflightWrites = new Map<Hex, Promise<{ term: bigint; index: bigint }>>();
  private readonly now: () => number;
  private readonly reader: IndexReader;

  constructor(private readonly o: ServiceOptions) {
    this.reader = storeReader(o.store);
    this.network = domainOf("network", o.domains.chainId, o.domains.nodeRegistry);
    this.traffic = domainOf("traffic", o.domains.chainId, o.domains.miningPool);
    this.now = o.now ?? Date.now;
  }

  /** Forget master-only soft state (called on every role change). */
  resetLeaderState(): void {
    this.pendingNonces.clear();
    this.inflightWrites.clear();
  }

  // ── applying committed entries (every node) ──────────────────────────────────────────────────────────

  /** Applies committed entries in order, each in one LevelDB batch with the index. */
  async apply(entries: readonly LogEntry[]): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const e of entries) {
      let staged: unknown;
      const outcome: ApplyOutcome = await this.o.index.apply(
        { term: e.term, index: e.index, command: e.command as IndexCommand },
        async (tx: IndexTx) => {
          if (e.command.kind === "receipts")
            staged = await applyReceipts(tx, e.command as unknown as ReceiptsCommand, { term: e.term, index: e.index });
          else if (e.command.kind === "upload") {
            const u = e.command as unknown as UploadCommand;
            tx.put(`${P_UPLOAD}${u.uploadId.toLowerCase()}`, u.record);
          }
        },
      );
      out.push(staged ?? outcome);
    }
    return out;
  }

  // ── placement ────────────────────────────────────────────────────────────────────────────────────────

  candidates(): NodeCandidate[] {
    return this.o.nodes.all().map((n) => ({
      nodeId: n.nodeId,
      url: n.url ?? "",
      region: n.region,
      capacity: n.capacity,
      free: n.free,
      uptimeSec: Math.floor(n.onlineMs / 1000),
      connections: n.load,
      online: n.online && n.url !== undefined,
    }));
  }

  async place(req: {
    owner: Address;
    size: bigint;
    sliceSize: number;
    slices: number;
    copies: number;
    /** The target path, checked against the index before anything is placed. */
    path?: string;
  }): Promise<Placement> {
    const c = this.o.cluster;
    if (!c.leading) throw c.notLeader();
    if (req.path !== undefined) await this.o.index.checkPut(req.owner, req.path);
    const sizes = Array.from({ length: req.slices }, () => req.sliceSize);
    const chains = placeSlices(this.candidates(), { sizes, copies: req.copies }, this.o.weights);
    const uploadId = `0x${randomBytes(32).toString("hex")}` as Hex;
    const record: UploadRecord = {
      owner: req.owner.toLowerCase() as Address,
      chains: chains.map((ch) => ch.map((n) => n.nodeId.toLowerCase() as Hex)),
      term: c.term,
      time: this.now(),
    };
    const done = await c.propose({ kind: "upload", uploadId, record } as unknown as LogEntry["command"]);
    return { uploadId, term: done.term, slices: chains };
  }

  async upload(uploadId: Hex): Promise<UploadRecord | undefined> {
    return this.o.store.get<UploadRecord>(`${P_UPLOAD}${uploadId.toLowerCase()}`);
  }

  /**
   * Confirms an upload's placement under this master's term (a client whose upload outlived the master that placed
   * it; workers refuse the older term). Replicated like the placement, so a later master knows it too.
   */
  async renew(req: { uploadId: Hex }): Promise<bigint> {
    const c = this.o.cluster;
    if (!c.leading) throw c.notLeader();
    const up = await this.upload(req.uploadId);
    if (up === undefined) throw new HmsError("META_NOT_FOUND", `no upload ${req.uploadId}`, { value: req.uploadId });
    if (up.term === c.term) return up.term;
    const record: UploadRecord = { ...up, term: c.term, time: this.now() };
    const done = await c.propose({
      kind: "upload",
      uploadId: req.uploadId.toLowerCase() as Hex,
      record,
    } as unknown as LogEntry["command"]);
    return done.term;
  }

  async replace(req: { uploadId: Hex; slice: number; exclude: Hex[] }): Promise<NodeEndpoint> {
    const c = this.o.cluster;
    if (!c.leading) throw c.notLeader();
    const up = await this.upload(req.uploadId);
    if (up === undefined) throw new HmsError("META_NOT_FOUND", `no upload ${req.uploadId}`, { value: req.uploadId });
    const chain = up.chains[req.slice];
    if (chain === undefined)
      throw new HmsError("META_BAD_REQUEST", `upload has no slice ${req.slice}`, { value: req.slice });
    const exclude = [...new Set([...chain, ...req.exclude].map((x) => x.toLowerCase() as Hex))];
    const regions = chain
      .filter((id) => !req.exclude.map((x) => x.toLowerCase()).includes(id))
      .map((id) => this.o.nodes.get(id)?.region ?? "");
    return pickReplacement(this.candidates(), { size: 0, exclude, regions }, this.o.weights);
  }

  // ── index writes ─────────────────────────────────────────────────────────────────────────────────────

  private verifyAck = (ack: SignedStorageAck): boolean => {
    const key = this.o.nodes.key(ack.nodeId);
    if (key === undefined) return false;
    try {
      return recoverTypedSync(this.network, "StorageAck", ackMessage(ack), ack.signature) === key.toLowerCase();
    } catch {
      return false;
    }
  };

  /** Admits and logs an owner's write; resolves with its position once a majority persisted it. */
  async write(op: IndexWriteOp, auth: { nonce: bigint; deadline: bigint; signature: Hex }) {
    const c = this.o.cluster;
    if (!c.leading) throw c.notLeader();
    const owner = (op.op === "put" ? op.file.owner : op.owner).toLowerCase();
    // The same signed write again (a client retrying after a timeout or a failover): the first attempt's answer.
    const digest = writeDigest(this.network, op, auth);
    const inflight = this.inflightWrites.get(digest);
    if (inflight !== undefined) return inflight;
    const prior = await this.o.index.lastWrite(owner as Address);
    if (prior !== undefined && prior.nonce === auth.nonce && prior.digest === digest) {
      if (prior.status === "applied") return { term: prior.term, index: prior.index };
      throw new HmsError(isErrorCode(prior.code) ? prior.code : "META_BAD_WRITE", prior.message ?? "write refused", {
        value: op.op === "put" ? op.file.path : op.path,
        details: { term: prior.term.toString(), index: prior.index.toString() },
      });
    }
    const attempt = this.admitWrite(op, auth, owner, digest);
    this.inflightWrites.set(digest, attempt);
    try {
      return await attempt;
    } finally {
      this.inflightWrites.delete(digest);
    }
  }

  private async admitWrite(
    op: IndexWriteOp,
    auth: { nonce: bigint; deadline: bigint; signature: Hex },
    owner: string,
    digest: Hex,
  ): Promise<{ term: bigint; index: bigint }> {
    const c = this.o.cluster;
    const applied = await this.o.index.lastNonce(owner as Address);
    const pending = this.pendingNonces.get(owner);
    const lastNonce = pending !== undefined && (applied === undefined || pending > applied) ? pending : applied;
    authorizeWrite(op, auth, { domain: this.network, now: BigInt(Math.floor(this.now() / 1000)), lastNonce });
    const cmd = commandOf(op, auth.nonce, {
      time: BigInt(Math.floor(this.now() / 1000)),
      resolve: (id) => this.o.nodes.endpoint(id),
      verifyAck: this.verifyAck,
      digest,
    });
    this.pendingNonces.set(owner, auth.nonce);
    const done = await c.propose(cmd as unknown as LogEntry["command"]);
    const outcome = done.outcome as ApplyOutcome;
    if (outcome.status === "rejected")
      throw new HmsError(isErrorCode(outcome.code) ? outcome.code : "META_BAD_WRITE", outcome.message, {
        value: op.op === "put" ? op.file.path : op.path,
        details: { term: done.term.toString(), index: done.index.toString() },
      });
    return { term: done.term, index: done.index };
  }

  // ── reads ────────────────────────────────────────────────────────────────────────────────────────────

  /** Waits briefly for `minIndex` to be applied here; META_STALE_READ if it is not. */
  async fresh(minIndex: bigint | undefined): Promise<void> {
    if (minIndex === undefined || minIndex <= this.o.cluster.appliedIndex) return;
    if (await this.o.cluster.waitApplied(minIndex, 300)) return;
    throw new HmsError("META_STALE_READ", `applied ${this.o.cluster.appliedIndex}, the read asks for ${minIndex}`, {
      value: minIndex.toString(),
      details: { applied: this.o.cluster.appliedIndex.toString(), leader: this.o.cluster.leaderApiUrl },
    });
  }

  // ── receipts ─────────────────────────────────────────────────────────────────────────────────────────

  /** Verifies, de-duplicates, logs and acknowledges a batch of one side's receipts. */
  async submitReceipts(side: ReceiptSide, batch: readonly SignedReceipt[]): Promise<ReceiptResult[]> {
    const c = this.o.cluster;
    if (!c.leading) throw c.notLeader();
    const verdicts = admitReceipts(side, batch, {
      domain: this.traffic,
      clock: this.o.clock,
      now: BigInt(Math.floor(this.now() / 1000)),
      tolerance: this.o.tolerancePeriods,
      nodeKey: (id) => this.o.nodes.key(id),
    });
    const results: (ReceiptResult | undefined)[] = new Array(batch.length);
    const toLog: number[] = [];
    const inBatch = new Map<string, number>();
    for (let i = 0; i < batch.length; i++) {
      const v = verdicts[i];
      if (!v.ok) {
        results[i] = { error: v.error };
        continue;
      }
      const existing = await receiptRepo.get(this.reader, BigInt(v.wire.period), v.wire.taskId as Hex, side);
      if (existing !== undefined) {
        results[i] =
          existing.wire.signature === v.wire.signature
            ? { ack: this.ack(v.wire.taskId as Hex, side, existing.term, existing.index) }
            : { error: conflict(v.wire.taskId) };
        continue;
      }
      const key = `${v.wire.taskId}:${v.wire.signature}`;
      if (inBatch.has(key)) continue; // answered with its twin's ack below
      inBatch.set(key, i);
      toLog.push(i);
    }
    if (toLog.length > 0) {
      const cmd: ReceiptsCommand = {
        kind: "receipts",
        side,
        receipts: toLog.map((i) => (verdicts[i] as { ok: true; wire: WireReceipt }).wire),
      };
      const done = await c.propose(cmd as unknown as LogEntry["command"]);
      const outcomes = done.outcome as ReceiptOutcome[];
      toLog.forEach((i, k) => {
        const o = outcomes[k];
        results[i] =
          o.status === "conflict"
            ? { error: conflict(batch[i].receipt.taskId) }
            : { ack: this.ack(batch[i].receipt.taskId, side, o.term, o.index) };
      });
    }
    for (let i = 0; i < batch.length; i++)
      if (results[i] === undefined) {
        const v = verdicts[i] as { wire: { taskId: string; signature: string } };
        results[i] = results[inBatch.get(`${v.wire.taskId}:${v.wire.signature}`)!];
      }
    return results as ReceiptResult[];
  }

  private ack(taskId: Hex, side: ReceiptSide, term: bigint, index: bigint): SignedReceiptAck {
    return signReceiptAck(this.o.privateKey, this.o.address, this.network, { taskId, side, term, index });
  }

  /** The feed (any node): the receipts this node has applied for `from..to`. */
  async feed(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    const periods = await receiptRepo.periods(this.o.store, from, to);
    const drop = this.o.dropReceiptsInFeed;
    if (drop === undefined || !this.o.cluster.leading) return periods;
    const keep = (r: SignedReceipt) => !r.receipt.taskId.toLowerCase().endsWith(drop);
    return periods.map((p) => ({ period: p.period, client: p.client.filter(keep), node: p.node.filter(keep) }));
  }

  /** The period's proposal input on the master: its receipts matched by task id (protocol/ledger.ts). */
  async proposalInput(period: bigint) {
    const c = this.o.cluster;
    if (!c.leading) throw c.notLeader();
    const current = periodAt(this.o.clock, BigInt(Math.floor(this.now() / 1000)));
    const [group] = await this.feed(period, period);
    const { matched, flagged } = matchReceipts(
      period,
      (group?.client ?? []).map((r) => r.receipt),
      (group?.node ?? []).map((r) => r.receipt),
    );
    return { period, ended: period < current, receipts: group ?? { period, client: [], node: [] }, matched, flagged };
  }

  // ── health ───────────────────────────────────────────────────────────────────────────────────────────

  /**
   * A worker's heartbeat, on any node: workers send them to every meta node (MetaClient.heartbeat), so a follower's
   * node table is current when it becomes master. Only the master acts on it (placement, repair, audits).
   */
  heartbeat(beat: SignedHeartbeat): void {
    this.o.nodes.beat(beat);
  }

  reportBad(report: { cid: string; nodeId: Hex; reason: string }): void {
    const c = this.o.cluster;
    if (!c.leading) throw c.notLeader();
    if (this.o.nodes.get(report.nodeId) === undefined)
      throw new HmsError("META_UNKNOWN_NODE", `no storage node ${report.nodeId}`, { value: report.nodeId });
    this.o.nodes.failedTransfer(report.nodeId);
    this.o.onBadCopy?.(report.cid, report.nodeId);
  }
}

/** EIP-712 digest of a signed index write: equal for a retry of the same write, different for any other. */
function writeDigest(domain: TypedDataDomain, op: IndexWriteOp, auth: { nonce: bigint; deadline: bigint }): Hex {
  return fastTypedDigest(domain, "IndexWrite", indexWriteMessage(op, auth.nonce, auth.deadline));
}

function conflict(taskId: string): HmsError {
  return new HmsError("META_RECEIPT_CONFLICT", `task ${taskId} already has a different receipt on this side`, {
    value: taskId,
  });
}
