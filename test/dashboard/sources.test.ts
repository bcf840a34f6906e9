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
});
