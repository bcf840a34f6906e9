/**
 * What every chaos case works with: the devnet (its processes as devnet.json records them, restarts and signals
 * through offchain/devnet/devnet.ts), a storage client whose acknowledged receipts and files are recorded (what
 * "nothing lost" is checked against), the chain (its clock moved to end periods) and small waiting helpers.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import { request } from "undici";
import { parse as parseYaml } from "yaml";
import { keccak256, toHex, type Hex } from "viem";
import { loadDeployment, type Deployment } from "../../offchain/chain/deployment";
import { localChain, type LocalChain } from "../../offchain/chain/local";
import { MetaClient } from "../../offchain/client/meta";
import {
  createStorageClient,
  getFile,
  putFile,
  privateKeySigner,
  type ClientSigner,
  type StorageClient,
} from "../../offchain/client/storage";
import { domainOf } from "../../offchain/core/signing";
import {
  getJson,
  pidAlive,
  readState,
  restartProcess,
  signalProcess,
  type DevnetProcess,
  type DevnetState,
  type RestartOptions,
} from "../../offchain/devnet/devnet";
import { seededRandom } from "../../offchain/meta/placement";
import { indexWriteMessage } from "../../offchain/protocol/index-write";
import type { SignedReceipt } from "../../offchain/protocol/receipts";
import type { ReceiptSide } from "../../offchain/protocol/transfer";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined/false; returns it and the time it took. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 250,
): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  for (;;) {
    let value: T | undefined | false;
    try {
      value = await check();
    } catch (err) {
      // A failed assertion is a verdict, not a "not yet".
      if (err instanceof assert.AssertionError) throw err;
      value = undefined;
    }
    if (value !== undefined && value !== false) return { value, ms: Date.now() - start };
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${what}`);
    await sleep(intervalMs);
  }
}

/** A meta client that records every receipt the meta layer acknowledged (by task id, each side). */
export class RecordingMeta extends MetaClient {
  readonly acked: Record<ReceiptSide, Map<Hex, SignedReceipt>> = { client: new Map(), node: new Map() };

  override async submit(receipt: SignedReceipt, side: ReceiptSide): Promise<void> {
    await super.submit(receipt, side);
    this.acked[side].set(receipt.receipt.taskId.toLowerCase() as Hex, receipt);
  }
}

/** A file the network acknowledged: where, its root CID and the digest of its bytes. */
export interface StoredFile {
  path: string;
  rootCid: string;
  size: number;
  sha256: string;
}

export interface MetaView {
  name: string;
  url: string;
  role?: string;
  term?: bigint;
  applied?: bigint;
  commit?: bigint;
}

export class ChaosContext {
  readonly files = new Map<string, StoredFile>();
  readonly random: () => number;
  readonly deployment: Deployment;
  readonly chain: LocalChain;
  readonly owner: ClientSigner;
  readonly meta: RecordingMeta;
  readonly storage: StorageClient;
  private nonce = BigInt(Date.now()) * 1000n;

  constructor(
    readonly dir: string,
    readonly seed: number,
    readonly log: (line: string) => void,
  ) {
    const state = this.state();
    this.random = seededRandom(seed);
    this.deployment = loadDeployment(state.deployment);
    this.chain = localChain(state.rpcUrl);
    const key = keccak256(toHex(`hms-chaos-owner-${seed}`));
    this.owner = privateKeySigner(key);
    this.meta = new RecordingMeta({ urls: this.metaUrls(), retryMs: 30_000, timeoutMs: 10_000 });
    this.storage = createStorageClient({ meta: this.meta, owner: key });
  }

  state(): DevnetState {
    const s = readState(this.dir);
    if (s === undefined) throw new Error(`no devnet in ${this.dir}`);
    return s;
  }

  processes(role?: DevnetProcess["role"]): DevnetProcess[] {
    return this.state().processes.filter((p) => role === undefined || p.role === role);
  }

