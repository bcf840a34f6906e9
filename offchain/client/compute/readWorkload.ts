/**
 * Reads of a lease's workload: its status (public), its signed usage reports (verified against the worker's
 * key), and its logs (a signed `read` request of the lease's user). Also `stopWorkload` (a signed `stop`).
 */
import type { Address, Hex } from "viem";
import { ACCESS_HEADERS, WORKLOADS_PATH, usageFromWire } from "../../protocol/compute";
import { recoverTyped, signTyped, type UsageReportMessage } from "../../core/signing";
import { HmsError } from "../../core/errors";
import { networkDomain, workerFetch, workerJson, type ComputeClient } from "./client";
import type { WorkloadView } from "./submitWorkload";

const ZERO = `0x${"00".repeat(32)}` as Hex;

async function accessHeaders(client: ComputeClient, leaseId: bigint, action: "read" | "stop") {
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 120);
  const signature = await signTyped(client.account, networkDomain(client), "WorkloadRequest", {
    leaseId,
    action,
    specHash: ZERO,
    deadline,
  });
  return { [ACCESS_HEADERS.deadline]: `${deadline}`, [ACCESS_HEADERS.signature]: signature };
}

export async function getWorkload(endpoint: string, leaseId: bigint): Promise<WorkloadView> {
  const res = await workerFetch(`${endpoint}${WORKLOADS_PATH}/${leaseId}`, undefined, "workload status");
  return (await workerJson<{ workload: WorkloadView }>(res, "workload status")).workload;
}

export async function listWorkloads(endpoint: string): Promise<WorkloadView[]> {
  const res = await workerFetch(`${endpoint}${WORKLOADS_PATH}`, undefined, "list workloads");
  return (await workerJson<{ workloads: WorkloadView[] }>(res, "list workloads")).workloads;
}

export interface VerifiedUsage {
  reports: Array<{ message: UsageReportMessage; signature: Hex }>;
  signer: Address;
}

/**
 * The usage reports of a lease, each verified: signed by `expectedSigner` (the node's registered signing key,
 * NodeRegistry `getNode(nodeId).signingKey`) and of this lease. Throws `COMPUTE_BAD_USAGE` otherwise.
 */
export async function getUsage(
  client: Pick<ComputeClient, "chainId" | "contracts">,
  endpoint: string,
  leaseId: bigint,
  expectedSigner: Address,
): Promise<VerifiedUsage> {
  const res = await workerFetch(`${endpoint}${WORKLOADS_PATH}/${leaseId}/usage`, undefined, "usage");
  const body = await workerJson<{ reports: Array<{ message: Record<string, unknown>; signature: Hex }> }>(res, "usage");
  const reports = [];
  for (const r of body.reports) {
    const message = usageFromWire(r.message);
    const signer = await recoverTyped(networkDomain(client), "UsageReport", message, r.signature);
    if (signer.toLowerCase() !== expectedSigner.toLowerCase() || message.leaseId !== leaseId)
      throw new HmsError(
        "COMPUTE_BAD_USAGE",
        `usage report of period ${message.period} is signed by ${signer}, not ${expectedSigner}`,
        {
          value: signer,
        },
      );
    reports.push({ message, signature: r.signature });
  }
  return { reports, signer: expectedSigner };
}

export async function getLogs(
  client: ComputeClient,
  endpoint: string,
  leaseId: bigint,
  tail?: number,
): Promise<string> {
  const q = tail === undefined ? "" : `?tail=${tail}`;
  const res = await workerFetch(
    `${endpoint}${WORKLOADS_PATH}/${leaseId}/logs${q}`,
    { headers: await accessHeaders(client, leaseId, "read") },
    "logs",
  );
  return (await workerJson<{ logs: string }>(res, "logs")).logs;
}

export async function stopWorkload(client: ComputeClient, endpoint: string, leaseId: bigint): Promise<WorkloadView> {
  const res = await workerFetch(
    `${endpoint}${WORKLOADS_PATH}/${leaseId}/stop`,
    { method: "POST", headers: await accessHeaders(client, leaseId, "stop") },
    "stop workload",
  );
  return (await workerJson<{ workload: WorkloadView }>(res, "stop workload")).workload;
}
