// BookkeeperCouncil (PPoV committee oversight, created by BookkeeperStaking): members, motions and their votes,
// recommendations, admissions and verdicts. The slash a verdict causes is recorded from BookkeeperStaking's
// BookkeeperDismissed, which follows MotionExecuted in the same transaction.
import { Address } from "@graphprotocol/graph-ts";
import {
  AdmissionChanged,
  MemberAdded,
  MemberRemoved,
  MotionClosed,
  MotionExecuted,
  MotionOpened,
  Recommended,
  VerdictApplied,
  Voted,
} from "../generated/BookkeeperCouncil/BookkeeperCouncil";
import { CouncilMember, CouncilVote, Motion, Recommendation } from "../generated/schema";
import { COUNCIL_ACTIONS, enumName, eventId, getBookkeeper } from "./common";

const DISMISS = 2;
const BLACKLIST = 3;

function getMember(account: Address): CouncilMember {
  let m = CouncilMember.load(account);
  if (m === null) {
    m = new CouncilMember(account);
    m.active = false;
  }
  return m as CouncilMember;
}

export function handleMemberAdded(event: MemberAdded): void {
  let m = getMember(event.params.member);
  m.active = true;
  m.addedAt = event.block.timestamp;
  m.removedAt = null;
  m.save();
}

export function handleMemberRemoved(event: MemberRemoved): void {
  let m = getMember(event.params.member);
  if (m.get("addedAt") === null) m.addedAt = event.block.timestamp;
  m.active = false;
  m.removedAt = event.block.timestamp;
  m.save();
}

export function handleMotionOpened(event: MotionOpened): void {
  let m = new Motion(event.params.motionId);
  m.action = enumName(COUNCIL_ACTIONS, event.params.action, "BookkeeperCouncil.Action");
  m.target = event.params.target;
  m.proposer = event.params.proposer.equals(Address.zero()) ? null : event.params.proposer;
  m.reason = event.params.reason;
  m.deadline = event.params.deadline.isZero() ? null : event.params.deadline;
  m.status = "OPEN";
  m.approvals = 0;
  m.required = 0;
  m.openedAt = event.block.timestamp;
  m.save();
}

export function handleVoted(event: Voted): void {
  let m = Motion.load(event.params.motionId);
  if (m === null) return;
  m.approvals = event.params.approvals.toI32();
  m.required = event.params.required.toI32();
  m.save();
  let v = new CouncilVote(eventId(event));
  v.motion = m.id;
  v.member = event.params.member;
  v.approvals = m.approvals;
  v.required = m.required;
  v.timestamp = event.block.timestamp;
  v.blockNumber = event.block.number;
  v.transaction = event.transaction.hash;
  v.save();
}

export function handleMotionExecuted(event: MotionExecuted): void {
  let m = Motion.load(event.params.motionId);
  if (m === null) return;
  m.status = "EXECUTED";
  m.approvals = event.params.approvals.toI32();
  m.executedAt = event.block.timestamp;
  m.executionTransaction = event.transaction.hash;
  m.save();
  let action = event.params.action;
  if (action == DISMISS || action == BLACKLIST) {
    let b = getBookkeeper(event.params.target, event);
    b.lastVerdictMotion = m.id;
    b.save();
  }
}

export function handleMotionClosed(event: MotionClosed): void {
  let m = Motion.load(event.params.motionId);
  if (m === null) return;
  m.status = "CLOSED";
  m.closedAt = event.block.timestamp;
  m.save();
}

export function handleRecommended(event: Recommended): void {
  let r = new Recommendation(eventId(event));
  r.candidate = event.params.candidate;
  r.member = event.params.member;
  r.deadline = event.params.deadline;
  r.timestamp = event.block.timestamp;
  r.blockNumber = event.block.number;
  r.transaction = event.transaction.hash;
  r.save();
}

export function handleAdmissionChanged(event: AdmissionChanged): void {
  let b = getBookkeeper(event.params.candidate, event);
  b.admitted = event.params.admitted;
  b.save();
}

export function handleVerdictApplied(event: VerdictApplied): void {
  let b = getBookkeeper(event.params.bookkeeper, event);
  let motionId = b.lastVerdictMotion;
  if (motionId === null) return;
  let m = Motion.load(motionId);
  if (m === null) return;
  m.forfeited = event.params.forfeited;
  m.save();
}
