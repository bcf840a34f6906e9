/**
 * Validator integration soak (issue 16 C.1): `npm run soak:validators -- --runs 20 [--beside]`.
 * Runs test/validator/validators.test.ts `--runs` times in a row (stops at the first failure) and, with
 * `--beside`, a full `npm test` at the same time (restarted whenever it ends, so the machine stays loaded).
 * Prints each run's result and duration, the beside-suite's durations, and exits 1 if a run failed.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const runs = Number(arg("runs", process.env.VALIDATORS_SOAK_RUNS ?? "20"));
const beside = process.argv.includes("--beside");
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-soak-validators-"));

function run(args: string[], log: string): { done: Promise<number>; kill(): void; pid?: number } {
  const out = fs.openSync(log, "w");
  const child = spawn("npx", args, { stdio: ["ignore", out, out], detached: true });
  return {
    pid: child.pid,
    done: new Promise((resolve) => child.on("exit", (code) => (fs.closeSync(out), resolve(code ?? 1)))),
    kill: () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
    },
  };
}

async function main(): Promise<void> {
  console.log(`validator soak: ${runs} runs${beside ? ", a full npm test beside" : ""}; logs in ${logDir}`);
  let stopBeside = false;
  const suites: Array<{ code: number; seconds: number }> = [];
  let current: ReturnType<typeof run> | undefined;
  const besideLoop = (async () => {
    for (let k = 1; beside && !stopBeside; k++) {
      const t0 = Date.now();
      current = run(["hardhat", "test"], path.join(logDir, `suite-${k}.log`));
      const code = await current.done;
      if (stopBeside) break;
      suites.push({ code, seconds: (Date.now() - t0) / 1000 });
      console.log(`  beside: full suite #${k} exit ${code} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  })();
  let passed = 0;
  const t0 = Date.now();
  for (let i = 1; i <= runs; i++) {
    const started = Date.now();
    const log = path.join(logDir, `validators-${i}.log`);
    const code = await run(["hardhat", "test", "test/validator/validators.test.ts"], log).done;
    const s = ((Date.now() - started) / 1000).toFixed(0);
    if (code !== 0) {
      console.log(`  run ${i}: FAILED (exit ${code}) in ${s} s — ${log}`);
      break;
    }
    passed++;
    console.log(`  run ${i}: passed in ${s} s`);
  }
  stopBeside = true;
  current?.kill();
  await besideLoop;
  const total = ((Date.now() - t0) / 1000).toFixed(0);
  console.log(
    `validator soak: ${passed}/${runs} passed in a row, ${total} s; full suites beside: ${JSON.stringify(suites)}`,
  );
  process.exit(passed === runs ? 0 : 1);
}

void main();
