// BookkeeperStaking (events of its linked library BookkeeperLogic included: they are emitted from the staking
// address): bookkeepers' margin, delegation pools, unbonding locks, elected committees in leader order, slashes
// with their evidence, rewards, missed duty, the pool-funding queue and governance parameters.
import { Address, BigDecimal, BigInt, Bytes, ethereum } from "@graphprotocol/graph-ts";
import {
  BookkeeperDismissed,
  BookkeeperExited,
  BookkeeperRegistered,
  BookkeeperStaking,
  CommissionChanged,
  CommitteeElected,
  CommitteeMemberRemoved,
  Delegated,
  EpochClockScheduled,
  EquivocationProven,
  LockSlashed,
  MarginAdded,
  MiningPoolSet,
  MissedDuty as MissedDutyEvent,
  ParameterChanged,
  PoolFunded,
  PoolFundsPending,
  RewardsCredited,
  RoleGranted,
  RoleRevoked,
  Slashed,
  StatusChanged,
  UnbondingRequested,
  Undelegated,
  Withdrawn,
} from "../generated/BookkeeperStaking/BookkeeperStaking";
import {
  Bookkeeper,
  CommitteeMember,
  Delegation,
  DelegationChange,
  Epoch,
  EpochClockSegment,
  Equivocation,
  MissedDuty,
  Motion,
  Protocol,
  RewardCredit,
  Slash,
  UnbondingLock,
} from "../generated/schema";
import {
  STAKING_PARAMETERS,
  enumName,
  eventId,
  finish,
  finishProtocol,
  getBookkeeper,
  getDay,
  getProtocol,
  minusFloor,
  ratio,
  recordIntParameter,
  recordParameter,
  recordRole,
  zero,
} from "./common";

const CONTRACT = "BookkeeperStaking";
/** IBookkeeperStaking.Status */
const STATUS_REGISTERED = 1;
const STATUS_JAILED = 2;
const STATUS_BLACKLISTED = 3;

// ------------------------------------------------------------------------------------------- stake bookkeeping

/** Sets a bookkeeper's margin, keeping the protocol total and Vt in step. */
function setMargin(b: Bookkeeper, margin: BigInt, p: Protocol): void {
  p.totalMargin = minusFloor(p.totalMargin.plus(margin), b.margin);
  b.margin = margin;
  b.stake = b.margin.plus(b.delegated);
}

/** Sets a bookkeeper's delegated total Lb (and share price), keeping the protocol total and Vt in step. */
function setDelegated(b: Bookkeeper, delegated: BigInt, p: Protocol): void {
  p.totalDelegated = minusFloor(p.totalDelegated.plus(delegated), b.delegated);
  b.delegated = delegated;
  b.stake = b.margin.plus(b.delegated);
  b.sharePrice = ratio(b.delegated, b.delegationShares, BigDecimal.fromString("1"));
}

function getDelegation(bookkeeper: Bytes, delegator: Bytes, event: ethereum.Event): Delegation {
  let id = bookkeeper.concat(delegator);
  let d = Delegation.load(id);
  if (d === null) {
    d = new Delegation(id);
    d.bookkeeper = bookkeeper;
    d.delegator = delegator;
    d.shares = zero();
    d.delegatedTotal = zero();
    d.undelegatedTotal = zero();
    d.createdAt = event.block.timestamp;
  }
  d.updatedAt = event.block.timestamp;
  return d as Delegation;
}

function delegationChange(
  event: ethereum.Event,
  d: Delegation,
  action: string,
  amount: BigInt,
  shares: BigInt,
  poolTokens: BigInt,
  poolShares: BigInt,
): void {
  let c = new DelegationChange(eventId(event));
  c.delegation = d.id;
  c.bookkeeper = d.bookkeeper;
  c.delegator = d.delegator;
  c.action = action;
  c.amount = amount;
  c.shares = shares;
  c.poolTokens = poolTokens;
  c.poolShares = poolShares;
  c.timestamp = event.block.timestamp;
  c.blockNumber = event.block.number;
  c.transaction = event.transaction.hash;
  c.save();
}

