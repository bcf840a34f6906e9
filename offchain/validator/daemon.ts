/**
 * `hms validator`: one bookkeeper's daemon (PROTOCOL §10–§11). It
 *
 *   1. loads its key, the deployment file and its state (LevelDB), checks the chain and its registration;
 *   2. follows the chain (time = the latest block's timestamp): each epoch it reads the elected committee and
 *      leader order from BookkeeperStaking, calls the permissionless `elect()` when an epoch started without an
 *      election, and runs the PBFT replica of the last elected committee (`configId` = epoch);
 *   3. each period builds the traffic proposal from the traffic feed and the last reported carry-over
 *      (proposal.ts), submits it to its replica; validates other proposals by recomputation — and, reading the
 *      meta layer (`trafficSource.metaUrls`), refuses one that leaves out a receipt a majority of the meta nodes
 *      hold (client/meta-feed.ts `checkNoOmission`: every acknowledged receipt is in such a read);
 *   4. on execution signs the EIP-712 `PeriodReport` — after the signing record allows it —, gossips the
 *      signature to the committee, and once it holds more than 2/3 transmits (primary first, the others after
 *      staggered delays if it is still not on chain), confirms inclusion and settles the bookkeepers' share;
 *   5. turns PBFT equivocation evidence into `reportEquivocation`;
 *   6. serves `/health`, `/metrics` and `/v1/reports/:period` (the report document and claims).
 *
 * Pure decisions live in proposal.ts, signing-record.ts and schedule.ts; this file is the I/O around them.
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress, parseEventLogs, type Address, type Hex } from "viem";
import { miningPoolAbi } from "../chain/abis";
import type { Logger } from "pino";
import { loadDeployment, contractAddress, type Deployment } from "../chain/deployment";
import { addSignaturesArgs, settlement, signersOf, type ReportedPeriod } from "../chain/rewards";
import { ValidationError, isHmsError } from "../core/errors";
import { moduleLogger } from "../core/logger";
import { Metrics } from "../core/metrics";
import { ZERO_HASH } from "../protocol/merkle";
import { epochMaySign, graceEnd, quorumArgs, type ElectionState, type KeySignature } from "../protocol/quorum";
import { KeyRing, domainOf, fastTypedDigest, signDigestSync, type PeriodReportMessage } from "../core/signing";
import { Store } from "../core/store";
import { HttpTransport } from "../core/transport";
import { createEip712Crypto, sha256Hex } from "../consensus/pbft/crypto";
import { PbftNode, type ExecutedRequest } from "../consensus/pbft/node";
import type { Evidence, PbftMessage, ReplicaAction, RequestVerdict } from "../consensus/pbft/types";
import type { RankedNode } from "../protocol/ledger";
import { claimsFromDocument, type ReportDocument } from "../protocol/report";
import { HttpTrafficFeed } from "../client/feed";
import { MajorityTrafficFeed, checkNoOmission } from "../client/meta-feed";
import { createStorageClient, type StorageClient } from "../client/storage/actions";
import type { PeriodReceipts, TrafficFeed } from "../protocol/receipts";
import { ValidatorChain, evidenceId, revertName, type EpochInfo } from "./chain";
import { publishesReports, resolveKey, type ValidatorConfig } from "./config";
import { GuardedCrypto } from "./crypto";
import { ValidatorError } from "./errors";
import {
  basePeriod,
  buildReportProposal,
  buildSkipProposal,
  checkProposal,
  decodeProposal,
  lastEndedPeriod,
  nodeIdsOf,
  periodEnd,
  periodOfSeq,
  recomputeReport,
  trafficWindow,
  windowTraffic,
  type PrevReport,
  type ProposalContext,
  type ReportProposal,
} from "../protocol/proposal";
import { planRequests, transmitDelayMs, transmitPosition, indexOf } from "./schedule";
import { SigningRecordStore, SlashingProtectionError, guardVotes, type ReportSignature } from "./signing-record";
import { GasWatch, describeChainError } from "./gas";
import { landedDuty } from "./settlement";
import { fetchReport, publicationProblem, publishReport } from "./publication";

/** Transport kind of report-signature gossip. */
export const REPORT_SIG_KIND = "hms.report-sig";

type ReportStatus = "executed" | "signed" | "landed" | "abandoned";

/** A report this validator executed, as persisted (`report/<period>`). */
export interface ReportRecord {
  period: bigint;
  epoch: bigint;
  seq: number;
  view: number;
  /** Digest of the PBFT request. */
  requestDigest: Hex;
  prevPeriod: bigint | null;
  report: PeriodReportMessage;
  /** EIP-712 digest of the report in the MiningPool domain. */
  reportDigest: Hex;
  /** The full report document (canonical JSON; its sha256 is `report.dataCid`). */
  json: string;
  status: ReportStatus;
  reason?: string;
  signature?: Hex;
  landed?: { by: "self" | "other"; tx: Hex; block: bigint; gasUsed?: bigint };
  settled?: boolean;
  settleTx?: Hex;
  settleGas?: bigint;
}

interface Volatile {
  quorumAt?: number;
  lastBroadcast?: number;
  landedAt?: number;
  nextTryAt?: number;
  settleAttempts: number;
}

interface ReplicaState {
  epoch: bigint;
  info: EpochInfo;
  base: bigint;
  node: PbftNode;
  store: Store;
  lastApplied: number;
  /** Last executed sequence number seen and when it last moved (catch-up detection). */
  progress: { seq: number; at: number };
}

export interface ValidatorRuntime {
  logger: Logger;
  metrics?: Metrics;
  /** Called once on a failure the daemon cannot continue from (e.g. the signing record refused): exit. */
  onFatal?: (err: unknown) => void;
}

const padPeriod = (p: bigint) => p.toString().padStart(20, "0");

/** A majority read of the meta layer older than this is read again before a proposal is checked against it. */
const REFERENCE_MAX_AGE_MS = 5_000;

/** A majority read of one traffic window (verified, in proposal form), and the read in flight. */
interface Reference {
  at: number;
  traffic?: PeriodReceipts[];
  loading?: Promise<void>;
}

export class Validator {
  readonly address: Address;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly keyRing = new KeyRing();
  private readonly privateKey: Hex;
  private readonly deployment: Deployment;
  private readonly chainId: number;
  private readonly pool: Address;
  private readonly staking: Address;
  private readonly feed: TrafficFeed & { close(): Promise<void> };
  /** Reading the meta layer: proposals are checked for omissions against a majority read of their window. */
  private readonly majority: boolean;
  private readonly references = new Map<string, Reference>();
  /** Digests of requests refused for an omission (logged once each). */
  private readonly omitting = new Set<Hex>();
  /**
   * Publishing report documents in the storage network (`publishReports`, default: with `metaUrls`): the builder
   * stores its document before it proposes; a replica prepares only a report whose `dataCid` resolves to the
   * document it recomputed (publication.ts). `storage` writes (owner: the signing key), `reader` reads anonymously.
   */
  private readonly publish: { storage: StorageClient; reader: StorageClient } | undefined;
  /** Documents this validator stored (by CID): not stored again while it runs. */
  private readonly published = new Map<string, Promise<void>>();
  /** Resolution of report documents by `dataCid`: the check in flight, or its outcome (problem or undefined). */
  private readonly resolutions = new Map<
    string,
    { at: number; loading?: Promise<void>; problem?: { code: string; reason: string } | null }
  >();
  private chain!: ValidatorChain;
  private gas!: GasWatch;
  private appStore!: Store;
  private record!: SigningRecordStore;
  private transport!: HttpTransport;
  private url = "";
  private bookkeeper: Address = "0x0000000000000000000000000000000000000000";

  private genesis = 0n;
  private periodLength = 600n;
  // Chain facts, refreshed every tick (and before validating a proposal).
  private chainTime = 0n;
  private nextPeriod = 0n;
  private electionGrace = 0n;
  private lastElected: bigint | undefined;
  private currentEpoch = 0n;
  private readonly nodeKeys = new Map<string, { key: Address; at: number }>();
  private readonly carryKnown = new Map<string, RankedNode[]>();
  /** Carry roots of periods known to be reported on chain (immutable once reported). */
  private readonly chainKnownReports = new Map<string, Hex>();

  private replica: ReplicaState | undefined;
  private standbyEpoch: bigint | undefined;
  private readonly reports = new Map<string, ReportRecord>();
  private readonly volatile = new Map<string, Volatile>();
  /** Report signatures received: period → signer → { digest, signature }. */
  private readonly sigs = new Map<string, Map<string, { digest: Hex; signature: Hex }>>();
  /** Requests this validator submitted that have not executed yet: digest → submitted at (ms). */
  private readonly outstanding = new Map<Hex, number>();
  private readonly execQueue: Array<{ epoch: bigint; e: ExecutedRequest }> = [];
  private applying: Promise<void> = Promise.resolve();
  private evidenceQueue: Promise<void> = Promise.resolve();
  private readonly electNoticed = new Map<string, number>();

