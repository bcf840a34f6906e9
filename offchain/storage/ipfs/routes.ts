/**
 * The IPFS-compatible surface of a worker (docs/STORAGE.md, "IPFS compatibility"): the subset of Kubo's RPC
 * API that the unmodified `kubo-rpc-client` and `ipfs-http-client` need for add, cat, get and blocks, plus a
 * trustless gateway (gateway.ts).
 *
 *   POST /api/v0/add          multipart files/directories; cid-version, raw-leaves, chunker=size-N, pin,
 *                             only-hash, wrap-with-directory, hash=sha2-256 → one JSON line per entry
 *                             {Name, Hash, Size}. Kubo's defaults: CIDv0, dag-pb leaves, 256 KiB chunks, 174 links;
 *                             with `cid-version=1&raw-leaves=true&chunker=size-N` the root CID is Kubo's for that
 *                             command line (the layout of protocol/slicing.ts)
 *   POST /api/v0/cat          arg=<cid>[/path], offset, length → the file's bytes
 *   POST /api/v0/get          arg=<cid>[/path] → a tar archive of the file or directory
 *   POST /api/v0/block/get    arg=<cid> → the block's bytes
 *   POST /api/v0/block/stat   arg=<cid> → {Key, Size}
 *   POST /api/v0/block/put    multipart, cid-codec | format (v0 = CIDv0), mhtype=sha2-256 → {Key, Size}
 *   POST /api/v0/block/rm     arg=<cid>…, force → one {Hash, Error?} line per CID
 *   POST /api/v0/id, /api/v0/version
 *
 * Standalone, `add` stores blocks in this worker and pins them. With a network (the meta layer), a single-file
 * `add` in the data plane's layout (CIDv1, raw leaves) is spooled to a temp file and uploaded with 3 copies
 * through the pipeline (client/storage/upload.ts), owned by this worker's key; `cat`/`get` of a file whose
 * blocks are not here read it through the network.
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline as streamPipeline } from "node:stream/promises";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fastifyMultipart from "@fastify/multipart";
import { CID } from "multiformats/cid";
import { importer, type ImportCandidate, type ImporterOptions } from "ipfs-unixfs-importer";
import { exporter, type UnixFSEntry } from "ipfs-unixfs-exporter";
import type { Blockstore } from "interface-blockstore";
import type { Logger } from "pino";
import { HmsError } from "../../core/errors";
import type { StorageNetwork } from "../../protocol/network";
import {
  DAG_PB_CODEC,
  MAX_LINKS,
  RAW_CODEC,
  cidOfDigest,
  kuboImporterOptions,
  parseStorableCid,
  sha256,
} from "../../protocol/slicing";
import { download } from "../../client/storage/download";
import type { ClientSigner } from "../../client/storage/signer";
import { upload, type NetworkParams } from "../../client/storage/upload";
import { asBlockstore, blockKey, type SliceStore } from "../blockstore";
import type { UploadRecords } from "../state";
import { registerGateway } from "./gateway";
import { tarEnd, tarHeader, tarPadding } from "./tar";

export const IPFS_API_VERSION = "0.1.0";
const DEFAULT_CHUNK = 262_144;

export interface IpfsDeps {
  store: SliceStore;
  records: UploadRecords;
  logger: Logger;
  maxBlockBytes: number;
  /** The worker's libp2p identity (peer-id.ts) and advertised URL. */
  peer: { id: string; publicKey: string };
  url: () => string;
  now: () => number;
  /** Temp directory for spooled network adds (same filesystem as the data directory). */
  tmpDir: string;
  /** With these, `add` stores through the network and `cat`/`get` read through it. */
  network?: StorageNetwork;
  owner?: ClientSigner;
  networkParams?: NetworkParams;
}

type Query = Record<string, string | string[] | undefined>;

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

