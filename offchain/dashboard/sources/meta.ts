/**
 * The meta layer as the dashboard reads it, through the meta nodes' public API (offchain/meta/server.ts, wire
 * forms in offchain/protocol/meta-wire.ts). Its shapes are mirrored here by small lenient zod schemas (fields
 * the dashboard does not show are ignored, so a meta node that adds some still reads), checked against running
 * meta nodes by test/dashboard/devnet.e2e.test.ts:
 *
 *   GET  <url>/v1/status                      → { ok, address, role: leader|follower|candidate, term, leader?,
 *                                                  commitIndex, appliedIndex, apiUrl }         (every meta node)
 *   POST <leader>/v1/measurements  {}         → { ok, nodes: NodeMeasurement[] }            (the master only)
 *   GET  <url>/v1/ls?owner=&path=             → { ok, entries: [{ name, kind: file|dir, path, size?, rootCid? }] }
 *   GET  <url>/v1/locate?owner=&path=         → { ok, file: FileLocation (wire form) }
 *
 * Meta nodes view: status of each node (role, term), the leader (highest term among those saying `leader`).
 * Network view: the master's measurements (online, uptime, audits passed/failed, region, free space).
 * Data view: files of the configured owners with their slices and replicas (copies per slice). Repair in
 * progress shows as a slice with fewer copies than the others until the master's repair adds them.
 *
 * A failed measurements, `ls` or `locate` read costs that part of the view only (`errors`), never the nodes' rows.
 */
import { z } from "zod";
import type { MetaView } from "../snapshot";
import { fetchUpstream } from "./daemons";
import { HmsError } from "../../core/errors";

const dec = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((v) => String(v));

const statusSchema = z.object({
  ok: z.literal(true),
  address: z.string(),
  role: z.enum(["leader", "follower", "candidate"]),
  term: dec,
  leader: z.string().optional(),
  apiUrl: z.string().optional(),
});

const measurementSchema = z.object({
  nodeId: z.string(),
  online: z.boolean(),
  uptimeSeconds: z.number(),
  trackedSeconds: z.number(),
  auditsPassed: z.number(),
  auditsFailed: z.number(),
  region: z.string(),
  free: dec,
  capacity: dec,
});

const entrySchema = z.object({ name: z.string(), kind: z.enum(["file", "dir"]), path: z.string() });

const endpointSchema = z.object({ nodeId: z.string(), url: z.string(), region: z.string() });
const locationSchema = z.object({
  owner: z.string(),
  path: z.string(),
  rootCid: z.string(),
  size: dec,
  slices: z.array(z.object({ cid: z.string(), size: z.number(), replicas: z.array(endpointSchema) })),
});

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new HmsError("DASHBOARD_UPSTREAM", `bad ${what}: ${r.error.issues[0]?.message ?? "invalid"}`, {
      value: what,
    });
  return r.data;
}

export interface MetaSourceOptions {
  urls: readonly string[];
  owners: readonly string[];
  timeoutMs: number;
  /** Most files listed per owner. */
  maxFiles?: number;
}

/**
 * Marks each copy of `files` up or down by the health of the node holding it: the storage worker polled at that
 * URL, else the meta master's measurement of that node id (null: neither is known). A slice's copies on a
 * dead worker stop counting as soon as the dashboard sees it down, before the master's repair replaces them.
 */
export function markReplicas(
  files: MetaView["files"],
  storage: readonly { url: string; nodeId: string | null; up: boolean }[],
  measurements: MetaView["measurements"],
): MetaView["files"] {
  const byUrl = new Map(storage.map((w) => [w.url.replace(/\/+$/, ""), w.up]));
  const byId = new Map<string, boolean>();
  for (const m of measurements) byId.set(m.nodeId.toLowerCase(), m.online);
  for (const w of storage) if (w.nodeId) byId.set(w.nodeId.toLowerCase(), w.up);
  return files.map((f) => ({
    ...f,
    slices: f.slices.map((x) => ({
      ...x,
      replicas: x.replicas.map((r) => ({
        ...r,
        up: byUrl.get(r.url.replace(/\/+$/, "")) ?? byId.get(r.nodeId.toLowerCase()) ?? null,
      })),
    })),
  }));
}

