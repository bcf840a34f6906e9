/**
 * The chaos matrix (issue 15 item 2), case by case, on one running devnet. Each case injects a real fault into
 * real processes — SIGKILL, SIGSTOP/SIGCONT, bytes flipped on a worker's disk, peer links through a fault proxy
 * that drops, delays, duplicates and reorders — and asserts what must hold afterwards; a failed assertion throws
 * and the runner marks the case FAIL. Each returns what it checked and its time to recover.
 *
 * Order matters (the runner keeps it): every transfer happens before the partition case ends the period that
 * holds them, so the receipts case can account for every acknowledged receipt in the reports on chain.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { CID } from "multiformats/cid";
import { stringify as toYaml } from "yaml";
import type { Hex } from "viem";
import { miningPoolAbi } from "../../offchain/chain/abis";
import { makeDirectory } from "../../offchain/client/storage";
import { freePorts, runHms } from "../../offchain/devnet/cluster";
import { getJson, waitReady } from "../../offchain/devnet/devnet";
import { blockKey } from "../../offchain/storage/blockstore";
import { periodEnd } from "../../offchain/protocol/proposal";
import { HttpFaultProxy, type FaultPlan } from "../../offchain/testing/fault-proxy";
import { ChaosContext, sha256, sleep, until } from "./context";

export interface CaseResult {
  fault: string;
  checked: string;
  /** ms from the fault to the recovered state (null: nothing to recover from). */
  recoverMs: number | null;
  detail: string;
}

export interface ChaosCase {
  name: string;
  run(ctx: ChaosContext): Promise<CaseResult>;
}

/** Bounds the cases assert (stated in the table). */
export const BOUNDS = {
  /** Every slice back to 3 copies on live workers after a worker dies (3 s down-after + repair passes). */
  recopyMs: 90_000,
  /** A new meta master after the old one dies. */
  masterMs: 20_000,
  /** A period reported after it ends (with a validator down or cut off: one view change). */
  reportMs: 180_000,
};

const MiB = 1024 * 1024;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "CODE ×n, …" of a list of codes. */
function tally(codes: string[]): string {
  const n = new Map<string, number>();
  for (const c of codes) n.set(c, (n.get(c) ?? 0) + 1);
  return [...n.entries()].map(([c, k]) => `${c} ×${k}`).join(", ");
}

function pick<T>(ctx: ChaosContext, items: readonly T[]): T {
  assert.ok(items.length > 0, "nothing to pick from");
  return items[Math.floor(ctx.random() * items.length)];
}

async function liveWorkers(ctx: ChaosContext): Promise<string[]> {
  return ctx
    .processes("storage")
    .filter((p) => ctx.alive(p.name))
    .map((p) => p.name);
}

// ── storage workers killed mid-transfer ──

export const killMidUpload: ChaosCase = {
  name: "storage-kill-upload",
  async run(ctx) {
    const victim = pick(ctx, await liveWorkers(ctx));
    const data = ctx.bytes(8 * MiB);
    let killedAt = 0;
    const stored = await ctx.put("/chaos/kill-mid-upload.bin", data, {
      onProgress: (done, total) => {
        if (killedAt === 0 && done * 4n >= total) {
          killedAt = Date.now();
          ctx.signal(victim, "SIGKILL");
        }
      },
    });
    assert.ok(killedAt > 0, "the worker was killed during the upload");
    const back = await ctx.read(stored.rootCid);
    assert.equal(sha256(back), stored.sha256, "the file reads back bit-identical");
    const recoverMs = Date.now() - killedAt + (await ctx.waitCopies([stored.rootCid], BOUNDS.recopyMs));
    const { slices } = await ctx.copies(stored.rootCid);
    await ctx.restart(victim);
    return {
      fault: `kill -9 ${victim} a quarter into an 8 MiB upload`,
      checked: `upload completes (${stored.replaced} replacements), bytes identical, ${slices} slices × 3 live copies`,
      recoverMs,
      detail: `kill → 3 copies; bound ${seconds(BOUNDS.recopyMs)}`,
    };
  },
};

