/**
 * `putFile`: stores a file in the network (every slice and DAG block in `copies` copies, written down pipelined
 * chains of storage nodes, each copy's signed ack verified) and records it at `path` in the owner's namespace of
 * the index (an owner-signed `IndexWrite` "put"). Nothing is recorded unless it resolves.
 *
 * The source is bytes, a file path (`"./a.bin"` or `{ file }`), a Node `Readable`, a web `ReadableStream` or
 * any (async) iterable of byte chunks. A stream of unknown size (no `size`) is first spooled to a temporary file
 * (the upload must know the size up front: the placement is sized by it), then uploaded from there.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type { Hex } from "viem";
import { HmsError } from "../../../core/errors";
import { DEFAULT_SLICE_SIZE } from "../../../protocol/slicing";
import { upload, type UploadErrorType, type UploadSource } from "../upload";
import { indexPath, requireOwner, type IndexPosition, type StorageClient } from "./client";

/** Bytes to store. */
export type PutFileSource =
  | Uint8Array
  | string
  | { file: string }
  | Readable
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

export interface PutFileProgress {
  /** Bytes whose every copy is stored. */
  bytes: bigint;
  total: bigint;
}

export interface PutFileParameters {
  source: PutFileSource;
  /** Absolute path in the owner's namespace (`/photos/a.jpg`). */
  path: string;
  /** Size of a stream source (checked); without it a stream is spooled to a temporary file first. */
  size?: bigint;
  /** Slice size in bytes (default 1 MiB: the network's chunker). */
  sliceSize?: number;
  /** Copies of every slice (default 3). */
  copies?: number;
  /** Blocks in flight at once (default 4). */
  concurrency?: number;
  onProgress?: (progress: PutFileProgress) => void;
  signal?: AbortSignal;
  /** The clock the transfers' periods (and the grant's deadline) are taken from, ms (default `Date.now`). */
  now?: () => number;
}

export interface PutFileReturnType {
  /** The file's UnixFS root CID (Kubo's for `ipfs add --cid-version=1 --raw-leaves --chunker=size-<sliceSize>`). */
  rootCid: string;
  path: string;
  size: bigint;
  sliceSize: number;
  uploadId: Hex;
  slices: number;
  dagBlocks: number;
  /** Log position of the index write. */
  commit: IndexPosition;
  /** Storage nodes replaced during the upload. */
  replaced: number;
}

/** Codes `putFile` throws (besides the meta layer's `META_*` and the transport's `TRANSPORT_*`). */
export type PutFileErrorType = UploadErrorType | "META_BAD_PATH" | "META_NOT_OWNER" | "SDK_NO_ACCOUNT";

function isAsyncIterable(v: unknown): v is AsyncIterable<Uint8Array> {
  return v !== null && typeof v === "object" && Symbol.asyncIterator in v;
}

/** Spools a stream of unknown length into a temporary file; returns its path (the caller removes its folder). */
async function spool(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal?: AbortSignal) {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "hms-put-"));
  const file = path.join(dir, "spool");
  try {
    await pipeline(Readable.from(source as AsyncIterable<Uint8Array>), fs.createWriteStream(file), { signal });
  } catch (err) {
    await fs.promises.rm(dir, { recursive: true, force: true });
    if (signal?.aborted) throw new HmsError("STORAGE_ABORTED", "upload aborted", { value: String(signal.reason) });
    throw new HmsError("STORAGE_BAD_REQUEST", `cannot read the source: ${(err as Error).message}`, {
      value: "source",
      cause: err,
    });
  }
  return { dir, file };
}

export async function putFile(client: StorageClient, parameters: PutFileParameters): Promise<PutFileReturnType> {
  const owner = requireOwner(client, "putFile");
  const target = indexPath(parameters.path);
  if (target === "/") throw new HmsError("META_BAD_PATH", "a file cannot be stored at the root /", { value: "/" });
  const network = await client.network();
  let source: UploadSource;
  let spooled: string | undefined;
  const s = parameters.source;
  if (typeof s === "string") source = { file: s };
  else if (s instanceof Uint8Array || (typeof s === "object" && s !== null && "file" in s)) source = s as UploadSource;
  else if (parameters.size !== undefined)
    source = (isAsyncIterable(s) ? s : (s as Iterable<Uint8Array>)) as UploadSource;
  else {
    const { dir, file } = await spool(s as AsyncIterable<Uint8Array>, parameters.signal);
    spooled = dir;
    source = { file };
  }
  try {
    const result = await upload(client.meta, source, {
      owner,
      network,
      path: target,
      size: parameters.size,
      sliceSize: parameters.sliceSize,
      copies: parameters.copies,
      concurrency: parameters.concurrency,
      receipts: client.meta,
      signal: parameters.signal,
      now: parameters.now,
      onProgress: parameters.onProgress ? (p) => parameters.onProgress!({ bytes: p.bytes, total: p.total }) : undefined,
    });
    return {
      rootCid: result.rootCid,
      path: target,
      size: result.size,
      sliceSize: parameters.sliceSize ?? DEFAULT_SLICE_SIZE,
      uploadId: result.uploadId,
      slices: result.slices.length,
      dagBlocks: result.dagBlocks.length,
      commit: result.commit,
      replaced: result.replaced,
    };
  } finally {
    if (spooled !== undefined) await fs.promises.rm(spooled, { recursive: true, force: true });
  }
}
