/**
 * Long PBFT simulation soak: `npm run soak:pbft [-- --seeds 20000 --from 1]` (20,000 seeds by default)
 * (or PBFT_SOAK_SEEDS / PBFT_SOAK_FROM). Prints progress, every failing seed with its scenario and
 * replay command, and exits 1 if any seed failed.
 */
import { describeFailure, runSeeds } from "../offchain/consensus/pbft/sim";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const count = Number(arg("seeds", process.env.PBFT_SOAK_SEEDS ?? "20000"));
const from = Number(arg("from", process.env.PBFT_SOAK_FROM ?? "1"));
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(from)) {
  console.error(`bad arguments: --seeds ${count} --from ${from}`);
  process.exit(2);
}
const started = Date.now();
let events = 0;
let failed = 0;
const step = Math.max(1, Math.floor(count / 20));
console.log(`PBFT soak: seeds ${from}…${from + count - 1}`);
const failures = runSeeds(from, count, (done, r) => {
  events += r.stats?.events ?? 0;
  if (!r.ok) failed++;
  if (done % step === 0 || done === count) {
    const s = (Date.now() - started) / 1000;
    console.log(
      `  ${done}/${count} seeds, ${failed} failed, ${events} events, ${s.toFixed(1)} s (${(done / s).toFixed(0)} seeds/s)`,
    );
  }
});
for (const f of failures) console.log(`\n${describeFailure(f)}`);
console.log(`\n${count - failures.length}/${count} seeds passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failures.length === 0 ? 0 : 1);
