/** Finding a user's compute leases and the worker that serves each (NodeRegistry endpoint of its node). */
import type { Address, Hex } from "viem";
import { nodeRegistryAbi, resourceMarketAbi } from "../../chain/abis";
import { LeaseStatus } from "../../chain/market";
import { HmsError } from "../../core/errors";
import type { ComputeClient } from "./client";

export interface FoundLease {
  leaseId: bigint;
  nodeId: Hex;
  user: Address;
  endpoint: string;
  signingKey: Address;
  active: boolean;
  start: bigint;
  end: bigint;
  ratePerSecond: bigint;
}

export async function findLease(
  client: Pick<ComputeClient, "public" | "contracts">,
  leaseId: bigint,
): Promise<FoundLease> {
  let lease, nodeId: Hex;
  try {
    [lease, nodeId] = await client.public.readContract({
      address: client.contracts.market,
      abi: resourceMarketAbi,
      functionName: "getLease",
      args: [leaseId],
    });
  } catch (err) {
    throw new HmsError("COMPUTE_NOT_FOUND", `no lease ${leaseId}`, { value: leaseId, cause: err });
  }
  const node = await client.public.readContract({
    address: client.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: "getNode",
    args: [nodeId],
  });
  return {
    leaseId,
    nodeId,
    user: lease.user,
    endpoint: node.endpoint,
    signingKey: node.signingKey,
    active: lease.status === LeaseStatus.Active,
    start: BigInt(lease.start),
    end: BigInt(lease.end),
    ratePerSecond: BigInt(lease.ratePerSecond),
  };
}

/** The compute leases `user` opened (LeaseStarted events of the market), newest first. */
export async function findLeases(
  client: Pick<ComputeClient, "public" | "contracts">,
  user: Address,
): Promise<FoundLease[]> {
  const events = await client.public.getContractEvents({
    address: client.contracts.market,
    abi: resourceMarketAbi,
    eventName: "LeaseStarted",
    args: { user },
    fromBlock: 0n,
  });
  const out: FoundLease[] = [];
  for (const e of events.reverse()) {
    const offer = await client.public.readContract({
      address: client.contracts.market,
      abi: resourceMarketAbi,
      functionName: "getOffer",
      args: [e.args.offerId!],
    });
    if (offer.kind !== 1) continue;
    out.push(await findLease(client, e.args.leaseId!));
  }
  return out;
}
