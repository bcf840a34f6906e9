/**
 * A trustless gateway (IPFS specs: trustless-gateway) on every worker: `GET /ipfs/<cid>[/path]`.
 *
 *   ?format=raw  or  Accept: application/vnd.ipld.raw   the block itself (a client verifies it by hashing)
 *   ?format=car  or  Accept: application/vnd.ipld.car   a CARv1 of the DAG under the CID, depth-first, no
 *                                                       duplicates (`dag-scope=all`; `dag-scope=block` = the root
 *                                                       block only), written with @ipld/car
 *   no format                                           the file's bytes (UnixFS deserialised; files only)
 *
 * Not supported (400 `STORAGE_IPFS_UNSUPPORTED`): `dag-scope=entity`, `entity-bytes`, other formats (dag-json,
 * tar, ipns-record), directory listings. Blocks are this worker's; the gateway does not fetch from peers.
 */
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CID } from "multiformats/cid";
import type { Blockstore } from "interface-blockstore";
import type { UnixFSEntry } from "ipfs-unixfs-exporter";
import { HmsError } from "../../core/errors";
import { importEsm } from "../../core/esm";
import { DAG_PB_CODEC, parseStorableCid } from "../../protocol/slicing";
import type { SliceStore } from "../blockstore";

type CarModule = typeof import("@ipld/car");
type DagPbModule = typeof import("@ipld/dag-pb");

export const RAW_TYPE = "application/vnd.ipld.raw";
export const CAR_TYPE = "application/vnd.ipld.car";

export interface GatewayDeps {
  store: SliceStore;
  blockstore: Blockstore;
  resolve: (path: string) => Promise<UnixFSEntry>;
  readFile: (path: string, range: { offset?: number; length?: number }) => Promise<AsyncIterable<Uint8Array>>;
}

/** The response format asked for by `?format=` or the Accept header. */
export function requestedFormat(query: Record<string, unknown>, accept: string | undefined): "raw" | "car" | "file" {
  const format = typeof query.format === "string" ? query.format : undefined;
  if (format === "raw") return "raw";
  if (format === "car") return "car";
  if (format !== undefined && format !== "")
    throw new HmsError("STORAGE_IPFS_UNSUPPORTED", `format ${format} is not supported (raw, car)`, { value: format });
  const types = (accept ?? "").split(",").map((t) => t.split(";")[0].trim());
  if (types.includes(RAW_TYPE)) return "raw";
  if (types.includes(CAR_TYPE)) return "car";
  return "file";
}

/** Blocks of the DAG under `root`, depth-first, each once. */
async function* walk(
  root: CID,
  store: SliceStore,
  dagPb: DagPbModule,
): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  const seen = new Set<string>();
  const stack: CID[] = [root];
  while (stack.length > 0) {
    const cid = stack.pop()!;
    const key = Buffer.from(cid.multihash.bytes).toString("hex");
    if (seen.has(key)) continue;
    seen.add(key);
    const bytes = await store.get(parseStorableCid(cid));
    yield { cid, bytes };
    if (cid.code === DAG_PB_CODEC) {
      const node = dagPb.decode(bytes);
      for (let i = node.Links.length - 1; i >= 0; i--) stack.push(node.Links[i].Hash as unknown as CID);
    }
  }
}

export function registerGateway(app: FastifyInstance, deps: GatewayDeps): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const params = req.params as { cid: string; "*"?: string };
    const query = req.query as Record<string, unknown>;
    const format = requestedFormat(query, req.headers.accept);
    const rest = (params["*"] ?? "").split("/").filter((p) => p !== "");
    const text = [params.cid, ...rest].join("/");
    let target = parseStorableCid(params.cid);
    if (rest.length > 0) target = parseStorableCid((await deps.resolve(text)).cid);
    reply.header("x-ipfs-path", `/ipfs/${text}`).header("x-content-type-options", "nosniff");
    if (format === "raw") {
      const bytes = await deps.store.get(target);
      return reply
        .header("content-type", RAW_TYPE)
        .header("etag", `"${target.cid}.raw"`)
        .header("cache-control", "public, max-age=29030400, immutable")
        .send(Buffer.from(bytes));
    }
    if (format === "car") {
      const scope = typeof query["dag-scope"] === "string" ? query["dag-scope"] : "all";
      if (scope !== "all" && scope !== "block")
        throw new HmsError("STORAGE_IPFS_UNSUPPORTED", `dag-scope=${scope} is not supported (all, block)`, {
          value: scope,
        });
      if (query["entity-bytes"] !== undefined)
        throw new HmsError("STORAGE_IPFS_UNSUPPORTED", "entity-bytes is not supported", {
          value: query["entity-bytes"],
        });
      await deps.store.get(target); // 404 before any byte of the CAR is sent
      const [{ CarWriter }, dagPb] = await Promise.all([
        importEsm<CarModule>("@ipld/car"),
        importEsm<DagPbModule>("@ipld/dag-pb"),
      ]);
      const { writer, out } = CarWriter.create([target.cid as never]);
      void (async () => {
        try {
          if (scope === "block") await writer.put({ cid: target.cid as never, bytes: await deps.store.get(target) });
          else for await (const block of walk(target.cid, deps.store, dagPb)) await writer.put(block as never);
        } catch (err) {
          req.log.warn({ err }, "CAR stream failed");
          reply.raw.destroy(err as Error);
        } finally {
          await writer.close().catch(() => undefined);
        }
      })();
      return reply
        .header("content-type", `${CAR_TYPE}; version=1; order=dfs; dups=n`)
        .header("etag", `"${target.cid}.car"`)
        .send(Readable.from(out));
    }
    const source = await deps.readFile(text, {});
    return reply.header("content-type", "application/octet-stream").send(Readable.from(source, { objectMode: false }));
  };
  app.get("/ipfs/:cid", handler);
  app.get("/ipfs/:cid/*", handler);
}
