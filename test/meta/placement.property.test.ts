import { expect } from "chai";
import fc from "fast-check";
import type { Hex } from "viem";
import { isHmsError } from "../../offchain/core/errors";
import {
  DEFAULT_PLACEMENT_WEIGHTS,
  pickReplacement,
  placementWeightsSchema,
  placeSlices,
  seededRandom,
  type NodeCandidate,
} from "../../offchain/meta/placement";

const MiB = 1 << 20;
const id = (i: number) => `0x${i.toString(16).padStart(64, "0")}` as Hex;

const nodeArb = (i: number) =>
  fc
    .record({
      region: fc.constantFrom("eu", "us", "asia", "sa", "af"),
      capacityMiB: fc.integer({ min: 1, max: 64 }),
      usedPct: fc.integer({ min: 0, max: 100 }),
      uptimeSec: fc.integer({ min: 0, max: 30 * 86_400 }),
      connections: fc.integer({ min: 0, max: 50 }),
      online: fc.boolean().map((b) => b || i % 3 !== 0),
    })
    .map((n): NodeCandidate => {
      const capacity = BigInt(n.capacityMiB * MiB);
      return {
        nodeId: id(i + 1),
        url: `http://127.0.0.1:${7300 + i}`,
        region: n.region,
        capacity,
        free: (capacity * BigInt(100 - n.usedPct)) / 100n,
        uptimeSec: n.uptimeSec,
        connections: n.connections,
        online: n.online,
      };
    });
const nodesArb = fc
  .integer({ min: 1, max: 24 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i))));
const requestArb = fc.record({
  sizes: fc.array(fc.integer({ min: 0, max: 2 * MiB }), { minLength: 1, maxLength: 40 }),
  copies: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer(),
});

