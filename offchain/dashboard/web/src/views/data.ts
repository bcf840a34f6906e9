import type { Snapshot } from "../../../snapshot";
import { bytes, h, section, short, table, waiting } from "../dom";

/** Copies the meta layer keeps of every slice (PROTOCOL: 3 copies in distinct places). */
const COPIES = 3;

type File = Snapshot["meta"]["files"][number];
type Replica = File["slices"][number]["replicas"][number];

/** A copy counts while its holder is not known to be down (a node the dashboard does not watch counts). */
const live = (r: Replica) => r.up !== false;

/**
 * Data: files, slices and copies per slice (copies on live nodes: a dead worker's copies stop counting as soon as
 * it is seen down, before the master's repair replaces them), repair state, a file's replica map (meta API).
 */
export function dataView(s: Snapshot, selected: { file?: string }, rerender: () => void): HTMLElement {
  const files = s.meta.files;
  const content: (HTMLElement | null)[] = [];
  if (!s.meta.available) {
    content.push(
      waiting(
        "No meta node answers: files come from GET /v1/ls and /v1/locate of a meta node, for the owners in the " +
          "dashboard's configuration. Meanwhile, the storage workers' own figures:",
      ),
      table(
        "Slices held by each storage worker (from /health)",
        ["worker", "region", "slices", "bytes stored"],
        s.storage.map((w) => [w.url, w.region ?? "–", w.slices ?? "–", bytes(w.bytes)]),
        {},
        "no storage worker configured",
      ),
    );
  } else {
    const liveCounts = (f: File) => f.slices.map((x) => x.replicas.filter(live).length);
    content.push(
      table(
        "Files",
        ["path", "owner", "root CID", "size", "slices", "live copies per slice (min–max)", "repair"],
        files.map((f) => {
          const counts = liveCounts(f);
          const min = counts.length === 0 ? 0 : Math.min(...counts);
          const max = counts.length === 0 ? 0 : Math.max(...counts);
          return [
            h(
              "a",
              { href: "#data", "data-file": f.path, onclick: () => ((selected.file = f.rootCid), rerender()) },
              f.path,
            ),
            short(f.owner),
            h("code", {}, f.rootCid),
            bytes(f.size),
            f.slices.length,
            h("span", { "data-copies": min }, `${min}–${max}`),
            h(
              "span",
              { "data-repair": min < COPIES ? "in-progress" : "complete" },
              min < COPIES ? `in progress (below ${COPIES} live copies)` : "complete",
            ),
          ];
        }),
        { "data-testid": "files" },
        s.meta.errors?.length ? `none read (${s.meta.errors[0]})` : "no file of the configured owners",
      ),
    );
    const f = files.find((x) => x.rootCid === selected.file) ?? files[0];
    if (f) {
      // One column per node that holds a copy: its region and short id (two nodes may share a region).
      const nodes = new Map<string, Replica>();
      for (const r of f.slices.flatMap((x) => x.replicas)) nodes.set(r.nodeId.toLowerCase(), r);
      const columns = [...nodes.values()].sort(
        (a, b) => a.region.localeCompare(b.region) || a.nodeId.localeCompare(b.nodeId),
      );
      content.push(
        table(
          `Replica map of ${f.path} (● copy on a live node, ✗ copy on a node seen down)`,
          [
            "slice",
            "CID",
            "size",
            "live copies",
            ...columns.map((n) => `${n.region || "?"} ${n.nodeId.slice(0, 6)}…${n.up === false ? " (down)" : ""}`),
          ],
          f.slices.map((x, i) => [
            i,
            h("code", {}, x.cid),
            bytes(x.size),
            h("span", { "data-live-copies": x.replicas.filter(live).length }, x.replicas.filter(live).length),
            ...columns.map((n) => {
              const r = x.replicas.find((y) => y.nodeId.toLowerCase() === n.nodeId.toLowerCase());
              return r === undefined ? "" : live(r) ? "●" : h("span", { title: "copy on a node seen down" }, "✗");
            }),
          ]),
          { "data-testid": "replica-map", "data-file": f.path },
        ),
      );
    }
  }
  return h("div", {}, section("Data", ...content));
}
