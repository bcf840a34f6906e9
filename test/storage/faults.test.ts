/**
 * Workers killed with SIGKILL (issue 12 items 9 and 11): mid-upload the client gets replacements from the
 * network and completes every copy; mid-download it reads the rest from other replicas; and a worker killed
 * while it writes comes back with no temp file, the half-received slice absent, every block it serves verified,
 * and a block torn on disk never served.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { generatePrivateKey } from "viem/accounts";
import { LatencyEstimator, download, privateKeySigner, upload } from "../../offchain/client/storage";
import { blockKey, cidOfKey } from "../../offchain/storage/blockstore";
import { sha256 } from "../../offchain/protocol/slicing";
import { StorageCluster } from "../../offchain/testing/storage-cluster";
import { FixtureStorageNetwork } from "../../offchain/testing/storage-network";
import { collect, getRaw, health, putRaw, sliceCid, tempDir, tempFiles, waitFor } from "./helpers";

describe("storage: workers killed mid-transfer", function () {
  this.timeout(300_000);
  let cluster: StorageCluster;
  let net: FixtureStorageNetwork;
  const owner = privateKeySigner(generatePrivateKey());

  before(async function () {
    cluster = await StorageCluster.start({ dir: tempDir("faults"), count: 5, logLevel: "warn" });
    net = new FixtureStorageNetwork(cluster.endpoints(), { ...cluster.params, keys: cluster.keys() });
  });
  after(async function () {
    await cluster?.stopAll();
  });

  it("a worker killed mid-upload: the client replaces it and completes every copy, then the file reads back", async function () {
    const victim = cluster.workers[2];
    const data = randomBytes(16 * 256 * 1024);
    let killed = false;
    const stored = await upload(net, data, {
      owner,
      network: cluster.params,
      path: "/killed-mid-upload.bin",
      sliceSize: 256 * 1024,
      concurrency: 2,
      keys: async (id) => cluster.keys().get(id.toLowerCase() as never)!,
      onProgress: ({ blocks }) => {
        if (!killed && blocks >= 4) {
          killed = true;
          victim.process.kill("SIGKILL");
        }
      },
    });
    expect(killed).to.equal(true);
    expect(stored.replaced, "the dead worker was replaced at least once").to.be.at.least(1);
    for (const s of [...stored.slices, ...stored.dagBlocks]) {
      expect(new Set(s.acks.map((a) => a.nodeId)).size).to.equal(3);
    }
    const after = stored.slices.slice(8);
    expect(after.every((s) => s.acks.every((a) => a.nodeId !== victim.nodeId.toLowerCase()))).to.equal(true);
    expect((await collect(await download(net, stored.rootCid))).equals(data)).to.equal(true);
    await cluster.restart(2);
  });

  it("a worker killed mid-download: the read completes from the other replicas", async function () {
    const data = randomBytes(12 * 256 * 1024);
    const stored = await upload(net, data, {
      owner,
      network: cluster.params,
      path: "/killed-mid-download.bin",
      sliceSize: 256 * 1024,
    });
    const location = await net.locate({ cid: stored.rootCid });
    const victimId = location.slices[0].replicas[0].nodeId;
    const victim = cluster.workers.find((w) => w.nodeId.toLowerCase() === victimId.toLowerCase())!;
    const latency = new LatencyEstimator();
    for (const w of cluster.workers) latency.observe(w.nodeId, w === victim ? 0.01 : 1000, 1 << 20);
    const before = net.reports.length;
    const d = await download(net, stored.rootCid, { latency, concurrency: 1, timeoutMs: 5_000 });
    const parts: Buffer[] = [];
    for await (const chunk of d) {
      parts.push(Buffer.from(chunk));
      if (parts.length === 1) {
        victim.process.kill("SIGKILL");
        await victim.process.exited;
      }
    }
    expect(Buffer.concat(parts).equals(data)).to.equal(true);
    expect(net.reports.slice(before).some((r) => r.nodeId === victim.nodeId)).to.equal(true);
    await cluster.restart(victim.index);
  });

  it("kill -9 while writing, then restart: no temp file, the half-received slice absent, every block verified", async function () {
    const w = cluster.workers[4];
    const done = randomBytes(400_000);
    expect((await putRaw(w.url, sliceCid(done).toString(), done)).status).to.equal(201);
    const half = randomBytes(1 << 20);
    const cid = sliceCid(half).toString();
    const body = (async function* () {
      yield half.subarray(0, 600_000);
      await new Promise(() => undefined); // never sends the rest
    })();
    const pending = putRaw(w.url, cid, body, { length: half.length }).catch((e) => e);
    await waitFor(async () => (await health(w.url)).inflightWrites === 1, 60_000, "write in flight");
    await waitFor(() => tempFiles(w.dataDir).length === 1, 30_000, "temp file");
    await cluster.kill(4, "SIGKILL");
    await pending;
    // A block torn on disk (as a power loss without fsync could leave it): it must never be served.
    const torn = randomBytes(300_000);
    const tornKey = blockKey(sliceCid(torn));
    const tornFile = path.join(w.dataDir, "blocks", tornKey.slice(-3, -1), `${tornKey}.data`);
    fs.mkdirSync(path.dirname(tornFile), { recursive: true });
    fs.writeFileSync(tornFile, torn.subarray(0, 100_000));
    await cluster.restart(4);
    expect(tempFiles(w.dataDir)).to.deep.equal([]);
    expect((await getRaw(w.url, `/v1/slices/${cid}`)).status).to.equal(404);
    const tornRead = await getRaw(w.url, `/v1/slices/${sliceCid(torn)}`);
    expect(tornRead.status).to.equal(500);
    expect(JSON.parse(tornRead.body.toString()).error.code).to.equal("STORAGE_CORRUPT");
    let served = 0;
    for (const shard of fs.readdirSync(path.join(w.dataDir, "blocks")))
      for (const f of fs.readdirSync(path.join(w.dataDir, "blocks", shard))) {
        const key = f.replace(/\.data$/, "");
        const got = await getRaw(w.url, `/v1/slices/${cidOfKey(key)}`);
        expect(got.status).to.equal(200);
        expect(Buffer.from(sha256(got.body)).equals(Buffer.from(cidOfKey(key).multihash.digest))).to.equal(true);
        served++;
      }
    expect(served).to.be.at.least(1);
    expect((await getRaw(w.url, `/v1/slices/${sliceCid(done)}`)).body.equals(done)).to.equal(true);
  });
});