function bool(q: Query, name: string, fallback: boolean): boolean {
  const v = one(q, name);
  if (v === undefined || v === "") return v === "" ? true : fallback;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new HmsError("STORAGE_BAD_REQUEST", `${name} must be true or false`, { value: v });
}

function uint(q: Query, name: string): number | undefined {
  const v = one(q, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v))
    throw new HmsError("STORAGE_BAD_REQUEST", `${name} must be a non-negative integer`, { value: v });
  return Number(v);
}

function arg(q: Query): string {
  const v = one(q, "arg");
  if (v === undefined || v === "")
    throw new HmsError("STORAGE_BAD_REQUEST", "argument 'arg' is required", { value: "arg" });
  return v;
}

function args(q: Query): string[] {
  const v = q.arg;
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  if (list.length === 0) throw new HmsError("STORAGE_BAD_REQUEST", "argument 'arg' is required", { value: "arg" });
  return list;
}

/** `/ipfs/<cid>/a/b`, `<cid>/a/b` → `{ cid, rest }`. */
export function parseIpfsPath(text: string): { cid: CID; rest: string[] } {
  const parts = text
    .replace(/^\/ipfs\//, "")
    .split("/")
    .filter((p) => p.length > 0);
  if (parts.length === 0) throw new HmsError("STORAGE_BAD_CID", "empty IPFS path", { value: text });
  const cid = parseStorableCid(parts[0]).cid;
  return { cid, rest: parts.slice(1).map((p) => decodeURIComponent(p)) };
}

/** The Kubo `add` options of a request (Kubo's defaults for what is absent). */
export function addOptions(q: Query): {
  importer: ImporterOptions;
  cidVersion: 0 | 1;
  rawLeaves: boolean;
  chunk: number;
} {
  const cidVersionText = one(q, "cid-version") ?? "0";
  if (cidVersionText !== "0" && cidVersionText !== "1")
    throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "cid-version must be 0 or 1", { value: cidVersionText });
  const cidVersion = Number(cidVersionText) as 0 | 1;
  const rawLeaves = bool(q, "raw-leaves", cidVersion === 1);
  const chunker = one(q, "chunker") ?? `size-${DEFAULT_CHUNK}`;
  const m = /^size-(\d{1,8})$/.exec(chunker);
  if (m === null)
    throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "only the size-N chunker is supported", { value: chunker });
  const hash = one(q, "hash") ?? "sha2-256";
  if (hash !== "sha2-256")
    throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "only sha2-256 is supported", { value: hash });
  for (const unsupported of ["trickle", "inline", "nocopy", "fscache", "preserve-mode", "preserve-mtime"])
    if (bool(q, unsupported, false))
      throw new HmsError("STORAGE_IPFS_UNSUPPORTED", `add option ${unsupported} is not supported`, {
        value: unsupported,
      });
  const chunk = Number(m[1]);
  const maxLinks = uint(q, "max-file-links") ?? MAX_LINKS;
  return {
    importer: {
      ...kuboImporterOptions({ cidVersion, rawLeaves, chunkSize: chunk, maxLinks }),
      wrapWithDirectory: bool(q, "wrap-with-directory", false),
      fileImportConcurrency: 1,
    },
    cidVersion,
    rawLeaves,
    chunk,
  };
}

/** A blockstore that keeps nothing (`only-hash`). */
const hashOnly = { put: async (cid: CID) => cid };

async function* fileContent(
  entry: UnixFSEntry,
  options: { offset?: number; length?: number } = {},
): AsyncGenerator<Uint8Array> {
  if (entry.type !== "file" && entry.type !== "raw" && entry.type !== "identity")
    throw new HmsError("STORAGE_BAD_REQUEST", `${entry.cid} is a ${entry.type}, not a file`, {
      value: entry.cid.toString(),
    });
  yield* entry.content(options) as AsyncIterable<Uint8Array>;
}

