/**
 * The IPFS-compatible API of a worker (offchain/storage/ipfs/), driven by the UNMODIFIED kubo-rpc-client and
 * ipfs-http-client: add (Kubo's default CIDs, and Kubo's CID for `--cid-version=1 --raw-leaves
 * --chunker=size-N` on a Kubo test vector), add of a directory tree, cat with offset/length, get (a tar that
 * the system `tar` extracts), block put/get/stat/rm, id and version; the trustless gateway's raw blocks and
 * CARs (read back with @ipld/car, every block verified); a worker backed by a Kubo RPC endpoint through
 * kubo-rpc-client (no Kubo binary exists here: the endpoint is another worker's Kubo-compatible API, a real
 * HTTP server); and a networked worker whose `add` stores 3 copies through the pipeline.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { create as createKubo, type KuboRPCClient } from "kubo-rpc-client";
import { CID } from "multiformats/cid";
import { importer } from "ipfs-unixfs-importer";
import { request } from "undici";
import { importEsm } from "../../offchain/core/esm";
import { kuboImporterOptions, parseStorableCid, sha256, sliceCid } from "../../offchain/protocol/slicing";
import { peerIdOf } from "../../offchain/storage/ipfs/peer-id";
import { demoNodePrivateKey } from "../../offchain/devnet/accounts";
import type { StorageWorker } from "../../offchain/storage/worker";
import { FixtureStorageNetwork } from "../../offchain/testing/storage-network";
import { TEST_DOMAINS } from "../../offchain/testing/storage-cluster";
import { collect, endpointOf, getRaw, kuboDeterministicBytes, putRaw, startWorker, tempDir } from "./helpers";

type HttpClientModule = typeof import("ipfs-http-client");
type CarModule = typeof import("@ipld/car");

const MIB = 1 << 20;
const V1_1MIB = { cidVersion: 1, rawLeaves: true, chunker: "size-1048576" } as const;

describe("storage: IPFS-compatible API, with the unmodified kubo-rpc-client and ipfs-http-client", function () {
  this.timeout(180_000);
  let w: StorageWorker;
  let kubo: KuboRPCClient;
  let legacy: ReturnType<HttpClientModule["create"]>;

  before(async function () {
    w = await startWorker(20);
    kubo = createKubo({ url: `${w.url}/api/v0` });
    const { create } = await importEsm<HttpClientModule>("ipfs-http-client");
    legacy = create({ url: `${w.url}/api/v0` });
  });
  after(async function () {
    await w?.stop();
  });

  it("id and version: a valid peer ID (the worker's secp256k1 key) and multiaddrs", async function () {
    const id = await kubo.id();
    expect(id.id.toString()).to.equal(peerIdOf(demoNodePrivateKey(20)).id);
    expect(id.id.toString()).to.match(/^16Uiu2/);
    expect(id.addresses[0].toString()).to.equal(`/ip4/127.0.0.1/tcp/${new URL(w.url).port}/p2p/${id.id}`);
    expect((await legacy.id()).id.toString()).to.equal(id.id.toString());
    expect((await kubo.version()).version).to.be.a("string");
    expect((await legacy.version()).version).to.equal((await kubo.version()).version);
  });

  it("add gives Kubo's CIDs: the defaults (CIDv0) and --cid-version=1 --raw-leaves --chunker=size-1048576", async function () {
    expect((await kubo.add("hello world")).cid.toString()).to.equal("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
    expect((await legacy.add("hello world")).cid.toString()).to.equal("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
    // ipfs/kubo test/cli/cid_profiles_test.go, unixfsV12025.FileOverChunkSizeCID (1 MiB + 1 byte, seed chunk-v1-seed).
    const vector = kuboDeterministicBytes(MIB + 1, "chunk-v1-seed");
    const viaKubo = await kubo.add(vector, V1_1MIB);
    expect(viaKubo.cid.toString()).to.equal("bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64");
    expect(viaKubo.size).to.be.greaterThan(MIB + 1);
    const viaLegacy = await legacy.add(vector, V1_1MIB);
    expect(viaLegacy.cid.toString()).to.equal(viaKubo.cid.toString());
    expect((await collect(kubo.cat(viaKubo.cid))).equals(vector)).to.equal(true);
    expect(
      (await collect(legacy.cat(viaKubo.cid, { offset: MIB - 3, length: 4 }))).equals(
        vector.subarray(MIB - 3, MIB + 1),
      ),
    ).to.equal(true);
  });

  it("adds a directory tree as Kubo does and gets it back as a tar the system tar extracts", async function () {
    const files = [
      { path: "site/index.html", content: Buffer.from("<h1>hi</h1>\n") },
      { path: "site/img/a.bin", content: randomBytes(300_000) },
      { path: "site/empty.txt", content: Buffer.alloc(0) },
    ];
    const added = [];
    for await (const e of kubo.addAll(
      files.map((f) => ({ path: f.path, content: f.content })),
      { cidVersion: 1 },
    ))
      added.push(e);
    const root = added.find((e) => e.path === "site")!;
    expect(root, JSON.stringify(added)).to.not.equal(undefined);
    // The same tree through the importer directly, with Kubo's options for cid-version=1.
    let expected: CID | undefined;
    const opts = kuboImporterOptions({ cidVersion: 1, rawLeaves: true, chunkSize: 262_144, maxLinks: 174 });
    for await (const e of importer(files, { put: async (c: CID) => c }, opts)) if (e.path === "site") expected = e.cid;
    expect(root.cid.toString()).to.equal(expected!.toString());
    const out = tempDir("ipfs-get");
    const tar = path.join(out, "site.tar");
    fs.writeFileSync(tar, await collect(kubo.get(root.cid)));
    execFileSync("tar", ["-xf", tar, "-C", out]);
    for (const f of files) {
      const extracted = fs.readFileSync(path.join(out, root.cid.toString(), f.path.slice("site/".length)));
      expect(extracted.equals(f.content), f.path).to.equal(true);
    }
    const one = path.join(out, "one.tar");
    fs.writeFileSync(one, await collect(legacy.get(`/ipfs/${root.cid}/img/a.bin`)));
    execFileSync("tar", ["-xf", one, "-C", out]);
    expect(fs.readFileSync(path.join(out, "a.bin")).equals(files[1].content)).to.equal(true);
  });

  it("block put / get / stat / rm", async function () {
    const bytes = randomBytes(5000);
    const cid = await kubo.block.put(bytes);
    expect(cid.toString()).to.equal(sliceCid(bytes).toString());
    expect(Buffer.from(await kubo.block.get(cid)).equals(bytes)).to.equal(true);
    expect(await kubo.block.stat(cid)).to.deep.include({ size: bytes.length });
    expect((await legacy.block.stat(cid)).size).to.equal(bytes.length);
    const removed = [];
    for await (const r of kubo.block.rm(cid)) removed.push(r);
    expect(removed.map((r) => r.cid.toString())).to.deep.equal([cid.toString()]);
    const err = await kubo.block.stat(cid).catch((e) => e);
    expect(String(err.message)).to.match(/not stored here/);
    const unknown = await collect(kubo.cat(sliceCid(randomBytes(3)))).catch((e) => e);
    expect(unknown).to.be.instanceOf(Error);
  });

  it("the trustless gateway serves raw blocks and CARs of the whole DAG, and refuses what it does not implement", async function () {
    const data = randomBytes(700_000);
    const { cid } = await kubo.add(data, { cidVersion: 1, rawLeaves: true, chunker: "size-262144" });
    const raw = await getRaw(w.url, `/ipfs/${cid}?format=raw`);
    expect(raw.status).to.equal(200);
    expect(raw.headers["content-type"]).to.equal("application/vnd.ipld.raw");
    expect(Buffer.from(sha256(raw.body)).equals(Buffer.from(cid.multihash.digest))).to.equal(true);
    const car = await getRaw(w.url, `/ipfs/${cid}`, { accept: "application/vnd.ipld.car" });
    expect(car.headers["content-type"]).to.match(/^application\/vnd\.ipld\.car; version=1/);
    const { CarReader } = await importEsm<CarModule>("@ipld/car");
    const reader = await CarReader.fromBytes(car.body);
    expect((await reader.getRoots()).map(String)).to.deep.equal([cid.toString()]);
    const blocks = [];
    for await (const b of reader.blocks()) blocks.push(b);
    expect(blocks).to.have.length(1 + 3); // the root and three 256 KiB leaves
    for (const b of blocks)
      expect(Buffer.from(sha256(b.bytes)).equals(Buffer.from(b.cid.multihash.digest))).to.equal(true);
    const leaves = Buffer.concat(blocks.slice(1).map((b) => Buffer.from(b.bytes)));
    expect(leaves.equals(data), "depth-first order: the leaves in file order").to.equal(true);
    const rootOnly = await CarReader.fromBytes((await getRaw(w.url, `/ipfs/${cid}?format=car&dag-scope=block`)).body);
    let count = 0;
    for await (const _ of rootOnly.blocks()) count++;
    expect(count).to.equal(1);
    expect((await getRaw(w.url, `/ipfs/${cid}`)).body.equals(data)).to.equal(true);
    const unsupported = await getRaw(w.url, `/ipfs/${cid}?format=dag-json`);
    expect(unsupported.status).to.equal(400);
    expect(JSON.parse(unsupported.body.toString()).error.code).to.equal("STORAGE_IPFS_UNSUPPORTED");
    expect((await getRaw(w.url, `/ipfs/${sliceCid(randomBytes(4))}?format=raw`)).status).to.equal(404);
    const rabin = await kubo.add("x", { chunker: "rabin-262144-524288-1048576" }).catch((e) => e);
    expect(String(rabin.message)).to.match(/only the size-N chunker/);
  });

  it("a worker backed by a Kubo RPC endpoint stores and serves its blocks through kubo-rpc-client", async function () {
    const backed = await startWorker(21, { kuboUrl: `${w.url}/api/v0` });
    try {
      const bytes = randomBytes(400_000);
      const cid = sliceCid(bytes).toString();
      expect((await putRaw(backed.url, cid, bytes)).status).to.equal(201);
      expect(backed.store.kind).to.equal("kubo");
      // The block is in the Kubo node (here: worker 20's Kubo-compatible API), not in the backed worker's disk.
      expect(Buffer.from(await kubo.block.get(CID.parse(cid))).equals(bytes)).to.equal(true);
      expect((await getRaw(backed.url, `/v1/slices/${cid}`)).body.equals(bytes)).to.equal(true);
      await backed.store.delete(parseStorableCid(cid));
      expect((await getRaw(w.url, `/v1/slices/${cid}`)).status).to.equal(404);
    } finally {
      await backed.stop();
    }
    const unreachable = await startWorker(22, { kuboUrl: "http://127.0.0.1:1/api/v0" }).catch((e) => e);
    expect(unreachable).to.have.property("code", "STORAGE_KUBO");
  });

  it("a worker with a network stores an add with 3 copies through the pipeline, and cats it through the network", async function () {
    const nodes = await Promise.all([30, 31, 32].map((i) => startWorker(i)));
    const network = new FixtureStorageNetwork(nodes.map(endpointOf), { ...TEST_DOMAINS });
    const gateway = await startWorker(33, { network });
    try {
      const client = createKubo({ url: `${gateway.url}/api/v0` });
      const data = kuboDeterministicBytes(MIB + 1, "chunk-v1-seed");
      const { cid } = await client.add(data, V1_1MIB);
      expect(cid.toString()).to.equal("bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64");
      const location = await network.locate({ cid: cid.toString() });
      expect(location.slices).to.have.length(2);
      for (const s of location.slices) {
        expect(s.replicas).to.have.length(3);
        for (const r of s.replicas) expect((await getRaw(r.url, `/v1/slices/${s.cid}`)).status).to.equal(200);
      }
      expect(await gateway.store.has(parseStorableCid(location.slices[0].cid))).to.equal(false);
      expect((await collect(client.cat(cid))).equals(data)).to.equal(true);
      const v0 = await client.add("hello").catch((e) => e);
      expect(String(v0.message)).to.match(/CIDv1 raw-leaf/);
    } finally {
      await gateway.stop();
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it("answers errors in Kubo's shape ({Message, Code, Type})", async function () {
    const res = await request(`${w.url}/api/v0/cat`, { method: "POST" });
    const body = (await res.body.json()) as Record<string, unknown>;
    expect(res.statusCode).to.equal(400);
    expect(body).to.include({ Type: "error", Code: 0 });
    expect(body.Message).to.match(/argument 'arg' is required/);
  });
});
