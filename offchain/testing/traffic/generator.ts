/**
 * The deterministic traffic source: a seeded generator of signed client/node `TrafficReceipt` pairs for a
 * configured set of nodes, standing in for the meta layer (PROTOCOL §11 steps 1–2) until it exists.
 *
 * For a given (seed, nodes, clients, parameters) every period's receipts are a pure function of the period:
 * every validator that asks gets byte-identical receipts (signatures are RFC 6979 deterministic), so honest
 * validators build identical proposals. Per period:
 *
 *   - `tasksPerPeriod` tasks (uniform in [min, max], drawn per period); task t is served by node i with
 *     probability weight_i / Σ weight (default weight i + 1, so the ranking is not flat) to client c (uniform);
 *     `bytesServed` uniform in [bytes.min, bytes.max];
 *   - task id `keccak256("hms-traffic/<seed>/<period>/<t>")`;
 *   - both sides sign the same `TrafficReceipt` in the `traffic` domain of the mining pool: the client with
 *     its seeded key (`clientPrivateKey(seed, c)`), the node with its registered signing key;
 *   - with probability `noise` a task is defective instead — half the time the client never confirms it
 *     (unpaired), otherwise the node claims twice the bytes the client saw (mismatch) — so that the ledger's
 *     flagging is exercised; defective tasks earn nothing.
 *
 * Randomness is SHA-256 in counter mode over (seed, period): independent of JavaScript number details.
 * Pure (no I/O); results are memoised per period.
 */
import { createHash } from "node:crypto";
import { keccak256, toHex, type Address, type Hex, type TypedDataDomain } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { domainOf, signTypedSync, type TrafficReceiptMessage } from "../../core/signing";
import { ValidationError } from "../../core/errors";
import type { PeriodReceipts, SignedReceipt, TrafficFeed } from "../../protocol/receipts";
import { MAX_FEED_SPAN } from "../../protocol/receipts";

/** A node the generator serves traffic from. */
export interface TrafficNode {
  nodeId: Hex;
  /** The node's registered signing key (signs the node side). */
  privateKey: Hex;
  /** Relative share of the tasks; default index + 1. */
  weight?: number;
}

export interface GeneratorOptions {
  chainId: number;
  /** MiningPool: verifying contract of the `traffic` domain. */
  pool: Address;
  seed: string;
  nodes: readonly TrafficNode[];
  /** Number of clients (seeded keys). */
  clients: number;
  tasksPerPeriod: { min: number; max: number };
  bytes: { min: bigint; max: bigint };
  /** Fraction of defective tasks, 0..1. */
  noise: number;
  /** No receipts before this period (the source "started" then). */
  startPeriod: bigint;
}

export const DEFAULT_GENERATOR = {
  seed: "hms",
  clients: 4,
  tasksPerPeriod: { min: 4, max: 10 },
  bytes: { min: 1_000_000_000n, max: 50_000_000_000n },
  noise: 0.1,
  startPeriod: 0n,
} as const;

/** Private key of seeded client `index`: `keccak256("hms-traffic/client/<seed>/<index>")`. */
export function clientPrivateKey(seed: string, index: number): Hex {
  return keccak256(toHex(`hms-traffic/client/${seed}/${index}`));
}

/** SHA-256 counter-mode stream: reproducible draws from (seed, period). */
class Draws {
  private block: Buffer = Buffer.alloc(0);
  private offset = 0;
  private counter = 0;
  constructor(private readonly key: string) {}

  private u32(): number {
    if (this.offset + 4 > this.block.length) {
      this.block = createHash("sha256").update(`${this.key}|${this.counter++}`).digest();
      this.offset = 0;
    }
    const v = this.block.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** Uniform in [0, 1). */
  unit(): number {
    return this.u32() / 2 ** 32;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.unit() * (max - min + 1));
  }

  /** Uniform bigint in [min, max]. */
  big(min: bigint, max: bigint): bigint {
    const span = max - min + 1n;
    const r = (BigInt(this.u32()) << 32n) | BigInt(this.u32());
    return min + (r % span);
  }
}

export class GeneratedTraffic implements TrafficFeed {
  readonly domain: TypedDataDomain;
  private readonly clients: Array<{ key: Hex; address: Address }>;
  private readonly cache = new Map<bigint, PeriodReceipts>();
  private readonly totalWeight: number;

