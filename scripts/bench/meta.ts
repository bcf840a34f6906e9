/**
 * Meta-layer benchmark (issue 13 item 9), each figure beside a baseline measured in the same run:
 *
 *   lookup     `MetaIndex.locate({owner, path})` over an index of N files (default 1,000,000) in LevelDB — the
 *              Bloom filter, the entry and its slice record — p50/p99; target p99 < 1 ms. Baseline: one raw
 *              LevelDB `get` of the same entry key.
 *   bloom      a miss answered by the index's Bloom filter (fast base hash); target < 10 µs. Baseline: the
 *              same filter with the library's default hashing (xxhashjs), and a LevelDB `get` of an absent key.
 *   placement  `placeSlices` of 10,000 slices × 3 copies over 100 nodes in 5 regions; target ≥ 10,000
 *              slices/s. Baseline: distinct nodes drawn uniformly at random (`placeUniform`).
 *
 *   receipts   signed traffic receipts admitted per second on one core; target ≥ 10,000/s. Baseline: the raw
 *              signature-recovery rate of the library (scripts/bench/meta-net.ts).
 *   failover   three `hms meta` processes, default election timeouts: master SIGKILLed → a write accepted by the
 *              new one; target < 2 s. Baseline: the same after SIGTERM (leadership handed over).
 *
 * Sections are entries of {@link SECTIONS}.
 *
 *   npm run bench:meta                      # N = 1,000,000
 *   npm run bench:meta -- --files 100000 --only lookup,bloom
 *   npm run bench:meta -- --only receipts,failover
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Address, Hex } from "viem";
import { Store } from "../../offchain/core/store";
import { IndexBloom } from "../../offchain/meta/bloom";
import { entries, MetaIndex, rootCids, slices, type EntryRecord } from "../../offchain/meta/index";
import { placeSlices, placeUniform, seededRandom, type NodeCandidate } from "../../offchain/meta/placement";
import { sliceCid } from "../../offchain/protocol/slicing";
import { failoverSection, receiptsSection } from "./meta-net";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const FILES = Number(arg("files", "1000000"));
const ONLY = arg("only", "")
  .split(",")
  .filter((s) => s !== "");

/** One result row: a figure, its baseline and the ratio. */
export interface Row {
  name: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  ok: boolean;
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const us = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;
const now = () => Number(process.hrtime.bigint());

const owner = "0x00000000000000000000000000000000000000aa" as Address;
const cidFor = (i: number) => sliceCid(new TextEncoder().encode(`file ${i}`)).toString();
const pathFor = (i: number) => `/d${i % 1000}/f${i}`;
const replicas = [1, 2, 3].map((n) => ({
  nodeId: `0x${n.toString(16).padStart(64, "0")}` as Hex,
  url: `http://127.0.0.1:${7300 + n}`,
  region: `r${n}`,
}));

/** Writes N files straight through the index's repositories (the key layout apply() produces), in batches. */
async function populate(store: Store, n: number): Promise<void> {
  const dirs = new Set<number>();
  for (let i = 0; i < n; i += 10_000) {
    const batch = store.batch();
    for (let j = i; j < Math.min(n, i + 10_000); j++) {
      const d = j % 1000;
      if (!dirs.has(d)) {
        dirs.add(d);
        const dir: EntryRecord = { kind: "dir", dir: { owner, path: `/d${d}`, term: 1n, index: 1n, time: 0n } };
        batch.put(entries.key(owner, `/d${d}`), dir);
      }
      const cid = cidFor(j);
      const file: EntryRecord = {
        kind: "file",
        file: {
          owner,
          path: pathFor(j),
          rootCid: cid,
          size: 1000n,
          sliceSize: 1 << 20,
          uploadId: `0x${j.toString(16).padStart(64, "0")}` as Hex,
          slices: [{ cid, size: 1000 }],
          dagBlocks: [],
          leases: [],
          term: 1n,
          index: BigInt(j + 2),
          time: 0n,
        },
      };
      batch.put(entries.key(owner, pathFor(j)), file);
      batch.put(rootCids.key(cid, owner, pathFor(j)), 1);
      batch.put(slices.key(cid), { cid, size: 1000, replicas, refs: 1 });
    }
    await batch.write();
  }
  await store.put("idx:p", { term: 1n, index: BigInt(n + 1) });
}

async function lookup(): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-bench-meta-"));
  try {
    const store = await Store.open(path.join(dir, "db"));
    let t = Date.now();
    await populate(store, FILES);
    console.log(`  populated ${FILES.toLocaleString()} files in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    const index = await MetaIndex.open(store);
    console.log(`  opened the index (Bloom filter rebuilt) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const random = seededRandom(1);
    const pick = () => Math.floor(random() * FILES);
    const K = 20_000;
    for (let k = 0; k < 2_000; k++) await index.locate({ owner, path: pathFor(pick()) }); // warm-up
    const times: number[] = [];
    const raw: number[] = [];
    for (let k = 0; k < K; k++) {
      const i = pick();
      const a = now();
      const loc = await index.locate({ owner, path: pathFor(i) });
      times.push(now() - a);
      if (loc.rootCid !== cidFor(i)) throw new Error(`wrong file for ${i}`);
      const key = entries.key(owner, pathFor(pick()));
      const b = now();
      await store.get(key);
      raw.push(now() - b);
    }
    times.sort((x, y) => x - y);
    raw.sort((x, y) => x - y);
    // Misses: absent keys answered by the filter vs a LevelDB get of an absent key.
    const absent: number[] = [];
    const absentRaw: number[] = [];
    let passed = 0;
    for (let k = 0; k < K; k++) {
      const a = now();
      const maybe = index.mightContain({ owner, path: `/nope/${k}` });
      absent.push(now() - a);
      if (maybe) passed++;
      const b = now();
      await store.get(entries.key(owner, `/nope/${k}`));
      absentRaw.push(now() - b);
    }
    absent.sort((x, y) => x - y);
    absentRaw.sort((x, y) => x - y);
    await store.close();
    return [
      {
        name: `lookup by path, ${FILES.toLocaleString()} files (p50 / p99)`,
        value: `${us(pct(times, 50))} / ${us(pct(times, 99))}`,
        baseline: `raw LevelDB get ${us(pct(raw, 50))} / ${us(pct(raw, 99))}`,
        ratio: ratio(pct(times, 99), pct(raw, 99)),
        target: "p99 < 1 ms",
        ok: pct(times, 99) < 1e6,
      },
      {
        name: `miss in the index's Bloom filter at ${FILES.toLocaleString()} files (p50 / p99; ${((passed / K) * 100).toFixed(2)} % false positives)`,
        value: `${us(pct(absent, 50))} / ${us(pct(absent, 99))}`,
        baseline: `LevelDB get of an absent key ${us(pct(absentRaw, 50))} / ${us(pct(absentRaw, 99))}`,
        ratio: ratio(pct(absent, 50), pct(absentRaw, 50)),
        target: "< 10 µs",
        ok: pct(absent, 99) < 10_000,
      },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function bloom(): Row[] {
  const n = 200_000;
  const measure = (libraryHashing: boolean) => {
    const f = IndexBloom.create({ capacity: n, seed: 3, libraryHashing });
    for (let i = 0; i < n; i++) f.add(IndexBloom.cidKey(cidFor(i)));
    const probes = libraryHashing ? 20_000 : 200_000;
    const keys = Array.from({ length: probes }, (_, i) => IndexBloom.cidKey(`bafkreiabsent${i}`));
    let fp = 0;
    const a = now();
    for (const k of keys) if (f.mightContain(k)) fp++;
    return { ns: (now() - a) / probes, fp: fp / probes };
  };
  const fast = measure(false);
  const lib = measure(true);
  return [
    {
      name: `Bloom-filter miss, ${n.toLocaleString()} CIDs (mean; ${(fast.fp * 100).toFixed(2)} % false positives)`,
      value: us(fast.ns),
      baseline: `library hashing (xxhashjs) ${us(lib.ns)}, ${(lib.fp * 100).toFixed(2)} % f.p.`,
      ratio: ratio(fast.ns, lib.ns),
      target: "< 10 µs",
      ok: fast.ns < 10_000,
    },
  ];
}

function placement(): Row[] {
  const nodes: NodeCandidate[] = Array.from({ length: 100 }, (_, i) => ({
    nodeId: `0x${(i + 1).toString(16).padStart(64, "0")}` as Hex,
    url: `http://127.0.0.1:${8000 + i}`,
    region: `r${i % 5}`,
    capacity: BigInt(1 + (i % 7)) << 40n,
    free: BigInt(1 + (i % 5)) << 39n,
    uptimeSec: i * 3600,
    connections: i % 13,
    online: i % 17 !== 0,
  }));
  const sizes = Array(10_000).fill(1 << 20);
  const rate = (fn: () => void) => {
    fn(); // warm-up
    const runs = 5;
    const a = now();
    for (let r = 0; r < runs; r++) fn();
    return (sizes.length * runs) / ((now() - a) / 1e9);
  };
  const random = seededRandom(7);
  const scored = rate(() => placeSlices(nodes, { sizes, copies: 3 }, undefined, random));
  const uniform = rate(() => placeUniform(nodes, { sizes, copies: 3 }, random));
  return [
    {
      name: "placement, 10,000 slices × 3 copies over 100 nodes",
      value: `${Math.round(scored).toLocaleString()} slices/s`,
      baseline: `uniform random ${Math.round(uniform).toLocaleString()} slices/s`,
      ratio: ratio(scored, uniform),
      target: "≥ 10,000 slices/s",
      ok: scored >= 10_000,
    },
  ];
}

/** The benchmark's sections, in order. */
export const SECTIONS: Array<{ name: string; run: () => Promise<Row[]> | Row[] }> = [
  { name: "placement", run: placement },
  { name: "bloom", run: bloom },
  { name: "receipts", run: () => receiptsSection() },
  { name: "failover", run: () => failoverSection() },
  { name: "lookup", run: lookup },
];

async function main(): Promise<void> {
  console.log(
    `bench:meta — ${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  const rows: Row[] = [];
  for (const s of SECTIONS) {
    if (ONLY.length > 0 && !ONLY.includes(s.name)) continue;
    console.log(`${s.name}…`);
    rows.push(...(await s.run()));
  }
  console.log(
    "\n| measure | result | baseline (same run) | result ÷ baseline | target | met |\n|---|---|---|---|---|---|",
  );
  for (const r of rows)
    console.log(`| ${r.name} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.ok ? "yes" : "no"} |`);
  console.log(
    `\nload after: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
}

if (require.main === module) void main();
