/** Generated docs and examples are what their generators render, and the example configs parse with their schemas. */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { CLI_DOC, renderCliDoc } from "../../tools/cli-doc";
import { EXAMPLES, EXAMPLES_DIR, renderExample } from "../../tools/example-configs";
import { METRICS_DOC, collectMetrics, renderMetricsDoc } from "../../tools/metrics-doc";
import { loadConfig } from "../../offchain/core/config";

describe("generated CLI docs and example configs", () => {
  it("docs/METRICS.md is what the metric definitions render (npm run docs:metrics), one row per metric", () => {
    expect(fs.readFileSync(METRICS_DOC, "utf8")).to.equal(renderMetricsDoc());
    const metrics = collectMetrics();
    const names = metrics.map((m) => m.name);
    // Names are unique across daemons (a dashboard reads them side by side) and valid Prometheus names.
    expect(new Set(names).size).to.equal(names.length);
    for (const n of names) expect(n).to.match(/^hms_[a-z][a-z0-9_]*$/);
    for (const n of ["hms_validator_periods_reported_total", "hms_pbft_persist_seconds", "hms_compute_workloads"])
      expect(names).to.include(n);
  });

  it("docs/CLI.md is what the command definitions render (npm run docs:cli) and names every command", () => {
    const text = renderCliDoc();
    expect(fs.readFileSync(CLI_DOC, "utf8")).to.equal(text);
    for (const c of [
      "hms init",
      "hms keys new",
      "hms market take",
      "hms rewards claim",
      "hms council vote",
      "hms status",
      "hms put",
      "hms get",
      "hms ls",
      "hms rm",
      "hms audit",
    ])
      expect(text).to.contain("### `" + c);
  });

  it("examples/config/*.yaml are what the schemas render (npm run examples:config) and load with their schemas", () => {
    for (const e of EXAMPLES) {
      const file = path.join(EXAMPLES_DIR, e.file);
      expect(fs.readFileSync(file, "utf8"), e.file).to.equal(renderExample(e));
      const loaded = loadConfig(e.schema as never, { file, env: {}, envPrefix: "HMS_NONE_" }) as Record<
        string,
        unknown
      >;
      expect(loaded, e.file).to.include.keys(Object.keys(e.minimal));
    }
    expect(fs.readFileSync(path.join(EXAMPLES_DIR, "validator.yaml"), "utf8")).to.contain(
      "# Nodes rewarded per period",
    );
  });
});
