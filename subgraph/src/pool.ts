// MiningPool (Proof-of-Traffic): reported periods with their signers and missed signers, claims, reclaims,
// bookkeeper settlements, funding of the reserve and governance parameters.
import { Address, BigInt, Bytes, ethereum } from "@graphprotocol/graph-ts";
import {
  AllocationPulled,
  BookkeeperShareChanged,
  BookkeepersSettled,
  ClaimWindowChanged,
  Claimed,
  ElectionGraceChanged,
  Funded,
  MiningPool,
  PeriodReported,
  Reclaimed,
  RoleGranted,
  RoleRevoked,
} from "../generated/MiningPool/MiningPool";
import { Claim, CommitteeMember, Epoch, Node, Period, PoolFunding, Protocol } from "../generated/schema";
import {
  bitSet,
  cidFromDigest,
  eventId,
  finish,
  finishProtocol,
  getDay,
  getNodeDay,
  getProtocol,
  minusFloor,
  recordIntParameter,
  recordRole,
  zero,
} from "./common";

const CONTRACT = "MiningPool";

/** Reads the pool's immutable genesis and period length once (two eth_calls for the subgraph's lifetime). */
function loadSchedule(p: Protocol, address: Address): void {
  if (p.poolGenesis !== null && p.periodLength !== null) return;
  let pool = MiningPool.bind(address);
  let genesis = pool.try_genesis();
  let length = pool.try_periodLength();
  if (!genesis.reverted && !length.reverted) {
    p.poolGenesis = genesis.value;
    p.periodLength = length.value;
  }
}

export function handlePeriodReported(event: PeriodReported): void {
  let terms = event.params.terms;
  let attestation = event.params.attestation;
  let number = event.params.period;
  let epochId = event.params.epoch.toString();
  let p = getProtocol();
  loadSchedule(p, event.address);

  let r = new Period(number.toString());
  r.period = number;
  r.epoch = epochId;
  let genesis = p.poolGenesis;
  let length = p.periodLength;
  if (genesis !== null && length !== null) {
    r.startTime = genesis.plus(number.times(length));
    r.endTime = genesis.plus(number.plus(BigInt.fromI32(1)).times(length));
  }
  r.rewardsRoot = terms.rewardsRoot;
  r.totalTraffic = terms.totalTraffic;
  r.nodeCount = terms.nodeCount.toI32();
  r.empty = terms.totalTraffic.isZero();
  r.nodeEmission = terms.nodeEmission;
  r.bookkeeperShare = attestation.bookkeeperShare;
  r.emission = terms.nodeEmission.plus(attestation.bookkeeperShare);
  r.recycled = event.params.recycled;
  r.emissionFrom = event.params.emissionFrom;
  r.claimDeadline = terms.claimDeadline;
  r.carryRoot = attestation.carryRoot;
  r.attestationHash = terms.attestationHash;
  r.dataCid = attestation.dataCid;
  r.cid = cidFromDigest(attestation.dataCid);
  r.signerBitmap = attestation.signers;

  // Signers: bit i = member i of the epoch's committee in leader order. Missed: live members who did not sign.
  let signers = new Array<Bytes>(0);
  let missed = new Array<Bytes>(0);
  let epoch = Epoch.load(epochId);
  let size = epoch === null ? 0 : epoch.size;
  for (let i = 0; i < size; i++) {
    let m = CommitteeMember.load(epochId + "-" + i.toString());
    if (m === null) continue;
    if (bitSet(attestation.signers, i)) {
      signers.push(m.bookkeeper);
      m.signedReports = m.signedReports + 1;
      m.save();
    } else if (!m.removed) {
      missed.push(m.bookkeeper);
      m.missedReports = m.missedReports + 1;
      m.save();
    }
  }
  r.signers = signers;
  r.signerCount = signers.length;
  r.missedSigners = missed;
  r.reporter = event.transaction.from;
  r.reportedAt = event.block.timestamp;
  r.reportedBlock = event.block.number;
  r.transaction = event.transaction.hash;
  r.claimed = zero();
  r.claimCount = 0;
  r.reclaimed = zero();
  r.settled = false;
  r.save();

  p.periodsReported = p.periodsReported + 1;
  p.lastReportedPeriod = r.id;
  p.totalTraffic = p.totalTraffic.plus(r.totalTraffic);
  p.emissionReleased = p.emissionReleased.plus(r.emission);
  p.poolReserve = minusFloor(p.poolReserve, r.emission);
  let d = getDay(event);
  d.traffic = d.traffic.plus(r.totalTraffic);
  d.periodsReported = d.periodsReported + 1;
  d.emissionReleased = d.emissionReleased.plus(r.emission);
  finish(p, d, event);
}

