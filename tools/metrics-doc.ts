/**
 * docs/METRICS.md from the code: every `metrics.counter / gauge / histogram("name", "help", labels)` call under
 * offchain/ (read with the TypeScript compiler's parser, not a regex), grouped by the folder that registers it.
 * `npm run docs:metrics` writes it; test/cli/docs.test.ts fails when the committed file differs.
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { METRIC_PREFIX } from "../offchain/core/metrics";

export const METRICS_DOC = path.join(__dirname, "..", "docs", "METRICS.md");
const ROOT = path.join(__dirname, "..");
const KINDS = new Set(["counter", "gauge", "histogram"]);

export interface MetricDef {
  name: string;
  kind: string;
  help: string;
  labels: string[];
  file: string;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && e.name !== "dist" && e.name !== "web") out.push(...tsFiles(p));
    } else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out.sort();
}

const text = (n: ts.Node | undefined): string | undefined =>
  n !== undefined && (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) ? n.text : undefined;

function labelsOf(kind: string, args: readonly ts.Expression[]): string[] {
  let list: ts.Expression | undefined = args[2];
  if (kind === "histogram" && list !== undefined && ts.isObjectLiteralExpression(list)) {
    const p = list.properties.find(
      (x): x is ts.PropertyAssignment => ts.isPropertyAssignment(x) && x.name.getText() === "labelNames",
    );
    list = p?.initializer;
  }
  if (list !== undefined && ts.isAsExpression(list)) list = list.expression;
  if (list === undefined || !ts.isArrayLiteralExpression(list)) return [];
  return list.elements.map((e) => text(e) ?? e.getText());
}

/** Every metric registered under offchain/ with a literal name, in file order. */
export function collectMetrics(): MetricDef[] {
  const out: MetricDef[] = [];
  for (const file of tsFiles(path.join(ROOT, "offchain"))) {
    const rel = path.relative(ROOT, file);
    if (rel === path.join("offchain", "core", "metrics.ts")) continue;
    const src = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression)) {
        const kind = n.expression.name.text;
        const name = text(n.arguments[0]);
        const help = text(n.arguments[1]);
        if (KINDS.has(kind) && name !== undefined && help !== undefined)
          out.push({
            name: name.startsWith(METRIC_PREFIX) ? name : `${METRIC_PREFIX}${name}`,
            kind,
            help,
            labels: labelsOf(kind, n.arguments),
            file: rel,
          });
      }
      ts.forEachChild(n, visit);
    };
    visit(src);
  }
  return out;
}

const GROUPS: Array<[string, string]> = [
  ["offchain/validator", "Validator (`hms validator`)"],
  ["offchain/consensus", "PBFT replica (inside every validator)"],
  ["offchain/meta", "Meta node (`hms meta`)"],
  ["offchain/storage", "Storage worker (`hms storage`)"],
  ["offchain/compute", "Container worker (`hms compute`)"],
  ["offchain/dashboard", "Dashboard (`hms dashboard`)"],
  ["offchain/testing", "Traffic stand-in (`hms traffic-source`)"],
  ["offchain", "Shared (every daemon that uses the module)"],
];

/** The Markdown of docs/METRICS.md. */
export function renderMetricsDoc(): string {
  const metrics = collectMetrics();
  const lines = [
    "# Metrics",
    "",
    "<!-- Generated from the metric definitions under offchain/ by `npm run docs:metrics`. Do not edit by hand. -->",
    "",
    "Every daemon serves Prometheus text at `GET /metrics` on its API port (one registry per process,",
    "`offchain/core/metrics.ts`). Besides the metrics below, each exposes the Node.js process metrics of prom-client",
    `(\`${METRIC_PREFIX}process_cpu_seconds_total\`, \`${METRIC_PREFIX}process_resident_memory_bytes\`,`,
    `\`${METRIC_PREFIX}nodejs_eventloop_lag_seconds\`, heap and GC figures, …) under the same \`${METRIC_PREFIX}\` prefix.`,
    "Histograms are in seconds unless the name says otherwise.",
    "",
  ];
  const seen = new Set<MetricDef>();
  for (const [dir, title] of GROUPS) {
    const group = metrics.filter((m) => !seen.has(m) && m.file.startsWith(`${dir}/`));
    if (group.length === 0) continue;
    lines.push(`## ${title}`, "", "| metric | type | labels | meaning | defined in |", "|---|---|---|---|---|");
    for (const m of group) {
      seen.add(m);
      const labels = m.labels.length > 0 ? m.labels.map((l) => `\`${l}\``).join(", ") : "–";
      lines.push(`| \`${m.name}\` | ${m.kind} | ${labels} | ${m.help.replace(/\|/g, "\\|")} | ${m.file} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

if (require.main === module) {
  fs.writeFileSync(METRICS_DOC, renderMetricsDoc());
  console.log(`wrote ${path.relative(ROOT, METRICS_DOC)} (${collectMetrics().length} metrics)`);
}
