/**
 * `npm run sim:scale [-- --seed N --nodes N --slices N --days N]` (issue 15 item 6): the seeded storage simulation
 * of offchain/sim/scale.ts at scale (default 10 000 nodes, 10 M slices × 3, a year), then the same model at a
 * loss-measurable setting (STRESS_OPTIONS), each printed beside the analytic model for 3 copies as simulated /
 * analytic ratios. docs/SCALING.md, "Simulation at scale", explains the model and the approximations.
 */
import { DEFAULT_SCALE_OPTIONS, STRESS_OPTIONS, runScaleSim, type ScaleSimResult } from "../../offchain/sim/scale";

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

const fmt = (x: number): string =>
  x === 0 ? "0" : Math.abs(x) >= 1e6 || Math.abs(x) < 0.01 ? x.toExponential(2) : x.toFixed(x >= 100 ? 0 : 2);
const ratio = (a: number, b: number): string => (b === 0 ? "—" : `${(a / b).toFixed(2)}×`);
const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;

function table(title: string, r: ScaleSimResult): void {
  const o = r.options;
  console.log(`\n${title}`);
  console.log(
    `  seed ${o.seed}, ${o.nodes} nodes in ${o.regions} regions, ${o.slices} slices × 3 of ${mib(o.sliceBytes)}, ${o.days} days; ` +
      `MTTF ${o.mttfDays} d (${(o.permanentFraction * 100).toFixed(1)} % permanent), transient mean ${o.transientMeanHours} h, ` +
      `${o.regionalPerYear} regional outages / region / year of ${o.regionalMinHours}–${o.regionalMaxHours} h, ` +
      `repair after ${o.detectHours} h at ${(o.bandwidthBytesPerSec / 1e6).toFixed(0)} MB/s per node`,
  );
  const rows: Array<[string, string, string, string]> = [
    ["", "simulated", "analytic (3 copies)", "sim / analytic"],
    [
      "slices lost / year",
      fmt(r.lossPerYear),
      fmt(r.analytic.lossPerYear),
      ratio(r.lossPerYear, r.analytic.lossPerYear),
    ],
    [
      "copies re-created / year",
      fmt(r.copiesPerYear),
      fmt(r.analytic.copiesPerYear),
      ratio(r.copiesPerYear, r.analytic.copiesPerYear),
    ],
    [
      "repair traffic / node / day, mean",
      mib(r.trafficMean),
      mib(r.analytic.trafficPerNodeDay),
      ratio(r.trafficMean, r.analytic.trafficPerNodeDay),
    ],
    ["repair traffic / node / day, p99", mib(r.trafficP99), "", ""],
    [
      "slices below 3 online copies, mean",
      fmt(r.degradedMean),
      fmt(r.analytic.degraded),
      ratio(r.degradedMean, r.analytic.degraded),
    ],
    [
      "MTTDL per slice, years",
      "",
      fmt(r.analytic.mttdlSec / (365 * 86400)),
      `≈ μ²/6λ³: ${fmt(r.analytic.approxMttdlSec / (365 * 86400))}`,
    ],
  ];
  for (const row of rows)
    console.log(`  ${row[0].padEnd(36)}${row[1].padStart(14)}${row[2].padStart(22)}${row[3].padStart(22)}`);
  const days = r.histogram.length;
  const pick = [0, Math.floor(days / 4), Math.floor(days / 2), Math.floor((3 * days) / 4), days - 1];
  console.log("  copy counts over time (online copies 0 / 1 / 2 / 3, daily samples):");
  for (const d of pick) console.log(`    day ${String(d).padStart(3)}: ${r.histogram[d].join(" / ")}`);
  const worst = r.histogram.reduce((w, h) => (h[3] < w[3] ? h : w), r.histogram[0]);
  console.log(`    worst sample: ${worst.join(" / ")}; slices ever without an online copy: ${r.everZero}`);
  console.log(
    `  failures: ${r.failures.transient} transient, ${r.failures.permanent} permanent, ${r.failures.regional} regional; ` +
      `λ = ${r.analytic.lambdaPerSec.toExponential(2)}/s per copy, μ = 1/${(r.meanRepairSec / 3600).toFixed(2)} h (measured)`,
  );
  const e = r.election;
  const nm = e.newMasterMs;
  console.log(
    `  meta cluster (${o.metaNodes} nodes): ${e.episodes} outages hit a meta node, ${e.leaderLost} the master; ` +
      `time to a new master ${nm.length ? `${Math.min(...nm)}–${Math.max(...nm)} ms (mean ${Math.round(nm.reduce((a, b) => a + b, 0) / nm.length)})` : "—"}; ` +
      `${e.terms} terms led, ${e.violations.length} with two leaders, ${e.unsettled} unsettled`,
  );
  console.log(
    `  wall clock: placement ${(r.timing.placeMs / 1000).toFixed(1)} s, events ${(r.timing.runMs / 1000).toFixed(1)} s (${r.events} events)`,
  );
}

const started = Date.now();
const main = runScaleSim({
  ...DEFAULT_SCALE_OPTIONS,
  seed: arg("seed") ?? DEFAULT_SCALE_OPTIONS.seed,
  nodes: arg("nodes") ?? DEFAULT_SCALE_OPTIONS.nodes,
  slices: arg("slices") ?? DEFAULT_SCALE_OPTIONS.slices,
  days: arg("days") ?? DEFAULT_SCALE_OPTIONS.days,
});
table("At scale (losses too rare to measure in one run: the loss ratio means little here)", main);
const stress = runScaleSim({ ...STRESS_OPTIONS, seed: arg("seed") ?? STRESS_OPTIONS.seed });
table("Loss-measurable setting (STRESS_OPTIONS: every failure permanent, slow repair)", stress);
console.log(
  `\ntotal ${((Date.now() - started) / 1000).toFixed(1)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
