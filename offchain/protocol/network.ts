/**
 * The data plane's shared shapes: what storage clients, storage workers and the meta layer say to each other
 * about nodes, placements and file locations. The storage client is written against {@link StorageNetwork};
 * the meta layer implements it over HTTP (offchain/client/meta.ts), tests may implement it in process.
 *
 * Types only here; the zod wire schemas of these shapes live beside them in protocol/ (one schema per shape,
 * imported by both the sender and the receiver). Pure: no I/O.
 */
import type { Address, Hex } from "viem";

/** A resource node as clients and peers reach it. */
export interface NodeEndpoint {
  /** NodeRegistry node id. */
  nodeId: Hex;
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:7301`. */
  url: string;
  /** Region label (placement spreads copies across regions). */
  region: string;
}

/** Where the copies of each slice of an upload go: `slices[i]` is the ordered pipeline chain of slice i. */
export interface Placement {
  /** 32-byte id of this upload (signed into every {@link StorageAckMessage}). */
  uploadId: Hex;
  /** Term of the meta master that placed it (fencing: workers refuse older terms). */
  term: bigint;
  /** One chain per slice: the client streams to `[0]`, which forwards to `[1]`, which forwards to `[2]`. */
  slices: NodeEndpoint[][];
}

/** A node's signed acknowledgement that it stores a slice (EIP-712 `StorageAck`, domain `network`). */
export interface SignedStorageAck {
  nodeId: Hex;
  /** sha2-256 digest of the slice bytes. */
  slice: Hex;
  size: bigint;
  owner: Address;
  uploadId: Hex;
  signature: Hex;
}

/** One slice of a file: its CID, position and size, and where its copies are. */
export interface SliceLocation {
  /** CIDv1 (raw codec, sha2-256) of the slice bytes, base32 text form. */
  cid: string;
  /** Byte offset of the slice in the file. */
  offset: bigint;
  size: number;
  replicas: NodeEndpoint[];
}

/** A stored file as the index knows it. */
export interface FileLocation {
  owner: Address;
  path: string;
  /** UnixFS (dag-pb) root CID: exactly Kubo's for the same bytes and chunker. */
  rootCid: string;
  size: bigint;
  sliceSize: number;
  slices: SliceLocation[];
  /** Log position of the write that recorded it (read-your-writes: ask a follower for at least this). */
  term: bigint;
  index: bigint;
}

/** What a client commits to the index once every slice has its copies. */
export interface FileCommit {
  owner: Address;
  path: string;
  rootCid: string;
  size: bigint;
  sliceSize: number;
  uploadId: Hex;
  /** The DAG's non-leaf blocks (the root and any intermediate dag-pb nodes), stored like slices. */
  dagBlocks: { cid: string; size: number; acks: SignedStorageAck[] }[];
  slices: { cid: string; size: number; acks: SignedStorageAck[] }[];
}

/** The meta layer as a storage client sees it. */
export interface StorageNetwork {
  /** Placement for a new upload of `slices` slices (plus `dagBlocks` small DAG blocks) with `copies` copies each. */
  place(request: {
    owner: Address;
    size: bigint;
    sliceSize: number;
    slices: number;
    copies: number;
    /** The file's target path: a network that knows its index refuses a placement for a put it would refuse. */
    path?: string;
  }): Promise<Placement>;
  /**
   * The upload's placement confirmed by the current master: its term, which workers admit after a failover (they
   * refuse an older master's orders with STORAGE_STALE_TERM). Optional: a network without masters has no terms.
   */
  renew?(request: { uploadId: Hex }): Promise<bigint>;
  /** A node to replace a failed member of slice `slice`'s chain, not in `exclude`. */
  replace(request: { uploadId: Hex; slice: number; exclude: Hex[] }): Promise<NodeEndpoint>;
  /** Records the file (signed by its owner, EIP-712 `IndexWrite` op "put"); resolves once a majority persisted it. */
  commit(
    file: FileCommit,
    write: { nonce: bigint; deadline: bigint; signature: Hex },
  ): Promise<{ term: bigint; index: bigint }>;
  /** Slice locations of a file by root CID or by `owner` + `path`. Open to anyone. */
  locate(query: { cid: string } | { owner: Address; path: string }): Promise<FileLocation>;
  /** Reports a copy that failed verification or timed out (feeds QoS and repair). */
  reportBad(report: { cid: string; nodeId: Hex; reason: "mismatch" | "timeout" | "missing" | "error" }): Promise<void>;
}
