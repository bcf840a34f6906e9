/**
 * Wire forms of the meta layer's public HTTP API (docs/META.md): its routes, the zod schemas of every JSON
 * body, and the conversions to and from the shapes of protocol/network.ts — imported by the meta daemon that
 * parses them and the meta client (offchain/client/meta.ts) that sends them. Integers travel as decimal
 * strings, hex in lower case.
 *
 * Every reply carries the answering node's position, so that a reader knows how stale a follower is:
 *   x-hms-meta-role   leader | follower | candidate
 *   x-hms-meta-term   its current term
 *   x-hms-meta-index  the last log index it has applied
 * and a read may ask `?minIndex=<n>` (read-your-writes): a node that has not applied `n` answers 409
 * META_STALE_READ rather than an older state.
 *
 * Errors reply `{ ok: false, error: { code, message, value, … } }`; META_NOT_LEADER carries `leader` (the
 * master's API URL, when known).
 *
 * Pure: no I/O.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import { HmsError } from "../core/errors";
import type { HeartbeatMessage, ReceiptAckMessage } from "../core/signing";
import type { FileCommit, FileLocation, NodeEndpoint, Placement } from "./network";
import { address, hex32, signature, wireReceiptSchema } from "./receipts";
import { ackFromWire, ackToWire, nodeEndpointSchema, wireAckSchema } from "./storage-wire";
import type { ReceiptSide } from "./transfer";

/** Routes of a meta node's public API. */
export const META_PATHS = {
  place: "/v1/place",
  replace: "/v1/replace",
  /** An upload's placement confirmed under the current master's term (after a failover). */
  renew: "/v1/renew",
  commit: "/v1/commit",
  write: "/v1/write",
  locate: "/v1/locate",
  ls: "/v1/ls",
  stat: "/v1/stat",
  bad: "/v1/bad",
  /** POST submits receipts; GET is the validators' feed (protocol/receipts.ts RECEIPTS_PATH). */
  receipts: "/v1/receipts",
  heartbeat: "/v1/heartbeat",
  committed: "/v1/uploads/committed",
  nodes: "/v1/nodes",
  measurements: "/v1/measurements",
  status: "/v1/status",
  proposal: "/v1/proposal",
} as const;

export const META_HEADERS = { role: "x-hms-meta-role", term: "x-hms-meta-term", index: "x-hms-meta-index" } as const;

const uint64 = z
  .union([z.string().regex(/^(0|[1-9]\d{0,19})$/, "expected a decimal uint64"), z.number().int().nonnegative()])
  .transform((s) => BigInt(s))
  .refine((v) => v < 1n << 64n, "does not fit uint64");
const count = z.number().int().nonnegative();

/** Parses `value` with `schema`, or throws `META_BAD_REQUEST` naming `what` and the first bad field. */
export function parseMetaWire<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue.path.map(String).join(".");
  throw new HmsError("META_BAD_REQUEST", `bad ${what}${at ? ` at ${at}` : ""}: ${issue.message}`, {
    value: at || what,
  });
}

// ── placement ──────────────────────────────────────────────────────────────────────────────────────────

export const placeRequestSchema = z.strictObject({
  owner: address,
  size: uint64,
  sliceSize: z.number().int().positive(),
  slices: z.number().int().positive().max(1_000_000),
  copies: z.number().int().min(1).max(16),
  /** The file's target path: the master refuses the placement if the index would refuse a put there. */
  path: z.string().min(1).max(4096).optional(),
});
export type PlaceRequest = z.output<typeof placeRequestSchema>;

export const placementSchema = z.strictObject({
  uploadId: hex32,
  term: uint64,
  slices: z.array(z.array(nodeEndpointSchema)),
});

export const replaceRequestSchema = z.strictObject({
  uploadId: hex32,
  slice: count,
  exclude: z.array(hex32).max(64),
});

export const renewRequestSchema = z.strictObject({ uploadId: hex32 });

export function placementToWire(p: Placement): z.input<typeof placementSchema> {
  return { uploadId: p.uploadId, term: p.term.toString(), slices: p.slices.map((c) => c.map(endpointToWire)) };
}

export function placementFromWire(raw: unknown): Placement {
  const p = parseMetaWire(placementSchema, raw, "placement");
  return { uploadId: p.uploadId, term: p.term, slices: p.slices.map((c) => c.map(endpointOf)) };
}

