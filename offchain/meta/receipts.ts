/**
 * Traffic receipts on the meta layer (PROTOCOL §11 steps 1–2, issue 13 item 7): admission on the master, the
 * replicated record, the signed acknowledgement and the validators' feed.
 *
 *  - {@link admitReceipts} (pure): each receipt's EIP-712 `TrafficReceipt` signature in the `traffic` domain must
 *    be by its client (client side) or by its node's registered signing key (node side), and its period within
 *    `tolerance` periods of the master's clock (an older one is closed: a replay). Failures are per receipt, so one
 *    bad receipt does not sink a batch.
 *  - The master logs the admitted ones as one `receipts` entry; every replica applies it with
 *    {@link applyReceipts} into the same LevelDB transaction as the index (one atomic write per entry). A
 *    `(taskId, side)` already recorded with the same signature is a duplicate (answered with the position of the
 *    entry that first recorded it); with another signature it is a conflict (refused, META_RECEIPT_CONFLICT).
 *  - The answer to each is a {@link SignedReceiptAck} at that position, signed by the meta node: proof that a
 *    majority persisted the receipt, so a validator that reads a majority of meta nodes must see it.
 *
 * Keys (typed repository, prefix `rcpt:`): `rcpt:r:<period, 20 digits>:<taskId>:<c|n>` → {@link StoredReceipt}.
 */
import type { Address, Hex, TypedDataDomain } from "viem";
import { HmsError } from "../core/errors";
import { recoverTypedSync, signTypedSync } from "../core/signing";
import type { Store } from "../core/store";
import {
  receiptToWire,
  wireReceiptSchema,
  type PeriodReceipts,
  type SignedReceipt,
  type WireReceipt,
} from "../protocol/receipts";
import { sideCode, type SignedReceiptAck } from "../protocol/meta-wire";
import { periodAt, type PeriodClock, type ReceiptSide } from "../protocol/transfer";
import type { IndexReader, IndexTx } from "./index/repositories";

const P_RECEIPT = "rcpt:r:";

/** A receipt as replicated and stored, with the log position of the entry that recorded it. */
export interface StoredReceipt {
  wire: WireReceipt;
  term: bigint;
  index: bigint;
}

/** The log entry that records a batch of one side's receipts. */
export interface ReceiptsCommand {
  kind: "receipts";
  side: ReceiptSide;
  receipts: WireReceipt[];
}

const pad = (p: bigint) => p.toString().padStart(20, "0");

/** Typed repository of recorded receipts. */
export const receipts = {
  key(period: bigint, taskId: Hex, side: ReceiptSide): string {
    return `${P_RECEIPT}${pad(period)}:${taskId.toLowerCase()}:${side === "client" ? "c" : "n"}`;
  },
  async get(r: IndexReader, period: bigint, taskId: Hex, side: ReceiptSide): Promise<StoredReceipt | undefined> {
    return r.get<StoredReceipt>(receipts.key(period, taskId, side));
  },
  put(tx: IndexTx, side: ReceiptSide, record: StoredReceipt): void {
    tx.put(receipts.key(BigInt(record.wire.period), record.wire.taskId as Hex, side), record);
  },
  /** Receipts of periods `from..to`, grouped by period (ascending), each side in task-id order. */
  async periods(store: Store, from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    const out = new Map<bigint, PeriodReceipts>();
    const gte = `${P_RECEIPT}${pad(from)}:`;
    const lt = `${P_RECEIPT}${pad(to)};`;
    for await (const [key, rec] of store.entries<StoredReceipt>(P_RECEIPT)) {
      if (key < gte) continue;
      if (key >= lt) break;
      const w = wireReceiptSchema.parse(rec.wire);
      const signed: SignedReceipt = {
        receipt: { taskId: w.taskId, nodeId: w.nodeId, client: w.client, bytesServed: w.bytesServed, period: w.period },
        signature: w.signature,
      };
      let group = out.get(w.period);
      if (group === undefined) out.set(w.period, (group = { period: w.period, client: [], node: [] }));
      (key.endsWith(":c") ? group.client : group.node).push(signed);
    }
    return [...out.values()];
  },
};

