import { read } from "../internal";
import { getOffer } from "./getOffer";
import type { ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import { ResourceKind, type Offer } from "../../types";

export interface GetOffersParameters {
  /** Default: every kind. */
  kind?: ResourceKind;
  /** Most offers per kind (default 100). */
  limit?: number;
  /** First index position per kind (default 0). */
  start?: number;
}
export type GetOffersReturnType = Offer[];
export type GetOffersErrorType = ReadErrorType;

/** The active offers (of one kind or all), from the market's per-kind index. */
export async function getOffers(client: HmsClient, parameters: GetOffersParameters = {}): Promise<GetOffersReturnType> {
  const kinds = parameters.kind === undefined ? Object.values(ResourceKind) : [parameters.kind];
  const out: Offer[] = [];
  for (const kind of kinds) {
    const ids = await read<readonly bigint[]>(client, "ResourceMarket", "offersOfKind", [
      kind,
      BigInt(parameters.start ?? 0),
      BigInt(parameters.limit ?? 100),
    ]);
    for (const offerId of ids) out.push(await getOffer(client, { offerId }));
  }
  return out;
}
