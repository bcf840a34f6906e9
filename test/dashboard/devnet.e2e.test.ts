/**
 * The dashboard of a running devnet, in a real browser: `hms devnet up` (real processes: a `hardhat node`, 3 meta
 * nodes, 4 storage workers in 2 regions, a validator, the traffic source and `hms dashboard`, each detached) and
 * the system Chromium driven by playwright-core against the devnet's own dashboard. Checked against the sources
 * themselves: the meta master and its term (a meta node's `GET /v1/status`), a file uploaded through the storage
 * SDK with its 3 copies per slice (`/v1/locate`), a storage worker killed with SIGKILL shown down within the
 * meta layer's heartbeat timeout and its slices repaired to 3 live copies by the master, a period reported by the
 * validator after the chain's clock is moved past its end (`evm_increaseTime`) and claimed, with the chain's
 * payouts (`Claimed` events), and the validator's committee and PBFT rounds (`/metrics`). axe-core on every
 * view; screenshots in test-artifacts/dashboard/devnet-*.png; `HMS_SCREENSHOT=docs/dashboard.png` also writes
 * the README's screenshot (the Network view once the file is stored and the period reported).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { chromium, type Browser, type Page } from "playwright-core";
import type { Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { abis } from "../../offchain/chain/abis";
import { hmsContracts } from "../../offchain/chain/contracts";
import { contractAddress, loadDeployment } from "../../offchain/chain/deployment";
import { HARDHAT_MNEMONIC, hardhatPrivateKey, localChain, type LocalChain } from "../../offchain/chain/local";
import { claimArgs, readPeriod } from "../../offchain/chain/rewards";
import { createStorageClient, hmsStorageActions } from "../../offchain/client/storage";
import { buildAssets } from "../../offchain/dashboard/assets";
import type { Snapshot } from "../../offchain/dashboard/snapshot";
import { validatorMetrics } from "../../offchain/dashboard/sources/daemons";
import { ROOT, runHms } from "../../offchain/devnet/cluster";
import { devnetDown, type DevnetProcess, type DevnetState } from "../../offchain/devnet/devnet";
import { seriousViolations } from "./axe";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "test-artifacts", "dashboard");
/** The meta master's heartbeat timeout (offchain/meta/config.ts `health.downAfterMs`, the devnet's default). */
const HEARTBEAT_TIMEOUT_MS = 3_000;
const KIB = 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

async function getJson<T = Record<string, unknown>>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

interface Located {
  slices: { cid: string; replicas: { nodeId: string; url: string }[] }[];
}

