/**
 * Demo chapter: the storage layer on the demo's chain. Three `hms meta` nodes (the index, placement, and the
 * receipts both sides of every transfer sign) and three `hms storage` workers (demo nodes 0–2, the node ids and
 * signing keys registered in the NodeRegistry) run as child processes in the chain's EIP-712 domains. `hms put`
 * uploads real files (a few MiB, sliced, 3 copies of every block on three workers) and `hms get` reads them back,
 * verified against their CIDs. The receipts of those transfers are what the validators chapter reports: the
 * layer is left running for it (`stop()` once it is done).
 *
 * Chain time first moves to the start of the period holding the next epoch's last second before it starts:
 * the receipts fall in the period the validators' first report covers (the committee's first period, or the
 * one just before it, whose traffic rolls into it).
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generatePrivateKey } from "viem/accounts";
import { runHms } from "../../offchain/devnet/cluster";
import { periodAt } from "../../offchain/protocol/transfer";
import { StorageLayer, chainAlignedClock } from "../../offchain/testing/storage-layer";
import { type DemoContext, heading, table } from "./context";

const MiB = 1024 * 1024;
/** The demo's files: name, size, slice size. */
const FILES: Array<{ path: string; size: number; sliceSize: number }> = [
  { path: "/demo/photos.tar", size: 3 * MiB + 333_333, sliceSize: MiB },
  { path: "/demo/dataset.bin", size: 2 * MiB + 77, sliceSize: MiB / 2 },
];

export interface StorageDemo {
  layer: StorageLayer;
  /** The period the transfers' receipts fall in (MiningPool's period numbering). */
  period: bigint;
  files: Array<{ path: string; cid: string; size: number }>;
  /** Tasks (both sides signed) the transfers made. */
  tasks: number;
  /** Bytes those tasks served: every copy uploaded, every slice read. */
  bytes: bigint;
  stop(): Promise<void>;
}

