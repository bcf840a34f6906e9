/**
 * The one interface every compute runtime implements (docs/COMPUTE.md "Runtimes"): the daemon creates, starts,
 * samples, reads the logs of, stops and removes workloads through it, whatever runs them — a supervised child
 * process (./embedded.ts) or an OCI container through the Docker Engine API (./oci.ts, Docker or Podman).
 *
 * A workload is named by a stable `id` derived from the node and the lease ({@link workloadId}): starting an id
 * that already exists adopts it instead of creating a second one, which is what makes a daemon restart safe.
 */
import type { Hex } from "viem";
import type { UsageSample, WorkloadSpec } from "../../protocol/compute";

export type RuntimeKind = "embedded" | "oci";

export interface RunRequest {
  /** Stable id ({@link workloadId}). */
  id: string;
  leaseId: bigint;
  spec: WorkloadSpec;
  /** Labels recorded with the workload (node, lease, spec hash) so that a restarted daemon finds its own. */
  labels: Record<string, string>;
}

export interface WorkloadStatus {
  id: string;
  state: "running" | "exited";
  exitCode?: number;
  /** Killed for exceeding its memory (or, embedded, disk) limit. */
  oomKilled?: boolean;
  startedAtMs?: number;
  finishedAtMs?: number;
  /** Changes whenever the workload was (re)started: counters restart from zero then. */
  generation: number;
}

export interface WorkloadRuntime {
  readonly kind: RuntimeKind;
  /** Resolves if the runtime can run workloads; throws `COMPUTE_RUNTIME_UNAVAILABLE` naming what is missing. */
  check(): Promise<void>;
  /**
   * Creates and starts the workload, or adopts it if `id` exists (a running one is left alone, an exited one is
   * started again). Throws `COMPUTE_IMAGE_NOT_FOUND`, `COMPUTE_RUNTIME`.
   */
  start(request: RunRequest): Promise<WorkloadStatus>;
  /** The workload's state, or undefined if the runtime has no workload `id`. */
  status(id: string): Promise<WorkloadStatus | undefined>;
  /** One reading of its counters (cumulative since its last start). */
  sample(id: string): Promise<UsageSample>;
  /** Its stdout and stderr so far (the last `tail` lines if given). */
  logs(id: string, options?: { tail?: number }): Promise<string>;
  /** Stops it: SIGTERM, then SIGKILL after `graceMs`. A stopped or missing workload is not an error. */
  stop(id: string, graceMs: number): Promise<void>;
  /** Removes it and what it wrote. A missing workload is not an error. */
  remove(id: string): Promise<void>;
  /** Ids of this node's workloads the runtime holds (running or not). */
  list(): Promise<string[]>;
  /** Releases the runtime's own resources (sockets, timers). Workloads keep running. */
  close(): Promise<void>;
}

/** The stable id of the workload of `leaseId` on node `nodeId`: `hms-<first 8 hex of the node>-lease-<id>`. */
export function workloadId(nodeId: Hex, leaseId: bigint): string {
  return `hms-${nodeId.slice(2, 10).toLowerCase()}-lease-${leaseId}`;
}

/** Labels every runtime records with a workload. */
export const LABELS = { node: "hms.node", lease: "hms.lease", spec: "hms.spec" } as const;
