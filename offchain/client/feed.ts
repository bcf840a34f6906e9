/**
 * The validators' client of the traffic feed: reads `GET /v1/receipts` from a meta node (or the stand-in
 * traffic source in tests) and checks that it serves the expected chain and pool.
 */
import { Agent, request } from "undici";
import type { Address } from "viem";
import { TransportError, relayedCode } from "../core/errors";
import {
  MAX_FEED_SPAN,
  RECEIPTS_PATH,
  periodFromWire,
  type PeriodReceipts,
  type TrafficFeed,
  type WirePeriod,
} from "../protocol/receipts";

/** A {@link TrafficFeed} read from a traffic source (or meta node) over HTTP. */
export class HttpTrafficFeed implements TrafficFeed {
  private readonly agent: Agent;
  private readonly base: string;

  constructor(
    url: string,
    private readonly options: { timeoutMs?: number; chainId?: number; pool?: Address } = {},
  ) {
    this.base = url.replace(/\/+$/, "");
    const timeout = options.timeoutMs ?? 10_000;
    this.agent = new Agent({ keepAliveTimeout: 10_000, headersTimeout: timeout, bodyTimeout: timeout });
  }

  /**
   * Fetches receipts of `from`..`to` (split into MAX_FEED_SPAN chunks). Throws a {@link TransportError}
   * (`UNREACHABLE`, `HTTP_<status>`, `TRAFFIC_WIRE`) or, if the source serves another chain or pool than
   * expected, `TRAFFIC_DOMAIN`.
   */
  async receipts(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    const out: PeriodReceipts[] = [];
    for (let lo = from; lo <= to; lo += BigInt(MAX_FEED_SPAN)) {
      const hi = lo + BigInt(MAX_FEED_SPAN) - 1n < to ? lo + BigInt(MAX_FEED_SPAN) - 1n : to;
      out.push(...(await this.fetch(lo, hi)));
    }
    return out;
  }

  private async fetch(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    const url = `${this.base}${RECEIPTS_PATH}?from=${from}&to=${to}`;
    let res;
    try {
      res = await request(url, { method: "GET", dispatcher: this.agent });
    } catch (err) {
      throw new TransportError(
        "TRANSPORT_UNREACHABLE",
        0,
        `traffic source ${this.base} unreachable: ${(err as Error).message}`,
        {
          value: this.base,
          cause: err,
        },
      );
    }
    const text = await res.body.text();
    let body: { ok?: boolean; chainId?: number; pool?: string; periods?: WirePeriod[]; error?: { message?: string } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new TransportError("TRANSPORT_BAD_REPLY", res.statusCode, `non-JSON reply from ${url}`, {
        value: text.slice(0, 200),
      });
    }
    if (res.statusCode !== 200 || !Array.isArray(body.periods))
      throw new TransportError(
        relayedCode((body.error as { code?: unknown } | undefined)?.code, "TRANSPORT_HTTP_STATUS"),
        res.statusCode,
        body.error?.message ?? `HTTP ${res.statusCode}`,
        { value: url, details: { status: res.statusCode } },
      );
    if (
      (this.options.chainId !== undefined && body.chainId !== this.options.chainId) ||
      (this.options.pool !== undefined && body.pool?.toLowerCase() !== this.options.pool.toLowerCase())
    )
      throw new TransportError("TRAFFIC_DOMAIN", 502, `traffic source serves chain ${body.chainId} pool ${body.pool}`, {
        value: { chainId: body.chainId, pool: body.pool },
      });
    return body.periods.map(periodFromWire);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
