/**
 * How a file becomes slices and a UnixFS DAG — the one layout rule that the storage client, the worker's IPFS
 * `add` and the gateway all use, so that a file's root CID is exactly the one Kubo prints for
 * `ipfs add --cid-version=1 --raw-leaves --chunker=size-<sliceSize>` (PROTOCOL §8, §12).
 *
 * The rule is the IPFS project's own importer (ipfs-unixfs-importer) with these options: fixed-size chunks of
 * `sliceSize` bytes (the last one shorter; an empty file is one empty chunk), every chunk a raw leaf (CIDv1,
 * raw codec, sha2-256), parents balanced with at most {@link MAX_LINKS} links per dag-pb node (Kubo's default
 * `Import.UnixFSFileMaxLinks`), CIDv1 dag-pb parents, links before data, and a file of one chunk is that raw
 * leaf itself. test/storage/vectors.test.ts pins it against CIDs Kubo computed.
 *
 * Also here: slice arithmetic (counts, the slices a byte range needs, the number of DAG blocks) and the CID
 * checks every storage route applies. Pure: no I/O.
 */
import { createHash } from "node:crypto";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import type { ImporterOptions } from "ipfs-unixfs-importer";
import type { Hex } from "viem";
import { HmsError } from "../core/errors";

/** Default slice size: 1 MiB (PROTOCOL §12). */
export const DEFAULT_SLICE_SIZE = 1 << 20;
/** Largest slice: Kubo's chunker limit (2 MiB − 256 bytes of framing budget, boxo 2026Q1). */
export const MAX_SLICE_SIZE = 2 * 1024 * 1024 - 256;
/** Kubo's largest block (BlockSizeLimit): what a worker accepts by default. */
export const MAX_BLOCK_SIZE = 2 * 1024 * 1024;
/** Links per dag-pb node before the balanced layout adds a level (Kubo's `Import.UnixFSFileMaxLinks`). */
export const MAX_LINKS = 174;

/** Multicodec codes of what the data plane stores. */
export const RAW_CODEC = 0x55;
export const DAG_PB_CODEC = 0x70;
export const SHA2_256 = 0x12;

/** The DAG layout of one upload: the slice size and the fan-out (the rest is fixed, see above). */
export interface SliceLayout {
  sliceSize: number;
  maxLinks: number;
}

/** Options of Kubo's `ipfs add` that the IPFS API honours (`cid-version`, `raw-leaves`, `chunker=size-N`). */
export interface KuboAddOptions {
  cidVersion: 0 | 1;
  rawLeaves: boolean;
  chunkSize: number;
  maxLinks: number;
}

function checkSliceSize(sliceSize: number): void {
  if (!Number.isSafeInteger(sliceSize) || sliceSize < 1 || sliceSize > MAX_SLICE_SIZE)
    throw new HmsError("STORAGE_BAD_REQUEST", `slice size must be 1..${MAX_SLICE_SIZE} bytes`, { value: sliceSize });
}

function checkMaxLinks(maxLinks: number): void {
  if (!Number.isSafeInteger(maxLinks) || maxLinks < 2 || maxLinks > 8192)
    throw new HmsError("STORAGE_BAD_REQUEST", "links per node must be 2..8192", { value: maxLinks });
}

/** The data plane's layout for `sliceSize` (default 1 MiB, {@link MAX_LINKS} links). */
export function sliceLayout(sliceSize: number = DEFAULT_SLICE_SIZE, maxLinks: number = MAX_LINKS): SliceLayout {
  checkSliceSize(sliceSize);
  checkMaxLinks(maxLinks);
  return { sliceSize, maxLinks };
}

/**
 * ipfs-unixfs-importer options of Kubo's `ipfs add` with these flags. Kubo's defaults without a profile are
 * the `unixfs-v0-2015` profile's (links first, 174 links, balanced), with `--cid-version` and `--raw-leaves`
 * on top (raw leaves are always CIDv1, also under a CIDv0 root, as in Kubo); `chunker` and `layout` are set
 * explicitly so that the profile's own chunk size never applies.
 */
export function kuboImporterOptions(add: KuboAddOptions): ImporterOptions {
  if (add.cidVersion !== 0 && add.cidVersion !== 1)
    throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "cid-version must be 0 or 1", { value: add.cidVersion });
  checkSliceSize(add.chunkSize);
  checkMaxLinks(add.maxLinks);
  return {
    profile: "unixfs-v0-2015",
    cidVersion: add.cidVersion,
    rawLeaves: add.rawLeaves,
    leafType: "file",
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    chunker: fixedSize({ chunkSize: add.chunkSize }),
    layout: balanced({ maxChildrenPerNode: add.maxLinks }),
  };
}

/** Importer options of the data plane's layout: CIDv1, raw leaves, `layout.sliceSize` chunks. */
export function importerOptions(layout: SliceLayout): ImporterOptions {
  return kuboImporterOptions({
    cidVersion: 1,
    rawLeaves: true,
    chunkSize: layout.sliceSize,
    maxLinks: layout.maxLinks,
  });
}

