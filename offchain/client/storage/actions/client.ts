/**
 * The storage SDK's client: what every storage action needs — the meta layer (a {@link MetaClient}: placement,
 * index reads and writes, receipts), the owner who signs (upload grants, index writes, its side of receipts), and
 * the chain, contracts and period clock those signatures bind to (asked of the meta nodes once, unless given).
 * Actions are one per file (`verb(client, params)`), viem style; `client.extend(hmsStorageActions)` adds them
 * as methods.
 *
 * ```ts
 * const storage = createStorageClient({ metaUrls: ["http://127.0.0.1:7400"], owner: privateKey })
 *   .extend(hmsStorageActions);
 * const { rootCid } = await storage.putFile({ source: { file: "photo.jpg" }, path: "/photos/photo.jpg" });
 * ```
 */
import type { Address, Hex, LocalAccount } from "viem";
import { randomBytes } from "node:crypto";
import { HmsError } from "../../../core/errors";
import { domainOf } from "../../../core/signing";
import { parsePath } from "../../../protocol/index-paths";
import { indexWriteMessage, type IndexWriteOp, type WriteAuthorization } from "../../../protocol/index-write";
import { HmsSdkError } from "../../errors";
import { MetaClient } from "../../meta";
import { LatencyEstimator } from "../replicas";
import { accountSigner, privateKeySigner, type ClientSigner } from "../signer";
import type { NetworkParams } from "../upload";

/** Who signs: a raw private key, a viem local account, or a {@link ClientSigner}. */
export type StorageOwner = Hex | LocalAccount | ClientSigner;

export interface StorageClient {
  /** The meta layer (any of its nodes; writes find the master). */
  readonly meta: MetaClient;
  /** The owner of the namespace the client writes in (undefined: read-only, anonymous reads). */
  readonly owner: ClientSigner | undefined;
  /** Learnt latency of the storage nodes (shared by this client's downloads). */
  readonly latency: LatencyEstimator;
  /** The chain, contracts and period clock signatures bind to. */
  network(): Promise<NetworkParams>;
  /** A fresh IndexWrite nonce, strictly above every one this client used (µs of the clock, at least). */
  nextNonce(): bigint;
  /** Closes the meta client's connections (when this client created it). */
  close(): Promise<void>;
  /** viem-style decorator: `client.extend(hmsStorageActions)`. */
  extend<const extended extends Record<string, unknown>>(
    decorator: (client: StorageClient) => extended,
  ): StorageClient & extended;
}

export interface CreateStorageClientParameters {
  /** API URLs of the meta nodes (or give `meta`). */
  metaUrls?: readonly string[];
  /** An existing meta client (not closed by `close()`). */
  meta?: MetaClient;
  owner?: StorageOwner;
  /** Default: asked of the meta nodes (`GET /v1/status`) on first use. */
  network?: NetworkParams;
  /** How long a request keeps looking for a reachable meta node / master, ms (default 15 s). */
  metaRetryMs?: number;
  /** Timeout of one meta request, ms (default 5 s). */
  metaTimeoutMs?: number;
  now?: () => number;
}

export type CreateStorageClientErrorType = "CONFIG_INVALID";

function signerOf(owner: StorageOwner): ClientSigner {
  if (typeof owner === "string") {
    if (!/^0x[0-9a-fA-F]{64}$/.test(owner))
      throw new HmsSdkError("SDK_INVALID_INPUT", "owner: a private key is 0x + 64 hex digits", {
        value: "<redacted>",
      });
    return privateKeySigner(owner);
  }
  if ("signTyped" in owner && typeof owner.signTyped === "function") return owner as ClientSigner;
  return accountSigner(owner as LocalAccount);
}

/** A storage client over meta nodes (`metaUrls`) or an existing {@link MetaClient}. */
export function createStorageClient(parameters: CreateStorageClientParameters): StorageClient {
  const ownMeta = parameters.meta === undefined;
  const urls = parameters.metaUrls ?? [];
  if (ownMeta && urls.length === 0)
    throw new HmsError("CONFIG_INVALID", "a storage client needs meta node URLs (metaUrls) or a meta client", {
      value: [],
      details: { key: "metaUrls" },
    });
  const meta =
    parameters.meta ??
    new MetaClient({
      urls,
      retryMs: parameters.metaRetryMs,
      timeoutMs: parameters.metaTimeoutMs,
    });
  const owner = parameters.owner === undefined ? undefined : signerOf(parameters.owner);
  const now = parameters.now ?? Date.now;
  let network: Promise<NetworkParams> | undefined = parameters.network
    ? Promise.resolve(parameters.network)
    : undefined;
  let lastNonce = 0n;
  const base = {
    meta,
    owner,
    latency: new LatencyEstimator(),
    network: () => {
      network ??= meta.networkParams().catch((err: unknown) => {
        network = undefined; // ask again next time
        throw err;
      });
      return network;
    },
    nextNonce: () => {
      const clock = BigInt(now()) * 1000n + BigInt(randomBytes(2).readUInt16BE() % 1000);
      lastNonce = clock > lastNonce ? clock : lastNonce + 1n;
      return lastNonce;
    },
    close: async () => {
      if (ownMeta) await meta.close();
    },
  };
  const extend = (client: StorageClient) =>
    (<const extended extends Record<string, unknown>>(decorator: (c: StorageClient) => extended) => {
      const next = { ...client, ...decorator(client) } as StorageClient & extended;
      (next as { extend: unknown }).extend = extend(next);
      return next;
    }) as StorageClient["extend"];
  const client = base as StorageClient;
  (client as { extend: unknown }).extend = extend(client);
  return client;
}

/** The owner of a write action, or SDK_NO_ACCOUNT. */
export function requireOwner(client: StorageClient, action: string): ClientSigner {
  if (client.owner === undefined)
    throw new HmsSdkError("SDK_NO_ACCOUNT", `${action}: the storage client has no owner to sign with`, {
      value: action,
    });
  return client.owner;
}

/** The namespace a read is about: `owner` when given, else the client's owner (SDK_INVALID_INPUT without either). */
export function namespaceOf(client: StorageClient, owner: Address | undefined, action: string): Address {
  const address = owner ?? client.owner?.address;
  if (address === undefined)
    throw new HmsSdkError("SDK_INVALID_INPUT", `${action}: give an owner (the client has none)`, { value: action });
  return address;
}

/** The normal form of an index path (META_BAD_PATH for a relative or malformed one), checked before any I/O. */
export function indexPath(path: string): string {
  return parsePath(path).path;
}

/** Signs an owner's index write (mkdir / rm / mv) with a fresh nonce and a 10-minute deadline. */
export async function authorize(
  client: StorageClient,
  owner: ClientSigner,
  op: Exclude<IndexWriteOp, { op: "put" }>,
): Promise<WriteAuthorization> {
  const network = await client.network();
  const nonce = client.nextNonce();
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
  const domain = domainOf("network", network.chainId, network.nodeRegistry);
  const signature = await owner.signTyped(domain, "IndexWrite", indexWriteMessage(op, nonce, deadline));
  return { nonce, deadline, signature };
}

/** A log position of the index (the write's term and index). */
export interface IndexPosition {
  term: bigint;
  index: bigint;
}