export const killMidDownload: ChaosCase = {
  name: "storage-kill-download",
  async run(ctx) {
    const data = ctx.bytes(8 * MiB);
    const stored = await ctx.put("/chaos/kill-mid-download.bin", data);
    // The victim holds copies of the second half of the file: the read must go elsewhere for them.
    const { nodes } = await ctx.copies(stored.rootCid);
    const later = nodes.slice(Math.floor(nodes.length / 2)).flat();
    const candidates = (await liveWorkers(ctx)).filter((n) => later.includes(ctx.proc(n).id!.toLowerCase()));
    const victim = pick(ctx, candidates);
    let killedAt = 0;
    const back = await ctx.read(stored.rootCid, (n) => {
      if (killedAt === 0 && n >= data.length / 4) {
        killedAt = Date.now();
        ctx.signal(victim, "SIGKILL");
      }
    });
    assert.ok(killedAt > 0, "the worker was killed during the download");
    assert.equal(sha256(back), stored.sha256, "the file reads back bit-identical");
    const recoverMs =
      Date.now() -
      killedAt +
      (await ctx.waitCopies(
        [...ctx.files.values()].map((f) => f.rootCid),
        BOUNDS.recopyMs,
      ));
    await ctx.restart(victim);
    return {
      fault: `kill -9 ${victim} (holds copies read later) a quarter into an 8 MiB download`,
      checked: `download completes, bytes identical; every file's slices × 3 live copies`,
      recoverMs,
      detail: `kill → 3 copies; bound ${seconds(BOUNDS.recopyMs)}`,
    };
  },
};

// ── a slice corrupted on a worker's disk ──

