import type { Snapshot } from "../../../snapshot";
import { ago, bytes, h, section, short, status, table, waiting } from "../dom";

/** Network: chain, meta nodes (role, term), storage / compute workers by region with health, validators, registry. */
export function networkView(s: Snapshot): HTMLElement {
  const c = s.chain;
  const byNode = new Map(s.meta.measurements.map((m) => [m.nodeId.toLowerCase(), m]));
  const storage = [...s.storage].sort((a, b) => (a.region ?? "").localeCompare(b.region ?? ""));
  return h(
    "div",
    {},
    section(
      "Chain",
      c
        ? h(
            "dl",
            { class: "facts" },
            h("dt", {}, "network"),
            h("dd", {}, `${c.network} (chain ${c.chainId})`),
            h("dt", {}, "block"),
            h("dd", { "data-testid": "block" }, c.blockNumber),
            h("dt", {}, "block time"),
            h("dd", {}, new Date(Number(c.blockTime) * 1000).toISOString()),
            h("dt", {}, "current period"),
            h("dd", {}, `${c.currentPeriod} (${c.periodLength} s each)`),
            h("dt", {}, "next period to report"),
            h("dd", {}, c.nextPeriod),
          )
        : waiting("The chain has not answered yet."),
    ),
    section(
      "Meta nodes",
      s.meta.nodes.length === 0
        ? waiting("No meta node configured: this view reads GET /v1/status of each meta node (meta API, issue 13).")
        : table(
            "Meta nodes: role and term",
            ["node", "health", "role", "term", "address"],
            s.meta.nodes.map((m) => [
              h("span", { "data-meta": m.url }, m.url),
              status(m.up),
              h("span", { "data-role": m.role ?? "" }, m.role ?? "–"),
              h("span", { "data-term": m.term ?? "" }, m.term ?? "–"),
              short(m.address),
            ]),
            { "data-testid": "meta-nodes" },
          ),
      s.meta.leader
        ? h(
            "p",
            { "data-testid": "meta-leader", "data-url": s.meta.leader.url, "data-term": s.meta.leader.term },
            `Master: ${s.meta.leader.url}, term ${s.meta.leader.term}`,
          )
        : null,
    ),
    section(
      "Storage workers",
      table(
        "Storage workers by region (health from /health every poll; uptime and audits from the meta master)",
        ["worker", "region", "health", "last seen", "free", "capacity", "disk free", "slices", "uptime", "audits ✓/✗"],
        storage.map((w) => {
          const m = w.nodeId ? byNode.get(w.nodeId.toLowerCase()) : undefined;
          return [
            h("span", { "data-testid": `storage-${w.url}` }, w.url, " ", short(w.nodeId)),
            w.region ?? "–",
            status(w.up),
            w.up ? "now" : ago(w.lastSeen),
            bytes(w.free),
            bytes(w.capacity),
            bytes(w.diskFree),
            w.slices ?? "–",
            m ? `${((100 * m.uptimeSeconds) / Math.max(1, m.trackedSeconds)).toFixed(1)} %` : "–",
            m ? `${m.auditsPassed} / ${m.auditsFailed}` : "–",
          ];
        }),
        { "data-testid": "storage-workers" },
        "no storage worker configured",
      ),
    ),
    section(
      "Compute workers",
      table(
        "Compute workers",
        ["worker", "health", "last seen"],
        s.compute.map((w) => [w.url, status(w.up), w.up ? "now" : ago(w.lastSeen)]),
        {},
        "no compute worker configured",
      ),
    ),
    section(
      "Validators",
      table(
        "Validator daemons",
        ["validator", "health", "role", "epoch", "view", "last reported"],
        s.validators.map((v) => [
          h("span", { "data-testid": `validator-${v.url}` }, v.url, " ", short(v.address)),
          status(v.up),
          v.role ?? "–",
          v.epoch ?? "–",
          v.view ?? "–",
          v.lastReported ?? "–",
        ]),
        {},
        "no validator configured",
      ),
    ),
    section(
      "Registered nodes",
      table(
        "Nodes of the NodeRegistry",
        ["node id", "kind", "tier", "region", "capacity", "active", "endpoint", "payout"],
        s.nodes.map((n) => [
          short(n.nodeId),
          n.kindName,
          n.tier,
          n.region,
          n.capacity,
          n.active ? "yes" : "no",
          n.endpoint,
          short(n.payout),
        ]),
      ),
    ),
  );
}
