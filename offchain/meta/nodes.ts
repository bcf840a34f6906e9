/**
 * The master's table of storage nodes (issue 13 item 6): who is registered (its NodeRegistry signing key), where
 * it is and how it is doing, from its signed heartbeats — and the figures the ContributionRegistry scores
 * (PROTOCOL §6): uptime, audits passed and failed, missed duty.
 *
 * A heartbeat is an EIP-712 `Heartbeat` in the `network` domain signed by the node's registered key; its `seq`
 * must rise (a replayed heartbeat is refused) and its `time` be within `downAfterMs` of the master's clock. A
 * node is online while its last heartbeat is younger than `downAfterMs`; the first check after that counts it
 * down once (a missed duty) until it beats again.
 *
 * Soft state: it lives on whichever node is master and is rebuilt from heartbeats within one heartbeat period
 * after a failover (every worker sends to the master it finds). No I/O here; the clock is injected.
 */
import type { Address, Hex, TypedDataDomain } from "viem";
import { HmsError } from "../core/errors";
import { recoverTypedSync } from "../core/signing";
import type { NodeEndpoint } from "../protocol/network";
import { heartbeatMessage, type NodeMeasurement, type SignedHeartbeat } from "../protocol/meta-wire";

/** What the table knows of one node. */
export interface NodeState {
  nodeId: Hex;
  address: Address;
  url?: string;
  region: string;
  capacity: bigint;
  free: bigint;
  load: number;
  seq: bigint;
  lastBeatMs?: number;
  /** First time the node was heard of by this master, ms. */
  trackedSinceMs: number;
  onlineMs: number;
  online: boolean;
  downs: number;
  auditsPassed: number;
  auditsFailed: number;
  missedDuty: number;
  /** Client-reported failed transfers (reportBad). */
  failedTransfers: number;
  /** Exponentially weighted audit-read latency, ms. */
  latencyMs?: number;
}

export interface NodeTableOptions {
  domain: TypedDataDomain;
  downAfterMs: number;
  now?: () => number;
}

export class NodeTable {
  private readonly nodes = new Map<string, NodeState>();
  private readonly now: () => number;
  private lastTick: number;

  constructor(
    registered: ReadonlyArray<{ nodeId: Hex; address: Address }>,
    private readonly options: NodeTableOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.lastTick = this.now();
    for (const n of registered) this.register(n.nodeId, n.address);
  }

  /** Adds (or re-keys) a registered node. */
  register(nodeId: Hex, address: Address): void {
    const id = nodeId.toLowerCase();
    const known = this.nodes.get(id);
    if (known) {
      known.address = address.toLowerCase() as Address;
      return;
    }
    this.nodes.set(id, {
      nodeId: id as Hex,
      address: address.toLowerCase() as Address,
      region: "",
      capacity: 0n,
      free: 0n,
      load: 0,
      seq: 0n,
      trackedSinceMs: this.now(),
      onlineMs: 0,
      online: false,
      downs: 0,
      auditsPassed: 0,
      auditsFailed: 0,
      missedDuty: 0,
      failedTransfers: 0,
    });
  }

  /** The registered signing key of a node. */
  key(nodeId: Hex): Address | undefined {
    return this.nodes.get(nodeId.toLowerCase())?.address;
  }

  get(nodeId: Hex): NodeState | undefined {
    return this.nodes.get(nodeId.toLowerCase());
  }

  all(): NodeState[] {
    return [...this.nodes.values()];
  }

