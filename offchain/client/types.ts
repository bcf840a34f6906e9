/**
 * Enums and types of every struct and kind of the HMS contracts, as a dApp sees them (numbers as the ABI encodes
 * them, names as the Solidity declares them). test/cli/sdk.test.ts checks each enum against the Solidity source.
 */
import type { Address, Hex } from "viem";
import * as staking from "../chain/staking";
import * as market from "../chain/market";

/** `IBookkeeperStaking.Status` (the same object as offchain/chain/staking's). */
export const BookkeeperStatus = staking.BookkeeperStatus;
/** `BookkeeperCouncil.Action`. */
export const CouncilAction = staking.CouncilAction;
/** `IBookkeeperStaking.Parameter`. */
export const StakingParameter = staking.StakingParameter;
/** `ResourceMarket.ResourceKind`. */
export const ResourceKind = market.ResourceKind;
/** `ResourceMarket.OrderStatus`. */
export const OrderStatus = market.OrderStatus;
/** `ResourceMarket.LeaseStatus`. */
export const LeaseStatus = market.LeaseStatus;
/** `ResourceMarket.CloseReason`. */
export const CloseReason = market.CloseReason;

/** `INodeRegistry.NodeKind`: Storage and Container are resource nodes; Meta runs the meta layer. */
export const NodeKind = { Storage: 0, Container: 1, Meta: 2 } as const;
/** `INodeRegistry.Tier` (BonusCloud hardware tiers). */
export const Tier = { Lite: 0, Normal: 1, Super: 2 } as const;
/** `TokenAllocation.Bucket`. */
export const Bucket = { IDO: 0, Technology: 1, Operation: 2, Foundation: 3, Mining: 4 } as const;

export type NodeKind = (typeof NodeKind)[keyof typeof NodeKind];
export type Tier = (typeof Tier)[keyof typeof Tier];
export type Bucket = (typeof Bucket)[keyof typeof Bucket];
export type ResourceKind = (typeof ResourceKind)[keyof typeof ResourceKind];
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];
export type LeaseStatus = (typeof LeaseStatus)[keyof typeof LeaseStatus];
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];
export type BookkeeperStatus = (typeof BookkeeperStatus)[keyof typeof BookkeeperStatus];
export type CouncilAction = (typeof CouncilAction)[keyof typeof CouncilAction];
export type StakingParameter = (typeof StakingParameter)[keyof typeof StakingParameter];

/** Every enum of the system by its Solidity name (`Contract.Enum`). */
export const ENUMS = {
  "INodeRegistry.NodeKind": NodeKind,
  "INodeRegistry.Tier": Tier,
  "TokenAllocation.Bucket": Bucket,
  "ResourceMarket.ResourceKind": ResourceKind,
  "ResourceMarket.OrderStatus": OrderStatus,
  "ResourceMarket.LeaseStatus": LeaseStatus,
  "ResourceMarket.CloseReason": CloseReason,
  "IBookkeeperStaking.Status": BookkeeperStatus,
  "IBookkeeperStaking.Parameter": StakingParameter,
  "BookkeeperCouncil.Action": CouncilAction,
} as const;

/** The name of `value` in `enumObject` (e.g. `enumName(NodeKind, 2) === "Meta"`), or `"Unknown(<n>)"`. */
export function enumName<E extends Record<string, number>>(enumObject: E, value: number | bigint): string {
  const n = Number(value);
  return Object.entries(enumObject).find(([, v]) => v === n)?.[0] ?? `Unknown(${n})`;
}

/** The value of `name` in `enumObject`, case-insensitive; a number string is accepted as is. Undefined if unknown. */
export function enumValue<E extends Record<string, number>>(enumObject: E, name: string): E[keyof E] | undefined {
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    return Object.values(enumObject).includes(n) ? (n as E[keyof E]) : undefined;
  }
  const hit = Object.entries(enumObject).find(([k]) => k.toLowerCase() === name.toLowerCase());
  return hit?.[1] as E[keyof E] | undefined;
}

/** `INodeRegistry.NodeInfo`. */
export interface NodeInfo {
  operator: Address;
  signingKey: Address;
  payout: Address;
  kind: NodeKind;
  tier: Tier;
  /** Region code (e.g. ISO 3166-1 numeric). */
  region: number;
  /** GiB of storage for storage nodes, millicores for containers. */
  capacity: bigint;
  registeredAt: bigint;
  active: boolean;
  endpoint: string;
}

