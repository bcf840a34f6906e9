/** Shared helpers of the storage tests: deterministic bytes, temp dirs, in-process workers, raw slice requests. */
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { request, type Dispatcher } from "undici";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { silentLogger } from "../../offchain/core/logger";
import { Metrics } from "../../offchain/core/metrics";
import { domainOf, signTypedSync } from "../../offchain/core/signing";
import { demoNodeId, demoNodePrivateKey } from "../../offchain/devnet/accounts";
import { sliceCid } from "../../offchain/protocol/slicing";
import {
  STORAGE_HEADERS,
  chainToHeader,
  grantToHeader,
  type SignedUploadGrant,
} from "../../offchain/protocol/storage-wire";
import type { NodeEndpoint } from "../../offchain/protocol/network";
import { periodAt } from "../../offchain/protocol/transfer";
import { TEST_DOMAINS } from "../../offchain/testing/storage-cluster";
import { StorageWorker, type StorageWorkerOptions } from "../../offchain/storage/worker";

/**
 * Kubo's test-suite bytes: the ChaCha20 keystream (RFC 8439, zero nonce, counter 0) under key sha256(seed) —
 * `DeterministicRandomReaderBytes` of ipfs/kubo test/cli/testutils/random_deterministic.go.
 */
export function kuboDeterministicBytes(size: number, seed: string): Buffer {
  const cipher = createCipheriv("chacha20", createHash("sha256").update(seed).digest(), Buffer.alloc(16));
  return cipher.update(Buffer.alloc(size));
}

/** The same bytes as a stream of `chunk`-sized pieces (for inputs too large to hold). */
export async function* kuboDeterministicStream(size: number, seed: string, chunk = 4 << 20): AsyncGenerator<Buffer> {
  const cipher = createCipheriv("chacha20", createHash("sha256").update(seed).digest(), Buffer.alloc(16));
  const zero = Buffer.alloc(chunk);
  for (let left = size; left > 0; left -= chunk) yield cipher.update(zero.subarray(0, Math.min(left, chunk)));
}

export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hms-${name}-`));
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of source) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

export const CLOCK = { genesis: BigInt(Math.floor(Date.now() / 1000) - 3600), periodLength: 600n };
export const NETWORK = { ...TEST_DOMAINS, clock: CLOCK };
export const currentPeriod = () => periodAt(CLOCK, BigInt(Math.floor(Date.now() / 1000)));

/** A worker in this process (demo node `index`), on a fresh data directory unless one is given. */
export async function startWorker(
  index: number,
  overrides: Partial<StorageWorkerOptions> = {},
): Promise<StorageWorker> {
  return StorageWorker.start({
    nodeId: demoNodeId(index),
    privateKey: demoNodePrivateKey(index),
    dataDir: overrides.dataDir ?? tempDir(`worker-${index}`),
    region: `region-${index}`,
    capacityBytes: 1 << 30,
    maxBlockBytes: 2 << 20,
    domains: TEST_DOMAINS,
    clock: CLOCK,
    gc: { intervalMs: 0 },
    logger: silentLogger(),
    metrics: new Metrics(),
    ...overrides,
  });
}

export function endpointOf(w: StorageWorker): NodeEndpoint {
  return { nodeId: w.nodeId, url: w.url, region: w.region };
}

/** An owner key and a signed grant for a fresh upload id. */
export function ownerGrant(options: { maxBytes?: bigint; deadline?: bigint; privateKey?: Hex; signer?: Hex } = {}): {
  owner: Address;
  privateKey: Hex;
  grant: SignedUploadGrant;
} {
  const privateKey = options.privateKey ?? generatePrivateKey();
  const owner = privateKeyToAddress(privateKey);
  const message = {
    owner,
    uploadId: `0x${randomBytes(32).toString("hex")}` as Hex,
    maxBytes: options.maxBytes ?? 1n << 40n,
    deadline: options.deadline ?? BigInt(Math.floor(Date.now() / 1000) + 3600),
  };
  const domain = domainOf("network", TEST_DOMAINS.chainId, TEST_DOMAINS.nodeRegistry);
  return {
    owner,
    privateKey,
    grant: { ...message, signature: signTypedSync(options.signer ?? privateKey, domain, "UploadGrant", message) },
  };
}

/** A raw `PUT /v1/slices/<cid>` (headers overridable, body any bytes). */
export async function putRaw(
  url: string,
  cid: string,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  options: {
    grant?: SignedUploadGrant | null;
    chain?: NodeEndpoint[];
    headers?: Record<string, string>;
    length?: number | null;
  } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    [STORAGE_HEADERS.period]: currentPeriod().toString(),
    [STORAGE_HEADERS.term]: "1", // the fixture network's term
  };
  if (options.length !== null) headers["content-length"] = String(options.length ?? (body as Uint8Array).length);
  if (options.grant !== null) headers[STORAGE_HEADERS.grant] = grantToHeader(options.grant ?? ownerGrant().grant);
  if (options.chain && options.chain.length > 0) headers[STORAGE_HEADERS.chain] = chainToHeader(options.chain);
  Object.assign(headers, options.headers ?? {});
  const res: Dispatcher.ResponseData = await request(`${url}/v1/slices/${cid}`, {
    method: "PUT",
    headers,
    body: body instanceof Uint8Array ? body : Readable.from(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : {} };
}

export async function getRaw(url: string, p: string, headers: Record<string, string> = {}) {
  const res = await request(`${url}${p}`, { method: "GET", headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

export async function health(url: string): Promise<Record<string, unknown>> {
  const res = await request(`${url}/health`);
  return (await res.body.json()) as Record<string, unknown>;
}

/** Files left in a worker's temp directory. */
export function tempFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, "tmp");
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

/** Polls `check` until it is true (generous deadline: the machine is shared). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export { sliceCid };
