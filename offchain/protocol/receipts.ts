/**
 * The traffic feed: what the meta layer hands the validators each period (PROTOCOL §11 steps 1–2) — the
 * client's and the node's signed `TrafficReceipt`s of every task, per period, as reported to the meta
 * layer. Matching the two sides, ranking and the carry-over are the validators' job (offchain/protocol/ledger.ts,
 * report.ts), so that every validator can recompute a proposal from the receipts it carries.
 *
 * This is the interface the meta layer implements; until it exists, `GeneratedTraffic` (./generator.ts)
 * stands in for it, served over HTTP by `hms traffic-source` (./http.ts):
 *
 *   GET /v1/receipts?from=<period>&to=<period>   (inclusive, at most MAX_FEED_SPAN periods)
 *   → { chainId, pool, periods: [{ period: "12", client: [WireReceipt], node: [WireReceipt] }] }
 *
 * `WireReceipt` = `{ taskId, nodeId, client, bytesServed: "…", period: "…", signature }`: the EIP-712
 * `TrafficReceipt` in the `traffic` domain of the mining pool (offchain/core/signing.ts), integers as
 * decimal strings, hex in lower case. Periods without receipts may be omitted.
 *
 * Pure: no I/O in this file.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import type { TrafficReceiptMessage } from "../core/signing";
import { ValidationError } from "../core/errors";

/** Path of the feed: `GET /v1/receipts?from=&to=`. */
export const RECEIPTS_PATH = "/v1/receipts";

/** Most periods one feed query may span. */
export const MAX_FEED_SPAN = 1024;

/** One side's signed receipt of a task. */
export interface SignedReceipt {
  receipt: TrafficReceiptMessage;
  /** 65-byte EIP-712 signature by the client (client side) or the node's signing key (node side). */
  signature: Hex;
}

/** Every receipt reported for one period, both sides, in no particular order. */
export interface PeriodReceipts {
  period: bigint;
  client: SignedReceipt[];
  node: SignedReceipt[];
}

/** What the validators read each period. The meta layer implements it; `GeneratedTraffic` stands in. */
export interface TrafficFeed {
  /** Receipts of periods `from`..`to` (inclusive), ascending; periods with none may be left out. */
  receipts(from: bigint, to: bigint): Promise<PeriodReceipts[]>;
}

/** Wire primitives (lower-cased on parse), shared by the data plane's schemas (storage-wire.ts). */
export const hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "expected 32 bytes of hex")
  .transform((s) => s.toLowerCase() as Hex);
export const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "expected an address")
  .transform((s) => s.toLowerCase() as Address);
const uint64 = z
  .string()
  .regex(/^(0|[1-9]\d{0,19})$/, "expected a decimal uint64")
  .transform((s) => BigInt(s))
  .refine((v) => v < 1n << 64n, "does not fit uint64");
export const signature = z
  .string()
  .regex(/^0x[0-9a-fA-F]{130}$/, "expected a 65-byte signature")
  .transform((s) => s.toLowerCase() as Hex);

/** zod schema of a wire receipt. */
export const wireReceiptSchema = z.strictObject({
  taskId: hex32,
  nodeId: hex32,
  client: address,
  bytesServed: uint64,
  period: uint64,
  signature,
});

/** zod schema of a wire period. */
export const wirePeriodSchema = z.strictObject({
  period: uint64,
  client: z.array(wireReceiptSchema),
  node: z.array(wireReceiptSchema),
});

export type WireReceipt = z.input<typeof wireReceiptSchema>;
export type WirePeriod = z.input<typeof wirePeriodSchema>;

/** A signed receipt in wire form (lower-case hex, decimal strings). */
export function receiptToWire(r: SignedReceipt): WireReceipt {
  return {
    taskId: r.receipt.taskId.toLowerCase(),
    nodeId: r.receipt.nodeId.toLowerCase(),
    client: r.receipt.client.toLowerCase(),
    bytesServed: r.receipt.bytesServed.toString(),
    period: r.receipt.period.toString(),
    signature: r.signature.toLowerCase(),
  };
}

function fromParsed(w: z.output<typeof wireReceiptSchema>): SignedReceipt {
  return {
    receipt: { taskId: w.taskId, nodeId: w.nodeId, client: w.client, bytesServed: w.bytesServed, period: w.period },
    signature: w.signature,
  };
}

/** A period's receipts in wire form. */
export function periodToWire(p: PeriodReceipts): WirePeriod {
  return { period: p.period.toString(), client: p.client.map(receiptToWire), node: p.node.map(receiptToWire) };
}

/** Parses a wire period; throws a {@link ValidationError} (`TRAFFIC_WIRE`) naming the first bad field. */
export function periodFromWire(raw: unknown): PeriodReceipts {
  const parsed = wirePeriodSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError("PROTOCOL_RECEIPTS_WIRE", `bad receipts at ${issue.path.join(".")}: ${issue.message}`, {
      value: issue.path.join("."),
    });
  }
  return {
    period: parsed.data.period,
    client: parsed.data.client.map(fromParsed),
    node: parsed.data.node.map(fromParsed),
  };
}
