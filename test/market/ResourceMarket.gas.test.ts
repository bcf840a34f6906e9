/**
 * Gas of the market's main calls (recorded in docs/GAS.md). Run alone with
 *   npx hardhat test test/market/ResourceMarket.gas.test.ts
 * Each figure is one transaction's receipt.gasUsed on the in-process chain (MarketMockRegistry and
 * MarketMockScores behind the market). The bounds below fail the test if a change makes a call
 * markedly more expensive.
 */
import { NO_PRICE_LIMIT } from "../../offchain/chain/market";
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { privateKeyToAccount } from "viem/accounts";
import { signPermit } from "../../offchain/core/signing";
import { Kind, NODE_A, NODE_B, NodeKind, Tier, createOrder, marketFixture, offer, order, postOffer } from "./fixture";
import { skipUnderCoverage } from "../helpers/coverage";

const rows: [string, bigint][] = [];

async function gas(label: string, tx: Promise<ContractTransactionResponse>, max: bigint): Promise<bigint> {
  const receipt = (await (await tx).wait())!;
  rows.push([label, receipt.gasUsed]);
  expect(receipt.gasUsed, label).to.be.at.most(max);
  return receipt.gasUsed;
}

describe("ResourceMarket gas", () => {
  before(function () {
    skipUnderCoverage(this);
  });
  after(() => {
    console.log("\n      call                                              gasUsed");
    for (const [label, used] of rows) console.log(`      ${label.padEnd(48)} ${used.toString().padStart(9)}`);
  });

  it("offers, orders, take, withdraw, close, top-up, terminate", async () => {
    const f = await marketFixture();
    const { market, opA, alice, bob, oracle, token, marketAddress } = f;
    await gas(
      "postOffer (first offer of its kind)",
      market.connect(opA).postOffer(NODE_A, offer({ units: 1000n })),
      220_000n,
    );
    await gas("postOffer (second)", market.connect(opA).postOffer(NODE_A, offer()), 165_000n);
    await gas("updateOffer", market.connect(opA).updateOffer(2, 50, 2n * 10n ** 9n, 60, 86_400), 60_000n);
    await gas("withdrawOffer", market.connect(opA).withdrawOffer(2), 60_000n);
    await gas("createOrder (first order ever)", market.connect(alice).createOrder(order()), 155_000n);
    await gas("createOrder (typical)", market.connect(alice).createOrder(order()), 125_000n);
    await gas("cancelOrder", market.connect(alice).cancelOrder(1), 55_000n);

    // Permit path: bob revokes his allowance and signs an EIP-2612 permit instead.
    await token.connect(bob).approve(marketAddress, 0);
    const o = order();
    const escrow = await market.orderEscrow(o.units, o.maxPricePerUnitSecond, o.duration);
    const bobKey = ethers.HDNodeWallet.fromPhrase(
      "test test test test test test test test test test test junk",
      undefined,
      "m/44'/60'/0'/0/14",
    ).privateKey as `0x${string}`;
    const permit = await signPermit(privateKeyToAccount(bobKey), 31337, (await token.getAddress()) as `0x${string}`, {
      spender: marketAddress as `0x${string}`,
      value: escrow,
      nonce: await token.nonces(bob.address),
      deadline: BigInt(await time.latest()) + 600n,
    });
    await gas("createOrderWithPermit", market.connect(bob).createOrderWithPermit(o, permit), 175_000n);

    const id = await createOrder(f, alice);
    await gas("takeOffer (excess refunded)", market.connect(alice).takeOffer(id, 1, NO_PRICE_LIMIT), 165_000n);
    const exact = await createOrder(f, alice, { maxPricePerUnitSecond: 10n ** 9n });
    await gas(
      "takeOffer (at the max price, no refund)",
      market.connect(alice).takeOffer(exact, 1, NO_PRICE_LIMIT),
      150_000n,
    );
    await time.increase(3600);
    await gas("withdraw (first payment to node and treasury)", market.connect(opA).withdraw(id), 125_000n);
    await time.increase(3600);
    await gas("withdraw (typical)", market.connect(opA).withdraw(id), 90_000n);
    await gas(
      "recordTask (64-byte endpoint)",
      market.connect(opA).recordTask(id, ethers.id("t"), "x".repeat(64)),
      150_000n,
    );
    await gas("topUp", market.connect(alice).topUp(id, 3600), 62_000n);
    await time.increase(600);
    await gas("closeLease by user (refund)", market.connect(alice).closeLease(id), 78_000n);

    const id2 = await createOrder(f, alice);
    await market.connect(alice).takeOffer(id2, 1, NO_PRICE_LIMIT);
    await time.increase(600);
    await gas("closeLease by provider (refund + settlement)", market.connect(opA).closeLease(id2), 123_000n);

    const id3 = await createOrder(f, alice);
    await market.connect(alice).takeOffer(id3, 1, NO_PRICE_LIMIT);
    await time.increase(600);
    await gas("terminateLease (oracle)", market.connect(oracle).terminateLease(id3, 0, ethers.id("r")), 84_000n);

    // A replica re-created elsewhere: the rest of a lease moved to another node's offer (cheaper: a refund too).
    await market.connect(f.opB).postOffer(NODE_B, offer({ pricePerUnitSecond: 10n ** 8n }));
    const id4 = await createOrder(f, alice);
    await market.connect(alice).takeOffer(id4, 1, NO_PRICE_LIMIT);
    await time.increase(600);
    const moveTo = await market.offerCount();
    await gas(
      "moveLease (oracle, cheaper offer)",
      market.connect(oracle).moveLease(id4, moveTo, 0, ethers.id("r")),
      240_000n,
    );

    const batch: bigint[] = [];
    for (let i = 0; i < 10; i++) {
      const leaseId = await createOrder(f, alice, { duration: 600n });
      await market.connect(alice).takeOffer(leaseId, 1, NO_PRICE_LIMIT);
      batch.push(leaseId);
    }
    await time.increase(1200);
    await gas("withdrawBatch (10 ended leases)", market.connect(opA).withdrawBatch(batch), 440_000n);
  });

  for (const k of [8, 32]) {
    it(`matchOrder with K = ${k}, every examined offer eligible`, async () => {
      const f = await marketFixture();
      const { market, registry, scores, alice, opA, payA } = f;
      // 40 storage offers from 5 nodes (8 each), all eligible, all scored.
      for (let n = 0; n < 5; n++) {
        const nodeId = ethers.id(`gas-node-${n}`);
        await registry.setNode(nodeId, opA.address, payA.address, NodeKind.Storage, Tier.Normal, 250);
        await scores.setScore(nodeId, BigInt(n + 1) * 10n ** 18n);
        for (let i = 0; i < 8; i++) await postOffer(f, opA, nodeId, { units: 1000n });
      }
      expect(await market.offerCountOfKind(Kind.Storage)).to.equal(40);
      await market.setMatchK(k);
      const id = await createOrder(f, alice, { units: 1n });
      const tx = market.connect(alice).matchOrder(id, NO_PRICE_LIMIT);
      await expect(tx).to.emit(market, "OrderMatched");
      await gas(`matchOrder K = ${k} (${k} eligible of 40)`, tx, k === 8 ? 320_000n : 750_000n);
    });
  }
});
