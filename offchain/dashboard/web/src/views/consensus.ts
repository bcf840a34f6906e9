import type { Snapshot } from "../../../snapshot";
import { h, hms, section, seconds, short, status, table, waiting } from "../dom";

/** Consensus: the committee of the epoch, leader order, PBFT round latency and view changes (validators' metrics). */
export function consensusView(s: Snapshot): HTMLElement {
  const c = s.committee;
  const byKey = new Map(s.validators.filter((v) => v.address).map((v) => [v.address!.toLowerCase(), v]));
  const primaries = new Set(
    s.validators.filter((v) => v.up && v.role === "primary").map((v) => v.address?.toLowerCase()),
  );
  return h(
    "div",
    {},
    section(
      "Committee",
      c
        ? h(
            "div",
            {},
            h(
              "p",
              { "data-testid": "committee-summary" },
              `Epoch ${c.epoch} (current epoch ${c.currentEpoch}): ${c.members.length} members, quorum ${c.quorum}. ` +
                "Position i leads view i mod n.",
            ),
            table(
              `Committee of epoch ${c.epoch} in leader order`,
              ["leads view", "bookkeeper", "signing key", "election weight (HMS)", "validator", "now"],
              c.members.map((m) => {
                const v = byKey.get(m.signingKey.toLowerCase());
                return [
                  m.position,
                  short(m.bookkeeper),
                  h("span", { "data-signing-key": m.signingKey }, short(m.signingKey)),
                  m.weight === null ? "–" : h("span", { "data-weight": m.weight }, hms(m.weight)),
                  v ? status(v.up) : "not watched",
                  primaries.has(m.signingKey.toLowerCase()) ? "primary" : (v?.role ?? "–"),
                ];
              }),
              { "data-testid": "committee" },
            ),
          )
        : waiting("No committee elected yet."),
    ),
    section(
      "PBFT rounds (validators' /metrics)",
      s.validators.length === 0
        ? waiting("No validator configured: round latency and view changes come from each validator's /metrics.")
        : table(
            "Round latency (proposal submitted → executed) and view changes per validator",
            [
              "validator",
              "health",
              "view",
              "rounds",
              "mean",
              "p50 ≤",
              "p90 ≤",
              "view changes",
              "report latency (mean)",
              "reported self / other",
            ],
            s.validators.map((v) => {
              const m = v.metrics;
              return [
                h("span", { "data-validator": v.url }, short(v.address), " ", v.url),
                status(v.up),
                v.view ?? "–",
                h("span", { "data-rounds": m?.roundCount ?? "" }, m?.roundCount ?? "–"),
                m && m.roundCount > 0 ? seconds(m.roundSumSeconds / m.roundCount) : "–",
                seconds(m?.roundP50),
                seconds(m?.roundP90),
                h("span", { "data-view-changes": m?.viewChanges ?? "" }, m?.viewChanges ?? "–"),
                seconds(m?.reportLatencyMean),
                m ? `${m.periodsReportedSelf} / ${m.periodsReportedOther}` : "–",
              ];
            }),
            { "data-testid": "pbft" },
          ),
    ),
  );
}