  private timer: NodeJS.Timeout | undefined;
  private readonly wakeTimers = new Set<NodeJS.Timeout>();
  private ticking = false;
  private again = false;
  private stopped = false;
  private fatal = false;
  private lastWarn = new Map<string, number>();
  private readonly m;

  private constructor(
    readonly config: ValidatorConfig,
    private readonly runtime: ValidatorRuntime,
  ) {
    const { privateKey, address } = resolveKey(config);
    this.privateKey = privateKey;
    this.address = address;
    this.log = runtime.logger;
    this.metrics = runtime.metrics ?? new Metrics({ collectDefault: true });
    this.deployment = loadDeployment(config.deployment);
    this.chainId = config.chainId ?? this.deployment.chainId;
    this.pool = contractAddress(this.deployment, "MiningPool");
    this.staking = contractAddress(this.deployment, "BookkeeperStaking");
    contractAddress(this.deployment, "NodeRegistry");
    const feedOptions = { timeoutMs: config.trafficSource.timeoutMs, chainId: this.chainId, pool: this.pool };
    const { url, metaUrls } = config.trafficSource;
    this.majority = metaUrls !== undefined;
    this.feed =
      metaUrls !== undefined ? new MajorityTrafficFeed(metaUrls, feedOptions) : new HttpTrafficFeed(url!, feedOptions);
    if (publishesReports(config) && metaUrls !== undefined) {
      const storage = createStorageClient({ metaUrls, owner: privateKey });
      this.publish = { storage, reader: createStorageClient({ meta: storage.meta }) };
    }
    const mt = this.metrics;
    this.m = {
      reported: mt.counter("validator_periods_reported_total", "Periods whose report landed on chain", ["by"]),
      round: mt.histogram("validator_round_seconds", "Proposal submitted → executed by PBFT", {
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      }),
      reportLatency: mt.histogram("validator_report_latency_seconds", "Period end (chain time) → report on chain", {
        buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600],
      }),
      viewChanges: mt.counter("validator_view_changes_total", "PBFT view changes started"),
      view: mt.gauge("validator_view", "Current PBFT view"),
      signatures: mt.counter("validator_signatures_total", "Signatures made", ["kind"]),
      collected: mt.gauge("validator_report_signatures", "Signatures held for the report in flight"),
      epoch: mt.gauge("validator_epoch", "Epoch of the committee this validator follows"),
      lastReported: mt.gauge("validator_last_reported_period", "Last period reported on chain"),
      rejected: mt.counter("validator_proposals_rejected_total", "Proposals that failed validation"),
      evidence: mt.counter("validator_evidence_total", "Equivocation evidence handled", ["result"]),
      refused: mt.counter("validator_signatures_refused_total", "Signatures refused by the signing record", ["kind"]),
      executed: mt.counter("validator_executed_total", "Requests executed", ["type"]),
      documents: mt.counter(
        "validator_report_documents_total",
        "Report documents in the storage network: stored by this validator, publish failures, proposals' dataCid resolved or not",
        ["result"],
      ),
    };
    for (const result of ["published", "publish_failed", "resolved", "unresolved"]) this.m.documents.inc({ result }, 0);
    // Export the known label values at 0 from the start: dashboards and alerts see 0, not a missing series.
    for (const by of ["self", "other"]) this.m.reported.inc({ by }, 0);
    for (const kind of ["Proposal", "PeriodReport"]) {
      this.m.signatures.inc({ kind }, 0);
      this.m.refused.inc({ kind }, 0);
    }
  }

  /**
   * Starts a validator: start-up checks (typed errors with exit codes, see errors.ts), stores, the HTTP
   * endpoint, then the loop. Resolves once serving.
   */
  static async start(config: ValidatorConfig, runtime: ValidatorRuntime): Promise<Validator> {
    const v = new Validator(config, runtime);
    try {
      await v.open();
    } catch (err) {
      await v.stop().catch(() => undefined);
      throw err;
    }
    return v;
  }

  private async open(): Promise<void> {
    const c = this.config;
    if (c.chainId !== undefined && c.chainId !== this.deployment.chainId)
      throw new ValidatorError(
        "VALIDATOR_WRONG_CHAIN",
        `chainId ${c.chainId} is configured, but the deployment ${c.deployment} is on chain ${this.deployment.chainId}`,
        { value: c.chainId, details: { expected: this.deployment.chainId, deployment: c.deployment } },
      );
    this.chain = new ValidatorChain({
      rpcUrl: c.rpcUrl,
      chainId: this.chainId,
      deployment: this.deployment,
      privateKey: this.privateKey,
      rpc: c.rpc,
      receiptPollMs: c.poll.receiptPollMs,
      receiptTimeoutMs: c.transmit.receiptTimeoutMs,
      logger: moduleLogger(this.log, "chain"),
      metrics: this.metrics,
    });
    await this.chain.connect();
    const hms = this.chain.hms;
    const [, bookkeeper] = await this.chain.read("keyOwner", () => hms.NodeRegistry.read.keyOwner([this.address]));
    if (/^0x0{40}$/i.test(bookkeeper))
      throw new ValidatorError(
        "VALIDATOR_UNREGISTERED",
        `${this.address} is not a bookkeeper signing key in the NodeRegistry (setBookkeeperKey first)`,
        { value: this.address },
      );
    const info = await this.chain.read("bookkeeperInfo", () => hms.BookkeeperStaking.read.bookkeeperInfo([bookkeeper]));
    if (info.status !== 1)
      throw new ValidatorError(
        "VALIDATOR_UNREGISTERED",
        `bookkeeper ${bookkeeper} (key ${this.address}) is not registered in BookkeeperStaking (status ${info.status})`,
        { value: bookkeeper },
      );
    this.bookkeeper = bookkeeper;
    this.gas = new GasWatch({
      address: this.address,
      minBalanceWei: c.gas.minBalanceWei,
      intervalMs: c.gas.checkIntervalMs,
      balance: () => this.chain.balance(),
      logger: this.log,
    });
    await this.gas.check(true);
    [this.genesis, this.periodLength] = await Promise.all([
      this.chain.read("genesis", () => hms.MiningPool.read.genesis()),
      this.chain.read("periodLength", () => hms.MiningPool.read.periodLength()).then(BigInt),
    ]);

    fs.mkdirSync(c.dataDir, { recursive: true });
    this.appStore = await Store.open(path.join(c.dataDir, "validator"));
    this.record = await SigningRecordStore.open(this.appStore, {
      address: this.address,
      chainId: this.chainId,
      staking: this.staking,
      pool: this.pool,
    });
    for await (const [, r] of this.appStore.entries<ReportRecord>("report/")) this.reports.set(r.period.toString(), r);
    for await (const [key, carry] of this.appStore.entries<Array<[Hex, bigint]>>("carry/"))
      this.carryKnown.set(
        key.slice("carry/".length),
        carry.map(([nodeId, traffic]) => ({ nodeId, traffic })),
      );

    const peers = Object.keys(c.peers).map((a) => a as Address);
    this.transport = new HttpTransport({
      privateKey: this.privateKey,
      chainId: this.chainId,
      peers,
      host: c.listen.host,
      port: c.listen.port,
      maxBodyBytes: c.transport.maxBodyBytes,
      requestTimeoutMs: c.transport.requestTimeoutMs,
      logger: moduleLogger(this.log, "transport"),
      metrics: this.metrics,
      keyRing: this.keyRing,
      health: () => this.health(),
    });
    this.transport.handle(REPORT_SIG_KIND, (msg) => this.onReportSignature(msg.sender, msg.body));
    this.transport.get("/v1/reports/:period", (params) => this.reportDocument(params.period));
    this.url = await this.transport.listen();
    this.log.info(
      {
        url: this.url,
        address: this.address,
        bookkeeper,
        chainId: this.chainId,
        reports: this.reports.size,
        signingRecord: this.record.record.size,
      },
      "validator started",
    );
    this.schedule(0);
  }

  /** Base URL of the HTTP endpoint. */
  get endpoint(): string {
    return this.url;
  }

  /** Stops the loop, the replica, the HTTP endpoint and the stores. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    for (const t of this.wakeTimers) clearTimeout(t);
    await this.applying.catch(() => undefined);
    await this.closeReplica();
    await this.transport?.close().catch(() => undefined);
    await this.feed.close().catch(() => undefined);
    await this.publish?.storage.close().catch(() => undefined);
    await this.record?.flush().catch(() => undefined);
    await this.appStore?.close();
    this.log.info("validator stopped");
  }

  // ------------------------------------------------------------------------------------------ loop

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runTick(), delayMs);
  }

  /** Runs a tick as soon as possible (coalesced). */
  private kick(): void {
    if (this.ticking) this.again = true;
    else this.schedule(0);
  }

  private wakeAt(atMs: number): void {
    const t = setTimeout(
      () => {
        this.wakeTimers.delete(t);
        this.kick();
      },
      Math.max(0, atMs - Date.now()),
    );
    this.wakeTimers.add(t);
  }

  private async runTick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      await this.tick();
    } catch (err) {
      this.warnOnce("tick", { error: describeChainError(err) }, "tick failed; retrying");
    } finally {
      this.ticking = false;
      const again = this.again;
      this.again = false;
      this.schedule(again ? 0 : this.config.poll.intervalMs);
    }
  }

  private async tick(): Promise<void> {
    await this.refreshFacts();
    await this.gas.check();
    if (this.stopped) return;
    await this.maybeElect();
    await this.maybeReconfigure();
    await this.progressReports();
    await this.maybePropose();
  }

  /** A transaction, unless the account is known to be unable to pay (then `VALIDATOR_NO_GAS`, one line). */
  private async sendTx(label: string, simulate: Parameters<ValidatorChain["send"]>[1]) {
    await this.gas.ensureCanPay(label);
    try {
      return await this.chain.send(label, simulate);
    } catch (err) {
      await this.gas.noteFailure(err);
      throw err;
    }
  }

  private warnOnce(key: string, fields: Record<string, unknown>, msg: string, everyMs = 10_000): void {
    const now = Date.now();
    if ((this.lastWarn.get(key) ?? 0) + everyMs > now) return;
    this.lastWarn.set(key, now);
    this.log.warn(fields, msg);
  }

  private async refreshFacts(): Promise<void> {
    const hms = this.chain.hms;
    const [head, state, lastElected, currentEpoch] = await Promise.all([
      this.chain.head(),
      this.chain.read("pool.state", () => hms.MiningPool.read.state()),
      this.chain.lastElectedEpoch(),
      this.chain.read("currentEpoch", () => hms.BookkeeperStaking.read.currentEpoch()),
    ]);
    if (head.timestamp > this.chainTime) this.chainTime = head.timestamp;
    // Facts that only move forward never move back here (a load-balanced RPC may answer from a lagging node).
    if (BigInt(state[0]) > this.nextPeriod) this.nextPeriod = BigInt(state[0]);
    this.electionGrace = BigInt(state[5]);
    if (lastElected !== undefined && (this.lastElected === undefined || lastElected > this.lastElected))
      this.lastElected = lastElected;
    if (currentEpoch > this.currentEpoch) this.currentEpoch = currentEpoch;
    if (this.nextPeriod > 0n) this.m.lastReported.set(Number(this.nextPeriod - 1n));
  }

  // ------------------------------------------------------------------------------------------ epochs

  private async maybeElect(): Promise<void> {
    if (!this.config.elect) return;
    if (this.lastElected !== undefined && this.currentEpoch <= this.lastElected) return;
    const staking = this.chain.hms.BookkeeperStaking;
    const start = await this.chain.read("epochStart", () => staking.read.epochStart([this.currentEpoch]));
    if (this.chainTime <= start) return;
    // Stagger like transmissions: by position in the last committee, else among the candidates.
    let position: number;
    if (this.lastElected !== undefined) {
      const order = (await this.chain.epochInfo(this.lastElected)).order;
      const i = indexOf(order, this.address);
      position = i < 0 ? order.length : i;
    } else {
      const candidates = await this.chain.read("candidates", () => staking.read.candidates());
      const i = indexOf(candidates, this.bookkeeper);
      position = i < 0 ? candidates.length : i;
    }
    const key = this.currentEpoch.toString();
    const noticed = this.electNoticed.get(key) ?? Date.now();
    this.electNoticed.set(key, noticed);
    const due = noticed + position * this.config.transmit.staggerMs;
    if (Date.now() < due) return this.wakeAt(due);
    try {
      const sent = await this.sendTx("elect", () => staking.simulate.elect({ account: this.chain.account }));
      this.log.info(
        { epoch: this.currentEpoch.toString(), tx: sent.hash, gasUsed: sent.gasUsed.toString() },
        "elected",
      );
      this.lastElected = this.currentEpoch;
    } catch (err) {
      const name = revertName(err);
      const now = await this.chain.lastElectedEpoch().catch(() => undefined);
      if (name === "AlreadyElected" || now === this.currentEpoch) return;
      this.warnOnce(
        "elect",
        { epoch: this.currentEpoch.toString(), error: name ?? describeChainError(err) },
        "elect failed",
      );
    }
  }

  private async maybeReconfigure(): Promise<void> {
    const epoch = this.lastElected;
    if (epoch === undefined) return;
    if (this.replica?.epoch === epoch || (this.replica === undefined && this.standbyEpoch === epoch)) return;
    const info = await this.chain.epochInfo(epoch);
    await this.closeReplica();
    this.m.epoch.set(Number(epoch));
    const base = basePeriod(info.electedAt, this.genesis, this.periodLength);
    if (indexOf(info.order, this.address) < 0) {
      this.standbyEpoch = epoch;
      this.log.info({ epoch: epoch.toString(), order: info.order }, "not in the elected committee: standby");
      return;
    }
    await this.openReplica(info, base);
  }

  private async openReplica(info: EpochInfo, base: bigint): Promise<void> {
    const epoch = info.epoch;
    const dir = path.join(this.config.dataDir, "pbft", `epoch-${epoch}`);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const store = await Store.open(dir);
    const peers = new Map<string, string>();
    const configured = new Map(Object.entries(this.config.peers).map(([a, u]) => [a.toLowerCase(), u]));
    const missing: Address[] = [];
    for (const a of info.order) {
      const lower = a.toLowerCase();
      if (lower === this.address.toLowerCase()) {
        peers.set(lower, this.url);
        continue;
      }
      this.transport.addPeer(a);
      const u = configured.get(lower);
      if (u === undefined) missing.push(a);
      else peers.set(lower, u.replace(/\/+$/, ""));
    }
    if (missing.length > 0) this.log.warn({ missing }, "no URL configured for committee members: they are not reached");
    const pbftLog = moduleLogger(this.log, "pbft", { epoch: epoch.toString() });
    const crypto = new GuardedCrypto(
      guardVotes(
        createEip712Crypto({
          privateKey: this.privateKey,
          chainId: this.chainId,
          stakingContract: this.staking,
          keyRing: this.keyRing,
        }),
        this.record,
      ),
      this.record,
      {
        logger: this.log,
        onSigned: (item) => this.m.signatures.inc({ kind: item.type }),
        onRefused: () => this.m.refused.inc({ kind: "Proposal" }),
      },
    );
    let node: PbftNode;
    try {
      node = await PbftNode.open({
        replica: {
          configId: epoch,
          order: info.order,
          self: this.address,
          crypto,
          validate: (request) => this.validate(request),
          requestSeq: (request) => seqNamedBy(request),
          recoveringFrom: this.record.record.highestVotedSeq(epoch),
          params: this.config.pbft,
        },
        transport: this.transport,
        peers,
        store,
        logger: pbftLog,
        metrics: this.metrics,
        onExecute: (e) => this.onExecute(epoch, e),
        onEvidence: (e) => this.onEvidence(epoch, e),
        onAction: (a) => this.onAction(a),
        beforeDeliver: (message) => this.prefetch(message),
        beforeAct: () => this.record.flush(),
        onFailure: (err) => this.onReplicaFailure(err),
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    const saved = await this.appStore.get<{ lastApplied: number }>(`epoch/${epoch}`);
    this.replica = {
      epoch,
      info,
      base,
      node,
      store,
      lastApplied: saved?.lastApplied ?? 0,
      progress: { seq: node.replica.lastExecuted, at: Date.now() },
    };
    this.standbyEpoch = undefined;
    // Executions persisted by the replica but not applied here (a crash in between): replay them.
    for (let s = this.replica.lastApplied + 1; s <= node.replica.lastExecuted; s++) {
      const entry = node.replica.committed(s);
      if (entry === undefined) continue;
      this.onExecute(epoch, {
        seq: s,
        view: entry.view,
        digest: entry.digest,
        request: entry.request,
        duplicate: false,
      });
    }
    node.start();
    this.m.view.set(node.replica.view);
    this.log.info(
      {
        epoch: epoch.toString(),
        base: base.toString(),
        order: info.order,
        position: indexOf(info.order, this.address),
        view: node.replica.view,
        lastExecuted: node.replica.lastExecuted,
      },
      "reconfigured: replica of the elected committee started",
    );
  }

  private async closeReplica(): Promise<void> {
    const r = this.replica;
    if (r === undefined) return;
    this.replica = undefined;
    await r.node.close();
    await this.applying.catch(() => undefined);
    await r.store.close();
    this.outstanding.clear();
  }

  private onReplicaFailure(err: unknown): void {
    if (this.fatal) return;
    this.fatal = true;
    this.log.fatal({ err: isHmsError(err) ? err.toJSON() : String(err) }, "PBFT replica stopped: shutting down");
    this.runtime.onFatal?.(err);
  }

  // ------------------------------------------------------------------------------------------ validation

  private context(): ProposalContext | undefined {
    const r = this.replica;
    if (r === undefined) return undefined;
    return {
      chainId: this.chainId,
      pool: this.pool,
      epoch: r.epoch,
      base: r.base,
      topN: this.config.topN,
      genesis: this.genesis,
      periodLength: this.periodLength,
      chainTime: this.chainTime,
      reportedCarryRoot: (p) => this.knownCarryRoot(p),
      nodeKey: (id) => this.nodeKeys.get(id.toLowerCase())?.key,
      keyRing: this.keyRing,
    };
  }

  private knownCarryRoot(period: bigint): Hex | undefined {
    return this.chainKnownReports.get(period.toString());
  }

  private validate(request: string): RequestVerdict {
    const ctx = this.context();
    if (ctx === undefined) return "retry";
    const verdict = checkProposal(request, ctx);
    if (!verdict.ok) {
      this.m.rejected.inc();
      this.log.warn({ reason: verdict.reason, digest: sha256Hex(request) }, "proposal rejected");
      // Only a request that does not decode is invalid for good: the other checks read the chain or
      // the clock, so the replica withholds its prepare and asks again instead of accusing.
      return seqNamedBy(request) === undefined ? false : "retry";
    }
    if (verdict.proposal.type !== "report") return true;
    const omission = this.majority ? this.omissionVerdict(verdict.proposal, request) : true;
    if (omission !== true || this.publish === undefined || verdict.built === undefined) return omission;
    return this.publicationVerdict(verdict.proposal, verdict.built.json, request);
  }

  /**
   * Publishing only: a report proposal is prepared only once its `dataCid` resolves in the storage network to the
   * document this replica recomputed (publication.ts `publicationProblem`). Until the fetch answered, and when it
   * does not resolve (not stored, other bytes, too large for one raw leaf), the verdict is "retry": the replica
   * withholds its prepare — as for an omission — and a primary whose document does not resolve is replaced by a
   * view change. An unresolved CID is fetched again after {@link REFERENCE_MAX_AGE_MS} (the document may arrive).
   * Also this validator's own request: what it stored counts once the network serves it back.
   */
  private publicationVerdict(p: ReportProposal, json: string, request: string): RequestVerdict {
    const key = p.report.dataCid.toLowerCase();
    const cur = this.resolutions.get(key);
    if (cur?.problem === null) return true;
    if (cur?.loading === undefined && (cur === undefined || Date.now() - cur.at > REFERENCE_MAX_AGE_MS))
      this.resolveDocument(key as Hex, json, p.period, sha256Hex(request));
    return "retry";
  }

  private resolveDocument(dataCid: Hex, json: string, period: bigint, digest: Hex): void {
    const reader = this.publish!.reader;
    const started = Date.now();
    const loading = (async () => {
      let fetched: { bytes: Uint8Array } | { error: unknown };
      try {
        fetched = { bytes: await fetchReport(reader, dataCid) };
      } catch (error) {
        fetched = { error };
      }
      const problem = publicationProblem(json, fetched) ?? null;
      const before = this.resolutions.get(dataCid);
      this.setResolution(dataCid, { at: started, problem });
      if (problem === null) {
        this.m.documents.inc({ result: "resolved" });
        this.log.info({ period: period.toString(), dataCid, digest }, "report document resolves by its dataCid");
        this.kick();
      } else if (before?.problem === undefined) {
        // Logged and counted once per document (it is fetched again while the proposal waits).
        this.m.documents.inc({ result: "unresolved" });
        this.m.rejected.inc();
        this.log.warn(
          { code: problem.code, reason: problem.reason, period: period.toString(), dataCid, digest },
          "proposal rejected: its report document does not resolve by its dataCid in the storage network",
        );
      }
    })();
    const cur = this.resolutions.get(dataCid);
    this.setResolution(dataCid, { at: cur?.at ?? 0, problem: cur?.problem, loading });
  }

  private setResolution(
    key: string,
    value: { at: number; loading?: Promise<void>; problem?: { code: string; reason: string } | null },
  ): void {
    this.resolutions.delete(key);
    if (this.resolutions.size >= 64) this.resolutions.delete(this.resolutions.keys().next().value!);
    this.resolutions.set(key, value);
  }

  /**
   * Meta layer only: a report proposal must carry every receipt of its window that a majority read of the meta
   * nodes holds (a master, or a primary, cannot leave an acknowledged receipt out). Checked against the latest
   * read of the window (prefetch reads it again when a proposal arrives and the last read is older than
   * {@link REFERENCE_MAX_AGE_MS} / 2; the proposer's own read counts for its own request). Without a read yet,
   * or on an omission, the verdict is "retry": a receipt acknowledged after the primary read is no proof of
   * malice, so the replica withholds its prepare, and a primary that keeps omitting is replaced by a view change.
   */
  private omissionVerdict(p: ReportProposal, request: string): RequestVerdict {
    const { from, to } = trafficWindow(p.prev.period, p.period);
    const ref = this.references.get(`${from}:${to}`);
    if (ref === undefined || Date.now() - ref.at > REFERENCE_MAX_AGE_MS) void this.readReference(from, to);
    if (ref?.traffic === undefined) return "retry";
    try {
      checkNoOmission(ref.traffic, p.traffic);
    } catch (err) {
      // Asked again on every retransmit tick until the view changes: counted and logged once per request.
      const digest = sha256Hex(request);
      if (!this.omitting.has(digest)) {
        if (this.omitting.size >= 256) this.omitting.clear();
        this.omitting.add(digest);
        this.m.rejected.inc();
        this.log.warn(
          {
            reason: isHmsError(err) ? `${err.code}: ${err.message}` : String(err),
            digest,
            period: p.period.toString(),
          },
          "proposal rejected: it omits receipts the meta layer's majority holds",
        );
      }
      void this.readReference(from, to);
      return "retry";
    }
    return true;
  }

  /** Reads the window `from..to` from a majority of the meta nodes (one read in flight per window). */
  private readReference(from: bigint, to: bigint): Promise<void> {
    const key = `${from}:${to}`;
    const cur = this.references.get(key);
    if (cur?.loading !== undefined) return cur.loading;
    const started = Date.now();
    const loading = (async () => {
      // A read set meanwhile (the proposer's own, in buildReport) stays if it is the newer one.
      const latest = () => this.references.get(key);
      try {
        const read = this.withoutPublications(await this.verifiedTraffic(await this.feed.receipts(from, to)));
        const traffic = windowTraffic(read, from, to);
        const now = latest();
        if (now?.traffic !== undefined && now.at > started)
          this.setReference(key, { at: now.at, traffic: now.traffic });
        else this.setReference(key, { at: started, traffic });
      } catch (err) {
        const now = latest();
        this.setReference(key, { at: now?.at ?? 0, traffic: now?.traffic });
        this.warnOnce(
          "reference",
          { error: isHmsError(err) ? `${err.code}: ${err.message}` : describeChainError(err) },
          "majority read of the meta layer failed: proposals wait for it",
        );
      }
    })();
    this.setReference(key, { at: cur?.at ?? 0, traffic: cur?.traffic, loading });
    return loading;
  }

  private setReference(key: string, ref: Reference): void {
    // Few windows are in play at once (the periods being reported): keep the latest reads only.
    this.references.delete(key);
    if (this.references.size >= 8) this.references.delete(this.references.keys().next().value!);
    this.references.set(key, ref);
  }

  /** Loads the chain facts a proposal's check needs (bounded wait), so that `validate` can stay synchronous. */
  private async prefetch(message: PbftMessage): Promise<void> {
    let request: string | null | undefined;
    if (message.type === "pre-prepare") request = message.request;
    else if (message.type === "request") request = message.request;
    if (typeof request !== "string") return;
    await Promise.race([this.loadFacts(request).catch(() => undefined), new Promise((r) => setTimeout(r, 3_000))]);
  }

  private async loadFacts(request: string): Promise<void> {
    let p;
    try {
      p = decodeProposal(request);
    } catch {
      return;
    }
    const needed = p.type === "skip" ? p.period + 1n : p.period;
    if (periodEnd(this.genesis, this.periodLength, needed) > this.chainTime) {
      const head = await this.chain.head();
      if (head.timestamp > this.chainTime) this.chainTime = head.timestamp;
    }
    if (p.type !== "report") return;
    const jobs: Promise<unknown>[] = [this.loadNodeKeys(nodeIdsOf(p))];
    if (p.prev.period !== null) jobs.push(this.loadReported(p.prev.period));
    if (this.majority) {
      const { from, to } = trafficWindow(p.prev.period, p.period);
      const ref = this.references.get(`${from}:${to}`);
      if (ref?.traffic === undefined || Date.now() - ref.at > REFERENCE_MAX_AGE_MS / 2)
        jobs.push(this.readReference(from, to));
    }
    await Promise.all(jobs);
  }

  private async loadReported(period: bigint): Promise<Hex | undefined> {
    const known = this.chainKnownReports.get(period.toString());
    if (known !== undefined) return known;
    const rec = await this.chain.reportedPeriod(period);
    if (rec === undefined) return undefined;
    const root = rec.attestation.carryRoot.toLowerCase() as Hex;
    this.chainKnownReports.set(period.toString(), root);
    return root;
  }

  /** Node signing keys from the registry (refreshed after 30 s; an unknown node is asked again every time). */
  private async loadNodeKeys(ids: readonly Hex[]): Promise<void> {
    const now = Date.now();
    const stale = ids.filter((id) => {
      const known = this.nodeKeys.get(id.toLowerCase());
      return known === undefined || /^0x0{40}$/i.test(known.key) || known.at + 30_000 < now;
    });
    await Promise.all(
      stale.map(async (id) => {
        const key = await this.chain.read("signingKeyOf", () => this.chain.hms.NodeRegistry.read.signingKeyOf([id]));
        this.nodeKeys.set(id.toLowerCase(), { key, at: now });
      }),
    );
  }

  // ------------------------------------------------------------------------------------------ proposing

  private async maybePropose(): Promise<void> {
    const r = this.replica;
    if (r === undefined || this.fatal) return;
    const node = r.node;
    const now = Date.now();
    const stuckAfter = this.config.pbft.viewChangeTimeoutMs * 4 + 10_000;
    for (const [d, at] of this.outstanding) if (at + stuckAfter < now) this.outstanding.delete(d);
    const inFlight = [...this.reports.values()].some(
      (x) => x.epoch === r.epoch && (x.status === "executed" || x.status === "signed"),
    );
    const lastExecuted = Math.max(node.replica.lastExecuted, r.lastApplied);
    if (lastExecuted !== r.progress.seq) r.progress = { seq: lastExecuted, at: now };
    const catchUpMs = 2 * this.config.pbft.viewChangeTimeoutMs + this.config.pbft.statusIntervalMs;
    const plan = planRequests({
      base: r.base,
      lastExecuted,
      genesis: this.genesis,
      periodLength: this.periodLength,
      chainTime: this.chainTime,
      chainNextPeriod: this.nextPeriod,
      catchUpBySkipping: now - r.progress.at > catchUpMs,
      reportInFlight: inFlight || this.execQueue.length > 0,
      outstanding: this.outstanding.size,
      maxBatch: Math.max(1, Math.min(20, this.config.pbft.watermarkWindow / 2)),
    });
    if (plan.kind === "wait") return;
    for (const seq of plan.skips) {
      const { text } = buildSkipProposal({ chainId: this.chainId, pool: this.pool, epoch: r.epoch, base: r.base, seq });
      this.submit(text);
    }
    if (plan.report === undefined) return;
    const built = await this.buildReport(r, plan.report.seq);
    if (built === undefined || this.replica !== r) return;
    this.submit(built);
  }

  private submit(text: string): void {
    const r = this.replica;
    if (r === undefined) return;
    this.outstanding.set(sha256Hex(text), Date.now());
    r.node.submit(text);
  }

  /** The report request of `seq`, or undefined when it cannot be built yet (logged). */
  private async buildReport(r: ReplicaState, seq: number): Promise<string | undefined> {
    const period = periodOfSeq(r.base, seq);
    let prev: PrevReport;
    if (this.nextPeriod === 0n) prev = { period: null, carryRoot: ZERO_HASH, carry: [] };
    else {
      const last = this.nextPeriod - 1n;
      const root = await this.loadReported(last);
      if (root === undefined) return undefined;
      const carry = root === ZERO_HASH ? [] : this.carryKnown.get(root);
      if (carry === undefined) {
        this.warnOnce(
          `carry-${root}`,
          { period: last.toString(), carryRoot: root },
          "carry-over of the last reported period unknown here: waiting for a peer's proposal",
        );
        return undefined;
      }
      prev = { period: last, carryRoot: root, carry };
    }
    if (this.graceBlocks(r.info, r.base, prev.period)) {
      this.warnOnce(
        "grace",
        { epoch: r.epoch.toString() },
        "previous committee may still report: waiting for its grace",
      );
      return undefined;
    }
    const { from, to } = trafficWindow(prev.period, period);
    let traffic: PeriodReceipts[];
    try {
      traffic = await this.feed.receipts(from, to);
    } catch (err) {
      this.warnOnce(
        "feed",
        { error: isHmsError(err) ? `${err.code}: ${err.message}` : describeChainError(err) },
        "traffic source unavailable",
      );
      return undefined;
    }
    const verified = this.withoutPublications(await this.verifiedTraffic(traffic));
    // A majority read of the meta layer is also the reference this validator checks proposals of the window with.
    if (this.majority)
      this.setReference(`${from}:${to}`, { at: Date.now(), traffic: windowTraffic(verified, from, to) });
    const { text, built } = buildReportProposal({
      chainId: this.chainId,
      pool: this.pool,
      epoch: r.epoch,
      base: r.base,
      seq,
      topN: this.config.topN,
      prev,
      traffic: verified,
    });
    // Publishing: the document is in the storage network, under its dataCid, before anyone is asked to prepare it.
    if (this.publish !== undefined && !(await this.publishDocument(period, built))) return undefined;
    this.log.info(
      {
        seq,
        period: period.toString(),
        prev: prev.period?.toString() ?? null,
        nodes: built.report.nodeCount,
        totalTraffic: built.report.totalTraffic.toString(),
        digest: sha256Hex(text),
      },
      "proposal built",
    );
    return text;
  }

  /**
   * Publishing only: the read less the committee's own transfers — the storage of report documents, whose owner
   * (the receipts' client) is a committee member's signing key. They happen while a period is being reported, in
   * the window it covers if the storage clock is behind the chain's, so counting them would make every proposal
   * "omit" the publication of the one before; honest builders leave them out (and checkers do not require them).
   */
  private withoutPublications(traffic: PeriodReceipts[]): PeriodReceipts[] {
    const r = this.replica;
    if (this.publish === undefined || r === undefined) return traffic;
    const committee = new Set(r.info.order.map((a) => a.toLowerCase()));
    const keep = (x: { receipt: { client: Address } }) => !committee.has(x.receipt.client.toLowerCase());
    return traffic.map((g) => ({ period: g.period, client: g.client.filter(keep), node: g.node.filter(keep) }));
  }

  /** Stores a built report's document (once per CID while running); false (logged, counted) when it failed. */
  private async publishDocument(period: bigint, built: { json: string; cid: string; report: PeriodReportMessage }) {
    const key = built.report.dataCid.toLowerCase();
    let done = this.published.get(key);
    if (done === undefined) {
      done = publishReport(this.publish!.storage, this.chainId, period, built).then((put) => {
        this.m.documents.inc({ result: "published" });
        this.log.info(
          { period: period.toString(), dataCid: built.cid, path: put.path, bytes: put.bytes },
          "report document stored in the storage network",
        );
      });
      this.published.set(key, done);
      if (this.published.size > 64) this.published.delete(this.published.keys().next().value!);
    }
    try {
      await done;
      return true;
    } catch (err) {
      this.published.delete(key);
      this.m.documents.inc({ result: "publish_failed" });
      const tooLarge = isHmsError(err) && err.code === "VALIDATOR_REPORT_TOO_LARGE";
      this.warnOnce(
        `publish-${key}`,
        {
          period: period.toString(),
          dataCid: built.cid,
          error: isHmsError(err) ? `${err.code}: ${err.message}` : String(err),
        },
        tooLarge
          ? "report document too large for one raw leaf: not proposed (its dataCid could not resolve)"
          : "report document not stored in the storage network: not proposed yet",
      );
      return false;
    }
  }

  /** The feed's receipts whose signatures verify (the meta layer should only serve such; a proposal must). */
  private async verifiedTraffic(traffic: PeriodReceipts[]): Promise<PeriodReceipts[]> {
    const ids = new Set<Hex>();
    for (const g of traffic) for (const r of g.node) ids.add(r.receipt.nodeId.toLowerCase() as Hex);
    await this.loadNodeKeys([...ids]);
    const domain = domainOf("traffic", this.chainId, this.pool);
    let dropped = 0;
    const out = traffic.map((g) => ({
      period: g.period,
      client: g.client.filter((r) => {
        const ok =
          r.receipt.period === g.period &&
          this.keyRing.verifyTyped(r.receipt.client, domain, "TrafficReceipt", r.receipt, r.signature);
        if (!ok) dropped++;
        return ok;
      }),
      node: g.node.filter((r) => {
        const key = this.nodeKeys.get(r.receipt.nodeId.toLowerCase())?.key;
        const ok =
          r.receipt.period === g.period &&
          key !== undefined &&
          !/^0x0{40}$/i.test(key) &&
          this.keyRing.verifyTyped(key, domain, "TrafficReceipt", r.receipt, r.signature);
        if (!ok) dropped++;
        return ok;
      }),
    }));
    if (dropped > 0) this.log.warn({ dropped }, "receipts with invalid signatures dropped");
    return out;
  }

  /**
   * True while the previous epoch's committee may still land reports our report would overlap. The pool backs
   * this wait (a report lands only if its fromPeriod is still the pool's next period, so of two reports on the
   * same base only the first lands); waiting spares the committee a report that would lose that race.
   */
  private graceBlocks(info: EpochInfo, base: bigint, prevPeriod: bigint | null): boolean {
    if (prevPeriod !== null && prevPeriod >= base - 1n) return false;
    // QuorumVerifier.checkEpoch's rule, from the one file that mirrors it (protocol/quorum.ts).
    const end = graceEnd(electionState(info), this.electionGrace);
    return end !== null && this.chainTime < end;
  }

  // ------------------------------------------------------------------------------------------ executing

  private onExecute(epoch: bigint, e: ExecutedRequest): void {
    this.execQueue.push({ epoch, e });
    this.applying = this.applying
      .then(() => this.applyQueued())
      .catch((err) => {
        this.log.error({ error: describeChainError(err) }, "applying an execution failed");
      });
  }

  private async applyQueued(): Promise<void> {
    while (this.execQueue.length > 0) {
      const { epoch, e } = this.execQueue.shift()!;
      const r = this.replica;
      if (r === undefined || r.epoch !== epoch || e.seq <= r.lastApplied) continue;
      const submittedAt = this.outstanding.get(e.digest);
      if (submittedAt !== undefined) {
        this.m.round.observe((Date.now() - submittedAt) / 1000);
        this.outstanding.delete(e.digest);
      }
      await this.apply(r, e);
      r.lastApplied = e.seq;
      await this.appStore.put(`epoch/${epoch}`, { lastApplied: e.seq });
    }
    this.kick();
  }

  private async apply(r: ReplicaState, e: ExecutedRequest): Promise<void> {
    const fields = {
      epoch: r.epoch.toString(),
      seq: e.seq,
      view: e.view,
      period: periodOfSeq(r.base, e.seq).toString(),
    };
    if (e.request === null) {
      this.m.executed.inc({ type: "null" });
      this.log.info(fields, "executed: null request (its period's traffic rolls forward)");
      return;
    }
    let p;
    try {
      p = decodeProposal(e.request);
    } catch {
      this.m.executed.inc({ type: "invalid" });
      return;
    }
    if (p.seq !== e.seq || p.epoch !== r.epoch || p.period !== periodOfSeq(r.base, e.seq)) {
      this.m.executed.inc({ type: "misplaced" });
      this.log.info({ ...fields, names: p.seq }, "executed: request for another sequence number (no-op)");
      return;
    }
    if (p.type === "skip") {
      this.m.executed.inc({ type: "skip" });
      this.log.info(fields, "executed: skip");
      return;
    }
    this.m.executed.inc({ type: "report" });
    const built = recomputeReport(p);
    const known = this.reports.get(p.period.toString());
    if (known !== undefined && known.requestDigest === e.digest) return;
    await this.rememberCarry(p.prev.carryRoot, p.prev.carry);
    await this.rememberCarry(
      built.report.carryRoot,
      [...built.carry.traffic.entries()].map(([nodeId, traffic]) => ({ nodeId, traffic })),
    );
    const rec: ReportRecord = {
      period: p.period,
      epoch: p.epoch,
      seq: e.seq,
      view: e.view,
      requestDigest: e.digest,
      prevPeriod: p.prev.period,
      report: built.report,
      reportDigest: fastTypedDigest(domainOf("miningPool", this.chainId, this.pool), "PeriodReport", built.report),
      json: built.json,
      status: "executed",
    };
    if (known !== undefined)
      this.log.warn(
        { period: p.period.toString(), previous: known.status },
        "a second report executed for this period",
      );
    await this.saveReport(rec);
    this.log.info(
      { ...fields, prev: p.prev.period?.toString() ?? null, nodes: built.report.nodeCount, dataCid: built.cid },
      "executed: report",
    );
  }

  private async rememberCarry(root: Hex, carry: readonly RankedNode[]): Promise<void> {
    const key = root.toLowerCase();
    if (key === ZERO_HASH || this.carryKnown.has(key)) return;
    const sorted = [...carry].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
    this.carryKnown.set(key, sorted);
    await this.appStore.put(
      `carry/${key}`,
      sorted.map((n) => [n.nodeId, n.traffic]),
    );
  }

  private async saveReport(rec: ReportRecord): Promise<void> {
    this.reports.set(rec.period.toString(), rec);
    await this.appStore.put(`report/${padPeriod(rec.period)}`, rec);
  }

  private vol(period: bigint): Volatile {
    let v = this.volatile.get(period.toString());
    if (v === undefined) {
      v = { settleAttempts: 0 };
      this.volatile.set(period.toString(), v);
    }
    return v;
  }

  // ------------------------------------------------------------------------------------------ reports

  private async progressReports(): Promise<void> {
    for (const rec of [...this.reports.values()]) {
      if (this.stopped) return;
      if (rec.status === "abandoned" || (rec.status === "landed" && rec.settled)) continue;
      try {
        await this.progress(rec);
      } catch (err) {
        this.warnOnce(
          `report-${rec.period}`,
          {
            period: rec.period.toString(),
            error: isHmsError(err) ? `${err.code}: ${err.message}` : describeChainError(err),
          },
          "report step failed; retrying",
          3_000,
        );
      }
    }
  }

  private async abandon(rec: ReportRecord, reason: string): Promise<void> {
    rec.status = "abandoned";
    rec.reason = reason;
    await this.saveReport(rec);
    this.log.info({ period: rec.period.toString(), reason }, "report abandoned (its traffic rolls forward)");
  }

  private async progress(rec: ReportRecord): Promise<void> {
    if (rec.status !== "landed" && this.nextPeriod > rec.period) {
      const onChain = await this.chain.reportedPeriod(rec.period);
      if (onChain === undefined) return this.abandon(rec, `period ${rec.period} was skipped over on chain`);
      const same =
        onChain.attestation.dataCid.toLowerCase() === rec.report.dataCid.toLowerCase() &&
        onChain.terms.rewardsRoot.toLowerCase() === rec.report.rewardsRoot.toLowerCase() &&
        onChain.epoch === rec.epoch;
      if (!same) return this.abandon(rec, `another report of period ${rec.period} landed`);
      rec.status = "landed";
      rec.landed ??= { by: "other", tx: onChain.transactionHash, block: onChain.blockNumber };
      await this.saveReport(rec);
      this.landedNow(rec);
    }
    if (rec.status === "executed") await this.maybeSign(rec);
    if (rec.status === "signed") await this.maybeTransmit(rec);
    if (rec.status === "landed" && !rec.settled) await this.maybeSettle(rec);
  }

  private landedNow(rec: ReportRecord): void {
    this.vol(rec.period).landedAt = Date.now();
    this.m.reported.inc({ by: rec.landed?.by ?? "other" });
    const end = periodEnd(this.genesis, this.periodLength, rec.period);
    if (this.chainTime >= end) this.m.reportLatency.observe(Number(this.chainTime - end));
    this.log.info(
      {
        period: rec.period.toString(),
        epoch: rec.epoch.toString(),
        by: rec.landed?.by,
        tx: rec.landed?.tx,
        gasUsed: rec.landed?.gasUsed?.toString(),
      },
      "report landed",
    );
    this.sigs.delete(rec.period.toString());
  }

  /** May report `epoch`'s report still land: the period is not reported over and the epoch may submit. */
  private canLand(q: ReportSignature): boolean {
    if (q.period < this.nextPeriod) return false;
    const last = this.lastElected;
    if (last === undefined || q.epoch === last) return true;
    const info = this.replica?.info;
    // Not known yet which committee served before the last one: the chain decides (QuorumVerifier.checkEpoch).
    if (info?.epoch !== last) return q.epoch < last;
    return epochMaySign(q.epoch, electionState(info), this.electionGrace, this.chainTime);
  }

  private async maybeSign(rec: ReportRecord): Promise<void> {
    // Abandon only on facts that cannot turn back; a lagging read just waits for the next tick.
    if (this.lastElected === undefined || this.lastElected < rec.epoch) return;
    if (this.lastElected > rec.epoch) return this.abandon(rec, `epoch ${rec.epoch} is no longer the elected one`);
    // The pool accepts the report only while its next period is the report's fromPeriod (= prevPeriod + 1).
    const expected = rec.report.fromPeriod;
    if (this.nextPeriod < expected) return;
    if (this.nextPeriod > expected)
      return this.abandon(
        rec,
        `builds on ${rec.prevPeriod ?? "no report"}, the chain's next period is ${this.nextPeriod}`,
      );
    const info = await this.chain.epochInfo(rec.epoch);
    const base = basePeriod(info.electedAt, this.genesis, this.periodLength);
    if (this.graceBlocks(info, base, rec.prevPeriod)) return;
    let decision;
    try {
      decision = await this.record.guardReport(
        { epoch: rec.epoch, period: rec.period, prevPeriod: rec.prevPeriod, digest: rec.reportDigest },
        (q) => this.canLand(q),
      );
    } catch (err) {
      if (err instanceof SlashingProtectionError) {
        this.m.refused.inc({ kind: "PeriodReport" });
        this.log.error({ err: err.toJSON(), period: rec.period.toString() }, "signature refused");
        return this.abandon(rec, "the signing record refused a conflicting report");
      }
      throw err;
    }
    if (decision === "wait") return;
    rec.signature = signDigestSync(this.privateKey, rec.reportDigest);
    rec.status = "signed";
    await this.saveReport(rec);
    this.m.signatures.inc({ kind: "PeriodReport" });
    this.log.info(
      {
        kind: "report",
        epoch: rec.epoch.toString(),
        period: rec.period.toString(),
        prevPeriod: rec.prevPeriod?.toString() ?? null,
        digest: rec.reportDigest,
        repeat: decision === "repeat",
      },
      "signed",
    );
    this.addSignature(rec.period, this.address, rec.reportDigest, rec.signature);
    this.broadcastSignature(rec);
  }

  private broadcastSignature(rec: ReportRecord): void {
    if (rec.signature === undefined) return;
    this.vol(rec.period).lastBroadcast = Date.now();
    const urls = this.peerUrls(rec);
    if (urls.length === 0) return;
    void this.transport.broadcast(urls, REPORT_SIG_KIND, {
      epoch: rec.epoch.toString(),
      period: rec.period.toString(),
      digest: rec.reportDigest,
      signature: rec.signature,
    });
  }

  private peerUrls(rec: ReportRecord): string[] {
    const order = this.replica?.epoch === rec.epoch ? this.replica.info.order : undefined;
    const configured = new Map(Object.entries(this.config.peers).map(([a, u]) => [a.toLowerCase(), u]));
    const members = order ?? Object.keys(this.config.peers);
    return members
      .filter((a) => a.toLowerCase() !== this.address.toLowerCase())
      .map((a) => configured.get(a.toLowerCase()))
      .filter((u): u is string => u !== undefined)
      .map((u) => u.replace(/\/+$/, ""));
  }

  private addSignature(period: bigint, signer: Address, digest: Hex, signature: Hex): void {
    const key = period.toString();
    let m = this.sigs.get(key);
    if (m === undefined) {
      if (this.sigs.size >= 256) this.sigs.delete(this.sigs.keys().next().value!);
      m = new Map();
      this.sigs.set(key, m);
    }
    m.set(signer.toLowerCase(), { digest: digest.toLowerCase() as Hex, signature });
  }

  private onReportSignature(sender: Address, body: unknown): { accepted: boolean } {
    const b = body as { epoch?: unknown; period?: unknown; digest?: unknown; signature?: unknown } | null;
    if (
      b === null ||
      typeof b !== "object" ||
      typeof b.period !== "string" ||
      !/^\d{1,20}$/.test(b.period) ||
      typeof b.digest !== "string" ||
      !/^0x[0-9a-fA-F]{64}$/.test(b.digest) ||
      typeof b.signature !== "string" ||
      !/^0x[0-9a-fA-F]{130}$/.test(b.signature)
    )
      throw new ValidationError("VALIDATOR_BAD_REPORT_SIGNATURE", "malformed report signature message", {
        value: body,
      });
    if (!this.keyRing.verifyDigest(sender, b.digest as Hex, b.signature as Hex)) return { accepted: false };
    this.addSignature(BigInt(b.period), sender, b.digest as Hex, b.signature as Hex);
    this.kick();
    return { accepted: true };
  }

  /** Signatures held for `rec`'s report by live committee keys. */
  private signaturesFor(rec: ReportRecord, liveKeys: readonly Address[]): KeySignature[] {
    const held = this.sigs.get(rec.period.toString());
    const out: KeySignature[] = [];
    for (const key of liveKeys) {
      if (/^0x0{40}$/i.test(key)) continue;
      const s = held?.get(key.toLowerCase());
      if (s !== undefined && s.digest === rec.reportDigest.toLowerCase()) out.push({ key, signature: s.signature });
    }
    return out;
  }

  private async maybeTransmit(rec: ReportRecord): Promise<void> {
    const v = this.vol(rec.period);
    const now = Date.now();
    if ((v.lastBroadcast ?? 0) + this.config.transmit.rebroadcastMs <= now) this.broadcastSignature(rec);
    const info = await this.chain.epochInfo(rec.epoch);
    const live = await this.chain.liveKeys(rec.epoch);
    const signed = this.signaturesFor(rec, live);
    if (this.replica?.epoch === rec.epoch) this.m.collected.set(signed.length);
    if (signed.length < info.quorum) {
      this.wakeAt(now + this.config.transmit.rebroadcastMs);
      return;
    }
    v.quorumAt ??= now;
    const position = transmitPosition(info.order, rec.view, this.address);
    const haveAll = signed.length === live.filter((k) => !/^0x0{40}$/i.test(k)).length;
    const due =
      v.quorumAt +
      transmitDelayMs(position, {
        staggerMs: this.config.transmit.staggerMs,
        signatureWaitMs: this.config.transmit.signatureWaitMs,
        haveAll,
      });
    const at = Math.max(due, v.nextTryAt ?? 0);
    if (now < at) {
      if (Number.isFinite(at)) this.wakeAt(at);
      return;
    }
    // Last look before spending gas: landed meanwhile, or built on a stale report?
    const [fresh] = await this.chain.read("pool.state", () => this.chain.hms.MiningPool.read.state());
    const nextPeriod = BigInt(fresh);
    if (nextPeriod > this.nextPeriod) this.nextPeriod = nextPeriod;
    if (nextPeriod > rec.period) return this.kick();
    const expected = rec.report.fromPeriod;
    if (nextPeriod < expected) return;
    if (nextPeriod > expected) return this.abandon(rec, "the chain moved past the report it builds on");
    const pool = this.chain.hms.MiningPool;
    const quorum = quorumArgs(live, signed);
    try {
      const sent = await this.sendTx("submitReport", () =>
        pool.simulate.submitReport([rec.report, quorum], { account: this.chain.account }),
      );
      // Inclusion: the receipt succeeded (checked by send) and carries this period's PeriodReported event.
      const announced = parseEventLogs({
        abi: miningPoolAbi,
        eventName: "PeriodReported",
        logs: sent.receipt.logs,
      }).find((l) => l.address.toLowerCase() === pool.address.toLowerCase() && l.args.period === rec.period);
      if (
        announced === undefined ||
        announced.args.attestation.dataCid.toLowerCase() !== rec.report.dataCid.toLowerCase()
      )
        throw new Error(`transaction ${sent.hash} has no PeriodReported event for period ${rec.period}`);
      rec.status = "landed";
      rec.landed = { by: "self", tx: sent.hash, block: sent.receipt.blockNumber, gasUsed: sent.gasUsed };
      await this.saveReport(rec);
      this.log.info(
        { period: rec.period.toString(), signers: signed.length, position, gasUsed: sent.gasUsed.toString() },
        "report transmitted",
      );
      this.landedNow(rec);
    } catch (err) {
      const name = revertName(err);
      v.nextTryAt = Date.now() + Math.max(1_000, this.config.transmit.staggerMs);
      // Another report landed first (same period, or one on the same base): the next tick abandons this one.
      if (name === "StalePeriod" || name === "ReportBaseMismatch") return this.kick();
      if (isHmsError(err, "VALIDATOR_NO_GAS")) return; // said once by the gas watch, and in /health
      this.log.warn({ period: rec.period.toString(), error: name ?? describeChainError(err) }, "transmission failed");
    }
  }

  private async maybeSettle(rec: ReportRecord): Promise<void> {
    const v = this.vol(rec.period);
    if (v.settleAttempts >= 5) return;
    const info = await this.chain.epochInfo(rec.epoch);
    const position = transmitPosition(info.order, rec.view, this.address);
    if (position < 0) return;
    v.landedAt ??= Date.now();
    const due = Math.max(v.landedAt + position * this.config.transmit.staggerMs, v.nextTryAt ?? 0);
    if (Date.now() < due) return this.wakeAt(due);
    const pool = this.chain.hms.MiningPool;
    if (await this.chain.read("isSettled", () => pool.read.isSettled([rec.period]))) {
      rec.settled = true;
      return this.saveReport(rec);
    }
    const onChain = await this.chain.reportedPeriod(rec.period);
    if (onChain === undefined) return;
    // Before its signature window ends: add this validator's signature if the landed bitmap lacks it; settle after.
    const live = await this.chain.liveKeys(rec.epoch);
    const added = await this.chain.read("addedSigners", () => pool.read.addedSigners([rec.period]));
    const landedOwn =
      rec.signature !== undefined && onChain.attestation.dataCid.toLowerCase() === rec.report.dataCid.toLowerCase();
    const duty = landedDuty({
      chainTime: this.chainTime,
      signaturesUntil: BigInt(onChain.attestation.signaturesUntil),
      signers: signersOf({ attestation: onChain.attestation, addedSigners: added }),
      position: indexOf(live, this.address),
      signed: landedOwn,
    });
    // Chain time may jump (it is not wall time): look again at the next tick.
    if (duty.kind === "wait") return;
    if (duty.kind === "add-signature") return this.addOwnSignature(rec, onChain, live);
    try {
      const sent = await this.sendTx("settleBookkeepers", () =>
        pool.simulate.settleBookkeepers([[settlement(onChain)]], { account: this.chain.account }),
      );
      rec.settled = true;
      rec.settleTx = sent.hash;
      rec.settleGas = sent.gasUsed;
      await this.saveReport(rec);
      this.log.info({ period: rec.period.toString(), gasUsed: sent.gasUsed.toString() }, "bookkeepers settled");
    } catch (err) {
      const name = revertName(err);
      if (name === "AlreadySettled") {
        rec.settled = true;
        return this.saveReport(rec);
      }
      if (isHmsError(err, "VALIDATOR_NO_GAS")) {
        v.nextTryAt = Date.now() + this.config.gas.checkIntervalMs; // not an attempt: it was not sent
        return;
      }
      v.settleAttempts++;
      v.nextTryAt = Date.now() + 2_000 * v.settleAttempts;
      this.log.warn({ period: rec.period.toString(), error: name ?? describeChainError(err) }, "settlement failed");
    }
  }

  /** `addSignatures` with this validator's signature of a landed report that lacks it (within the window). */
  private async addOwnSignature(rec: ReportRecord, onChain: ReportedPeriod, live: readonly Address[]): Promise<void> {
    const v = this.vol(rec.period);
    const pool = this.chain.hms.MiningPool;
    try {
      const sent = await this.sendTx("addSignatures", () =>
        pool.simulate.addSignatures(
          addSignaturesArgs(onChain, live, [{ key: this.address, signature: rec.signature! }]),
          { account: this.chain.account },
        ),
      );
      this.log.info(
        { period: rec.period.toString(), tx: sent.hash, gasUsed: sent.gasUsed.toString() },
        "signature added",
      );
    } catch (err) {
      const name = revertName(err);
      // Someone added it first (NoNewSignatures), or the window closed meanwhile: the next step settles.
      if (name !== "NoNewSignatures" && name !== "SignatureWindowClosed" && !isHmsError(err, "VALIDATOR_NO_GAS"))
        this.log.warn(
          { period: rec.period.toString(), error: name ?? describeChainError(err) },
          "addSignatures failed",
        );
      v.nextTryAt = Date.now() + this.config.poll.intervalMs;
    }
  }

  // ------------------------------------------------------------------------------------------ evidence

  private onEvidence(epoch: bigint, e: Evidence): void {
    if (e.kind !== "equivocation") {
      this.log.warn(
        { kind: e.kind, replica: e.replica, view: e.view, seq: e.seq, reason: e.reason },
        "invalid proposal by the primary",
      );
      return;
    }
    this.evidenceQueue = this.evidenceQueue
      .then(() => this.submitEvidence(epoch, e))
      .catch((err) => {
        this.log.error({ error: describeChainError(err) }, "evidence submission failed");
      });
  }

  private async submitEvidence(epoch: bigint, e: Extract<Evidence, { kind: "equivocation" }>): Promise<void> {
    const signer = getAddress(e.replica);
    const period = BigInt(e.seq);
    const id = evidenceId(epoch, period, e.view, signer);
    const staking = this.chain.hms.BookkeeperStaking;
    const fields = { signer, epoch: epoch.toString(), period: period.toString(), round: e.view, evidenceId: id };
    this.log.warn({ ...fields, digestA: e.first.digest, digestB: e.second.digest }, "equivocation seen");
    for (let attempt = 1; attempt <= 3; attempt++) {
      if (await this.chain.read("evidenceUsed", () => staking.read.evidenceUsed([id]))) {
        this.m.evidence.inc({ result: "already-used" });
        this.log.info(fields, "equivocation evidence already used");
        return;
      }
      const a = { epoch, period, round: e.view, digest: e.first.digest };
      const b = { epoch, period, round: e.view, digest: e.second.digest };
      try {
        const sent = await this.sendTx("reportEquivocation", () =>
          staking.simulate.reportEquivocation([a, e.first.sig, b, e.second.sig], { account: this.chain.account }),
        );
        this.m.evidence.inc({ result: "submitted" });
        this.log.warn({ ...fields, tx: sent.hash, gasUsed: sent.gasUsed.toString() }, "equivocation reported");
        return;
      } catch (err) {
        const name = revertName(err);
        if (name === "EvidenceAlreadyUsed" || name === "AlreadySlashed") {
          this.m.evidence.inc({ result: "already-used" });
          return;
        }
        this.log.warn({ ...fields, attempt, error: name ?? describeChainError(err) }, "evidence submission failed");
        await new Promise((r) => setTimeout(r, 1_000 * attempt));
      }
    }
    this.m.evidence.inc({ result: "failed" });
  }

  // ------------------------------------------------------------------------------------------ observability

  private onAction(a: ReplicaAction): void {
    switch (a.type) {
      case "view-change":
        this.m.viewChanges.inc();
        break;
      case "new-view":
        this.m.view.set(a.view);
        break;
      case "broadcast":
        if (a.message.type === "pre-prepare" && a.message.replica.toLowerCase() === this.address.toLowerCase())
          this.log.info({ seq: a.message.seq, view: a.message.view, digest: a.message.digest }, "proposed");
        break;
      default:
    }
  }

  /** `/health` fields. */
  health(): Record<string, unknown> {
    const r = this.replica;
    const ended = lastEndedPeriod(this.genesis, this.periodLength, this.chainTime);
    let role = "standby";
    if (r !== undefined) role = r.node.replica.isPrimary ? "primary" : "backup";
    const lastReported = this.nextPeriod > 0n ? (this.nextPeriod - 1n).toString() : null;
    const mine = [...this.reports.values()].filter((x) => x.landed?.by === "self").map((x) => x.period);
    const gas = this.gas?.status ?? { ok: true };
    return {
      // ok: false while the account cannot pay for gas (the transport's default is ok: true).
      ...(gas.ok ? {} : { ok: false, reason: gas.reason }),
      gas,
      role,
      bookkeeper: this.bookkeeper,
      epoch: r?.epoch.toString() ?? this.standbyEpoch?.toString() ?? null,
      base: r?.base.toString() ?? null,
      view: r?.node.replica.view ?? null,
      status: r?.node.replica.status ?? null,
      primary: r?.node.replica.primary ?? null,
      lastExecuted: r?.node.replica.lastExecuted ?? null,
      chainTime: this.chainTime.toString(),
      period: this.chainTime >= this.genesis ? ((this.chainTime - this.genesis) / this.periodLength).toString() : null,
      lastEnded: ended?.toString() ?? null,
      lastReported,
      lastReportedBySelf: mine.length > 0 ? mine.reduce((a, b) => (a > b ? a : b)).toString() : null,
      inFlight: [...this.reports.values()]
        .filter((x) => x.status === "executed" || x.status === "signed")
        .map((x) => ({ period: x.period.toString(), status: x.status })),
      peers: (r?.info.order ?? []).map((a) => ({
        address: a,
        url: Object.entries(this.config.peers).find(([k]) => k.toLowerCase() === a.toLowerCase())?.[1] ?? null,
        self: a.toLowerCase() === this.address.toLowerCase(),
      })),
    };
  }

  /** `/v1/reports/:period`: the report this validator executed, its document and claims. */
  private reportDocument(period: string): unknown {
    if (!/^\d{1,20}$/.test(period ?? "")) return undefined;
    const rec = this.reports.get(BigInt(period).toString());
    if (rec === undefined) return undefined;
    const document = JSON.parse(rec.json) as ReportDocument;
    return {
      period: rec.period.toString(),
      epoch: rec.epoch.toString(),
      status: rec.status,
      reason: rec.reason ?? null,
      report: {
        epoch: rec.report.epoch.toString(),
        period: rec.report.period.toString(),
        fromPeriod: rec.report.fromPeriod.toString(),
        rewardsRoot: rec.report.rewardsRoot,
        totalTraffic: rec.report.totalTraffic.toString(),
        nodeCount: rec.report.nodeCount,
        carryRoot: rec.report.carryRoot,
        dataCid: rec.report.dataCid,
      },
      landed: rec.landed
        ? {
            by: rec.landed.by,
            tx: rec.landed.tx,
            block: rec.landed.block.toString(),
            gasUsed: rec.landed.gasUsed?.toString() ?? null,
          }
        : null,
      settled: rec.settled ?? false,
      document,
      claims: claimsFromDocument(document).map((c) => ({ ...c, traffic: c.traffic.toString() })),
    };
  }

  /** The persisted report of `period`, if this validator executed one. */
  reportRecord(period: bigint): ReportRecord | undefined {
    return this.reports.get(period.toString());
  }

  /** The signing record (export). */
  get signingRecord(): SigningRecordStore {
    return this.record;
  }
}

/** The PBFT seq a proposal names (the replica orders it there only), or undefined if it does not decode. */
function seqNamedBy(request: string): number | undefined {
  try {
    return decodeProposal(request).seq;
  } catch {
    return undefined;
  }
}

/** What QuorumVerifier.checkEpoch decides by, when `info` is the last elected committee. */
function electionState(info: EpochInfo): ElectionState {
  return {
    lastElected: info.epoch,
    electedAt: info.electedAt,
    lastEpochStart: info.epochStart,
    previousElected: info.previousElected,
  };
}
