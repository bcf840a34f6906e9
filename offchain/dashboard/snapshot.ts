/**
 * What the dashboard server sends the browser: one JSON snapshot of the network, rebuilt by the server's
 * collector from public sources (the chain through viem, the daemons' `/health` and `/metrics`, the meta API)
 * and pushed over Server-Sent Events whenever it changes. Integers that may exceed 2^53 travel as decimal
 * strings; addresses and ids as 0x hex. Types only: the server and the SPA (offchain/dashboard/web) both
 * import this file, so it has no imports.
 */

/** Where a part of the snapshot came from and whether its last read worked. */
export interface SourceStatus {
  name: string;
  ok: boolean;
  /** ms since the epoch of the last successful read. */
  updatedAt: number | null;
  /** Error code and message of the last failed read. */
  error?: { code: string; message: string };
}

/** A daemon polled over HTTP (`/health`, `/metrics`). */
export interface DaemonHealth {
  url: string;
  kind: "validator" | "storage" | "compute" | "meta";
  /** Answered the last poll with `ok: true`. */
  up: boolean;
  /** ms since the epoch of the last answer / of the moment it stopped answering. */
  lastSeen: number | null;
  downSince: number | null;
  /** The `/health` body of the last answer (fields as the daemon sends them). */
  health: Record<string, unknown> | null;
  error?: string;
}

export interface StorageWorkerView extends DaemonHealth {
  nodeId: string | null;
  region: string | null;
  capacity: number | null;
  free: number | null;
  diskFree: number | null;
  slices: number | null;
  bytes: number | null;
}

export interface ValidatorView extends DaemonHealth {
  address: string | null;
  role: string | null;
  epoch: string | null;
  view: number | null;
  lastReported: string | null;
  /** From `/metrics`. */
  metrics: ValidatorMetrics | null;
}

export interface ValidatorMetrics {
  /** `hms_validator_round_seconds`: proposal submitted → executed by PBFT. */
  roundCount: number;
  roundSumSeconds: number;
  /** Median and 90th percentile estimated from the histogram buckets (upper bound of the bucket), seconds. */
  roundP50: number | null;
  roundP90: number | null;
  /** `hms_validator_view_changes_total` (falls back to `hms_pbft_view_changes_total`). */
  viewChanges: number;
  /** `hms_validator_report_latency_seconds` mean, seconds. */
  reportLatencyMean: number | null;
  periodsReportedSelf: number;
  periodsReportedOther: number;
}

/** A node of the NodeRegistry. */
export interface RegisteredNode {
  nodeId: string;
  operator: string;
  kind: number;
  kindName: string;
  tier: number;
  region: number;
  capacity: string;
  active: boolean;
  endpoint: string;
  payout: string;
}

export interface PeriodView {
  period: string;
  epoch: string;
  fromPeriod: string;
  emissionFrom: string;
  totalTraffic: string;
  nodeCount: number;
  nodeEmission: string;
  bookkeeperShare: string;
  /** nodeEmission + bookkeeperShare: what the report released. */
  released: string;
  rewardsRoot: string;
  dataCid: string;
  /** CIDv1 (raw, sha2-256) of the report document. */
  cid: string;
  signerBitmap: string;
  /** Signing keys and bookkeepers of the bits set (committee of `epoch`, leader order). */
  signers: { position: number; key: string; bookkeeper: string | null }[];
  committeeSize: number;
  claimedTotal: string;
  /** From `Claimed` events: every payout made for this period. */
  payouts: { nodeId: string; index: number; traffic: string; amount: string; payout: string; tx: string }[];
  /** Top nodes by traffic: from the report document when a validator serves it, else from the claims. */
  topNodes: { nodeId: string; traffic: string; source: "document" | "claims" }[];
  blockNumber: string;
  tx: string;
  settled: boolean;
}

export interface NodeEarnings {
  nodeId: string;
  total: string;
  periods: { period: string; amount: string; traffic: string }[];
}

export interface CommitteeView {
  epoch: string;
  currentEpoch: string;
  quorum: number;
  /** Leader order: position i leads view i mod n. */
  members: { position: number; bookkeeper: string; signingKey: string; weight: string | null }[];
  electedAt: string | null;
  seed: string | null;
}

export interface OfferView {
  offerId: string;
  nodeId: string;
  kind: number;
  kindName: string;
  units: string;
  unitsInUse: string;
  pricePerUnitSecond: string;
  region: number;
  tier: number;
  active: boolean;
}

export interface LeaseView {
  leaseId: string;
  nodeId: string;
  user: string;
  offerId: string;
  units: string;
  ratePerSecond: string;
  start: string;
  end: string;
  status: number;
  statusName: string;
  accrued: string;
  withdrawn: string;
  withdrawable: string;
  escrow: string;
}

export interface MarketView {
  feeBps: number;
  treasury: string;
  /** HMS held by the market contract: every open order's and lease's escrow. */
  escrowHeld: string;
  /** Σ PaymentSettled.fee: the 1 % sent to the treasury. */
  feesCollected: string;
  /** Σ PaymentSettled.amount. */
  settledTotal: string;
  offers: OfferView[];
  leases: LeaseView[];
  orders: { open: number; total: number };
}

/** The meta layer as the dashboard shows it (waiting on the meta API: docs in offchain/dashboard/sources/meta.ts). */
export interface MetaView {
  available: boolean;
  nodes: { url: string; up: boolean; address: string | null; role: string | null; term: string | null }[];
  leader: { url: string; term: string } | null;
  measurements: {
    nodeId: string;
    online: boolean;
    uptimeSeconds: number;
    trackedSeconds: number;
    auditsPassed: number;
    auditsFailed: number;
    region: string;
    free: string;
    capacity: string;
  }[];
  files: {
    owner: string;
    path: string;
    rootCid: string;
    size: string;
    slices: {
      cid: string;
      size: number;
      /** `up`: the holder's health as the dashboard last saw it (null: a node it does not watch). */
      replicas: { nodeId: string; url: string; region: string; up: boolean | null }[];
    }[];
  }[];
  /** Parts of the meta view that could not be read at the last poll (measurements, a listing, a file). */
  errors?: string[];
}

export interface ChainView {
  chainId: number;
  blockNumber: string;
  blockTime: string;
  network: string;
  contracts: Record<string, string>;
  currentPeriod: string;
  periodLength: number;
  genesis: string;
  nextPeriod: string;
  reserve: string;
}

/** A lease's workload as its compute worker reports it (public `GET /v1/workloads`). */
export interface WorkloadRow {
  worker: string;
  leaseId: string;
  user: string;
  units: string;
  /** Lease end, unix seconds. */
  end: string;
  phase: string;
  runtime: string;
  restarts: number;
  exitCode: number | null;
  startedAtMs: number | null;
  stoppedAtMs: number | null;
  /** CPU time metered so far, ms (decimal). */
  cpuMs: string;
  memoryBytes: number | null;
  /** The worker did not answer at the last poll: its last rows. */
  stale: boolean;
}

export interface Snapshot {
  /** Increases with every change the server pushes. */
  version: number;
  generatedAt: number;
  chain: ChainView | null;
  nodes: RegisteredNode[];
  periods: PeriodView[];
  earnings: NodeEarnings[];
  committee: CommitteeView | null;
  market: MarketView | null;
  validators: ValidatorView[];
  storage: StorageWorkerView[];
  compute: DaemonHealth[];
  /** Workloads of the watched compute workers, newest lease first. */
  workloads: WorkloadRow[];
  meta: MetaView;
  sources: SourceStatus[];
}
