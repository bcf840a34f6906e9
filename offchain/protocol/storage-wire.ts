/**
 * Wire forms of the storage workers' HTTP API (docs/STORAGE.md): header names, the zod schemas of every JSON
 * body, and their conversions — one schema per shape, imported by the worker that parses it and the client
 * that sends it. Integers travel as decimal strings, hex in lower case.
 *
 * Pure: no I/O.
 */
import { z } from "zod";
import { keccak256, type Hex } from "viem";
import { HmsError } from "../core/errors";
import type { StorageAckMessage, UploadGrantMessage } from "../core/signing";
import type { FileCommit, NodeEndpoint, SignedStorageAck } from "./network";
import { address, hex32, signature, wireReceiptSchema, type SignedReceipt, type WireReceipt } from "./receipts";

/** Routes of a worker. */
export const SLICES_PATH = "/v1/slices";
export const REPLICATE_PATH = "/v1/replicate";

/** Request headers of slice writes and reads. */
export const STORAGE_HEADERS = {
  /** The owner's signed {@link SignedUploadGrant} (JSON), forwarded down the chain unchanged. */
  grant: "x-hms-grant",
  /** The rest of the pipeline after this node: JSON array of {@link NodeEndpoint}s. */
  chain: "x-hms-chain",
  /** Term of the meta master that placed the upload (fencing). */
  term: "x-hms-term",
  /** Traffic period the transfer's receipts are signed for (decimal). */
  period: "x-hms-period",
  /** Download receipts: the reading client's address. */
  client: "x-hms-client",
  /** Download receipts: the client's 32-byte task nonce. */
  task: "x-hms-task",
  /** Optional lease per node for the lease gate: JSON object nodeId → lease id (decimal). */
  leases: "x-hms-leases",
} as const;

/** Most nodes a pipeline chain may have after the first (copies − 1). */
export const MAX_CHAIN = 15;

/** A uint64 as a decimal string or a JSON number (a repair order's term may be either). */
const uint64 = z
  .union([z.string().regex(/^(0|[1-9]\d{0,19})$/, "expected a decimal uint64"), z.number().int().nonnegative()])
  .transform((s) => BigInt(s))
  .refine((v) => v < 1n << 64n, "does not fit uint64");
const httpUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ""));

export const nodeEndpointSchema = z.strictObject({
  nodeId: hex32,
  url: httpUrl,
  region: z.string().max(64).default(""),
});

/** An upload grant with its owner's signature. */
export interface SignedUploadGrant extends UploadGrantMessage {
  signature: Hex;
}

export const uploadGrantSchema = z.strictObject({
  owner: address,
  uploadId: hex32,
  maxBytes: uint64,
  deadline: uint64,
  signature,
});

export const wireAckSchema = z.strictObject({
  nodeId: hex32,
  slice: hex32,
  size: uint64,
  owner: address,
  uploadId: hex32,
  signature,
});
export type WireAck = z.input<typeof wireAckSchema>;

/** A hop that failed, as reported by the hop before it. */
export const hopFailureSchema = z.strictObject({
  nodeId: hex32,
  url: z.string(),
  code: z.string(),
  message: z.string(),
  status: z.number().int(),
});
export type HopFailure = z.output<typeof hopFailureSchema>;

/** Reply of `PUT /v1/slices/<cid>`: this node's ack and receipt, then each later hop's, in chain order. */
export const uploadReplySchema = z.strictObject({
  ok: z.literal(true),
  cid: z.string(),
  acks: z.array(wireAckSchema),
  receipts: z.array(wireReceiptSchema),
  /** The first downstream hop that failed (its ack and the later ones are then missing). */
  failure: hopFailureSchema.optional(),
});
export type UploadReply = z.output<typeof uploadReplySchema>;
export type WireUploadReply = z.input<typeof uploadReplySchema>;

/** Body of `POST /v1/replicate`: fetch `cid` from one of `from` (worker base URLs) and keep it. */
export const replicateRequestSchema = z.strictObject({
  cid: z.string().min(1).max(200),
  from: z.array(httpUrl).min(1).max(16),
  term: uint64,
  /** When given, the reply carries this node's StorageAck for them (the meta layer records it). */
  owner: address.optional(),
  uploadId: hex32.optional(),
});
export type ReplicateRequest = z.output<typeof replicateRequestSchema>;

export const replicateReplySchema = z.strictObject({
  ok: z.literal(true),
  cid: z.string(),
  size: z.number().int().nonnegative(),
  from: z.string(),
  ack: wireAckSchema.optional(),
});

/** Parses `value` with `schema`, or throws `STORAGE_BAD_REQUEST` naming `what` and the first bad field. */
export function parseWire<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue.path.map(String).join(".");
  throw new HmsError("STORAGE_BAD_REQUEST", `bad ${what}${at ? ` at ${at}` : ""}: ${issue.message}`, {
    value: at || what,
  });
}

function parseJsonHeader(text: string | undefined, what: string): unknown {
  if (text === undefined || text === "")
    throw new HmsError("STORAGE_BAD_REQUEST", `missing ${what} header`, { value: what });
  try {
    return JSON.parse(text);
  } catch {
    throw new HmsError("STORAGE_BAD_REQUEST", `${what} header is not JSON`, { value: text.slice(0, 200) });
  }
}

export function grantToHeader(grant: SignedUploadGrant): string {
  return JSON.stringify({
    owner: grant.owner.toLowerCase(),
    uploadId: grant.uploadId.toLowerCase(),
    maxBytes: grant.maxBytes.toString(),
    deadline: grant.deadline.toString(),
    signature: grant.signature.toLowerCase(),
  });
}