/** What the master checks receipts against. */
export interface ReceiptAdmission {
  /** `traffic` domain: chain id + MiningPool. */
  domain: TypedDataDomain;
  clock: PeriodClock;
  /** Master's clock, unix seconds. */
  now: bigint;
  tolerance: number;
  /** Registered signing key of a storage node; undefined = unknown node. */
  nodeKey(nodeId: Hex): Address | undefined;
}

/** One receipt's admission verdict. */
export type Admitted = { ok: true; wire: WireReceipt } | { ok: false; error: HmsError };

/** Checks each receipt of a batch (signature, signer, period). Pure. */
export function admitReceipts(side: ReceiptSide, batch: readonly SignedReceipt[], ctx: ReceiptAdmission): Admitted[] {
  const current = periodAt(ctx.clock, ctx.now);
  return batch.map((r): Admitted => {
    const p = r.receipt.period;
    if (p + BigInt(ctx.tolerance) < current || p > current + 1n)
      return {
        ok: false,
        error: new HmsError("META_RECEIPT_PERIOD", `period ${p} is not within ${ctx.tolerance} of ${current}`, {
          value: p.toString(),
          details: { taskId: r.receipt.taskId },
        }),
      };
    let expected: Address | undefined;
    if (side === "client") expected = r.receipt.client;
    else {
      expected = ctx.nodeKey(r.receipt.nodeId.toLowerCase() as Hex);
      if (expected === undefined)
        return {
          ok: false,
          error: new HmsError("META_UNKNOWN_NODE", `receipt of unknown node ${r.receipt.nodeId}`, {
            value: r.receipt.nodeId,
          }),
        };
    }
    let signer: string;
    try {
      signer = recoverTypedSync(ctx.domain, "TrafficReceipt", r.receipt, r.signature);
    } catch {
      signer = "";
    }
    if (signer.toLowerCase() !== expected.toLowerCase())
      return {
        ok: false,
        error: new HmsError(
          "META_BAD_RECEIPT",
          `${side} receipt of task ${r.receipt.taskId} not signed by ${expected}`,
          {
            value: r.receipt.taskId,
            details: { signer },
          },
        ),
      };
    return { ok: true, wire: receiptToWire(r) };
  });
}

/** Outcome of applying one receipt of an entry. */
export type ReceiptOutcome =
  | { status: "recorded"; term: bigint; index: bigint }
  | { status: "duplicate"; term: bigint; index: bigint }
  | { status: "conflict" };

/** Applies a `receipts` entry at log position (term, index) into `tx`. Deterministic: every replica agrees. */
export async function applyReceipts(
  tx: IndexTx,
  cmd: ReceiptsCommand,
  at: { term: bigint; index: bigint },
): Promise<ReceiptOutcome[]> {
  const out: ReceiptOutcome[] = [];
  for (const wire of cmd.receipts) {
    const existing = await receipts.get(tx, BigInt(wire.period), wire.taskId as Hex, cmd.side);
    if (existing !== undefined) {
      out.push(
        existing.wire.signature === wire.signature
          ? { status: "duplicate", term: existing.term, index: existing.index }
          : { status: "conflict" },
      );
      continue;
    }
    receipts.put(tx, cmd.side, { wire, term: at.term, index: at.index });
    out.push({ status: "recorded", term: at.term, index: at.index });
  }
  return out;
}

/** A meta node's ReceiptAck of a recorded receipt. */
export function signReceiptAck(
  privateKey: Hex,
  meta: Address,
  domain: TypedDataDomain,
  ack: { taskId: Hex; side: ReceiptSide; term: bigint; index: bigint },
): SignedReceiptAck {
  const message = {
    taskId: ack.taskId.toLowerCase() as Hex,
    side: sideCode(ack.side),
    meta: meta.toLowerCase() as Address,
    term: ack.term,
    index: ack.index,
  };
  return { ...message, signature: signTypedSync(privateKey, domain, "ReceiptAck", message) };
}
