import type { Snapshot } from "../../../snapshot";
import { bytes, h, hms, section, short, table, waiting } from "../dom";

/** How long a workload has run: from its first start to its stop (or now). */
function ran(startedAtMs: number | null, stoppedAtMs: number | null, now = Date.now()): string {
  if (startedAtMs === null) return "–";
  const s = Math.max(0, Math.round(((stoppedAtMs ?? now) - startedAtMs) / 1000));
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/** Market: offers, leases, escrow and the 1 % fee collected; the workloads the compute workers run. */
export function marketView(s: Snapshot): HTMLElement {
  const m = s.market;
  if (!m) return h("div", {}, section("Market", waiting("The chain has not answered yet.")));
  return h(
    "div",
    {},
    section(
      "Market",
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "fee"),
        h("dd", { "data-testid": "fee-bps" }, `${m.feeBps / 100} % (${m.feeBps} bps) to ${m.treasury.slice(0, 10)}…`),
        h("dt", {}, "escrow held by the market"),
        h("dd", { "data-testid": "escrow" }, `${hms(m.escrowHeld)} HMS`),
        h("dt", {}, "settled to providers (gross)"),
        h("dd", {}, `${hms(m.settledTotal)} HMS`),
        h("dt", {}, "fees collected"),
        h("dd", { "data-testid": "fees" }, `${hms(m.feesCollected, 18)} HMS`),
        h("dt", {}, "orders"),
        h("dd", {}, `${m.orders.total} (${m.orders.open} open)`),
      ),
    ),
    section(
      "Offers",
      table(
        "Offers",
        ["offer", "node", "kind", "units", "in use", "price / unit-second (wei)", "region", "tier", "active"],
        m.offers.map((o) => [
          o.offerId,
          short(o.nodeId),
          o.kindName,
          o.units,
          o.unitsInUse,
          o.pricePerUnitSecond,
          o.region,
          o.tier,
          o.active ? "yes" : "no",
        ]),
        { "data-testid": "offers" },
      ),
    ),
    section(
      "Leases",
      table(
        "Leases (balances read from the contract at the latest block)",
        [
          "lease",
          "node",
          "user",
          "units",
          "status",
          "accrued (HMS)",
          "withdrawn (HMS)",
          "withdrawable (HMS)",
          "escrow left (HMS)",
        ],
        m.leases.map((l) => [
          l.leaseId,
          short(l.nodeId),
          short(l.user),
          l.units,
          l.statusName,
          hms(l.accrued),
          hms(l.withdrawn),
          hms(l.withdrawable),
          hms(l.escrow),
        ]),
        { "data-testid": "leases" },
      ),
    ),
    section(
      "Workloads",
      table(
        "Workloads of compute leases, as their workers meter them (GET /v1/workloads of each compute worker)",
        ["lease", "worker", "user", "phase", "runtime", "ran", "CPU (s)", "memory", "restarts", "exit"],
        s.workloads.map((w) => [
          h("span", { "data-lease": w.leaseId }, w.leaseId),
          w.worker,
          short(w.user),
          h(
            "span",
            {
              "data-phase": w.phase,
              class: w.stale ? "stale" : undefined,
              title: w.stale ? "worker not answering" : undefined,
            },
            w.stale ? `${w.phase} (stale)` : w.phase,
          ),
          w.runtime,
          ran(w.startedAtMs, w.stoppedAtMs),
          h("span", { "data-cpu-ms": w.cpuMs }, (Number(w.cpuMs) / 1000).toFixed(1)),
          bytes(w.memoryBytes),
          w.restarts,
          w.exitCode === null ? "–" : w.exitCode,
        ]),
        { "data-testid": "workloads" },
        "no workload on the watched compute workers",
      ),
    ),
  );
}