  /**
   * Takes a heartbeat: `META_UNKNOWN_NODE` for an unregistered node, `META_BAD_HEARTBEAT` for a bad signature, a
   * seq not above the last one, or a time off the master's clock by more than the down timeout.
   */
  beat(h: SignedHeartbeat): NodeState {
    const node = this.nodes.get(h.nodeId.toLowerCase());
    if (node === undefined)
      throw new HmsError("META_UNKNOWN_NODE", `heartbeat of unregistered node ${h.nodeId}`, { value: h.nodeId });
    let signer: string;
    try {
      signer = recoverTypedSync(this.options.domain, "Heartbeat", heartbeatMessage(h), h.signature);
    } catch {
      signer = "";
    }
    if (signer.toLowerCase() !== node.address)
      throw new HmsError("META_BAD_HEARTBEAT", `heartbeat of ${h.nodeId} not signed by its key ${node.address}`, {
        value: signer,
      });
    if (h.seq <= node.seq)
      throw new HmsError("META_BAD_HEARTBEAT", `heartbeat seq ${h.seq} is not above ${node.seq}`, {
        value: h.seq.toString(),
      });
    const now = this.now();
    const skewMs = Math.abs(Number(h.time) * 1000 - now);
    if (skewMs > Math.max(this.options.downAfterMs, 5_000))
      throw new HmsError("META_BAD_HEARTBEAT", `heartbeat time ${h.time} is ${skewMs} ms off the master's clock`, {
        value: h.time.toString(),
      });
    this.tick();
    node.seq = h.seq;
    node.url = h.url.replace(/\/+$/, "");
    node.region = h.region;
    node.capacity = h.capacity;
    node.free = h.free;
    node.load = h.load;
    node.lastBeatMs = now;
    node.online = true;
    return node;
  }

  /**
   * Advances the uptime counters and flags nodes silent for longer than the timeout as down; returns the nodes
   * that went down since the last call.
   */
  tick(): NodeState[] {
    const now = this.now();
    const elapsed = Math.max(0, now - this.lastTick);
    this.lastTick = now;
    const downed: NodeState[] = [];
    for (const n of this.nodes.values()) {
      if (!n.online) continue;
      n.onlineMs += elapsed;
      if (n.lastBeatMs === undefined || now - n.lastBeatMs > this.options.downAfterMs) {
        n.online = false;
        n.downs++;
        n.missedDuty++;
        downed.push(n);
      }
    }
    return downed;
  }

  /** Online nodes with a URL, as endpoints. */
  live(): NodeEndpoint[] {
    return this.all()
      .filter((n) => n.online && n.url !== undefined)
      .map((n) => ({ nodeId: n.nodeId, url: n.url!, region: n.region }));
  }

  isOnline(nodeId: Hex): boolean {
    return this.nodes.get(nodeId.toLowerCase())?.online === true;
  }

  /** The endpoint of a known node (its last heartbeat's URL), online or not. */
  endpoint(nodeId: Hex): NodeEndpoint | undefined {
    const n = this.nodes.get(nodeId.toLowerCase());
    return n?.url === undefined ? undefined : { nodeId: n.nodeId, url: n.url, region: n.region };
  }

  audit(nodeId: Hex, passed: boolean, latencyMs?: number): void {
    const n = this.nodes.get(nodeId.toLowerCase());
    if (!n) return;
    if (passed) n.auditsPassed++;
    else {
      n.auditsFailed++;
      n.missedDuty++;
    }
    if (latencyMs !== undefined)
      n.latencyMs = n.latencyMs === undefined ? latencyMs : 0.8 * n.latencyMs + 0.2 * latencyMs;
  }

  /** A client reported a copy on this node bad (mismatch, timeout, missing): QoS, counted as missed duty. */
  failedTransfer(nodeId: Hex): void {
    const n = this.nodes.get(nodeId.toLowerCase());
    if (!n) return;
    n.failedTransfers++;
    n.missedDuty++;
  }

  /** A repair order this node failed. */
  missed(nodeId: Hex): void {
    const n = this.nodes.get(nodeId.toLowerCase());
    if (n) n.missedDuty++;
  }

  measurements(): NodeMeasurement[] {
    this.tick();
    const now = this.now();
    return this.all().map((n) => ({
      nodeId: n.nodeId,
      address: n.address,
      online: n.online,
      uptimeSeconds: Math.floor(n.onlineMs / 1000),
      trackedSeconds: Math.floor((now - n.trackedSinceMs) / 1000),
      auditsPassed: n.auditsPassed,
      auditsFailed: n.auditsFailed,
      missedDuty: n.missedDuty,
      downs: n.downs,
      capacity: n.capacity.toString(),
      free: n.free.toString(),
      load: n.load,
      region: n.region,
      url: n.url ?? "",
    }));
  }
}
