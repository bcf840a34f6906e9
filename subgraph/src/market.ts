// ResourceMarket: offers, orders (with the weighted random match when the contract chose), leases, top-ups,
// payment settlements with the platform fee, closes and oracle terminations, governance parameters.
import { BigDecimal, BigInt } from "@graphprotocol/graph-ts";
import {
  FeeBpsChanged,
  LeaseClosed,
  LeaseStarted,
  LeaseTerminated,
  LeaseToppedUp,
  MatchKChanged,
  MaxOffersPerKindChanged,
  OfferPosted,
  OfferUnitsReleased,
  OfferUpdated,
  OfferWithdrawn,
  OrderCancelled,
  OrderCreated,
  OrderMatched,
  PaymentSettled,
  RoleGranted,
  RoleRevoked,
  ScoreFloorChanged,
  TaskRecorded,
  TreasuryChanged,
} from "../generated/ResourceMarket/ResourceMarket";
import { Lease, LeaseTopUp, Node, Offer, Order, Settlement } from "../generated/schema";
import {
  CLOSE_REASONS,
  RESOURCE_KINDS,
  TIERS,
  enumName,
  eventId,
  finish,
  finishProtocol,
  getDay,
  getNodeDay,
  getProtocol,
  ratio,
  recordIntParameter,
  recordParameter,
  recordRole,
  zero,
} from "./common";

const CONTRACT = "ResourceMarket";

// ------------------------------------------------------------------------------------------- offers

export function handleOfferPosted(event: OfferPosted): void {
  let o = new Offer(event.params.offerId.toString());
  o.offerId = event.params.offerId;
  o.node = event.params.nodeId;
  o.operator = event.params.operator;
  o.kind = enumName(RESOURCE_KINDS, event.params.kind, "ResourceMarket.ResourceKind");
  o.units = event.params.units;
  o.unitsInUse = zero();
  o.pricePerUnitSecond = event.params.pricePerUnitSecond;
  o.minDuration = event.params.minDuration;
  o.maxDuration = event.params.maxDuration;
  o.region = event.params.region;
  o.tier = enumName(TIERS, event.params.tier, "Tier");
  o.status = "ACTIVE";
  o.postedAt = event.block.timestamp;
  o.updatedAt = event.block.timestamp;
  o.save();
  let p = getProtocol();
  p.offers = p.offers + 1;
  p.activeOffers = p.activeOffers + 1;
  finishProtocol(p, event);
}

export function handleOfferUpdated(event: OfferUpdated): void {
  let o = Offer.load(event.params.offerId.toString());
  if (o === null) return;
  o.units = event.params.units;
  o.pricePerUnitSecond = event.params.pricePerUnitSecond;
  o.minDuration = event.params.minDuration;
  o.maxDuration = event.params.maxDuration;
  o.region = event.params.region;
  o.tier = enumName(TIERS, event.params.tier, "Tier");
  o.updatedAt = event.block.timestamp;
  o.save();
}

export function handleOfferWithdrawn(event: OfferWithdrawn): void {
  let o = Offer.load(event.params.offerId.toString());
  if (o === null) return;
  if (o.status == "ACTIVE") {
    let p = getProtocol();
    p.activeOffers = p.activeOffers - 1;
    finishProtocol(p, event);
  }
  o.status = event.params.pruned ? "PRUNED" : "WITHDRAWN";
  o.withdrawnAt = event.block.timestamp;
  o.withdrawnBy = event.params.by;
  o.updatedAt = event.block.timestamp;
  o.save();
}

export function handleOfferUnitsReleased(event: OfferUnitsReleased): void {
  let o = Offer.load(event.params.offerId.toString());
  if (o === null) return;
  o.unitsInUse = event.params.unitsInUse;
  o.updatedAt = event.block.timestamp;
  o.save();
}

// ------------------------------------------------------------------------------------------- orders

