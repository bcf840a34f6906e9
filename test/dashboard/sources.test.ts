/**
 * The dashboard's readers of the daemons' public endpoints, against the real producers: core/metrics renders the
 * validator's metrics exactly as a daemon serves them on /metrics, and the dashboard reads them back.
 */
import { expect } from "chai";
import { Metrics } from "../../offchain/core/metrics";
import { histogramQuantile, parsePrometheus, sumOf } from "../../offchain/dashboard/sources/prometheus";
import { validatorMetrics } from "../../offchain/dashboard/sources/daemons";
import { dashboardConfigSchema, loadDashboardConfig } from "../../offchain/dashboard/config";
import { isHmsError } from "../../offchain/core/errors";
import http from "node:http";
import { MetaSource, markReplicas } from "../../offchain/dashboard/sources/meta";
import { WorkloadSource } from "../../offchain/dashboard/sources/compute";
import type { MetaView } from "../../offchain/dashboard/snapshot";

/** A stand-in meta node: `/v1/status`, `/v1/measurements`, `/v1/ls` and `/v1/locate` in the meta API's wire form. */
async function fakeMeta(opts: { measurements: number; locateFails: string[] }) {
  const owner = "0x" + "ab".repeat(20);
  const replica = (i: number) => ({
    nodeId: `0x${String(i).repeat(64)}`,
    url: `http://127.0.0.1:${7000 + i}`,
    region: "276",
  });
  const location = (path: string) => ({
    owner,
    path,
    rootCid: `bafy-${path}`,
    size: "10",
    sliceSize: 262144,
    slices: [{ cid: "bafk-0", offset: "0", size: 10, replicas: [replica(1), replica(2), replica(3)] }],
    term: "2",
    index: "9",
  });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    const send = (code: number, body: unknown) =>
      res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (url.pathname === "/v1/status")
      return send(200, { ok: true, address: "0x" + "01".repeat(20), role: "leader", term: "2", apiUrl: "x" });
    if (url.pathname === "/v1/measurements")
      return opts.measurements === 200
        ? send(200, { ok: true, term: "2", nodes: [] })
        : send(opts.measurements, { ok: false, error: { code: "META_NOT_LEADER", message: "not the leader" } });
    if (url.pathname === "/v1/ls")
      return send(200, {
        ok: true,
        entries: ["/a.bin", "/b.bin"].map((p) => ({
          name: p.slice(1),
          kind: "file",
          path: p,
          size: "10",
          rootCid: "x",
        })),
      });
    if (url.pathname === "/v1/locate") {
      const path = url.searchParams.get("path")!;
      if (opts.locateFails.includes(path))
        return send(404, { ok: false, error: { code: "META_NOT_FOUND", message: `no ${path}` } });
      return send(200, { ok: true, file: location(path) });
    }
    send(404, {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, owner, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("dashboard sources", () => {
  it("reads a validator's round latency, view changes and reports from the /metrics text core/metrics serves", async () => {
    const m = new Metrics({ defaultLabels: { replica: "0xabc" } });
    const round = m.histogram("validator_round_seconds", "round", { buckets: [0.05, 0.1, 0.25, 0.5, 1] });
    for (const s of [0.04, 0.07, 0.08, 0.2, 0.9]) round.observe(s);
    m.counter("validator_view_changes_total", "view changes").inc(3);
    m.counter("pbft_view_changes_total", "pbft view changes").inc(7);
    const reported = m.counter("validator_periods_reported_total", "reported", ["by"]);
    reported.inc({ by: "self" }, 2);
    reported.inc({ by: "other" }, 5);
    const lat = m.histogram("validator_report_latency_seconds", "latency");
    lat.observe(2);
    lat.observe(4);
    const got = validatorMetrics(await m.render());
    expect(got.roundCount).to.equal(5);
    expect(got.roundSumSeconds).to.be.closeTo(1.29, 1e-9);
    expect(got.roundP50).to.equal(0.1); // 3rd of 5 observations falls in the ≤ 0.1 bucket
    expect(got.roundP90).to.equal(1);
    expect(got.viewChanges).to.equal(3); // the validator's own counter wins over the replica's
    expect(got.periodsReportedSelf).to.equal(2);
    expect(got.periodsReportedOther).to.equal(5);
    expect(got.reportLatencyMean).to.equal(3);
  });

  it("falls back to the PBFT replica's view changes, and reports empty histograms as unknown", async () => {
    const m = new Metrics();
    m.counter("pbft_view_changes_total", "pbft view changes").inc(4);
    m.histogram("validator_round_seconds", "round");
    const got = validatorMetrics(await m.render());
    expect(got.viewChanges).to.equal(4);
    expect(got.roundP50).to.equal(null);
    expect(got.reportLatencyMean).to.equal(null);
  });

  it("parses labels with escapes and skips comments and malformed lines", () => {
    const s = parsePrometheus('# HELP x y\nx{a="1",b="q\\"uote"} 2\nbroken line here\ny 3 1700000000\n');
    expect(s).to.have.length(2);
    expect(s[0].labels).to.deep.equal({ a: "1", b: 'q"uote' });
    expect(sumOf(s, "y")).to.equal(3);
    expect(histogramQuantile(s, "none", 0.5)).to.equal(null);
  });

  it("config: loopback and defaults, HMS_DASHBOARD_* variables, unknown keys refused", () => {
    const c = dashboardConfigSchema.parse({ rpcUrl: "http://127.0.0.1:8545/", deployment: "localhost" });
    expect(c.listen.host).to.equal("127.0.0.1");
    expect(c.rpcUrl).to.equal("http://127.0.0.1:8545");
    const e = loadDashboardConfig(undefined, {
      HMS_DASHBOARD_RPC_URL: "http://127.0.0.1:1",
      HMS_DASHBOARD_DEPLOYMENT: "localhost",
      HMS_DASHBOARD_STORAGE: '["http://127.0.0.1:7101"]',
    });
    expect(e.storage).to.deep.equal(["http://127.0.0.1:7101"]);
    try {
      loadDashboardConfig(undefined, {
        HMS_DASHBOARD_RPC_URL: "http://x",
        HMS_DASHBOARD_DEPLOYMENT: "l",
        HMS_DASHBOARD_NOPE: "1",
      });
      expect.fail("accepted an unknown variable");
    } catch (err) {
      expect(isHmsError(err, "CONFIG_ENV")).to.equal(true);
    }
  });

  it("meta: a file that cannot be located or a refused measurements read costs only that part of the view", async () => {
    // A file removed between ls and locate (404), and a master that was deposed between status and measurements.
    const meta = await fakeMeta({ measurements: 503, locateFails: ["/a.bin"] });
    try {
      const view = await new MetaSource({ urls: [meta.url], owners: [meta.owner], timeoutMs: 2_000 }).read();
      expect(view.available).to.equal(true);
      expect(view.nodes.map((n) => [n.up, n.role, n.term])).to.deep.equal([[true, "leader", "2"]]);
      expect(view.leader?.term).to.equal("2");
      expect(view.files.map((f) => f.path)).to.deep.equal(["/b.bin"]);
      expect(view.files[0].slices[0].replicas).to.have.length(3);
      expect(view.errors?.join("\n"))
        .to.match(/measurements: HTTP 503/)
        .and.to.match(/locate.*HTTP 404/);
    } finally {
      await meta.close();
    }
  });

  it("meta: copies on a worker seen down stop counting (by URL, else by the master's measurement of the node)", () => {
    const r = (i: number) => ({
      nodeId: `0x${String(i).repeat(64)}`,
      url: `http://127.0.0.1:${7000 + i}/`,
      region: "276",
      up: null,
    });
    const files: MetaView["files"] = [
      {
        owner: "0x",
        path: "/f",
        rootCid: "c",
        size: "1",
        slices: [{ cid: "s", size: 1, replicas: [r(1), r(2), r(3), r(4)] }],
      },
    ];
    const measurement = (i: number, online: boolean) => ({
      nodeId: r(i).nodeId.toUpperCase().replace("0X", "0x"),
      online,
      uptimeSeconds: 1,
      trackedSeconds: 1,
      auditsPassed: 0,
      auditsFailed: 0,
      region: "276",
      free: "0",
      capacity: "0",
    });
    const marked = markReplicas(
      files,
      [
        { url: "http://127.0.0.1:7001", nodeId: null, up: true },
        { url: "http://127.0.0.1:7002", nodeId: null, up: false },
      ],
      [measurement(2, true), measurement(3, false)],
    );
    // 1 up by its URL; 2 down by its URL (the worker's own poll wins over the master's older view); 3 down by the
    // master's measurement; 4 unknown.
    expect(marked[0].slices[0].replicas.map((x) => x.up)).to.deep.equal([true, false, false, null]);
    expect(files[0].slices[0].replicas[0].up).to.equal(null); // not mutated
  });
});

describe("dashboard sources: compute workloads", () => {
  it("reads each worker's GET /v1/workloads, newest lease first; a worker that stops answering keeps its rows, stale; a malformed reply is not shown as fresh", async () => {
    let body: unknown = {
      ok: true,
      workloads: [1, 3].map((l) => ({
        leaseId: String(l),
        user: "0x" + "cd".repeat(20),
        units: "250",
        end: "1800000000",
        closed: false,
        phase: l === 3 ? "running" : "exited",
        runtime: "embedded",
        restarts: 0,
        exitCode: l === 3 ? undefined : 0,
        firstStartMs: 1_000,
        stoppedAtMs: l === 3 ? undefined : 5_000,
        cpuMs: String(l * 1000),
        memoryBytes: 1 << 20,
      })),
    };
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === "/v1/workloads" ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const source = new WorkloadSource(500);
    try {
      const rows = await source.read([url]);
      expect(rows.map((r) => [r.leaseId, r.phase, r.cpuMs, r.stale])).to.deep.equal([
        ["3", "running", "3000", false],
        ["1", "exited", "1000", false],
      ]);
      expect(rows[0]).to.include({ worker: url, exitCode: null, stoppedAtMs: null, memoryBytes: 1 << 20 });
      body = { ok: true, workloads: [{ leaseId: "x" }] };
      expect((await source.read([url])).map((r) => [r.leaseId, r.stale])).to.deep.equal([
        ["3", true],
        ["1", true],
      ]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    expect((await source.read([url])).every((r) => r.stale)).to.equal(true);
    // A worker no longer watched is forgotten.
    expect(await source.read([])).to.deep.equal([]);
  });
});
