/**
 * Receipt admission on the master and heartbeat admission in the node table: what is refused, with which code.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { domainOf, signTypedSync } from "../../offchain/core/signing";
import { demoNodeId, demoNodePrivateKey } from "../../offchain/devnet/accounts";
import { admitReceipts } from "../../offchain/meta/receipts";
import { NodeTable } from "../../offchain/meta/nodes";
import { HeartbeatSender } from "../../offchain/storage/heartbeat";
import { silentLogger } from "../../offchain/core/logger";

const traffic = domainOf("traffic", 31337, "0x00000000000000000000000000000000000000a2");
const network = domainOf("network", 31337, "0x00000000000000000000000000000000000000a1");
const clientKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as Hex;
const client = privateKeyToAddress(clientKey).toLowerCase() as Hex;
const nodeId = demoNodeId(0);
const nodeKey = demoNodePrivateKey(0);
const clock = { genesis: 0n, periodLength: 600n };
const now = 600n * 100n + 5n; // period 100

function receipt(period: bigint, task = "0x" + "11".repeat(32)) {
  return { taskId: task as Hex, nodeId, client: client as `0x${string}`, bytesServed: 1000n, period };
}

describe("meta: receipt and heartbeat admission", () => {
  const ctx = {
    domain: traffic,
    clock,
    now,
    tolerance: 2,
    nodeKey: (id: Hex) => (id === nodeId ? privateKeyToAddress(nodeKey) : undefined),
  };

  it("takes a client receipt signed by its client and a node receipt signed by the node's key", () => {
    const r = receipt(100n);
    const [c] = admitReceipts(
      "client",
      [{ receipt: r, signature: signTypedSync(clientKey, traffic, "TrafficReceipt", r) }],
      ctx,
    );
    const [n] = admitReceipts(
      "node",
      [{ receipt: r, signature: signTypedSync(nodeKey, traffic, "TrafficReceipt", r) }],
      ctx,
    );
    expect(c.ok).to.equal(true);
    expect(n.ok).to.equal(true);
  });

  it("refuses a wrong signer, an unknown node and a closed period, each on its own", () => {
    const r = receipt(100n);
    const byNode = signTypedSync(nodeKey, traffic, "TrafficReceipt", r);
    const old = receipt(97n, "0x" + "22".repeat(32));
    const stranger = { ...r, nodeId: demoNodeId(3) };
    const results = admitReceipts(
      "client",
      [
        { receipt: r, signature: byNode },
        { receipt: old, signature: signTypedSync(clientKey, traffic, "TrafficReceipt", old) },
      ],
      ctx,
    );
    expect(results.map((x) => (x.ok ? "ok" : x.error.code))).to.deep.equal(["META_BAD_RECEIPT", "META_RECEIPT_PERIOD"]);
    const [u] = admitReceipts(
      "node",
      [{ receipt: stranger, signature: signTypedSync(nodeKey, traffic, "TrafficReceipt", stranger) }],
      ctx,
    );
    expect(u.ok ? "ok" : u.error.code).to.equal("META_UNKNOWN_NODE");
  });

  it("takes a worker's signed heartbeat and refuses a replay, another key and an unknown node", () => {
    let t = Date.now();
    const table = new NodeTable([{ nodeId, address: privateKeyToAddress(nodeKey) }], {
      domain: network,
      downAfterMs: 3000,
      now: () => t,
    });
    const sender = new HeartbeatSender({
      nodeId,
      privateKey: nodeKey,
      chainId: 31337,
      nodeRegistry: "0x00000000000000000000000000000000000000a1",
      region: "eu",
      url: () => "http://127.0.0.1:9",
      stats: () => ({ capacity: 100, free: 60, load: 1 }),
      send: async () => undefined,
      intervalMs: 1000,
      logger: silentLogger(),
    });
    const beat = sender.beat();
    expect(table.beat(beat).online).to.equal(true);
    expect(table.live().map((n) => n.url)).to.deep.equal(["http://127.0.0.1:9"]);
    expect(() => table.beat(beat)).to.throw(/seq/);
    const forged = {
      ...sender.beat(),
      signature: signTypedSync(clientKey, network, "Heartbeat", { ...sender.beat(), signature: undefined } as never),
    };
    expect(() => table.beat(forged)).to.throw(/not signed/);
    expect(() => table.beat({ ...sender.beat(), nodeId: demoNodeId(2) })).to.throw(/unregistered/);
    t += 3_500;
    const downed = table.tick();
    expect(downed.map((n) => n.nodeId)).to.deep.equal([nodeId.toLowerCase()]);
    const [m] = table.measurements();
    expect(m.online).to.equal(false);
    expect(m.downs).to.equal(1);
    expect(m.missedDuty).to.equal(1);
  });
});
