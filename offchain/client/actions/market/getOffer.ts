import { read } from "../internal";
import { HmsSdkError, type ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { Offer, ResourceKind, Tier } from "../../types";

export interface GetOfferParameters {
  offerId: bigint;
}
export type GetOfferReturnType = Offer;
export type GetOfferErrorType = ReadErrorType;

/** One offer by id. SDK_NOT_FOUND if no such offer was ever posted. */
export async function getOffer(client: HmsClient, { offerId }: GetOfferParameters): Promise<GetOfferReturnType> {
  const count = await read<bigint>(client, "ResourceMarket", "offerCount");
  if (offerId <= 0n || offerId > count)
    throw new HmsSdkError("SDK_NOT_FOUND", `offer ${offerId} does not exist (${count} posted)`, {
      value: offerId,
      errorName: "UnknownOffer",
    });
  const o = await read<Omit<Offer, "offerId" | "kind" | "tier"> & { kind: number; tier: number }>(
    client,
    "ResourceMarket",
    "getOffer",
    [offerId],
  );
  return { ...o, offerId, kind: o.kind as ResourceKind, tier: o.tier as Tier };
}
