/**
 * The records of the meta index and the commands that change it (the payloads of replicated log entries).
 * Types only. Addresses and node ids are lower case; paths are in normal form (index/paths.ts) in records and
 * as the owner wrote them in commands (a trailing slash means "a directory" to rm / mv).
 */
import type { Address, Hex } from "viem";
import type { NodeEndpoint } from "../../protocol/network";

/** A slice or DAG block of a file: its CID and size (its copies are in the slice table). */
export interface SliceRef {
  cid: string;
  size: number;
}

/** A storage lease that pays for a file's copies on one node (NodeRegistry node id → ResourceMarket lease). */
export interface LeaseRef {
  nodeId: Hex;
  leaseId: bigint;
}

/** A file in an owner's tree. */
export interface FileRecord {
  owner: Address;
  /** Normal-form path. */
  path: string;
  rootCid: string;
  size: bigint;
  sliceSize: number;
  uploadId: Hex;
  slices: SliceRef[];
  dagBlocks: SliceRef[];
  leases: LeaseRef[];
  /** Log position of the write that recorded it (read-your-writes). */
  term: bigint;
  index: bigint;
  /** Master's clock when the write was logged (unix seconds). */
  time: bigint;
}

/** A directory in an owner's tree (explicit by mkdir, or implicit as the parent of a put). */
export interface DirRecord {
  owner: Address;
  path: string;
  term: bigint;
  index: bigint;
  time: bigint;
}

/** One stored entry: a file or a directory. */
export type EntryRecord = { kind: "file"; file: FileRecord } | { kind: "dir"; dir: DirRecord };

/** A slice (or DAG block) and the nodes holding its copies; `refs` counts the files that use it. */
export interface SliceRecord {
  cid: string;
  size: number;
  replicas: NodeEndpoint[];
  refs: number;
}

/** A row of `ls`. */
export type DirEntry =
  | { name: string; kind: "file"; path: string; size: bigint; rootCid: string }
  | { name: string; kind: "dir"; path: string };

/** What `stat` returns. */
export type StatResult = { kind: "file"; file: FileRecord } | { kind: "dir"; dir: DirRecord; children: number };

/** A slice of a put command, with the nodes that acknowledged storing it. */
export interface PutSlice {
  cid: string;
  size: number;
  replicas: NodeEndpoint[];
}

/**
 * A change to the index, as the master logs it. Owner commands were authorised (signature, deadline, nonce) by
 * the master before it appended them; apply re-checks only what is deterministic (nonce order, tree shape), so
 * every replica reaches the same outcome. `replicas` comes from the master itself (health / repair).
 */
export type IndexCommand =
  | {
      kind: "put";
      owner: Address;
      path: string;
      rootCid: string;
      size: bigint;
      sliceSize: number;
      uploadId: Hex;
      slices: PutSlice[];
      dagBlocks: PutSlice[];
      leases: LeaseRef[];
      nonce: bigint;
      time: bigint;
      digest?: Hex;
    }
  | { kind: "mkdir"; owner: Address; path: string; nonce: bigint; time: bigint; digest?: Hex }
  | { kind: "rm"; owner: Address; path: string; recursive: boolean; nonce: bigint; time: bigint; digest?: Hex }
  | { kind: "mv"; owner: Address; path: string; target: string; nonce: bigint; time: bigint; digest?: Hex }
  | { kind: "replicas"; cid: string; add: NodeEndpoint[]; remove: Hex[] };

export type IndexCommandKind = IndexCommand["kind"];

/**
 * The owner's last admitted write (`digest`: the EIP-712 digest of its signed IndexWrite) and what became of it,
 * so that the same signed write sent again — a client retrying after a timeout or a failover, not knowing the
 * first attempt committed — gets the first answer instead of META_REPLAYED.
 */
export interface LastWrite {
  nonce: bigint;
  digest: Hex;
  term: bigint;
  index: bigint;
  status: "applied" | "rejected";
  code?: string;
  message?: string;
}

/** A log position. */
export interface LogPosition {
  term: bigint;
  index: bigint;
}

/** Outcome of applying one entry: every replica reaches the same one. */
export type ApplyOutcome =
  { status: "applied" } | { status: "duplicate" } | { status: "rejected"; code: string; message: string };
