/**
 * `hms audit <period> [--meta urls] [--document file] [--top-n n] [--json]`: anyone checks a reported period's
 * rewards (docs/AUDIT.md). The command reads the period from the chain (terms, attestation, the previous report's
 * carry root, the nodes' registered signing keys), fetches the report document from the storage network by the
 * attested `dataCid` (meta nodes from `--meta` / `$HMS_META_URLS`) or reads it from `--document <file>` (offline),
 * and runs the SDK's `auditPeriod`: every receipt's signatures, the recomputed ledger, roots, totals and carry-over
 * against the chain. It prints a table of the checks, each rewarded node's reward beside `E × traffic / total`, and
 * the verdict; `--json` prints the verdict as one JSON document.
 *
 * Exit codes: 0 when every check passed (also for a version-1 document, whose receipts cannot be checked: the
 * verdict says "partial"); 11 (`mismatch`, CLI_AUDIT_MISMATCH) when a check failed — the first mismatch is printed;
 * the registry's codes when something could not be read (SDK_NOT_FOUND: the period is not reported; CLI_NO_META;
 * TRANSPORT_UNREACHABLE: no meta node answered; META_NOT_FOUND: the document is not in the network; CLI_FILE).
 */
import fs from "node:fs";
import type { Command } from "commander";
import { EXIT_CODES, HmsError } from "../../core/errors";
import type { AuditPeriodReturnType, ReportDocumentSource } from "../../client/actions/rewards/auditPeriod";
import { action, fail, hms, parseInteger, toJson, withChainOptions, type ChainContext } from "../runtime";
import { storageClient, type StorageCli } from "./storage-user";

interface AuditOptions {
  json?: boolean;
  meta?: string;
  metaTimeout?: string;
  document?: string;
  topN?: string;
}

function readDocument(file: string): Uint8Array {
  try {
    if (!fs.statSync(file).isFile()) throw new Error("not a regular file");
    return new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    throw new HmsError("CLI_FILE", `cannot read the report document ${file}: ${(err as Error).message}`, {
      value: file,
      cause: err,
    });
  }
}

const short = (id: string) => (id.length > 20 ? `${id.slice(0, 10)}…${id.slice(-6)}` : id);

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => "  " + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  "));
}

/** The human report: the checks, the rewards beside the formula, the verdict. */
export function auditText(v: AuditPeriodReturnType, source: string): string {
  const lines = [
    `Audit of period ${v.period}: report in block ${v.blockNumber} (tx ${v.transactionHash})`,
    `document ${v.cid} from ${source}${v.version === undefined ? "" : `, version ${v.version}`}` +
      (v.topN === undefined ? "" : `, top ${v.topN}`) +
      (v.receipts === undefined ? "" : `, ${v.receipts} receipts`),
    "",
    ...table([["check", "result", "detail"], ...v.checks.map((c) => [c.name, c.status, c.detail])]),
  ];
  if (v.rewards.length > 0) {
    lines.push(
      "",
      `Rewards: E = ${hms(v.nodeEmission)} node emission, total traffic ${v.totalTraffic}`,
      ...table([
        ["#", "node", "traffic", "reward", "= E × traffic / total"],
        ...v.rewards.map((r) => [
          String(r.index),
          short(r.nodeId),
          r.traffic.toString(),
          hms(r.amount),
          `${v.nodeEmission} × ${r.traffic} / ${v.totalTraffic} wei`,
        ]),
      ]),
    );
  }
  lines.push("");
  const m = v.firstMismatch;
  if (m !== undefined)
    lines.push(
      `Verdict: MISMATCH — ${m.code} at ${m.field}: expected ${m.expected}, found ${m.actual}` +
        (m.reason ? ` (${m.reason})` : ""),
    );
  else if (v.complete)
    lines.push(`Verdict: OK — the period's rewards recompute from ${v.receipts ?? 0} signed receipts, as on chain`);
  else
    lines.push(
      "Verdict: OK (partial) — the document agrees with the chain, but carries no receipts to recompute it from",
    );
  return lines.join("\n");
}

async function runAudit(ctx: ChainContext, opts: AuditOptions, periodText: string): Promise<void> {
  const period = parseInteger(periodText, "period");
  const topN = opts.topN === undefined ? undefined : Number(parseInteger(opts.topN, "--top-n"));
  if (topN !== undefined && (topN < 1 || topN > 2 ** 32 - 1))
    throw new HmsError("CLI_BAD_VALUE", `--top-n ${opts.topN} is not in [1, 2^32)`, { value: opts.topN });
  const document = opts.document === undefined ? undefined : readDocument(opts.document);
  let storage: StorageCli | undefined;
  // The storage client is made only when the document is fetched (after the chain said the period exists).
  const source: ReportDocumentSource = {
    getFile: async (p) => {
      storage ??= await storageClient(ctx.io, { meta: opts.meta, metaTimeout: opts.metaTimeout }, "optional");
      return storage.getFile(p);
    },
  };
  if (document === undefined && opts.meta === undefined && (ctx.io.env.HMS_META_URLS ?? "").trim() === "")
    throw new HmsError(
      "CLI_NO_META",
      "no report document: give --document <file>, or the meta nodes to fetch it from (--meta <url,…> or HMS_META_URLS)",
    );
  let verdict: AuditPeriodReturnType;
  try {
    verdict = await ctx.reader().auditPeriod({ period, topN, ...(document ? { document } : { storage: source }) });
  } finally {
    await storage?.close();
  }
  const from = document !== undefined ? opts.document! : "the storage network";
  if (opts.json) ctx.io.stdout(toJson(verdict) + "\n");
  else ctx.io.stdout(auditText(verdict, from) + "\n");
  const m = verdict.firstMismatch;
  if (m !== undefined) {
    const err = new HmsError(
      "CLI_AUDIT_MISMATCH",
      `period ${period}: ${m.code} at ${m.field}: expected ${m.expected}, found ${m.actual}`,
      { value: period, details: { ...m } },
    );
    // The verdict is the output (also with --json); the failure is one line on stderr and the exit code.
    fail(ctx.io, false, "audit", err);
    if (ctx.io.exitCode !== EXIT_CODES.mismatch) ctx.io.exitCode = EXIT_CODES.mismatch;
  }
}

/** Registers `hms audit` on `program`. */
export function registerAuditCommand(program: Command): Command {
  withChainOptions(
    program
      .command("audit")
      .description(
        "check a reported period: its report document's receipts, ledger, roots and carry-over recomputed against the chain",
      )
      .argument("<period>", "the reported period")
      .option(
        "--meta <urls>",
        "meta node API URLs to fetch the document from, comma-separated (default $HMS_META_URLS)",
      )
      .option("--meta-timeout <ms>", "how long to keep trying the meta nodes before giving up (default 15000)")
      .option("--document <file>", "audit this report document (offline) instead of fetching it by its dataCid")
      .option("--top-n <n>", "the top-N the network's validators use (checked against the document)"),
  ).action(action(async (ctx, periodText: string) => runAudit(ctx, ctx.opts as AuditOptions, periodText)));
  return program;
}
