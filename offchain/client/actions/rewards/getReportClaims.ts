import type { Hex } from "viem";
import { claimsFromDocument, type ReportDocument } from "../../../protocol/report";
import { HmsSdkError } from "../../errors";
import type { PeriodClaim } from "../../types";

export interface GetReportClaimsParameters {
  nodeId: Hex;
  /**
   * Report documents: as a validator serves them at `/v1/reports/:period` (or saved from there), or the published
   * report document itself (the bytes behind the period's `dataCid`, e.g. from `hms get`), whose proofs are
   * recomputed from its rewards list.
   */
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

function isPublished(d: unknown): d is ReportDocument {
  const doc = d as Partial<ReportDocument>;
  return (
    typeof doc?.period === "string" &&
    typeof doc.version === "number" &&
    typeof doc.rewardsRoot === "string" &&
    Array.isArray(doc.rewards)
  );
}

function claimsOf(doc: unknown, nodeId: Hex): PeriodClaim[] {
  if (isPublished(doc) && !Array.isArray((doc as Partial<ServedReport>).claims)) {
    let claims;
    try {
      claims = claimsFromDocument(doc);
    } catch (err) {
      throw new HmsSdkError("SDK_INVALID_INPUT", (err as Error).message, { value: doc.rewardsRoot, cause: err });
    }
    return claims
      .filter((c) => c.nodeId.toLowerCase() === nodeId.toLowerCase())
      .map((c) => ({ period: BigInt(doc.period), index: c.index, traffic: c.traffic, proof: c.proof }));
  }
  const d = doc as Partial<ServedReport>;
  if (typeof d?.period !== "string" || !Array.isArray(d.claims))
    throw new HmsSdkError(
      "SDK_INVALID_INPUT",
      "not a report document: neither a validator's /v1/reports/:period (period, claims) nor a published one (version, period, rewards, rewardsRoot)",
      { value: doc },
    );
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
