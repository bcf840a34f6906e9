/**
 * The dashboard end to end, in a real browser: Hardhat's in-process chain served over JSON-RPC with the whole
 * system deployed (deploySystem) and the demo's activity on it (bookkeepers elected, a period reported by the
 * committee and claimed by three nodes, a market lease with withdrawals and the 1 % fee), two real storage
 * workers (`hms storage` child processes), `hms dashboard`'s server in process, and the system Chromium driven by
 * playwright-core. Screenshots go to test-artifacts/dashboard/ (gitignored).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { chromium, type Browser, type Page } from "playwright-core";
import type { Hex } from "viem";
import { deploySystem, localDeployOptions } from "../../offchain/chain";
import { silentLogger } from "../../offchain/core/logger";
import { ROOT, serveChain } from "../../offchain/devnet/cluster";
import { StorageCluster } from "../../offchain/testing/storage-cluster";
import { buildAssets } from "../../offchain/dashboard/assets";
import { dashboardConfigSchema } from "../../offchain/dashboard/config";
import { startDashboard, type DashboardServer } from "../../offchain/dashboard/server";
import type { Snapshot } from "../../offchain/dashboard/snapshot";
import { makeContext, type DemoContext } from "../../scripts/demo/context";
import { bookkeepersChapter } from "../../scripts/demo/bookkeepers";
import { rewardsChapter } from "../../scripts/demo/rewards";
import { marketChapter } from "../../scripts/demo/market";
import { seriousViolations } from "./axe";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "test-artifacts", "dashboard");
const HEALTH_POLL_MS = 500;
const REQUEST_TIMEOUT_MS = 400;

/** Runs `fn` with console.log silenced (the demo chapters print their tables). */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => undefined;
  try {
    return await fn();
  } finally {
    console.log = log;
  }
}

