/**
 * The layout rule (offchain/protocol/slicing.ts) against CIDs that Kubo computed, so that a file's root CID here
 * is exactly Kubo's for `ipfs add --cid-version=1 --raw-leaves --chunker=size-N`.
 *
 * Source: ipfs/kubo at commit 867cdc5d80d88f390f3ee2882ff50e056ffe3aad —
 *   test/cli/cid_profiles_test.go   `unixfsV12025` / `unixfsV02015`: FileAtChunkSizeCID, FileOverChunkSizeCID,
 *                                   FileAtMaxLinksCID, FileOverMaxLinksCID, SmallFileCID, with the seeds of
 *                                   `chunkSeedForProfile` / `seedForProfile`
 *   test/cli/add_test.go            shortString CIDs; "--max-file-links overrides" (QmbBft…, 262144KiB, seed
 *                                   "hello world", profile unixfs-v0-2015 + --max-file-links 1024)
 *   test/cli/testutils/random_deterministic.go   the bytes: ChaCha20 keystream, key sha256(seed), zero nonce
 *
 * What the vectors prove: unixfs-v1-2025 is CIDv1 + raw leaves + 1 MiB chunks — for a 1 MiB + 1 byte file (two
 * chunks) its CID is exactly `ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576`, the data plane's
 * default; the v1-2025 max-links vectors pin CIDv1 raw-leaf trees rebalanced at 1024 links, and the v0-2015
 * ones pin Kubo's default balanced layout rebalanced at 174 links (with CIDv0 dag-pb leaves). No public vector
 * combines CIDv1 + raw leaves with more than 174 chunks at Kubo's default 174 links; the two families above are
 * the closest, and they exercise the same importer options (leaf encoding × fan-out) independently.
 */
import { expect } from "chai";
import { importer, type ImporterOptions } from "ipfs-unixfs-importer";
import type { CID } from "multiformats/cid";
import {
  DEFAULT_SLICE_SIZE,
  MAX_LINKS,
  importerOptions,
  kuboImporterOptions,
  sliceLayout,
} from "../../offchain/protocol/slicing";
import { kuboDeterministicBytes, kuboDeterministicStream } from "./helpers";

const MIB = 1 << 20;
const discard = { put: async (cid: CID) => cid };

async function cidOf(content: Uint8Array | AsyncIterable<Uint8Array>, options: ImporterOptions): Promise<string> {
  let root: CID | undefined;
  for await (const e of importer([{ content }], discard, options)) root = e.cid;
  return root!.toString();
}

const V0 = (maxLinks = MAX_LINKS) =>
  kuboImporterOptions({ cidVersion: 0, rawLeaves: false, chunkSize: 262_144, maxLinks });
const V1_2025 = () => kuboImporterOptions({ cidVersion: 1, rawLeaves: true, chunkSize: MIB, maxLinks: 1024 });

describe("storage: root CIDs equal Kubo's (test vectors from ipfs/kubo)", function () {
  this.timeout(300_000);

  it("the data plane's default layout gives Kubo's unixfs-v1-2025 CIDs at and over one chunk (1 MiB, 1 MiB + 1)", async function () {
    const layout = importerOptions(sliceLayout(DEFAULT_SLICE_SIZE));
    expect(await cidOf(kuboDeterministicBytes(MIB, "chunk-v1-seed"), layout)).to.equal(
      "bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta",
    );
    expect(await cidOf(kuboDeterministicBytes(MIB + 1, "chunk-v1-seed"), importerOptions(sliceLayout()))).to.equal(
      "bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64",
    );
    expect(await cidOf(Buffer.from("hello world"), importerOptions(sliceLayout()))).to.equal(
      "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
    );
  });

  it("Kubo's defaults (CIDv0, dag-pb leaves, 256 KiB, 174 links) at and over a chunk, and at and over 174 links", async function () {
    expect(await cidOf(Buffer.from("hello world"), V0())).to.equal("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
    expect(await cidOf(kuboDeterministicBytes(262_144, "chunk-v0-seed"), V0())).to.equal(
      "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE",
    );
    expect(await cidOf(kuboDeterministicBytes(262_145, "chunk-v0-seed"), V0())).to.equal(
      "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ",
    );
    expect(await cidOf(kuboDeterministicStream(174 * 262_144, "v0-seed"), V0())).to.equal(
      "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2",
    );
    expect(await cidOf(kuboDeterministicStream(174 * 262_144 + 1, "v0-seed"), V0())).to.equal(
      "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW",
    );
  });

  it("CIDv1 without raw leaves (Import.UnixFSRawLeaves=false) and --max-file-links 1024 on 256 MiB", async function () {
    const noRaw = kuboImporterOptions({ cidVersion: 1, rawLeaves: false, chunkSize: 262_144, maxLinks: MAX_LINKS });
    expect(await cidOf(Buffer.from("hello world"), noRaw)).to.equal(
      "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa",
    );
    expect(await cidOf(kuboDeterministicStream(262_144 * 1024, "hello world"), V0(1024))).to.equal(
      "QmbBftNHWmjSWKLC49dMVrfnY8pjrJYntiAXirFJ7oJrNk",
    );
  });

  it("unixfs-v1-2025 (CIDv1, raw leaves, 1 MiB) at and over 1024 links: 1 GiB and 1 GiB + 1 byte", async function () {
    expect(await cidOf(kuboDeterministicStream(1024 * MIB, "v1-2025-seed"), V1_2025())).to.equal(
      "bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm",
    );
    expect(await cidOf(kuboDeterministicStream(1024 * MIB + 1, "v1-2025-seed"), V1_2025())).to.equal(
      "bafybeibdsi225ugbkmpbdohnxioyab6jsqrmkts3twhpvfnzp77xtzpyhe",
    );
  });
});