/** Parses an `x-hms-grant` header (its signature is checked by the worker, not here). */
export function grantFromHeader(text: string | undefined): SignedUploadGrant {
  if (text === undefined || text === "")
    throw new HmsError("STORAGE_UNAUTHORIZED", `a write needs an upload grant (${STORAGE_HEADERS.grant})`, {
      value: STORAGE_HEADERS.grant,
    });
  const raw = parseJsonHeader(text, STORAGE_HEADERS.grant);
  const parsed = uploadGrantSchema.safeParse(raw);
  if (!parsed.success)
    throw new HmsError("STORAGE_UNAUTHORIZED", `malformed upload grant: ${parsed.error.issues[0].message}`, {
      value: parsed.error.issues[0].path.join(".") || STORAGE_HEADERS.grant,
    });
  return parsed.data;
}

export function chainToHeader(chain: readonly NodeEndpoint[]): string {
  return JSON.stringify(chain.map((n) => ({ nodeId: n.nodeId.toLowerCase(), url: n.url, region: n.region })));
}

/** Parses an `x-hms-chain` header (absent = this node is the last). */
export function chainFromHeader(text: string | undefined): NodeEndpoint[] {
  if (text === undefined || text === "") return [];
  const chain = parseWire(
    z.array(nodeEndpointSchema).max(MAX_CHAIN),
    parseJsonHeader(text, STORAGE_HEADERS.chain),
    STORAGE_HEADERS.chain,
  );
  return chain.map((n) => ({ nodeId: n.nodeId, url: n.url, region: n.region }));
}

export function leasesToHeader(leases: ReadonlyMap<Hex, bigint>): string {
  return JSON.stringify(Object.fromEntries([...leases].map(([k, v]) => [k.toLowerCase(), v.toString()])));
}

export function leasesFromHeader(text: string | undefined): Map<Hex, bigint> {
  if (text === undefined || text === "") return new Map();
  const parsed = parseWire(z.record(hex32, uint64), parseJsonHeader(text, STORAGE_HEADERS.leases), "leases");
  return new Map(Object.entries(parsed).map(([k, v]) => [k.toLowerCase() as Hex, v]));
}

/** A decimal header value (term, period); `fallback` when absent. */
export function uintFromHeader(text: string | undefined, what: string, fallback?: bigint): bigint {
  if (text === undefined || text === "") {
    if (fallback !== undefined) return fallback;
    throw new HmsError("STORAGE_BAD_REQUEST", `missing ${what} header`, { value: what });
  }
  if (!/^(0|[1-9]\d{0,19})$/.test(text) || BigInt(text) >= 1n << 64n)
    throw new HmsError("STORAGE_BAD_REQUEST", `${what} must be a decimal uint64`, { value: text });
  return BigInt(text);
}

export function ackToWire(ack: SignedStorageAck): WireAck {
  return {
    nodeId: ack.nodeId.toLowerCase(),
    slice: ack.slice.toLowerCase(),
    size: ack.size.toString(),
    owner: ack.owner.toLowerCase(),
    uploadId: ack.uploadId.toLowerCase(),
    signature: ack.signature.toLowerCase(),
  };
}

export function ackFromWire(raw: unknown): SignedStorageAck {
  const a = parseWire(wireAckSchema, raw, "storage ack");
  return {
    nodeId: a.nodeId,
    slice: a.slice,
    size: a.size,
    owner: a.owner,
    uploadId: a.uploadId,
    signature: a.signature,
  };
}

/** The signed message of an ack. */
export function ackMessage(ack: SignedStorageAck): StorageAckMessage {
  return { nodeId: ack.nodeId, slice: ack.slice, size: ack.size, owner: ack.owner, uploadId: ack.uploadId };
}

/** A receipt parsed by {@link wireReceiptSchema}, as a signed receipt. */
export function receiptOfWire(w: z.output<typeof wireReceiptSchema>): SignedReceipt {
  return {
    receipt: { taskId: w.taskId, nodeId: w.nodeId, client: w.client, bytesServed: w.bytesServed, period: w.period },
    signature: w.signature,
  };
}

export type { WireReceipt };

/**
 * What a worker's GC asks the meta layer: which of these uploads were committed to the index (FileCommit
 * carries the uploadId). The meta client implements it; until then GC collects only temp files.
 */
export interface UploadCommits {
  committed(uploadIds: readonly Hex[]): Promise<Set<Hex>>;
}

/**
 * The `contentHash` an owner signs in the `IndexWrite` of a put: keccak256 of the canonical JSON of the file
 * record without the acks — `{"owner","path","rootCid","size","sliceSize","uploadId","slices":[{"cid","size"}],
 * "dagBlocks":[{"cid","size"}]}`, keys in that order, addresses and hex lower case, size as a decimal string.
 */
export function fileCommitHash(file: FileCommit): Hex {
  const canonical = JSON.stringify({
    owner: file.owner.toLowerCase(),
    path: file.path,
    rootCid: file.rootCid,
    size: file.size.toString(),
    sliceSize: file.sliceSize,
    uploadId: file.uploadId.toLowerCase(),
    slices: file.slices.map((s) => ({ cid: s.cid, size: s.size })),
    dagBlocks: file.dagBlocks.map((s) => ({ cid: s.cid, size: s.size })),
  });
  return keccak256(new TextEncoder().encode(canonical));
}
