/**
 * The upload pipeline between real `hms storage` processes (offchain/storage/pipeline.ts): one PUT to the first
 * node stores the slice on the whole chain, cut-through (the last node receives before the client has sent
 * the end), with each node's signed StorageAck back up the chain; bad bytes or a short body are rejected at the
 * first hop and nothing is committed anywhere; a dead downstream hop is named while the live copies stay; and
 * a repair order copies a slice from a surviving replica, fenced by term.
 */
import { expect } from "chai";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { recoverTypedSync, domainOf } from "../../offchain/core/signing";
import {
  ackFromWire,
  ackMessage,
  grantToHeader,
  STORAGE_HEADERS,
  chainToHeader,
} from "../../offchain/protocol/storage-wire";
import { uploadTaskId } from "../../offchain/protocol/transfer";
import { WorkerClient } from "../../offchain/client/storage/worker-client";
import { StorageCluster, TEST_DOMAINS } from "../../offchain/testing/storage-cluster";
import { freePort } from "../../offchain/devnet/cluster";
import { currentPeriod, getRaw, health, ownerGrant, putRaw, sliceCid, tempDir, tempFiles, waitFor } from "./helpers";

describe("storage: the pipelined upload between worker processes", function () {
  this.timeout(240_000);
  let cluster: StorageCluster;
  const domain = domainOf("network", TEST_DOMAINS.chainId, TEST_DOMAINS.nodeRegistry);

  before(async function () {
    cluster = await StorageCluster.start({ dir: tempDir("pipeline"), count: 4, logLevel: "warn" });
  });
  after(async function () {
    await cluster?.stopAll();
  });

  const chainOf = (...i: number[]) => i.map((k) => cluster.endpoints()[k]);

  it("stores a slice on every node of the chain; node 1 answers with the three signed acks in chain order", async function () {
    const bytes = randomBytes(700_000);
    const cid = sliceCid(bytes).toString();
    const { grant, owner } = ownerGrant();
    const res = await putRaw(cluster.workers[0].url, cid, bytes, { grant, chain: chainOf(1, 2) });
    expect(res.status).to.equal(201);
    const acks = (res.json.acks as unknown[]).map(ackFromWire);
    expect(acks.map((a) => a.nodeId)).to.deep.equal([0, 1, 2].map((i) => cluster.workers[i].nodeId.toLowerCase()));
    for (const [i, ack] of acks.entries()) {
      expect(recoverTypedSync(domain, "StorageAck", ackMessage(ack), ack.signature)).to.equal(
        cluster.workers[i].address.toLowerCase(),
      );
      expect(ack).to.include({ size: BigInt(bytes.length), owner: owner.toLowerCase(), uploadId: grant.uploadId });
    }
    const receipts = res.json.receipts as Array<{ taskId: string; nodeId: string; bytesServed: string }>;
    expect(receipts.map((r) => r.taskId)).to.deep.equal(
      acks.map((a) => uploadTaskId(grant.uploadId, a.slice, a.nodeId)),
    );
    for (const i of [0, 1, 2]) {
      const got = await getRaw(cluster.workers[i].url, `/v1/slices/${cid}`);
      expect(got.status).to.equal(200);
      expect(got.body.equals(bytes)).to.equal(true);
    }
    expect((await getRaw(cluster.workers[3].url, `/v1/slices/${cid}`)).status).to.equal(404);
  });

  it("is cut-through: the last node is receiving the slice before the client has sent its end", async function () {
    const bytes = randomBytes(1 << 20);
    const cid = sliceCid(bytes).toString();
    let sentEnd = false;
    const body = (async function* () {
      yield bytes.subarray(0, 900_000);
      // Hold the end back until node 3 has a write in flight: with store-and-forward this never happens.
      await waitFor(
        async () => (await health(cluster.workers[3].url)).inflightWrites === 1,
        60_000,
        "node 3 receiving",
      );
      sentEnd = true;
      yield bytes.subarray(900_000);
    })();
    const res = await putRaw(cluster.workers[1].url, cid, body, { length: bytes.length, chain: chainOf(2, 3) });
    expect(sentEnd).to.equal(true);
    expect(res.status).to.equal(201);
    expect(res.json.acks).to.have.length(3);
  });

  it("rejects a slice whose bytes do not match its CID at the first hop (422 naming the CID): nothing is committed anywhere", async function () {
    const claimed = sliceCid(randomBytes(500_000)).toString();
    const res = await putRaw(cluster.workers[0].url, claimed, randomBytes(500_000), { chain: chainOf(1, 2) });
    expect(res.status).to.equal(422);
    const error = res.json.error as Record<string, unknown>;
    expect(error).to.include({ code: "STORAGE_DIGEST_MISMATCH", value: claimed, cid: claimed });
    for (const i of [0, 1, 2]) {
      await waitFor(async () => (await health(cluster.workers[i].url)).inflightWrites === 0, 30_000, `node ${i} idle`);
      expect((await getRaw(cluster.workers[i].url, `/v1/slices/${claimed}`)).status).to.equal(404);
      expect(tempFiles(cluster.workers[i].dataDir)).to.deep.equal([]);
    }
  });

  it("a client that dies mid-slice leaves nothing committed on any node of the chain", async function () {
    const bytes = randomBytes(800_000);
    const cid = sliceCid(bytes).toString();
    const url = new URL(cluster.workers[0].url);
    const headers = [
      `PUT /v1/slices/${cid} HTTP/1.1`,
      `host: ${url.host}`,
      "content-type: application/octet-stream",
      `content-length: ${bytes.length}`,
      `${STORAGE_HEADERS.grant}: ${grantToHeader(ownerGrant().grant)}`,
      `${STORAGE_HEADERS.chain}: ${chainToHeader(chainOf(1, 2))}`,
      `${STORAGE_HEADERS.period}: ${currentPeriod()}`,
      `${STORAGE_HEADERS.term}: 1`,
      "",
      "",
    ].join("\r\n");
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(headers);
    socket.write(bytes.subarray(0, 500_000));
    await waitFor(async () => (await health(cluster.workers[2].url)).inflightWrites === 1, 60_000, "chain receiving");
    socket.destroy();
    for (const i of [0, 1, 2]) {
      await waitFor(async () => (await health(cluster.workers[i].url)).inflightWrites === 0, 30_000, `node ${i} idle`);
      expect((await getRaw(cluster.workers[i].url, `/v1/slices/${cid}`)).status).to.equal(404);
      await waitFor(() => tempFiles(cluster.workers[i].dataDir).length === 0, 30_000, `node ${i} temp cleaned`);
    }
  });

  it("names a dead downstream hop and still commits the copies before it", async function () {
    const bytes = randomBytes(300_000);
    const cid = sliceCid(bytes).toString();
    const dead = { nodeId: `0x${"de".repeat(32)}` as const, url: `http://127.0.0.1:${await freePort()}`, region: "x" };
    const res = await putRaw(cluster.workers[0].url, cid, bytes, { chain: [cluster.endpoints()[1], dead] });
    expect(res.status).to.equal(201);
    expect(res.json.acks).to.have.length(2);
    expect(res.json.failure).to.include({ nodeId: dead.nodeId, url: dead.url, code: "STORAGE_UNAVAILABLE", status: 0 });
    for (const i of [0, 1]) expect((await getRaw(cluster.workers[i].url, `/v1/slices/${cid}`)).status).to.equal(200);
  });

  it("repairs: a worker fetches a slice from a surviving replica on the master's order, and refuses an older term", async function () {
    const bytes = randomBytes(200_000);
    const cid = sliceCid(bytes).toString();
    expect((await putRaw(cluster.workers[0].url, cid, bytes)).status).to.equal(201);
    const client = new WorkerClient();
    try {
      const missing = `http://127.0.0.1:${await freePort()}`;
      const done = await client.replicate(cluster.workers[3].url, {
        cid,
        from: [missing, cluster.workers[0].url],
        term: 7n,
      });
      expect(done).to.deep.equal({ size: bytes.length, from: cluster.workers[0].url });
      expect((await getRaw(cluster.workers[3].url, `/v1/slices/${cid}`)).body.equals(bytes)).to.equal(true);
      expect((await health(cluster.workers[3].url)).term).to.equal("7");
      const stale = await client
        .replicate(cluster.workers[3].url, { cid, from: [cluster.workers[0].url], term: 6n })
        .catch((e) => e);
      expect(stale).to.have.property("code", "STORAGE_STALE_TERM");
      expect(stale).to.have.property("status", 409);
      const absent = sliceCid(randomBytes(10)).toString();
      const none = await client
        .replicate(cluster.workers[3].url, { cid: absent, from: [cluster.workers[0].url], term: 7n })
        .catch((e) => e);
      expect(none).to.have.property("code", "STORAGE_UNAVAILABLE");
    } finally {
      await client.close();
    }
  });
});
