import { NO_PRICE_LIMIT } from "../../offchain/chain/market";
import { expect } from "chai";
import hre, { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { privateKeyToAccount } from "viem/accounts";
import { signPermit } from "../../offchain/core/signing";
import { HMS } from "../helpers/fixtures";
import { govern } from "../helpers/governance";
import { ReentrantToken__factory, ResourceMarket__factory } from "../../typechain-types";
import {
  CloseReason,
  DAY,
  Kind,
  LeaseStatus,
  NODE_A,
  NODE_B,
  NODE_C,
  NODE_META,
  NodeKind,
  OrderStatus,
  PRICE,
  REGION_DE,
  REGION_FR,
  Tier,
  createOrder,
  marketFixture,
  offer,
  order,
  postOffer,
  type MarketFixture,
} from "./fixture";

const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** Private key of Hardhat account #i (for viem-signed permits). */
function accountKey(i: number): `0x${string}` {
  return ethers.HDNodeWallet.fromPhrase(HARDHAT_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey as `0x${string}`;
}

/** An offer from node A and an order from alice that it can serve, taken: a running lease. */
async function leased(f: MarketFixture, o: Parameters<typeof order>[0] = {}, price = PRICE) {
  const offerId = await postOffer(f, f.opA, NODE_A, { pricePerUnitSecond: price });
  const orderId = await createOrder(f, f.alice, o);
  await f.market.connect(f.alice).takeOffer(orderId, offerId, NO_PRICE_LIMIT);
  const [lease] = await f.market.getLease(orderId);
  return { offerId, leaseId: orderId, lease };
}

describe("ResourceMarket", () => {
  describe("deployment and governance", () => {
    it("starts with a 1 % fee, K = 16, 1,024 offers per kind, floor 1.0, and the given treasury", async () => {
      const f = await marketFixture();
      expect(await f.market.feeBps()).to.equal(100);
      expect(await f.market.MAX_FEE_BPS()).to.equal(100);
      expect(await f.market.matchK()).to.equal(16);
      expect(await f.market.maxOffersPerKind()).to.equal(1024);
      expect(await f.market.scoreFloor()).to.equal(10n ** 18n);
      expect(await f.market.treasury()).to.equal(f.treasury.address);
      expect(await f.market.token()).to.equal(await f.token.getAddress());
      expect(await f.market.hasRole(ethers.ZeroHash, f.deployer.address)).to.be.true;
      expect(await f.market.hasRole(await f.market.ORACLE_ROLE(), f.oracle.address)).to.be.true;
    });

    it("rejects a zero token, registry, score source, treasury or admin", async () => {
      const f = await marketFixture();
      const Market = await ethers.getContractFactory("ResourceMarket");
      const args = [
        await f.token.getAddress(),
        await f.registry.getAddress(),
        await f.scores.getAddress(),
        f.treasury.address,
        f.deployer.address,
      ];
      for (let i = 0; i < args.length; i++) {
        const bad = [...args];
        bad[i] = ethers.ZeroAddress;
        await expect(Market.deploy(...(bad as [string, string, string, string, string])))
          .to.be.revertedWithCustomError(Market, "ZeroAddress")
          .withArgs();
      }
    });

    it("lets only the admin set parameters, within their bounds, emitting the change", async () => {
      const { market, stranger } = await marketFixture();
      await expect(market.connect(stranger).setFeeBps(50))
        .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, ethers.ZeroHash);
      await expect(market.setFeeBps(101)).to.be.revertedWithCustomError(market, "FeeTooHigh").withArgs(101, 100);
      await expect(market.setFeeBps(50)).to.emit(market, "FeeBpsChanged").withArgs(100, 50);
      await expect(market.setFeeBps(0)).to.emit(market, "FeeBpsChanged").withArgs(50, 0);

      await expect(market.setTreasury(ethers.ZeroAddress)).to.be.revertedWithCustomError(market, "ZeroAddress");
      await expect(market.setTreasury(stranger.address))
        .to.emit(market, "TreasuryChanged")
        .withArgs(await market.treasury(), stranger.address);

      await expect(market.setMatchK(0)).to.be.revertedWithCustomError(market, "MatchKOutOfRange").withArgs(0, 64);
      await expect(market.setMatchK(65)).to.be.revertedWithCustomError(market, "MatchKOutOfRange").withArgs(65, 64);
      await expect(market.setMatchK(32)).to.emit(market, "MatchKChanged").withArgs(16, 32);

      await expect(market.setMaxOffersPerKind(0))
        .to.be.revertedWithCustomError(market, "MaxOffersOutOfRange")
        .withArgs(0, 10_000);
      await expect(market.setMaxOffersPerKind(10_001))
        .to.be.revertedWithCustomError(market, "MaxOffersOutOfRange")
        .withArgs(10_001, 10_000);
      await expect(market.setMaxOffersPerKind(5)).to.emit(market, "MaxOffersPerKindChanged").withArgs(1024, 5);

      await expect(market.setScoreFloor(0))
        .to.be.revertedWithCustomError(market, "ScoreFloorOutOfRange")
        .withArgs(0, 10n ** 30n);
      await expect(market.setScoreFloor(10n ** 30n + 1n))
        .to.be.revertedWithCustomError(market, "ScoreFloorOutOfRange")
        .withArgs(10n ** 30n + 1n, 10n ** 30n);
      await expect(market.setScoreFloor(5n))
        .to.emit(market, "ScoreFloorChanged")
        .withArgs(10n ** 18n, 5n);
      for (const call of [
        () => market.connect(stranger).setTreasury(stranger.address),
        () => market.connect(stranger).setMatchK(8),
        () => market.connect(stranger).setMaxOffersPerKind(8),
        () => market.connect(stranger).setScoreFloor(8),
      ]) {
        await expect(call()).to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount");
      }
    });

    it("can be governed through the HMSTimelock: the fee is lowered by a scheduled operation", async () => {
      const f = await marketFixture();
      const governed = await new ResourceMarket__factory(f.deployer).deploy(
        await f.token.getAddress(),
        await f.registry.getAddress(),
        await f.scores.getAddress(),
        f.treasury.address,
        await f.timelock.getAddress(),
      );
      await expect(governed.setFeeBps(10)).to.be.revertedWithCustomError(governed, "AccessControlUnauthorizedAccount");
      await govern(f.timelock, await governed.getAddress(), governed.interface.encodeFunctionData("setFeeBps", [10]));
      expect(await governed.feeBps()).to.equal(10);
    });
  });

  describe("offers", () => {
    it("posts an offer with the node's registry region and tier, and indexes it by kind", async () => {
      const f = await marketFixture();
      const { market, opA } = f;
      await expect(market.connect(opA).postOffer(NODE_A, offer({ units: 500n, minDuration: 3600n })))
        .to.emit(market, "OfferPosted")
        .withArgs(1, NODE_A, opA.address, Kind.Storage, 500, PRICE, 3600, 30n * DAY, REGION_FR, Tier.Normal);
      const stored = await market.getOffer(1);
      expect(stored.nodeId).to.equal(NODE_A);
      expect(stored.units).to.equal(500);
      expect(stored.active).to.be.true;
      expect(await market.offerCountOfKind(Kind.Storage)).to.equal(1);
      expect(await market.offersOfKind(Kind.Storage, 0, 10)).to.deep.equal([1n]);
      expect(await market.activeOffersOf(NODE_A)).to.equal(1);
      // Bandwidth may be offered by storage and container nodes alike.
      await postOffer(f, f.opC, NODE_C, { kind: Kind.Bandwidth });
      await postOffer(f, f.opC, NODE_C, { kind: Kind.Compute });
      expect(await market.offerCountOfKind(Kind.Bandwidth)).to.equal(1);
      expect(await market.offerCountOfKind(Kind.Compute)).to.equal(1);
      expect(await market.offersOfKind(Kind.Storage, 5, 10)).to.deep.equal([]);
    });

    it("rejects posting by a non-operator, for an unknown or inactive node, or of a kind the node cannot serve", async () => {
      const { market, registry, opA, opC, stranger } = await marketFixture();
      await expect(market.connect(stranger).postOffer(NODE_A, offer()))
        .to.be.revertedWithCustomError(market, "NotOperator")
        .withArgs(NODE_A, stranger.address);
      const unknown = ethers.id("nope");
      await expect(market.connect(opA).postOffer(unknown, offer()))
        .to.be.revertedWithCustomError(market, "NotOperator")
        .withArgs(unknown, opA.address);
      await registry.setActive(NODE_A, false);
      await expect(market.connect(opA).postOffer(NODE_A, offer()))
        .to.be.revertedWithCustomError(market, "NodeNotActive")
        .withArgs(NODE_A);
      await expect(market.connect(opC).postOffer(NODE_C, offer({ kind: Kind.Storage })))
        .to.be.revertedWithCustomError(market, "KindMismatch")
        .withArgs(NODE_C, NodeKind.Container, Kind.Storage);
      await expect(market.connect(opC).postOffer(NODE_META, offer({ kind: Kind.Bandwidth })))
        .to.be.revertedWithCustomError(market, "KindMismatch")
        .withArgs(NODE_META, NodeKind.Meta, Kind.Bandwidth);
    });

    it("rejects zero units or price, bad duration ranges and a rate that does not fit 128 bits", async () => {
      const { market, opA } = await marketFixture();
      const post = (o: Parameters<typeof offer>[0]) => market.connect(opA).postOffer(NODE_A, offer(o));
      await expect(post({ units: 0n })).to.be.revertedWithCustomError(market, "ZeroUnits");
      await expect(post({ pricePerUnitSecond: 0n })).to.be.revertedWithCustomError(market, "ZeroPrice");
      await expect(post({ minDuration: 0n }))
        .to.be.revertedWithCustomError(market, "InvalidDurationRange")
        .withArgs(0, 30n * DAY);
      await expect(post({ minDuration: 100n, maxDuration: 99n }))
        .to.be.revertedWithCustomError(market, "InvalidDurationRange")
        .withArgs(100, 99);
      await expect(post({ maxDuration: 3651n * DAY }))
        .to.be.revertedWithCustomError(market, "InvalidDurationRange")
        .withArgs(60, 3651n * DAY);
      const maxPrice = 2n ** 96n - 1n; // uint96
      await expect(post({ pricePerUnitSecond: maxPrice, units: 2n ** 33n }))
        .to.be.revertedWithCustomError(market, "RateTooLarge")
        .withArgs(maxPrice, 2n ** 33n);
    });

    it("caps offers per node (8) and per kind (governance)", async () => {
      const f = await marketFixture();
      for (let i = 0; i < 8; i++) await postOffer(f, f.opA, NODE_A);
      await expect(f.market.connect(f.opA).postOffer(NODE_A, offer()))
        .to.be.revertedWithCustomError(f.market, "TooManyOffers")
        .withArgs(NODE_A, 8);
      await f.market.setMaxOffersPerKind(9);
      await postOffer(f, f.opB, NODE_B);
      await expect(f.market.connect(f.opB).postOffer(NODE_B, offer()))
        .to.be.revertedWithCustomError(f.market, "KindIndexFull")
        .withArgs(Kind.Storage, 9);
      // Withdrawing frees room in both caps.
      await f.market.connect(f.opA).withdrawOffer(3);
      expect(await f.market.activeOffersOf(NODE_A)).to.equal(7);
      await postOffer(f, f.opB, NODE_B);
    });

    it("updates an offer (live leases keep their price) and rejects unknown, withdrawn or foreign offers", async () => {
      const f = await marketFixture();
      const { market, opA, opB, registry } = f;
      const { offerId, leaseId } = await leased(f);
      await registry.setProfile(NODE_A, Tier.Super, REGION_DE);
      await expect(market.connect(opA).updateOffer(offerId, 200, 3n * PRICE, 120, 10n * DAY))
        .to.emit(market, "OfferUpdated")
        .withArgs(offerId, NODE_A, 200, 3n * PRICE, 120, 10n * DAY, REGION_DE, Tier.Super);
      const stored = await market.getOffer(offerId);
      expect([stored.units, stored.pricePerUnitSecond, stored.region, stored.tier]).to.deep.equal([
        200n,
        3n * PRICE,
        BigInt(REGION_DE),
        BigInt(Tier.Super),
      ]);
      const [lease] = await market.getLease(leaseId);
      expect(lease.ratePerSecond).to.equal(PRICE * 10n);
      await expect(market.connect(opB).updateOffer(offerId, 1, 1, 1, 1))
        .to.be.revertedWithCustomError(market, "NotOperator")
        .withArgs(NODE_A, opB.address);
      await expect(market.connect(opA).updateOffer(offerId, 0, 1, 1, 1)).to.be.revertedWithCustomError(
        market,
        "ZeroUnits",
      );
      await expect(market.connect(opA).updateOffer(99, 1, 1, 1, 1))
        .to.be.revertedWithCustomError(market, "UnknownOffer")
        .withArgs(99);
      await expect(market.connect(opA).updateOffer(0, 1, 1, 1, 1))
        .to.be.revertedWithCustomError(market, "UnknownOffer")
        .withArgs(0);
      await market.connect(opA).withdrawOffer(offerId);
      await expect(market.connect(opA).updateOffer(offerId, 1, 1, 1, 1))
        .to.be.revertedWithCustomError(market, "OfferNotActive")
        .withArgs(offerId);
      await expect(market.getOffer(7)).to.be.revertedWithCustomError(market, "UnknownOffer").withArgs(7);
    });

    it("withdraws offers with swap-and-pop in the kind index; live leases continue", async () => {
      const f = await marketFixture();
      const { market, opA, opB, stranger } = f;
      const { offerId: first, leaseId } = await leased(f);
      const second = await postOffer(f, opB, NODE_B);
      const third = await postOffer(f, opA, NODE_A);
      await expect(market.connect(stranger).withdrawOffer(first))
        .to.be.revertedWithCustomError(market, "NotOperator")
        .withArgs(NODE_A, stranger.address);
      await expect(market.connect(opA).withdrawOffer(first))
        .to.emit(market, "OfferWithdrawn")
        .withArgs(first, NODE_A, opA.address, false);
      expect(await market.offersOfKind(Kind.Storage, 0, 10)).to.deep.equal([third, second]);
      expect((await market.getOffer(third)).indexPos).to.equal(0);
      await expect(market.connect(opA).withdrawOffer(first))
        .to.be.revertedWithCustomError(market, "OfferNotActive")
        .withArgs(first);
      await market.connect(opA).withdrawOffer(third);
      expect(await market.offersOfKind(Kind.Storage, 0, 10)).to.deep.equal([second]);
      // The lease of the withdrawn offer still accrues and settles.
      await time.increase(100);
      await expect(market.connect(opA).withdraw(leaseId)).to.emit(market, "PaymentSettled");
    });

    it("lets anyone prune an offer whose node was deactivated or removed, and nothing else", async () => {
      const f = await marketFixture();
      const { market, registry, opA, stranger } = f;
      const a = await postOffer(f, opA, NODE_A);
      const b = await postOffer(f, f.opB, NODE_B);
      await expect(market.connect(stranger).pruneOffer(a))
        .to.be.revertedWithCustomError(market, "OfferStillValid")
        .withArgs(a);
      await registry.setActive(NODE_A, false);
      await expect(market.connect(stranger).pruneOffer(a))
        .to.emit(market, "OfferWithdrawn")
        .withArgs(a, NODE_A, stranger.address, true);
      await registry.removeNode(NODE_B);
      await market.connect(stranger).pruneOffer(b);
      expect(await market.offerCountOfKind(Kind.Storage)).to.equal(0);
      await expect(market.pruneOffer(b)).to.be.revertedWithCustomError(market, "OfferNotActive").withArgs(b);
    });
  });

  describe("orders", () => {
    it("escrows max price × units × duration and records the order", async () => {
      const { market, token, alice, marketAddress } = await marketFixture();
      const o = order({ units: 7n, maxPricePerUnitSecond: 3n * PRICE, duration: 5000n, region: REGION_FR });
      const escrow = 3n * PRICE * 7n * 5000n;
      expect(await market.orderEscrow(7, 3n * PRICE, 5000)).to.equal(escrow);
      await expect(market.connect(alice).createOrder(o))
        .to.emit(market, "OrderCreated")
        .withArgs(1, alice.address, Kind.Storage, 7, 3n * PRICE, 5000, REGION_FR, Tier.Lite, o.expiresAt, escrow)
        .and.to.emit(token, "Transfer")
        .withArgs(alice.address, marketAddress, escrow);
      const [stored, held] = await market.getOrder(1);
      expect(stored.user).to.equal(alice.address);
      expect(stored.status).to.equal(OrderStatus.Open);
      expect(held).to.equal(escrow);
      expect(await market.orderCount()).to.equal(1);
      await expect(market.getOrder(2)).to.be.revertedWithCustomError(market, "UnknownOrder").withArgs(2);
    });

    it("rejects zero units or price, a zero or too long duration, a past expiry and a missing allowance", async () => {
      const { market, alice, stranger, token, marketAddress } = await marketFixture();
      const create = (o: Parameters<typeof order>[0]) => market.connect(alice).createOrder(order(o));
      await expect(create({ units: 0n })).to.be.revertedWithCustomError(market, "ZeroUnits");
      await expect(create({ maxPricePerUnitSecond: 0n })).to.be.revertedWithCustomError(market, "ZeroPrice");
      await expect(create({ duration: 0n }))
        .to.be.revertedWithCustomError(market, "InvalidDuration")
        .withArgs(0);
      await expect(create({ duration: 3651n * DAY }))
        .to.be.revertedWithCustomError(market, "InvalidDuration")
        .withArgs(3651n * DAY);
      const now = BigInt(await time.latest());
      await time.setNextBlockTimestamp(now + 1n); // deterministic even when the machine is slow
      await expect(create({ expiresAt: now }))
        .to.be.revertedWithCustomError(market, "InvalidExpiry")
        .withArgs(now, now + 1n);
      await expect(create({ maxPricePerUnitSecond: 2n ** 95n, units: 2n ** 34n }))
        .to.be.revertedWithCustomError(market, "RateTooLarge")
        .withArgs(2n ** 95n, 2n ** 34n);
      await expect(market.connect(stranger).createOrder(order()))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(marketAddress, 0, 2n * PRICE * 10n * DAY);
    });

    it("creates an order with an EIP-2612 permit signed through offchain/core/signing (no approve)", async () => {
      const { market, token, stranger, ido, marketAddress } = await marketFixture();
      await token.connect(ido).transfer(stranger.address, HMS(1000));
      const account = privateKeyToAccount(accountKey(15));
      expect(account.address).to.equal(stranger.address);
      const o = order();
      const escrow = await market.orderEscrow(o.units, o.maxPricePerUnitSecond, o.duration);
      const deadline = BigInt(await time.latest()) + 3600n;
      const permit = await signPermit(account, 31337, (await token.getAddress()) as `0x${string}`, {
        spender: marketAddress as `0x${string}`,
        value: escrow,
        nonce: await token.nonces(stranger.address),
        deadline,
      });
      await expect(market.connect(stranger).createOrderWithPermit(o, permit))
        .to.emit(market, "OrderCreated")
        .withArgs(
          1,
          stranger.address,
          Kind.Storage,
          o.units,
          o.maxPricePerUnitSecond,
          o.duration,
          0,
          0,
          anyValue,
          escrow,
        );
      expect(await token.allowance(stranger.address, marketAddress)).to.equal(0);
      // The same permit again (e.g. front-run and replayed) fails inside; with no allowance the pull reverts.
      await expect(market.connect(stranger).createOrderWithPermit(o, permit))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(marketAddress, 0, escrow);
      // A used permit is ignored when an allowance is already in place.
      await token.connect(stranger).approve(marketAddress, escrow);
      await expect(market.connect(stranger).createOrderWithPermit(o, permit)).to.emit(market, "OrderCreated");
    });

    it("cancels: the user at any time, anyone once expired; the refund always goes to the user", async () => {
      const f = await marketFixture();
      const { market, token, alice, stranger } = f;
      const now = BigInt(await time.latest());
      const id = await createOrder(f, alice, { expiresAt: now + 1000n });
      const escrow = 2n * PRICE * 10n * DAY;
      await expect(market.connect(stranger).cancelOrder(id))
        .to.be.revertedWithCustomError(market, "NotOrderUser")
        .withArgs(id, stranger.address);
      const cancel = market.connect(alice).cancelOrder(id);
      await expect(cancel).to.emit(market, "OrderCancelled").withArgs(id, alice.address, alice.address, escrow);
      await expect(cancel).to.changeTokenBalances(token, [alice, f.marketAddress], [escrow, -escrow]);
      await expect(market.connect(alice).cancelOrder(id))
        .to.be.revertedWithCustomError(market, "OrderNotOpen")
        .withArgs(id, OrderStatus.Cancelled);
      const expiring = await createOrder(f, alice, { expiresAt: BigInt(await time.latest()) + 10n });
      await time.increase(10);
      const late = market.connect(stranger).cancelOrder(expiring);
      await expect(late).to.emit(market, "OrderCancelled").withArgs(expiring, alice.address, stranger.address, escrow);
      await expect(late).to.changeTokenBalance(token, alice, escrow);
      await expect(market.cancelOrder(0)).to.be.revertedWithCustomError(market, "UnknownOrder").withArgs(0);
      const [, held] = await market.getOrder(id);
      expect(held).to.equal(0);
    });
  });

  describe("taking an offer", () => {
    it("starts a lease at the offer's price and refunds the escrow above it", async () => {
      const f = await marketFixture();
      const { market, token, alice } = f;
      const offerId = await postOffer(f, f.opA, NODE_A, { pricePerUnitSecond: PRICE });
      const orderId = await createOrder(f, alice, { maxPricePerUnitSecond: 3n * PRICE, units: 10n, duration: DAY });
      const excess = 2n * PRICE * 10n * DAY;
      const tx = market.connect(alice).takeOffer(orderId, offerId, NO_PRICE_LIMIT);
      await expect(tx)
        .to.emit(market, "LeaseStarted")
        .withArgs(orderId, NODE_A, alice.address, offerId, 10, PRICE, anyValue, anyValue, PRICE * 10n * DAY, excess);
      await expect(tx).to.changeTokenBalance(token, alice, excess);
      const [lease, nodeId, accrued, withdrawable, escrow] = await market.getLease(orderId);
      expect(nodeId).to.equal(NODE_A);
      expect(lease.end - lease.start).to.equal(DAY);
      expect(lease.maxEnd - lease.start).to.equal(30n * DAY);
      expect(lease.ratePerSecond).to.equal(PRICE * 10n);
      expect(lease.status).to.equal(LeaseStatus.Active);
      expect([accrued, withdrawable, escrow]).to.deep.equal([0n, 0n, PRICE * 10n * DAY]);
      expect((await market.getOffer(offerId)).unitsInUse).to.equal(10);
      const [stored] = await market.getOrder(orderId);
      expect(stored.status).to.equal(OrderStatus.Filled);
    });

    it("rejects an unknown or withdrawn offer, the wrong kind and a price above the order's maximum", async () => {
      const f = await marketFixture();
      const { market, alice } = f;
      const storage = await postOffer(f, f.opA, NODE_A, { pricePerUnitSecond: 5n * PRICE });
      const compute = await postOffer(f, f.opC, NODE_C, { kind: Kind.Compute });
      const orderId = await createOrder(f, alice, { maxPricePerUnitSecond: 2n * PRICE });
      const take = (offerId: bigint | number) => market.connect(alice).takeOffer(orderId, offerId, NO_PRICE_LIMIT);
      await expect(take(0)).to.be.revertedWithCustomError(market, "UnknownOffer").withArgs(0);
      await expect(take(3)).to.be.revertedWithCustomError(market, "UnknownOffer").withArgs(3);
      await expect(take(compute))
        .to.be.revertedWithCustomError(market, "WrongKind")
        .withArgs(compute, Kind.Compute, Kind.Storage);
      await expect(take(storage))
        .to.be.revertedWithCustomError(market, "PriceAboveMax")
        .withArgs(storage, 5n * PRICE, 2n * PRICE);
      await f.market.connect(f.opA).withdrawOffer(storage);
      await expect(take(storage)).to.be.revertedWithCustomError(market, "OfferNotActive").withArgs(storage);
    });

    it("a provider front-running takeOffer with updateOffer cannot raise the price: the user's limit bounds it", async () => {
      const f = await marketFixture();
      const { market, alice } = f;
      const offerId = await postOffer(f, f.opA, NODE_A, { pricePerUnitSecond: PRICE });
      const orderId = await createOrder(f, alice, { maxPricePerUnitSecond: 5n * PRICE });
      // The user saw the offer at PRICE; the provider raises it to the order's maximum before the take lands.
      await market.connect(f.opA).updateOffer(offerId, 100, 5n * PRICE, 60, 30n * DAY);
      await expect(market.connect(alice).takeOffer(orderId, offerId, PRICE))
        .to.be.revertedWithCustomError(market, "PriceAboveMax")
        .withArgs(offerId, 5n * PRICE, PRICE);
      // A limit above the order's own maximum is no wider than the order.
      const cheap = await createOrder(f, alice, { maxPricePerUnitSecond: 2n * PRICE });
      await expect(market.connect(alice).takeOffer(cheap, offerId, 10n * PRICE))
        .to.be.revertedWithCustomError(market, "PriceAboveMax")
        .withArgs(offerId, 5n * PRICE, 2n * PRICE);
      // matchOrder takes the same limit: the raised offer is not eligible, the order stays open.
      await expect(market.connect(alice).matchOrder(orderId, PRICE))
        .to.be.revertedWithCustomError(market, "NoEligibleOffer")
        .withArgs(orderId, 1);
      // At the price seen, the take goes through at that price.
      await market.connect(f.opA).updateOffer(offerId, 100, PRICE, 60, 30n * DAY);
      await expect(market.connect(alice).takeOffer(orderId, offerId, PRICE))
        .to.emit(market, "LeaseStarted")
        .withArgs(orderId, NODE_A, alice.address, offerId, 10, PRICE, anyValue, anyValue, anyValue, anyValue);
    });

    it("rejects insufficient units, a duration out of range, the wrong region or tier, and an inactive node", async () => {
      const f = await marketFixture();
      const { market, alice, registry } = f;
      const offerId = await postOffer(f, f.opA, NODE_A, { units: 50n, minDuration: 3600n, maxDuration: 7n * DAY });
      const tryOrder = async (o: Parameters<typeof order>[0]) => {
        const id = await createOrder(f, alice, o);
        return market.connect(alice).takeOffer(id, offerId, NO_PRICE_LIMIT);
      };
      await expect(tryOrder({ units: 51n }))
        .to.be.revertedWithCustomError(market, "InsufficientUnits")
        .withArgs(offerId, 50, 51);
      await expect(tryOrder({ duration: 3599n }))
        .to.be.revertedWithCustomError(market, "DurationOutOfRange")
        .withArgs(offerId, 3599, 3600, 7n * DAY);
      await expect(tryOrder({ duration: 7n * DAY + 1n }))
        .to.be.revertedWithCustomError(market, "DurationOutOfRange")
        .withArgs(offerId, 7n * DAY + 1n, 3600, 7n * DAY);
      await expect(tryOrder({ region: REGION_DE }))
        .to.be.revertedWithCustomError(market, "RegionMismatch")
        .withArgs(offerId, REGION_FR, REGION_DE);
      await expect(tryOrder({ minTier: Tier.Super }))
        .to.be.revertedWithCustomError(market, "TierTooLow")
        .withArgs(offerId, Tier.Normal, Tier.Super);
      // Units held by a lease are not available to the next order.
      const first = await createOrder(f, alice, { units: 30n });
      await market.connect(alice).takeOffer(first, offerId, NO_PRICE_LIMIT);
      await expect(tryOrder({ units: 21n }))
        .to.be.revertedWithCustomError(market, "InsufficientUnits")
        .withArgs(offerId, 20, 21);
      await registry.setActive(NODE_A, false);
      await expect(tryOrder({})).to.be.revertedWithCustomError(market, "NodeNotActive").withArgs(NODE_A);
      await registry.removeNode(NODE_A);
      await expect(tryOrder({})).to.be.revertedWithCustomError(market, "NodeNotActive").withArgs(NODE_A);
    });

    it("rejects an expired, foreign, filled or unknown order", async () => {
      const f = await marketFixture();
      const { market, alice, bob } = f;
      const offerId = await postOffer(f, f.opA, NODE_A);
      const expiresAt = BigInt(await time.latest()) + 20n;
      const orderId = await createOrder(f, alice, { expiresAt });
      await expect(market.connect(bob).takeOffer(orderId, offerId, NO_PRICE_LIMIT))
        .to.be.revertedWithCustomError(market, "NotOrderUser")
        .withArgs(orderId, bob.address);
      await expect(market.connect(bob).matchOrder(orderId, NO_PRICE_LIMIT))
        .to.be.revertedWithCustomError(market, "NotOrderUser")
        .withArgs(orderId, bob.address);
      await time.increaseTo(expiresAt);
      await expect(market.connect(alice).takeOffer(orderId, offerId, NO_PRICE_LIMIT))
        .to.be.revertedWithCustomError(market, "OrderExpired")
        .withArgs(orderId, expiresAt);
      await expect(market.connect(alice).matchOrder(orderId, NO_PRICE_LIMIT))
        .to.be.revertedWithCustomError(market, "OrderExpired")
        .withArgs(orderId, expiresAt);
      const other = await createOrder(f, alice);
      await market.connect(alice).takeOffer(other, offerId, NO_PRICE_LIMIT);
      await expect(market.connect(alice).takeOffer(other, offerId, NO_PRICE_LIMIT))
        .to.be.revertedWithCustomError(market, "OrderNotOpen")
        .withArgs(other, OrderStatus.Filled);
      await expect(market.connect(alice).takeOffer(77, offerId, NO_PRICE_LIMIT))
        .to.be.revertedWithCustomError(market, "UnknownOrder")
        .withArgs(77);
    });
  });

  describe("matching", () => {
    it("examines at most K offers of the kind and chooses only eligible ones", async () => {
      const f = await marketFixture();
      const { market, alice } = f;
      // 8 storage offers from node A (cheap) and 8 from node B (too expensive for the order).
      for (let i = 0; i < 8; i++) await postOffer(f, f.opA, NODE_A);
      for (let i = 0; i < 8; i++) await postOffer(f, f.opB, NODE_B, { pricePerUnitSecond: 10n * PRICE });
      await market.setMatchK(4);
      let matched = 0;
      let unmatched = 0;
      for (let i = 0; i < 24; i++) {
        const id = await createOrder(f, alice, { units: 1n });
        const outcome = await market
          .connect(alice)
          .matchOrder(id, NO_PRICE_LIMIT)
          .then(
            async (tx) => ({ receipt: await tx.wait(), err: undefined }),
            (err: unknown) => ({ receipt: undefined, err }),
          );
        if (outcome.receipt) {
          const event = outcome.receipt.logs
            .map((l) => market.interface.parseLog(l))
            .find((p) => p?.name === "OrderMatched")!;
          expect(event.args.examined).to.equal(4);
          expect(event.args.eligible).to.be.within(1, 4);
          expect(event.args.nodeId).to.equal(NODE_A);
          matched++;
        } else {
          // A window of four B offers only: no eligible offer, the order stays open.
          const parsed = market.interface.parseError((outcome.err as { data: string }).data);
          expect(parsed?.name).to.equal("NoEligibleOffer");
          expect([...parsed!.args]).to.deep.equal([id, 4n]);
          expect((await market.getOrder(id))[0].status).to.equal(OrderStatus.Open);
          unmatched++;
        }
      }
      expect(matched).to.be.greaterThan(0);
      expect(matched + unmatched).to.equal(24);
    });

    it("reverts NoEligibleOffer with an empty index or when no offer fits", async () => {
      const f = await marketFixture();
      const id = await createOrder(f, f.alice);
      await expect(f.market.connect(f.alice).matchOrder(id, NO_PRICE_LIMIT))
        .to.be.revertedWithCustomError(f.market, "NoEligibleOffer")
        .withArgs(id, 0);
      await postOffer(f, f.opA, NODE_A, { pricePerUnitSecond: 100n * PRICE });
      await expect(f.market.connect(f.alice).matchOrder(id, NO_PRICE_LIMIT))
        .to.be.revertedWithCustomError(f.market, "NoEligibleOffer")
        .withArgs(id, 1);
    });

    it("weights by contribution score with a floor: better contributors win more, weaker ones still win", async function () {
      this.timeout(120_000);
      const f = await marketFixture();
      const { market, scores, alice } = f;
      await scores.setScore(NODE_B, 9n * 10n ** 18n); // weight 10 vs node A's floor-only weight 1
      expect(await market.weightOf(NODE_A)).to.equal(10n ** 18n);
      expect(await market.weightOf(NODE_B)).to.equal(10n ** 19n);
      await postOffer(f, f.opA, NODE_A, { units: 10_000n });
      await postOffer(f, f.opB, NODE_B, { units: 10_000n });
      const wins: Record<string, number> = { [NODE_A]: 0, [NODE_B]: 0 };
      const RUNS = 110;
      for (let i = 0; i < RUNS; i++) {
        const id = await createOrder(f, alice, { units: 1n, duration: 60n });
        const receipt = await (await market.connect(alice).matchOrder(id, NO_PRICE_LIMIT)).wait();
        const event = receipt!.logs.map((l) => market.interface.parseLog(l)).find((p) => p?.name === "OrderMatched")!;
        expect(event.args.totalWeight).to.equal(11n * 10n ** 18n);
        wins[event.args.nodeId as string]++;
      }
      // Expected 10 : 100. P(A wins 0 times) = (10/11)^110 ≈ 3e-5; P(B below 80) is smaller still.
      expect(wins[NODE_A]).to.be.greaterThan(0);
      expect(wins[NODE_B]).to.be.greaterThan(80);
      expect(wins[NODE_A] + wins[NODE_B]).to.equal(RUNS);
    });

    it("treats a failing score source as score 0 and caps absurd scores", async () => {
      const f = await marketFixture();
      const { market, scores } = f;
      await scores.setScore(NODE_A, 10n ** 60n);
      expect(await market.weightOf(NODE_A)).to.equal(10n ** 36n + 10n ** 18n);
      await scores.setReverting(true);
      expect(await market.weightOf(NODE_A)).to.equal(10n ** 18n);
      await postOffer(f, f.opA, NODE_A);
      const id = await createOrder(f, f.alice);
      await expect(market.connect(f.alice).matchOrder(id, NO_PRICE_LIMIT))
        .to.emit(market, "OrderMatched")
        .withArgs(id, 1, NODE_A, 1, 1, 10n ** 18n, 10n ** 18n, anyValue);
    });

    it("skips offers whose node left the registry instead of failing the whole match", async () => {
      const f = await marketFixture();
      await postOffer(f, f.opA, NODE_A);
      const b = await postOffer(f, f.opB, NODE_B);
      await f.registry.removeNode(NODE_A);
      const id = await createOrder(f, f.alice);
      await expect(f.market.connect(f.alice).matchOrder(id, NO_PRICE_LIMIT))
        .to.emit(f.market, "OrderMatched")
        .withArgs(id, b, NODE_B, 2, 1, anyValue, anyValue, anyValue);
    });
  });

  describe("leases: accrual, withdrawal and the fee", () => {
    it("accrues per second; the provider withdraws to the payout address and the treasury gets exactly 1 %", async () => {
      const f = await marketFixture();
      const { market, token, opA, payA, treasury } = f;
      const { leaseId, lease } = await leased(f);
      const rate = PRICE * 10n;
      await time.setNextBlockTimestamp(lease.start + 1000n);
      const amount = rate * 1000n;
      const fee = amount / 100n;
      const tx = market.connect(opA).withdraw(leaseId);
      await expect(tx)
        .to.emit(market, "PaymentSettled")
        .withArgs(leaseId, NODE_A, payA.address, amount, amount - fee, fee, amount);
      await expect(tx).to.changeTokenBalances(token, [payA, treasury, f.marketAddress], [amount - fee, fee, -amount]);
      const [stored, , accrued, withdrawable, escrow] = await market.getLease(leaseId);
      expect(stored.withdrawn).to.equal(amount);
      expect(accrued).to.equal(amount);
      expect(withdrawable).to.equal(0);
      expect(escrow).to.equal(rate * DAY - amount);
    });

    it("rounds the fee down (at most 1 wei in the provider's favour per settlement)", async () => {
      const f = await marketFixture();
      const { market, opA, payA, treasury, token } = f;
      // rate = 3 units × 33 wei = 99 wei/s; after 7 s: 693 wei, fee floor(6.93) = 6.
      const { leaseId, lease } = await leased(f, { units: 3n, maxPricePerUnitSecond: 33n, duration: 3600n }, 33n);
      expect(lease.ratePerSecond).to.equal(99);
      await time.setNextBlockTimestamp(lease.start + 7n);
      await expect(market.connect(opA).withdraw(leaseId))
        .to.emit(market, "PaymentSettled")
        .withArgs(leaseId, NODE_A, payA.address, 693, 687, 6, 693);
      expect(await market.feeOf(693)).to.equal(6);
      await market.setFeeBps(0);
      await time.increase(10);
      await expect(market.connect(opA).withdraw(leaseId)).to.changeTokenBalance(token, treasury, 0);
    });

    it("stops accruing at the end: a lease never pays past its duration, and the last withdrawal closes it", async () => {
      const f = await marketFixture();
      const { market, opA, alice } = f;
      const { leaseId, offerId, lease } = await leased(f, { duration: 3600n });
      await time.increaseTo(lease.start + 10_000n);
      const [, , accrued, , escrow] = await market.getLease(leaseId);
      expect(accrued).to.equal(lease.ratePerSecond * 3600n);
      expect(escrow).to.equal(accrued);
      const tx = market.connect(opA).withdraw(leaseId);
      await expect(tx)
        .to.emit(market, "LeaseClosed")
        .withArgs(leaseId, NODE_A, alice.address, opA.address, CloseReason.Expired, lease.end, 0)
        .and.to.emit(market, "OfferUnitsReleased")
        .withArgs(offerId, leaseId, 10, 0);
      await expect(tx)
        .to.emit(market, "PaymentSettled")
        .withArgs(leaseId, NODE_A, anyValue, accrued, anyValue, anyValue, accrued);
      const [closed, , , , left] = await market.getLease(leaseId);
      expect(closed.status).to.equal(LeaseStatus.Closed);
      expect(left).to.equal(0);
      // Double withdraw.
      await expect(market.connect(opA).withdraw(leaseId))
        .to.be.revertedWithCustomError(market, "NothingToWithdraw")
        .withArgs(leaseId);
    });

    it("rejects a double withdraw in the same block, an unauthorised withdraw, an unknown lease and no payout", async () => {
      const f = await marketFixture();
      const { market, opA, opB, alice, registry } = f;
      const { leaseId } = await leased(f);
      await time.increase(50);
      await network.provider.send("evm_setAutomine", [false]);
      try {
        const first = await market.connect(opA).withdraw(leaseId, { gasLimit: 300_000 });
        const second = await market.connect(opA).withdraw(leaseId, { gasLimit: 300_000 });
        await network.provider.send("evm_mine");
        expect((await first.wait())!.status).to.equal(1);
        const failed = await second.wait().then(
          () => false,
          () => true,
        );
        expect(failed, "second withdraw in the same block must revert").to.be.true;
        const receipt = await ethers.provider.getTransactionReceipt(second.hash);
        expect(receipt!.status).to.equal(0);
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      await expect(market.connect(alice).withdraw(leaseId))
        .to.be.revertedWithCustomError(market, "NotOperator")
        .withArgs(NODE_A, alice.address);
      await expect(market.connect(opB).withdraw(leaseId))
        .to.be.revertedWithCustomError(market, "NotOperator")
        .withArgs(NODE_A, opB.address);
      await expect(market.connect(opA).withdraw(999))
        .to.be.revertedWithCustomError(market, "UnknownLease")
        .withArgs(999);
      await registry.setPayout(NODE_A, ethers.ZeroAddress);
      await expect(market.connect(opA).withdraw(leaseId))
        .to.be.revertedWithCustomError(market, "NoPayoutAddress")
        .withArgs(NODE_A);
    });

    it("pays a new operator after a node transfer, to the node's current payout address", async () => {
      const f = await marketFixture();
      const { market, registry, opA, opB, payB } = f;
      const { leaseId } = await leased(f);
      await registry.setOperator(NODE_A, opB.address);
      await registry.setPayout(NODE_A, payB.address);
      await time.increase(10);
      await expect(market.connect(opA).withdraw(leaseId)).to.be.revertedWithCustomError(market, "NotOperator");
      await expect(market.connect(opB).withdraw(leaseId))
        .to.emit(market, "PaymentSettled")
        .withArgs(leaseId, NODE_A, payB.address, anyValue, anyValue, anyValue, anyValue);
    });

    it("withdraws a batch with one fee transfer, skipping leases with nothing accrued", async () => {
      const f = await marketFixture();
      const { market, opA, alice, token, treasury, payA } = f;
      const offerId = await postOffer(f, opA, NODE_A);
      const ids: bigint[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await createOrder(f, alice, { duration: 100n });
        await market.connect(alice).takeOffer(id, offerId, NO_PRICE_LIMIT);
        ids.push(id);
      }
      await time.increase(1000); // all three ran to their end
      const total = PRICE * 10n * 100n * 3n;
      const tx = market.connect(opA).withdrawBatch([...ids, ids[0]]);
      await expect(tx).to.changeTokenBalances(token, [payA, treasury], [total - total / 100n, total / 100n]);
      const receipt = await (await tx).wait();
      const feeTransfers = receipt!.logs.filter((l) => {
        const p = token.interface.parseLog(l);
        return p?.name === "Transfer" && p.args.to === treasury.address;
      });
      expect(feeTransfers.length).to.equal(1);
      await expect(market.connect(opA).withdrawBatch(ids))
        .to.be.revertedWithCustomError(market, "NothingToWithdraw")
        .withArgs(ids[0]);
      await expect(market.connect(opA).withdrawBatch([]))
        .to.be.revertedWithCustomError(market, "BadBatchSize")
        .withArgs(0, 64);
      await expect(market.connect(opA).withdrawBatch(Array(65).fill(ids[0])))
        .to.be.revertedWithCustomError(market, "BadBatchSize")
        .withArgs(65, 64);
      await expect(market.connect(alice).withdrawBatch(ids))
        .to.be.revertedWithCustomError(market, "NotOperator")
        .withArgs(NODE_A, alice.address);
    });
  });

  describe("leases: closing, termination, top-up and task records", () => {
    it("the user closes early: unaccrued escrow back at once, accrued part stays withdrawable", async () => {
      const f = await marketFixture();
      const { market, token, alice, opA, payA } = f;
      const { leaseId, offerId, lease } = await leased(f);
      const rate = lease.ratePerSecond;
      await time.setNextBlockTimestamp(lease.start + 500n);
      const refund = rate * (DAY - 500n);
      const tx = market.connect(alice).closeLease(leaseId);
      await expect(tx)
        .to.emit(market, "LeaseClosed")
        .withArgs(leaseId, NODE_A, alice.address, alice.address, CloseReason.User, lease.start + 500n, refund)
        .and.to.emit(market, "OfferUnitsReleased")
        .withArgs(offerId, leaseId, 10, 0);
      await expect(tx).to.changeTokenBalance(token, alice, refund);
      await time.increase(1000);
      const accrued = rate * 500n;
      await expect(market.connect(opA).withdraw(leaseId)).to.changeTokenBalance(token, payA, accrued - accrued / 100n);
      await expect(market.connect(alice).closeLease(leaseId))
        .to.be.revertedWithCustomError(market, "LeaseNotActive")
        .withArgs(leaseId);
      await expect(market.connect(alice).topUp(leaseId, 10))
        .to.be.revertedWithCustomError(market, "LeaseNotActive")
        .withArgs(leaseId);
    });

    it("closing after the natural end refunds nothing, frees the units, and the provider is still paid in full", async () => {
      const f = await marketFixture();
      const { market, alice, opA } = f;
      const { leaseId, offerId, lease } = await leased(f, { duration: 600n });
      await time.increaseTo(lease.end + 100n);
      await expect(market.connect(alice).closeLease(leaseId))
        .to.emit(market, "LeaseClosed")
        .withArgs(leaseId, NODE_A, alice.address, alice.address, CloseReason.User, lease.end, 0)
        .and.to.emit(market, "OfferUnitsReleased")
        .withArgs(offerId, leaseId, 10, 0);
      const full = lease.ratePerSecond * 600n;
      await expect(market.connect(opA).withdraw(leaseId))
        .to.emit(market, "PaymentSettled")
        .withArgs(leaseId, NODE_A, f.payA.address, full, full - full / 100n, full / 100n, full);
    });

    it("the provider closes: the user is refunded and the provider settled in the same call", async () => {
      const f = await marketFixture();
      const { market, token, alice, opA, payA, treasury, stranger } = f;
      const { leaseId, lease } = await leased(f);
      await expect(market.connect(stranger).closeLease(leaseId))
        .to.be.revertedWithCustomError(market, "NotLeaseParty")
        .withArgs(leaseId, stranger.address);
      const rate = lease.ratePerSecond;
      await time.setNextBlockTimestamp(lease.start + 300n);
      const accrued = rate * 300n;
      const tx = market.connect(opA).closeLease(leaseId);
      await expect(tx)
        .to.emit(market, "LeaseClosed")
        .withArgs(
          leaseId,
          NODE_A,
          alice.address,
          opA.address,
          CloseReason.Provider,
          lease.start + 300n,
          rate * (DAY - 300n),
        )
        .and.to.emit(market, "PaymentSettled")
        .withArgs(leaseId, NODE_A, payA.address, accrued, accrued - accrued / 100n, accrued / 100n, accrued);
      await expect(tx).to.changeTokenBalances(
        token,
        [alice, payA, treasury, f.marketAddress],
        [rate * (DAY - 300n), accrued - accrued / 100n, accrued / 100n, -rate * DAY],
      );
      await expect(market.connect(opA).closeLease(999)).to.be.revertedWithCustomError(market, "UnknownLease");
    });

    it("the oracle terminates for a reported failure, refunding from the failure time", async () => {
      const f = await marketFixture();
      const { market, token, alice, opA, oracle, stranger } = f;
      const { leaseId, lease } = await leased(f);
      const rate = lease.ratePerSecond;
      const report = ethers.id("failure report #1");
      await expect(market.connect(stranger).terminateLease(leaseId, 0, report))
        .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, await market.ORACLE_ROLE());
      await time.setNextBlockTimestamp(lease.start + 100n);
      await market.connect(opA).withdraw(leaseId); // settled through start + 100
      await time.setNextBlockTimestamp(lease.start + 1000n);
      await expect(market.connect(oracle).terminateLease(leaseId, lease.start + 99n, report))
        .to.be.revertedWithCustomError(market, "FailureTimeOutOfRange")
        .withArgs(leaseId, lease.start + 99n, lease.start + 100n, lease.start + 1000n);
      await time.setNextBlockTimestamp(lease.start + 1001n);
      await expect(market.connect(oracle).terminateLease(leaseId, lease.start + 1002n, report))
        .to.be.revertedWithCustomError(market, "FailureTimeOutOfRange")
        .withArgs(leaseId, lease.start + 1002n, lease.start + 100n, lease.start + 1001n);
      await time.setNextBlockTimestamp(lease.start + 1002n);
      const failedAt = lease.start + 400n;
      const refund = rate * (DAY - 400n);
      const tx = market.connect(oracle).terminateLease(leaseId, failedAt, report);
      await expect(tx).to.emit(market, "LeaseTerminated").withArgs(leaseId, NODE_A, failedAt, report);
      await expect(tx)
        .to.emit(market, "LeaseClosed")
        .withArgs(leaseId, NODE_A, alice.address, oracle.address, CloseReason.Oracle, failedAt, refund);
      await expect(tx).to.changeTokenBalance(token, alice, refund);
      const [, , accrued, withdrawable, escrow] = await market.getLease(leaseId);
      expect(accrued).to.equal(rate * 400n);
      expect(withdrawable).to.equal(rate * 300n);
      expect(escrow).to.equal(rate * 300n);
      await expect(market.connect(oracle).terminateLease(leaseId, 0, report))
        .to.be.revertedWithCustomError(market, "LeaseNotActive")
        .withArgs(leaseId);
    });

    it("terminates 'now' with failedAt = 0", async () => {
      const f = await marketFixture();
      const { leaseId, lease } = await leased(f);
      await time.setNextBlockTimestamp(lease.start + 50n);
      await expect(f.market.connect(f.oracle).terminateLease(leaseId, 0, ethers.ZeroHash))
        .to.emit(f.market, "LeaseTerminated")
        .withArgs(leaseId, NODE_A, lease.start + 50n, ethers.ZeroHash);
      expect((await f.market.getLease(leaseId))[0].end).to.equal(lease.start + 50n);
    });

    it("tops up a running lease within the offer's max duration, never an expired one", async () => {
      const f = await marketFixture();
      const { market, token, alice, bob } = f;
      const { leaseId, lease } = await leased(f, { duration: DAY });
      const rate = lease.ratePerSecond;
      await expect(market.connect(bob).topUp(leaseId, 10))
        .to.be.revertedWithCustomError(market, "NotLeaseUser")
        .withArgs(leaseId, bob.address);
      await expect(market.connect(alice).topUp(leaseId, 0)).to.be.revertedWithCustomError(market, "ZeroExtension");
      await expect(market.connect(alice).topUp(leaseId, 29n * DAY + 1n))
        .to.be.revertedWithCustomError(market, "ExceedsMaxDuration")
        .withArgs(leaseId, lease.start + 30n * DAY + 1n, lease.start + 30n * DAY);
      const tx = market.connect(alice).topUp(leaseId, DAY);
      await expect(tx)
        .to.emit(market, "LeaseToppedUp")
        .withArgs(leaseId, alice.address, DAY, rate * DAY, lease.end + DAY);
      await expect(tx).to.changeTokenBalance(token, alice, -rate * DAY);
      const [, , , , escrow] = await market.getLease(leaseId);
      expect(escrow).to.equal(rate * 2n * DAY);
      await time.increaseTo(lease.end + DAY);
      await expect(market.connect(alice).topUp(leaseId, 10))
        .to.be.revertedWithCustomError(market, "LeaseExpired")
        .withArgs(leaseId, lease.end + DAY);
      await expect(market.connect(alice).topUp(12345, 10)).to.be.revertedWithCustomError(market, "UnknownLease");
    });

    it("tops up with a permit", async () => {
      const f = await marketFixture();
      const { market, token, alice, marketAddress } = f;
      const { leaseId, lease } = await leased(f);
      await token.connect(alice).approve(marketAddress, 0);
      const value = lease.ratePerSecond * 3600n;
      const permit = await signPermit(
        privateKeyToAccount(accountKey(13)),
        31337,
        (await token.getAddress()) as `0x${string}`,
        {
          spender: marketAddress as `0x${string}`,
          value,
          nonce: await token.nonces(alice.address),
          deadline: BigInt(await time.latest()) + 600n,
        },
      );
      await expect(market.connect(alice).topUpWithPermit(leaseId, 3600, permit))
        .to.emit(market, "LeaseToppedUp")
        .withArgs(leaseId, alice.address, 3600, value, lease.end + 3600n);
    });

    it("records the provider's task on an active lease", async () => {
      const f = await marketFixture();
      const { market, opA, alice } = f;
      const { leaseId } = await leased(f);
      const hash = ethers.id("manifest");
      await expect(market.connect(opA).recordTask(leaseId, hash, "https://node-a.example:8443/slices"))
        .to.emit(market, "TaskRecorded")
        .withArgs(leaseId, NODE_A, hash, "https://node-a.example:8443/slices");
      const record = await market.taskOf(leaseId);
      expect(record.taskHash).to.equal(hash);
      expect(record.endpoint).to.equal("https://node-a.example:8443/slices");
      await expect(market.connect(alice).recordTask(leaseId, hash, "x"))
        .to.be.revertedWithCustomError(market, "NotOperator")
        .withArgs(NODE_A, alice.address);
      await expect(market.connect(opA).recordTask(leaseId, hash, "x".repeat(257)))
        .to.be.revertedWithCustomError(market, "EndpointTooLong")
        .withArgs(257, 256);
      await market.connect(alice).closeLease(leaseId);
      await expect(market.connect(opA).recordTask(leaseId, hash, "x"))
        .to.be.revertedWithCustomError(market, "LeaseNotActive")
        .withArgs(leaseId);
    });
  });

  describe("reentrancy", () => {
    it("a token calling back into the market during a payout hits the guard", async () => {
      const f = await marketFixture();
      const { deployer, registry, scores, opA, payA, alice } = f;
      const evil = await new ReentrantToken__factory(deployer).deploy(HMS(1_000_000));
      const market = await new ResourceMarket__factory(deployer).deploy(
        await evil.getAddress(),
        await registry.getAddress(),
        await scores.getAddress(),
        f.treasury.address,
        deployer.address,
      );
      await evil.transfer(alice.address, HMS(1000));
      await evil.connect(alice).approve(await market.getAddress(), ethers.MaxUint256);
      await market.connect(opA).postOffer(NODE_A, offer());
      await market.connect(alice).createOrder(order());
      await market.connect(alice).takeOffer(1, 1, NO_PRICE_LIMIT);
      await time.increase(100);
      // During the payout transfer the token calls market.closeLease(1) (as if it were the user).
      await evil.arm(await market.getAddress(), market.interface.encodeFunctionData("withdraw", [1n]));
      await market.connect(opA).withdraw(1);
      const selector = market.interface.getError("ReentrancyGuardReentrantCall")!.selector;
      expect(await evil.lastError()).to.equal(selector);
      expect(await evil.balanceOf(payA.address)).to.be.greaterThan(0);
    });
  });

  it("exposes a typed viem binding of the market to dApps (hre.viem)", async () => {
    const f = await marketFixture();
    const viemMarket = await hre.viem.getContractAt("ResourceMarket", f.marketAddress as `0x${string}`);
    expect(await viemMarket.read.feeBps()).to.equal(100);
    expect(await viemMarket.read.orderEscrow([10n, 5n, 100n])).to.equal(5000n);
  });
});