  proc(name: string): DevnetProcess {
    const p = this.state().processes.find((x) => x.name === name);
    if (p === undefined) throw new Error(`no process ${name}`);
    return p;
  }

  alive(name: string): boolean {
    const p = this.proc(name);
    return pidAlive(p.pid, p.marker);
  }

  metaUrls(): string[] {
    return this.processes("meta").map((p) => p.url);
  }

  /** SIGKILL (a crash), SIGSTOP / SIGCONT (a frozen process) to the process group of `name`. */
  signal(name: string, sig: NodeJS.Signals): void {
    signalProcess(this.proc(name), sig);
  }

  async kill(name: string): Promise<void> {
    this.signal(name, "SIGKILL");
    await until(`${name} gone`, () => !this.alive(name), 10_000, 50);
  }

  restart(name: string, o: RestartOptions = {}): Promise<DevnetProcess> {
    return restartProcess(this.dir, name, { timeoutMs: 90_000, ...o });
  }

  /** The storage worker process of a node id (lower-case match). */
  workerOf(nodeId: string): DevnetProcess | undefined {
    return this.processes("storage").find((p) => p.id?.toLowerCase() === nodeId.toLowerCase());
  }

  /** A parsed daemon config (YAML, as `hms init` writes them). */
  config(name: string): Record<string, unknown> {
    return parseYaml(fs.readFileSync(this.proc(name).config!, "utf8")) as Record<string, unknown>;
  }

  /** Every meta node's `/v1/status` (fields undefined for one that does not answer). */
  async metaViews(): Promise<MetaView[]> {
    return Promise.all(
      this.processes("meta").map(async (p): Promise<MetaView> => {
        const s = alivePid(p) ? (await getJson(`${p.url}/v1/status`, 1_500))?.body : undefined;
        const big = (v: unknown) => (v === undefined || v === null ? undefined : BigInt(String(v)));
        return {
          name: p.name,
          url: p.url,
          role: s?.role as string | undefined,
          term: big(s?.term),
          applied: big(s?.appliedIndex),
          commit: big(s?.commitIndex),
        };
      }),
    );
  }

  /** The meta master (highest term among the nodes that say they lead), if any. */
  async master(): Promise<MetaView | undefined> {
    const leaders = (await this.metaViews()).filter((v) => v.role === "leader");
    return leaders.sort((a, b) => (a.term! > b.term! ? -1 : 1))[0];
  }

  /** Deterministic bytes of `size` for the case at hand (AES-CTR keystream of a seeded key). */
  bytes(size: number): Buffer {
    const key = Buffer.alloc(16);
    key.writeUInt32BE(this.seed >>> 0, 0);
    key.writeUInt32BE(Math.floor(this.random() * 2 ** 32), 4);
    key.writeUInt32BE(Math.floor(this.random() * 2 ** 32), 8);
    const c = crypto.createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
    return Buffer.concat([c.update(Buffer.alloc(size)), c.final()]);
  }

  /** Stores `data` at `path`; recorded once acknowledged. */
  async put(
    path: string,
    data: Buffer,
    o: { sliceSize?: number; onProgress?: (done: bigint, total: bigint) => void } = {},
  ): Promise<StoredFile & { replaced: number }> {
    const r = await putFile(this.storage, {
      source: data,
      path,
      sliceSize: o.sliceSize ?? 256 * 1024,
      concurrency: 2,
      onProgress: o.onProgress ? (p) => o.onProgress!(p.bytes, p.total) : undefined,
    });
    const f = { path, rootCid: r.rootCid, size: data.length, sha256: sha256(data) };
    this.files.set(path, f);
    return { ...f, replaced: r.replaced };
  }

  /** Reads a file whole (by root CID); `onBytes` sees the running count. */
  async read(rootCid: string, onBytes?: (n: number) => void): Promise<Buffer> {
    const file = await getFile(this.storage, { cid: rootCid });
    const parts: Buffer[] = [];
    let n = 0;
    for await (const chunk of file) {
      parts.push(Buffer.from(chunk));
      n += chunk.length;
      onBytes?.(n);
    }
    return Buffer.concat(parts);
  }

