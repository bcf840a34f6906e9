/**
 * A storage worker's signed heartbeats to the meta master (issue 13 item 6): every `intervalMs` an EIP-712
 * `Heartbeat` (domain `network`) with the node's capacity, free space, load (writes in flight), region and URL,
 * signed by its registered key. `seq` is microseconds since the epoch, so it rises across restarts without being
 * persisted. A failed send is logged once per outage and retried at the next beat.
 */
import type { Hex } from "viem";
import type { Logger } from "pino";
import { domainOf, signTypedSync } from "../core/signing";
import type { SignedHeartbeat } from "../protocol/meta-wire";

export interface HeartbeatOptions {
  nodeId: Hex;
  privateKey: Hex;
  chainId: number;
  nodeRegistry: Hex;
  region: string;
  url(): string;
  stats(): { capacity: number; free: number; load: number };
  send(beat: SignedHeartbeat): Promise<void>;
  intervalMs: number;
  logger: Logger;
}

export class HeartbeatSender {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private last = 0n;
  sent = 0;

  constructor(private readonly o: HeartbeatOptions) {}

  /** The next signed heartbeat. */
  beat(): SignedHeartbeat {
    const now = BigInt(Date.now()) * 1000n;
    this.last = now > this.last ? now : this.last + 1n;
    const st = this.o.stats();
    const message = {
      nodeId: this.o.nodeId.toLowerCase() as Hex,
      seq: this.last,
      time: BigInt(Math.floor(Date.now() / 1000)),
      capacity: BigInt(st.capacity),
      free: BigInt(Math.max(0, st.free)),
      load: st.load,
      region: this.o.region,
      url: this.o.url(),
    };
    const domain = domainOf("network", this.o.chainId, this.o.nodeRegistry as `0x${string}`);
    return { ...message, signature: signTypedSync(this.o.privateKey, domain, "Heartbeat", message) };
  }

  private async once(): Promise<void> {
    try {
      await this.o.send(this.beat());
      this.sent++;
      if (this.failing) this.o.logger.info("heartbeats reach the meta master again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.o.logger.warn({ err: (err as Error).message }, "heartbeat not delivered");
      this.failing = true;
    }
  }

  start(): void {
    void this.once();
    this.timer = setInterval(() => void this.once(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
