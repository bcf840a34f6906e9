/**
 * Compute supervision on the wire (issue 14 items 4 and 9, docs/COMPUTE.md "Supervision"): the compute worker's
 * signed heartbeat to the meta layer, and the rule by which a worker runs a lease the meta master moved to it
 * under the user's original request. Pure: no I/O.
 *
 * A heartbeat is an EIP-712 `ComputeHeartbeat` (domain `network`) whose `workloadsHash` is the keccak256 of the
 * canonical JSON of the `workloads` list sent beside it: each workload's lease, spec hash, phase, restarts, whether
 * it crash-loops, its limits and labels, and the user's signed run request (the spec, the lease it was signed
 * over, its deadline and signature) — what the master forwards to the node a lease is moved to.
 */
import { z } from "zod";
import { keccak256, toHex, type Hex, type TypedDataDomain } from "viem";
import { HmsError } from "../core/errors";
import { recoverTypedSync, signTypedSync, type ComputeHeartbeatMessage } from "../core/signing";
import { canonicalJson } from "./compute";

export const COMPUTE_HEARTBEAT_PATH = "/v1/compute/heartbeat";
export const COMPUTE_NODES_PATH = "/v1/compute/nodes";

const hex = (bytes: number) => z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`));
const decimal = z.string().regex(/^\d{1,78}$/);
const small = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** The user's signed run request as the worker keeps it (integers as decimal strings). */
export const signedRunRequestSchema = z.strictObject({
  /** The lease the user signed the request over (the original lease, before any move). */
  leaseId: decimal,
  spec: z.unknown(),
  deadline: decimal,
  signature: hex(65),
});
export type SignedRunRequest = z.infer<typeof signedRunRequestSchema>;

export const WORKLOAD_PHASES = ["leased", "running", "backoff", "exited", "crash-loop", "ended"] as const;

export const heartbeatWorkloadSchema = z.strictObject({
  leaseId: decimal,
  specHash: hex(32),
  phase: z.enum(WORKLOAD_PHASES),
  restarts: small,
  /** The restart policy gave up on it here (crash loop). */
  failing: z.boolean(),
  limits: z.strictObject({ cpuMillis: small, memoryMiB: small, diskMiB: small }),
  labels: z.record(z.string().max(63), z.string().max(63)).default({}),
  request: signedRunRequestSchema,
});
export type HeartbeatWorkload = z.infer<typeof heartbeatWorkloadSchema>;

export const computeHeartbeatSchema = z.strictObject({
  nodeId: hex(32),
  seq: decimal,
  time: decimal,
  region: z.string().max(64),
  url: z.string().max(512),
  offerId: decimal,
  capacity: z.strictObject({ cpuMillis: small, memoryMiB: small, diskMiB: small }),
  used: z.strictObject({ cpuMillis: small, memoryMiB: small, diskMiB: small }),
  workloads: z.array(heartbeatWorkloadSchema).max(1_000),
  signature: hex(65),
});
export type WireComputeHeartbeat = z.infer<typeof computeHeartbeatSchema>;

/** A heartbeat whose signature and workloads hash were checked. */
export interface VerifiedComputeHeartbeat {
  message: ComputeHeartbeatMessage;
  workloads: HeartbeatWorkload[];
  signer: Hex;
}

/** keccak256 of the canonical JSON of the workloads list (bound into the signed message). */
export function workloadsHash(workloads: readonly HeartbeatWorkload[]): Hex {
  return keccak256(toHex(canonicalJson(workloads)));
}

export type ComputeHeartbeatBody = Omit<WireComputeHeartbeat, "signature">;

function messageOf(b: ComputeHeartbeatBody): ComputeHeartbeatMessage {
  return {
    nodeId: b.nodeId.toLowerCase() as Hex,
    seq: BigInt(b.seq),
    time: BigInt(b.time),
    region: b.region,
    url: b.url,
    offerId: BigInt(b.offerId),
    capacityCpuMillis: BigInt(b.capacity.cpuMillis),
    capacityMemoryMiB: BigInt(b.capacity.memoryMiB),
    capacityDiskMiB: BigInt(b.capacity.diskMiB),
    usedCpuMillis: BigInt(b.used.cpuMillis),
    usedMemoryMiB: BigInt(b.used.memoryMiB),
    usedDiskMiB: BigInt(b.used.diskMiB),
    workloadsHash: workloadsHash(b.workloads),
  };
}

/** Signs a heartbeat body with the node's key (sync: one signature per beat). */
export function signComputeHeartbeat(
  privateKey: Hex,
  domain: TypedDataDomain,
  body: ComputeHeartbeatBody,
): WireComputeHeartbeat {
  return { ...body, signature: signTypedSync(privateKey, domain, "ComputeHeartbeat", messageOf(body)) };
}

/**
 * Parses and verifies a heartbeat: `META_BAD_HEARTBEAT` when malformed or when its signature does not recover
 * (the caller compares the signer with the node's registered key).
 */
export function verifyComputeHeartbeat(domain: TypedDataDomain, raw: unknown): VerifiedComputeHeartbeat {
  const parsed = computeHeartbeatSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HmsError("META_BAD_HEARTBEAT", `compute heartbeat ${issue.path.join(".")}: ${issue.message}`, {
      value: issue.path.join("."),
    });
  }
  const { signature, ...body } = parsed.data;
  const message = messageOf(body);
  let signer: Hex;
  try {
    signer = recoverTypedSync(domain, "ComputeHeartbeat", message, signature as Hex).toLowerCase() as Hex;
  } catch (err) {
    throw new HmsError("META_BAD_HEARTBEAT", "compute heartbeat signature does not recover", {
      value: signature,
      cause: err,
    });
  }
  return { message, workloads: body.workloads, signer };
}

// ── moved leases ─────────────────────────────────────────────────────────────────────────────────────

/** One `LeaseMoved` event: `from` was closed and its rest re-opened as `to`. */
export interface LeaseMove {
  from: bigint;
  to: bigint;
}

/** Longest chain of moves a forwarded request may follow back (a workload moved more often is a crash loop). */
export const MAX_MOVE_DEPTH = 8;

/**
 * The rule by which a worker runs lease `target` under a request the user signed over lease `signedLease`
 * (docs/COMPUTE.md "Supervision"): following the chain's moves back from `target` (`movedInto(x)`: the lease
 * that was moved into x, if any) must reach `signedLease` within {@link MAX_MOVE_DEPTH} steps; the request's
 * deadline must not be before `signedLease` started (it was a valid request while that lease ran: a request
 * signed for nothing that ever ran is not forwarded). Returns the chain from `target` back to `signedLease`;
 * throws `COMPUTE_NOT_MOVED` with the chain it found otherwise.
 */
export function movedChain(
  target: bigint,
  signedLease: bigint,
  movedInto: ReadonlyMap<bigint, bigint>,
  deadline: bigint,
  signedLeaseStart: bigint | undefined,
): bigint[] {
  const chain = [target];
  let at = target;
  while (at !== signedLease) {
    const prev = movedInto.get(at);
    if (prev === undefined || chain.length > MAX_MOVE_DEPTH)
      throw new HmsError("COMPUTE_NOT_MOVED", `lease ${target} was not moved from lease ${signedLease}`, {
        value: signedLease.toString(),
        details: { target: target.toString(), chain: chain.map(String) },
      });
    chain.push(prev);
    at = prev;
  }
  if (signedLeaseStart !== undefined && deadline < signedLeaseStart)
    throw new HmsError(
      "COMPUTE_NOT_MOVED",
      `the request's deadline ${deadline} is before lease ${signedLease} started (${signedLeaseStart}): never valid`,
      { value: deadline.toString(), details: { start: signedLeaseStart.toString() } },
    );
  return chain;
}
