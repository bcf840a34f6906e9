import type { Address } from "viem";
import { read } from "../internal";
import { HmsSdkError, type ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { Order, OrderStatus, ResourceKind, Tier } from "../../types";

export interface GetOrderParameters {
  orderId: bigint;
}
export type GetOrderReturnType = Order;
export type GetOrderErrorType = ReadErrorType;

/** One order by id, with the escrow it holds. SDK_NOT_FOUND if it does not exist. */
export async function getOrder(client: HmsClient, { orderId }: GetOrderParameters): Promise<GetOrderReturnType> {
  const [o, escrow] = await read<
    [
      {
        user: Address;
        expiresAt: bigint;
        kind: number;
        minTier: number;
        status: number;
        region: number;
        units: bigint;
        duration: bigint;
        maxPricePerUnitSecond: bigint;
      },
      bigint,
    ]
  >(client, "ResourceMarket", "getOrder", [orderId]);
  if (o.status === 0)
    throw new HmsSdkError("SDK_NOT_FOUND", `order ${orderId} does not exist`, {
      value: orderId,
      errorName: "UnknownOrder",
    });
  return {
    ...o,
    orderId,
    kind: o.kind as ResourceKind,
    minTier: o.minTier as Tier,
    status: o.status as OrderStatus,
    escrow,
  };
}
