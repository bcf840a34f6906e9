import type { Hex } from "viem";
import { check, eventsOf, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { OfferParams, TransactionResult } from "../../types";

export interface PostOfferParameters extends WriteParameters, OfferParams {
  /** The providing node (the sender must be its operator). */
  nodeId: Hex;
}
export type PostOfferReturnType = TransactionResult & { offerId: bigint; nodeId: Hex };
export type PostOfferErrorType = WriteErrorType;

/** Posts a provider's offer (ResourceMarket.postOffer) and returns its `offerId`. */
export async function postOffer(client: HmsClient, parameters: PostOfferParameters): Promise<PostOfferReturnType> {
  const { nodeId, kind, units, pricePerUnitSecond, minDuration, maxDuration, account } = parameters;
  check(units > 0n && pricePerUnitSecond > 0n, "units and price must be positive", parameters);
  check(minDuration > 0n && minDuration <= maxDuration, "0 < minDuration ≤ maxDuration", parameters);
  const { tx, logs } = await write(
    client,
    "ResourceMarket",
    "postOffer",
    [nodeId, { kind, units, pricePerUnitSecond, minDuration, maxDuration }],
    account,
  );
  const [ev] = eventsOf<{ offerId: bigint }>(client, logs, "ResourceMarket", "OfferPosted");
  return { ...tx, offerId: ev.offerId, nodeId };
}