/** An empty view: no meta node configured (or none answered). */
export function emptyMetaView(): MetaView {
  return { available: false, nodes: [], leader: null, measurements: [], files: [] };
}

export class MetaSource {
  constructor(private readonly options: MetaSourceOptions) {}

  async read(): Promise<MetaView> {
    const { urls, timeoutMs } = this.options;
    if (urls.length === 0) return emptyMetaView();
    const nodes = await Promise.all(
      urls.map(async (url) => {
        try {
          const s = parse(statusSchema, await fetchUpstream(`${url}/v1/status`, timeoutMs), "meta status");
          return { url, up: true, address: s.address, role: s.role, term: s.term };
        } catch {
          return { url, up: false, address: null, role: null, term: null };
        }
      }),
    );
    const leaders = nodes.filter((n) => n.up && n.role === "leader");
    const leaderNode = leaders.sort((a, b) => (BigInt(b.term!) > BigInt(a.term!) ? 1 : -1))[0];
    const view: MetaView = {
      available: nodes.some((n) => n.up),
      nodes,
      leader: leaderNode ? { url: leaderNode.url, term: leaderNode.term! } : null,
      measurements: [],
      files: [],
    };
    if (!view.available) return view;
    const reader = nodes.find((n) => n.up)!.url;
    // The nodes' status stands on its own: a failed measurements or listing read (a master just deposed, a file
    // removed between ls and locate) costs that part of the view, not the meta nodes' rows.
    const errors: string[] = [];
    if (leaderNode)
      view.measurements = await this.measurements(leaderNode.url).catch((err: unknown) => {
        errors.push((err as Error).message);
        return [];
      });
    for (const owner of this.options.owners) view.files.push(...(await this.files(reader, owner, errors)));
    if (errors.length > 0) view.errors = errors.slice(0, 5);
    return view;
  }

  private async measurements(leader: string): Promise<MetaView["measurements"]> {
    let res: Response;
    try {
      res = await fetch(`${leader}/v1/measurements`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw new HmsError("DASHBOARD_UPSTREAM", `${leader}/v1/measurements: ${(err as Error).message}`, {
        value: leader,
      });
    }
    if (!res.ok)
      throw new HmsError("DASHBOARD_UPSTREAM", `${leader}/v1/measurements: HTTP ${res.status}`, { value: leader });
    const body = parse(z.object({ nodes: z.array(measurementSchema) }), await res.json(), "meta measurements");
    return body.nodes;
  }

  /** Files under `/` of `owner`, breadth first, up to `maxFiles`; what cannot be read is skipped into `errors`. */
  private async files(url: string, owner: string, errors: string[]): Promise<MetaView["files"]> {
    const max = this.options.maxFiles ?? 50;
    const out: MetaView["files"] = [];
    const dirs = ["/"];
    const q = (path: string) => new URLSearchParams({ owner, path }).toString();
    while (dirs.length > 0 && out.length < max) {
      const dir = dirs.shift()!;
      let listed: { entries: z.output<typeof entrySchema>[] };
      try {
        listed = parse(
          z.object({ entries: z.array(entrySchema) }),
          await fetchUpstream(`${url}/v1/ls?${q(dir)}`, this.options.timeoutMs),
          "meta ls",
        );
      } catch (err) {
        errors.push((err as Error).message);
        continue;
      }
      for (const e of listed.entries) {
        if (e.kind === "dir") dirs.push(e.path);
        else if (out.length < max) {
          try {
            const loc = parse(
              z.object({ file: locationSchema }),
              await fetchUpstream(`${url}/v1/locate?${q(e.path)}`, this.options.timeoutMs),
              "meta locate",
            ).file;
            out.push({
              ...loc,
              slices: loc.slices.map((x) => ({ ...x, replicas: x.replicas.map((r) => ({ ...r, up: null })) })),
            });
          } catch (err) {
            errors.push((err as Error).message);
          }
        }
      }
    }
    return out;
  }
}
