/** Tiny DOM and formatting helpers of the dashboard SPA (no framework: the views are tables and one chart). */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | null | ((e: Event) => void)>;

/** `h("td", { class: "x" }, "text", child)`: an element with attributes (on* = listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
  return el;
}

/** A table with a caption, column headers and rows; `empty` is shown in one cell when there are no rows. */
export function table(
  caption: string,
  headers: string[],
  rows: Child[][],
  attrs: Attrs = {},
  empty = "none yet",
): HTMLTableElement {
  return h(
    "table",
    attrs,
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col" }, x)))),
    h(
      "tbody",
      {},
      ...(rows.length === 0
        ? [h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, empty))]
        : rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
    ),
  );
}

/** A section with a heading. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { "aria-label": title }, h("h2", {}, title), ...children);
}

/** A note that a view is waiting on an API not available yet. */
export function waiting(text: string): HTMLElement {
  return h("p", { class: "waiting" }, text);
}

/** Up / down badge: text and colour (never colour alone). */
export function status(up: boolean, upText = "up", downText = "down"): HTMLElement {
  return h(
    "span",
    { class: up ? "badge up" : "badge down", "data-status": up ? "up" : "down" },
    up ? upText : downText,
  );
}

export { bytes, hms, hmsNumber } from "./format";

/** `0x1234…abcd`, with the full value in a title. */
export function short(hex: string | null | undefined): HTMLElement | string {
  if (!hex) return "–";
  return h("code", { title: hex }, hex.length > 14 ? `${hex.slice(0, 6)}…${hex.slice(-4)}` : hex);
}

/** Seconds as `1.234 s` / `12 ms`. */
export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return "–";
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(3)} s`;
}

export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}