describe("dashboard of a running devnet in a real browser (hms devnet up, Chromium)", function () {
  this.timeout(600_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "hms-dashboard-devnet-"));
  const dir = path.join(root, "devnet");
  let state: DevnetState;
  let chain: LocalChain;
  let browser: Browser | undefined;
  let page: Page;
  let dashboard: string;
  const consoleErrors: string[] = [];
  const owner = () => chain.account(3); // one of the Hardhat accounts the devnet's dashboard lists the files of
  const FILE = "/e2e/photo.bin";
  let located: Located;
  let killed: DevnetProcess;
  const of = (role: string) => state.processes.filter((p) => p.role === role);

  before(async function () {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // Assets of its own (a rebuild of dist/dashboard would pull them from under the other dashboards of the suite).
    const assets = buildAssets(path.join(root, "assets"));
    const t0 = Date.now();
    const up = await runHms(
      [
        "devnet",
        "up",
        "--dir",
        dir,
        "--json",
        "--bookkeepers",
        "1",
        "--storage",
        "4",
        "--compute",
        "1",
        "--meta",
        "3",
        "--regions",
        "276,840",
        "--log-level",
        "warn",
      ],
      { HMS_DASHBOARD_ASSETS_DIR: assets },
      400_000,
    );
    expect(up.code, up.stderr).to.equal(0);
    state = JSON.parse(up.stdout) as DevnetState;
    console.log(`      devnet up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    dashboard = of("dashboard")[0].url;
    chain = localChain(state.rpcUrl);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
  });

  after(async () => {
    await browser?.close();
    await devnetDown(dir, { graceMs: 3_000 }).catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("loads without console errors and shows the elected meta master and its term as the meta nodes say", async () => {
    await page.goto(`${dashboard}/#network`);
    await page.waitForSelector("main[data-version] #view-network");
    await page.waitForSelector('[data-testid="meta-leader"]');
    await page.waitForSelector(`[data-testid="storage-workers"] [data-status="up"]`);
    // The page and the meta nodes agree (asked at the same moment; retried across an election in between).
    await waitFor(
      "the page's master and term to be a meta node's",
      async () => {
        const shown = await page.$eval('[data-testid="meta-leader"]', (el) => ({
          url: el.getAttribute("data-url")!,
          term: el.getAttribute("data-term")!,
        }));
        const st = await getJson<{ role: string; term: string }>(`${shown.url}/v1/status`);
        if (st.role !== "leader" || st.term !== shown.term) return undefined;
        for (const m of of("meta")) {
          const s = await getJson<{ role: string; term: string }>(`${m.url}/v1/status`);
          const row = await page.$eval(`tr:has([data-meta="${m.url}"])`, (tr) => ({
            role: tr.querySelector("[data-role]")!.getAttribute("data-role"),
            term: tr.querySelector("[data-term]")!.getAttribute("data-term"),
          }));
          if (row.role !== s.role || row.term !== s.term) return undefined;
        }
        return true;
      },
      15_000,
    );
    expect(await page.locator('[data-testid="storage-workers"] [data-status="up"]').count()).to.equal(4);
    const block = BigInt((await page.textContent('[data-testid="block"]'))!);
    expect(block > 0n).to.equal(true);
    await page.screenshot({ path: path.join(ARTIFACTS, "devnet-network.png"), fullPage: true });
    expect(consoleErrors, consoleErrors.join("\n")).to.deep.equal([]);
  });

  it("a file uploaded through the storage SDK appears in the Data view with 3 copies of every slice", async () => {
    const storage = createStorageClient({ metaUrls: of("meta").map((m) => m.url), owner: owner() }).extend(
      hmsStorageActions,
    );
    let index: string;
    try {
      const put = await storage.putFile({ source: randomBytes(700 * KIB), path: FILE, sliceSize: 256 * KIB });
      expect(put.slices).to.equal(3);
      index = put.commit.index.toString();
    } finally {
      await storage.close();
    }
    // Read-your-writes: a meta node answers once it has applied the commit (409 META_STALE_READ before).
    const q = new URLSearchParams({ owner: owner().address, path: FILE, minIndex: index });
    located = await waitFor(
      "the commit on a meta node",
      async () => (await getJson<{ file: Located }>(`${of("meta")[0].url}/v1/locate?${q}`)).file,
      10_000,
    );
    expect(located.slices.every((s) => s.replicas.length === 3)).to.equal(true);

    await page.goto(`${dashboard}/#data`);
    const row = `[data-testid="files"] tr:has([data-file="${FILE}"])`;
    await page.waitForSelector(`${row} [data-copies="3"]`, { timeout: 15_000 });
    expect(await page.getAttribute(`${row} [data-repair]`, "data-repair")).to.equal("complete");
    const map = `[data-testid="replica-map"][data-file="${FILE}"]`;
    expect(
      await page.$$eval(`${map} [data-live-copies]`, (els) => els.map((e) => e.getAttribute("data-live-copies"))),
    ).to.deep.equal(["3", "3", "3"]);
    // The page's copies are the meta index's, slice by slice.
    const snap = await getJson<Snapshot>(`${dashboard}/api/snapshot`);
    const shown = snap.meta.files.find((f) => f.path === FILE)!;
    expect(shown.slices.map((s) => s.replicas.map((r) => r.nodeId.toLowerCase()).sort())).to.deep.equal(
      located.slices.map((s) => s.replicas.map((r) => r.nodeId.toLowerCase()).sort()),
    );
    await page.screenshot({ path: path.join(ARTIFACTS, "devnet-data.png"), fullPage: true });
  });

  it("a storage worker killed with SIGKILL turns red within the heartbeat timeout; its slices are repaired to 3 live copies", async () => {
    // A worker that holds a copy of the first slice.
    const holder = located.slices[0].replicas[0];
    killed = of("storage").find((p) => p.url === holder.url)!;
    expect(killed, holder.url).to.not.equal(undefined);
    await page.goto(`${dashboard}/#network`);
    await page.waitForSelector(`tr:has([data-testid="storage-${killed.url}"]) [data-status="up"]`);
    const t0 = Date.now();
    process.kill(killed.pid!, "SIGKILL");
    await page.waitForSelector(`tr:has([data-testid="storage-${killed.url}"]) [data-status="down"]`, {
      timeout: 10_000,
    });
    const ms = Date.now() - t0;
    console.log(
      `      storage worker shown down ${ms} ms after SIGKILL (heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms)`,
    );
    expect(ms).to.be.lessThan(HEARTBEAT_TIMEOUT_MS);
    expect(await page.locator('[data-testid="storage-workers"] [data-status="up"]').count()).to.equal(3);
    await page.screenshot({ path: path.join(ARTIFACTS, "devnet-worker-down.png"), fullPage: true });

    // The master's repair pass copies its slices to live workers: the page shows 3 live copies again, none on
    // the dead worker, as the meta index has them.
    await page.goto(`${dashboard}/#data`);
    const row = `[data-testid="files"] tr:has([data-file="${FILE}"])`;
    await page.waitForSelector(`${row} [data-repair="complete"]`, { timeout: 30_000 });
    const repaired = Date.now() - t0;
    expect(await page.getAttribute(`${row} [data-copies]`, "data-copies")).to.equal("3");
    const snap = await getJson<Snapshot>(`${dashboard}/api/snapshot`);
    const shown = snap.meta.files.find((f) => f.path === FILE)!;
    // The master's view (its repair writes are the latest of the index).
    const master = snap.meta.leader!.url;
    const q = new URLSearchParams({ owner: owner().address, path: FILE });
    const after = (await getJson<{ file: Located }>(`${master}/v1/locate?${q}`)).file;
    for (const [i, s] of shown.slices.entries()) {
      expect(
        s.replicas.filter((r) => r.up === true),
        `slice ${i}`,
      ).to.have.length(3);
      expect(s.replicas.map((r) => r.url)).to.not.include(killed.url);
      expect(s.replicas.map((r) => r.nodeId.toLowerCase()).sort()).to.deep.equal(
        after.slices[i].replicas.map((r) => r.nodeId.toLowerCase()).sort(),
      );
    }
    console.log(`      slices repaired to 3 live copies ${repaired} ms after SIGKILL`);
    await page.screenshot({ path: path.join(ARTIFACTS, "devnet-data-repaired.png"), fullPage: true });
  });

  it("a period reported by the validator (the chain's clock moved past its end) shows the chain's payouts", async () => {
    const deployment = loadDeployment(state.deployment);
    const pool = contractAddress(deployment, "MiningPool");
    const c = hmsContracts(chain.clients(19), deployment);
    const [genesis, length] = (await Promise.all([c.MiningPool.read.genesis(), c.MiningPool.read.periodLength()])).map(
      (x) => BigInt(x),
    );
    // The period of the upload (and of the repair) ends: the validator reports it from the meta layer's receipts.
    const now = (await chain.publicClient.getBlock()).timestamp;
    const period = (now - genesis) / length;
    const end = genesis + (period + 1n) * length;
    await chain.testClient.increaseTime({ seconds: Number(end - now) + 1 });
    await chain.testClient.mine({ blocks: 1 });
    const t0 = Date.now();
    await waitFor(
      `period ${period} reported`,
      async () => ((await c.MiningPool.read.periodRecord([period]))[0] ? true : undefined),
      120_000,
    );
    console.log(`      period ${period} reported ${((Date.now() - t0) / 1000).toFixed(1)} s after its end`);
    const onChain = await readPeriod(chain.publicClient, pool, period);
    expect(onChain.terms.totalTraffic > 0n).to.equal(true);
    // Every rewarded node claims with the validator's document (anyone may relay a claim).
    const doc = await getJson<{ claims: { index: number; nodeId: Hex; traffic: string; proof: Hex[] }[] }>(
      `${of("validator")[0].url}/v1/reports/${period}`,
    );
    expect(doc.claims.length).to.be.greaterThan(0);
    for (const claim of doc.claims) {
      const hash = await c.MiningPool.write.claim(claimArgs(onChain, { ...claim, traffic: BigInt(claim.traffic) }));
      await chain.wait(hash);
    }
    const claims = await chain.publicClient.getContractEvents({
      address: pool,
      abi: abis.MiningPool,
      eventName: "Claimed",
      args: { period },
      fromBlock: 0n,
      strict: true,
    });
    expect(claims).to.have.length(doc.claims.length);

    await page.goto(`${dashboard}/#rewards`);
    const table = `[data-testid="payouts-${period}"]`;
    await page.waitForSelector(`#period-select option[value="${period}"]`, { state: "attached", timeout: 20_000 });
    await page.selectOption("#period-select", period.toString());
    await waitFor(
      "every payout on the page",
      async () => ((await page.locator(`${table} [data-amount]`).count()) === claims.length ? true : undefined),
      20_000,
    );
    const rows = await page.$$eval(`${table} tbody tr`, (trs) =>
      trs.map((tr) => ({
        node: tr.querySelector("[data-node]")!.getAttribute("data-node")!.toLowerCase(),
        amount: tr.querySelector("[data-amount]")!.getAttribute("data-amount")!,
      })),
    );
    const chainRows = claims.map((x) => ({ node: x.args.nodeId.toLowerCase(), amount: x.args.amount.toString() }));
    const byNode = (a: { node: string }, b: { node: string }) => a.node.localeCompare(b.node);
    expect([...rows].sort(byNode)).to.deep.equal([...chainRows].sort(byNode));
    // The chart of a single reported period spans a period either side of it (not uPlot's default 0–100).
    const reported = (await getJson<Snapshot>(`${dashboard}/api/snapshot`)).periods.map((p) => Number(p.period));
    if (reported.length === 1)
      await page.waitForSelector(`figure.chart [data-x-range="${reported[0] - 1},${reported[0] + 1}"]`, {
        state: "attached",
        timeout: 5_000,
      });
    await page.screenshot({ path: path.join(ARTIFACTS, "devnet-rewards.png"), fullPage: true });
  });

  it("the consensus view shows the live committee, its leader and the validator's PBFT rounds from /metrics", async () => {
    const v = of("validator")[0];
    const health = await getJson<{ address: string; role: string }>(`${v.url}/health`);
    await page.goto(`${dashboard}/#consensus`);
    await page.waitForSelector(`[data-testid="committee"] [data-signing-key]`);
    const keys = await page.$$eval(`[data-testid="committee"] [data-signing-key]`, (els) =>
      els.map((e) => e.getAttribute("data-signing-key")!.toLowerCase()),
    );
    expect(keys).to.deep.equal([health.address.toLowerCase()]);
    // The leader of view 0 (position 0) is the primary the validator says it is.
    expect(health.role).to.equal("primary");
    expect(await page.textContent(`[data-testid="committee"] tbody tr:first-child td:last-child`)).to.equal("primary");
    // Rounds and view changes are the validator's own /metrics (one round at least: the period above).
    const metrics = validatorMetrics(await (await fetch(`${v.url}/metrics`)).text());
    expect(metrics.roundCount).to.be.greaterThan(0);
    const row = `[data-testid="pbft"] tr:has([data-validator="${v.url}"])`;
    await page.waitForSelector(`${row} [data-rounds="${metrics.roundCount}"]`, { timeout: 10_000 });
    expect(await page.getAttribute(`${row} [data-view-changes]`, "data-view-changes")).to.equal(
      String(metrics.viewChanges),
    );
    await page.screenshot({ path: path.join(ARTIFACTS, "devnet-consensus.png"), fullPage: true });
  });

  it("a workload leased with hms run --detach shows in the Market view with the usage its worker meters; hms stop ends it", async () => {
    const init = JSON.parse(fs.readFileSync(state.init, "utf8")) as {
      nodes: { name: string; nodeId: Hex; kind: string }[];
    };
    const computeNode = init.nodes.find((n) => n.kind === "compute")!;
    const base = { HMS_RPC_URL: state.rpcUrl, HMS_DEPLOYMENT: state.deployment };
    const cli = async (args: string[], env: Record<string, string>) => {
      const r = await runHms(args, { ...base, ...env }, 240_000);
      expect(r.code, `hms ${args.join(" ")}: ${r.stderr}`).to.equal(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    // The operator offers its node, the user gets HMS and leases a CPU-bound loop (the demo's chapter, detached).
    const operator = ["--keystore", state.keystore, "--password-file", state.passwordFile, "-y", "--json"];
    await cli(
      [
        "market",
        "offer",
        "--node",
        computeNode.nodeId,
        "--kind",
        "compute",
        "--units",
        "2000",
        "--price",
        "1gwei",
      ].concat(["--min-duration", "60", "--account", computeNode.name, ...operator]),
      {},
    );
    const user = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: 16 }).address;
    await cli(["transfer", user, "100", "-y", "--json"], { HMS_PRIVATE_KEY: hardhatPrivateKey(2) });
    const asUser = { HMS_PRIVATE_KEY: hardhatPrivateKey(16), HMS_USER_PRIVATE_KEY: hardhatPrivateKey(16) };
    const loop = ["sh", "-c", "i=0; while true; do i=$((i+1)); done"];
    const run = await cli(
      ["run", "--cpu", "250", "--memory", "64", "--duration", "600", "--detach", "--json", "--", ...loop],
      asUser,
    );
    const leaseId = String(run.leaseId);
    const worker = of("compute")[0].url;

    await page.goto(`${dashboard}/#market`);
    const row = `[data-testid="workloads"] tr:has([data-lease="${leaseId}"])`;
    await page.waitForSelector(`${row} [data-phase="running"]`, { timeout: 30_000 });
    // The metered CPU grows as the loop runs, and the page shows what the worker reports.
    await waitFor(
      "the page's metered CPU ≥ 0.5 s",
      async () => {
        const ms = Number(await page.getAttribute(`${row} [data-cpu-ms]`, "data-cpu-ms"));
        return ms >= 500 ? ms : undefined;
      },
      30_000,
    );
    const shown = Number(await page.getAttribute(`${row} [data-cpu-ms]`, "data-cpu-ms"));
    const reported = (
      await getJson<{ workload: { phase: string; cpuMs: string } }>(`${worker}/v1/workloads/${leaseId}`)
    ).workload;
    expect(reported.phase).to.equal("running");
    expect(Number(reported.cpuMs)).to.be.at.least(shown);
    expect(await page.textContent(`${row} td:nth-child(2)`)).to.equal(worker);
    // The lease itself, from the chain: in the Leases table, with its escrow held by the market.
    await page.waitForSelector(`[data-testid="leases"] tbody tr:has(td:first-child:text-is("${leaseId}"))`, {
      timeout: 30_000,
    });
    const snap = await getJson<Snapshot>(`${dashboard}/api/snapshot`);
    const lease = snap.market!.leases.find((l) => l.leaseId === leaseId)!;
    expect(lease, JSON.stringify(snap.market)).to.not.equal(undefined);
    expect(lease.statusName).to.equal("active");
    expect(BigInt(lease.ratePerSecond) > 0n && BigInt(lease.escrow) > 0n, JSON.stringify(lease)).to.equal(true);
    // The page never shows a non-zero escrow as 0, and the filled order is not counted open.
    expect(await page.textContent('[data-testid="escrow"]')).to.not.equal("0 HMS");
    expect(snap.market!.orders.open).to.equal(0);
    await page.screenshot({ path: path.join(ARTIFACTS, "devnet-market.png"), fullPage: true });

    const stopped = await cli(["stop", leaseId, "--json"], asUser);
    expect(stopped.phase).to.equal("exited");
    // Stopped (exited), and once the worker sees the lease closed on chain, ended: either, by the next poll.
    await page.waitForSelector(`${row} [data-phase="exited"], ${row} [data-phase="ended"]`, { timeout: 30_000 });
  });

  it("every view passes axe-core with no serious or critical violation, and no console error", async () => {
    const found = await seriousViolations(page, dashboard);
    expect(found, found.join("\n")).to.deep.equal([]);
    expect(consoleErrors, consoleErrors.join("\n")).to.deep.equal([]);
    // The README's picture: the Network view of this devnet (a worker down, data stored, a period reported).
    const shot = process.env.HMS_SCREENSHOT;
    if (shot) {
      await page.goto(`${dashboard}/#network`);
      await page.waitForSelector('[data-testid="meta-leader"]');
      await page.screenshot({ path: path.resolve(ROOT, shot), fullPage: false });
    }
  });
});
