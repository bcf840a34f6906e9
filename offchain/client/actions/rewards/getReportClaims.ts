import type { Hex } from "viem";
import { HmsSdkError } from "../../errors";
import type { PeriodClaim } from "../../types";

export interface GetReportClaimsParameters {
  nodeId: Hex;
  /** Report documents as a validator serves them at `/v1/reports/:period` (or saved from there). */
  documents?: readonly unknown[];
  /** …or a validator's base URL and the periods to fetch. */
  validatorUrl?: string;
  periods?: readonly bigint[];
}
export type GetReportClaimsReturnType = PeriodClaim[];

interface ServedReport {
  period: string;
  claims: { index: number; nodeId: Hex; traffic: string; proof: Hex[] }[];
}

function claimsOf(doc: unknown, nodeId: Hex): PeriodClaim[] {
  const d = doc as Partial<ServedReport>;
  if (typeof d?.period !== "string" || !Array.isArray(d.claims))
    throw new HmsSdkError("SDK_INVALID_INPUT", "not a report document of /v1/reports/:period (period, claims)", {
      value: doc,
    });
  return d.claims
    .filter((c) => c.nodeId.toLowerCase() === nodeId.toLowerCase())
    .map((c) => ({ period: BigInt(d.period!), index: c.index, traffic: BigInt(c.traffic), proof: c.proof }));
}

/**
 * A node's claims (leaf index, traffic, Merkle proof) from report documents: given, or fetched from a validator's
 * `/v1/reports/:period` (periods the validator did not execute are skipped). Pass them to `getPendingRewards` /
 * `claimRewards`.
 */
export async function getReportClaims(parameters: GetReportClaimsParameters): Promise<GetReportClaimsReturnType> {
  const docs: unknown[] = [...(parameters.documents ?? [])];
  if (parameters.validatorUrl !== undefined) {
    for (const period of parameters.periods ?? []) {
      let res: Response;
      try {
        res = await fetch(new URL(`/v1/reports/${period}`, parameters.validatorUrl));
      } catch (err) {
        throw new HmsSdkError("SDK_RPC", `validator ${parameters.validatorUrl} did not answer`, { cause: err });
      }
      if (res.status === 404) continue;
      if (!res.ok) throw new HmsSdkError("SDK_RPC", `validator answered ${res.status} for period ${period}`);
      docs.push(await res.json());
    }
  }
  return docs.flatMap((d) => claimsOf(d, parameters.nodeId));
}