function findBlockFile(dataDir: string, key: string): string | undefined {
  const blocks = path.join(dataDir, "blocks");
  for (const shard of fs.readdirSync(blocks)) {
    const f = path.join(blocks, shard, `${key}.data`);
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

export const corruptSlice: ChaosCase = {
  name: "storage-corrupt-slice",
  async run(ctx) {
    const data = ctx.bytes(2 * MiB);
    const stored = await ctx.put("/chaos/corrupt.bin", data);
    const loc = await ctx.meta.locate({ cid: stored.rootCid });
    const k = 1 + Math.floor(ctx.random() * (loc.slices.length - 1));
    const slice = loc.slices[k];
    const holder = ctx.workerOf(slice.replicas[0].nodeId)!;
    const dataDir = String(ctx.config(holder.name).dataDir);
    const file = findBlockFile(dataDir, blockKey(CID.parse(slice.cid)));
    assert.ok(file, `slice ${k} (${slice.cid}) is on ${holder.name}'s disk`);
    // Flip bytes in place: same size, wrong content (bit rot; the block's name still claims the CID).
    const fd = fs.openSync(file, "r+");
    const junk = Buffer.from("chaos: corrupted on disk");
    fs.writeSync(fd, junk, 0, junk.length, 1_000);
    fs.closeSync(fd);
    const corruptedAt = Date.now();

    // The worker never serves it: a direct read is refused as corrupt.
    const res = await fetch(`${holder.url}/v1/slices/${slice.cid}`);
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
    assert.equal(res.status, 500, "the corrupt copy is not served");
    assert.equal(body.error?.code, "STORAGE_CORRUPT");

    // Clients keep reading the file whole; the copy is replaced: 3 live copies, each serving the right bytes.
    let reads = 0;
    const digest = sha256(data.subarray(Number(slice.offset), Number(slice.offset) + slice.size));
    await until(
      "the corrupt copy replaced",
      async () => {
        const back = await ctx.read(stored.rootCid);
        reads++;
        assert.equal(sha256(back), stored.sha256, "every read during the repair is bit-identical");
        const now = (await ctx.meta.locate({ cid: stored.rootCid })).slices[k];
        if (new Set(now.replicas.map((r) => r.nodeId.toLowerCase())).size < 3) return false;
        for (const r of now.replicas) {
          const got = await fetch(`${r.url}/v1/slices/${slice.cid}`);
          if (got.status !== 200 || sha256(Buffer.from(await got.arrayBuffer())) !== digest) return false;
        }
        return true;
      },
      BOUNDS.recopyMs,
      1_000,
    );
    return {
      fault: `${junk.length} bytes overwritten in slice ${k} on ${holder.name}'s disk`,
      checked: `refused as STORAGE_CORRUPT, ${reads} reads bit-identical, 3 verified copies again`,
      recoverMs: Date.now() - corruptedAt,
      detail: `corrupted → 3 verified copies; bound ${seconds(BOUNDS.recopyMs)}`,
    };
  },
};

// ── the meta master killed, and frozen ──

/** Writes (mkdir) in the background until stopped; the acknowledged names. */
function writer(ctx: ChaosContext, dir: string): { stop(): Promise<{ acked: string[]; failed: string[] }> } {
  const acked: string[] = [];
  const failed: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const name = `d${String(i).padStart(4, "0")}`;
      try {
        await makeDirectory(ctx.storage, { path: `${dir}/${name}` });
        acked.push(name);
      } catch (err) {
        failed.push(`${name}: ${(err as { code?: string }).code ?? (err as Error).message}`);
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { acked, failed };
    },
  };
}

/** Waits until every meta node lists every name in `names` under `dir`. */
async function everywhere(ctx: ChaosContext, dir: string, names: string[], timeoutMs = 30_000): Promise<void> {
  await until(
    `every meta node lists the ${names.length} acknowledged writes`,
    async () => {
      for (const url of ctx.metaUrls()) {
        const have = new Set((await ctx.namesAt(url, dir, ctx.meta.lastIndex)) ?? []);
        if (!names.every((n) => have.has(n))) return false;
      }
      return true;
    },
    timeoutMs,
    500,
  );
}

export const killMaster: ChaosCase = {
  name: "meta-kill-master",
  async run(ctx) {
    await makeDirectory(ctx.storage, { path: "/chaos/master" });
    const old = await until("a meta master", () => ctx.master(), BOUNDS.masterMs);
    const w = writer(ctx, "/chaos/master");
    await sleep(1_500);
    const killedAt = Date.now();
    await ctx.kill(old.value.name);
    const next = await until(
      "a new master",
      async () => {
        const m = await ctx.master();
        return m && m.name !== old.value.name && m.term! > old.value.term! ? m : undefined;
      },
      BOUNDS.masterMs,
      100,
    );
    const electedMs = Date.now() - killedAt;
    await sleep(1_500);
    const { acked, failed } = await w.stop();
    assert.ok(acked.length > 0, "writes were acknowledged around the kill");
    await ctx.restart(old.value.name);
    await everywhere(ctx, "/chaos/master", acked);
    const back = (await ctx.metaViews()).find((v) => v.name === old.value.name)!;
    assert.notEqual(back.role, "leader", "the old master does not come back as master of a newer term");
    return {
      fault: `kill -9 the meta master ${old.value.name} (term ${old.value.term}) under a stream of writes`,
      checked: `${next.value.name} master of term ${next.value.term}; ${acked.length} acknowledged writes on all 3 nodes, 0 lost (${failed.length} refused, not acknowledged)`,
      recoverMs: electedMs,
      detail: `kill → new master; bound ${seconds(BOUNDS.masterMs)}`,
    };
  },
};

export const freezeMaster: ChaosCase = {
  name: "meta-frozen-master",
  async run(ctx) {
    const old = await until("a meta master", () => ctx.master(), BOUNDS.masterMs);
    const frozenAt = Date.now();
    ctx.signal(old.value.name, "SIGSTOP");
    let resumed = false;
    try {
      const next = await until(
        "a new master while the old one is frozen",
        async () => {
          const m = await ctx.master();
          return m && m.name !== old.value.name ? m : undefined;
        },
        BOUNDS.masterMs,
        100,
      );
      const electedMs = Date.now() - frozenAt;
      await makeDirectory(ctx.storage, { path: "/chaos/frozen-ok" });
      // The old master wakes up believing it still leads: a write sent to it at once must not be acknowledged.
      ctx.signal(old.value.name, "SIGCONT");
      resumed = true;
      const refused = await ctx.mkdirAt(old.value.url, "/chaos/frozen-refused");
      assert.notEqual(refused.status, 200, `the old master acknowledged a write (${refused.code ?? "ok"})`);
      await until(
        "the old master follows the new term",
        async () => {
          const v = (await ctx.metaViews()).find((x) => x.name === old.value.name);
          return v?.role === "follower" && v.term! >= next.value.term!;
        },
        BOUNDS.masterMs,
      );
      // Nowhere, ever: the refused write is on no node; the acknowledged one is on all.
      await everywhere(ctx, "/chaos", ["frozen-ok"]);
      for (const url of ctx.metaUrls()) {
        const names = await ctx.namesAt(url, "/chaos", ctx.meta.lastIndex);
        assert.ok(names && !names.includes("frozen-refused"), `${url} holds the old master's refused write`);
      }
      return {
        fault: `SIGSTOP the meta master ${old.value.name} (term ${old.value.term}), SIGCONT after a new election`,
        checked: `${next.value.name} master of term ${next.value.term}; the old master's write refused (${refused.status} ${refused.code ?? ""}) and on no node; it follows`,
        recoverMs: electedMs,
        detail: `freeze → new master; bound ${seconds(BOUNDS.masterMs)}`,
      };
    } finally {
      if (!resumed) ctx.signal(old.value.name, "SIGCONT");
    }
  },
};

// ── every daemon restarted in turn, under load ──

export const restartEach: ChaosCase = {
  name: "restart-every-daemon",
  async run(ctx) {
    let running = true;
    let puts = 0;
    let gets = 0;
    const errors: string[] = [];
    const load = (async () => {
      for (let i = 0; running; i++) {
        try {
          const size = 64 * 1024 + Math.floor(ctx.random() * 448 * 1024);
          const f = await ctx.put(`/chaos/restarts/f${i}.bin`, ctx.bytes(size), { sliceSize: 128 * 1024 });
          puts++;
          const back = await ctx.read(f.rootCid);
          assert.equal(sha256(back), f.sha256, `f${i} read back bit-identical`);
          gets++;
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          const e = err as { code?: string; message?: string };
          errors.push(e.code ?? "ERROR");
          if (errors.length <= 5) ctx.log(`  restart load: ${e.code ?? ""} ${String(e.message).slice(0, 200)}`);
          await sleep(250);
        }
      }
    })();
    const order = ctx
      .state()
      .processes.filter((p) => p.role !== "chain")
      .map((p) => p.name);
    let slowest = 0;
    let slowestName = "";
    try {
      for (const name of order) {
        const t = Date.now();
        await ctx.restart(name, { signal: "SIGTERM" });
        if (name.startsWith("meta")) await until("a meta master", () => ctx.master(), BOUNDS.masterMs);
        const ms = Date.now() - t;
        if (ms > slowest) [slowest, slowestName] = [ms, name];
      }
      await sleep(2_000);
    } finally {
      running = false;
      await load;
    }
    assert.ok(puts > 0 && gets > 0, "the load ran");
    return {
      fault: `SIGTERM and restart each of ${order.length} daemons in turn under put/get load`,
      checked: `${puts} puts and ${gets} gets bit-identical (${errors.length} refused, none acknowledged${errors.length ? `: ${tally(errors)}` : ""}); receipts, signatures: see the receipts row`,
      recoverMs: slowest,
      detail: `slowest restart to healthy: ${slowestName}`,
    };
  },
};

// ── the chain's clock: ending periods ──

async function poolClock(ctx: ChaosContext) {
  const pool = ctx.deployment.contracts.MiningPool.address;
  const read = <T>(functionName: "genesis" | "periodLength") =>
    ctx.chain.publicClient.readContract({ address: pool, abi: miningPoolAbi, functionName }) as Promise<T>;
  const genesis = await read<bigint>("genesis");
  const length = BigInt(await read<number>("periodLength"));
  return { pool, genesis, length };
}

/** Moves the chain past the end of its current period; returns that period. */
async function endPeriod(ctx: ChaosContext): Promise<bigint> {
  const { genesis, length } = await poolClock(ctx);
  const block = await ctx.chain.publicClient.getBlock();
  const wall = BigInt(Math.floor(Date.now() / 1000));
  const now = block.timestamp > wall ? block.timestamp : wall;
  const period = (now - genesis) / length;
  await ctx.chain.testClient.setNextBlockTimestamp({ timestamp: periodEnd(genesis, length, period) + 1n });
  await ctx.chain.testClient.mine({ blocks: 1 });
  return period;
}

async function reported(ctx: ChaosContext, period: bigint): Promise<boolean> {
  const { pool } = await poolClock(ctx);
  const [done] = (await ctx.chain.publicClient.readContract({
    address: pool,
    abi: miningPoolAbi,
    functionName: "periodRecord",
    args: [period],
  })) as readonly [boolean, ...unknown[]];
  return done;
}

async function reportEvents(ctx: ChaosContext, period?: bigint) {
  const { pool } = await poolClock(ctx);
  return ctx.chain.publicClient.getContractEvents({
    address: pool,
    abi: miningPoolAbi,
    eventName: "PeriodReported",
    ...(period === undefined ? {} : { args: { period } }),
    fromBlock: 0n,
  });
}

// ── a meta node and a validator cut off by a fault proxy ──

interface Isolated {
  name: string;
  original: string;
  proxies: HttpFaultProxy[];
}

/** Restarts `name` with its peer links through fault proxies: one in front of it, one per peer it calls. */
async function isolate(ctx: ChaosContext, name: string, seed: number): Promise<Isolated> {
  const p = ctx.proc(name);
  const cfg = ctx.config(name);
  const [fresh] = await freePorts(1);
  const proxies: HttpFaultProxy[] = [];
  let inbound: { port: number; target: string };
  if (p.role === "meta") {
    const listen = cfg.peerListen as { host: string; port: number };
    inbound = { port: listen.port, target: `http://127.0.0.1:${fresh}` };
    cfg.peerListen = { ...listen, port: fresh };
    const peers = cfg.peers as { address: string; peerUrl: string; apiUrl: string }[];
    for (const peer of peers) {
      if (Number(new URL(peer.peerUrl).port) === listen.port) continue;
      const proxy = await HttpFaultProxy.start({ target: peer.peerUrl, seed: seed + proxies.length });
      proxies.push(proxy);
      peer.peerUrl = proxy.url;
    }
  } else {
    const listen = cfg.listen as { host: string; port: number };
    inbound = { port: listen.port, target: `http://127.0.0.1:${fresh}` };
    cfg.listen = { ...listen, port: fresh };
    const peers = cfg.peers as Record<string, string>;
    for (const [address, url] of Object.entries(peers)) {
      if (Number(new URL(url).port) === listen.port) continue;
      const proxy = await HttpFaultProxy.start({ target: url, seed: seed + proxies.length });
      proxies.push(proxy);
      peers[address] = proxy.url;
    }
  }
  const original = p.config!;
  const file = original.replace(/\.yaml$/, ".chaos.yaml");
  fs.writeFileSync(file, toYaml(cfg));
  await ctx.restart(name, { config: file, wait: false });
  proxies.push(await HttpFaultProxy.start({ port: inbound.port, target: inbound.target, seed: seed + 99 }));
  await waitReady([ctx.proc(name)], 90_000);
  return { name, original, proxies };
}

function setPlan(isolated: Isolated[], plan: FaultPlan): void {
  for (const i of isolated) for (const p of i.proxies) p.plan(plan);
}

async function restore(ctx: ChaosContext, i: Isolated): Promise<void> {
  for (const p of i.proxies) await p.close();
  await ctx.restart(i.name, { config: i.original });
}

/** Samples the meta nodes' roles: a split brain is two leaders in one term. */
function splitBrainWatch(ctx: ChaosContext) {
  const leaders = new Map<string, Set<string>>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const v of await ctx.metaViews())
        if (v.role === "leader" && v.term !== undefined) {
          const set = leaders.get(v.term.toString()) ?? new Set<string>();
          set.add(v.name);
          leaders.set(v.term.toString(), set);
        }
      samples++;
      await sleep(200);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const split = [...leaders.entries()].filter(([, s]) => s.size > 1);
      return { samples, terms: leaders.size, split };
    },
  };
}

