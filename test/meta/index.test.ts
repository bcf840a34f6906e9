import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { isHmsError } from "../../offchain/core/errors";
import { domainOf, signTypedSync } from "../../offchain/core/signing";
import { Store } from "../../offchain/core/store";
import {
  authorizeWrite,
  commandOf,
  MetaIndex,
  parsePath,
  type IndexCommand,
  type IndexEntry,
} from "../../offchain/meta/index";
import { indexWriteMessage, type IndexWriteOp } from "../../offchain/protocol/index-write";
import type { FileCommit, NodeEndpoint, SignedStorageAck } from "../../offchain/protocol/network";
import { sliceCid } from "../../offchain/protocol/slicing";

const OWNER_KEY: Hex = `0x${"11".repeat(32)}`;
const OTHER_KEY: Hex = `0x${"22".repeat(32)}`;
const owner = privateKeyToAccount(OWNER_KEY).address.toLowerCase() as Address;
const other = privateKeyToAccount(OTHER_KEY).address.toLowerCase() as Address;
const domain = domainOf("network", 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const node = (i: number): NodeEndpoint => ({
  nodeId: `0x${i.toString(16).padStart(64, "0")}` as Hex,
  url: `http://127.0.0.1:${7300 + i}`,
  region: `r${i % 3}`,
});
const cidOf = (text: string) => sliceCid(new TextEncoder().encode(text)).toString();

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(isHmsError(err), String(err)).to.equal(true);
    expect((err as { code: string }).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

async function expectReject(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect((err as { code?: string }).code, String(err)).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe("meta/index", function () {
  let dir: string;
  let store: Store;
  let index: MetaIndex;
  let next: bigint;
  let nonce: bigint;

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-meta-index-"));
    store = await Store.open(path.join(dir, "db"));
    index = await MetaIndex.open(store, { bloomSeed: 7 });
    next = 1n;
    nonce = 1n;
  });
  afterEach(async function () {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function put(p: string, content = p, who: Address = owner): IndexCommand {
    const cid = cidOf(content);
    return {
      kind: "put",
      owner: who,
      path: p,
      rootCid: cid,
      size: BigInt(content.length),
      sliceSize: 1024,
      uploadId: `0x${(next + 1000n).toString(16).padStart(64, "0")}` as Hex,
      slices: [{ cid, size: content.length, replicas: [node(1), node(2), node(3)] }],
      dagBlocks: [],
      leases: [],
      nonce: nonce++,
      time: 1_700_000_000n,
    };
  }
  const cmd = <K extends IndexCommand["kind"]>(c: Omit<Extract<IndexCommand, { kind: K }>, "nonce" | "time">) =>
    ({ ...c, nonce: nonce++, time: 1_700_000_000n }) as unknown as IndexCommand;
  async function apply(command: IndexCommand | { kind: string }) {
    return index.apply({ term: 1n, index: next++, command });
  }

  it("puts files with implicit parents; stat, ls and locate by path and by root CID", async function () {
    expect(await apply(put("/docs/a.txt", "alpha"))).to.deep.equal({ status: "applied" });
    expect(await apply(put("/docs/sub/b.txt", "beta"))).to.deep.equal({ status: "applied" });
    const ls = await index.ls(owner, "/docs/");
    expect(ls.map((e) => [e.name, e.kind])).to.deep.equal([
      ["a.txt", "file"],
      ["sub", "dir"],
    ]);
    expect((await index.ls(owner, "/")).map((e) => e.path)).to.deep.equal(["/docs"]);
    const st = await index.stat(owner, "/docs");
    expect(st.kind === "dir" && st.children).to.equal(2);
    const byPath = await index.locate({ owner, path: "/docs/sub/b.txt" });
    expect(byPath.rootCid).to.equal(cidOf("beta"));
    expect(byPath.slices[0].replicas.map((n) => n.nodeId)).to.deep.equal(
      [node(1), node(2), node(3)].map((n) => n.nodeId),
    );
    expect([byPath.term, byPath.index]).to.deep.equal([1n, 2n]);
    const byCid = await index.locate({ cid: cidOf("alpha") });
    expect(byCid.path).to.equal("/docs/a.txt");
    expect(byCid.size).to.equal(5n);
    // Another owner's namespace is separate.
    await expectReject(index.stat(other, "/docs"), "META_NOT_FOUND");
  });

  it("has file-system semantics for rm, mv, mkdir and trailing slashes", async function () {
    await apply(put("/a/x.txt", "x"));
    await apply(put("/a/y.txt", "y"));
    await apply(put("/b.txt", "b"));
    // rm of a non-empty directory needs -r; trailing slash on a file is refused.
    expect(await apply(cmd<"rm">({ kind: "rm", owner, path: "/a", recursive: false }))).to.include({
      status: "rejected",
      code: "META_DIR_NOT_EMPTY",
    });
    expect(await apply(cmd<"rm">({ kind: "rm", owner, path: "/b.txt/", recursive: false }))).to.include({
      code: "META_NOT_DIRECTORY",
    });
    await expectReject(index.stat(owner, "/b.txt/"), "META_NOT_DIRECTORY");
    // mv onto an existing file replaces it; mv onto a directory moves into it.
    expect(await apply(cmd<"mv">({ kind: "mv", owner, path: "/b.txt", target: "/a/x.txt" }))).to.deep.equal({
      status: "applied",
    });
    expect((await index.locate({ owner, path: "/a/x.txt" })).rootCid).to.equal(cidOf("b"));
    await expectReject(index.locate({ cid: cidOf("x") }), "META_NOT_FOUND");
    expect(await index.slice(cidOf("x"))).to.equal(undefined); // its only reference is gone
    await apply(cmd<"mkdir">({ kind: "mkdir", owner, path: "/c/d" }));
    expect(await apply(cmd<"mv">({ kind: "mv", owner, path: "/a", target: "/c/d/" }))).to.deep.equal({
      status: "applied",
    });
    expect((await index.ls(owner, "/c/d/a")).map((e) => e.name)).to.deep.equal(["x.txt", "y.txt"]);
    expect((await index.locate({ cid: cidOf("y") })).path).to.equal("/c/d/a/y.txt");
    // A directory cannot move into itself; the destination's parent must exist; the root cannot move.
    expect(await apply(cmd<"mv">({ kind: "mv", owner, path: "/c", target: "/c/d/a/z" }))).to.include({
      code: "META_MOVE_INTO_SELF",
    });
    expect(await apply(cmd<"mv">({ kind: "mv", owner, path: "/c/d/a/y.txt", target: "/nope/y.txt" }))).to.include({
      code: "META_NOT_FOUND",
    });
    expect(await apply(cmd<"mv">({ kind: "mv", owner, path: "/", target: "/x" }))).to.include({
      code: "META_BAD_PATH",
    });
    // A put under a file, or onto a directory, is refused; mkdir onto a file too.
    expect(await apply(put("/c/d/a/y.txt/z", "z"))).to.include({ code: "META_NOT_DIRECTORY" });
    expect(await apply(put("/c/d", "z"))).to.include({ code: "META_IS_DIRECTORY" });
    expect(await apply(cmd<"mkdir">({ kind: "mkdir", owner, path: "/c/d/a/y.txt" }))).to.include({
      code: "META_EXISTS",
    });
    // rm -r removes the subtree and its slice references.
    expect(await apply(cmd<"rm">({ kind: "rm", owner, path: "/c", recursive: true }))).to.deep.equal({
      status: "applied",
    });
    expect(await index.ls(owner, "/")).to.deep.equal([]);
    expect(await index.slice(cidOf("y"))).to.equal(undefined);
    expect(await apply(cmd<"rm">({ kind: "rm", owner, path: "/c", recursive: true }))).to.include({
      code: "META_NOT_FOUND",
    });
  });

  it("rejects bad paths with META_BAD_PATH naming them", function () {
    for (const bad of ["a/b", "", "/a//b", "/a/./b", "/a/../b", "/a\u0000b", `/${"x".repeat(256)}`]) {
      try {
        parsePath(bad);
        expect.fail(`accepted ${JSON.stringify(bad)}`);
      } catch (err) {
        expect((err as { code: string }).code).to.equal("META_BAD_PATH");
        expect((err as { value: unknown }).value).to.equal(bad);
      }
    }
    expect(parsePath("/a/b/")).to.deep.equal({ path: "/a/b", segments: ["a", "b"], trailingSlash: true });
  });

  it("records each owner's last signed write and its outcome (what a retry of it is answered with)", async function () {
    const d1 = `0x${"d1".repeat(32)}` as Hex;
    const d2 = `0x${"d2".repeat(32)}` as Hex;
    expect(await index.lastWrite(owner)).to.equal(undefined);
    const mk = { ...cmd<"mkdir">({ kind: "mkdir", owner, path: "/kept" }), digest: d1 } as IndexCommand;
    expect(await apply(mk)).to.deep.equal({ status: "applied" });
    expect(await index.lastWrite(owner)).to.deep.include({
      nonce: (mk as { nonce: bigint }).nonce,
      digest: d1,
      term: 1n,
      index: next - 1n,
      status: "applied",
    });
    // Refused at apply (no such source): the refusal is what a retry gets, not a replay error.
    const mv = { ...cmd<"mv">({ kind: "mv", owner, path: "/absent", target: "/b" }), digest: d2 } as IndexCommand;
    expect(await apply(mv)).to.include({ status: "rejected", code: "META_NOT_FOUND" });
    expect(await index.lastWrite(owner)).to.deep.include({ digest: d2, status: "rejected", code: "META_NOT_FOUND" });
    // Another owner's record is its own; a write without a digest (older log entries) records nothing.
    expect(await index.lastWrite(other)).to.equal(undefined);
    expect(await apply(cmd<"mkdir">({ kind: "mkdir", owner: other, path: "/o" }))).to.deep.equal({ status: "applied" });
    expect(await index.lastWrite(other)).to.equal(undefined);
  });

  it("applies entries idempotently by log index, refuses gaps and replayed nonces", async function () {
    const e1: IndexEntry = { term: 1n, index: 1n, command: put("/f", "f") };
    expect(await index.apply(e1)).to.deep.equal({ status: "applied" });
    expect(await index.apply(e1)).to.deep.equal({ status: "duplicate" });
    expect(index.position).to.deep.equal({ term: 1n, index: 1n });
    await expectReject(index.apply({ term: 1n, index: 3n, command: put("/g", "g") }), "META_LOG_GAP");
    // The same signed write again at a new log index: its nonce is spent.
    const replay = { ...(e1.command as IndexCommand), path: "/other" } as IndexCommand;
    expect(await index.apply({ term: 1n, index: 2n, command: replay })).to.include({ code: "META_REPLAYED" });
    // Commands of other state machines only advance the position.
    expect(await index.apply({ term: 2n, index: 3n, command: { kind: "receipt" } })).to.deep.equal({
      status: "applied",
    });
    expect(index.position).to.deep.equal({ term: 2n, index: 3n });
  });

  it("followers that apply the same log converge: entry by entry, in one batch, or from a snapshot", async function () {
    const log: IndexEntry[] = [];
    const cmds = [
      put("/a/1", "1"),
      put("/a/2", "2"),
      put("/a/2", "2b"),
      put("/a/2", "1"), // same content as /a/1: a shared slice
      cmd<"mv">({ kind: "mv", owner, path: "/a/1", target: "/b" }),
      cmd<"rm">({ kind: "rm", owner, path: "/a", recursive: false }),
      cmd<"rm">({ kind: "rm", owner, path: "/a/2", recursive: false }),
      { kind: "replicas", cid: cidOf("1"), add: [node(4)], remove: [node(1).nodeId] } as IndexCommand,
    ];
    cmds.forEach((c, i) => log.push({ term: 1n, index: BigInt(i + 1), command: c }));
    for (const e of log) await index.apply(e);
    const dump = async (ix: MetaIndex) => {
      const out: Array<[string, unknown]> = [];
      for await (const kv of ix.snapshot()) out.push(kv);
      return out;
    };
    const a = await dump(index);
    const store2 = await Store.open(path.join(dir, "db2"));
    const store3 = await Store.open(path.join(dir, "db3"));
    try {
      const batched = await MetaIndex.open(store2);
      await batched.applyAll(log);
      expect(await dump(batched)).to.deep.equal(a);
      const fromSnapshot = await MetaIndex.open(store3);
      expect(await fromSnapshot.installSnapshot(a)).to.deep.equal({ term: 1n, index: BigInt(log.length) });
      expect(await dump(fromSnapshot)).to.deep.equal(a);
      expect((await fromSnapshot.locate({ owner, path: "/b" })).slices[0].replicas.map((n) => n.nodeId)).to.deep.equal(
        [node(2), node(3), node(4)].map((n) => n.nodeId),
      );
      await expectReject(fromSnapshot.installSnapshot([["other:key", 1]]), "META_BAD_SNAPSHOT");
    } finally {
      await store2.close();
      await store3.close();
    }
    const shared = await index.slice(cidOf("1"));
    expect(shared?.refs).to.equal(1); // /a/2 (which shared it) was removed, /b keeps it
  });

  it("survives a restart: the position, the files and the Bloom filter are rebuilt", async function () {
    await apply(put("/keep.txt", "keep"));
    await store.close();
    store = await Store.open(path.join(dir, "db"));
    index = await MetaIndex.open(store, { bloomSeed: 7 });
    expect(index.position.index).to.equal(1n);
    expect(index.mightContain({ cid: cidOf("keep") })).to.equal(true);
    expect((await index.locate({ owner, path: "/keep.txt" })).rootCid).to.equal(cidOf("keep"));
  });

  it("answers misses from the Bloom filter without touching LevelDB", async function () {
    await apply(put("/here", "here"));
    const before = { ...index.stats };
    await expectReject(index.locate({ cid: cidOf("absent") }), "META_NOT_FOUND");
    await expectReject(index.locate({ owner, path: "/absent" }), "META_NOT_FOUND");
    expect(index.stats.bloomNegatives - before.bloomNegatives).to.equal(2);
    await index.locate({ cid: cidOf("here") });
    expect(index.stats.bloomHits - before.bloomHits).to.equal(1);
  });

  describe("owner-signed writes (EIP-712 IndexWrite)", function () {
    const commit: FileCommit = {
      owner,
      path: "/signed.bin",
      rootCid: cidOf("s"),
      size: 1n,
      sliceSize: 1024,
      uploadId: `0x${"ab".repeat(32)}`,
      dagBlocks: [],
      slices: [{ cid: cidOf("s"), size: 1, acks: [] }],
    };
    const op: IndexWriteOp = { op: "put", file: commit };
    const sign = (key: Hex, o: IndexWriteOp, n: bigint, deadline: bigint) =>
      signTypedSync(key, domain, "IndexWrite", indexWriteMessage(o, n, deadline));
    const ctx = { domain, now: 1_000n, lastNonce: 4n };

    it("admits the owner's write and refuses another signer, an expired one and a replayed nonce", function () {
      const ok = authorizeWrite(op, { nonce: 5n, deadline: 2_000n, signature: sign(OWNER_KEY, op, 5n, 2_000n) }, ctx);
      expect(ok.owner).to.equal(owner);
      expectCode(
        () => authorizeWrite(op, { nonce: 5n, deadline: 2_000n, signature: sign(OTHER_KEY, op, 5n, 2_000n) }, ctx),
        "META_NOT_OWNER",
      );
      expectCode(
        () => authorizeWrite(op, { nonce: 5n, deadline: 999n, signature: sign(OWNER_KEY, op, 5n, 999n) }, ctx),
        "META_WRITE_EXPIRED",
      );
      expectCode(
        () => authorizeWrite(op, { nonce: 4n, deadline: 2_000n, signature: sign(OWNER_KEY, op, 4n, 2_000n) }, ctx),
        "META_REPLAYED",
      );
      // A signature over other content (another path) does not authorise this one.
      const moved: IndexWriteOp = { op: "put", file: { ...commit, path: "/elsewhere" } };
      expectCode(
        () => authorizeWrite(op, { nonce: 5n, deadline: 2_000n, signature: sign(OWNER_KEY, moved, 5n, 2_000n) }, ctx),
        "META_NOT_OWNER",
      );
      const rm: IndexWriteOp = { op: "rm", owner, path: "/x//y" };
      expectCode(
        () => authorizeWrite(rm, { nonce: 5n, deadline: 2_000n, signature: sign(OWNER_KEY, rm, 5n, 2_000n) }, ctx),
        "META_BAD_PATH",
      );
      const badSize: IndexWriteOp = { op: "put", file: { ...commit, size: 2n } };
      expectCode(
        () =>
          authorizeWrite(
            badSize,
            { nonce: 5n, deadline: 2_000n, signature: sign(OWNER_KEY, badSize, 5n, 2_000n) },
            ctx,
          ),
        "META_BAD_WRITE",
      );
    });

    it("turns acks into replicas and refuses an ack for another slice or from an unknown node", function () {
      const digest =
        `0x${Buffer.from(sliceCid(new TextEncoder().encode("s")).multihash.digest).toString("hex")}` as Hex;
      const ack = (i: number, slice: Hex = digest): SignedStorageAck => ({
        nodeId: node(i).nodeId,
        slice,
        size: 1n,
        owner,
        uploadId: commit.uploadId,
        signature: `0x${"00".repeat(65)}`,
      });
      const resolve = (id: Hex) => [node(1), node(2)].find((n) => n.nodeId === id);
      const withAcks = (acks: SignedStorageAck[]): IndexWriteOp => ({
        op: "put",
        file: { ...commit, slices: [{ cid: cidOf("s"), size: 1, acks }] },
      });
      const c = commandOf(withAcks([ack(1), ack(2), ack(1)]), 5n, { time: 9n, resolve });
      expect(c.kind === "put" && c.slices[0].replicas.map((n) => n.nodeId)).to.deep.equal([
        node(1).nodeId,
        node(2).nodeId,
      ]);
      expectCode(
        () => commandOf(withAcks([ack(1, `0x${"ee".repeat(32)}`)]), 5n, { time: 9n, resolve }),
        "META_BAD_WRITE",
      );
      expectCode(() => commandOf(withAcks([ack(3)]), 5n, { time: 9n, resolve }), "META_BAD_WRITE");
      expectCode(
        () => commandOf(withAcks([ack(1)]), 5n, { time: 9n, resolve, verifyAck: () => false }),
        "META_BAD_WRITE",
      );
    });
  });
});
