// NodeRegistry: nodes (registry data, signing keys, payout addresses), bookkeeper signing keys, the endpoint limit.
import { Address, BigInt, Bytes, ethereum } from "@graphprotocol/graph-ts";
import {
  ActiveChanged,
  BookkeeperKeyChanged,
  EndpointChanged,
  MaxEndpointLengthChanged,
  NodeDeregistered,
  NodeRegistered,
  PayoutChanged,
  ProfileChanged,
  RoleGranted,
  RoleRevoked,
  SigningKeyChanged,
} from "../generated/NodeRegistry/NodeRegistry";
import { KeyRotation, Node, PayoutChange } from "../generated/schema";
import {
  NODE_KINDS,
  TIERS,
  enumName,
  eventId,
  finish,
  finishProtocol,
  getBookkeeper,
  getDay,
  getProtocol,
  isZeroAddress,
  recordIntParameter,
  recordRole,
  zero,
} from "./common";

const CONTRACT = "NodeRegistry";

function rotation(event: ethereum.Event, previousKey: Address, newKey: Address): KeyRotation {
  let r = new KeyRotation(eventId(event));
  r.previousKey = previousKey;
  r.newKey = newKey;
  r.timestamp = event.block.timestamp;
  r.blockNumber = event.block.number;
  r.transaction = event.transaction.hash;
  return r;
}

export function handleNodeRegistered(event: NodeRegistered): void {
  let n = new Node(event.params.nodeId);
  n.operator = event.params.operator;
  n.kind = enumName(NODE_KINDS, event.params.kind, "NodeKind");
  n.tier = enumName(TIERS, event.params.tier, "Tier");
  n.region = event.params.region;
  n.capacity = event.params.capacity;
  n.signingKey = event.params.signingKey;
  n.payout = event.params.payout;
  n.endpoint = event.params.endpoint;
  n.active = true;
  n.retired = false;
  n.registeredAt = event.block.timestamp;
  n.registeredBlock = event.block.number;
  n.updatedAt = event.block.timestamp;
  n.score = zero();
  n.measurements = 0;
  n.rewardedTraffic = zero();
  n.rewardsClaimed = zero();
  n.claimCount = 0;
  n.marketEarnings = zero();
  n.marketFees = zero();
  n.save();

  let p = getProtocol();
  p.nodes = p.nodes + 1;
  p.activeNodes = p.activeNodes + 1;
  let d = getDay(event);
  d.nodesRegistered = d.nodesRegistered + 1;
  finish(p, d, event);
}

export function handleSigningKeyChanged(event: SigningKeyChanged): void {
  let n = Node.load(event.params.nodeId);
  if (n === null) return;
  n.signingKey = event.params.newKey;
  n.updatedAt = event.block.timestamp;
  n.save();
  let r = rotation(event, event.params.previousKey, event.params.newKey);
  r.node = n.id;
  r.save();
}

export function handlePayoutChanged(event: PayoutChanged): void {
  let n = Node.load(event.params.nodeId);
  if (n === null) return;
  n.payout = event.params.newPayout;
  n.updatedAt = event.block.timestamp;
  n.save();
  let c = new PayoutChange(eventId(event));
  c.node = n.id;
  c.previous = event.params.previousPayout;
  c.current = event.params.newPayout;
  c.timestamp = event.block.timestamp;
  c.blockNumber = event.block.number;
  c.transaction = event.transaction.hash;
  c.save();
}

export function handleEndpointChanged(event: EndpointChanged): void {
  let n = Node.load(event.params.nodeId);
  if (n === null) return;
  n.endpoint = event.params.endpoint;
  n.updatedAt = event.block.timestamp;
  n.save();
}

export function handleProfileChanged(event: ProfileChanged): void {
  let n = Node.load(event.params.nodeId);
  if (n === null) return;
  n.tier = enumName(TIERS, event.params.tier, "Tier");
  n.region = event.params.region;
  n.capacity = event.params.capacity;
  n.updatedAt = event.block.timestamp;
  n.save();
}

export function handleActiveChanged(event: ActiveChanged): void {
  let n = Node.load(event.params.nodeId);
  if (n === null) return;
  if (n.active != event.params.active) {
    let p = getProtocol();
    p.activeNodes = event.params.active ? p.activeNodes + 1 : p.activeNodes - 1;
    finishProtocol(p, event);
  }
  n.active = event.params.active;
  n.updatedAt = event.block.timestamp;
  n.save();
}

export function handleNodeDeregistered(event: NodeDeregistered): void {
  let n = Node.load(event.params.nodeId);
  if (n === null) return;
  if (n.active) {
    let p = getProtocol();
    p.activeNodes = p.activeNodes - 1;
    finishProtocol(p, event);
  }
  n.active = false;
  n.retired = true;
  n.signingKey = null;
  n.deregisteredAt = event.block.timestamp;
  n.updatedAt = event.block.timestamp;
  n.save();
}

export function handleBookkeeperKeyChanged(event: BookkeeperKeyChanged): void {
  let b = getBookkeeper(event.params.bookkeeper, event);
  let key: Bytes | null = event.params.newKey;
  if (isZeroAddress(event.params.newKey)) key = null;
  b.signingKey = key;
  b.save();
  let r = rotation(event, event.params.previousKey, event.params.newKey);
  r.bookkeeper = b.id;
  r.save();
}

export function handleMaxEndpointLengthChanged(event: MaxEndpointLengthChanged): void {
  recordIntParameter(
    event,
    CONTRACT,
    "maxEndpointLength",
    BigInt.fromI32(event.params.previousLimit),
    BigInt.fromI32(event.params.newLimit),
  );
}

export function handleRoleGranted(event: RoleGranted): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, true);
}

export function handleRoleRevoked(event: RoleRevoked): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, false);
}
