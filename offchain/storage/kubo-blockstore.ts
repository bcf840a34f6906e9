/**
 * An operator's existing Kubo node as the worker's block store (`store.backend: kubo`), through the unmodified
 * `kubo-rpc-client`: `block/put` (with `format` = the codec, or `v0` for CIDv0 — what Kubo's legacy option
 * maps to the CID it returns), `block/get`, `block/stat`, `block/rm`, all with `offline` so that Kubo never
 * asks the IPFS network for a block this worker does not hold.
 *
 * The worker keeps its own guarantees on top: a block is verified against its CID both before it is put and
 * after it is read (a Kubo repository can rot too), capacity is the worker's configured capacity, and the
 * index of what this worker stored is kept in memory (rebuilt from Kubo's `refs/local` is not attempted: a
 * shared Kubo repository holds the operator's other blocks too), so `list()` and `stats()` cover the blocks put
 * through this worker since it started.
 *
 * No Kubo binary can run on the machines this project is tested on: the adapter is tested against the worker's
 * own Kubo-compatible API (test/storage/ipfs-api.test.ts), a real HTTP server speaking the same RPC.
 */
import { createHash } from "node:crypto";
import type { CID } from "multiformats/cid";
import type { KuboRPCClient } from "kubo-rpc-client";
import { HmsError } from "../core/errors";
import { DAG_PB_CODEC, type StorableCid } from "../protocol/slicing";
import { blockKey, cidOfKey, type BlockWriter, type SliceStore } from "./blockstore";

function kuboError(what: string, value: unknown, err: unknown): HmsError {
  const message = (err as Error).message ?? String(err);
  if (/not found|block was not found|ipld: could not find/i.test(message))
    return new HmsError("STORAGE_NOT_FOUND", `${what}: ${message}`, { value, cause: err });
  return new HmsError("STORAGE_KUBO", `${what} through Kubo failed: ${message}`, { value, cause: err });
}

export class KuboBlockstore implements SliceStore {
  readonly kind = "kubo";
  private readonly index = new Map<string, { size: number; atMs: number; codec: number }>();
  private bytes = 0;
  private reserved = 0;

  private constructor(
    private readonly kubo: KuboRPCClient,
    readonly url: string,
    readonly capacity: number,
  ) {}

  /** Connects to the Kubo RPC API at `url` (checks it answers `version`). Throws `STORAGE_KUBO`. */
  static async open(url: string, options: { capacity: number }): Promise<KuboBlockstore> {
    const { create } = await import("kubo-rpc-client"); // loaded only by a Kubo-backed worker
    const kubo = create({ url });
    try {
      await kubo.version();
    } catch (err) {
      throw kuboError(`reaching Kubo at ${url}`, url, err);
    }
    return new KuboBlockstore(kubo, url, options.capacity);
  }

  async has(cid: StorableCid): Promise<boolean> {
    return (await this.size(cid)) !== undefined;
  }

  async size(cid: StorableCid): Promise<number | undefined> {
    try {
      const stat = await this.kubo.block.stat(cid.cid, { offline: true } as never);
      return stat.size;
    } catch (err) {
      const e = kuboError(`stat ${cid.cid}`, cid.cid.toString(), err);
      if (e.code === "STORAGE_NOT_FOUND") return undefined;
      throw e;
    }
  }

  async get(cid: StorableCid): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await this.kubo.block.get(cid.cid, { offline: true } as never);
    } catch (err) {
      throw kuboError(`reading block ${cid.cid}`, cid.cid.toString(), err);
    }
    if (!createHash("sha256").update(bytes).digest().equals(cid.cid.multihash.digest))
      throw new HmsError("STORAGE_CORRUPT", `Kubo returned bytes that do not match ${cid.cid}`, {
        value: cid.cid.toString(),
      });
    return bytes;
  }

  async writer(cid: StorableCid, expectedSize?: number): Promise<BlockWriter> {
    const need = expectedSize ?? 0;
    const free = this.capacity - this.bytes - this.reserved;
    if (need > free)
      throw new HmsError("STORAGE_FULL", `no room for ${need} bytes (${free} free of ${this.capacity})`, {
        value: cid.cid.toString(),
      });
    this.reserved += need;
    const parts: Uint8Array[] = [];
    const hash = createHash("sha256");
    let bytes = 0;
    let done = false;
    const release = () => {
      if (!done) this.reserved -= need;
      done = true;
    };
    const verify = () => {
      const text = cid.cid.toString();
      if (expectedSize !== undefined && bytes !== expectedSize)
        throw new HmsError("STORAGE_TRUNCATED", `block ${text}: got ${bytes} of ${expectedSize} bytes`, {
          value: text,
          details: { cid: text },
        });
      if (!hash.copy().digest().equals(cid.cid.multihash.digest))
        throw new HmsError("STORAGE_DIGEST_MISMATCH", `bytes received do not hash to ${text}`, {
          value: text,
          details: { cid: text },
        });
    };
    return {
      cid,
      get bytes() {
        return bytes;
      },
      write(chunk: Uint8Array) {
        bytes += chunk.length;
        hash.update(chunk);
        parts.push(chunk);
      },
      verify,
      commit: async () => {
        try {
          verify();
          const data = Buffer.concat(parts);
          const put = await this.kubo.block
            .put(data, {
              format: cid.cid.version === 0 ? "v0" : cid.codec === DAG_PB_CODEC ? "dag-pb" : "raw",
              mhtype: "sha2-256",
              version: cid.cid.version,
              allowBigBlock: true,
            })
            .catch((err: unknown) => {
              throw kuboError(`storing block ${cid.cid}`, cid.cid.toString(), err);
            });
          if (!put.equals(cid.cid))
            throw new HmsError("STORAGE_KUBO", `Kubo stored ${cid.cid} as ${put}`, { value: put.toString() });
          const key = blockKey(cid.cid);
          const existed = this.index.has(key);
          if (!existed) {
            this.index.set(key, { size: data.length, atMs: Date.now(), codec: cid.codec });
            this.bytes += data.length;
          }
          return { size: data.length, existed };
        } finally {
          release();
        }
      },
      abort: async () => release(),
    };
  }

  async delete(cid: StorableCid): Promise<void> {
    await this.remove(cid.cid, blockKey(cid.cid));
  }

  async deleteKey(key: string): Promise<void> {
    const entry = this.index.get(key);
    await this.remove(cidOfKey(key, entry?.codec), key);
  }

  private async remove(cid: CID, key: string): Promise<void> {
    try {
      for await (const r of this.kubo.block.rm(cid, { force: true })) if (r.error) throw r.error;
    } catch (err) {
      throw kuboError(`deleting block ${cid}`, cid.toString(), err);
    }
    const entry = this.index.get(key);
    if (entry) {
      this.index.delete(key);
      this.bytes -= entry.size;
    }
  }

  async *list(): AsyncGenerator<{ key: string; cid: CID; size: number; mtimeMs: number }> {
    for (const [key, e] of [...this.index]) yield { key, cid: cidOfKey(key, e.codec), size: e.size, mtimeMs: e.atMs };
  }

  async orphanTemps(): Promise<Array<{ file: string; mtimeMs: number }>> {
    return [];
  }

  stats(): { blocks: number; bytes: number; reserved: number; capacity: number } {
    return { blocks: this.index.size, bytes: this.bytes, reserved: this.reserved, capacity: this.capacity };
  }

  async close(): Promise<void> {}
}
