/**
 * `npm run test:chaos` — the chaos matrix (issue 15 item 2) on a devnet of real processes: `hms devnet up` (a
 * hardhat node, the deployment, 3 meta nodes, 5 storage workers in 3 regions, 2 compute workers, 4 validators),
 * then each case of scripts/chaos/cases.ts in order — workers killed mid-upload and mid-download, a slice
 * corrupted on disk, the meta master killed and frozen, every daemon restarted in turn under load, a meta node and
 * a validator cut off and degraded by a fault proxy, the PBFT primary killed — and finally the books: every
 * acknowledged receipt in exactly one report, `hms audit` of every reported period, one report per period held
 * alike by every validator. Prints fault → what was checked → result → time to recover; exits 1 if any case
 * failed. Seeded (`--seed`): the victims, the bytes and the proxies' faults are replayable.
 *
 *   npm run test:chaos [-- --seed 7] [--only storage-kill-upload,…] [--dir <devnet dir>] [--keep] [--json]
 *
 * `--dir` with a running devnet uses it (and leaves it running); otherwise one is started in a temp dir and
 * stopped at the end (`--keep` leaves it, with its logs, for a look).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { makeDirectory } from "../../offchain/client/storage";
import { runHms } from "../../offchain/devnet/cluster";
import { devnetDown, readState, aliveProcesses } from "../../offchain/devnet/devnet";
import { CASES, type CaseResult } from "./cases";
import { ChaosContext } from "./context";

interface Row extends Partial<CaseResult> {
  name: string;
  result: "pass" | "FAIL";
  error?: string;
  ms: number;
}

function table(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.name,
    r.fault ?? "",
    r.result === "pass" ? (r.checked ?? "") : `${r.checked ?? ""} ${r.error ?? ""}`.trim(),
    r.result,
    r.recoverMs === null || r.recoverMs === undefined
      ? (r.detail ?? "–")
      : `${(r.recoverMs / 1000).toFixed(1)} s${r.detail ? ` (${r.detail})` : ""}`,
  ]);
  const head = ["case", "fault", "what was checked", "result", "recovered in"];
  const width = head.map((h, i) =>
    Math.min(i === 1 || i === 2 ? 60 : i === 4 ? 36 : 40, Math.max(h.length, ...cells.map((c) => c[i].length))),
  );
  const wrap = (text: string, w: number): string[] => {
    const out: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
      if (line.length + word.length + 1 > w && line.length > 0) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
    return out;
  };
  const lines: string[] = [];
  const row = (c: string[]) => {
    const wrapped = c.map((t, i) => wrap(t, width[i]));
    const h = Math.max(...wrapped.map((w) => w.length));
    for (let k = 0; k < h; k++) lines.push(wrapped.map((w, i) => (w[k] ?? "").padEnd(width[i])).join("  "));
  };
  row(head);
  lines.push(width.map((w) => "─".repeat(w)).join("  "));
  for (const c of cells) {
    row(c);
    lines.push("");
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: "1" },
      only: { type: "string" },
      dir: { type: "string" },
      keep: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed ${values.seed} is not an integer`);
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = (only ?? []).filter((n) => !CASES.some((c) => c.name === n));
  if (unknown.length > 0)
    throw new Error(`unknown case ${unknown.join(", ")} (cases: ${CASES.map((c) => c.name).join(", ")})`);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const ours = values.dir === undefined || aliveProcesses(readState(values.dir)).length === 0;
  const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "hms-chaos-"));
  const started = Date.now();
  if (ours) {
    log(`chaos: hms devnet up --dir ${dir} (seed ${seed})`);
    const up = await runHms(["devnet", "up", "--dir", dir, "--json", "--log-level", "info"], {}, 600_000);
    if (up.code !== 0) throw new Error(`hms devnet up failed (${up.code}): ${up.stderr.slice(-2000)}`);
    log(`chaos: devnet up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const stop = async () => {
    if (ours && !values.keep) await devnetDown(dir, { purge: true, graceMs: 5_000 }).catch((e) => log(String(e)));
  };
  process.once("SIGINT", () => void stop().finally(() => process.exit(130)));
  const ctx = new ChaosContext(dir, seed, log);
  const rows: Row[] = [];
  try {
    for (const d of ["/chaos", "/chaos/restarts"])
      await makeDirectory(ctx.storage, { path: d }).catch((err: { code?: string }) => {
        if (err.code !== "META_EXISTS") throw err;
      });
    for (const c of CASES.filter((x) => only === undefined || only.includes(x.name))) {
      const t = Date.now();
      log(`chaos: ${c.name} …`);
      try {
        const r = await c.run(ctx);
        rows.push({ name: c.name, result: "pass", ms: Date.now() - t, ...r });
        log(`chaos: ${c.name} passed in ${((Date.now() - t) / 1000).toFixed(1)} s — ${r.checked}`);
      } catch (err) {
        rows.push({ name: c.name, result: "FAIL", ms: Date.now() - t, error: (err as Error).message });
        log(`chaos: ${c.name} FAILED: ${(err as Error).stack ?? String(err)}`);
      }
    }
  } finally {
    await ctx.close();
    await stop();
  }
  const failed = rows.filter((r) => r.result === "FAIL").length;
  if (values.json) process.stdout.write(JSON.stringify({ seed, dir, rows }, null, 2) + "\n");
  else {
    process.stdout.write(`\nChaos matrix, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(0)} s in all\n\n`);
    process.stdout.write(table(rows) + "\n");
    process.stdout.write(
      `${rows.length - failed} of ${rows.length} cases passed${ours && values.keep ? `; devnet kept in ${dir}` : ""}\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