export async function registerIpfsRoutes(app: FastifyInstance, deps: IpfsDeps): Promise<void> {
  const blockstore: Blockstore = asBlockstore(deps.store);
  const log = deps.logger;

  /** The exporter entry of an IPFS path, from this worker's blocks. */
  const resolve = async (text: string): Promise<UnixFSEntry> => {
    const { cid, rest } = parseIpfsPath(text);
    try {
      return await exporter([cid.toString(), ...rest].join("/"), blockstore);
    } catch (err) {
      if (err instanceof HmsError) throw err;
      const code = (err as { code?: string; name?: string }).name ?? (err as { code?: string }).code;
      if (code === "NotFoundError" || code === "ERR_NOT_FOUND")
        throw new HmsError("STORAGE_NOT_FOUND", `no such link in ${text}`, { value: text, cause: err });
      throw new HmsError("STORAGE_BAD_REQUEST", `cannot resolve ${text}: ${(err as Error).message}`, {
        value: text,
        cause: err,
      });
    }
  };

  /** Bytes of a file path, local first, else through the network. */
  const readFile = async (
    text: string,
    range: { offset?: number; length?: number },
  ): Promise<AsyncIterable<Uint8Array>> => {
    const { cid, rest } = parseIpfsPath(text);
    const local = await deps.store.has(parseStorableCid(cid));
    if (!local && deps.network && rest.length === 0) {
      const d = await download(deps.network, cid.toString(), {
        offset: range.offset === undefined ? undefined : BigInt(range.offset),
        length: range.length === undefined ? undefined : BigInt(range.length),
      });
      return d;
    }
    const entry = await resolve(text);
    return fileContent(entry, range);
  };

  const sendStream = (reply: FastifyReply, source: AsyncIterable<Uint8Array>, type = "application/octet-stream") =>
    reply
      .header("content-type", type)
      .header("x-stream-output", "1")
      .header("x-chunked-output", "1")
      .send(Readable.from(source, { objectMode: false }));

  await app.register(async (api) => {
    await api.register(fastifyMultipart, {
      limits: { fileSize: Number.MAX_SAFE_INTEGER, files: 100_000, parts: 100_000 },
    });

    api.post("/api/v0/version", async () => ({
      Version: IPFS_API_VERSION,
      Commit: "",
      Repo: "hms-storage",
      System: `${process.arch}/${process.platform}`,
      Golang: "n/a (HMS storage worker, Node.js)",
    }));

    api.post("/api/v0/id", async (req) => {
      const q = req.query as Query;
      const asked = one(q, "arg");
      if (asked !== undefined && asked !== deps.peer.id)
        throw new HmsError("STORAGE_NOT_FOUND", `peer ${asked} is not this worker; no routing here`, { value: asked });
      const port = new URL(deps.url()).port;
      return {
        ID: deps.peer.id,
        PublicKey: deps.peer.publicKey,
        Addresses: [`/ip4/127.0.0.1/tcp/${port}/p2p/${deps.peer.id}`],
        AgentVersion: `hms-storage/${IPFS_API_VERSION}`,
        ProtocolVersion: "ipfs/0.1.0",
        Protocols: [],
      };
    });

    api.post("/api/v0/add", async (req, reply) => {
      const q = req.query as Query;
      const options = addOptions(q);
      const onlyHash = bool(q, "only-hash", false);
      const pin = bool(q, "pin", true);
      if (!req.isMultipart())
        throw new HmsError("STORAGE_BAD_REQUEST", "add expects multipart/form-data", {
          value: req.headers["content-type"],
        });
      if (deps.network && !onlyHash) return addThroughNetwork(req, reply, options);
      const lines: string[] = [];
      const stored: string[] = [];
      const sink = onlyHash
        ? hashOnly
        : {
            put: async (cid: CID, bytes: Uint8Array) => {
              await blockstore.put(cid, bytes);
              stored.push(blockKey(cid));
              return cid;
            },
          };
      async function* candidates(): AsyncGenerator<ImportCandidate> {
        for await (const part of req.parts()) {
          if (part.type !== "file") continue;
          const name = decodeURIComponent(part.filename ?? "");
          if (/[?&](mode|mtime)=/.test(part.fieldname))
            throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "mode and mtime are not supported", {
              value: part.fieldname,
            });
          if (part.mimetype === "application/x-directory") {
            part.file.resume();
            yield { path: name };
          } else yield { path: name, content: part.file };
        }
      }
      for await (const entry of importer(candidates(), sink, options.importer))
        lines.push(
          JSON.stringify({
            Name: entry.path ?? entry.cid.toString(),
            Hash: entry.cid.toString(),
            Size: String(entry.size),
          }),
        );
      if (pin && !onlyHash) for (const key of stored) await deps.records.pin(key, "ipfs add", deps.now());
      return reply
        .header("content-type", "application/json")
        .header("x-chunked-output", "1")
        .send(lines.join("\n") + "\n");
    });

    /** A single-file add stored with 3 copies through the pipeline: spooled first (placement needs the size). */
    const addThroughNetwork = async (
      req: FastifyRequest,
      reply: FastifyReply,
      options: ReturnType<typeof addOptions>,
    ) => {
      if (options.cidVersion !== 1 || !options.rawLeaves)
        throw new HmsError(
          "STORAGE_IPFS_UNSUPPORTED",
          "a networked worker stores CIDv1 raw-leaf DAGs only (cid-version=1)",
          {
            value: `cid-version=${options.cidVersion}&raw-leaves=${options.rawLeaves}`,
          },
        );
      if (options.importer.wrapWithDirectory)
        throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "wrap-with-directory is not supported with a network", {
          value: "wrap-with-directory",
        });
      if (!deps.owner || !deps.networkParams)
        throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "this worker has a network but no owner key for adds", {
          value: "add",
        });
      const lines: string[] = [];
      for await (const part of req.parts()) {
        if (part.type !== "file") continue;
        if (part.mimetype === "application/x-directory")
          throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "directories are not supported with a network", {
            value: part.filename,
          });
        const name = decodeURIComponent(part.filename ?? "");
        const spool = path.join(deps.tmpDir, `${randomBytes(12).toString("hex")}.add`);
        try {
          await streamPipeline(part.file, fs.createWriteStream(spool));
          const stored = await upload(
            deps.network!,
            { file: spool },
            {
              owner: deps.owner,
              network: deps.networkParams,
              path: `/ipfs-add/${name || "file"}`,
              sliceSize: options.chunk,
            },
          );
          const tsize = stored.size + BigInt(stored.dagBlocks.reduce((n, b) => n + b.size, 0));
          lines.push(JSON.stringify({ Name: name || stored.rootCid, Hash: stored.rootCid, Size: String(tsize) }));
          log.info({ cid: stored.rootCid, size: stored.size.toString() }, "ipfs add stored through the network");
        } finally {
          await fs.promises.rm(spool, { force: true });
        }
      }
      return reply.header("content-type", "application/json").send(lines.join("\n") + "\n");
    };

    api.post("/api/v0/cat", async (req, reply) => {
      const q = req.query as Query;
      const source = await readFile(arg(q), { offset: uint(q, "offset"), length: uint(q, "length") });
      return sendStream(reply, source, "text/plain");
    });

    api.post("/api/v0/get", async (req, reply) => {
      const q = req.query as Query;
      if (bool(q, "compress", false) || one(q, "compression-level") !== undefined)
        throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "compressed get is not supported", { value: "compress" });
      const text = arg(q);
      const { cid, rest } = parseIpfsPath(text);
      const base = rest.length > 0 ? rest[rest.length - 1] : cid.toString();
      const local = await deps.store.has(parseStorableCid(cid));
      if (!local && deps.network && rest.length === 0) {
        const d = await download(deps.network, cid.toString());
        const size = Number(d.length);
        return sendStream(
          reply,
          (async function* () {
            yield tarHeader({ name: base, size, type: "file" });
            yield* d;
            yield tarPadding(size);
            yield tarEnd();
          })(),
          "application/x-tar",
        );
      }
      const root = await resolve(text);
      async function* tree(entry: UnixFSEntry, name: string): AsyncGenerator<Uint8Array> {
        if (entry.type === "directory") {
          yield tarHeader({ name, size: 0, type: "directory" });
          for await (const child of entry.entries())
            yield* tree(await exporter(child.cid, blockstore), `${name}/${child.name}`);
        } else {
          const size = Number(entry.size);
          yield tarHeader({ name, size, type: "file" });
          yield* fileContent(entry);
          yield tarPadding(size);
        }
      }
      async function* archive(): AsyncGenerator<Uint8Array> {
        yield* tree(root, base);
        yield tarEnd();
      }
      return sendStream(reply, archive(), "application/x-tar");
    });

    api.post("/api/v0/block/get", async (req, reply) => {
      const cid = parseStorableCid(arg(req.query as Query));
      return reply.header("content-type", "application/octet-stream").send(Buffer.from(await deps.store.get(cid)));
    });

    api.post("/api/v0/block/stat", async (req) => {
      const text = arg(req.query as Query);
      const cid = parseStorableCid(text);
      const size = await deps.store.size(cid);
      if (size === undefined)
        throw new HmsError("STORAGE_NOT_FOUND", `block ${text} is not stored here`, { value: text });
      return { Key: cid.cid.toString(), Size: size };
    });

    api.post("/api/v0/block/put", async (req) => {
      const q = req.query as Query;
      const mhtype = one(q, "mhtype") ?? "sha2-256";
      if (mhtype !== "sha2-256")
        throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "only sha2-256 is supported", { value: mhtype });
      const format = one(q, "format");
      const codecName = format !== undefined && format !== "" ? format : (one(q, "cid-codec") ?? "raw");
      const v0 = codecName === "v0";
      const codec =
        v0 || codecName === "dag-pb" || codecName === "protobuf" ? DAG_PB_CODEC : codecName === "raw" ? RAW_CODEC : -1;
      if (codec < 0)
        throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "only raw and dag-pb blocks are stored", { value: codecName });
      const part = await req.file({ limits: { fileSize: deps.maxBlockBytes } });
      if (part === undefined)
        throw new HmsError("STORAGE_BAD_REQUEST", "block/put expects one file part", { value: "file" });
      const bytes = await part.toBuffer().catch((err: unknown) => {
        throw new HmsError("STORAGE_TOO_LARGE", `block over ${deps.maxBlockBytes} bytes`, {
          value: deps.maxBlockBytes,
          cause: err,
        });
      });
      const digest = sha256(bytes);
      const cid = v0 ? CID.createV0(cidOfDigest(digest, DAG_PB_CODEC).multihash as never) : cidOfDigest(digest, codec);
      await blockstore.put(cid, bytes);
      if (bool(q, "pin", false)) await deps.records.pin(blockKey(cid), "ipfs block put", deps.now());
      return { Key: cid.toString(), Size: bytes.length };
    });

    api.post("/api/v0/block/rm", async (req, reply) => {
      const q = req.query as Query;
      const force = bool(q, "force", false);
      const lines: string[] = [];
      for (const text of args(q)) {
        const cid = parseStorableCid(text);
        const present = await deps.store.has(cid);
        if (present) {
          await deps.store.delete(cid);
          await deps.records.unpin(blockKey(cid.cid));
          lines.push(JSON.stringify({ Hash: text }));
        } else if (!force)
          lines.push(JSON.stringify({ Hash: text, Error: "ipld: could not find node (block not found)" }));
        else lines.push(JSON.stringify({ Hash: text }));
      }
      return reply.header("content-type", "application/json").send(lines.join("\n") + "\n");
    });
  });

  registerGateway(app, { store: deps.store, blockstore, resolve, readFile });
}