export function handleOrderCreated(event: OrderCreated): void {
  let o = new Order(event.params.orderId.toString());
  o.orderId = event.params.orderId;
  o.user = event.params.user;
  o.kind = enumName(RESOURCE_KINDS, event.params.kind, "ResourceMarket.ResourceKind");
  o.units = event.params.units;
  o.maxPricePerUnitSecond = event.params.maxPricePerUnitSecond;
  o.duration = event.params.duration;
  o.region = event.params.region;
  o.minTier = enumName(TIERS, event.params.minTier, "Tier");
  o.expiresAt = event.params.expiresAt;
  o.escrow = event.params.escrow;
  o.status = "OPEN";
  o.createdAt = event.block.timestamp;
  o.matched = false;
  o.save();
  let p = getProtocol();
  p.orders = p.orders + 1;
  let d = getDay(event);
  d.ordersCreated = d.ordersCreated + 1;
  finish(p, d, event);
}

export function handleOrderCancelled(event: OrderCancelled): void {
  let o = Order.load(event.params.orderId.toString());
  if (o !== null) {
    o.status = "CANCELLED";
    o.cancelledAt = event.block.timestamp;
    o.cancelledBy = event.params.by;
    o.refund = event.params.refund;
    o.save();
  }
  let d = getDay(event);
  d.refunds = d.refunds.plus(event.params.refund);
  finish(getProtocol(), d, event);
}

export function handleOrderMatched(event: OrderMatched): void {
  let o = Order.load(event.params.orderId.toString());
  if (o === null) return;
  o.matched = true;
  o.matchExamined = event.params.examined.toI32();
  o.matchEligible = event.params.eligible.toI32();
  o.matchWeight = event.params.weight;
  o.matchTotalWeight = event.params.totalWeight;
  o.matchSeed = event.params.seed;
  o.save();
}

// ------------------------------------------------------------------------------------------- leases

export function handleLeaseStarted(event: LeaseStarted): void {
  let id = event.params.leaseId.toString();
  let l = new Lease(id);
  l.leaseId = event.params.leaseId;
  l.order = id;
  l.offer = event.params.offerId.toString();
  l.node = event.params.nodeId;
  l.user = event.params.user;
  l.units = event.params.units;
  l.pricePerUnitSecond = event.params.pricePerUnitSecond;
  l.ratePerSecond = event.params.pricePerUnitSecond.times(event.params.units);
  l.start = event.params.start;
  l.end = event.params.end;
  l.escrow = event.params.escrow;
  l.excessRefund = event.params.excessRefund;
  l.toppedUp = zero();
  l.status = "ACTIVE";
  l.closeReason = "NONE";
  l.refund = zero();
  l.settled = zero();
  l.payouts = zero();
  l.fees = zero();
  l.save();

  let o = Order.load(id);
  if (o !== null) {
    o.status = "FILLED";
    o.lease = id;
    o.save();
  }
  let offer = Offer.load(l.offer);
  if (offer !== null) {
    offer.unitsInUse = offer.unitsInUse.plus(event.params.units);
    offer.updatedAt = event.block.timestamp;
    offer.save();
  }
  let p = getProtocol();
  p.leases = p.leases + 1;
  p.activeLeases = p.activeLeases + 1;
  let d = getDay(event);
  d.leasesStarted = d.leasesStarted + 1;
  d.refunds = d.refunds.plus(event.params.excessRefund);
  finish(p, d, event);
}

export function handleLeaseToppedUp(event: LeaseToppedUp): void {
  let l = Lease.load(event.params.leaseId.toString());
  if (l === null) return;
  l.end = event.params.newEnd;
  l.toppedUp = l.toppedUp.plus(event.params.amount);
  l.save();
  let t = new LeaseTopUp(eventId(event));
  t.lease = l.id;
  t.user = event.params.user;
  t.extraSeconds = event.params.extraSeconds;
  t.amount = event.params.amount;
  t.newEnd = event.params.newEnd;
  t.timestamp = event.block.timestamp;
  t.blockNumber = event.block.number;
  t.transaction = event.transaction.hash;
  t.save();
}

