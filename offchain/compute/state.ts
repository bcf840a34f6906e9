/**
 * The compute worker's persistent records (LevelDB, core/store.ts), one typed repository, a key prefix per kind
 * (docs/COMPUTE.md "On-disk layout"):
 *
 *   cursor                      last chain block whose lease events are applied (catch-up starts after it)
 *   offer                       the ResourceMarket offer this worker published
 *   workload/<leaseId>          what the worker knows of a lease and runs for it (state, spec, usage so far)
 *   usage/<leaseId>/<period>    signed usage reports, one per metering period (zero-padded period)
 *
 * A lease's events and the cursor are written in one batch, so a crash between them replays the events
 * (idempotent upserts) instead of losing them.
 */
import type { Address, Hex } from "viem";
import type { Store, StoreBatch } from "../core/store";
import type { UsageSample, Usage, WorkloadSpec } from "../protocol/compute";
import type { UsageReportMessage } from "../core/signing";

/**
 * `leased`: the lease exists, no spec yet; `running`: the workload is (to be) running; `backoff`: exited, a
 * restart is scheduled; `exited`: done by its policy; `crash-loop`: restarted too often, reported and not
 * retried; `ended`: the lease ended (closed, terminated or expired) and the workload is stopped.
 */
export type WorkloadPhase = "leased" | "running" | "backoff" | "exited" | "crash-loop" | "ended";

export interface WorkloadRecord {
  leaseId: bigint;
  user: Address;
  units: bigint;
  /** Lease start and paid-through end, unix seconds (chain time). */
  start: bigint;
  end: bigint;
  /** The lease was closed or terminated on chain. */
  closed: boolean;
  phase: WorkloadPhase;
  spec?: WorkloadSpec;
  specHash?: Hex;
  /** Runtime id of its workload. */
  runtimeId?: string;
  /** Unix ms of the restarts so far (the crash-loop window reads them). */
  restartTimes: number[];
  /** When a scheduled restart is due, unix ms. */
  restartAtMs?: number;
  exitCode?: number;
  /** The metering period being accumulated, its start, usage so far and the last sample. */
  period?: bigint;
  periodStartMs?: number;
  periodUsage?: Usage;
  lastSample?: UsageSample;
  totalCpuNs: bigint;
  /** First time the workload started, unix ms. */
  firstStartMs?: number;
  /** When it stopped for good, unix ms. */
  stoppedAtMs?: number;
  /**
   * The user's signed run request it runs under: the lease it was signed over (this one, or the one moved into
   * this one), its deadline and signature. Sent in heartbeats so the meta master can forward it after a move.
   */
  request?: { leaseId: bigint; deadline: bigint; signature: Hex };
}

export interface SignedUsageReport {
  message: UsageReportMessage;
  signature: Hex;
}

const CURSOR = "cursor";
const OFFER = "offer";
const pad = (n: bigint) => n.toString().padStart(20, "0");
const workloadKey = (id: bigint) => `workload/${pad(id)}`;
const usageKey = (id: bigint, period: bigint) => `usage/${pad(id)}/${pad(period)}`;

/** Typed access to the worker's records. */
export class ComputeState {
  constructor(private readonly store: Store) {}

  async cursor(): Promise<bigint | undefined> {
    return this.store.get<bigint>(CURSOR);
  }

  async offerId(): Promise<bigint | undefined> {
    return this.store.get<bigint>(OFFER);
  }

  async setOfferId(id: bigint): Promise<void> {
    await this.store.put(OFFER, id);
  }

  async workload(leaseId: bigint): Promise<WorkloadRecord | undefined> {
    return this.store.get<WorkloadRecord>(workloadKey(leaseId));
  }

  async workloads(): Promise<WorkloadRecord[]> {
    const out: WorkloadRecord[] = [];
    for await (const [, v] of this.store.entries<WorkloadRecord>("workload/")) out.push(v);
    return out;
  }

  async put(record: WorkloadRecord): Promise<void> {
    await this.store.put(workloadKey(record.leaseId), record);
  }

  /** Applies lease records and advances the cursor, atomically. */
  async apply(records: readonly WorkloadRecord[], cursor: bigint): Promise<void> {
    const batch: StoreBatch = this.store.batch();
    for (const r of records) batch.put(workloadKey(r.leaseId), r);
    batch.put(CURSOR, cursor);
    await batch.write();
  }

  /** Stores a period's signed report together with the workload record that closed the period. */
  async report(record: WorkloadRecord, report: SignedUsageReport): Promise<void> {
    const batch = this.store.batch();
    batch.put(usageKey(record.leaseId, report.message.period), report);
    batch.put(workloadKey(record.leaseId), record);
    await batch.write();
  }

  async reports(leaseId: bigint): Promise<SignedUsageReport[]> {
    const out: SignedUsageReport[] = [];
    for await (const [, v] of this.store.entries<SignedUsageReport>(`usage/${pad(leaseId)}/`)) out.push(v);
    return out;
  }
}