// ------------------------------------------------------------------------------------------- life cycle

export function handleBookkeeperRegistered(event: BookkeeperRegistered): void {
  let p = getProtocol();
  let b = getBookkeeper(event.params.bookkeeper, event);
  if (b.registrations == 0) p.bookkeepers = p.bookkeepers + 1;
  b.registrations = b.registrations + 1;
  b.registeredAt = event.block.timestamp;
  b.commissionBps = event.params.commissionBps;
  setMargin(b, event.params.margin, p);
  b.save();
  finishProtocol(p, event);
}

export function handleStatusChanged(event: StatusChanged): void {
  let p = getProtocol();
  let b = getBookkeeper(event.params.bookkeeper, event);
  let current = event.params.current;
  if (event.params.previous == STATUS_REGISTERED) p.activeBookkeepers = p.activeBookkeepers - 1;
  if (current == STATUS_REGISTERED) p.activeBookkeepers = p.activeBookkeepers + 1;
  // None is refined by the event that follows in the same transaction: BookkeeperExited or BookkeeperDismissed.
  if (current == STATUS_REGISTERED) b.status = "ACTIVE";
  else if (current == STATUS_JAILED) {
    b.status = "JAILED";
    b.jailedAt = event.block.timestamp;
  } else if (current == STATUS_BLACKLISTED) {
    b.status = "BLACKLISTED";
    b.blacklistedAt = event.block.timestamp;
  } else b.status = "NONE";
  b.statusChangedAt = event.block.timestamp;
  b.save();
  finishProtocol(p, event);
}

export function handleBookkeeperExited(event: BookkeeperExited): void {
  let b = getBookkeeper(event.params.bookkeeper, event);
  b.status = "EXITED";
  b.exitedAt = event.block.timestamp;
  b.save();
}

export function handleMarginAdded(event: MarginAdded): void {
  let p = getProtocol();
  let b = getBookkeeper(event.params.bookkeeper, event);
  setMargin(b, event.params.margin, p);
  b.save();
  finishProtocol(p, event);
}

export function handleCommissionChanged(event: CommissionChanged): void {
  let b = getBookkeeper(event.params.bookkeeper, event);
  b.commissionBps = event.params.newBps;
  b.save();
}

// ------------------------------------------------------------------------------------------- delegation and locks

export function handleDelegated(event: Delegated): void {
  let p = getProtocol();
  let b = getBookkeeper(event.params.bookkeeper, event);
  b.delegationShares = event.params.poolShares;
  setDelegated(b, event.params.poolTokens, p);
  b.save();
  let d = getDelegation(b.id, event.params.delegator, event);
  d.shares = d.shares.plus(event.params.shares);
  d.delegatedTotal = d.delegatedTotal.plus(event.params.amount);
  d.save();
  delegationChange(
    event,
    d,
    "DELEGATE",
    event.params.amount,
    event.params.shares,
    event.params.poolTokens,
    event.params.poolShares,
  );
  finishProtocol(p, event);
}

export function handleUndelegated(event: Undelegated): void {
  let p = getProtocol();
  let b = getBookkeeper(event.params.bookkeeper, event);
  b.delegationShares = event.params.poolShares;
  setDelegated(b, event.params.poolTokens, p);
  b.save();
  let d = getDelegation(b.id, event.params.delegator, event);
  d.shares = minusFloor(d.shares, event.params.shares);
  d.undelegatedTotal = d.undelegatedTotal.plus(event.params.amount);
  d.save();
  delegationChange(
    event,
    d,
    "UNDELEGATE",
    event.params.amount,
    event.params.shares,
    event.params.poolTokens,
    event.params.poolShares,
  );
  finishProtocol(p, event);
}