export const partition: ChaosCase = {
  name: "partition-meta-and-validator",
  async run(ctx) {
    const master = await until("a meta master", () => ctx.master(), BOUNDS.masterMs);
    const validators = ctx.processes("validator");
    const healths = await Promise.all(validators.map((v) => getJson(`${v.url}/health`)));
    const backup = validators.find((_, i) => healths[i]?.body.role === "backup") ?? validators[validators.length - 1];
    const seed = Math.floor(ctx.random() * 1e6);
    const cut = [await isolate(ctx, master.value.name, seed), await isolate(ctx, backup.name, seed + 1_000)];
    const watch = splitBrainWatch(ctx);
    let cutAt: number;
    let period = 0n;
    let refused: { status: number; code?: string } | undefined;
    let reportMs: number;
    let healedAt: number;
    let levelMs: number;
    try {
      // 1. Cut off: every request on their peer links dropped.
      await until("a master after the restart", () => ctx.master(), BOUNDS.masterMs);
      setPlan(cut, { drop: 1 });
      cutAt = Date.now();
      await until(
        "a master among the connected majority",
        async () => {
          const m = (await ctx.metaViews()).find((v) => v.role === "leader" && v.name !== master.value.name);
          return m;
        },
        BOUNDS.masterMs,
        100,
      );
      refused = await ctx.mkdirAt(master.value.url, "/chaos/partition-minority");
      assert.notEqual(refused.status, 200, "the cut-off node acknowledged a write");
      await makeDirectory(ctx.storage, { path: "/chaos/partition-majority" });
      // The period holding every transfer so far ends while a validator is cut off: the other three report it.
      const t = Date.now();
      period = await endPeriod(ctx);
      await until(
        `period ${period} reported with a validator cut off`,
        () => reported(ctx, period),
        BOUNDS.reportMs,
        500,
      );
      reportMs = Date.now() - t;

      // 2. Degraded: dropped, delayed, duplicated and reordered requests.
      setPlan(cut, { drop: 0.1, duplicate: 0.3, delay: { minMs: 0, maxMs: 100 }, reorderMs: 200 });
      for (let i = 0; i < 5; i++) await makeDirectory(ctx.storage, { path: `/chaos/partition-degraded-${i}` });
      await sleep(5_000);

      // 3. Healed.
      setPlan(cut, {});
      healedAt = Date.now();
      await everywhere(
        ctx,
        "/chaos",
        ["partition-majority", ...Array.from({ length: 5 }, (_, i) => `partition-degraded-${i}`)],
        60_000,
      );
      levelMs = Date.now() - healedAt;
      for (const url of ctx.metaUrls()) {
        const names = await ctx.namesAt(url, "/chaos", ctx.meta.lastIndex);
        assert.ok(names && !names.includes("partition-minority"), `${url} holds the minority's write`);
      }
    } finally {
      const brain = await watch.stop();
      const counters = cut.map((c) => c.proxies.reduce((n, p) => n + p.counters.dropped + p.counters.duplicated, 0));
      for (const c of cut) await restore(ctx, c);
      assert.equal(
        brain.split.length,
        0,
        `two masters in one term: ${JSON.stringify(brain.split.map(([t, s]) => [t, [...s]]))}`,
      );
      ctx.log(
        `  partition: ${brain.samples} samples, ${brain.terms} terms with a master, faults injected ${counters.join("/")}`,
      );
    }
    const dupes = (await reportEvents(ctx, period)).length;
    assert.equal(dupes, 1, `period ${period} reported ${dupes} times`);
    return {
      fault: `${master.value.name} (master) and ${backup.name} cut off (drop all), then degraded (10 % drop, 30 % duplicate, 0–300 ms delay/reorder), healed`,
      checked: `no two masters in a term; the minority's write refused (${refused?.status} ${refused?.code ?? ""}) and on no node; period ${period} reported once by the others`,
      recoverMs: reportMs,
      detail: `period end → report; healed → all nodes level in ${seconds(levelMs)}; cut for ${seconds(healedAt - cutAt)}`,
    };
  },
};