export function handleClaimed(event: Claimed): void {
  let periodId = event.params.period.toString();
  let amount = event.params.amount;
  let traffic = event.params.traffic;
  let c = new Claim(periodId + "-" + event.params.index.toString());
  c.period = periodId;
  c.node = event.params.nodeId;
  c.payout = event.params.payout;
  c.index = event.params.index.toI32();
  c.traffic = traffic;
  c.amount = amount;
  c.timestamp = event.block.timestamp;
  c.blockNumber = event.block.number;
  c.transaction = event.transaction.hash;
  c.save();

  let r = Period.load(periodId);
  if (r !== null) {
    r.claimed = r.claimed.plus(amount);
    r.claimCount = r.claimCount + 1;
    r.save();
  }
  let d = getDay(event);
  let n = Node.load(event.params.nodeId);
  if (n !== null) {
    n.rewardsClaimed = n.rewardsClaimed.plus(amount);
    n.rewardedTraffic = n.rewardedTraffic.plus(traffic);
    n.claimCount = n.claimCount + 1;
    n.save();
    let nd = getNodeDay(n.id, event);
    if (nd.claims == 0) d.nodesRewarded = d.nodesRewarded + 1;
    nd.claims = nd.claims + 1;
    nd.traffic = nd.traffic.plus(traffic);
    nd.rewards = nd.rewards.plus(amount);
    nd.save();
  }
  let p = getProtocol();
  p.nodeRewardsPaid = p.nodeRewardsPaid.plus(amount);
  d.claims = d.claims + 1;
  d.nodeRewardsPaid = d.nodeRewardsPaid.plus(amount);
  d.emissionPaid = d.emissionPaid.plus(amount);
  finish(p, d, event);
}

export function handleReclaimed(event: Reclaimed): void {
  let r = Period.load(event.params.period.toString());
  if (r !== null) {
    r.reclaimed = r.reclaimed.plus(event.params.amount);
    r.reclaimedAt = event.block.timestamp;
    r.save();
  }
  let p = getProtocol();
  p.poolReserve = event.params.reserve;
  p.poolReturned = p.poolReturned.plus(event.params.amount);
  finishProtocol(p, event);
}

export function handleBookkeepersSettled(event: BookkeepersSettled): void {
  let r = Period.load(event.params.period.toString());
  if (r !== null) {
    r.settled = true;
    r.settledAt = event.block.timestamp;
    r.bookkeeperPerSigner = event.params.perSigner;
    r.bookkeepersCredited = event.params.credited.toI32();
    r.bookkeepersMissed = event.params.missed.toI32();
    r.bookkeeperShareReturned = event.params.returned;
    r.save();
  }
  let p = getProtocol();
  p.poolReserve = p.poolReserve.plus(event.params.returned);
  p.poolReturned = p.poolReturned.plus(event.params.returned);
  finishProtocol(p, event);
}

function funding(event: ethereum.Event, kind: string, from: Bytes | null, amount: BigInt, reserve: BigInt): void {
  let f = new PoolFunding(eventId(event));
  f.kind = kind;
  f.from = from;
  f.amount = amount;
  f.reserve = reserve;
  f.timestamp = event.block.timestamp;
  f.blockNumber = event.block.number;
  f.transaction = event.transaction.hash;
  f.save();
  let p = getProtocol();
  p.poolFunded = p.poolFunded.plus(amount);
  p.poolReserve = reserve;
  finishProtocol(p, event);
}

export function handleFunded(event: Funded): void {
  funding(event, "FUND", event.params.from, event.params.amount, event.params.reserve);
}

export function handleAllocationPulled(event: AllocationPulled): void {
  funding(event, "ALLOCATION", null, event.params.amount, event.params.reserve);
}

export function handleBookkeeperShareChanged(event: BookkeeperShareChanged): void {
  recordIntParameter(
    event,
    CONTRACT,
    "bookkeeperShareBps",
    BigInt.fromI32(event.params.previous),
    BigInt.fromI32(event.params.current),
  );
}

export function handleClaimWindowChanged(event: ClaimWindowChanged): void {
  recordIntParameter(event, CONTRACT, "claimWindow", event.params.previous, event.params.current);
}

export function handleElectionGraceChanged(event: ElectionGraceChanged): void {
  recordIntParameter(event, CONTRACT, "electionGrace", event.params.previous, event.params.current);
}

export function handleRoleGranted(event: RoleGranted): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, true);
}

export function handleRoleRevoked(event: RoleRevoked): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, false);
}
