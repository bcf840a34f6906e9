/**
 * Wire validation of PBFT messages: zod schemas for every message type. The transport hands a
 * replica only what parses here (anything else is a 400 with the offending path); the replica then
 * checks signatures, views and watermarks. Pure.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import { ValidationError } from "../../core/errors";
import { MAX_VIEW, type PbftMessage } from "./types";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .transform((s) => s.toLowerCase() as Address);
const hex32 = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/)
  .transform((s) => s as Hex);
/** Signatures: 65-byte secp256k1 in production, 32-byte keyed hashes in the simulator. */
const sig = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64,130}$/)
  .transform((s) => s as Hex);
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const view = z.number().int().min(0).max(MAX_VIEW);

const prePrepare = z.strictObject({
  type: z.literal("pre-prepare"),
  view,
  seq: seq.min(1),
  digest: hex32,
  request: z.string().nullable(),
  replica: address,
  sig,
});
const vote = <T extends "prepare" | "commit">(type: T) =>
  z.strictObject({ type: z.literal(type), view, seq: seq.min(1), digest: hex32, replica: address, sig });
const prepare = vote("prepare");
const commit = vote("commit");
const checkpoint = z.strictObject({
  type: z.literal("checkpoint"),
  seq: seq.min(1),
  digest: hex32,
  replica: address,
  sig,
});
const preparedCert = z.strictObject({ prePrepare, prepares: z.array(prepare).max(64) });
const viewChange = z.strictObject({
  type: z.literal("view-change"),
  view,
  stableSeq: seq,
  stableDigest: hex32,
  checkpointProof: z.array(checkpoint).max(64),
  prepared: z.array(preparedCert).max(100_000),
  replica: address,
  sig,
});
const newView = z.strictObject({
  type: z.literal("new-view"),
  view,
  viewChanges: z.array(viewChange).max(64),
  prePrepares: z.array(prePrepare).max(100_000),
  replica: address,
  sig,
});
const request = z.strictObject({ type: z.literal("request"), request: z.string() });
const status = z.strictObject({
  type: z.literal("status"),
  view,
  viewChanging: z.boolean(),
  stableSeq: seq,
  lastExecuted: seq,
});
const committedEntry = z.strictObject({
  seq: seq.min(1),
  view,
  digest: hex32,
  request: z.string().nullable(),
  commits: z.array(commit).max(64),
});
const entries = z.strictObject({
  type: z.literal("entries"),
  entries: z.array(committedEntry).max(10_000),
  retainedFrom: seq,
});

export const pbftMessageSchema = z.discriminatedUnion("type", [
  prePrepare,
  prepare,
  commit,
  checkpoint,
  viewChange,
  newView,
  request,
  status,
  entries,
]);

/** Parses an untrusted body as a PBFT message. Throws {@link ValidationError} `PBFT_BAD_MESSAGE` naming the path. */
export function decodePbftMessage(body: unknown): PbftMessage {
  const r = pbftMessageSchema.safeParse(body);
  if (r.success) return r.data as PbftMessage;
  const issue = r.error.issues[0];
  const path = issue.path.join(".");
  let value: unknown = body;
  for (const k of issue.path)
    value = value !== null && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[k] : undefined;
  throw new ValidationError("PBFT_BAD_MESSAGE", `malformed PBFT message at ${path || "(root)"}: ${issue.message}`, {
    value,
    details: { path },
  });
}