export function endpointToWire(n: NodeEndpoint): z.input<typeof nodeEndpointSchema> {
  return { nodeId: n.nodeId.toLowerCase(), url: n.url, region: n.region };
}

function endpointOf(n: z.output<typeof nodeEndpointSchema>): NodeEndpoint {
  return { nodeId: n.nodeId, url: n.url, region: n.region };
}

export function endpointFromWire(raw: unknown): NodeEndpoint {
  return endpointOf(parseMetaWire(nodeEndpointSchema, raw, "node endpoint"));
}

// ── index writes ───────────────────────────────────────────────────────────────────────────────────────

const storedBlockSchema = z.strictObject({
  cid: z.string().min(1).max(200),
  size: count,
  acks: z.array(wireAckSchema).max(16),
});

export const fileCommitSchema = z.strictObject({
  owner: address,
  path: z.string().min(1).max(4096),
  rootCid: z.string().min(1).max(200),
  size: uint64,
  sliceSize: z.number().int().positive(),
  uploadId: hex32,
  dagBlocks: z.array(storedBlockSchema),
  slices: z.array(storedBlockSchema),
});

export const writeAuthSchema = z.strictObject({ nonce: uint64, deadline: uint64, signature });

export const commitRequestSchema = z.strictObject({ file: fileCommitSchema, write: writeAuthSchema });

/** mkdir | rm | mv (a put is a commit). */
export const writeRequestSchema = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("mkdir"), owner: address, path: z.string().min(1).max(4096), write: writeAuthSchema }),
  z.strictObject({
    op: z.literal("rm"),
    owner: address,
    path: z.string().min(1).max(4096),
    recursive: z.boolean().default(false),
    write: writeAuthSchema,
  }),
  z.strictObject({
    op: z.literal("mv"),
    owner: address,
    path: z.string().min(1).max(4096),
    target: z.string().min(1).max(4096),
    write: writeAuthSchema,
  }),
]);
export type WriteRequest = z.output<typeof writeRequestSchema>;

export const positionSchema = z.strictObject({ term: uint64, index: uint64 });

export function fileCommitToWire(f: FileCommit): z.input<typeof fileCommitSchema> {
  const block = (b: FileCommit["slices"][number]) => ({ cid: b.cid, size: b.size, acks: b.acks.map(ackToWire) });
  return {
    owner: f.owner.toLowerCase(),
    path: f.path,
    rootCid: f.rootCid,
    size: f.size.toString(),
    sliceSize: f.sliceSize,
    uploadId: f.uploadId.toLowerCase(),
    dagBlocks: f.dagBlocks.map(block),
    slices: f.slices.map(block),
  };
}

export function fileCommitFromWire(raw: unknown): FileCommit {
  const f = parseMetaWire(fileCommitSchema, raw, "file commit");
  const block = (b: z.output<typeof storedBlockSchema>) => ({
    cid: b.cid,
    size: b.size,
    acks: b.acks.map((a) => ackFromWire({ ...a, size: a.size.toString() })),
  });
  return {
    owner: f.owner,
    path: f.path,
    rootCid: f.rootCid,
    size: f.size,
    sliceSize: f.sliceSize,
    uploadId: f.uploadId,
    dagBlocks: f.dagBlocks.map(block),
    slices: f.slices.map(block),
  };
}

// ── reads ──────────────────────────────────────────────────────────────────────────────────────────────

export const fileLocationSchema = z.strictObject({
  owner: address,
  path: z.string(),
  rootCid: z.string(),
  size: uint64,
  sliceSize: z.number().int().positive(),
  slices: z.array(
    z.strictObject({ cid: z.string(), offset: uint64, size: count, replicas: z.array(nodeEndpointSchema) }),
  ),
  term: uint64,
  index: uint64,
});

export function fileLocationToWire(f: FileLocation): z.input<typeof fileLocationSchema> {
  return {
    owner: f.owner.toLowerCase(),
    path: f.path,
    rootCid: f.rootCid,
    size: f.size.toString(),
    sliceSize: f.sliceSize,
    slices: f.slices.map((s) => ({
      cid: s.cid,
      offset: s.offset.toString(),
      size: s.size,
      replicas: s.replicas.map(endpointToWire),
    })),
    term: f.term.toString(),
    index: f.index.toString(),
  };
}

