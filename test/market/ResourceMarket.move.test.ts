/**
 * `moveLease`: the oracle (the meta layer's master through the quorum relayer) moves what remains of a lease to
 * another provider — a storage replica re-created on a new node, a workload migrated off a dead one. The old
 * provider keeps what accrued, the new one is paid from now to the old end at its own (never higher) price, the
 * user gets the difference back, and escrow is conserved to the wei.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { NO_PRICE_LIMIT } from "../../offchain/chain/market";
import {
  CloseReason,
  DAY,
  Kind,
  LeaseStatus,
  NODE_A,
  NODE_B,
  NODE_C,
  OrderStatus,
  PRICE,
  createOrder,
  eventArg,
  marketFixture,
  postOffer,
  type MarketFixture,
} from "./fixture";

async function leased(f: MarketFixture) {
  const offerId = await postOffer(f, f.opA, NODE_A, { pricePerUnitSecond: PRICE });
  const orderId = await createOrder(f, f.alice, { units: 10n, duration: DAY });
  await f.market.connect(f.alice).takeOffer(orderId, offerId, NO_PRICE_LIMIT);
  const [lease] = await f.market.getLease(orderId);
  return { offerId, leaseId: orderId, lease };
}

describe("ResourceMarket: moveLease (re-created replicas, migrated workloads)", () => {
  it("pays the old provider until the move, the new one until the old end at its lower price, refunds the rest", async () => {
    const f = await marketFixture();
    const { market, token, alice, oracle, opA, opB, payA, payB } = f;
    const { leaseId, lease } = await leased(f);
    const cheaper = await postOffer(f, opB, NODE_B, { pricePerUnitSecond: (PRICE * 3n) / 4n });
    const marketAddress = await market.getAddress();
    const before = await token.balanceOf(marketAddress);
    const movedAt = lease.start + 1000n;
    await time.setNextBlockTimestamp(movedAt);
    const report = ethers.id("repair of slice bafk… from node A");
    const newLeaseId = (await market.orderCount()) + 1n;
    const tx = market.connect(oracle).moveLease(leaseId, cheaper, 0, report);
    const remaining = lease.end - movedAt;
    const oldRate = lease.ratePerSecond;
    const newRate = ((PRICE * 3n) / 4n) * 10n;
    const refund = (oldRate - newRate) * remaining;
    await expect(tx).to.emit(market, "LeaseMoved").withArgs(leaseId, newLeaseId, cheaper, report);
    await expect(tx)
      .to.emit(market, "LeaseClosed")
      .withArgs(leaseId, NODE_A, alice.address, oracle.address, CloseReason.Oracle, movedAt, oldRate * remaining);
    await expect(tx)
      .to.emit(market, "LeaseStarted")
      .withArgs(
        newLeaseId,
        NODE_B,
        alice.address,
        cheaper,
        10n,
        (PRICE * 3n) / 4n,
        movedAt,
        lease.end,
        newRate * remaining,
        refund,
      );
    await expect(tx).to.changeTokenBalance(token, alice, refund);
    // Conservation: what left the market is exactly the refund; the rest is the two leases' escrow.
    expect(before - (await token.balanceOf(marketAddress))).to.equal(refund);
    const [oldLease, , oldAccrued, oldWithdrawable, oldEscrow] = await market.getLease(leaseId);
    expect(oldLease.status).to.equal(LeaseStatus.Closed);
    expect(oldAccrued).to.equal(oldRate * 1000n);
    expect(oldEscrow).to.equal(oldRate * 1000n);
    const [moved, movedNode] = await market.getLease(newLeaseId);
    expect(movedNode).to.equal(NODE_B);
    expect(moved.user).to.equal(alice.address);
    expect(moved.start).to.equal(movedAt);
    expect(moved.end).to.equal(lease.end);
    expect(moved.units).to.equal(10n);
    const [record] = await market.getOrder(newLeaseId);
    expect(record.status).to.equal(OrderStatus.Filled);
    expect(record.duration).to.equal(remaining);
    // Both providers withdraw what they held the data for; nothing is left once the lease ends.
    await time.increaseTo(lease.end + 10n);
    await expect(market.connect(opA).withdraw(leaseId)).to.changeTokenBalance(
      token,
      payA,
      oldWithdrawable - (oldWithdrawable * 100n) / 10_000n,
    );
    const paidB = newRate * remaining;
    await expect(market.connect(opB).withdraw(newLeaseId)).to.changeTokenBalance(
      token,
      payB,
      paidB - (paidB * 100n) / 10_000n,
    );
    expect(await token.balanceOf(marketAddress)).to.equal(before - refund - oldRate * 1000n - paidB);
  });

  it("with a failure time: the old provider is paid until failedAt, the unserved gap is refunded, escrow conserved", async () => {
    const f = await marketFixture();
    const { market, token, alice, oracle, opB } = f;
    const { leaseId, lease } = await leased(f);
    const same = await postOffer(f, opB, NODE_B, {});
    const marketAddress = await market.getAddress();
    const before = await token.balanceOf(marketAddress);
    const failedAt = lease.start + 600n;
    const movedAt = lease.start + 1000n;
    await time.setNextBlockTimestamp(movedAt);
    const newLeaseId = (await market.orderCount()) + 1n;
    const tx = market.connect(oracle).moveLease(leaseId, same, failedAt, ethers.ZeroHash);
    const rate = lease.ratePerSecond;
    await expect(tx)
      .to.emit(market, "LeaseClosed")
      .withArgs(
        leaseId,
        NODE_A,
        alice.address,
        oracle.address,
        CloseReason.Oracle,
        failedAt,
        rate * (lease.end - failedAt),
      );
    await expect(tx).to.changeTokenBalance(token, alice, rate * (movedAt - failedAt));
    const [oldLease, , accrued] = await market.getLease(leaseId);
    expect(oldLease.end).to.equal(failedAt);
    expect(accrued).to.equal(rate * 600n);
    const [moved] = await market.getLease(newLeaseId);
    expect(moved.start).to.equal(movedAt);
    expect(moved.end).to.equal(lease.end);
    // Conservation: old accrual + new escrow + refund = the old lease's escrow.
    expect(before - (await token.balanceOf(marketAddress))).to.equal(rate * (movedAt - failedAt));
    expect(rate * 600n + rate * (lease.end - movedAt) + rate * (movedAt - failedAt)).to.equal(
      rate * (lease.end - lease.start),
    );
  });

  it("refuses a failure time before the settled point or after now", async () => {
    const f = await marketFixture();
    const { market, oracle, opA, opB } = f;
    const { leaseId, lease } = await leased(f);
    const same = await postOffer(f, opB, NODE_B, {});
    await time.setNextBlockTimestamp(lease.start + 100n);
    await market.connect(opA).withdraw(leaseId);
    const at = lease.start + 200n;
    await time.setNextBlockTimestamp(at);
    await expect(market.connect(oracle).moveLease(leaseId, same, lease.start + 50n, ethers.ZeroHash))
      .to.be.revertedWithCustomError(market, "FailureTimeOutOfRange")
      .withArgs(leaseId, lease.start + 50n, lease.start + 100n, at);
    await time.setNextBlockTimestamp(at + 1n);
    await expect(market.connect(oracle).moveLease(leaseId, same, at + 5n, ethers.ZeroHash))
      .to.be.revertedWithCustomError(market, "FailureTimeOutOfRange")
      .withArgs(leaseId, at + 5n, lease.start + 100n, at + 1n);
  });

  it("is the oracle's alone, and refuses a dearer, wrong-kind, full, same, unknown offer or an ended lease", async () => {
    const f = await marketFixture();
    const { market, oracle, alice, opB, opC } = f;
    const { leaseId, offerId, lease } = await leased(f);
    const dearer = await postOffer(f, opB, NODE_B, { pricePerUnitSecond: PRICE + 1n });
    const small = await postOffer(f, opB, NODE_B, { units: 5n });
    const compute = await postOffer(f, opC, NODE_C, { kind: Kind.Compute });
    const longMin = await postOffer(f, opB, NODE_B, { minDuration: 2n * DAY });
    await expect(market.connect(alice).moveLease(leaseId, dearer, 0, ethers.ZeroHash))
      .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
      .withArgs(alice.address, await market.ORACLE_ROLE());
    await expect(market.connect(oracle).moveLease(leaseId, dearer, 0, ethers.ZeroHash))
      .to.be.revertedWithCustomError(market, "PriceAboveMax")
      .withArgs(dearer, PRICE + 1n, PRICE);
    await expect(market.connect(oracle).moveLease(leaseId, small, 0, ethers.ZeroHash))
      .to.be.revertedWithCustomError(market, "InsufficientUnits")
      .withArgs(small, 5n, 10n);
    await expect(market.connect(oracle).moveLease(leaseId, compute, 0, ethers.ZeroHash))
      .to.be.revertedWithCustomError(market, "WrongKind")
      .withArgs(compute, Kind.Compute, Kind.Storage);
    await expect(market.connect(oracle).moveLease(leaseId, longMin, 0, ethers.ZeroHash)).to.be.revertedWithCustomError(
      market,
      "DurationOutOfRange",
    );
    await expect(market.connect(oracle).moveLease(leaseId, offerId, 0, ethers.ZeroHash))
      .to.be.revertedWithCustomError(market, "SameOffer")
      .withArgs(leaseId, offerId);
    await expect(market.connect(oracle).moveLease(leaseId, 999n, 0, ethers.ZeroHash))
      .to.be.revertedWithCustomError(market, "UnknownOffer")
      .withArgs(999n);
    await expect(market.connect(oracle).moveLease(12345n, small, 0, ethers.ZeroHash)).to.be.revertedWithCustomError(
      market,
      "UnknownLease",
    );
    await time.increaseTo(lease.end);
    const same = await postOffer(f, opB, NODE_B);
    await expect(market.connect(oracle).moveLease(leaseId, same, 0, ethers.ZeroHash))
      .to.be.revertedWithCustomError(market, "LeaseExpired")
      .withArgs(leaseId, lease.end);
  });

  it("a moved lease moves again, and the user can still close it early for the unaccrued rest", async () => {
    const f = await marketFixture();
    const { market, token, oracle, alice, opB } = f;
    const { leaseId, lease } = await leased(f);
    const b = await postOffer(f, opB, NODE_B);
    await time.setNextBlockTimestamp(lease.start + 100n);
    const second = await eventArg(
      market,
      market.connect(oracle).moveLease(leaseId, b, 0, ethers.ZeroHash),
      "LeaseMoved",
      "newLeaseId",
    );
    const c = await postOffer(f, opB, NODE_B, { pricePerUnitSecond: PRICE / 2n });
    await time.setNextBlockTimestamp(lease.start + 200n);
    const third = await eventArg(
      market,
      market.connect(oracle).moveLease(second, c, 0, ethers.ZeroHash),
      "LeaseMoved",
      "newLeaseId",
    );
    expect((await market.getLease(second))[0].status).to.equal(LeaseStatus.Closed);
    await time.setNextBlockTimestamp(lease.start + 300n);
    const rate = (PRICE / 2n) * 10n;
    await expect(market.connect(alice).closeLease(third)).to.changeTokenBalance(
      token,
      alice,
      rate * (lease.end - lease.start - 300n),
    );
  });
});