/** Number of slices (raw leaves) of a file of `size` bytes: an empty file has one (empty) slice. */
export function sliceCount(size: bigint, sliceSize: number): number {
  if (size < 0n) throw new HmsError("STORAGE_BAD_REQUEST", "file size is negative", { value: size });
  checkSliceSize(sliceSize);
  if (size === 0n) return 1;
  const n = (size + BigInt(sliceSize) - 1n) / BigInt(sliceSize);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new HmsError("STORAGE_BAD_REQUEST", "file too large", { value: size });
  return Number(n);
}

/** Offset and size of slice `index` of a file of `size` bytes. */
export function sliceSpan(size: bigint, sliceSize: number, index: number): { offset: bigint; size: number } {
  const count = sliceCount(size, sliceSize);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count)
    throw new HmsError("STORAGE_RANGE", `slice ${index} is outside 0..${count - 1}`, { value: index });
  const offset = BigInt(index) * BigInt(sliceSize);
  const rest = size - offset;
  return { offset, size: Number(rest < BigInt(sliceSize) ? rest : BigInt(sliceSize)) };
}

/**
 * The slices a byte range needs: slices `first..last` (inclusive), skipping `skip` bytes of the first one and
 * taking `length` bytes in all. `length` undefined = to the end; a range past the end is `STORAGE_RANGE`. An
 * empty range (length 0, or an empty file) needs no slice: `last < first`.
 */
export function sliceRange(
  size: bigint,
  sliceSize: number,
  offset: bigint = 0n,
  length?: bigint,
): { first: number; last: number; skip: number; length: bigint } {
  checkSliceSize(sliceSize);
  if (offset < 0n || offset > size)
    throw new HmsError("STORAGE_RANGE", `offset ${offset} is outside 0..${size}`, { value: offset });
  const take = length ?? size - offset;
  if (take < 0n || offset + take > size)
    throw new HmsError("STORAGE_RANGE", `range ${offset}+${take} runs past the end (${size} bytes)`, {
      value: take,
    });
  const s = BigInt(sliceSize);
  if (take === 0n) return { first: 0, last: -1, skip: 0, length: 0n };
  return {
    first: Number(offset / s),
    last: Number((offset + take - 1n) / s),
    skip: Number(offset % s),
    length: take,
  };
}

/**
 * Number of dag-pb nodes of a balanced file DAG over `leaves` leaves with at most `maxLinks` links per node:
 * 0 for one leaf (the leaf is the root), else the sum of the level sizes up to the root.
 */
export function dagBlockCount(leaves: number, maxLinks: number = MAX_LINKS): number {
  checkMaxLinks(maxLinks);
  if (!Number.isSafeInteger(leaves) || leaves < 1)
    throw new HmsError("STORAGE_BAD_REQUEST", "a file has at least one leaf", { value: leaves });
  let count = 0;
  let level = leaves;
  while (level > 1) {
    level = Math.ceil(level / maxLinks);
    count += level;
  }
  return count;
}

/** sha2-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest();
}

/** CIDv1 of a block with `codec` whose sha2-256 digest is `digest`. */
export function cidOfDigest(digest: Uint8Array, codec: number = RAW_CODEC): CID {
  return CID.createV1(codec, Digest.create(SHA2_256, digest));
}

/** CIDv1 (raw, sha2-256) of a slice. */
export function sliceCid(bytes: Uint8Array): CID {
  return cidOfDigest(sha256(bytes));
}

/** A CID the data plane stores: sha2-256, raw or dag-pb (CIDv0 is dag-pb by definition). */
export interface StorableCid {
  cid: CID;
  /** The 32-byte sha2-256 digest, 0x hex (the `slice` of a StorageAck). */
  digest: Hex;
  codec: number;
}

/** Parses and checks a CID text (or CID); throws `STORAGE_BAD_CID` naming it. */
export function parseStorableCid(input: string | CID): StorableCid {
  let cid: CID;
  try {
    cid = typeof input === "string" ? CID.parse(input) : input;
  } catch (err) {
    throw new HmsError("STORAGE_BAD_CID", `not a CID: ${(err as Error).message}`, { value: input, cause: err });
  }
  if (cid.multihash.code !== SHA2_256 || cid.multihash.digest.length !== 32)
    throw new HmsError("STORAGE_BAD_CID", "only sha2-256 CIDs are stored", { value: cid.toString() });
  if (cid.code !== RAW_CODEC && cid.code !== DAG_PB_CODEC)
    throw new HmsError("STORAGE_BAD_CID", "only raw and dag-pb blocks are stored", { value: cid.toString() });
  return { cid, digest: `0x${Buffer.from(cid.multihash.digest).toString("hex")}`, codec: cid.code };
}

/** Parses a CID that must be a slice (CIDv1, raw, sha2-256). */
export function parseSliceCid(input: string | CID): StorableCid {
  const parsed = parseStorableCid(input);
  if (parsed.codec !== RAW_CODEC || parsed.cid.version !== 1)
    throw new HmsError("STORAGE_BAD_CID", "a slice CID is CIDv1 with the raw codec", { value: parsed.cid.toString() });
  return parsed;
}

/** True if `bytes` hash to the digest of `cid`. */
export function matchesCid(cid: StorableCid, bytes: Uint8Array): boolean {
  return Buffer.from(sha256(bytes)).equals(Buffer.from(cid.cid.multihash.digest));
}
