/**
 * Slicing and reassembly (offchain/protocol/slicing.ts): for any file size — 0, exact multiples of the slice
 * size, one byte over — and any slice size and fan-out, the importer with the data plane's options splits the
 * file into the expected raw-leaf slices and DAG blocks, and the exporter gives back the same bytes, whole or
 * for any range; the range arithmetic picks exactly the slices a range touches.
 */
import { expect } from "chai";
import fc from "fast-check";
import { importer } from "ipfs-unixfs-importer";
import { exporter } from "ipfs-unixfs-exporter";
import { MemoryBlockstore } from "blockstore-core/memory";
import type { CID } from "multiformats/cid";
import {
  DAG_PB_CODEC,
  RAW_CODEC,
  dagBlockCount,
  importerOptions,
  sliceCid,
  sliceCount,
  sliceLayout,
  sliceRange,
  sliceSpan,
} from "../../offchain/protocol/slicing";
import { HmsError } from "../../offchain/core/errors";
import { collect } from "./helpers";

async function importBytes(bytes: Uint8Array, sliceSize: number, maxLinks: number) {
  const store = new MemoryBlockstore();
  const puts: CID[] = [];
  const recording = {
    put: async (cid: CID, block: Uint8Array) => {
      puts.push(cid);
      return store.put(cid, block);
    },
  };
  let root: CID | undefined;
  // Feed the content in odd-sized pieces: the chunker, not the source, decides the slices.
  const pieces = (async function* () {
    for (let o = 0; o < bytes.length; o += 997) yield bytes.subarray(o, o + 997);
    if (bytes.length === 0) yield new Uint8Array(0);
  })();
  for await (const e of importer([{ content: pieces }], recording, importerOptions(sliceLayout(sliceSize, maxLinks))))
    root = e.cid;
  return { root: root!, store, puts };
}

const fileArb = fc
  .record({ sliceSize: fc.integer({ min: 1, max: 4096 }), maxLinks: fc.integer({ min: 2, max: 6 }), mode: fc.nat(3) })
  .chain(({ sliceSize, maxLinks, mode }) => {
    const slices = fc.integer({ min: 0, max: 24 });
    const size = slices.map((n) =>
      mode === 0 ? n * sliceSize : mode === 1 ? n * sliceSize + 1 : Math.max(0, n * sliceSize - 1),
    );
    return fc.record({
      sliceSize: fc.constant(sliceSize),
      maxLinks: fc.constant(maxLinks),
      bytes: size.chain((s) => fc.uint8Array({ minLength: s, maxLength: s })),
    });
  });

describe("storage: slicing and reassembly (property)", function () {
  this.timeout(300_000);

  it("splits any file into raw-leaf slices and balanced DAG blocks, and reassembles it byte for byte", async function () {
    await fc.assert(
      fc.asyncProperty(fileArb, async ({ bytes, sliceSize, maxLinks }) => {
        const { root, store, puts } = await importBytes(bytes, sliceSize, maxLinks);
        const n = sliceCount(BigInt(bytes.length), sliceSize);
        const leaves = puts.filter((c) => c.code === RAW_CODEC);
        const parents = puts.filter((c) => c.code === DAG_PB_CODEC);
        expect(leaves.length).to.equal(n);
        expect(parents.length).to.equal(dagBlockCount(n, maxLinks));
        for (let i = 0; i < n; i++) {
          const span = sliceSpan(BigInt(bytes.length), sliceSize, i);
          const slice = bytes.subarray(Number(span.offset), Number(span.offset) + span.size);
          expect(leaves[i].equals(sliceCid(slice)), `slice ${i} is the raw CIDv1 of its bytes`).to.equal(true);
        }
        if (n === 1) expect(root.equals(leaves[0]), "a one-slice file is its raw leaf").to.equal(true);
        else expect(root.code).to.equal(DAG_PB_CODEC);
        expect(root.version).to.equal(1);
        const entry = await exporter(root, store);
        if (entry.type !== "file" && entry.type !== "raw") throw new Error(`not a file: ${entry.type}`);
        expect(entry.size).to.equal(BigInt(bytes.length));
        const out = await collect(entry.content());
        expect(out.equals(Buffer.from(bytes))).to.equal(true);
      }),
      { numRuns: 120 },
    );
  });

  it("a range read touches exactly the slices that hold it, and the exporter serves the same bytes", async function () {
    await fc.assert(
      fc.asyncProperty(
        fileArb.chain((f) =>
          fc.record({
            f: fc.constant(f),
            offset: fc.integer({ min: 0, max: f.bytes.length }),
            frac: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
        ),
        async ({ f, offset, frac }) => {
          const size = f.bytes.length;
          const length = Math.floor((size - offset) * frac);
          const r = sliceRange(BigInt(size), f.sliceSize, BigInt(offset), BigInt(length));
          if (length === 0) expect(r.last).to.be.lessThan(r.first);
          else {
            expect(r.first).to.equal(Math.floor(offset / f.sliceSize));
            expect(r.last).to.equal(Math.floor((offset + length - 1) / f.sliceSize));
            expect(r.skip).to.equal(offset % f.sliceSize);
          }
          const { root, store } = await importBytes(f.bytes, f.sliceSize, f.maxLinks);
          const entry = await exporter(root, store);
          if (entry.type !== "file" && entry.type !== "raw") throw new Error(`not a file: ${entry.type}`);
          const out = await collect(entry.content({ offset, length }));
          expect(out.equals(Buffer.from(f.bytes.subarray(offset, offset + length)))).to.equal(true);
        },
      ),
      { numRuns: 80 },
    );
  });

  it("rejects ranges past the end, bad slice sizes and fan-outs with typed errors", function () {
    expect(() => sliceRange(10n, 4, 11n))
      .to.throw(HmsError)
      .with.property("code", "STORAGE_RANGE");
    expect(() => sliceRange(10n, 4, 5n, 6n))
      .to.throw(HmsError)
      .with.property("code", "STORAGE_RANGE");
    expect(() => sliceLayout(0))
      .to.throw(HmsError)
      .with.property("code", "STORAGE_BAD_REQUEST");
    expect(() => sliceLayout(3 * 1024 * 1024))
      .to.throw(HmsError)
      .with.property("value", 3 * 1024 * 1024);
    expect(() => sliceLayout(1024, 1))
      .to.throw(HmsError)
      .with.property("code", "STORAGE_BAD_REQUEST");
    expect(sliceCount(0n, 1024)).to.equal(1);
    expect(sliceCount(2048n, 1024)).to.equal(2);
    expect(sliceCount(2049n, 1024)).to.equal(3);
    expect(dagBlockCount(1)).to.equal(0);
    expect(dagBlockCount(174)).to.equal(1);
    expect(dagBlockCount(175)).to.equal(3); // two parents of 174 + 1, and the root
  });
});
