/**
 * Publication of the period report document in the storage network (issue 12 item 6): the document a report's
 * `dataCid` names (offchain/protocol/report.ts, version 2 with its inputs: docs/AUDIT.md) is stored as ONE raw
 * leaf — `putFile` with a slice size ≥ its length — so its UnixFS root CID is the raw-codec CID of its sha256,
 * exactly `dataCid`, and `hms audit <period>` fetches it by that CID.
 *
 * - Its builder (each member builds the request it submits; the primary orders one) stores it (owner: its signing
 *   key, path {@link reportPath}) before it proposes, and checks that the returned root CID is `dataCid`
 *   ({@link publishReport}). Putting the same bytes at the same path again (a
 *   restart, a view change back to it) replaces the file with itself: idempotent (meta index: put replaces).
 * - A replica, before it prepares, fetches `dataCid` anonymously (no receipts) and accepts only the bytes it
 *   recomputed itself ({@link publicationProblem}, pure); the daemon withholds its prepare otherwise, as it does
 *   for an omission, so a primary whose document does not resolve is replaced by a view change.
 *
 * The storage transfers of a publication are traffic of the period they happen in (normally the one after the
 * reported period: the document exists only once it has ended). The committee's builders leave its members' own
 * transfers out of their reads (daemon.ts `withoutPublications`), so a publication never makes the next proposal
 * of the same window "omit" it when the storage clock lags the chain's (tests, the demo).
 */
import type { Hex } from "viem";
import type { BuiltReport } from "../protocol/report";
import { cidFromDigest } from "../protocol/report";
import { DEFAULT_SLICE_SIZE, MAX_SLICE_SIZE } from "../protocol/slicing";
import { getFile, putFile, type StorageClient } from "../client/storage/actions";
import { ValidatorError } from "./errors";

/** Index path of a report document in its publisher's namespace (the CID in the name: one file per document). */
export function reportPath(chainId: number, period: bigint, cid: string): string {
  return `/reports/${chainId}/${period}-${cid}.json`;
}

/** The slice size that stores `length` bytes as one raw leaf; throws VALIDATOR_REPORT_TOO_LARGE above one slice. */
export function publicationSliceSize(length: number, period?: bigint): number {
  if (length > MAX_SLICE_SIZE)
    throw new ValidatorError(
      "VALIDATOR_REPORT_TOO_LARGE",
      `report document of ${length} bytes exceeds one slice (MAX_SLICE_SIZE ${MAX_SLICE_SIZE}): its dataCid cannot resolve`,
      {
        value: length,
        details: { maxSliceSize: MAX_SLICE_SIZE, ...(period === undefined ? {} : { period: period.toString() }) },
      },
    );
  return Math.max(length, DEFAULT_SLICE_SIZE);
}

/**
 * Why the bytes fetched for a report's `dataCid` are not the document a replica recomputed (`expected`: the
 * canonical JSON) — or undefined when they are. `fetched`: the bytes, or the error the fetch failed with.
 */
export function publicationProblem(
  expected: string,
  fetched: { bytes: Uint8Array } | { error: unknown },
): { code: "VALIDATOR_REPORT_TOO_LARGE" | "VALIDATOR_REPORT_UNPUBLISHED"; reason: string } | undefined {
  const want = Buffer.from(expected, "utf8");
  if (want.length > MAX_SLICE_SIZE)
    return {
      code: "VALIDATOR_REPORT_TOO_LARGE",
      reason: `document of ${want.length} bytes exceeds one slice (MAX_SLICE_SIZE ${MAX_SLICE_SIZE})`,
    };
  if ("error" in fetched) {
    const e = fetched.error as { code?: unknown; message?: unknown };
    const why = typeof e?.code === "string" ? `${e.code}: ${String(e.message)}` : String(fetched.error);
    return { code: "VALIDATOR_REPORT_UNPUBLISHED", reason: `dataCid does not resolve (${why})` };
  }
  if (!want.equals(Buffer.from(fetched.bytes)))
    return {
      code: "VALIDATOR_REPORT_UNPUBLISHED",
      reason: `dataCid resolves to ${fetched.bytes.length} bytes that are not the recomputed document (${want.length} bytes)`,
    };
  return undefined;
}

/**
 * Stores a report document (owner: the client's, path {@link reportPath}) and checks that its root CID is the
 * report's `dataCid`. Throws VALIDATOR_REPORT_TOO_LARGE, VALIDATOR_REPORT_UNPUBLISHED (another root CID), or the
 * storage network's own error.
 */
export async function publishReport(
  storage: StorageClient,
  chainId: number,
  period: bigint,
  built: Pick<BuiltReport, "json" | "cid">,
): Promise<{ path: string; rootCid: string; bytes: number }> {
  const bytes = Buffer.from(built.json, "utf8");
  const sliceSize = publicationSliceSize(bytes.length, period);
  const path = reportPath(chainId, period, built.cid);
  const put = await putFile(storage, { source: bytes, path, sliceSize });
  if (put.rootCid !== built.cid)
    throw new ValidatorError(
      "VALIDATOR_REPORT_UNPUBLISHED",
      `stored report document has root CID ${put.rootCid}, not its dataCid ${built.cid}`,
      { value: put.rootCid, details: { dataCid: built.cid, path } },
    );
  return { path, rootCid: put.rootCid, bytes: bytes.length };
}

/** Fetches the file `dataCid` names (anonymously: no receipts), at most one slice of it. */
export async function fetchReport(storage: StorageClient, dataCid: Hex): Promise<Uint8Array> {
  const file = await getFile(storage, { cid: cidFromDigest(dataCid), timeoutMs: 5_000 });
  if (file.length > BigInt(MAX_SLICE_SIZE))
    throw new ValidatorError("VALIDATOR_REPORT_UNPUBLISHED", `the file ${dataCid} is larger than a report document`, {
      value: file.length,
    });
  const parts: Buffer[] = [];
  for await (const c of file) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}
