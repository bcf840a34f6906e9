/**
 * A hand-driven replica set for unit tests: messages are queued and delivered explicitly (FIFO, or
 * through a filter that drops or holds some), timers fire only when a test fires them.
 */
import type { Address, Hex } from "viem";
import { createHash } from "node:crypto";
import { PbftReplica, restoreReplica, type ReplicaOptions } from "../../../offchain/consensus/pbft/replica";
import type { PbftMessage, PbftParams, ReplicaAction, ReplicaEvent } from "../../../offchain/consensus/pbft/types";
import { SimKeys } from "../../../offchain/consensus/pbft/sim/crypto";
import { simAddresses, simValidate } from "../../../offchain/consensus/pbft/sim/simulator";

export const sha = (text: string): Hex => `0x${createHash("sha256").update(text).digest("hex")}`;

export interface Envelope {
  from: number;
  to: number;
  message: PbftMessage;
}

export class Cluster {
  readonly addresses: Address[];
  readonly order: Address[];
  readonly keys: SimKeys;
  readonly replicas: PbftReplica[];
  readonly queue: Envelope[] = [];
  readonly actions: ReplicaAction[][];
  /** Active timers per replica: kind → id. */
  readonly timers: Array<Map<string, number>>;
  readonly configId = 7n;

  constructor(
    readonly n: number,
    readonly params: Partial<PbftParams> = {},
    readonly validate: (r: string) => boolean = simValidate,
  ) {
    this.addresses = simAddresses(1000 + n, n);
    this.order = this.addresses;
    this.keys = new SimKeys(this.addresses, "unit");
    this.replicas = this.addresses.map((_, i) => new PbftReplica(this.options(i)));
    this.actions = this.addresses.map(() => []);
    this.timers = this.addresses.map(() => new Map());
  }

  options(i: number): ReplicaOptions {
    return {
      configId: this.configId,
      order: this.order,
      self: this.addresses[i],
      crypto: this.keys.providerFor(this.addresses[i]),
      validate: this.validate,
      params: { viewChangeTimeoutMs: 1000, retransmitMs: 500, ...this.params },
    };
  }

  index(a: Address): number {
    return this.addresses.findIndex((x) => x.toLowerCase() === a.toLowerCase());
  }

  /** Feeds an event to replica i and routes its actions; returns them without the timer actions. */
  feed(i: number, event: ReplicaEvent): ReplicaAction[] {
    const out = this.replicas[i].handle(event);
    this.actions[i].push(...out);
    for (const a of out) {
      if (a.type === "broadcast")
        for (let j = 0; j < this.n; j++) if (j !== i) this.queue.push({ from: i, to: j, message: a.message });
      if (a.type === "send") this.queue.push({ from: i, to: this.index(a.to), message: a.message });
      if (a.type === "set-timer") this.timers[i].set(a.kind, a.id);
      if (a.type === "cancel-timer") this.timers[i].delete(a.kind);
    }
    return out.filter((a) => a.type !== "set-timer" && a.type !== "cancel-timer");
  }

  deliver(e: Envelope): ReplicaAction[] {
    return this.feed(e.to, { type: "message", from: this.addresses[e.from], message: e.message });
  }

  /** Delivers queued messages until none are left; `keep(e)` false drops a message. */
  run(keep: (e: Envelope) => boolean = () => true, maxSteps = 100_000): void {
    for (let step = 0; this.queue.length > 0; step++) {
      if (step > maxSteps) throw new Error("cluster did not quiesce");
      const e = this.queue.shift()!;
      if (keep(e)) this.deliver(e);
    }
  }

  /** Fires replica i's timer of `kind` (if armed). */
  fire(i: number, kind: "view-change" | "retransmit"): ReplicaAction[] {
    const id = this.timers[i].get(kind);
    if (id === undefined) return [];
    this.timers[i].delete(kind);
    return this.feed(i, { type: "timeout", kind, id });
  }

  executed(i: number): Array<{ seq: number; digest: Hex; request: string | null; view: number }> {
    return this.actions[i].flatMap((a) =>
      a.type === "execute" ? [{ seq: a.seq, digest: a.digest, request: a.request, view: a.view }] : [],
    );
  }

  ofType<T extends ReplicaAction["type"]>(i: number, type: T): Array<Extract<ReplicaAction, { type: T }>> {
    return this.actions[i].filter((a): a is Extract<ReplicaAction, { type: T }> => a.type === type);
  }

  /** Replaces replica i by one restored from a JSON round trip of its snapshot. */
  restart(i: number): void {
    const snap = JSON.parse(JSON.stringify(this.replicas[i].snapshot()));
    this.replicas[i] = restoreReplica(snap, this.options(i));
    this.timers[i].clear();
  }

  sign(i: number, item: Parameters<SimKeys["signAs"]>[1]): Hex {
    return this.keys.signAs(this.addresses[i], item);
  }
}
