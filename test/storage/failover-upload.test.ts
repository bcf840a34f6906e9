/**
 * An upload that outlives the meta master that placed it (issue 12 item 2, "if a node of the chain fails, the client
 * gets a replacement and finishes"; issue 15's chaos). Three `hms meta` and three `hms storage` processes: an upload
 * is held half-way, the master is killed, another client's upload under the new master raises the workers' fence,
 * and the held upload goes on. Its writes carry the old term, which the workers now refuse (STORAGE_STALE_TERM); the
 * client has the new master confirm the placement under its term (`POST /v1/renew`) and finishes — every byte
 * readable, nothing re-sent that was already acknowledged. Without `renew` the same upload fails with the fence's code.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { Hex } from "viem";
import { MetaClient } from "../../offchain/client/meta";
import { createStorageClient, hmsStorageActions } from "../../offchain/client/storage";
import { privateKeySigner } from "../../offchain/client/storage/signer";
import { upload } from "../../offchain/client/storage/upload";
import { isHmsError } from "../../offchain/core/errors";
import { StorageLayer } from "../../offchain/testing/storage-layer";
import { TEST_DOMAINS } from "../../offchain/testing/storage-cluster";

const OWNER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6" as Hex;
const KIB = 1024;
const SLICE = 64 * KIB;

/** `bytes` in slice-sized chunks; stops after `holdAt` bytes until `gate` resolves. */
async function* held(bytes: Uint8Array, holdAt: number, gate: Promise<void>, reached: () => void) {
  for (let at = 0; at < bytes.length; at += SLICE) {
    if (at === holdAt) {
      reached();
      await gate;
    }
    yield bytes.subarray(at, Math.min(at + SLICE, bytes.length));
  }
}

describe("storage: an upload that outlives its meta master (3 meta + 3 storage processes)", function () {
  this.timeout(300_000);
  let dir: string;
  let layer: StorageLayer;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-failover-upload-"));
    const clock = { genesis: BigInt(Math.floor(Date.now() / 1000) - 3600), periodLength: 600n };
    layer = await StorageLayer.start({ dir, ...TEST_DOMAINS, clock });
  });

  after(async () => {
    await layer?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Holds an upload half-way, replaces the master, raises the fence with another upload, then lets it go on. */
  async function failoverMidUpload(run: (source: AsyncIterable<Uint8Array>, size: bigint) => Promise<unknown>) {
    const bytes = randomBytes(16 * SLICE);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atHold = new Promise<void>((r) => (reached = r));
    const pending = run(held(bytes, 8 * SLICE, gate, reached), BigInt(bytes.length)).then(
      (v) => ({ ok: true as const, v }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    await atHold;
    // Let the first half's copies land, then kill the master that placed the upload.
    await new Promise((r) => setTimeout(r, 1_000));
    const { index: old, term: oldTerm } = await layer.meta.waitForLeader(60_000);
    await layer.meta.kill(old);
    const { term } = await layer.meta.waitForLeader(60_000);
    expect(term > oldTerm).to.equal(true);
    // Another client's upload under the new master: every worker (3 copies of 3) admits the new term.
    const other = createStorageClient({ metaUrls: layer.urls(), owner: OWNER_KEY }).extend(hmsStorageActions);
    try {
      await other.putFile({ source: randomBytes(3 * SLICE), path: `/raise-${Date.now()}`, sliceSize: SLICE });
    } finally {
      await other.close();
    }
    release();
    const outcome = await pending;
    await layer.meta.launch(old);
    return { bytes, outcome };
  }

  it("renews the placement under the new master's term and finishes; every byte reads back", async () => {
    const client = createStorageClient({ metaUrls: layer.urls(), owner: OWNER_KEY }).extend(hmsStorageActions);
    try {
      const { bytes, outcome } = await failoverMidUpload((source, size) =>
        client.putFile({ source, size, path: "/held.bin", sliceSize: SLICE, concurrency: 1 }),
      );
      expect(outcome.ok, outcome.ok ? "" : String((outcome as { err: Error }).err?.message)).to.equal(true);
      const parts: Buffer[] = [];
      for await (const p of await client.getFile({ path: "/held.bin" })) parts.push(Buffer.from(p));
      expect(Buffer.concat(parts).equals(bytes)).to.equal(true);
      const stat = await client.statFile({ path: "/held.bin" });
      expect(stat.kind).to.equal("file");
    } finally {
      await client.close();
    }
  });

  it("without renew (a network that offers none) the same upload stops with STORAGE_STALE_TERM", async () => {
    const meta = new MetaClient({ urls: layer.urls(), retryMs: 30_000 });
    const noRenew = Object.assign(Object.create(meta) as MetaClient, { renew: undefined });
    const storage = createStorageClient({ metaUrls: layer.urls(), owner: OWNER_KEY });
    try {
      const network = await storage.network();
      const { outcome } = await failoverMidUpload((source, size) =>
        upload(noRenew, source, {
          owner: privateKeySigner(OWNER_KEY),
          network,
          path: "/refused.bin",
          size,
          sliceSize: SLICE,
          concurrency: 1,
        }),
      );
      expect(outcome.ok).to.equal(false);
      const err = (outcome as { err: unknown }).err;
      expect(isHmsError(err) && err.code, String(err)).to.equal("STORAGE_STALE_TERM");
    } finally {
      await storage.close();
      await meta.close();
    }
  });
});
