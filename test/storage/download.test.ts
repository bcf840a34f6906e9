/**
 * Verified download with fallback (offchain/client/storage/download.ts) from real worker processes: every
 * slice is checked against its CID; a copy corrupted on disk is refused by its worker (verify on read) or, from
 * a worker that does not verify, caught by the client — either way the download succeeds from another replica
 * and the bad copy is reported; a range read fetches only the slices it needs; replicas are picked nearest
 * first and at random among equals; an AbortSignal stops the stream.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { LatencyEstimator, WorkerClient, download, privateKeySigner, upload } from "../../offchain/client/storage";
import type { GetSliceOptions } from "../../offchain/client/storage/worker-client";
import { blockKey } from "../../offchain/storage/blockstore";
import { parseSliceCid } from "../../offchain/protocol/slicing";
import type { NodeEndpoint } from "../../offchain/protocol/network";
import { StorageCluster } from "../../offchain/testing/storage-cluster";
import { FixtureStorageNetwork } from "../../offchain/testing/storage-network";
import { collect, tempDir } from "./helpers";

class CountingClient extends WorkerClient {
  readonly fetched: Array<{ node: string; cid: string }> = [];
  override getSliceParts(node: string, cid: string, options?: GetSliceOptions): Promise<Buffer[]> {
    this.fetched.push({ node, cid });
    return super.getSliceParts(node, cid, options);
  }
}

/** A latency estimate that makes `nearest` the nearest replica by far. */
function preferring(nearest: Hex, others: NodeEndpoint[]): LatencyEstimator {
  const l = new LatencyEstimator();
  l.observe(nearest, 0.01, 1 << 20);
  for (const n of others) if (n.nodeId !== nearest) l.observe(n.nodeId, 1000, 1 << 20);
  return l;
}

function blockPath(dataDir: string, cid: string): string {
  const key = blockKey(parseSliceCid(cid).cid);
  return path.join(dataDir, "blocks", key.slice(-3, -1), `${key}.data`);
}

describe("storage: verified download with fallback", function () {
  this.timeout(240_000);
  let cluster: StorageCluster;
  let net: FixtureStorageNetwork;
  const SLICE = 256 * 1024;
  const data = randomBytes(10 * SLICE + 12_345);
  let root: string;

  before(async function () {
    // Worker 3 does not verify on read: only the client stands between its disk and the reader.
    cluster = await StorageCluster.start({
      dir: tempDir("download"),
      count: 4,
      logLevel: "warn",
      extra: (i) => (i === 3 ? { store: { verifyOnRead: false } } : {}),
    });
    net = new FixtureStorageNetwork(cluster.endpoints(), { ...cluster.params, keys: cluster.keys() });
    const owner = privateKeySigner(generatePrivateKey());
    root = (await upload(net, data, { owner, network: cluster.params, path: "/d.bin", sliceSize: SLICE })).rootCid;
  });
  after(async function () {
    await cluster?.stopAll();
  });

  it("reads the whole file, every slice verified, byte for byte", async function () {
    const d = await download(net, root);
    expect(d.length).to.equal(BigInt(data.length));
    expect((await collect(d)).equals(data)).to.equal(true);
  });

  for (const [which, verifying] of [
    [0, "a worker that verifies on read refuses its corrupted copy"],
    [3, "a worker that does not verify serves its corrupted copy, and the client catches it"],
  ] as const) {
    it(`${verifying}: the download succeeds from another replica and the bad copy is reported`, async function () {
      const w = cluster.workers[which];
      const location = await net.locate({ cid: root });
      const slice = location.slices.find((s) => s.replicas.some((r) => r.nodeId === w.nodeId));
      expect(slice, `worker ${which} holds a slice (11 slices × 3 copies on 4 nodes)`).to.not.equal(undefined);
      const file = blockPath(w.dataDir, slice!.cid);
      const bytes = fs.readFileSync(file);
      bytes[17] ^= 0x55;
      fs.writeFileSync(file, bytes);
      const before = net.reports.length;
      const d = await download(net, root, { latency: preferring(w.nodeId, slice!.replicas), concurrency: 1 });
      expect((await collect(d)).equals(data)).to.equal(true);
      expect(net.reports.slice(before)).to.deep.include({ cid: slice!.cid, nodeId: w.nodeId, reason: "mismatch" });
    });
  }

  it("an empty file: one empty raw slice (the raw CIDv1 of no bytes), read back empty", async function () {
    const owner = privateKeySigner(generatePrivateKey());
    const stored = await upload(net, new Uint8Array(0), { owner, network: cluster.params, path: "/empty" });
    expect(stored.rootCid).to.equal("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    expect(stored.slices).to.have.length(1);
    expect(stored.slices[0].acks).to.have.length(3);
    expect(await collect(await download(net, stored.rootCid))).to.have.length(0);
  });

  it("a range read fetches only the slices it needs, once each", async function () {
    const client = new CountingClient();
    try {
      const offset = 3 * SLICE - 10;
      const length = SLICE + 20; // the end of slice 2, all of slice 3, the start of slice 4
      // A generous per-slice timeout: a timeout on a loaded machine would (rightly) re-fetch from another replica.
      const d = await download(net, root, {
        offset: BigInt(offset),
        length: BigInt(length),
        worker: client,
        timeoutMs: 180_000,
      });
      expect((await collect(d)).equals(data.subarray(offset, offset + length))).to.equal(true);
      const location = await net.locate({ cid: root });
      expect(client.fetched.map((f) => f.cid)).to.deep.equal([2, 3, 4].map((i) => location.slices[i].cid));
      const tail = await download(net, root, { offset: BigInt(data.length - 5), worker: client });
      expect((await collect(tail)).equals(data.subarray(data.length - 5))).to.equal(true);
      const empty = await download(net, root, { offset: 7n, length: 0n, worker: client });
      expect(await collect(empty)).to.have.length(0);
      expect(client.fetched).to.have.length(4);
    } finally {
      await client.close();
    }
    const err = await download(net, root, { offset: BigInt(data.length + 1) }).catch((e) => e);
    expect(err).to.have.property("code", "STORAGE_RANGE");
  });

  it("spreads reads at random among equally near replicas, and prefers a nearer one", function () {
    const nodes = cluster.endpoints().slice(0, 3);
    const first = new Map<string, number>();
    const fresh = new LatencyEstimator();
    for (let i = 0; i < 600; i++) {
      const pick = fresh.order(nodes)[0].nodeId;
      first.set(pick, (first.get(pick) ?? 0) + 1);
    }
    for (const n of nodes)
      expect(first.get(n.nodeId) ?? 0, "each replica is first about a third of the time").to.be.within(140, 260);
    const near = preferring(nodes[2].nodeId, nodes);
    for (let i = 0; i < 50; i++) expect(near.order(nodes)[0].nodeId).to.equal(nodes[2].nodeId);
    near.penalize(nodes[2].nodeId);
    expect(near.order(nodes)[2].nodeId, "a failed node goes last").to.equal(nodes[2].nodeId);
  });

  it("stops when its AbortSignal fires", async function () {
    const controller = new AbortController();
    const d = await download(net, root, { signal: controller.signal, concurrency: 1 });
    const it = d[Symbol.asyncIterator]();
    await it.next();
    controller.abort();
    let error: unknown;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (err) {
      error = err;
    }
    expect(error).to.have.property("code", "STORAGE_ABORTED");
  });
});
