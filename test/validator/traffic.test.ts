import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { keccak256, toHex, type Address } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { recoverTyped } from "../../offchain/core/signing";
import { isHmsError } from "../../offchain/core/errors";
import { matchReceipts } from "../../offchain/protocol/ledger";
import { periodFromWire, periodToWire } from "../../offchain/protocol/receipts";
import { HttpTrafficFeed } from "../../offchain/client/feed";
import { GeneratedTraffic, clientPrivateKey, type GeneratorOptions } from "../../offchain/testing/traffic/generator";
import { serveTrafficFeed } from "../../offchain/testing/traffic/http";
import { loadTrafficSourceConfig, startTrafficSource } from "../../offchain/testing/traffic/service";

const POOL = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;
const nodes = [0, 1, 2].map((i) => ({
  nodeId: keccak256(toHex(`traffic-test/node/${i}`)),
  privateKey: keccak256(toHex(`traffic-test/key/${i}`)),
}));
const options = (over: Partial<GeneratorOptions> = {}): GeneratorOptions => ({
  chainId: 31337,
  pool: POOL,
  seed: "t",
  nodes,
  clients: 3,
  tasksPerPeriod: { min: 5, max: 9 },
  bytes: { min: 10n, max: 1_000n },
  noise: 0.3,
  startPeriod: 10n,
  ...over,
});

describe("testing/traffic: the deterministic stand-in traffic source", function () {
  it("generates the same signed receipts for the same seed, and others for another", async function () {
    const a = new GeneratedTraffic(options());
    const b = new GeneratedTraffic(options());
    expect(periodToWire(a.period(12n))).to.deep.equal(periodToWire(b.period(12n)));
    const c = new GeneratedTraffic(options({ seed: "u" }));
    expect(periodToWire(c.period(12n))).to.not.deep.equal(periodToWire(a.period(12n)));
    expect(a.period(9n)).to.deep.equal({ period: 9n, client: [], node: [] }); // before startPeriod
    expect((await a.receipts(0n, 11n)).map((p) => p.period)).to.deep.equal([10n, 11n]);
  });

  it("signs the client side with the client's key and the node side with the node's registered key", async function () {
    const g = new GeneratedTraffic(options());
    const p = g.period(20n);
    for (const r of p.client) {
      expect(await recoverTyped(g.domain, "TrafficReceipt", r.receipt, r.signature)).to.equal(
        privateKeyToAddress(
          clientPrivateKey(
            "t",
            [0, 1, 2].find((i) => g.clientAddress(i) === r.receipt.client)!,
          ),
        ),
      );
      expect(r.receipt.period).to.equal(20n);
    }
    for (const r of p.node) {
      const node = nodes.find((n) => n.nodeId === r.receipt.nodeId)!;
      expect(await recoverTyped(g.domain, "TrafficReceipt", r.receipt, r.signature)).to.equal(
        privateKeyToAddress(node.privateKey),
      );
    }
  });

  it("injects defects at the configured rate: none at 0, all flagged at 1", function () {
    const clean = new GeneratedTraffic(options({ noise: 0 })).period(30n);
    const m0 = matchReceipts(
      30n,
      clean.client.map((r) => r.receipt),
      clean.node.map((r) => r.receipt),
    );
    expect(m0.flagged).to.deep.equal([]);
    expect(m0.matched.length).to.equal(clean.node.length);
    const dirty = new GeneratedTraffic(options({ noise: 1 })).period(30n);
    const m1 = matchReceipts(
      30n,
      dirty.client.map((r) => r.receipt),
      dirty.node.map((r) => r.receipt),
    );
    expect(m1.matched).to.deep.equal([]);
    expect(new Set(m1.flagged.map((f) => f.reason))).to.deep.equal(new Set(["unpaired", "mismatch"]));
  });

  it("rejects an unusable configuration with a typed error", function () {
    for (const bad of [
      { nodes: [] },
      { clients: 0 },
      { tasksPerPeriod: { min: 3, max: 2 } },
      { noise: 2 },
      { bytes: { min: 0n, max: 1n } },
    ]) {
      let err: unknown;
      try {
        new GeneratedTraffic(options(bad as Partial<GeneratorOptions>));
      } catch (e) {
        err = e;
      }
      expect(
        isHmsError(err, "TRAFFIC_CONFIG"),
        JSON.stringify(bad, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
      ).to.equal(true);
    }
  });

  it("serves the feed over HTTP; the client checks the chain and pool it expects", async function () {
    const g = new GeneratedTraffic(options());
    const served = await serveTrafficFeed(g, { chainId: 31337, pool: POOL });
    try {
      const feed = new HttpTrafficFeed(served.url, { chainId: 31337, pool: POOL });
      const got = await feed.receipts(10n, 13n);
      expect(got.map(periodToWire)).to.deep.equal((await g.receipts(10n, 13n)).map(periodToWire));
      expect(got.map((p) => periodToWire(periodFromWire(periodToWire(p))))).to.deep.equal(got.map(periodToWire));
      await feed.close();
      const wrong = new HttpTrafficFeed(served.url, { chainId: 1 });
      let err: unknown;
      try {
        await wrong.receipts(10n, 10n);
      } catch (e) {
        err = e;
      }
      expect(isHmsError(err, "TRAFFIC_DOMAIN")).to.equal(true);
      await wrong.close();
      const res = await fetch(`${served.url}/v1/receipts?from=5&to=2`);
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("TRAFFIC_RANGE");
      expect((await fetch(`${served.url}/v1/receipts?from=x&to=2`)).status).to.equal(400);
      expect(((await (await fetch(`${served.url}/health`)).json()) as { role: string }).role).to.equal(
        "traffic-source",
      );
    } finally {
      await served.close();
    }
    let unreachable: unknown;
    try {
      await new HttpTrafficFeed(served.url).receipts(1n, 1n);
    } catch (e) {
      unreachable = e;
    }
    expect(isHmsError(unreachable, "TRANSPORT_UNREACHABLE")).to.equal(true);
  });

  it("is configured by file and HMS_TRAFFIC_* variables", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-traffic-"));
    try {
      const file = path.join(dir, "traffic.yaml");
      fs.writeFileSync(
        file,
        `chainId: 31337\npool: "${POOL}"\nseed: from-file\nnodes:\n${nodes
          .map((n) => `  - { nodeId: "${n.nodeId}", privateKey: "${n.privateKey}" }`)
          .join("\n")}\n`,
      );
      const config = loadTrafficSourceConfig(file, { HMS_TRAFFIC_SEED: "from-env", HMS_TRAFFIC_NOISE: "0" });
      expect(config.seed).to.equal("from-env");
      expect(config.noise).to.equal(0);
      expect(config.listen).to.deep.equal({ host: "127.0.0.1", port: 0 });
      const served = await startTrafficSource(config);
      try {
        const feed = new HttpTrafficFeed(served.url);
        expect((await feed.receipts(0n, 0n))[0].period).to.equal(0n);
        await feed.close();
      } finally {
        await served.close();
      }
      expect(() => loadTrafficSourceConfig(file, { HMS_TRAFFIC_NOISE: "3" })).to.throw(/noise/);
      fs.writeFileSync(
        file,
        `seed: x\nnodes: [{ nodeId: "${nodes[0].nodeId}", privateKey: "${nodes[0].privateKey}" }]\n`,
      );
      expect(() => loadTrafficSourceConfig(file, {})).to.throw(/deployment file, or chainId and pool/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
