/**
 * The Proof-of-Traffic period ledger (PROTOCOL §4, §11 steps 2–3), pure and deterministic so that every meta node
 * and every validator computes the same report from the same receipts:
 *
 *   1. {@link matchReceipts}: pair the client's and the node's receipt of each task (both `TrafficReceipt`s, see
 *      offchain/core/signing.ts — their signatures are checked by the caller); a task counts only when both sides
 *      report exactly the same node, client, bytes and period. Everything else is flagged with a reason.
 *   2. {@link applyMatched}: add matched traffic to the period's ledger, which starts from the carried-over traffic.
 *   3. {@link closePeriod}: rank nodes by traffic (ties: smaller node id first), take the top N as the period's
 *      rewarded nodes, carry everyone else's traffic into the next period and reset the rewarded nodes to zero.
 *
 * No I/O. Node ids are bytes32 hex, normalised to lower case.
 */
import type { Address, Hex } from "viem";
import type { TrafficReceiptMessage } from "../core/signing";
import { HmsError } from "../core/errors";

/** Largest traffic a node (or a report's total) may reach: the report's `totalTraffic` is a uint64. */
export const MAX_TRAFFIC = (1n << 64n) - 1n;

/** Thrown for input the ledger cannot apply, naming the offending value. */
export class LedgerError extends HmsError {
  constructor(message: string, value?: unknown) {
    super("PROTOCOL_LEDGER", message, { value });
  }
}

/** Traffic accumulated for `period`: what was carried over plus what was matched in the period so far. */
export interface LedgerState {
  readonly period: bigint;
  /** Traffic in bytes by node id (lower-case bytes32 hex); nodes with zero traffic are absent. */
  readonly traffic: ReadonlyMap<Hex, bigint>;
}

/** A task both sides agree on. */
export interface MatchedTraffic {
  taskId: Hex;
  nodeId: Hex;
  client: Address;
  bytes: bigint;
  period: bigint;
}

/** Why a receipt did not count. */
export type FlagReason =
  | "unpaired" // only one side reported the task
  | "mismatch" // both reported it, with different node / client / bytes / period
  | "duplicate" // one side reported the same task twice
  | "wrong-period" // the receipt is for another period than the ledger's
  | "zero-bytes"; // nothing was served

export interface FlaggedReceipt {
  taskId: Hex;
  reason: FlagReason;
  client?: TrafficReceiptMessage;
  node?: TrafficReceiptMessage;
}

/** A node and its traffic, as ranked. */
export interface RankedNode {
  nodeId: Hex;
  traffic: bigint;
}

