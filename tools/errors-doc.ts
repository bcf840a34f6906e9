/**
 * docs/ERRORS.md from the error registry (offchain/core/error-codes.ts): `npm run docs:errors` writes it, and
 * test/offchain/core/errors.test.ts fails when the committed file differs from what this renders.
 */
import fs from "node:fs";
import path from "node:path";
import { ERROR_CODES, EXIT_CODES, type ErrorCodeSpec } from "../offchain/core/error-codes";

export const ERRORS_DOC = path.join(__dirname, "..", "docs", "ERRORS.md");

const EXIT_MEANING: Record<keyof typeof EXIT_CODES, string> = {
  ok: "clean stop",
  failure: "unexpected failure (a bug, or an error without a registered code)",
  config: "configuration or usage: a bad or missing setting or key, an unusable file or data directory, a port in use",
  wrongChain: "the RPC endpoint serves another chain than the deployment file's",
  unauthorized: "not registered or not allowed: unknown key, missing lease, wrong owner",
  unreachable: "a required service (RPC, meta node, worker) did not answer",
  safety: "a safety record refused: stopped rather than sign or write something conflicting",
  invalidInput: "bad input: a value, file, message or argument that fails validation",
  notFound: "what was asked for does not exist",
  conflict: "the state does not allow it now: insufficient balance, locked stake, an older term",
  reverted: "a transaction reverted on chain",
  mismatch: "an audit found a reported period and its published report disagreeing (docs/AUDIT.md)",
};

/** The Markdown of docs/ERRORS.md. */
export function renderErrorsDoc(): string {
  const lines = [
    "# Error codes",
    "",
    "<!-- Generated from offchain/core/error-codes.ts by `npm run docs:errors`. Do not edit by hand. -->",
    "",
    "Every error an HMS daemon, the `hms` CLI or the SDK raises on purpose carries one of these codes (`code`), a",
    "message, and the offending `value` when there is one. Daemons answer a rejected request with the HTTP status",
    "below and a body `{ ok: false, error: { code, message, value } }`; a command that fails with it exits with",
    "the exit code below. Secrets (private keys, key files' contents) never appear in a message or a value.",
    "",
    "## Exit codes",
    "",
    "| exit | class | meaning |",
    "|---:|---|---|",
    ...Object.entries(EXIT_CODES).map(
      ([name, code]) => `| ${code} | ${name} | ${EXIT_MEANING[name as keyof typeof EXIT_CODES]} |`,
    ),
  ];
  const byDomain = new Map<string, [string, ErrorCodeSpec][]>();
  for (const [code, spec] of Object.entries(ERROR_CODES) as [string, ErrorCodeSpec][]) {
    const list = byDomain.get(spec.domain) ?? [];
    list.push([code, spec]);
    byDomain.set(spec.domain, list);
  }
  for (const [domain, list] of byDomain) {
    lines.push("", `## ${domain}`, "", "| code | exit | HTTP | meaning |", "|---|---:|---:|---|");
    for (const [code, spec] of list)
      lines.push(`| \`${code}\` | ${EXIT_CODES[spec.exit]} | ${spec.http} | ${spec.meaning} |`);
  }
  return `${lines.join("\n")}\n`;
}

if (require.main === module) {
  fs.writeFileSync(ERRORS_DOC, renderErrorsDoc());
  console.log(`wrote ${path.relative(process.cwd(), ERRORS_DOC)} (${Object.keys(ERROR_CODES).length} codes)`);
}
