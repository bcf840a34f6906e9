/**
 * The worker's block store (offchain/storage/blockstore.ts): writes are atomic (bytes live in tmp/ until the
 * digest checked out, then one rename), a mismatched or truncated block is never stored, every read is
 * verified (a corrupted file is quarantined and never served), capacity is enforced before a byte is written,
 * `open` deletes the temp files a crash left and rebuilds the index, and the interface-blockstore view carries
 * the UnixFS importer and exporter.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { importer } from "ipfs-unixfs-importer";
import { exporter } from "ipfs-unixfs-exporter";
import { FsBlockstore, blockKey } from "../../offchain/storage/blockstore";
import { HmsError } from "../../offchain/core/errors";
import { importerOptions, parseStorableCid, sliceCid, sliceLayout } from "../../offchain/protocol/slicing";
import { collect, tempDir } from "./helpers";

const open = (dir: string, capacity = 1 << 26) => FsBlockstore.open(dir, { capacity });

function blockFile(store: FsBlockstore, bytes: Uint8Array): string {
  const key = blockKey(sliceCid(bytes));
  return path.join(store.blocksDir, key.slice(-3, -1), `${key}.data`);
}

describe("storage: the on-disk block store", function () {
  it("keeps a block in tmp/ while it streams in and makes it visible only at commit, under Kubo's flatfs name", async function () {
    const store = await open(tempDir("bs"));
    const bytes = randomBytes(300_000);
    const cid = parseStorableCid(sliceCid(bytes));
    const w = await store.writer(cid, bytes.length);
    w.write(bytes.subarray(0, 100_000));
    expect(store.has(cid)).to.equal(false);
    expect(fs.readdirSync(store.tmpDir)).to.have.length(1);
    w.write(bytes.subarray(100_000));
    expect(await w.commit()).to.deep.equal({ size: bytes.length, existed: false });
    expect(fs.readdirSync(store.tmpDir)).to.deep.equal([]);
    expect(fs.existsSync(blockFile(store, bytes))).to.equal(true);
    expect(path.basename(blockFile(store, bytes))).to.match(/^CIQ[A-Z2-7]+\.data$/);
    expect(Buffer.from(await store.get(cid)).equals(bytes)).to.equal(true);
    expect(store.stats()).to.include({ blocks: 1, bytes: bytes.length, reserved: 0 });
  });

  it("refuses bytes that do not hash to the CID, or fewer bytes than announced, and leaves nothing behind", async function () {
    const store = await open(tempDir("bs"));
    const bytes = randomBytes(4096);
    const cid = parseStorableCid(sliceCid(bytes));
    const bad = await store.writer(cid, bytes.length);
    bad.write(randomBytes(4096));
    const e1 = await bad.commit().catch((e) => e);
    expect(e1).to.be.instanceOf(HmsError).with.property("code", "STORAGE_DIGEST_MISMATCH");
    expect(e1.value).to.equal(cid.cid.toString());
    const short = await store.writer(cid, bytes.length);
    short.write(bytes.subarray(0, 100));
    expect(await short.commit().catch((e) => e)).to.have.property("code", "STORAGE_TRUNCATED");
    expect(store.has(cid)).to.equal(false);
    expect(fs.readdirSync(store.tmpDir)).to.deep.equal([]);
    expect(store.stats()).to.include({ blocks: 0, bytes: 0, reserved: 0 });
    const e3 = await store.get(cid).catch((e) => e);
    expect(e3).to.have.property("code", "STORAGE_NOT_FOUND");
  });

  it("verifies every read: a block corrupted on disk is quarantined, never served, and reported once", async function () {
    const lost: string[] = [];
    const store = await FsBlockstore.open(tempDir("bs"), { capacity: 1 << 26, onQuarantine: (c) => lost.push(c) });
    const bytes = randomBytes(10_000);
    const cid = parseStorableCid(sliceCid(bytes));
    await store.put(cid, bytes);
    const file = blockFile(store, bytes);
    const corrupted = Buffer.from(bytes);
    corrupted[5000] ^= 0xff;
    fs.writeFileSync(file, corrupted);
    const err = await store.get(cid).catch((e) => e);
    expect(err).to.be.instanceOf(HmsError).with.property("code", "STORAGE_CORRUPT");
    expect(store.has(cid)).to.equal(false);
    expect(fs.existsSync(file)).to.equal(false);
    expect(fs.readdirSync(store.quarantineDir)).to.deep.equal([path.basename(file)]);
    expect(await store.get(cid).catch((e) => e)).to.have.property("code", "STORAGE_NOT_FOUND");
    // The worker tells the meta master (worker.ts reportLost): once, with the block's CID.
    expect(lost).to.deep.equal([cid.cid.toString()]);
  });

  it("enforces capacity before writing, counting writes in flight", async function () {
    const store = await open(tempDir("bs"), 10_000);
    const a = randomBytes(6000);
    const w = await store.writer(parseStorableCid(sliceCid(a)), a.length);
    const b = randomBytes(6000);
    const err = await store.writer(parseStorableCid(sliceCid(b)), b.length).catch((e) => e);
    expect(err).to.be.instanceOf(HmsError).with.property("code", "STORAGE_FULL");
    expect(err.details).to.include({ free: 4000, capacity: 10_000, needed: 6000 });
    await w.abort();
    expect(store.free).to.equal(10_000);
  });

  it("open() deletes the temp files a crash left and rebuilds the index from blocks/", async function () {
    const dir = tempDir("bs");
    const first = await open(dir);
    const blocks = [randomBytes(1000), randomBytes(2000), randomBytes(3000)];
    for (const b of blocks) await first.put(parseStorableCid(sliceCid(b)), b);
    const dangling = await first.writer(parseStorableCid(sliceCid(randomBytes(10))), 10);
    dangling.write(Buffer.alloc(5)); // never committed: as if the process died here
    fs.writeFileSync(path.join(first.tmpDir, "orphan.part"), "half a slice");
    const reopened = await open(dir);
    expect(reopened.orphansRemoved).to.be.at.least(1);
    expect(fs.readdirSync(reopened.tmpDir)).to.deep.equal([]);
    expect(reopened.stats()).to.include({ blocks: 3, bytes: 6000 });
    for (const b of blocks)
      expect(Buffer.from(await reopened.get(parseStorableCid(sliceCid(b)))).equals(b)).to.equal(true);
    await dangling.abort();
  });

  it("serves the UnixFS importer and exporter through its interface-blockstore view", async function () {
    const store = await open(tempDir("bs"));
    const bytes = randomBytes(50_000);
    let root;
    for await (const e of importer([{ content: bytes }], store.asBlockstore(), importerOptions(sliceLayout(4096, 4))))
      root = e.cid;
    expect(store.stats().blocks).to.be.greaterThan(13);
    const entry = await exporter(root!, store.asBlockstore());
    if (entry.type !== "file") throw new Error(`expected a file, got ${entry.type}`);
    expect((await collect(entry.content())).equals(bytes)).to.equal(true);
  });
});
