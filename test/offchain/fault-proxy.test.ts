/**
 * The chaos matrix's fault-injecting HTTP proxy (offchain/testing/fault-proxy.ts) against a real HTTP server:
 * it forwards bodies and statuses unchanged; drops (the sender sees a reset, the target nothing); duplicates (the
 * target sees the request twice, the sender one answer); delays and reorders (a later request overtakes an
 * earlier one); answers 502 when the target is down; and the same seed draws the same faults.
 */
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HttpFaultProxy } from "../../offchain/testing/fault-proxy";

describe("HttpFaultProxy", function () {
  let server: http.Server;
  let target: string;
  const seen: string[] = [];
  const proxies: HttpFaultProxy[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        const body = Buffer.concat(parts).toString();
        seen.push(body);
        res.writeHead(body === "teapot" ? 418 : 200, { "content-type": "text/plain", "x-echo": "1" });
        res.end(`echo:${body}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    seen.length = 0;
  });
  afterEach(async () => {
    for (const p of proxies.splice(0)) await p.close();
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const start = async (seed = 1) => {
    const p = await HttpFaultProxy.start({ target, seed });
    proxies.push(p);
    return p;
  };
  const post = (url: string, body: string) =>
    fetch(`${url}/v1/msg`, { method: "POST", body, headers: { "content-type": "text/plain" } });

  it("forwards the body, the status and the headers unchanged", async () => {
    const p = await start();
    const res = await post(p.url, "teapot");
    expect(res.status).to.equal(418);
    expect(res.headers.get("x-echo")).to.equal("1");
    expect(await res.text()).to.equal("echo:teapot");
    expect(seen).to.deep.equal(["teapot"]);
    expect(p.counters.forwarded).to.equal(1);
  });

  it("drop: the sender's request fails and the target sees nothing", async () => {
    const p = await start();
    p.plan({ drop: 1 });
    let failed = false;
    try {
      await post(p.url, "lost");
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
    expect(seen).to.deep.equal([]);
    expect(p.counters.dropped).to.equal(1);
    p.plan({});
    expect(await (await post(p.url, "healed")).text()).to.equal("echo:healed");
  });

  it("duplicate: the target sees the request twice, the sender gets one answer", async () => {
    const p = await start();
    p.plan({ duplicate: 1 });
    expect(await (await post(p.url, "twice")).text()).to.equal("echo:twice");
    const deadline = Date.now() + 2_000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen).to.deep.equal(["twice", "twice"]);
    expect(p.counters.duplicated).to.equal(1);
  });

  it("delay and reorder: requests are held, and a later one can overtake an earlier one", async () => {
    const p = await start(7);
    p.plan({ delay: { minMs: 20, maxMs: 40 }, reorderMs: 150 });
    const t = Date.now();
    const sent = Array.from({ length: 12 }, (_, i) => `m${i}`);
    await Promise.all(sent.map((m) => post(p.url, m)));
    expect(Date.now() - t).to.be.at.least(20);
    expect([...seen].sort()).to.deep.equal([...sent].sort());
    expect(seen).to.not.deep.equal(sent);
    expect(p.counters.delayed).to.equal(12);
  });

  it("answers 502 TRANSPORT_UNREACHABLE when the target is down", async () => {
    const p = await HttpFaultProxy.start({ target: "http://127.0.0.1:1", seed: 1 });
    proxies.push(p);
    const res = await post(p.url, "nobody");
    expect(res.status).to.equal(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("TRANSPORT_UNREACHABLE");
    expect(p.counters.failed).to.equal(1);
  });

  it("the same seed draws the same faults", async () => {
    const outcomes = async (seed: number) => {
      const p = await start(seed);
      p.plan({ drop: 0.5 });
      const r: boolean[] = [];
      for (let i = 0; i < 16; i++)
        r.push(
          await post(p.url, `s${i}`).then(
            () => true,
            () => false,
          ),
        );
      return r;
    };
    const a = await outcomes(42);
    const b = await outcomes(42);
    expect(a).to.deep.equal(b);
    expect(a.some((x) => x) && a.some((x) => !x)).to.equal(true);
  });
});
