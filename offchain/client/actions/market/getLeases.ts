import type { Abi, Address, Hex } from "viem";
import { getLogs } from "viem/actions";
import { resourceMarketAbi } from "../../../chain/abis";
import { addressOf, assertChain, read } from "../internal";
import { toSdkError, type ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { CloseReason, Lease, LeaseStatus } from "../../types";

export interface GetLeasesParameters {
  /** Leases paid by this user… */
  user?: Address;
  /** …and/or served by this node. */
  nodeId?: Hex;
  /** Only active leases. */
  activeOnly?: boolean;
}
export type GetLeasesReturnType = Lease[];
export type GetLeasesErrorType = ReadErrorType;

const leaseStarted = (resourceMarketAbi as Abi).find((e) => e.type === "event" && e.name === "LeaseStarted")!;

/** One lease's stored state and balances now. */
export async function getLease(client: HmsClient, leaseId: bigint, offerId = 0n, units = 0n): Promise<Lease> {
  const [l, nodeId, accrued, withdrawable, escrow] = await read<
    [
      {
        user: Address;
        start: bigint;
        status: number;
        closeReason: number;
        ratePerSecond: bigint;
        end: bigint;
        maxEnd: bigint;
        withdrawn: bigint;
      },
      Hex,
      bigint,
      bigint,
      bigint,
    ]
  >(client, "ResourceMarket", "getLease", [leaseId]);
  return {
    leaseId,
    nodeId,
    user: l.user,
    offerId,
    units,
    start: l.start,
    end: l.end,
    maxEnd: l.maxEnd,
    status: l.status as LeaseStatus,
    closeReason: l.closeReason as CloseReason,
    ratePerSecond: l.ratePerSecond,
    withdrawn: l.withdrawn,
    accrued,
    withdrawable,
    escrow,
  };
}

/** Leases of a user and/or a node (from the market's LeaseStarted events), with their balances now. */
export async function getLeases(client: HmsClient, parameters: GetLeasesParameters = {}): Promise<GetLeasesReturnType> {
  await assertChain(client);
  let logs;
  try {
    logs = await getLogs(client, {
      address: addressOf(client, "ResourceMarket"),
      event: leaseStarted as Extract<Abi[number], { type: "event" }>,
      args: { user: parameters.user, nodeId: parameters.nodeId },
      fromBlock: BigInt(client.deployment.contracts.ResourceMarket?.blockNumber ?? 0),
      strict: true,
    } as Parameters<typeof getLogs>[1]);
  } catch (err) {
    throw toSdkError(err, "eth_getLogs");
  }
  const out: Lease[] = [];
  for (const log of logs) {
    const a = (log as unknown as { args: { leaseId: bigint; offerId: bigint; units: bigint } }).args;
    const lease = await getLease(client, a.leaseId, a.offerId, a.units);
    if (!parameters.activeOnly || lease.status === 1) out.push(lease);
  }
  return out;
}
