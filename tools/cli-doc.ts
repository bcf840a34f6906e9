/**
 * docs/CLI.md from the `hms` command definitions (offchain/cli): every command with its usage, description and
 * options, as `--help` shows them. `npm run docs:cli` writes it; test/cli/docs.test.ts fails when it is stale.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { program } from "../offchain/cli";
import { EXIT_CODES } from "../offchain/core/error-codes";

export const CLI_DOC = path.join(__dirname, "..", "docs", "CLI.md");

function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

function section(cmd: Command, out: string[]): void {
  const subs = cmd.commands.filter((c) => c.name() !== "help");
  if (cmd.parent !== null) {
    const args = cmd.registeredArguments.map((a) =>
      a.required ? `<${a.name()}${a.variadic ? "..." : ""}>` : `[${a.name()}]`,
    );
    out.push(`### \`${fullName(cmd)}${args.length ? " " + args.join(" ") : ""}\``, "", cmd.description(), "");
    const options = cmd.options.filter((o) => o.long !== "--help");
    if (options.length > 0) {
      out.push("| option | meaning | default |", "|---|---|---|");
      for (const o of options)
        out.push(
          `| \`${o.flags.replace(/\|/g, "\\|")}\` | ${o.description.replace(/\|/g, "\\|")} | ${o.defaultValue === undefined ? "" : `\`${String(o.defaultValue)}\``} |`,
        );
      out.push("");
    }
  }
  for (const c of subs) section(c, out);
}

/** The Markdown of docs/CLI.md. */
export function renderCliDoc(): string {
  const p = program();
  const out = [
    "# The `hms` command line",
    "",
    "<!-- Generated from the command definitions in offchain/cli by `npm run docs:cli`. Do not edit by hand. -->",
    "",
    `\`hms\` ${p.version()} — ${p.description()}. Run \`npx hms <command> --help\` for the same text.`,
    "",
    'Chain-side commands share: `--json` (the result as JSON; errors as `{ "error": { code, message, exitCode } }`),',
    "`--rpc <url>` (`$HMS_RPC_URL`, default http://127.0.0.1:8545), `--deployment <file|network>` (`$HMS_DEPLOYMENT`,",
    "default `localhost`). Commands that send a transaction print what it will do and ask before sending (`--yes`",
    "skips the question; without a terminal `--yes` is required), then the transaction hash and gas. They sign with a",
    "keystore key (`--account <name|address>` or `$HMS_ACCOUNT`, password from `--password-file`, `$HMS_PASSWORD` or",
    "a prompt) or `$HMS_PRIVATE_KEY`; a private key is never a command-line argument and never printed.",
    "",
    "Exit codes (docs/ERRORS.md): " +
      Object.entries(EXIT_CODES)
        .map(([k, v]) => `${v} ${k}`)
        .join(", ") +
      ".",
    "",
    "## Commands",
    "",
  ];
  section(p, out);
  return out.join("\n").replace(/\n+$/, "\n");
}

if (require.main === module) {
  fs.writeFileSync(CLI_DOC, renderCliDoc());
  console.log(`wrote ${CLI_DOC}`);
}
