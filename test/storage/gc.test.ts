/**
 * Garbage collection (offchain/storage/gc.ts): after the grace period, a worker deletes orphan temp files, the
 * blocks of uploads the meta layer never committed (a client killed mid-upload), and blocks with no record; it
 * keeps the blocks of committed uploads (pinning them), repair copies and local IPFS adds. Without the meta
 * layer's answer it deletes no block.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { request } from "undici";
import { generatePrivateKey } from "viem/accounts";
import { create as createKubo } from "kubo-rpc-client";
import { privateKeySigner, upload } from "../../offchain/client/storage";
import { blockKey, type FsBlockstore } from "../../offchain/storage/blockstore";
import type { StorageWorker } from "../../offchain/storage/worker";
import { FixtureStorageNetwork } from "../../offchain/testing/storage-network";
import { TEST_DOMAINS } from "../../offchain/testing/storage-cluster";
import { NETWORK, endpointOf, getRaw, ownerGrant, putRaw, sliceCid, startWorker, tempDir, tempFiles } from "./helpers";

const DAY = 86_400_000;

async function gc(w: StorageWorker): Promise<Record<string, number>> {
  const res = await request(`${w.url}/v1/gc`, { method: "POST" });
  expect(res.statusCode).to.equal(200);
  return (await res.body.json()) as Record<string, number>;
}

/** A temp file left by a writer that died `ageMs` ago. */
function plantTemp(w: StorageWorker, ageMs: number): string {
  const temp = path.join((w.store as FsBlockstore).tmpDir, "dead.part");
  fs.writeFileSync(temp, "half a slice");
  const old = new Date(Date.now() - ageMs);
  fs.utimesSync(temp, old, old);
  return temp;
}

describe("storage: garbage collection of orphans and abandoned uploads", function () {
  this.timeout(120_000);

  it("collects abandoned uploads and orphans after the grace, keeps committed uploads and pins", async function () {
    let skew = 0;
    const now = () => Date.now() + skew;
    const nodes: StorageWorker[] = [];
    const network = new FixtureStorageNetwork([], { ...TEST_DOMAINS });
    const dirs = [40, 41, 42].map((i) => tempDir(`gc-${i}`));
    const options = (k: number) => ({
      dataDir: dirs[k],
      commits: network,
      now,
      gc: { intervalMs: 0, tempGraceMs: 3_600_000, uploadGraceMs: DAY },
    });
    try {
      for (const k of [0, 1, 2]) nodes.push(await startWorker(40 + k, options(k)));
      network.nodes = nodes.map(endpointOf);
      const owner = privateKeySigner(generatePrivateKey());
      const kept = randomBytes(3 * 64 * 1024 + 5);
      const committed = await upload(network, kept, {
        owner,
        network: NETWORK,
        path: "/kept",
        sliceSize: 64 * 1024,
        grantTtlSeconds: 60,
      });
      // An upload whose client died before committing: two slices stored on node 0, never recorded in the index.
      const { grant } = ownerGrant({ deadline: BigInt(Math.floor(Date.now() / 1000) + 60) });
      const abandoned = [randomBytes(70_000), randomBytes(80_000)];
      for (const a of abandoned)
        expect((await putRaw(nodes[0].url, sliceCid(a).toString(), a, { grant })).status).to.equal(201);
      // A block with no upload record (as a crash between its rename and its record leaves it), seen on restart.
      const stray = randomBytes(9000);
      const strayKey = blockKey(sliceCid(stray));
      const strayFile = path.join(dirs[0], "blocks", strayKey.slice(-3, -1), `${strayKey}.data`);
      fs.mkdirSync(path.dirname(strayFile), { recursive: true });
      fs.writeFileSync(strayFile, stray);
      await nodes[0].stop();
      nodes[0] = await startWorker(40, options(0));
      network.updateNode(endpointOf(nodes[0]));
      const w = nodes[0];
      // A local IPFS add is pinned; a temp file from a writer that died two hours ago.
      const added = await createKubo({ url: `${w.url}/api/v0` }).add(randomBytes(5000), { cidVersion: 1 });
      const orphanTemp = plantTemp(w, 2 * 3_600_000);

      // Within the grace nothing but the old temp file goes.
      const early = await gc(w);
      expect(early).to.include({ tempFiles: 1, blocks: 0, uploadsAbandoned: 0 });
      expect(fs.existsSync(orphanTemp)).to.equal(false);

      skew = 3 * DAY;
      const late = await gc(w);
      expect(late.uploadsAbandoned).to.equal(1);
      expect(late.uploadsCommitted).to.equal(1);
      expect(late.blocks, "the two abandoned slices and the stray block").to.equal(3);
      for (const a of abandoned) expect((await getRaw(w.url, `/v1/slices/${sliceCid(a)}`)).status).to.equal(404);
      const heldHere = [...committed.slices, ...committed.dagBlocks].filter((b) =>
        b.acks.some((a) => a.nodeId === w.nodeId.toLowerCase()),
      );
      expect(heldHere.length).to.be.greaterThan(0);
      for (const b of heldHere) expect((await getRaw(w.url, `/v1/slices/${b.cid}`)).status).to.equal(200);
      expect((await getRaw(w.url, `/ipfs/${added.cid}?format=raw`)).status).to.equal(200);
      expect(fs.existsSync(strayFile)).to.equal(false);
      expect(tempFiles(dirs[0])).to.deep.equal([]);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it("without the meta layer's answer, deletes temp orphans but no block", async function () {
    let skew = 0;
    const w = await startWorker(43, {
      now: () => Date.now() + skew,
      gc: { intervalMs: 0, tempGraceMs: 1000, uploadGraceMs: 0 },
    });
    try {
      const { grant } = ownerGrant({ deadline: BigInt(Math.floor(Date.now() / 1000) + 60) });
      const a = randomBytes(30_000);
      expect((await putRaw(w.url, sliceCid(a).toString(), a, { grant })).status).to.equal(201);
      plantTemp(w, 10_000);
      skew = 30 * DAY;
      expect(await gc(w)).to.include({ tempFiles: 1, blocks: 0 });
      expect((await getRaw(w.url, `/v1/slices/${sliceCid(a)}`)).status).to.equal(200);
    } finally {
      await w.stop();
    }
  });
});
