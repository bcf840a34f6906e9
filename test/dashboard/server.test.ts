/**
 * `hms dashboard`'s server against a real chain (Hardhat's in-process chain over JSON-RPC, the system deployed by
 * deploySystem): one collector polls upstream whatever the number of browsers — twenty SSE clients do not add
 * RPC calls (counted by a proxy in front of the chain) — every client receives each change, and bad requests get
 * typed errors.
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { deploySystem, localDeployOptions, type Deployment } from "../../offchain/chain";
import { isHmsError } from "../../offchain/core/errors";
import { silentLogger } from "../../offchain/core/logger";
import { serveChain } from "../../offchain/devnet/cluster";
import { dashboardConfigSchema } from "../../offchain/dashboard/config";
import { DEFAULT_ASSETS_DIR, startDashboard, type DashboardServer } from "../../offchain/dashboard/server";
import type { Snapshot } from "../../offchain/dashboard/snapshot";

/** A JSON-RPC proxy that counts the requests it forwards. */
async function countingProxy(target: string): Promise<{ url: string; count: () => number; close(): Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      n++;
      try {
        const up = await fetch(target, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: Buffer.concat(chunks),
        });
        res.writeHead(up.status, { "content-type": "application/json" }).end(Buffer.from(await up.arrayBuffer()));
      } catch {
        res.writeHead(502).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, count: () => n, close: () => new Promise((r) => server.close(() => r())) };
}

/** An SSE client (fetch streaming): every `snapshot` event's parsed data. */
function sseClient(url: string): { events: Snapshot[]; close(): void } {
  const events: Snapshot[] = [];
  const ac = new AbortController();
  void (async () => {
    try {
      const res = await fetch(url, { signal: ac.signal });
      const reader = res.body!.getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += Buffer.from(value).toString("utf8");
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = frame.split("\n").find((l) => l.startsWith("data: "));
          if (frame.includes("event: snapshot") && data) events.push(JSON.parse(data.slice(6)) as Snapshot);
        }
      }
    } catch {
      // aborted
    }
  })();
  return { events, close: () => ac.abort() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("dashboard server (real chain)", function () {
  this.timeout(300_000);
  let deployment: Deployment;
  let chain: { url: string; close(): Promise<void> };
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let dashboard: DashboardServer;

  before(async function () {
    if (!fs.existsSync(path.join(DEFAULT_ASSETS_DIR, "index.html"))) {
      console.log("      (run npm run dashboard:build first)");
      this.skip();
    }
    const publicClient = await hre.viem.getPublicClient();
    const wallets = await hre.viem.getWalletClients();
    deployment = await deploySystem(publicClient, wallets[0], hre.artifacts, {
      ...localDeployOptions(wallets.map((w) => w.account.address)),
      network: hre.network.name,
    });
    chain = await serveChain(hre);
    proxy = await countingProxy(chain.url);
    const config = dashboardConfigSchema.parse({
      rpcUrl: proxy.url,
      deployment: "in-memory",
      listen: { port: 0 },
      chainPollMs: 300,
      healthPollMs: 300,
    });
    dashboard = await startDashboard(config, { logger: silentLogger(), deployment });
  });

  after(async () => {
    await dashboard?.close();
    await proxy?.close();
    await chain?.close();
  });

  it("twenty SSE clients add no upstream RPC calls, and each receives every change", async () => {
    await sleep(1_000);
    let c0 = proxy.count();
    await sleep(3_000);
    const idle = proxy.count() - c0;
    const clients = Array.from({ length: 20 }, () => sseClient(`${dashboard.url}/api/events`));
    try {
      const deadline = Date.now() + 20_000;
      while (clients.some((c) => c.events.length === 0) && Date.now() < deadline) await sleep(100);
      expect(clients.every((c) => c.events.length > 0)).to.equal(true);
      expect(dashboard.clients).to.equal(20);
      c0 = proxy.count();
      await sleep(3_000);
      const busy = proxy.count() - c0;
      console.log(`      RPC calls in 3 s: ${idle} with no browser, ${busy} with 20 SSE clients`);
      expect(idle).to.be.greaterThan(0);
      expect(busy).to.be.at.most(idle * 1.5 + 5);
      // A new block reaches every client.
      const testClient = await hre.viem.getTestClient();
      await testClient.mine({ blocks: 1 });
      const head = (await (await hre.viem.getPublicClient()).getBlockNumber()).toString();
      const until = Date.now() + 20_000;
      while (clients.some((c) => !c.events.some((e) => e.chain?.blockNumber === head)) && Date.now() < until)
        await sleep(100);
      const seen = clients.map((c) => c.events[c.events.length - 1]?.chain?.blockNumber);
      expect(seen, `head ${head}, clients at ${seen.join(",")}`).to.deep.equal(clients.map(() => head));
    } finally {
      for (const c of clients) c.close();
    }
  });

  it("answers typed errors: a malformed period 400, an unknown one 404", async () => {
    const bad = await fetch(`${dashboard.url}/api/reports/abc`);
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).to.equal("DASHBOARD_BAD_REQUEST");
    const missing = await fetch(`${dashboard.url}/api/reports/12345`);
    expect(missing.status).to.equal(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).to.equal("DASHBOARD_NOT_FOUND");
    const spa = await fetch(`${dashboard.url}/some/client/route`);
    expect(spa.headers.get("content-type")).to.match(/text\/html/);
    expect(await spa.text()).to.include("HMS Network");
  });

  it("refuses to start without built assets (DASHBOARD_NOT_BUILT)", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "hms-dashboard-empty-"));
    try {
      const config = dashboardConfigSchema.parse({
        rpcUrl: chain.url,
        deployment: "x",
        listen: { port: 0 },
        assetsDir: empty,
      });
      await startDashboard(config, { logger: silentLogger(), deployment });
      expect.fail("started without assets");
    } catch (err) {
      expect(isHmsError(err, "DASHBOARD_NOT_BUILT")).to.equal(true);
      expect((err as { exitCode: number }).exitCode).to.equal(2);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