export function handleUnbondingRequested(event: UnbondingRequested): void {
  let lock = new UnbondingLock(event.params.lockId.toString());
  lock.lockId = event.params.lockId;
  lock.account = event.params.account;
  lock.bookkeeper = event.params.bookkeeper;
  lock.own = event.params.own;
  lock.amount = event.params.amount;
  lock.releaseAt = event.params.releaseAt;
  lock.epoch = event.params.epoch;
  lock.status = "PENDING";
  lock.paid = zero();
  lock.slashed = zero();
  lock.requestedAt = event.block.timestamp;
  lock.save();
  let b = getBookkeeper(event.params.bookkeeper, event);
  if (event.params.own) {
    // unbond(): the margin lost `amount` (Undelegated already moved a delegation's pool totals).
    let p = getProtocol();
    setMargin(b, minusFloor(b.margin, event.params.amount), p);
    b.save();
    finishProtocol(p, event);
  } else {
    b.save();
  }
}

export function handleWithdrawn(event: Withdrawn): void {
  let lock = UnbondingLock.load(event.params.lockId.toString());
  if (lock === null) return;
  lock.status = "WITHDRAWN";
  lock.paid = event.params.paid;
  lock.slashed = event.params.slashed;
  lock.closedAt = event.block.timestamp;
  lock.save();
}

export function handleLockSlashed(event: LockSlashed): void {
  let lock = UnbondingLock.load(event.params.lockId.toString());
  if (lock !== null) {
    lock.status = "SLASHED";
    lock.slashed = event.params.amount;
    lock.closedAt = event.block.timestamp;
    lock.save();
  }
  // A council verdict reports bonded + unbonding margin as one `forfeited`: remember this transaction's part.
  let b = getBookkeeper(event.params.bookkeeper, event);
  let tx = b.lockSlashTransaction;
  if (tx !== null && tx.equals(event.transaction.hash)) {
    b.lockSlashAmount = b.lockSlashAmount.plus(event.params.amount);
  } else {
    b.lockSlashTransaction = event.transaction.hash;
    b.lockSlashAmount = event.params.amount;
  }
  b.save();
}

// ------------------------------------------------------------------------------------------- election

function toBytesArray(addresses: Address[]): Bytes[] {
  let out = new Array<Bytes>(0);
  for (let i = 0; i < addresses.length; i++) out.push(addresses[i]);
  return out;
}

export function handleCommitteeElected(event: CommitteeElected): void {
  let number = event.params.epoch;
  let id = number.toString();
  let members = event.params.bookkeepers;
  let keys = event.params.signingKeys;
  let weights = event.params.weights;

  let e = new Epoch(id);
  e.epoch = number;
  // One eth_call per election: the epoch's start is not in any event (genesis is set in the constructor).
  let start = BookkeeperStaking.bind(event.address).try_epochStart(number);
  e.startTime = start.reverted ? null : start.value;
  e.electedAt = event.block.timestamp;
  e.electedBlock = event.block.number;
  e.electionTransaction = event.transaction.hash;
  e.size = members.length;
  e.quorum = event.params.quorum.toI32();
  e.leaders = toBytesArray(members);
  e.signingKeys = toBytesArray(keys);
  e.weights = weights;
  e.keysHash = event.params.keysHash;
  e.seed = event.params.seed;
  e.candidates = event.params.candidates.toI32();
  e.removedCount = 0;
  e.save();

  for (let i = 0; i < members.length; i++) {
    let m = new CommitteeMember(id + "-" + i.toString());
    m.epoch = id;
    m.bookkeeper = members[i];
    m.position = i;
    m.signingKey = keys[i];
    m.weight = weights[i];
    m.removed = false;
    m.signedReports = 0;
    m.missedReports = 0;
    m.save();
    let b = getBookkeeper(members[i], event);
    b.timesElected = b.timesElected + 1;
    b.lastElectedEpoch = id;
    b.save();
  }

  let p = getProtocol();
  p.epochsElected = p.epochsElected + 1;
  p.lastElectedEpoch = id;
  finishProtocol(p, event);
}

export function handleCommitteeMemberRemoved(event: CommitteeMemberRemoved): void {
  let id = event.params.epoch.toString();
  let e = Epoch.load(id);
  if (e === null) return;
  e.keysHash = event.params.keysHash;
  e.removedCount = e.removedCount + 1;
  e.save();
  let m = CommitteeMember.load(id + "-" + event.params.position.toString());
  if (m === null) return;
  m.removed = true;
  m.removedAt = event.block.timestamp;
  m.save();
}

