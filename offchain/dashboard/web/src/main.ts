/**
 * The dashboard SPA: one EventSource on /api/events (the server pushes a full snapshot at connect and at every
 * change), five hash-routed views rendered from the latest snapshot. No key, no wallet: read-only.
 */
import "uplot/dist/uPlot.min.css";
import "./style.css";
import type { Snapshot } from "../../snapshot";
import { consensusView } from "./views/consensus";
import { dataView } from "./views/data";
import { marketView } from "./views/market";
import { networkView } from "./views/network";
import { rewardsView, type RewardsState } from "./views/rewards";

const VIEWS = ["network", "data", "rewards", "consensus", "market"] as const;
type View = (typeof VIEWS)[number];

let snapshot: Snapshot | undefined;
const rewards: RewardsState = {};
const data: { file?: string } = {};
const main = document.getElementById("main")!;
const live = document.getElementById("live")!;

function current(): View {
  const v = location.hash.replace(/^#/, "") as View;
  return VIEWS.includes(v) ? v : "network";
}

function render(): void {
  const view = current();
  for (const a of document.querySelectorAll<HTMLAnchorElement>("#tabs a")) {
    if (a.hash === `#${view}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${view[0].toUpperCase()}${view.slice(1)} · HMS Network dashboard`;
  if (snapshot === undefined) return;
  const s = snapshot;
  const el =
    view === "network"
      ? networkView(s)
      : view === "data"
        ? dataView(s, data, render)
        : view === "rewards"
          ? rewardsView(s, rewards, render)
          : view === "consensus"
            ? consensusView(s)
            : marketView(s);
  el.id = `view-${view}`;
  main.setAttribute("data-version", String(s.version));
  main.replaceChildren(el);
}

function connect(): void {
  const es = new EventSource("api/events");
  es.addEventListener("snapshot", (e) => {
    snapshot = JSON.parse((e as MessageEvent<string>).data) as Snapshot;
    const bad = snapshot.sources.filter((x) => !x.ok).map((x) => x.name);
    live.textContent = `live · block ${snapshot.chain?.blockNumber ?? "?"}${bad.length ? ` · unavailable: ${bad.join(", ")}` : ""}`;
    render();
  });
  es.addEventListener("error", () => {
    live.textContent = "reconnecting…";
  });
}

window.addEventListener("hashchange", render);
render();
connect();
