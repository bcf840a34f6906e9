/**
 * The pure scheduler (offchain/meta/scheduler.ts), by property: a placement never over-commits a node, never
 * picks a dead, excluded, wrong-region, affinity-less or anti-affine node, and is refused exactly when no node is
 * eligible; the random factor spreads equal nodes; migration leaves dead nodes and failing placements, backs off,
 * and gives up on a crash loop instead of retrying for ever.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  ineligibility,
  migrationDecision,
  place,
  seededRng,
  type PlacementRequest,
  type SchedulerNode,
} from "../../offchain/meta/scheduler";

const NOW = 1_000_000;
const REGIONS = ["eu", "us", "ap"];
const labelArb = fc.dictionary(fc.constantFrom("app", "tier"), fc.constantFrom("web", "db", "cache"), { maxKeys: 2 });
const nodeArb = (i: number): fc.Arbitrary<SchedulerNode> =>
  fc.record({
    nodeId: fc.constant(`n${i}`),
    region: fc.constantFrom(...REGIONS),
    capacity: fc.record({
      cpuMillis: fc.integer({ min: 0, max: 8000 }),
      memoryMiB: fc.integer({ min: 0, max: 16384 }),
      diskMiB: fc.integer({ min: 0, max: 100_000 }),
    }),
    used: fc.record({
      cpuMillis: fc.integer({ min: 0, max: 4000 }),
      memoryMiB: fc.integer({ min: 0, max: 8192 }),
      diskMiB: fc.integer({ min: 0, max: 50_000 }),
    }),
    workloadLabels: fc.array(labelArb, { maxLength: 3 }),
    lastHeartbeatMs: fc.integer({ min: NOW - 60_000, max: NOW }),
    preference: fc.double({ min: 0, max: 1, noNaN: true }),
  });
const nodesArb = fc
  .integer({ min: 0, max: 8 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i))));
const reqArb: fc.Arbitrary<PlacementRequest> = fc.record({
  limits: fc.record({
    cpuMillis: fc.integer({ min: 10, max: 4000 }),
    memoryMiB: fc.integer({ min: 4, max: 8192 }),
    diskMiB: fc.integer({ min: 0, max: 20_000 }),
  }),
  region: fc.option(fc.constantFrom(...REGIONS), { nil: undefined }),
  affinity: labelArb,
  antiAffinity: labelArb,
  exclude: fc.array(fc.constantFrom("n0", "n1", "n2"), { maxLength: 2 }),
});
const opts = (seed: number, randomFactor = 0.3) => ({
  nowMs: NOW,
  heartbeatTimeoutMs: 30_000,
  randomFactor,
  rng: seededRng(seed),
});

describe("compute scheduler (property)", function () {
  it("places only on an eligible node, and refuses exactly when none is", function () {
    fc.assert(
      fc.property(nodesArb, reqArb, fc.integer(), (nodes, req, seed) => {
        const eligible = nodes.filter((n) => ineligibility(n, req, opts(seed)) === undefined);
        let placed;
        try {
          placed = place(req, nodes, opts(seed));
        } catch (err) {
          expect(err).to.have.property("code", "COMPUTE_NO_PLACEMENT");
          return eligible.length === 0;
        }
        const node = nodes.find((n) => n.nodeId === placed.nodeId)!;
        expect(node.used.cpuMillis + req.limits.cpuMillis).to.be.at.most(node.capacity.cpuMillis);
        expect(node.used.memoryMiB + req.limits.memoryMiB).to.be.at.most(node.capacity.memoryMiB);
        expect(node.used.diskMiB + req.limits.diskMiB).to.be.at.most(node.capacity.diskMiB);
        expect(NOW - node.lastHeartbeatMs).to.be.at.most(30_000);
        if (req.region) expect(node.region).to.equal(req.region);
        expect(req.exclude).to.not.include(node.nodeId);
        for (const [k, v] of Object.entries(req.antiAffinity ?? {}))
          expect(node.workloadLabels.some((l) => l[k] === v)).to.be.false;
        for (const [k, v] of Object.entries(req.affinity ?? {}))
          expect(node.workloadLabels.some((l) => l[k] === v)).to.be.true;
        return placed.eligible === eligible.length;
      }),
      { numRuns: 2000 },
    );
  });

  it("names each node's reason when nothing fits", function () {
    const base = {
      capacity: { cpuMillis: 1000, memoryMiB: 1024, diskMiB: 1024 },
      used: { cpuMillis: 0, memoryMiB: 0, diskMiB: 0 },
      workloadLabels: [{ app: "db" }],
      lastHeartbeatMs: NOW,
    };
    const nodes: SchedulerNode[] = [
      { ...base, nodeId: "dead", region: "eu", lastHeartbeatMs: NOW - 60_000 },
      { ...base, nodeId: "far", region: "us" },
      { ...base, nodeId: "full", region: "eu", used: { cpuMillis: 900, memoryMiB: 0, diskMiB: 0 } },
      { ...base, nodeId: "db", region: "eu" },
    ];
    const err = (() => {
      try {
        place(
          { limits: { cpuMillis: 500, memoryMiB: 64, diskMiB: 0 }, region: "eu", antiAffinity: { app: "db" } },
          nodes,
          opts(1),
        );
      } catch (e) {
        return e as { code: string; details: { reasons: Record<string, string> } };
      }
    })();
    expect(err?.code).to.equal("COMPUTE_NO_PLACEMENT");
    expect(err?.details.reasons).to.deep.equal({ dead: "dead", far: "region", full: "cpu", db: "anti-affinity" });
  });

  it("spreads equal nodes by the random factor, and picks the best fit without it", function () {
    const mk = (id: string, used: number): SchedulerNode => ({
      nodeId: id,
      region: "eu",
      capacity: { cpuMillis: 4000, memoryMiB: 4096, diskMiB: 4096 },
      used: { cpuMillis: used, memoryMiB: used, diskMiB: used },
      workloadLabels: [],
      lastHeartbeatMs: NOW,
    });
    const nodes = [mk("a", 0), mk("b", 0), mk("c", 0), mk("d", 0)];
    const req = { limits: { cpuMillis: 100, memoryMiB: 100, diskMiB: 0 } };
    const rng = seededRng(7);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const id = place(req, nodes, { ...opts(0), rng }).nodeId;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    for (const id of ["a", "b", "c", "d"]) expect(counts[id] ?? 0, JSON.stringify(counts)).to.be.greaterThan(50);
    const uneven = [mk("busy", 3000), mk("idle", 0)];
    for (let i = 0; i < 50; i++) expect(place(req, uneven, opts(i, 0)).nodeId).to.equal("idle");
  });

  it("migrates off dead nodes and failing placements with backoff, and gives up on a crash loop", function () {
    const policy = { maxMigrations: 3, windowMs: 600_000, backoffMs: 1000, maxBackoffMs: 8000 };
    fc.assert(
      fc.property(
        nodesArb,
        reqArb,
        fc.integer(),
        fc.boolean(),
        fc.array(fc.integer({ min: NOW - 700_000, max: NOW }), { maxLength: 6 }),
        (nodes, req, seed, failing, migrations) => {
          if (nodes.length === 0) return true;
          const w = { request: { ...req, exclude: [] }, nodeId: nodes[0].nodeId, failing, migrations, failedOn: [] };
          const d = migrationDecision(w, nodes, policy, opts(seed));
          const hostDead = NOW - nodes[0].lastHeartbeatMs > 30_000;
          const recent = migrations.filter((t) => NOW - t < policy.windowMs);
          if (!hostDead && !failing) return d.action === "keep";
          if (recent.length >= policy.maxMigrations) return d.action === "give-up" && d.reason === "crash-loop";
          if (d.action === "give-up") return d.reason === "no-node";
          if (d.action !== "migrate") return false;
          const to = nodes.find((n) => n.nodeId === d.to)!;
          expect(d.to).to.not.equal(w.nodeId);
          expect(NOW - to.lastHeartbeatMs).to.be.at.most(30_000);
          if (recent.length > 0) {
            const backoff = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (recent.length - 1));
            expect(d.notBeforeMs).to.equal(Math.max(NOW, Math.max(...recent) + backoff));
          } else expect(d.notBeforeMs).to.equal(NOW);
          return d.reason === (hostDead ? "node-dead" : "workload-failing");
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("a repeatedly failing workload is cut off after maxMigrations moves (simulated)", function () {
    const policy = { maxMigrations: 3, windowMs: 600_000, backoffMs: 1000, maxBackoffMs: 8000 };
    const nodes: SchedulerNode[] = ["a", "b", "c", "d", "e"].map((id) => ({
      nodeId: id,
      region: "eu",
      capacity: { cpuMillis: 1000, memoryMiB: 1000, diskMiB: 1000 },
      used: { cpuMillis: 0, memoryMiB: 0, diskMiB: 0 },
      workloadLabels: [],
      lastHeartbeatMs: NOW,
    }));
    let w = {
      request: { limits: { cpuMillis: 100, memoryMiB: 100, diskMiB: 0 } },
      nodeId: "a",
      failing: true,
      migrations: [] as number[],
      failedOn: [] as string[],
    };
    const moves: string[] = [];
    for (let i = 0; i < 10; i++) {
      const d = migrationDecision(w, nodes, policy, opts(i));
      if (d.action !== "migrate") {
        expect(d).to.deep.equal({ action: "give-up", reason: "crash-loop", migrations: 3 });
        break;
      }
      moves.push(d.to);
      w = { ...w, nodeId: d.to, migrations: [...w.migrations, d.notBeforeMs], failedOn: [...w.failedOn, w.nodeId] };
    }
    expect(moves).to.have.length(3);
    expect(new Set(["a", ...moves]).size, "never back to a node it failed on").to.equal(4);
  });
});