/** `NodeRegistry.Registration` without the id and key (the action derives them). */
export interface NodeRegistration {
  nodeId: Hex;
  kind: NodeKind;
  tier: Tier;
  region: number;
  capacity: bigint;
  signingKey: Address;
  payout: Address;
  endpoint: string;
}

/** `IBookkeeperStaking.BookkeeperInfo`. */
export interface BookkeeperInfo {
  status: BookkeeperStatus;
  margin: bigint;
  delegated: bigint;
  shares: bigint;
  commissionBps: number;
  pendingMisses: bigint;
  lastElectedEpoch: bigint;
  everElected: boolean;
  slashEpoch: bigint;
  slashedAt: bigint;
  slashBps: number;
}

/** `IBookkeeperStaking.Lock`, with what a withdrawal would pay for it now. */
export interface UnbondingLock {
  bookkeeper: Address;
  releaseAt: bigint;
  amount: bigint;
  epoch: bigint;
  id: bigint;
  own: boolean;
  afterSlash: boolean;
  /** What `withdraw` pays for this lock once matured (after any late slash). */
  payout: bigint;
}

/** `ResourceMarket.OfferParams`. */
export interface OfferParams {
  kind: ResourceKind;
  units: bigint;
  pricePerUnitSecond: bigint;
  minDuration: bigint;
  maxDuration: bigint;
}

/** `ResourceMarket.Offer` with its id. */
export interface Offer {
  offerId: bigint;
  nodeId: Hex;
  pricePerUnitSecond: bigint;
  units: bigint;
  unitsInUse: bigint;
  minDuration: bigint;
  maxDuration: bigint;
  region: number;
  kind: ResourceKind;
  tier: Tier;
  active: boolean;
}

/** `ResourceMarket.OrderParams`. */
export interface OrderParams {
  kind: ResourceKind;
  units: bigint;
  maxPricePerUnitSecond: bigint;
  duration: bigint;
  region: number;
  minTier: Tier;
  expiresAt: bigint;
}

/** `ResourceMarket.Order` with its id and escrow. */
export interface Order {
  orderId: bigint;
  user: Address;
  expiresAt: bigint;
  kind: ResourceKind;
  minTier: Tier;
  status: OrderStatus;
  region: number;
  units: bigint;
  duration: bigint;
  maxPricePerUnitSecond: bigint;
  escrow: bigint;
}

/** `ResourceMarket.Lease` with its id, node and balances (`getLease`). */
export interface Lease {
  leaseId: bigint;
  nodeId: Hex;
  user: Address;
  offerId: bigint;
  units: bigint;
  start: bigint;
  end: bigint;
  maxEnd: bigint;
  status: LeaseStatus;
  closeReason: CloseReason;
  ratePerSecond: bigint;
  withdrawn: bigint;
  accrued: bigint;
  withdrawable: bigint;
  escrow: bigint;
}

/** `BookkeeperCouncil.motion(action, target)`. */
export interface CouncilMotion {
  motionId: Hex;
  action: CouncilAction;
  target: Address;
  open: boolean;
  openedAt: bigint;
  deadline: bigint;
  approvals: bigint;
  required: bigint;
  reason: string;
  proposer: Address;
}

/** `TokenAllocation.bucketInfo` and `scheduleOf`. */
export interface AllocationBucket {
  bucket: Bucket;
  name: string;
  total: bigint;
  released: bigint;
  vested: bigint;
  releasable: bigint;
  beneficiary: Address;
  pendingBeneficiary: Address;
  /** First moment anything unlocks and the moment everything is unlocked (unix seconds). */
  start: bigint;
  end: bigint;
}

/** One node's claim in one reported period (from the report document: `/v1/reports/:period`). */
export interface PeriodClaim {
  period: bigint;
  index: number;
  traffic: bigint;
  proof: readonly Hex[];
}

/** What every write action returns beside its decoded result. */
export interface TransactionResult {
  hash: Hex;
  gasUsed: bigint;
  effectiveGasPrice: bigint;
  blockNumber: bigint;
}