  constructor(readonly options: GeneratorOptions) {
    const o = options;
    if (o.nodes.length === 0) throw new ValidationError("TRAFFIC_CONFIG", "at least one node is needed", { value: 0 });
    if (!Number.isInteger(o.clients) || o.clients < 1)
      throw new ValidationError("TRAFFIC_CONFIG", "clients must be a positive integer", { value: o.clients });
    if (o.tasksPerPeriod.min < 0 || o.tasksPerPeriod.max < o.tasksPerPeriod.min)
      throw new ValidationError("TRAFFIC_CONFIG", "tasksPerPeriod must satisfy 0 ≤ min ≤ max", {
        value: o.tasksPerPeriod,
      });
    if (o.bytes.min < 1n || o.bytes.max < o.bytes.min || o.bytes.max * 2n >= 1n << 64n)
      throw new ValidationError("TRAFFIC_CONFIG", "bytes must satisfy 1 ≤ min ≤ max < 2^63", { value: o.bytes });
    if (!(o.noise >= 0 && o.noise <= 1))
      throw new ValidationError("TRAFFIC_CONFIG", "noise must be in [0, 1]", { value: o.noise });
    this.domain = domainOf("traffic", o.chainId, o.pool);
    this.clients = Array.from({ length: o.clients }, (_, i) => {
      const key = clientPrivateKey(o.seed, i);
      return { key, address: privateKeyToAddress(key).toLowerCase() as Address };
    });
    this.totalWeight = o.nodes.reduce((s, n, i) => s + (n.weight ?? i + 1), 0);
    if (!(this.totalWeight > 0))
      throw new ValidationError("TRAFFIC_CONFIG", "node weights must sum to more than 0", { value: this.totalWeight });
  }

  /** Address of seeded client `index`. */
  clientAddress(index: number): Address {
    return this.clients[index].address;
  }

  /** The receipts of `period` (memoised). */
  period(period: bigint): PeriodReceipts {
    const cached = this.cache.get(period);
    if (cached !== undefined) return cached;
    const result = this.generate(period);
    if (this.cache.size >= 256) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(period, result);
    return result;
  }

  async receipts(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    if (from < 0n || to < from || to - from >= BigInt(MAX_FEED_SPAN))
      throw new ValidationError("TRAFFIC_RANGE", `bad period range ${from}..${to} (at most ${MAX_FEED_SPAN})`, {
        value: `${from}..${to}`,
      });
    const out: PeriodReceipts[] = [];
    for (let p = from; p <= to; p++) {
      const r = this.period(p);
      if (r.client.length + r.node.length > 0) out.push(r);
    }
    return out;
  }

  private generate(period: bigint): PeriodReceipts {
    const o = this.options;
    const result: PeriodReceipts = { period, client: [], node: [] };
    if (period < o.startPeriod) return result;
    const d = new Draws(`${o.seed}|${period}`);
    const tasks = d.int(o.tasksPerPeriod.min, o.tasksPerPeriod.max);
    for (let t = 0; t < tasks; t++) {
      let x = d.unit() * this.totalWeight;
      let nodeIndex = 0;
      for (; nodeIndex < o.nodes.length - 1; nodeIndex++) {
        x -= o.nodes[nodeIndex].weight ?? nodeIndex + 1;
        if (x < 0) break;
      }
      const node = o.nodes[nodeIndex];
      const client = this.clients[d.int(0, this.clients.length - 1)];
      const receipt: TrafficReceiptMessage = {
        taskId: keccak256(toHex(`hms-traffic/${o.seed}/${period}/${t}`)),
        nodeId: node.nodeId.toLowerCase() as Hex,
        client: client.address,
        bytesServed: d.big(o.bytes.min, o.bytes.max),
        period,
      };
      const defect = d.unit() < o.noise ? (d.unit() < 0.5 ? "unpaired" : "mismatch") : undefined;
      const nodeSide = defect === "mismatch" ? { ...receipt, bytesServed: receipt.bytesServed * 2n } : receipt;
      if (defect !== "unpaired") result.client.push(this.sign(client.key, receipt));
      result.node.push(this.sign(node.privateKey, nodeSide));
    }
    return result;
  }

  private sign(key: Hex, receipt: TrafficReceiptMessage): SignedReceipt {
    return { receipt, signature: signTypedSync(key, this.domain, "TrafficReceipt", receipt) };
  }
}