const rate = (bytes: number, ms: number) => `${((bytes / MiB) * (1000 / Math.max(1, ms))).toFixed(1)} MiB/s`;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export async function storageChapter(ctx: DemoContext): Promise<StorageDemo> {
  heading("Storage: meta and storage daemons store and serve real files (PROTOCOL §7–§9, §11 receipts)");
  const { MiningPool, BookkeeperStaking } = ctx.hms;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-demo-storage-"));
  const pool = { genesis: await MiningPool.read.genesis(), periodLength: BigInt(await MiningPool.read.periodLength()) };

  // Chain time → the start of the period that holds the next epoch's last second before it starts.
  const next = (await BookkeeperStaking.read.currentEpoch()) + 1n;
  const lastBefore = (await BookkeeperStaking.read.epochStart([next])) - 1n;
  const target = pool.genesis + ((lastBefore - pool.genesis) / pool.periodLength) * pool.periodLength + 1n;
  if ((await ctx.publicClient.getBlock()).timestamp < target) {
    await ctx.testClient.setNextBlockTimestamp({ timestamp: target });
    await ctx.testClient.mine({ blocks: 1 });
  }
  // Receipts are stamped by the wall clock; the chain runs at a fixed offset from it: shift the clock by that.
  const clock = chainAlignedClock(pool, (await ctx.publicClient.getBlock()).timestamp);

  const started = Date.now();
  const layer = await StorageLayer.start({
    dir,
    chainId: ctx.deployment.chainId,
    nodeRegistry: ctx.deployment.contracts.NodeRegistry.address,
    miningPool: ctx.deployment.contracts.MiningPool.address,
    clock,
  });
  const stop = async () => {
    await layer.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    ctx.dashboard?.watch({ meta: layer.urls(), storage: layer.storage.workers.map((w) => w.url) });
    const master = (await layer.meta.statuses()).findIndex((s) => s?.role === "leader");
    console.log(
      `  3 meta nodes (master: meta-${master}) and 3 storage workers (demo nodes 0–2) up in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s; working directory ${dir}`,
    );

    // The files go in and out through the CLI (`hms put` / `hms get` as child processes, keys from the
    // environment as a user's shell would hold them); the index is read back through the SDK to show the copies.
    const client = layer.client();
    const ownerKey = generatePrivateKey();
    const readerKey = generatePrivateKey();
    const env = (key: string) => ({ HMS_META_URLS: layer.urls().join(","), HMS_PRIVATE_KEY: key });
    const cli = async (args: string[], key: string) => {
      const run = await runHms(args, env(key));
      if (run.code !== 0) throw new Error(`demo: hms ${args.join(" ")} exited ${run.code}\n${run.stdout}${run.stderr}`);
      return JSON.parse(run.stdout) as Record<string, unknown>;
    };
    const nodeName = new Map(layer.storage.workers.map((w) => [w.nodeId.toLowerCase(), `node ${w.index}`]));
    const rows: (string | number)[][] = [];
    const files: StorageDemo["files"] = [];
    let tasks = 0;
    let bytes = 0n;
    fs.mkdirSync(path.join(dir, "files"));
    for (const f of FILES) {
      const data = randomBytes(f.size);
      const local = path.join(dir, "files", path.basename(f.path));
      const back = `${local}.read`;
      fs.writeFileSync(local, data);
      const sliceSize = String(f.sliceSize);
      console.log(`  $ hms put ${path.basename(local)} --to ${f.path} --slice-size ${sliceSize} --json`);
      let t0 = Date.now();
      const put = await cli(["put", local, "--to", f.path, "--slice-size", sliceSize, "--json"], ownerKey);
      const upMs = Date.now() - t0;
      const rootCid = String(put.rootCid);
      console.log(`  $ hms get ${rootCid} -o ${path.basename(back)} --json`);
      t0 = Date.now();
      await cli(["get", rootCid, "-o", back, "--json"], readerKey);
      const downMs = Date.now() - t0;
      if (sha256(fs.readFileSync(back)) !== sha256(data))
        throw new Error(`demo: ${f.path} read back differs from what was stored`);
      const where = await client.locate({ cid: rootCid });
      const stat = (await cli(["stat", f.path, "--json"], ownerKey)) as {
        file: { slices: { size: number }[]; dagBlocks: { size: number }[] };
      };
      const copies = where.slices.map((s) => s.replicas.length);
      const holders = new Set(where.slices.flatMap((s) => s.replicas.map((r) => nodeName.get(r.nodeId.toLowerCase()))));
      // One task per copy written (slices and DAG blocks, `put.copies` each) and per slice read, each worth its
      // block's bytes: what the receipts must add up to.
      const n = Number(put.copies);
      for (const b of [...stat.file.slices, ...stat.file.dagBlocks]) {
        tasks += n;
        bytes += BigInt(b.size * n);
      }
      tasks += stat.file.slices.length;
      bytes += BigInt(f.size);
      files.push({ path: f.path, cid: rootCid, size: f.size });
      rows.push([
        f.path,
        rootCid,
        `${(f.size / MiB).toFixed(2)} MiB`,
        `${where.slices.length} × ${f.sliceSize / 1024} KiB`,
        copies.join("/"),
        [...holders].sort().join(", "),
        rate(f.size, upMs),
        rate(f.size, downMs),
      ]);
    }
    await client.close();
    console.log("\n  files stored through the meta layer, read back and verified (sha256 and every block's CID)");
    table(["path", "root CID", "size", "slices", "copies per slice", "on", "upload", "download"], rows);
    const period = periodAt(clock, BigInt(Math.floor(Date.now() / 1000)));
    console.log(
      `  ${tasks} transfers (every copy written, every slice read), ${bytes.toLocaleString("en-US")} bytes, ` +
        `each receipted by both sides in period ${period} and acknowledged by a majority of the meta nodes`,
    );
    return { layer, period, files, tasks, bytes, stop };
  } catch (err) {
    for (const p of [...layer.meta.specs.map((s) => s.process), ...layer.storage.workers.map((w) => w.process)])
      if (p !== undefined) console.error(`--- ${p.name}\n${p.tail(10)}`);
    await stop();
    throw err;
  }
}
