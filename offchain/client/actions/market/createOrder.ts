import { accountOf, check, ensureAllowance, eventsOf, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import { Tier, type OrderParams, type TransactionResult } from "../../types";

export interface CreateOrderParameters extends WriteParameters, Omit<OrderParams, "region" | "minTier"> {
  /** Required region, 0 = any (default). */
  region?: number;
  /** Default Lite (any tier). */
  minTier?: Tier;
}
export type CreateOrderReturnType = TransactionResult & {
  orderId: bigint;
  /** Tokens pulled into escrow: maxPricePerUnitSecond × units × duration. */
  escrow: bigint;
  approval?: TransactionResult;
};
export type CreateOrderErrorType = WriteErrorType;

/** Creates an order with its escrow (approving it first if needed) and returns its `orderId`. */
export async function createOrder(
  client: HmsClient,
  parameters: CreateOrderParameters,
): Promise<CreateOrderReturnType> {
  const { kind, units, maxPricePerUnitSecond, duration, expiresAt, account } = parameters;
  check(
    units > 0n && maxPricePerUnitSecond > 0n && duration > 0n,
    "units, price and duration must be positive",
    parameters,
  );
  const escrow = maxPricePerUnitSecond * units * duration;
  const approval = await ensureAllowance(client, accountOf(client, account), "ResourceMarket", escrow);
  const terms = {
    kind,
    units,
    maxPricePerUnitSecond,
    duration,
    region: parameters.region ?? 0,
    minTier: parameters.minTier ?? Tier.Lite,
    expiresAt,
  };
  const { tx, logs } = await write(client, "ResourceMarket", "createOrder", [terms], account);
  const [ev] = eventsOf<{ orderId: bigint; escrow: bigint }>(client, logs, "ResourceMarket", "OrderCreated");
  return { ...tx, orderId: ev.orderId, escrow: ev.escrow, approval };
}
