/**
 * The market in the deployed system (offchain/chain/deploy.ts, the same code as `npm run deploy:local`): the real
 * NodeRegistry and ContributionRegistry behind it, the timelock as admin and treasury, and every call made the way a
 * dApp makes it — viem typed contracts from offchain/chain, permits signed with offchain/core/signing.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { getAddress, keccak256, toHex, zeroHash, type Hex } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { hmsContracts, loadDeployment } from "../../offchain/chain";
import {
  CloseReason,
  NO_PRICE_LIMIT,
  LeaseStatus,
  ResourceKind,
  accruedAt,
  escrowPermit,
  leaseStarted,
  marketEvents,
  offerPosted,
  orderCreated,
  orderEscrow,
  splitSettlement,
} from "../../offchain/chain/market";
import { HMS, deploySystemFixture } from "../helpers/fixtures";
import { keyRegistrationProof } from "../../offchain/chain/staking";
import { skipUnderCoverage } from "../helpers/coverage";

const GWEI = 10n ** 9n;
const DAY = 86_400n;
const account = (i: number) =>
  mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: i });
const nodeIdOf = (i: number) => keccak256(toHex(`hms-test/market-node/${i}`));

async function marketSystem() {
  const system = await deploySystemFixture();
  const publicClient = await hre.viem.getPublicClient();
  const wallets = await hre.viem.getWalletClients();
  const as = (i: number) => hmsContracts({ public: publicClient, wallet: wallets[i] }, system.deployment);
  const reader = hmsContracts(publicClient, system.deployment);
  const wait = async (hash: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    return receipt;
  };
  const address = (i: number) => getAddress(wallets[i].account.address);
  // The IDO beneficiary (#2) funds the users #16 and #18.
  await wait(await as(0).TokenAllocation.write.release([0]));
  await wait(await as(2).HMSToken.write.transfer([address(16), HMS(10_000)]));
  await wait(await as(2).HMSToken.write.transfer([address(18), HMS(10_000)]));
  /** Operator #`operator` registers storage node `i` paying to #`payout`. */
  const registerNode = async (operator: number, i: number, payout: number, kind = 0, tier = 1, region = 276) => {
    const key = privateKeyToAccount(keccak256(toHex(`hms-test/market-node-key/${i}`)));
    const proof = await keyRegistrationProof(key, {
      chainId: await publicClient.getChainId(),
      registry: system.deployment.contracts.NodeRegistry.address,
      registrant: address(operator),
      subject: nodeIdOf(i),
    });
    return wait(
      await as(operator).NodeRegistry.write.registerNode([
        {
          nodeId: nodeIdOf(i),
          kind,
          tier,
          region,
          capacity: 4_096n,
          signingKey: key.address,
          payout: address(payout),
          endpoint: `http://127.0.0.1:${7500 + i}`,
        },
        proof,
      ]),
    );
  };
  const offer = {
    kind: ResourceKind.Storage,
    units: 1_024n,
    pricePerUnitSecond: GWEI,
    minDuration: 3_600n,
    maxDuration: 30n * DAY,
  };
  const terms = async (o: Partial<{ units: bigint; maxPricePerUnitSecond: bigint; duration: bigint }> = {}) => ({
    kind: ResourceKind.Storage,
    units: o.units ?? 100n,
    maxPricePerUnitSecond: o.maxPricePerUnitSecond ?? 2n * GWEI,
    duration: o.duration ?? 7n * DAY,
    region: 0,
    minTier: 0,
    expiresAt: BigInt(await time.latest()) + 3_600n,
  });
  return { ...system, publicClient, wallets, as, reader, wait, address, registerNode, offer, terms };
}

