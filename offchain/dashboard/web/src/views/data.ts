import type { Snapshot } from "../../../snapshot";
import { bytes, h, section, short, table, waiting } from "../dom";

/** Data: files, slices and copies per slice, repair in progress, a file's replica map (meta API). */
export function dataView(s: Snapshot, selected: { file?: string }, rerender: () => void): HTMLElement {
  const files = s.meta.files;
  const content: (HTMLElement | null)[] = [];
  if (!s.meta.available) {
    content.push(
      waiting(
        "Waiting on the meta API (issue 13): files come from GET /v1/ls and /v1/locate of a meta node, for the owners " +
          "in the dashboard's configuration. Until then, the storage workers' own figures:",
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
    const maxCopies = (f: (typeof files)[number]) => Math.max(0, ...f.slices.map((x) => x.replicas.length));
    content.push(
      table(
        "Files",
        ["path", "owner", "root CID", "size", "slices", "copies per slice (min–max)", "repair"],
        files.map((f) => {
          const counts = f.slices.map((x) => x.replicas.length);
          const min = Math.min(...counts, maxCopies(f));
          return [
            h("a", { href: "#data", onclick: () => ((selected.file = f.rootCid), rerender()) }, f.path),
            short(f.owner),
            h("code", {}, f.rootCid),
            bytes(f.size),
            f.slices.length,
            `${min}–${maxCopies(f)}`,
            min < 3 ? "in progress (below 3 copies)" : "complete",
          ];
        }),
        { "data-testid": "files" },
      ),
    );
    const f = files.find((x) => x.rootCid === selected.file) ?? files[0];
    if (f) {
      const nodes = [...new Set(f.slices.flatMap((x) => x.replicas.map((r) => `${r.nodeId}|${r.region}`)))];
      content.push(
        table(
          `Replica map of ${f.path}`,
          ["slice", "CID", "size", "copies", ...nodes.map((n) => n.split("|")[1] || n.slice(0, 8))],
          f.slices.map((x, i) => [
            i,
            h("code", {}, x.cid),
            bytes(x.size),
            x.replicas.length,
            ...nodes.map((n) => (x.replicas.some((r) => `${r.nodeId}|${r.region}` === n) ? "●" : "")),
          ]),
        ),
      );
    }
  }
  return h("div", {}, section("Data", ...content));
}
