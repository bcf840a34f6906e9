import type { Hex } from "viem";
import { eventsOf, write, type WriteParameters } from "../internal";
import { getOffer } from "./getOffer";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface TakeOfferParameters extends WriteParameters {
  orderId: bigint;
  offerId: bigint;
  /**
   * Highest price accepted for this take. Default: the offer's price when read here, so a provider raising it before
   * the transaction lands makes it revert (PriceAboveMax, SDK_CONFLICT) instead of leasing at the higher price.
   */
  maxPricePerUnitSecond?: bigint;
}
export type TakeOfferReturnType = TransactionResult & {
  /** The lease id (= the order id). */
  leaseId: bigint;
  nodeId: Hex;
  pricePerUnitSecond: bigint;
  start: bigint;
  end: bigint;
  escrow: bigint;
  /** Order escrow above the lease escrow, refunded at once. */
  excessRefund: bigint;
};
export type TakeOfferErrorType = WriteErrorType;

/** Fills the sender's order from a chosen offer (ResourceMarket.takeOffer) and returns the `leaseId`. */
export async function takeOffer(client: HmsClient, parameters: TakeOfferParameters): Promise<TakeOfferReturnType> {
  const { orderId, offerId, account } = parameters;
  const limit = parameters.maxPricePerUnitSecond ?? (await getOffer(client, { offerId })).pricePerUnitSecond;
  const { tx, logs } = await write(client, "ResourceMarket", "takeOffer", [orderId, offerId, limit], account);
  const [ev] = eventsOf<Omit<TakeOfferReturnType, keyof TransactionResult>>(
    client,
    logs,
    "ResourceMarket",
    "LeaseStarted",
  );
  return {
    ...tx,
    leaseId: ev.leaseId,
    nodeId: ev.nodeId,
    pricePerUnitSecond: ev.pricePerUnitSecond,
    start: ev.start,
    end: ev.end,
    escrow: ev.escrow,
    excessRefund: ev.excessRefund,
  };
}