// ── the validator primary killed ──

export const killPrimary: ChaosCase = {
  name: "validator-kill-primary",
  async run(ctx) {
    const validators = ctx.processes("validator");
    const primary = await until(
      "a PBFT primary",
      async () => {
        const hs = await Promise.all(validators.map((v) => getJson(`${v.url}/health`)));
        return validators.find((_, i) => hs[i]?.body.role === "primary");
      },
      60_000,
    );
    const period = await endPeriod(ctx);
    const killedAt = Date.now();
    await ctx.kill(primary.value.name);
    await until(`period ${period} reported without its primary`, () => reported(ctx, period), BOUNDS.reportMs, 500);
    const recoverMs = Date.now() - killedAt;
    await ctx.restart(primary.value.name);
    // Back, it catches up and posts nothing twice.
    await until(
      `${primary.value.name} caught up`,
      async () => (await getJson(`${primary.value.url}/health`))?.body.lastReported === period.toString(),
      60_000,
    );
    await sleep(3_000);
    const events = await reportEvents(ctx, period);
    assert.equal(events.length, 1, `period ${period} reported ${events.length} times`);
    return {
      fault: `kill -9 the PBFT primary ${primary.value.name} as period ${period} ends`,
      checked: `period ${period} reported exactly once (view change); the primary restarts and catches up`,
      recoverMs,
      detail: `kill → report; bound ${seconds(BOUNDS.reportMs)}`,
    };
  },
};

