import uPlot from "uplot";
import type { PeriodView, Snapshot } from "../../../snapshot";
import { bytes, h, hms, hmsNumber, section, short, table } from "../dom";

export interface RewardsState {
  period?: string;
  node?: string;
}

let chart: uPlot | undefined;

/** Rewards: reported periods with signers, traffic, top nodes, payouts, report CID; chart; a node's earnings. */
export function rewardsView(s: Snapshot, state: RewardsState, rerender: () => void): HTMLElement {
  const periods = s.periods;
  const selected = periods.find((p) => p.period === state.period) ?? periods[0];
  const chartBox = h("div", { class: "plot" });
  const out = h(
    "div",
    {},
    section(
      "Reported periods",
      table(
        "Periods reported on chain (newest first)",
        [
          "period",
          "covers",
          "epoch",
          "signers",
          "total traffic",
          "nodes",
          "released (HMS)",
          "claimed (HMS)",
          "report",
          "settled",
        ],
        periods.map((p) => [
          h("a", { href: "#rewards", onclick: () => ((state.period = p.period), rerender()) }, p.period),
          p.fromPeriod === p.period ? p.period : `${p.fromPeriod}–${p.period}`,
          p.epoch,
          `${p.signers.length} / ${p.committeeSize || "?"}`,
          bytes(p.totalTraffic),
          p.nodeCount,
          hms(p.released),
          hms(p.claimedTotal),
          h(
            "a",
            { href: `api/reports/${p.period}`, title: `report document, CID ${p.cid}` },
            h("code", {}, `${p.cid.slice(0, 12)}…`),
          ),
          p.settled ? "yes" : "no",
        ]),
        { "data-testid": "periods" },
      ),
    ),
    section(
      "Traffic and emission per period",
      h(
        "figure",
        { class: "chart" },
        chartBox,
        h(
          "figcaption",
          {},
          "Total traffic (GB, left axis, solid) and released emission (HMS, right axis, dashed) of each reported period.",
        ),
      ),
    ),
    selected ? periodDetail(selected, periods, state, rerender) : null,
    earningsView(s, state, rerender),
  );
  queueMicrotask(() => drawChart(chartBox, periods));
  return out;
}

function periodDetail(p: PeriodView, periods: PeriodView[], state: RewardsState, rerender: () => void): HTMLElement {
  const select = h(
    "select",
    {
      id: "period-select",
      onchange: (e: Event) => ((state.period = (e.target as HTMLSelectElement).value), rerender()),
    },
    ...periods.map((x) => h("option", { value: x.period, selected: x.period === p.period }, `period ${x.period}`)),
  );
  return section(
    `Period ${p.period}`,
    h("label", { for: "period-select" }, "Show period "),
    select,
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "report CID"),
      h("dd", {}, h("a", { href: `api/reports/${p.period}` }, h("code", { "data-testid": "report-cid" }, p.cid))),
      h("dt", {}, "rewards root"),
      h("dd", {}, short(p.rewardsRoot)),
      h("dt", {}, "nodes' emission"),
      h("dd", {}, `${hms(p.nodeEmission)} HMS (bookkeepers ${hms(p.bookkeeperShare)} HMS)`),
      h("dt", {}, "transaction"),
      h("dd", {}, short(p.tx), ` in block ${p.blockNumber}`),
    ),
    table(
      `Signers of period ${p.period} (committee of epoch ${p.epoch}, leader order)`,
      ["position", "signing key", "bookkeeper"],
      p.signers.map((x) => [x.position, short(x.key), short(x.bookkeeper)]),
    ),
    table(
      `Top nodes of period ${p.period} (${p.topNodes[0]?.source === "document" ? "from the report document, verified against its CID" : "from the claims made so far"})`,
      ["rank", "node", "traffic"],
      p.topNodes.map((n, i) => [i + 1, short(n.nodeId), bytes(n.traffic)]),
    ),
    table(
      `Payouts of period ${p.period} (Claimed events)`,
      ["node", "leaf", "traffic", "amount (HMS)", "paid to"],
      p.payouts.map((x) => [
        h("span", { "data-node": x.nodeId }, short(x.nodeId)),
        x.index,
        bytes(x.traffic),
        h("span", { "data-amount": x.amount }, hms(x.amount, 18)),
        short(x.payout),
      ]),
      { "data-testid": `payouts-${p.period}` },
      "no claim yet",
    ),
  );
}

function earningsView(s: Snapshot, state: RewardsState, rerender: () => void): HTMLElement {
  const nodes = s.earnings;
  const chosen = nodes.find((n) => n.nodeId === state.node) ?? nodes[0];
  return section(
    "A node's earnings",
    nodes.length === 0
      ? h("p", {}, "No node has claimed yet.")
      : h(
          "div",
          {},
          h("label", { for: "node-select" }, "Node "),
          h(
            "select",
            {
              id: "node-select",
              onchange: (e: Event) => ((state.node = (e.target as HTMLSelectElement).value), rerender()),
            },
            ...nodes.map((n) =>
              h(
                "option",
                { value: n.nodeId, selected: n.nodeId === chosen?.nodeId },
                `${n.nodeId.slice(0, 10)}… (${hms(n.total, 3)} HMS)`,
              ),
            ),
          ),
          chosen
            ? table(
                `Earnings of node ${chosen.nodeId.slice(0, 10)}…: ${hms(chosen.total)} HMS in total`,
                ["period", "traffic", "paid (HMS)"],
                chosen.periods.map((x) => [x.period, bytes(x.traffic), hms(x.amount)]),
                { "data-testid": "earnings" },
              )
            : null,
        ),
  );
}

function drawChart(box: HTMLElement, periods: PeriodView[]): void {
  chart?.destroy();
  chart = undefined;
  if (!box.isConnected) return;
  const asc = [...periods].reverse();
  const data: uPlot.AlignedData = [
    asc.map((p) => Number(p.period)),
    asc.map((p) => Number(BigInt(p.totalTraffic) / 1_000_000n) / 1000),
    asc.map((p) => hmsNumber(p.released)),
  ];
  chart = new uPlot(
    {
      width: Math.max(320, Math.min(900, box.clientWidth || 800)),
      height: 260,
      title: "Traffic and emission per reported period",
      hooks: {
        setScale: [
          (u, key) => {
            if (key === "x") box.setAttribute("data-x-range", `${u.scales.x.min ?? ""},${u.scales.x.max ?? ""}`);
          },
        ],
      },
      // One reported period alone would get uPlot's default 0–100 axis: a period either side instead.
      scales: {
        x: {
          time: false,
          // (uPlot hands a lone point's scale to `range` already widened to 0–100: decide on the data instead.)
          range: (_u, min, max) =>
            asc.length === 1 ? [Number(asc[0].period) - 1, Number(asc[0].period) + 1] : [min, max],
        },
        gb: {},
        hms: {},
      },
      axes: [
        { label: "period", stroke: "#1b1f24" },
        { scale: "gb", label: "traffic (GB)", stroke: "#0b5cad" },
        { scale: "hms", side: 1, label: "emission (HMS)", stroke: "#8a3b00", grid: { show: false } },
      ],
      series: [
        { label: "period" },
        { label: "traffic (GB)", scale: "gb", stroke: "#0b5cad", width: 2, points: { show: true } },
        { label: "emission (HMS)", scale: "hms", stroke: "#8a3b00", width: 2, dash: [6, 4], points: { show: true } },
      ],
    },
    data,
    box,
  );
}
