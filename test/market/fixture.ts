/**
 * ResourceMarket unit fixture: the real HMSToken (from the system deployment) with a MarketMockRegistry
 * and a MarketMockScores, three resource nodes and two funded users. The market's admin is the
 * deployer here so that tests can change parameters directly (governance through the timelock is
 * tested separately).
 */
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Bucket, HMS, deploySystemFixture } from "../helpers/fixtures";
import {
  MarketProbe__factory,
  MarketMockScores__factory,
  MarketMockRegistry__factory,
  ResourceMarket__factory,
  type ResourceMarket,
} from "../../typechain-types";

/** ResourceMarket.ResourceKind */
export const Kind = { Storage: 0, Compute: 1, Bandwidth: 2 } as const;
/** INodeRegistry.NodeKind */
export const NodeKind = { Storage: 0, Container: 1, Meta: 2 } as const;
/** INodeRegistry.Tier */
export const Tier = { Lite: 0, Normal: 1, Super: 2 } as const;
/** ResourceMarket.OrderStatus / LeaseStatus / CloseReason */
export const OrderStatus = { None: 0, Open: 1, Filled: 2, Cancelled: 3 } as const;
export const LeaseStatus = { None: 0, Active: 1, Closed: 2 } as const;
export const CloseReason = { None: 0, User: 1, Provider: 2, Oracle: 3, Expired: 4 } as const;

export const NODE_A = ethers.id("market-node-a"); // storage, Normal, region 250
export const NODE_B = ethers.id("market-node-b"); // storage, Super, region 276
export const NODE_C = ethers.id("market-node-c"); // container, Lite, region 250
export const NODE_META = ethers.id("market-node-meta");
export const REGION_FR = 250;
export const REGION_DE = 276;
export const DAY = 86_400n;

export const GWEI = 10n ** 9n;
/** Default storage price: 1 gwei HMS per GiB-second (≈ 2.6 HMS per GiB-month). */
export const PRICE = GWEI;

export interface OfferInput {
  kind?: number;
  units?: bigint;
  pricePerUnitSecond?: bigint;
  minDuration?: bigint;
  maxDuration?: bigint;
}
export function offer(o: OfferInput = {}) {
  return {
    kind: o.kind ?? Kind.Storage,
    units: o.units ?? 100n,
    pricePerUnitSecond: o.pricePerUnitSecond ?? PRICE,
    minDuration: o.minDuration ?? 60n,
    maxDuration: o.maxDuration ?? 30n * DAY,
  };
}

export interface OrderInput {
  kind?: number;
  units?: bigint;
  maxPricePerUnitSecond?: bigint;
  duration?: bigint;
  region?: number;
  minTier?: number;
  expiresAt?: bigint;
}
export function order(o: OrderInput = {}) {
  return {
    kind: o.kind ?? Kind.Storage,
    units: o.units ?? 10n,
    maxPricePerUnitSecond: o.maxPricePerUnitSecond ?? 2n * PRICE,
    duration: o.duration ?? DAY,
    region: o.region ?? 0,
    minTier: o.minTier ?? Tier.Lite,
    expiresAt: o.expiresAt ?? 2n ** 63n,
  };
}

export async function deployMarket() {
  const sys = await deploySystemFixture();
  const { token, allocation, signers, deployer } = sys;
  const [, , ido] = signers;
  const treasury = signers[5];
  const oracle = signers[6];
  const [opA, opB, opC] = [signers[7], signers[8], signers[9]];
  const [payA, payB, payC] = [signers[10], signers[11], signers[12]];
  const [alice, bob] = [signers[13], signers[14]];
  const stranger = signers[15];

  await allocation.release(Bucket.IDO);
  const registry = await new MarketMockRegistry__factory(deployer).deploy();
  const scores = await new MarketMockScores__factory(deployer).deploy();
  const market = await new ResourceMarket__factory(deployer).deploy(
    await token.getAddress(),
    await registry.getAddress(),
    await scores.getAddress(),
    treasury.address,
    deployer.address,
  );
  await market.grantRole(await market.ORACLE_ROLE(), oracle.address);
  await registry.setNode(NODE_A, opA.address, payA.address, NodeKind.Storage, Tier.Normal, REGION_FR);
  await registry.setNode(NODE_B, opB.address, payB.address, NodeKind.Storage, Tier.Super, REGION_DE);
  await registry.setNode(NODE_C, opC.address, payC.address, NodeKind.Container, Tier.Lite, REGION_FR);
  await registry.setNode(NODE_META, opC.address, payC.address, NodeKind.Meta, Tier.Super, REGION_FR);
  const marketAddress = await market.getAddress();
  for (const user of [alice, bob]) {
    await token.connect(ido).transfer(user.address, HMS(1_000_000));
    await token.connect(user).approve(marketAddress, ethers.MaxUint256);
  }
  const probe = await new MarketProbe__factory(deployer).deploy();
  return {
    ...sys,
    ido,
    registry,
    scores,
    market,
    marketAddress,
    probe,
    treasury,
    oracle,
    opA,
    opB,
    opC,
    payA,
    payB,
    payC,
    alice,
    bob,
    stranger,
  };
}

/** The market fixture, deployed once per test file and reverted to between tests. */
export function marketFixture() {
  return loadFixture(deployMarket);
}

export type MarketFixture = Awaited<ReturnType<typeof deployMarket>>;

/** Id returned by a market call, read from the event it emitted. */
export async function eventArg(
  market: ResourceMarket,
  tx: Promise<{ wait(): Promise<unknown> }>,
  event: string,
  arg: string,
): Promise<bigint> {
  const receipt = (await (await tx).wait()) as { logs: { topics: string[]; data: string }[] };
  for (const log of receipt.logs) {
    const parsed = market.interface.parseLog(log);
    if (parsed?.name === event) return parsed.args[arg] as bigint;
  }
  throw new Error(`no ${event} event`);
}

/** Posts an offer from `operator` for `nodeId`; returns its id. */
export async function postOffer(f: MarketFixture, operator: typeof f.opA, nodeId: string, o: OfferInput = {}) {
  return eventArg(f.market, f.market.connect(operator).postOffer(nodeId, offer(o)), "OfferPosted", "offerId");
}

/** Creates an order from `user`; returns its id. */
export async function createOrder(f: MarketFixture, user: typeof f.alice, o: OrderInput = {}) {
  return eventArg(f.market, f.market.connect(user).createOrder(order(o)), "OrderCreated", "orderId");
}