export function handleMissedDuty(event: MissedDutyEvent): void {
  let b = getBookkeeper(event.params.bookkeeper, event);
  b.missedDuties = b.missedDuties + 1;
  b.save();
  let m = new MissedDuty(eventId(event));
  m.bookkeeper = b.id;
  m.epoch = event.params.epoch.toString();
  m.pendingMisses = event.params.pendingMisses.toI32();
  m.timestamp = event.block.timestamp;
  m.blockNumber = event.block.number;
  m.transaction = event.transaction.hash;
  m.save();
}

// ------------------------------------------------------------------------------------------- slashing

export function handleEquivocationProven(event: EquivocationProven): void {
  let e = new Equivocation(event.params.evidenceId);
  e.bookkeeper = event.params.bookkeeper;
  e.signingKey = event.params.signingKey;
  e.reporter = event.params.reporter;
  e.epoch = event.params.epoch;
  e.period = event.params.period;
  e.round = event.params.round;
  e.digestA = event.params.digestA;
  e.digestB = event.params.digestB;
  e.timestamp = event.block.timestamp;
  e.blockNumber = event.block.number;
  e.transaction = event.transaction.hash;
  e.save();
  // Slashed follows in the same transaction and carries the amounts.
  let b = getBookkeeper(event.params.bookkeeper, event);
  b.lastEvidence = e.id;
  b.save();
}

function countSlash(p: Protocol, amount: BigInt, event: ethereum.Event): void {
  p.slashes = p.slashes + 1;
  p.slashedAmount = p.slashedAmount.plus(amount);
  let d = getDay(event);
  d.slashes = d.slashes + 1;
  d.slashedAmount = d.slashedAmount.plus(amount);
  finish(p, d, event);
}

export function handleSlashed(event: Slashed): void {
  let p = getProtocol();
  let b = getBookkeeper(event.params.bookkeeper, event);
  let total = event.params.margin.plus(event.params.unbondingMargin).plus(event.params.delegated);

  let s = new Slash(eventId(event));
  s.bookkeeper = b.id;
  s.kind = "EQUIVOCATION";
  s.epoch = event.params.epoch;
  let evidenceId = b.lastEvidence;
  if (evidenceId !== null) {
    let evidence = Equivocation.load(evidenceId);
    if (evidence !== null && evidence.transaction.equals(event.transaction.hash)) {
      s.evidence = evidence.id;
      s.reporter = evidence.reporter;
    }
  }
  s.margin = event.params.margin;
  s.unbondingMargin = event.params.unbondingMargin;
  s.delegated = event.params.delegated;
  s.delegatedBps = event.params.delegatedBps;
  s.amount = total;
  s.bounty = event.params.bounty;
  s.toPool = event.params.toPool;
  s.timestamp = event.block.timestamp;
  s.blockNumber = event.block.number;
  s.transaction = event.transaction.hash;
  s.save();

  setMargin(b, zero(), p);
  setDelegated(b, minusFloor(b.delegated, event.params.delegated), p);
  b.totalSlashed = b.totalSlashed.plus(total);
  b.save();
  countSlash(p, total, event);
}

