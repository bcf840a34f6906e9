/**
 * A fault-injecting HTTP proxy for the daemons' peer links (meta peers, PBFT validators: both `POST /v1/msg`,
 * offchain/core/transport.ts). It listens on 127.0.0.1 and forwards every request to one target, after applying
 * the faults of its current {@link FaultPlan}, each drawn per request from a seeded generator:
 *
 *   drop       the connection is reset before anything is forwarded (the sender sees the peer unreachable);
 *   delay      the request is held for a uniform time in [min, max] ms, so concurrent requests overtake each other
 *              (that is the reordering: `reorder` is a delay window applied to every request);
 *   duplicate  the request is forwarded a second time after the first answer (a replayed message: the transport's
 *              replay protection must refuse it, and the protocol must not count it twice).
 *
 * The plan can change at any time (`plan(…)`): a test partitions a node (`{ drop: 1 }`), degrades its links and
 * heals them (`{}`). Counters say what happened. The TCP-level partition proxy of the meta process cluster is
 * meta-cluster.ts's `FaultProxy`; this one works on whole requests, which duplicating and delaying need.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { seededRandom } from "../meta/placement";

export interface FaultPlan {
  /** Probability a request is dropped (connection reset), 0…1. */
  drop?: number;
  /** Probability a request is forwarded twice, 0…1. */
  duplicate?: number;
  /** Every request is held a uniform [min, max] ms. */
  delay?: { minMs: number; maxMs: number };
  /** Reorder window: every request is held a uniform [0, ms] ms (on top of `delay`). */
  reorderMs?: number;
}

export interface FaultCounters {
  forwarded: number;
  dropped: number;
  duplicated: number;
  delayed: number;
  /** Requests the target did not answer (it is down): answered 502 to the sender. */
  failed: number;
}

const MAX_BODY = 64 * 1024 * 1024;

export class HttpFaultProxy {
  readonly counters: FaultCounters = { forwarded: 0, dropped: 0, duplicated: 0, delayed: 0, failed: 0 };
  private current: FaultPlan = {};
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    readonly target: string,
    private readonly random: () => number,
  ) {}

  /** A proxy on 127.0.0.1:`port` (0: any free port) to `target` (`http://127.0.0.1:<port>`). */
  static async start(options: {
    port?: number;
    target: string;
    seed: number;
    plan?: FaultPlan;
  }): Promise<HttpFaultProxy> {
    const server = http.createServer();
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    const proxy = new HttpFaultProxy(
      server,
      (server.address() as AddressInfo).port,
      options.target.replace(/\/+$/, ""),
      seededRandom(options.seed),
    );
    if (options.plan) proxy.plan(options.plan);
    server.on("request", (req, res) => void proxy.handle(req, res));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Replaces the faults applied from the next request on. */
  plan(plan: FaultPlan): void {
    this.current = { ...plan };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const plan = this.current;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > MAX_BODY) throw new Error("body too large for the fault proxy");
        chunks.push(c as Buffer);
      }
    } catch {
      res.destroy();
      return;
    }
    const body = Buffer.concat(chunks);
    if ((plan.drop ?? 0) > 0 && this.random() < plan.drop!) {
      this.counters.dropped++;
      req.socket.destroy();
      return;
    }
    let wait = 0;
    if (plan.delay) wait += plan.delay.minMs + this.random() * (plan.delay.maxMs - plan.delay.minMs);
    if (plan.reorderMs) wait += this.random() * plan.reorderMs;
    const duplicate = (plan.duplicate ?? 0) > 0 && this.random() < plan.duplicate!;
    if (wait > 0) {
      this.counters.delayed++;
      await new Promise((r) => setTimeout(r, wait));
    }
    const headers = { ...req.headers, host: new URL(this.target).host };
    try {
      const answer = await this.forward(req.method ?? "GET", req.url ?? "/", headers, body);
      this.counters.forwarded++;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch {
      this.counters.failed++;
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ ok: false, error: { code: "TRANSPORT_UNREACHABLE", message: "fault proxy: target down" } }),
      );
      return;
    }
    if (duplicate) {
      this.counters.duplicated++;
      await this.forward(req.method ?? "GET", req.url ?? "/", headers, body).catch(() => undefined);
    }
  }

  private forward(
    method: string,
    url: string,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const out = http.request(`${this.target}${url}`, { method, headers, agent: this.agent, timeout: 30_000 }, (r) => {
        const parts: Buffer[] = [];
        r.on("data", (c: Buffer) => parts.push(c));
        r.on("end", () => {
          const h = { ...r.headers };
          delete h["transfer-encoding"];
          delete h.connection;
          resolve({ status: r.statusCode ?? 502, headers: h, body: Buffer.concat(parts) });
        });
        r.on("error", reject);
      });
      out.on("timeout", () => out.destroy(new Error("timeout")));
      out.on("error", reject);
      out.end(body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
