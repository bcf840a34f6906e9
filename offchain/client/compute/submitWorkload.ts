/** `submitWorkload`: sends the lease user's signed request to run a spec to the lease's worker. */
import { WORKLOADS_PATH, specHash, type WorkloadSpec } from "../../protocol/compute";
import { signTyped } from "../../core/signing";
import { networkDomain, workerFetch, workerJson, type ComputeClient } from "./client";

export interface SubmitWorkloadParameters {
  endpoint: string;
  leaseId: bigint;
  spec: WorkloadSpec;
  /** Validity of the signed request, seconds (default 300). */
  validFor?: number;
}

export type WorkloadView = Record<string, unknown> & { leaseId: string; phase: string; specHash?: string };

export async function submitWorkload(client: ComputeClient, p: SubmitWorkloadParameters): Promise<WorkloadView> {
  const deadline = BigInt(Math.floor(Date.now() / 1000) + (p.validFor ?? 300));
  const hash = specHash(p.spec);
  const signature = await signTyped(client.account, networkDomain(client), "WorkloadRequest", {
    leaseId: p.leaseId,
    action: "run",
    specHash: hash,
    deadline,
  });
  const res = await workerFetch(
    `${p.endpoint}${WORKLOADS_PATH}`,
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ leaseId: `${p.leaseId}`, spec: p.spec, deadline: `${deadline}`, signature }),
    },
    "submit workload",
  );
  return (await workerJson<{ workload: WorkloadView }>(res, "submit workload")).workload;
}
