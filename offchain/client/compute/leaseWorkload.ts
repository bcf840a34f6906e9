/**
 * `leaseWorkload`: opens a compute lease for a spec — an order escrowed with an EIP-2612 permit
 * (`createOrderWithPermit`), then `takeOffer` of the chosen offer at most at its current price — and returns the
 * lease and the worker's endpoint (NodeRegistry `getNode(nodeId).endpoint`).
 */
import type { Hex } from "viem";
import { resourceMarketAbi, nodeRegistryAbi, hmsTokenAbi } from "../../chain/abis";
import { escrowPermit, leaseStarted, orderCreated, ResourceKind } from "../../chain/market";
import { HmsError } from "../../core/errors";
import { unitsFor, type WorkloadSpec } from "../../protocol/compute";
import type { ComputeClient } from "./client";

export interface LeaseWorkloadParameters {
  spec: WorkloadSpec;
  offerId: bigint;
  /** Lease length, seconds. */
  duration: bigint;
  /** Units to lease (default: the fewest that cover the spec's limits). */
  units?: bigint;
  /** Progress callback. */
  onStep?: (step: string) => void;
}

export interface LeaseWorkloadReturnType {
  leaseId: bigint;
  nodeId: Hex;
  endpoint: string;
  units: bigint;
  pricePerUnitSecond: bigint;
  escrow: bigint;
}

export async function leaseWorkload(
  client: ComputeClient,
  params: LeaseWorkloadParameters,
): Promise<LeaseWorkloadReturnType> {
  const { market, token, nodeRegistry } = client.contracts;
  const offer = await client.public.readContract({
    address: market,
    abi: resourceMarketAbi,
    functionName: "getOffer",
    args: [params.offerId],
  });
  if (!offer.active || offer.kind !== ResourceKind.Compute)
    throw new HmsError("COMPUTE_NO_LEASE", `offer ${params.offerId} is not an active compute offer`, {
      value: params.offerId,
    });
  const units = params.units ?? BigInt(unitsFor(params.spec.limits));
  const price = BigInt(offer.pricePerUnitSecond);
  const escrow = price * units * params.duration;
  const now = (await client.public.getBlock()).timestamp;
  const terms = {
    kind: ResourceKind.Compute,
    units,
    maxPricePerUnitSecond: price,
    duration: params.duration,
    region: 0,
    minTier: 0,
    expiresAt: now + 3600n,
  };
  const nonce = await client.public.readContract({
    address: token,
    abi: hmsTokenAbi,
    functionName: "nonces",
    args: [client.account.address],
  });
  params.onStep?.("signing the escrow permit");
  const permit = await escrowPermit(client.account, client.chainId, token, market, nonce, escrow, now + 3600n);
  const send = async (functionName: "createOrderWithPermit" | "takeOffer", args: readonly unknown[]) => {
    const hash = await client.wallet.writeContract({
      address: market,
      abi: resourceMarketAbi,
      functionName,
      args,
      account: client.account,
      chain: client.wallet.chain,
    } as Parameters<typeof client.wallet.writeContract>[0]);
    const receipt = await client.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw new HmsError("CHAIN_TX_REVERTED", `${functionName} reverted`, { value: hash });
    return receipt;
  };
  params.onStep?.(`ordering ${units} unit(s) for ${params.duration} s (escrow ${escrow} wei)`);
  const { orderId } = orderCreated(await send("createOrderWithPermit", [terms, permit]));
  params.onStep?.(`taking offer ${params.offerId}`);
  const { leaseId, nodeId } = leaseStarted(await send("takeOffer", [orderId, params.offerId, price]));
  const node = await client.public.readContract({
    address: nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: "getNode",
    args: [nodeId],
  });
  return { leaseId, nodeId, endpoint: node.endpoint, units, pricePerUnitSecond: price, escrow };
}
