/**
 * Receipts of real transfers (offchain/protocol/transfer.ts): both sides of every upload and download task sign
 * the same EIP-712 TrafficReceipt independently — the client hands its side to its ReceiptSink, each worker
 * keeps its side in its outbox and serves it in the traffic feed's format — and the validators' ledger
 * (protocol/ledger.ts `matchReceipts`) pairs every one of them, with no task flagged.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { HttpTrafficFeed } from "../../offchain/client/feed";
import { download, privateKeySigner, upload } from "../../offchain/client/storage";
import { domainOf, recoverTypedSync } from "../../offchain/core/signing";
import { matchReceipts } from "../../offchain/protocol/ledger";
import type { SignedReceipt } from "../../offchain/protocol/receipts";
import {
  acceptsPeriod,
  downloadTaskId,
  periodAt,
  uploadTaskId,
  type ReceiptSide,
  type ReceiptSink,
} from "../../offchain/protocol/transfer";
import { StorageCluster, TEST_DOMAINS } from "../../offchain/testing/storage-cluster";
import { FixtureStorageNetwork } from "../../offchain/testing/storage-network";
import { collect, tempDir } from "./helpers";

class Collector implements ReceiptSink {
  readonly client: SignedReceipt[] = [];
  async submit(r: SignedReceipt, side: ReceiptSide): Promise<void> {
    expect(side).to.equal("client");
    this.client.push(r);
  }
}

const h = (b: number) => `0x${b.toString(16).padStart(2, "0").repeat(32)}` as Hex;

describe("storage: traffic receipts of real transfers", function () {
  this.timeout(240_000);

  it("derives task ids from the transfer alone and periods from MiningPool's clock", function () {
    const a = uploadTaskId(h(1), h(2), h(3));
    expect(uploadTaskId(h(1), h(2), h(3))).to.equal(a);
    expect(uploadTaskId(h(1), h(2), h(4))).to.not.equal(a);
    expect(uploadTaskId(h(1).toUpperCase().replace("0X", "0x") as Hex, h(2), h(3))).to.equal(a);
    const client = privateKeyToAddress(generatePrivateKey());
    expect(downloadTaskId(client, h(3), h(2), h(9))).to.not.equal(downloadTaskId(client, h(3), h(2), h(8)));
    expect(() => uploadTaskId("0x12" as Hex, h(2), h(3)))
      .to.throw()
      .with.property("code", "STORAGE_BAD_REQUEST");
    const clock = { genesis: 1_000n, periodLength: 600n };
    expect(periodAt(clock, 999n)).to.equal(0n); // MiningPool.currentPeriod() before genesis
    expect(periodAt(clock, 1_599n)).to.equal(0n);
    expect(periodAt(clock, 1_600n)).to.equal(1n);
    expect(acceptsPeriod(clock, 1_600n, 0n)).to.equal(true);
    expect(acceptsPeriod(clock, 1_600n, 2n)).to.equal(true);
    expect(acceptsPeriod(clock, 2_200n, 0n)).to.equal(false);
    expect(acceptsPeriod(clock, 1_600n, 3n)).to.equal(false);
  });

  it("every upload and download task has both sides signed, and the ledger pairs them all", async function () {
    const cluster = await StorageCluster.start({ dir: tempDir("receipts"), count: 3, logLevel: "warn" });
    try {
      const net = new FixtureStorageNetwork(cluster.endpoints(), { ...cluster.params, keys: cluster.keys() });
      const owner = privateKeySigner(generatePrivateKey());
      const reader = privateKeySigner(generatePrivateKey());
      const sink = new Collector();
      const data = randomBytes(5 * 128 * 1024 + 77);
      const stored = await upload(net, data, {
        owner,
        network: cluster.params,
        path: "/receipted.bin",
        sliceSize: 128 * 1024,
        receipts: sink,
      });
      const blocks = stored.slices.length + stored.dagBlocks.length;
      expect(stored.receipts).to.equal(3 * blocks);
      const d = await download(net, stored.rootCid, { client: reader, network: cluster.params, receipts: sink });
      expect((await collect(d)).equals(data)).to.equal(true);
      expect(sink.client).to.have.length(3 * blocks + stored.slices.length);

      const traffic = domainOf("traffic", TEST_DOMAINS.chainId, TEST_DOMAINS.miningPool);
      for (const r of sink.client) {
        const signer = recoverTypedSync(traffic, "TrafficReceipt", r.receipt, r.signature);
        expect(signer).to.equal(r.receipt.client.toLowerCase());
      }
      // The test may straddle a period boundary: match period by period, as the validators do.
      const periods = [...new Set(sink.client.map((r) => r.receipt.period))].sort();
      const node: SignedReceipt[] = [];
      for (const w of cluster.workers) {
        const feed = new HttpTrafficFeed(w.url, { chainId: TEST_DOMAINS.chainId, pool: TEST_DOMAINS.miningPool });
        for (const p of await feed.receipts(periods[0], periods[periods.length - 1]))
          for (const r of p.node) {
            expect(r.receipt.nodeId).to.equal(w.nodeId.toLowerCase());
            expect(recoverTypedSync(traffic, "TrafficReceipt", r.receipt, r.signature)).to.equal(
              w.address.toLowerCase(),
            );
            node.push(r);
          }
      }
      const matched = periods.flatMap((period) => {
        const result = matchReceipts(
          period,
          sink.client.filter((r) => r.receipt.period === period).map((r) => r.receipt),
          node.filter((r) => r.receipt.period === period).map((r) => r.receipt),
        );
        expect(result.flagged).to.deep.equal([]);
        return result.matched;
      });
      expect(matched).to.have.length(3 * blocks + stored.slices.length);
      const uploaded = matched.filter((m) => m.client === owner.address.toLowerCase());
      expect(uploaded.reduce((n, m) => n + m.bytes, 0n)).to.equal(
        3n * (BigInt(data.length) + BigInt(stored.dagBlocks.reduce((n, b) => n + b.size, 0))),
      );
      const read = matched.filter((m) => m.client === reader.address.toLowerCase());
      expect(read.reduce((n, m) => n + m.bytes, 0n)).to.equal(BigInt(data.length));
    } finally {
      await cluster.stopAll();
    }
  });
});
