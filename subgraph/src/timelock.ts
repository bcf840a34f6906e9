// HMSTimelock: governance operations (every parameter change goes through it), their calls, the minimum delay and
// the timelock's own roles.
import {
  CallExecuted,
  CallSalt,
  CallScheduled,
  Cancelled,
  MinDelayChange,
  RoleGranted,
  RoleRevoked,
} from "../generated/HMSTimelock/HMSTimelock";
import { GovernanceCall, GovernanceOperation } from "../generated/schema";
import { recordIntParameter, recordRole } from "./common";

const CONTRACT = "HMSTimelock";

export function handleCallScheduled(event: CallScheduled): void {
  let op = GovernanceOperation.load(event.params.id);
  let index = event.params.index.toI32();
  if (op === null) {
    op = new GovernanceOperation(event.params.id);
    op.rounds = 1;
  } else if (index == 0 && op.status == "CANCELLED") {
    // A cancelled id may be scheduled again: a new round of calls.
    op.rounds = op.rounds + 1;
    op.salt = null;
    op.executedAt = null;
    op.cancelledAt = null;
  }
  op.status = "SCHEDULED";
  op.predecessor = event.params.predecessor;
  op.delay = event.params.delay;
  op.scheduledAt = event.block.timestamp;
  op.readyAt = event.block.timestamp.plus(event.params.delay);
  op.proposer = event.transaction.from;
  op.save();

  let call = new GovernanceCall(event.params.id.concatI32(op.rounds).concatI32(index));
  call.operation = op.id;
  call.round = op.rounds;
  call.index = index;
  call.target = event.params.target;
  call.value = event.params.value;
  call.data = event.params.data;
  call.timestamp = event.block.timestamp;
  call.transaction = event.transaction.hash;
  call.save();
}

export function handleCallSalt(event: CallSalt): void {
  let op = GovernanceOperation.load(event.params.id);
  if (op === null) return;
  op.salt = event.params.salt;
  op.save();
}

export function handleCallExecuted(event: CallExecuted): void {
  let op = GovernanceOperation.load(event.params.id);
  if (op === null) return;
  op.status = "EXECUTED";
  op.executedAt = event.block.timestamp;
  op.save();
}

export function handleCancelled(event: Cancelled): void {
  let op = GovernanceOperation.load(event.params.id);
  if (op === null) return;
  op.status = "CANCELLED";
  op.cancelledAt = event.block.timestamp;
  op.save();
}

export function handleMinDelayChange(event: MinDelayChange): void {
  recordIntParameter(event, CONTRACT, "minDelay", event.params.oldDuration, event.params.newDuration);
}

export function handleRoleGranted(event: RoleGranted): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, true);
}

export function handleRoleRevoked(event: RoleRevoked): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, false);
}
