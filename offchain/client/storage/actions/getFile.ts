/**
 * `getFile`: a verified read of a stored file — by its root CID or by its path in an owner's namespace — or of a
 * byte range of it (`offset`, `length`). Only the slices the range needs are fetched; every slice is checked
 * against its CID, a bad or missing copy is reported and the next replica tried. The bytes arrive in order as
 * an async iterable (and the same data as a web `ReadableStream`): never the whole file in memory.
 *
 * With an owner, every slice read is a transfer task whose receipt the owner signs (its side), sent to the meta
 * layer; without one the reads are anonymous.
 */
import type { Address } from "viem";
import { download, type DownloadErrorType, type DownloadReturnType } from "../download";
import { indexPath, namespaceOf, type StorageClient } from "./client";

export type GetFileParameters = ({ cid: string } | { path: string; owner?: Address }) & {
  /** First byte (default 0). */
  offset?: bigint;
  /** Bytes to read (default: to the end). */
  length?: bigint;
  /** Slices fetched at once (default 4). */
  concurrency?: number;
  /** Timeout of one slice from one replica, ms (default 15 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
};

/** The file as the index knows it, the range delivered, and its bytes (consume once). */
export type GetFileReturnType = DownloadReturnType;

/** Codes `getFile` throws: the file is unknown (`META_NOT_FOUND`), the range is outside it, or no copy verifies. */
export type GetFileErrorType = DownloadErrorType | "META_NOT_FOUND" | "META_BAD_PATH" | "SDK_INVALID_INPUT";

export async function getFile(client: StorageClient, parameters: GetFileParameters): Promise<GetFileReturnType> {
  let cid: string;
  if ("cid" in parameters) cid = parameters.cid;
  else {
    const owner = namespaceOf(client, parameters.owner, "getFile");
    cid = (await client.meta.locate({ owner, path: indexPath(parameters.path) })).rootCid;
  }
  const signer = client.owner;
  return download(client.meta, cid, {
    client: signer,
    network: signer ? await client.network() : undefined,
    receipts: signer ? client.meta : undefined,
    offset: parameters.offset,
    length: parameters.length,
    concurrency: parameters.concurrency,
    timeoutMs: parameters.timeoutMs,
    latency: client.latency,
    signal: parameters.signal,
  });
}