export function handleBookkeeperDismissed(event: BookkeeperDismissed): void {
  let p = getProtocol();
  let b = getBookkeeper(event.params.bookkeeper, event);
  let forfeited = event.params.forfeited;
  let unbonding = zero();
  let tx = b.lockSlashTransaction;
  if (tx !== null && tx.equals(event.transaction.hash)) unbonding = b.lockSlashAmount;

  let s = new Slash(eventId(event));
  s.bookkeeper = b.id;
  s.kind = event.params.blacklisted ? "BLACKLISTING" : "DISMISSAL";
  // The council's MotionExecuted precedes this event in the same transaction.
  let motionId = b.lastVerdictMotion;
  if (motionId !== null) {
    let motion = Motion.load(motionId);
    if (motion !== null) {
      let executed = motion.executionTransaction;
      if (executed !== null && executed.equals(event.transaction.hash)) {
        s.motion = motion.id;
        s.reporter = motion.proposer;
      }
    }
  }
  s.margin = minusFloor(forfeited, unbonding);
  s.unbondingMargin = unbonding;
  s.delegated = zero();
  s.delegatedBps = 0;
  s.amount = forfeited;
  s.bounty = zero();
  s.toPool = forfeited;
  s.timestamp = event.block.timestamp;
  s.blockNumber = event.block.number;
  s.transaction = event.transaction.hash;
  s.save();

  // Blacklisting already set BLACKLISTED (StatusChanged); a dismissal left NONE, refined here.
  if (!event.params.blacklisted) b.status = "DISMISSED";
  b.dismissedAt = event.block.timestamp;
  setMargin(b, zero(), p);
  b.totalSlashed = b.totalSlashed.plus(forfeited);
  b.save();
  countSlash(p, forfeited, event);
}

// ------------------------------------------------------------------------------------------- rewards and the pool queue

export function handleRewardsCredited(event: RewardsCredited): void {
  let p = getProtocol();
  let b = getBookkeeper(event.params.bookkeeper, event);
  let paid = event.params.toMargin.plus(event.params.toDelegators);
  setMargin(b, b.margin.plus(event.params.toMargin), p);
  setDelegated(b, b.delegated.plus(event.params.toDelegators), p);
  b.rewardsCredited = b.rewardsCredited.plus(paid);
  b.commissionEarned = b.commissionEarned.plus(event.params.commission);
  b.save();

  let r = new RewardCredit(eventId(event));
  r.bookkeeper = b.id;
  r.rewarder = event.params.rewarder;
  r.amount = event.params.amount;
  r.toMargin = event.params.toMargin;
  r.toDelegators = event.params.toDelegators;
  r.commission = event.params.commission;
  r.timestamp = event.block.timestamp;
  r.blockNumber = event.block.number;
  r.transaction = event.transaction.hash;
  r.save();

  // A bookkeeper without stake gets nothing: its reward goes back to the mining pool (toMargin = toDelegators = 0).
  p.bookkeeperRewardsPaid = p.bookkeeperRewardsPaid.plus(paid);
  let d = getDay(event);
  d.bookkeeperRewardsPaid = d.bookkeeperRewardsPaid.plus(paid);
  d.emissionPaid = d.emissionPaid.plus(paid);
  finish(p, d, event);
}

export function handlePoolFunded(event: PoolFunded): void {
  // A flush forwards everything pending; PoolFundsPending follows if the pool pulled less.
  let p = getProtocol();
  p.pendingPoolFunds = zero();
  finishProtocol(p, event);
}

export function handlePoolFundsPending(event: PoolFundsPending): void {
  let p = getProtocol();
  p.pendingPoolFunds = event.params.pending;
  finishProtocol(p, event);
}

// ------------------------------------------------------------------------------------------- governance

export function handleMiningPoolSet(event: MiningPoolSet): void {
  recordParameter(event, CONTRACT, "miningPool", event.params.previous.toHexString(), event.params.pool.toHexString());
}

export function handleParameterChanged(event: ParameterChanged): void {
  let name = enumName(STAKING_PARAMETERS, event.params.param, "IBookkeeperStaking.Parameter");
  recordIntParameter(event, CONTRACT, name, event.params.previous, event.params.value);
}

export function handleEpochClockScheduled(event: EpochClockScheduled): void {
  let id = event.params.fromEpoch.toString();
  let s = EpochClockSegment.load(id);
  if (s === null) s = new EpochClockSegment(id);
  s.fromEpoch = event.params.fromEpoch;
  s.startTime = event.params.startTime;
  s.length = event.params.length;
  s.scheduledAt = event.block.timestamp;
  s.save();
}

export function handleRoleGranted(event: RoleGranted): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, true);
}

export function handleRoleRevoked(event: RoleRevoked): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, false);
}