// ── the books: every receipt once, audits, no double signing ──

interface ServedReport {
  report: { dataCid: string; rewardsRoot: Hex; totalTraffic: string; fromPeriod: string };
  document: { inputs?: { traffic: { period: string; client: { taskId: string }[]; node: { taskId: string }[] }[] } };
}

export const books: ChaosCase = {
  name: "receipts-and-signatures",
  async run(ctx) {
    const events = await reportEvents(ctx);
    const periods = [...new Set(events.map((e) => (e.args as { period: bigint }).period))].sort((a, b) =>
      a < b ? -1 : 1,
    );
    assert.ok(periods.length > 0, "periods were reported");
    assert.equal(events.length, periods.length, "no period reported twice");
    const clientSeen = new Map<string, number>();
    const nodeSeen = new Map<string, number>();
    let audits = 0;
    for (const period of periods) {
      const served: ServedReport[] = [];
      for (const v of ctx.processes("validator")) {
        const r = await getJson(`${v.url}/v1/reports/${period}`, 10_000);
        if (r?.status === 200) served.push(r.body as unknown as ServedReport);
      }
      assert.ok(served.length > 0, `some validator serves period ${period}'s report`);
      // No double signing: every validator that executed the period holds the same report.
      const digests = new Set(
        served.map((s) => `${s.report.dataCid}/${s.report.rewardsRoot}/${s.report.totalTraffic}`),
      );
      assert.equal(digests.size, 1, `validators hold ${digests.size} different reports for period ${period}`);
      for (const t of served[0].document.inputs?.traffic ?? []) {
        for (const r of t.client) clientSeen.set(r.taskId, (clientSeen.get(r.taskId) ?? 0) + 1);
        for (const r of t.node) nodeSeen.set(r.taskId, (nodeSeen.get(r.taskId) ?? 0) + 1);
      }
      const audit = await runHms(
        [
          "audit",
          String(period),
          "--rpc",
          ctx.state().rpcUrl,
          "--deployment",
          ctx.state().deployment,
          "--meta",
          ctx.metaUrls().join(","),
          "--json",
        ],
        {},
        120_000,
      );
      assert.equal(audit.code, 0, `hms audit ${period}: ${audit.stdout.slice(0, 400)} ${audit.stderr.slice(0, 400)}`);
      audits++;
    }
    const mine = [...ctx.meta.acked.client.keys()];
    assert.ok(mine.length > 0, "the chaos client's transfers were receipted");
    const missing = mine.filter((id) => (clientSeen.get(id) ?? 0) === 0);
    const twice = [...clientSeen.entries(), ...nodeSeen.entries()].filter(([, n]) => n > 1);
    const unpaired = mine.filter((id) => (nodeSeen.get(id) ?? 0) !== 1);
    assert.deepEqual(missing, [], `${missing.length} acknowledged client receipts in no report`);
    assert.deepEqual(twice, [], `${twice.length} receipts counted twice`);
    assert.deepEqual(unpaired, [], `${unpaired.length} transfers without exactly one node receipt`);
    const verify = await ctx.verifyAll();
    assert.deepEqual(verify.bad, [], "every acknowledged file reads back");
    return {
      fault: "(after all of the above)",
      checked: `${mine.length} acknowledged transfers each in exactly one report, both sides; ${audits} periods audited OK; 1 report per period, the same on every validator; ${verify.checked} files bit-identical`,
      recoverMs: null,
      detail: `periods ${periods.join(", ")}`,
    };
  },
};

export const CASES: ChaosCase[] = [
  killMidUpload,
  killMidDownload,
  corruptSlice,
  killMaster,
  freezeMaster,
  restartEach,
  partition,
  killPrimary,
  books,
];