export function handlePaymentSettled(event: PaymentSettled): void {
  let amount = event.params.amount;
  let fee = event.params.fee;
  let payout = event.params.payout;
  let p = getProtocol();

  let s = new Settlement(eventId(event));
  s.lease = event.params.leaseId.toString();
  s.node = event.params.nodeId;
  s.payoutAddress = event.params.payoutAddress;
  s.amount = amount;
  s.payout = payout;
  s.fee = fee;
  s.feeBps = p.feeBps;
  s.feeRate = ratio(fee, amount, BigDecimal.zero());
  s.withdrawnTotal = event.params.withdrawnTotal;
  s.timestamp = event.block.timestamp;
  s.blockNumber = event.block.number;
  s.transaction = event.transaction.hash;
  s.save();

  let l = Lease.load(s.lease);
  if (l !== null) {
    l.settled = event.params.withdrawnTotal;
    l.payouts = l.payouts.plus(payout);
    l.fees = l.fees.plus(fee);
    l.save();
  }
  let n = Node.load(event.params.nodeId);
  if (n !== null) {
    n.marketEarnings = n.marketEarnings.plus(payout);
    n.marketFees = n.marketFees.plus(fee);
    n.save();
    let nd = getNodeDay(n.id, event);
    nd.marketEarnings = nd.marketEarnings.plus(payout);
    nd.save();
  }
  p.marketVolume = p.marketVolume.plus(amount);
  p.marketFees = p.marketFees.plus(fee);
  let d = getDay(event);
  d.marketVolume = d.marketVolume.plus(amount);
  d.marketFees = d.marketFees.plus(fee);
  d.providerPayouts = d.providerPayouts.plus(payout);
  d.settlements = d.settlements + 1;
  finish(p, d, event);
}

export function handleLeaseClosed(event: LeaseClosed): void {
  let l = Lease.load(event.params.leaseId.toString());
  let p = getProtocol();
  if (l !== null) {
    if (l.status == "ACTIVE") p.activeLeases = p.activeLeases - 1;
    l.status = "CLOSED";
    l.closeReason = enumName(CLOSE_REASONS, event.params.reason, "ResourceMarket.CloseReason");
    l.closedBy = event.params.by;
    l.closedAt = event.block.timestamp;
    l.end = event.params.end;
    l.refund = l.refund.plus(event.params.refund);
    l.save();
  }
  let d = getDay(event);
  d.leasesClosed = d.leasesClosed + 1;
  d.refunds = d.refunds.plus(event.params.refund);
  finish(p, d, event);
}

export function handleLeaseTerminated(event: LeaseTerminated): void {
  let l = Lease.load(event.params.leaseId.toString());
  if (l === null) return;
  l.failedAt = event.params.failedAt;
  l.failureReportHash = event.params.reportHash;
  l.save();
}

export function handleTaskRecorded(event: TaskRecorded): void {
  let l = Lease.load(event.params.leaseId.toString());
  if (l === null) return;
  l.taskHash = event.params.taskHash;
  l.taskEndpoint = event.params.endpoint;
  l.save();
}

// ------------------------------------------------------------------------------------------- governance

export function handleFeeBpsChanged(event: FeeBpsChanged): void {
  let p = getProtocol();
  p.feeBps = event.params.current;
  finishProtocol(p, event);
  recordIntParameter(
    event,
    CONTRACT,
    "feeBps",
    BigInt.fromI32(event.params.previous),
    BigInt.fromI32(event.params.current),
  );
}

export function handleTreasuryChanged(event: TreasuryChanged): void {
  let p = getProtocol();
  p.treasury = event.params.current;
  finishProtocol(p, event);
  recordParameter(event, CONTRACT, "treasury", event.params.previous.toHexString(), event.params.current.toHexString());
}

export function handleMatchKChanged(event: MatchKChanged): void {
  recordIntParameter(
    event,
    CONTRACT,
    "matchK",
    BigInt.fromI32(event.params.previous),
    BigInt.fromI32(event.params.current),
  );
}

export function handleMaxOffersPerKindChanged(event: MaxOffersPerKindChanged): void {
  recordIntParameter(event, CONTRACT, "maxOffersPerKind", event.params.previous, event.params.current);
}

export function handleScoreFloorChanged(event: ScoreFloorChanged): void {
  recordIntParameter(event, CONTRACT, "scoreFloor", event.params.previous, event.params.current);
}

export function handleRoleGranted(event: RoleGranted): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, true);
}

export function handleRoleRevoked(event: RoleRevoked): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, false);
}
