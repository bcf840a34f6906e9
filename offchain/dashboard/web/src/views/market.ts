import type { Snapshot } from "../../../snapshot";
import { h, hms, section, short, table, waiting } from "../dom";

/** Market: offers, leases, escrow and the 1 % fee collected. */
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
      waiting("A running workload's usage waits on the compute workers' API (issue 14)."),
    ),
  );
}
