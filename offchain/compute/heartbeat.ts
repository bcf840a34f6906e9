/**
 * A compute worker's signed heartbeats to the meta layer (docs/COMPUTE.md "Supervision"): every `intervalMs` an
 * EIP-712 `ComputeHeartbeat` (protocol/compute-supervise.ts) with its offer, capacity, resources held and the
 * workloads it runs — each with the user's signed run request — sent to every meta node (MetaClient
 * `computeHeartbeat`). `seq` is microseconds since the epoch, so it rises across restarts without being
 * persisted. A failed send is logged once per outage and retried at the next beat.
 */
import type { Hex, TypedDataDomain } from "viem";
import type { Logger } from "pino";
import {
  signComputeHeartbeat,
  type ComputeHeartbeatBody,
  type WireComputeHeartbeat,
} from "../protocol/compute-supervise";

export interface ComputeHeartbeatOptions {
  privateKey: Hex;
  domain: TypedDataDomain;
  body(seq: bigint): Promise<ComputeHeartbeatBody>;
  send(beat: WireComputeHeartbeat): Promise<void>;
  intervalMs: number;
  logger: Logger;
}

export class ComputeHeartbeatSender {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private last = 0n;
  private inflight: Promise<void> | undefined;
  sent = 0;

  constructor(private readonly o: ComputeHeartbeatOptions) {}

  /** The next signed heartbeat. */
  async beat(): Promise<WireComputeHeartbeat> {
    const now = BigInt(Date.now()) * 1000n;
    this.last = now > this.last ? now : this.last + 1n;
    return signComputeHeartbeat(this.o.privateKey, this.o.domain, await this.o.body(this.last));
  }

  private async once(): Promise<void> {
    try {
      await this.o.send(await this.beat());
      this.sent++;
      if (this.failing) this.o.logger.info("compute heartbeats reach the meta layer again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.o.logger.warn({ err: (err as Error).message }, "compute heartbeat not delivered");
      this.failing = true;
    }
  }

  private fire(): void {
    // One beat at a time: a slow meta node never piles sends up.
    this.inflight ??= this.once().finally(() => (this.inflight = undefined));
  }

  start(): void {
    this.fire();
    this.timer = setInterval(() => this.fire(), this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inflight;
  }
}
