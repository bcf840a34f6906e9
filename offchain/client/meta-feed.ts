/**
 * The validators' majority read of the meta layer's traffic feed (issue 13 item 7): a master cannot leave a
 * receipt out. Every acknowledged receipt was persisted by a majority of meta nodes before its ReceiptAck was
 * signed, and any two majorities intersect — so the union of what a majority of meta nodes serve holds every
 * acknowledged receipt, whatever the master serves. `receipts()` reads all nodes, needs a majority to answer,
 * and returns the union (one receipt per task and side); {@link omitted} lists what a given feed (e.g. the
 * master's proposal input) leaves out, and {@link checkNoOmission} refuses it with META_FEED_OMISSION.
 */
import type { Address } from "viem";
import { HmsError } from "../core/errors";
import type { PeriodReceipts, SignedReceipt, TrafficFeed } from "../protocol/receipts";
import { HttpTrafficFeed } from "./feed";

const key = (side: string, r: SignedReceipt) =>
  `${side}:${r.receipt.taskId.toLowerCase()}:${r.signature.toLowerCase()}`;

/** Union of period lists (one receipt per task, side and signature), ascending by period. */
export function unionReceipts(lists: readonly PeriodReceipts[][]): PeriodReceipts[] {
  const out = new Map<
    bigint,
    { period: bigint; client: Map<string, SignedReceipt>; node: Map<string, SignedReceipt> }
  >();
  for (const list of lists)
    for (const p of list) {
      let g = out.get(p.period);
      if (g === undefined) out.set(p.period, (g = { period: p.period, client: new Map(), node: new Map() }));
      for (const r of p.client) g.client.set(key("c", r), r);
      for (const r of p.node) g.node.set(key("n", r), r);
    }
  return [...out.values()]
    .sort((a, b) => (a.period < b.period ? -1 : 1))
    .map((g) => ({ period: g.period, client: [...g.client.values()], node: [...g.node.values()] }));
}

/** The receipts of `reference` that `feed` does not hold. */
export function omitted(
  reference: readonly PeriodReceipts[],
  feed: readonly PeriodReceipts[],
): Array<{ side: "client" | "node"; receipt: SignedReceipt }> {
  const have = new Set<string>();
  for (const p of feed) {
    for (const r of p.client) have.add(key("c", r));
    for (const r of p.node) have.add(key("n", r));
  }
  const out: Array<{ side: "client" | "node"; receipt: SignedReceipt }> = [];
  for (const p of reference) {
    for (const r of p.client) if (!have.has(key("c", r))) out.push({ side: "client", receipt: r });
    for (const r of p.node) if (!have.has(key("n", r))) out.push({ side: "node", receipt: r });
  }
  return out;
}

/** Throws META_FEED_OMISSION when `feed` leaves out a receipt of the majority read `reference`. */
export function checkNoOmission(reference: readonly PeriodReceipts[], feed: readonly PeriodReceipts[]): void {
  const missing = omitted(reference, feed);
  if (missing.length > 0)
    throw new HmsError("META_FEED_OMISSION", `the feed leaves out ${missing.length} acknowledged receipt(s)`, {
      value: missing[0].receipt.receipt.taskId,
      details: { missing: missing.length },
    });
}

export class MajorityTrafficFeed implements TrafficFeed {
  private readonly feeds: HttpTrafficFeed[];

  constructor(
    readonly urls: readonly string[],
    options: { timeoutMs?: number; chainId?: number; pool?: Address } = {},
  ) {
    if (urls.length === 0)
      throw new HmsError("CONFIG_INVALID", "the majority feed needs meta node URLs", { value: [] });
    this.feeds = urls.map((u) => new HttpTrafficFeed(u, options));
  }

  /** The union of a majority's receipts; META_NO_QUORUM if fewer than a majority answer. */
  async receipts(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    const settled = await Promise.allSettled(this.feeds.map((f) => f.receipts(from, to)));
    const ok = settled.filter((s): s is PromiseFulfilledResult<PeriodReceipts[]> => s.status === "fulfilled");
    const majority = Math.floor(this.feeds.length / 2) + 1;
    if (ok.length < majority)
      throw new HmsError("META_NO_QUORUM", `only ${ok.length} of ${this.feeds.length} meta feeds answered`, {
        value: ok.length,
      });
    return unionReceipts(ok.map((s) => s.value));
  }

  async close(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.close()));
  }
}
