/** What the index reads return (offchain/meta/index/types.ts), decoded from the wire: sizes and positions as bigints. */
import type { Address, Hex } from "viem";
import { HmsError } from "../../../core/errors";

/** A row of `listFiles`. */
export type StorageEntry =
  | { name: string; kind: "file"; path: string; size: bigint; rootCid: string }
  | { name: string; kind: "dir"; path: string };

/** A stored file as the index records it. */
export interface StoredFile {
  owner: Address;
  path: string;
  rootCid: string;
  size: bigint;
  sliceSize: number;
  uploadId: Hex;
  slices: { cid: string; size: number }[];
  dagBlocks: { cid: string; size: number }[];
  /** Log position of the write that recorded it, and the master's clock then (unix seconds). */
  term: bigint;
  index: bigint;
  time: bigint;
}

/** A directory as the index records it. */
export interface StoredDirectory {
  owner: Address;
  path: string;
  term: bigint;
  index: bigint;
  time: bigint;
}

/** What `statFile` returns. */
export type StorageStat = { kind: "file"; file: StoredFile } | { kind: "dir"; dir: StoredDirectory; children: number };

function big(v: unknown, what: string): bigint {
  if (typeof v === "bigint") return v;
  if ((typeof v === "string" && /^\d+$/.test(v)) || (typeof v === "number" && Number.isSafeInteger(v)))
    return BigInt(v);
  throw new HmsError("TRANSPORT_BAD_REPLY", `the meta node's ${what} is not an integer`, { value: v });
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== "object")
    throw new HmsError("TRANSPORT_BAD_REPLY", `the meta node's ${what} is not an object`, { value: v });
  return v as Record<string, unknown>;
}

function blocks(v: unknown): { cid: string; size: number }[] {
  return (Array.isArray(v) ? v : []).map((b) => {
    const o = obj(b, "slice");
    return { cid: String(o.cid), size: Number(o.size) };
  });
}

export function entryFromWire(raw: unknown): StorageEntry {
  const e = obj(raw, "ls entry");
  if (e.kind === "file")
    return {
      name: String(e.name),
      kind: "file",
      path: String(e.path),
      size: big(e.size, "size"),
      rootCid: String(e.rootCid),
    };
  return { name: String(e.name), kind: "dir", path: String(e.path) };
}

export function fileFromWire(raw: unknown): StoredFile {
  const f = obj(raw, "file");
  return {
    owner: String(f.owner) as Address,
    path: String(f.path),
    rootCid: String(f.rootCid),
    size: big(f.size, "size"),
    sliceSize: Number(f.sliceSize),
    uploadId: String(f.uploadId) as Hex,
    slices: blocks(f.slices),
    dagBlocks: blocks(f.dagBlocks),
    term: big(f.term, "term"),
    index: big(f.index, "index"),
    time: big(f.time ?? 0, "time"),
  };
}

export function statFromWire(raw: unknown): StorageStat {
  const s = obj(raw, "stat");
  if (s.kind === "file") return { kind: "file", file: fileFromWire(s.file) };
  const d = obj(s.dir, "dir");
  return {
    kind: "dir",
    dir: {
      owner: String(d.owner) as Address,
      path: String(d.path),
      term: big(d.term, "term"),
      index: big(d.index, "index"),
      time: big(d.time ?? 0, "time"),
    },
    children: Number(s.children ?? 0),
  };
}