describe("ResourceMarket in the deployed system (real NodeRegistry + ContributionRegistry, viem)", () => {
  it("is deployed against the real registry and scores, with the timelock as admin and fee treasury", async () => {
    const s = await loadFixture(marketSystem);
    const m = s.reader.ResourceMarket;
    const timelock = s.deployment.contracts.HMSTimelock.address;
    expect(await m.read.registry()).to.equal(s.deployment.contracts.NodeRegistry.address);
    expect(await m.read.scores()).to.equal(s.deployment.contracts.ContributionRegistry.address);
    expect(await m.read.token()).to.equal(s.deployment.contracts.HMSToken.address);
    expect(await m.read.treasury()).to.equal(timelock);
    expect(await m.read.feeBps()).to.equal(100);
    expect(await m.read.hasRole([zeroHash, timelock])).to.equal(true);
    expect(await m.read.hasRole([zeroHash, s.address(0)])).to.equal(false);
  });

  it("register → offer → order with permit → lease → withdraw: the treasury receives exactly 1 %", async () => {
    const s = await loadFixture(marketSystem);
    const { reader, wait } = s;
    const market = reader.ResourceMarket.address;
    const treasury = await reader.ResourceMarket.read.treasury();
    await s.registerNode(12, 0, 17);
    const { offerId } = offerPosted(await wait(await s.as(12).ResourceMarket.write.postOffer([nodeIdOf(0), s.offer])));

    const user = account(16);
    expect(user.address).to.equal(s.address(16));
    const t = await s.terms();
    const escrow = orderEscrow(t);
    const permit = await escrowPermit(
      user,
      await s.publicClient.getChainId(),
      reader.HMSToken.address,
      market,
      await reader.HMSToken.read.nonces([user.address]),
      escrow,
      BigInt(await time.latest()) + 600n,
    );
    const userBefore = await reader.HMSToken.read.balanceOf([user.address]);
    const created = orderCreated(await wait(await s.as(16).ResourceMarket.write.createOrderWithPermit([t, permit])));
    expect(created.escrow).to.equal(escrow);
    const started = leaseStarted(
      await wait(await s.as(16).ResourceMarket.write.takeOffer([created.orderId, offerId, NO_PRICE_LIMIT])),
    );
    expect(started.nodeId).to.equal(nodeIdOf(0));
    expect(started.excessRefund).to.equal(escrow / 2n); // offer at half the order's maximum price
    await wait(
      await s.as(12).ResourceMarket.write.recordTask([started.leaseId, keccak256(toHex("manifest")), "http://n0/"]),
    );

    // Two days of service, then the provider withdraws to the node's payout address (#17).
    const at = started.start + 2n * DAY;
    await time.setNextBlockTimestamp(at);
    const payoutBefore = await reader.HMSToken.read.balanceOf([s.address(17)]);
    const treasuryBefore = await reader.HMSToken.read.balanceOf([treasury]);
    const receipt = await wait(await s.as(12).ResourceMarket.write.withdraw([started.leaseId]));
    const [settled] = marketEvents(receipt, "PaymentSettled");
    const [lease] = await reader.ResourceMarket.read.getLease([started.leaseId]);
    const amount = accruedAt(lease, at);
    expect(amount).to.equal(100n * GWEI * 2n * DAY);
    expect(settled.amount).to.equal(amount);
    const fee = (await reader.HMSToken.read.balanceOf([treasury])) - treasuryBefore;
    const paid = (await reader.HMSToken.read.balanceOf([s.address(17)])) - payoutBefore;
    expect(fee * 100n).to.equal(amount); // exactly 1 %
    expect({ payout: paid, fee }).to.deep.equal(splitSettlement(amount, 100));

    // The user closes after 3 days: the 4 unaccrued days come back; the provider collects the last day.
    await time.setNextBlockTimestamp(started.start + 3n * DAY);
    const [closed] = marketEvents(
      await wait(await s.as(16).ResourceMarket.write.closeLease([started.leaseId])),
      "LeaseClosed",
    );
    expect(closed.reason).to.equal(CloseReason.User);
    expect(closed.refund).to.equal(100n * GWEI * 4n * DAY);
    await wait(await s.as(12).ResourceMarket.write.withdraw([started.leaseId]));
    const [final, , , withdrawable, left] = await reader.ResourceMarket.read.getLease([started.leaseId]);
    expect(final.status).to.equal(LeaseStatus.Closed);
    expect([withdrawable, left]).to.deep.equal([0n, 0n]);
    // Conservation: the user paid exactly 3 days; node + treasury received exactly that; the market holds nothing.
    const spent = userBefore - (await reader.HMSToken.read.balanceOf([user.address]));
    const nodeTotal = (await reader.HMSToken.read.balanceOf([s.address(17)])) - payoutBefore;
    const feeTotal = (await reader.HMSToken.read.balanceOf([treasury])) - treasuryBefore;
    expect(spent).to.equal(100n * GWEI * 3n * DAY);
    expect(nodeTotal + feeTotal).to.equal(spent);
    expect(feeTotal * 100n).to.equal(spent);
    expect(await reader.HMSToken.read.balanceOf([market])).to.equal(0n);
  });

  it("matches among registered nodes, skips a deregistered one, and anyone prunes its offer", async () => {
    const s = await loadFixture(marketSystem);
    const { reader, wait, as } = s;
    await s.registerNode(12, 1, 12);
    await s.registerNode(13, 2, 13, 0, 2, 840);
    const { offerId: first } = offerPosted(
      await wait(await as(12).ResourceMarket.write.postOffer([nodeIdOf(1), s.offer])),
    );
    const { offerId: second } = offerPosted(
      await wait(await as(13).ResourceMarket.write.postOffer([nodeIdOf(2), s.offer])),
    );
    await wait(await as(12).NodeRegistry.write.deregister([nodeIdOf(1)]));
    await wait(await as(18).HMSToken.write.approve([reader.ResourceMarket.address, HMS(10_000)]));
    for (let i = 0; i < 3; i++) {
      const t = await s.terms({ units: 10n, duration: DAY });
      const { orderId } = orderCreated(await wait(await as(18).ResourceMarket.write.createOrder([t])));
      const [matched] = marketEvents(
        await wait(await as(18).ResourceMarket.write.matchOrder([orderId, NO_PRICE_LIMIT])),
        "OrderMatched",
      );
      expect(matched.offerId).to.equal(second);
      expect(matched.nodeId).to.equal(nodeIdOf(2));
      expect(matched.examined).to.equal(2n);
      expect(matched.eligible).to.equal(1n);
    }
    const [removed] = marketEvents(await wait(await as(19).ResourceMarket.write.pruneOffer([first])), "OfferWithdrawn");
    expect(removed.pruned).to.equal(true);
    expect(await reader.ResourceMarket.read.offerCountOfKind([ResourceKind.Storage])).to.equal(1n);
  });

  it("gas with the real registry and scores: take, withdraw, match with K = 8 and 32", async function () {
    skipUnderCoverage(this);
    const s = await loadFixture(marketSystem);
    const { reader, wait, as } = s;
    for (let n = 0; n < 5; n++) {
      await s.registerNode(12, 10 + n, 12);
      for (let i = 0; i < 8; i++) await wait(await as(12).ResourceMarket.write.postOffer([nodeIdOf(10 + n), s.offer]));
    }
    expect(await reader.ResourceMarket.read.offerCountOfKind([ResourceKind.Storage])).to.equal(40n);
    await wait(await as(18).HMSToken.write.approve([reader.ResourceMarket.address, HMS(10_000)]));
    const order = async () =>
      orderCreated(await wait(await as(18).ResourceMarket.write.createOrder([await s.terms({ units: 1n })]))).orderId;
    // Govern K through the timelock, as on a real deployment.
    const { govern } = await import("../helpers/governance");
    const { ResourceMarket__factory } = await import("../../typechain-types");
    const iface = ResourceMarket__factory.createInterface();
    const gas: Record<string, bigint> = {};
    const warm = await order();
    gas.take = (await wait(await as(18).ResourceMarket.write.takeOffer([warm, 1n, NO_PRICE_LIMIT]))).gasUsed;
    await time.increase(3_600);
    gas.withdraw = (await wait(await as(12).ResourceMarket.write.withdraw([warm]))).gasUsed;
    await time.increase(3_600);
    gas.withdrawTypical = (await wait(await as(12).ResourceMarket.write.withdraw([warm]))).gasUsed;
    for (const k of [8, 32]) {
      await govern(s.timelock, reader.ResourceMarket.address, iface.encodeFunctionData("setMatchK", [k]));
      const id = await order();
      const receipt = await wait(await as(18).ResourceMarket.write.matchOrder([id, NO_PRICE_LIMIT]));
      expect(marketEvents(receipt, "OrderMatched")[0].examined).to.equal(BigInt(k));
      gas[`match${k}`] = receipt.gasUsed;
    }
    console.log(
      `      real registry: takeOffer ${gas.take}, withdraw ${gas.withdraw} (first) / ${gas.withdrawTypical}, ` +
        `matchOrder K=8 ${gas.match8}, K=32 ${gas.match32}`,
    );
    expect(gas.match8).to.be.at.most(320_000n);
    expect(gas.match32).to.be.at.most(750_000n);
  });

  it("deploy:local against `hardhat node`, then the viem dApp example leases storage and settles it", async function () {
    this.timeout(180_000);
    const { spawnHardhatNode, run, runExample } = await import("../helpers/processes");
    const node = await spawnHardhatNode();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-market-"));
    try {
      const env = { ...process.env, HMS_RPC_URL: node.url, HMS_DEPLOYMENTS_DIR: dir };
      await run("npx", ["hardhat", "run", "scripts/deploy.ts", "--network", "localhost"], env);
      const file = path.join(dir, "localhost.json");
      expect(Object.keys(loadDeployment(file).contracts)).to.include("ResourceMarket");
      const out = await runExample("scripts/examples/dapp-market.ts", [file], env);
      // 100 GiB × 1 gwei × 3600 s = 0.00036 HMS; 1 % of it to the treasury (the script also checks it to the wei).
      expect(out).to.match(/excess refunded 0\.03024 HMS|excess refunded 0\.03024\b/);
      expect(out).to.include("withdrawn after 3600 s: 0.00036 HMS -> payout 0.0003564 to the node, fee 0.0000036");
      expect(out).to.match(/\(1 %\)/);
      expect(out).to.match(/closed at \+3601 s: refund [\d.]+ HMS; still withdrawable by the provider [\d.]+/);
    } finally {
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