describe("dashboard in a real browser (chain, storage workers, Chromium)", function () {
  this.timeout(600_000);
  let ctx: DemoContext;
  let chain: { url: string; close(): Promise<void> };
  let storage: StorageCluster | undefined;
  let dashboard: DashboardServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const consoleErrors: string[] = [];
  let dir: string;

  before(async function () {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-dashboard-test-"));
    // The SPA is built from source by the same step as `npm run dashboard:build`, into a directory of this test's
    // own: rebuilding dist/dashboard would pull the files from under the other dashboards the suite runs at once.
    const assets = buildAssets(path.join(dir, "assets"));

    const publicClient = await hre.viem.getPublicClient();
    const testClient = await hre.viem.getTestClient();
    const wallets = await hre.viem.getWalletClients();
    const deployment = await deploySystem(publicClient, wallets[0], hre.artifacts, {
      ...localDeployOptions(wallets.map((w) => w.account.address)),
      network: hre.network.name,
    });
    ctx = makeContext(hre, publicClient, testClient, wallets, deployment);
    await quietly(async () => {
      await bookkeepersChapter(ctx);
      await rewardsChapter(ctx);
      await marketChapter(ctx);
    });
    chain = await serveChain(hre);
    storage = await StorageCluster.start({ dir, count: 2, logLevel: "warn", region: (i) => ["eu-west", "us-east"][i] });
    const config = dashboardConfigSchema.parse({
      rpcUrl: chain.url,
      deployment: "in-memory",
      listen: { host: "127.0.0.1", port: 0 },
      chainPollMs: 500,
      healthPollMs: HEALTH_POLL_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      storage: storage.workers.map((w) => w.url),
      assetsDir: assets,
    });
    dashboard = await startDashboard(config, { logger: silentLogger(), deployment });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await storage?.stopAll();
    await chain?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("loads without console errors and shows the chain and both storage workers up", async () => {
    await page.goto(`${dashboard!.url}/#network`);
    await page.waitForSelector("main[data-version] #view-network");
    await page.waitForSelector('[data-testid="storage-workers"] [data-status="up"]');
    const block = await page.textContent('[data-testid="block"]');
    expect(BigInt(block!)).to.equal(await ctx.publicClient.getBlockNumber());
    const ups = await page.locator('[data-testid="storage-workers"] [data-status="up"]').count();
    expect(ups).to.equal(2);
    await page.screenshot({ path: path.join(ARTIFACTS, "network.png"), fullPage: true });
    expect(consoleErrors, consoleErrors.join("\n")).to.deep.equal([]);
  });

  it("a reported period shows the same signers and payouts as the chain", async () => {
    const pool = ctx.hms.MiningPool.address;
    const reported = await ctx.publicClient.getContractEvents({
      address: pool,
      abi: (await import("../../offchain/chain/abis")).abis.MiningPool,
      eventName: "PeriodReported",
      fromBlock: 0n,
      strict: true,
    });
    expect(reported.length).to.be.greaterThan(0);
    const period = reported[reported.length - 1].args.period;
    const claims = await ctx.publicClient.getContractEvents({
      address: pool,
      abi: (await import("../../offchain/chain/abis")).abis.MiningPool,
      eventName: "Claimed",
      args: { period },
      fromBlock: 0n,
      strict: true,
    });
    expect(claims.length).to.equal(3);
    await page.goto(`${dashboard!.url}/#rewards`);
    await page.waitForSelector(`[data-testid="payouts-${period}"] [data-amount]`);
    await page.selectOption("#period-select", period.toString());
    const rows = await page.$$eval(`[data-testid="payouts-${period}"] tbody tr`, (trs) =>
      trs.map((tr) => ({
        node: tr.querySelector("[data-node]")!.getAttribute("data-node")!,
        amount: tr.querySelector("[data-amount]")!.getAttribute("data-amount")!,
      })),
    );
    const onChain = claims.map((c) => ({ node: c.args.nodeId as Hex, amount: c.args.amount.toString() }));
    const key = (x: { node: string }) => x.node.toLowerCase();
    expect([...rows].sort((a, b) => key(a).localeCompare(key(b)))).to.deep.equal(
      [...onChain]
        .map((x) => ({ node: x.node.toLowerCase(), amount: x.amount }))
        .sort((a, b) => key(a).localeCompare(key(b))),
    );
    // Signers: the page lists as many as the attestation's bitmap has bits.
    const bits = reported[reported.length - 1].args.attestation.signers;
    const expected = bits
      .toString(2)
      .split("")
      .filter((b) => b === "1").length;
    const snap = (await (await fetch(`${dashboard!.url}/api/snapshot`)).json()) as Snapshot;
    expect(snap.periods.find((p) => p.period === period.toString())!.signers.length).to.equal(expected);
    // The chart is drawn (uPlot's canvas).
    expect(await page.locator("figure.chart canvas").count()).to.be.greaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, "rewards.png"), fullPage: true });
  });

  it("updates live over Server-Sent Events: a new block appears without a reload", async () => {
    await page.goto(`${dashboard!.url}/#network`);
    await page.waitForSelector('[data-testid="block"]');
    const before = BigInt((await page.textContent('[data-testid="block"]'))!);
    await ctx.testClient.mine({ blocks: 3 });
    const target = await ctx.publicClient.getBlockNumber();
    expect(target).to.equal(before + 3n);
    await page.waitForSelector(`[data-testid="block"]:text-is("${target}")`, { timeout: 10_000 });
  });

  it("a killed storage worker turns red within one health poll (+ request timeout)", async () => {
    await page.goto(`${dashboard!.url}/#network`);
    await page.waitForSelector('[data-testid="storage-workers"] [data-status="up"]');
    const url = storage!.workers[1].url;
    const t0 = Date.now();
    await storage!.kill(1);
    await page.waitForSelector(`tr:has([data-testid="storage-${url}"]) [data-status="down"]`, { timeout: 10_000 });
    const ms = Date.now() - t0;
    console.log(
      `      storage worker shown down ${ms} ms after SIGKILL (poll ${HEALTH_POLL_MS} ms, timeout ${REQUEST_TIMEOUT_MS} ms)`,
    );
    expect(ms).to.be.lessThan(HEALTH_POLL_MS + REQUEST_TIMEOUT_MS + 1_500);
    const other = await page.$eval(`[data-testid="storage-${storage!.workers[0].url}"]`, (el) =>
      el.closest("tr")!.querySelector("[data-status]")!.getAttribute("data-status"),
    );
    expect(other).to.equal("up");
    await page.screenshot({ path: path.join(ARTIFACTS, "network-worker-down.png"), fullPage: true });
  });

  it("every view passes axe-core with no serious or critical violation", async () => {
    const found = await seriousViolations(page, dashboard!.url, async (view) => {
      await page.screenshot({ path: path.join(ARTIFACTS, `${view}.png`), fullPage: true });
    });
    expect(found, found.join("\n")).to.deep.equal([]);
    expect(consoleErrors, consoleErrors.join("\n")).to.deep.equal([]);
  });
});