/** The result of closing a period. */
export interface ClosedPeriod {
  period: bigint;
  /** The rewarded nodes, best first (their leaf index is their position). */
  top: RankedNode[];
  /** Σ traffic of `top`. */
  totalTraffic: bigint;
  /** Everyone else, by node id, carried into the next period. */
  carried: RankedNode[];
  /** The next period's ledger: the carried traffic, rewarded nodes reset to zero. */
  carry: LedgerState;
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

function nodeKey(nodeId: Hex): Hex {
  if (!HEX32.test(nodeId)) throw new LedgerError(`node id must be 32 bytes of hex: ${nodeId}`, nodeId);
  return nodeId.toLowerCase() as Hex;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An empty ledger for `period`. */
export function emptyLedger(period: bigint): LedgerState {
  return { period, traffic: new Map() };
}

/** A ledger for `period` from (node id, traffic) entries; zero entries are dropped, duplicates add up. */
export function ledgerFrom(period: bigint, entries: Iterable<readonly [Hex, bigint]>): LedgerState {
  const traffic = new Map<Hex, bigint>();
  for (const [id, bytes] of entries) {
    if (bytes < 0n) throw new LedgerError(`negative traffic for ${id}: ${bytes}`, bytes);
    const key = nodeKey(id);
    const sum = (traffic.get(key) ?? 0n) + bytes;
    if (sum > MAX_TRAFFIC) throw new LedgerError(`traffic of ${key} exceeds uint64`, sum);
    if (sum > 0n) traffic.set(key, sum);
  }
  return { period, traffic };
}

/**
 * Pairs client and node receipts by task id for `period`. Deterministic: results are sorted by task id, whatever
 * the order of the input.
 */
export function matchReceipts(
  period: bigint,
  clientReceipts: readonly TrafficReceiptMessage[],
  nodeReceipts: readonly TrafficReceiptMessage[],
): { matched: MatchedTraffic[]; flagged: FlaggedReceipt[] } {
  const flagged: FlaggedReceipt[] = [];
  const index = (receipts: readonly TrafficReceiptMessage[], side: "client" | "node") => {
    const byTask = new Map<Hex, TrafficReceiptMessage>();
    const duplicated = new Set<Hex>();
    for (const r of receipts) {
      const task = r.taskId.toLowerCase() as Hex;
      if (byTask.has(task)) duplicated.add(task);
      else byTask.set(task, r);
    }
    for (const task of duplicated) {
      const first = byTask.get(task);
      flagged.push(
        side === "client"
          ? { taskId: task, reason: "duplicate", client: first }
          : { taskId: task, reason: "duplicate", node: first },
      );
      byTask.delete(task);
    }
    return { byTask, duplicated };
  };
  const clients = index(clientReceipts, "client");
  const nodes = index(nodeReceipts, "node");
  const matched: MatchedTraffic[] = [];
  const tasks = new Set([...clients.byTask.keys(), ...nodes.byTask.keys()]);
  for (const task of tasks) {
    // A task that one side duplicated was flagged already; its other side does not count either.
    if (clients.duplicated.has(task) || nodes.duplicated.has(task)) continue;
    const c = clients.byTask.get(task);
    const n = nodes.byTask.get(task);
    if (c === undefined || n === undefined) {
      flagged.push({ taskId: task, reason: "unpaired", client: c, node: n });
    } else if (
      c.nodeId.toLowerCase() !== n.nodeId.toLowerCase() ||
      c.client.toLowerCase() !== n.client.toLowerCase() ||
      c.bytesServed !== n.bytesServed ||
      c.period !== n.period
    ) {
      flagged.push({ taskId: task, reason: "mismatch", client: c, node: n });
    } else if (c.period !== period) {
      flagged.push({ taskId: task, reason: "wrong-period", client: c, node: n });
    } else if (c.bytesServed === 0n) {
      flagged.push({ taskId: task, reason: "zero-bytes", client: c, node: n });
    } else {
      matched.push({ taskId: task, nodeId: nodeKey(c.nodeId), client: c.client, bytes: c.bytesServed, period });
    }
  }
  matched.sort((a, b) => compareIds(a.taskId, b.taskId));
  flagged.sort((a, b) => compareIds(a.taskId, b.taskId) || compareIds(a.reason, b.reason));
  return { matched, flagged };
}

/** Adds matched traffic of the ledger's period to it (a new state; the input is not modified). */
export function applyMatched(state: LedgerState, matched: readonly MatchedTraffic[]): LedgerState {
  const traffic = new Map(state.traffic);
  for (const m of matched) {
    if (m.period !== state.period) {
      throw new LedgerError(`matched traffic of period ${m.period} applied to period ${state.period}`, m.taskId);
    }
    if (m.bytes <= 0n) throw new LedgerError(`matched traffic must be positive: ${m.bytes}`, m.taskId);
    const key = nodeKey(m.nodeId);
    const sum = (traffic.get(key) ?? 0n) + m.bytes;
    if (sum > MAX_TRAFFIC) throw new LedgerError(`traffic of ${key} exceeds uint64`, sum);
    traffic.set(key, sum);
  }
  return { period: state.period, traffic };
}

/** Every node with traffic, by traffic descending, ties by node id ascending. */
export function rankNodes(state: LedgerState): RankedNode[] {
  return [...state.traffic.entries()]
    .filter(([, t]) => t > 0n)
    .map(([nodeId, traffic]) => ({ nodeId, traffic }))
    .sort((a, b) => (a.traffic === b.traffic ? compareIds(a.nodeId, b.nodeId) : a.traffic > b.traffic ? -1 : 1));
}

/**
 * Closes the ledger's period: the top `topN` nodes are rewarded (their counters reset), everyone else carries
 * their traffic into period + 1. If the top nodes' traffic would overflow uint64, fewer nodes are taken (the
 * rest carry over).
 */
export function closePeriod(state: LedgerState, topN: number): ClosedPeriod {
  if (!Number.isInteger(topN) || topN < 1 || topN > 2 ** 32 - 1) {
    throw new LedgerError(`topN must be an integer in [1, 2^32): ${topN}`, topN);
  }
  const ranked = rankNodes(state);
  const top: RankedNode[] = [];
  let totalTraffic = 0n;
  for (const node of ranked) {
    if (top.length === topN || totalTraffic + node.traffic > MAX_TRAFFIC) break;
    top.push(node);
    totalTraffic += node.traffic;
  }
  const carried = ranked.slice(top.length).sort((a, b) => compareIds(a.nodeId, b.nodeId));
  return {
    period: state.period,
    top,
    totalTraffic,
    carried,
    carry: { period: state.period + 1n, traffic: new Map(carried.map((n) => [n.nodeId, n.traffic])) },
  };
}
