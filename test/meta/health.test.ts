/**
 * The master's answer to a client's bad-copy report (HealthService.checkReported, offchain/meta/health.ts): it
 * audits that one copy at once against real HTTP workers — one serving the right bytes, one serving other bytes,
 * one gone — and drops only a copy that fails (a client's word alone never drops a copy); a copy on a node that
 * does not answer is left to the down-node rules; reports of a node that holds no copy, or reports on a follower,
 * change nothing; concurrent reports of one copy make one check.
 */
import { expect } from "chai";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { silentLogger } from "../../offchain/core/logger";
import { Metrics } from "../../offchain/core/metrics";
import { Store } from "../../offchain/core/store";
import { HealthService } from "../../offchain/meta/health";
import { MetaIndex, type IndexCommand } from "../../offchain/meta/index";
import { NodeTable } from "../../offchain/meta/nodes";
import { DEFAULT_PLACEMENT_WEIGHTS } from "../../offchain/meta/placement";
import { domainOf } from "../../offchain/core/signing";
import { sliceCid } from "../../offchain/protocol/slicing";

const id = (i: number) => `0x${i.toString(16).padStart(64, "0")}` as Hex;

describe("meta/health: bad-copy reports", function () {
  let dir: string;
  let store: Store;
  let index: MetaIndex;
  const servers: http.Server[] = [];
  const hits = new Map<string, number>();
  const good = Buffer.from("the slice as stored");
  const cid = sliceCid(good).toString();

  /** A worker answering GET /v1/slices/<cid> with `body` (undefined: 404). */
  async function worker(name: string, body: Buffer | undefined): Promise<string> {
    const s = http.createServer((req, res) => {
      hits.set(name, (hits.get(name) ?? 0) + 1);
      if (body === undefined) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: false, error: { code: "STORAGE_NOT_FOUND" } }));
        return;
      }
      // Held briefly, so that concurrent reports overlap.
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(body);
      }, 50);
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    servers.push(s);
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  let health: HealthService;
  let proposed: IndexCommand[];
  let leading: boolean;

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-health-"));
    store = await Store.open(path.join(dir, "db"));
    index = await MetaIndex.open(store, { bloomSeed: 1 });
    hits.clear();
    const urls = [
      await worker("good", good),
      await worker("rotten", Buffer.from("other bytes, same size")),
      await worker("gone", undefined),
    ];
    const owner = "0x00000000000000000000000000000000000000aa" as Hex;
    await index.apply({
      term: 1n,
      index: 1n,
      command: {
        kind: "put",
        owner,
        path: "/f",
        rootCid: cid,
        size: BigInt(good.length),
        sliceSize: 1024,
        uploadId: id(99),
        slices: [
          { cid, size: good.length, replicas: urls.map((url, i) => ({ nodeId: id(i + 1), url, region: `r${i}` })) },
        ],
        dagBlocks: [],
        leases: [],
        nonce: 1n,
        time: 1n,
      } as IndexCommand,
    });
    proposed = [];
    leading = true;
    const nodes = new NodeTable(
      [1, 2, 3, 4, 5].map((i) => ({ nodeId: id(i), address: `0x${i.toString(16).padStart(40, "0")}` as Hex })),
      { domain: domainOf("network", 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"), downAfterMs: 3_000 },
    );
    health = new HealthService(
      {
        index,
        nodes,
        propose: async (c) => {
          proposed.push(c);
        },
        leading: () => leading,
        term: () => 1n,
        candidates: () => [],
        weights: DEFAULT_PLACEMENT_WEIGHTS,
        logger: silentLogger(),
        metrics: new Metrics(),
      },
      { copies: 3, repairIntervalMs: 1_000, auditIntervalMs: 0, auditSample: 1, orderTimeoutMs: 2_000 },
    );
  });
  afterEach(async function () {
    await health.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(() => r(undefined)));
    }
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a copy that serves the right bytes is kept, whoever reports it", async function () {
    expect(await health.checkReported(cid, id(1))).to.equal(true);
    expect(proposed).to.deep.equal([]);
  });

  it("a copy with other bytes, or none, is dropped from the index for repair", async function () {
    expect(await health.checkReported(cid, id(2))).to.equal(false);
    expect(await health.checkReported(cid, id(3))).to.equal(false);
    const removals = proposed.filter((c) => c.kind === "replicas").map((c) => (c as { remove: Hex[] }).remove);
    expect(removals.slice(0, 2)).to.deep.equal([[id(2)], [id(3)]]);
  });

  it("keeps a reported copy on a node that does not answer (the down-node rules handle it)", async function () {
    const rec = (await index.slice(cid))!;
    const down = { nodeId: id(4), url: "http://127.0.0.1:1", region: "r9" };
    await index.apply({
      term: 1n,
      index: 2n,
      command: { kind: "replicas", cid, add: [down], remove: [] } as IndexCommand,
    });
    expect((await index.slice(cid))!.replicas).to.have.length(rec.replicas.length + 1);
    expect(await health.checkReported(cid, id(4))).to.equal(false);
    expect(proposed).to.deep.equal([]);
  });

  it("ignores a node that holds no copy and reports on a follower; one check for concurrent reports", async function () {
    expect(await health.checkReported(cid, id(5))).to.equal(undefined);
    expect(await health.checkReported(sliceCid(Buffer.from("unknown")).toString(), id(2))).to.equal(undefined);
    const many = await Promise.all([1, 2, 3].map(() => health.checkReported(cid, id(2))));
    expect(many).to.deep.equal([false, false, false]);
    expect(hits.get("rotten")).to.equal(1);
    leading = false;
    proposed.length = 0;
    expect(await health.checkReported(cid, id(2))).to.equal(undefined);
    expect(proposed).to.deep.equal([]);
  });
});