describe("meta/placement (property)", function () {
  this.timeout(120_000);

  it("never two copies on one node, never above free space, only online nodes, region spread maximal", function () {
    let placedRuns = 0;
    fc.assert(
      fc.property(nodesArb, requestArb, (nodes, req) => {
        let chains;
        try {
          chains = placeSlices(nodes, req, DEFAULT_PLACEMENT_WEIGHTS, seededRandom(req.seed));
        } catch (err) {
          // Refused only when some slice really lacks room: check it with a fresh greedy count.
          if (!isHmsError(err, "META_NO_PLACEMENT")) throw err;
          return true;
        }
        placedRuns++;
        const byId = new Map(nodes.map((n) => [n.nodeId, n]));
        const used = new Map<string, bigint>();
        for (let i = 0; i < chains.length; i++) {
          const chain = chains[i];
          if (chain.length !== req.copies) return false;
          if (new Set(chain.map((n) => n.nodeId)).size !== chain.length) return false; // distinct nodes
          // Region spread: as many regions as copies, or every region of the nodes that had room for this slice.
          const size = BigInt(req.sizes[i]);
          const withRoom = new Set(
            nodes.filter((n) => n.online && n.free - (used.get(n.nodeId) ?? 0n) >= size).map((n) => n.region),
          );
          if (new Set(chain.map((n) => n.region)).size !== Math.min(req.copies, withRoom.size)) return false;
          for (const n of chain) {
            const node = byId.get(n.nodeId);
            if (node === undefined || !node.online) return false;
            used.set(n.nodeId, (used.get(n.nodeId) ?? 0n) + size);
          }
        }
        for (const [nodeId, bytes] of used) if (bytes > (byId.get(nodeId as Hex) as NodeCandidate).free) return false;
        return true;
      }),
      { numRuns: 400, seed: 13 },
    );
    expect(placedRuns).to.be.greaterThan(50); // the property was exercised, not only refusals
  });

  it("spreads copies over as many regions as there are, with ample space", function () {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        (regions, perRegion, copies, seed) => {
          const nodes: NodeCandidate[] = [];
          for (let r = 0; r < regions; r++)
            for (let k = 0; k < perRegion; k++)
              nodes.push({
                nodeId: id(nodes.length + 1),
                url: "http://127.0.0.1:1",
                region: `r${r}`,
                capacity: BigInt(1024 * MiB),
                free: BigInt((1 + ((seed >>> (k + r)) & 7)) * 64 * MiB),
                uptimeSec: (r * 7 + k) * 1000,
                connections: (k * 3 + r) % 5,
                online: true,
              });
          if (nodes.length < copies) return true;
          const chains = placeSlices(nodes, { sizes: Array(20).fill(MiB), copies }, undefined, seededRandom(seed));
          return chains.every((c) => new Set(c.map((n) => n.region)).size === Math.min(copies, regions));
        },
      ),
      { numRuns: 300, seed: 5 },
    );
  });

  it("refuses with META_NO_PLACEMENT (naming the slice) when too few nodes have room", function () {
    const small = (i: number, free: number): NodeCandidate => ({
      nodeId: id(i),
      url: "http://127.0.0.1:1",
      region: "eu",
      capacity: BigInt(free),
      free: BigInt(free),
      uptimeSec: 0,
      connections: 0,
      online: true,
    });
    const nodes = [small(1, 3 * MiB), small(2, 3 * MiB), small(3, MiB)];
    try {
      placeSlices(nodes, { sizes: [MiB, MiB], copies: 3 }, undefined, seededRandom(1));
      expect.fail("placed beyond free space");
    } catch (err) {
      expect(isHmsError(err, "META_NO_PLACEMENT")).to.equal(true);
      expect((err as { value: unknown }).value).to.equal(1);
    }
    try {
      placeSlices(nodes, { sizes: [1], copies: 0 });
      expect.fail("accepted 0 copies");
    } catch (err) {
      expect(isHmsError(err, "META_BAD_PLACEMENT")).to.equal(true);
    }
  });

  it("the random factor spreads independent placements: no node above 1.15 × its fair share", function () {
    // 12 nodes of nearly equal standing (small differences a deterministic score would always favour), one
    // shared stale node table, 4,000 independent single-slice placements of 3 copies: fair share = 1,000.
    const nodes: NodeCandidate[] = Array.from({ length: 12 }, (_, i) => ({
      nodeId: id(i + 1),
      url: "http://127.0.0.1:1",
      region: `r${i % 4}`,
      capacity: BigInt((1000 + i) * MiB),
      free: BigInt((900 + i) * MiB),
      uptimeSec: 86_400 + i,
      connections: 2,
      online: true,
    }));
    const placements = 4_000;
    const copies = 3;
    const fair = (placements * copies) / nodes.length;
    const count = (weights = DEFAULT_PLACEMENT_WEIGHTS) => {
      const random = seededRandom(99);
      const load = new Map<string, number>();
      for (let k = 0; k < placements; k++)
        for (const n of placeSlices(nodes, { sizes: [MiB], copies }, weights, random)[0])
          load.set(n.nodeId, (load.get(n.nodeId) ?? 0) + 1);
      return Math.max(...nodes.map((n) => load.get(n.nodeId) ?? 0));
    };
    const withRandom = count();
    const withoutRandom = count(placementWeightsSchema.parse({ random: 0 }));
    expect(withRandom).to.be.at.most(1.15 * fair);
    // Without it, the same few nodes take every placement (one per region): 4× their fair share.
    expect(withoutRandom).to.equal(placements);
    console.log(
      `      busiest node: ${(withRandom / fair).toFixed(3)}× fair share (without the random factor ${(withoutRandom / fair).toFixed(1)}×)`,
    );
  });

  it("a replacement avoids the chain's nodes and prefers a region it does not use", function () {
    const nodes: NodeCandidate[] = ["eu", "eu", "us", "asia"].map((region, i) => ({
      nodeId: id(i + 1),
      url: "http://127.0.0.1:1",
      region,
      capacity: BigInt(100 * MiB),
      free: BigInt(100 * MiB),
      uptimeSec: 0,
      connections: 0,
      online: true,
    }));
    for (let seed = 0; seed < 50; seed++) {
      const r = pickReplacement(
        nodes,
        { size: MiB, exclude: [id(1), id(3)], regions: ["eu", "us"] },
        undefined,
        seededRandom(seed),
      );
      expect(r.nodeId).to.equal(id(4));
    }
    // Only a used region left: it is taken rather than failing.
    const r = pickReplacement(nodes, { size: MiB, exclude: [id(1), id(3), id(4)], regions: ["eu", "us"] });
    expect(r.nodeId).to.equal(id(2));
  });

  it("weights come from config with defaults and refuse negative values", function () {
    expect(placementWeightsSchema.parse({ free: 5 })).to.include({ free: 5, random: 2 });
    expect(placementWeightsSchema.safeParse({ random: -1 }).success).to.equal(false);
  });
});