  /** Reads back every acknowledged file; returns the paths that differ (or fail). */
  async verifyAll(): Promise<{ checked: number; bad: string[] }> {
    const bad: string[] = [];
    for (const f of this.files.values()) {
      try {
        const data = await this.read(f.rootCid);
        if (data.length !== f.size || sha256(data) !== f.sha256) bad.push(`${f.path} (bytes differ)`);
      } catch (err) {
        bad.push(`${f.path} (${(err as { code?: string }).code ?? (err as Error).message})`);
      }
    }
    return { checked: this.files.size, bad };
  }

  /**
   * Copies per slice of a file on live workers, as the index has them: `short` lists the slices with fewer than
   * `copies` (index, live copies).
   */
  async copies(rootCid: string, copies = 3): Promise<{ slices: number; short: [number, number][]; nodes: string[][] }> {
    const loc = await this.meta.locate({ cid: rootCid });
    const nodes = loc.slices.map((s) => s.replicas.map((r) => r.nodeId.toLowerCase()));
    const short: [number, number][] = [];
    nodes.forEach((ids, i) => {
      const live = new Set(ids.filter((id) => alivePid(this.workerOf(id))));
      if (live.size < copies) short.push([i, live.size]);
    });
    return { slices: loc.slices.length, short, nodes };
  }

  /** Waits until every slice of every file in `rootCids` has `copies` copies on live workers; returns the ms. */
  async waitCopies(rootCids: string[], timeoutMs: number, copies = 3): Promise<number> {
    const r = await until(
      `every slice back to ${copies} copies`,
      async () => {
        for (const cid of rootCids) if ((await this.copies(cid, copies)).short.length > 0) return false;
        return true;
      },
      timeoutMs,
      500,
    );
    return r.ms;
  }

  /** The network EIP-712 domain index writes are signed in. */
  networkDomain() {
    return domainOf("network", this.deployment.chainId, this.deployment.contracts.NodeRegistry.address);
  }

  /** An owner-signed `mkdir` POSTed to one meta node only (no retry, no redirect): its HTTP status and code. */
  async mkdirAt(url: string, dir: string): Promise<{ status: number; code?: string }> {
    const op = { op: "mkdir" as const, owner: this.owner.address, path: dir };
    const nonce = ++this.nonce;
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
    const signature = await this.owner.signTyped(
      this.networkDomain(),
      "IndexWrite",
      indexWriteMessage(op, nonce, deadline),
    );
    try {
      const res = await request(`${url}/v1/write`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...op, write: { nonce: nonce.toString(), deadline: deadline.toString(), signature } }),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const body = (await res.body.json()) as { error?: { code?: string } };
      return { status: res.statusCode, code: body.error?.code };
    } catch (err) {
      return { status: 0, code: (err as { code?: string }).code ?? "UNREACHABLE" };
    }
  }

  /** The names in `dir` of this owner's namespace as meta node `url` has them (after it applied `minIndex`). */
  async namesAt(url: string, dir: string, minIndex?: bigint): Promise<string[] | undefined> {
    const q = `owner=${this.owner.address}&path=${encodeURIComponent(dir)}${minIndex ? `&minIndex=${minIndex}` : ""}`;
    try {
      const res = await request(`${url}/v1/ls?${q}`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
      const body = (await res.body.json()) as { ok?: boolean; entries?: Array<{ name: string }> };
      if (res.statusCode !== 200 || !body.ok) return undefined;
      return (body.entries ?? []).map((e) => e.name).sort();
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.storage.close().catch(() => undefined);
    await this.meta.close().catch(() => undefined);
  }
}

export function sha256(data: Uint8Array): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

function alivePid(p: DevnetProcess | undefined): boolean {
  return p !== undefined && pidAlive(p.pid, p.marker);
}
