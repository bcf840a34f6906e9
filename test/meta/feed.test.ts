/**
 * The majority-read feed (issue 13 item 7) over real HTTP: three feeds served like meta nodes', the "master"
 * one dropping a receipt. Reading the master alone misses it; the majority union holds it and refuses the
 * master's feed as an omission; fewer than a majority answering is META_NO_QUORUM.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { HttpTrafficFeed } from "../../offchain/client/feed";
import { MajorityTrafficFeed, checkNoOmission, omitted } from "../../offchain/client/meta-feed";
import type { PeriodReceipts, TrafficFeed } from "../../offchain/protocol/receipts";
import { GeneratedTraffic } from "../../offchain/testing/traffic/generator";
import { serveTrafficFeed, type ServedFeed } from "../../offchain/testing/traffic/http";
import { demoNodeId, demoNodePrivateKey } from "../../offchain/devnet/accounts";
import { isHmsError } from "../../offchain/core/errors";

const pool = "0x00000000000000000000000000000000000000a2" as const;

class Dropping implements TrafficFeed {
  constructor(
    private readonly inner: TrafficFeed,
    private readonly drop: Hex,
  ) {}
  async receipts(from: bigint, to: bigint): Promise<PeriodReceipts[]> {
    const keep = (r: { receipt: { taskId: Hex } }) => r.receipt.taskId !== this.drop;
    return (await this.inner.receipts(from, to)).map((p) => ({
      ...p,
      client: p.client.filter(keep),
      node: p.node.filter(keep),
    }));
  }
}

describe("meta: majority-read traffic feed", function () {
  this.timeout(60_000);
  const served: ServedFeed[] = [];
  const gen = new GeneratedTraffic({
    chainId: 31337,
    pool,
    seed: "feed-test",
    nodes: [0, 1].map((i) => ({ nodeId: demoNodeId(i), privateKey: demoNodePrivateKey(i) })),
    clients: 2,
    tasksPerPeriod: { min: 5, max: 5 },
    bytes: { min: 10n, max: 100n },
    noise: 0,
    startPeriod: 0n,
  });
  const dropped = gen.period(3n).client[0].receipt.taskId;

  before(async () => {
    served.push(await serveTrafficFeed(new Dropping(gen, dropped), { chainId: 31337, pool })); // the master
    served.push(await serveTrafficFeed(gen, { chainId: 31337, pool }));
    served.push(await serveTrafficFeed(gen, { chainId: 31337, pool }));
  });
  after(async () => {
    for (const s of served) await s.close();
  });

  it("holds a receipt the master leaves out, and refuses the master's feed as an omission", async () => {
    const master = new HttpTrafficFeed(served[0].url);
    const majority = new MajorityTrafficFeed(
      served.map((s) => s.url),
      { chainId: 31337, pool },
    );
    const fromMaster = await master.receipts(3n, 3n);
    const union = await majority.receipts(3n, 3n);
    expect(fromMaster[0].client.map((r) => r.receipt.taskId)).to.not.include(dropped);
    expect(union[0].client.map((r) => r.receipt.taskId)).to.include(dropped);
    expect(union[0].client).to.have.length(5);
    const missing = omitted(union, fromMaster);
    expect(missing.map((m) => m.receipt.receipt.taskId)).to.deep.equal([dropped, dropped]);
    expect(() => checkNoOmission(union, fromMaster))
      .to.throw()
      .that.satisfies((e: unknown) => isHmsError(e, "META_FEED_OMISSION"));
    expect(() => checkNoOmission(union, union)).to.not.throw();
    await master.close();
    await majority.close();
  });

  it("needs a majority of meta nodes to answer", async () => {
    const feed = new MajorityTrafficFeed([served[0].url, "http://127.0.0.1:1", "http://127.0.0.1:2"], {
      timeoutMs: 2_000,
    });
    let err: unknown;
    try {
      await feed.receipts(3n, 3n);
    } catch (e) {
      err = e;
    }
    expect(isHmsError(err, "META_NO_QUORUM")).to.equal(true);
    await feed.close();
  });
});

void privateKeyToAddress;