export function fileLocationFromWire(raw: unknown): FileLocation {
  const f = parseMetaWire(fileLocationSchema, raw, "file location");
  return {
    owner: f.owner,
    path: f.path,
    rootCid: f.rootCid,
    size: f.size,
    sliceSize: f.sliceSize,
    slices: f.slices.map((s) => ({ cid: s.cid, offset: s.offset, size: s.size, replicas: s.replicas.map(endpointOf) })),
    term: f.term,
    index: f.index,
  };
}

export const badReportSchema = z.strictObject({
  cid: z.string().min(1).max(200),
  nodeId: hex32,
  reason: z.enum(["mismatch", "timeout", "missing", "error"]),
});

export const committedRequestSchema = z.strictObject({ uploadIds: z.array(hex32).max(10_000) });

// ── receipts ───────────────────────────────────────────────────────────────────────────────────────────

export const receiptSubmitSchema = z.strictObject({
  side: z.enum(["client", "node"]),
  receipts: z.array(wireReceiptSchema).min(1).max(10_000),
});

/** The `side` field of a ReceiptAck. */
export function sideCode(side: ReceiptSide): number {
  return side === "client" ? 0 : 1;
}

/** A meta node's signed acknowledgement of one receipt (EIP-712 `ReceiptAck`, domain `network`). */
export interface SignedReceiptAck extends ReceiptAckMessage {
  signature: Hex;
}

export const receiptAckSchema = z.strictObject({
  taskId: hex32,
  side: z.number().int().min(0).max(1),
  meta: address,
  term: uint64,
  index: uint64,
  signature,
});

export function receiptAckToWire(a: SignedReceiptAck): z.input<typeof receiptAckSchema> {
  return {
    taskId: a.taskId.toLowerCase(),
    side: a.side,
    meta: a.meta.toLowerCase(),
    term: a.term.toString(),
    index: a.index.toString(),
    signature: a.signature.toLowerCase(),
  };
}

export function receiptAckFromWire(raw: unknown): SignedReceiptAck {
  const a = parseMetaWire(receiptAckSchema, raw, "receipt ack");
  return { taskId: a.taskId, side: a.side, meta: a.meta, term: a.term, index: a.index, signature: a.signature };
}

// ── heartbeats ─────────────────────────────────────────────────────────────────────────────────────────

export interface SignedHeartbeat extends HeartbeatMessage {
  signature: Hex;
}

export const heartbeatSchema = z.strictObject({
  nodeId: hex32,
  seq: uint64,
  time: uint64,
  capacity: uint64,
  free: uint64,
  load: z.number().int().nonnegative().max(0xffffffff),
  region: z.string().max(64),
  url: z.string().max(512),
  signature,
});

export function heartbeatToWire(h: SignedHeartbeat): z.input<typeof heartbeatSchema> {
  return {
    nodeId: h.nodeId.toLowerCase(),
    seq: h.seq.toString(),
    time: h.time.toString(),
    capacity: h.capacity.toString(),
    free: h.free.toString(),
    load: h.load,
    region: h.region,
    url: h.url,
    signature: h.signature.toLowerCase(),
  };
}

export function heartbeatFromWire(raw: unknown): SignedHeartbeat {
  const h = parseMetaWire(heartbeatSchema, raw, "heartbeat");
  return { ...h, nodeId: h.nodeId };
}

/** The message of a signed heartbeat. */
export function heartbeatMessage(h: SignedHeartbeat): HeartbeatMessage {
  return {
    nodeId: h.nodeId,
    seq: h.seq,
    time: h.time,
    capacity: h.capacity,
    free: h.free,
    load: h.load,
    region: h.region,
    url: h.url,
  };
}

/** One storage node's figures for the ContributionRegistry (PROTOCOL §6): uptime, audits, missed duty. */
export interface NodeMeasurement {
  nodeId: Hex;
  address: Address;
  online: boolean;
  /** Seconds seen online (heartbeats within the down timeout) since this master started tracking. */
  uptimeSeconds: number;
  /** Seconds tracked. */
  trackedSeconds: number;
  auditsPassed: number;
  auditsFailed: number;
  /** Failed transfers reported by clients, missed heartbeats counted as downs, failed repair orders. */
  missedDuty: number;
  downs: number;
  capacity: string;
  free: string;
  load: number;
  region: string;
  url: string;
}
