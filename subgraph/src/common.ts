// Shared helpers of the HMS Network mappings: ids, enum names, the Protocol singleton, daily aggregates,
// governance parameters and AccessControl roles.
import { Address, BigDecimal, BigInt, ByteArray, Bytes, crypto, ethereum, log } from "@graphprotocol/graph-ts";
import {
  Bookkeeper,
  DayStat,
  Node,
  NodeDay,
  Parameter,
  ParameterChange,
  Protocol,
  RoleMember,
} from "../generated/schema";

export const PROTOCOL_ID = "hms";
export const SECONDS_PER_DAY = 86400;
export const BPS = 10000;

export const BUCKETS: string[] = ["IDO", "TECHNOLOGY", "OPERATION", "FOUNDATION", "MINING"];
export const NODE_KINDS: string[] = ["STORAGE", "CONTAINER", "META"];
export const TIERS: string[] = ["LITE", "NORMAL", "SUPER"];
export const RESOURCES: string[] = ["CPU", "MEMORY", "BANDWIDTH", "STORAGE"];
export const RESOURCE_KINDS: string[] = ["STORAGE", "COMPUTE", "BANDWIDTH"];
export const CLOSE_REASONS: string[] = ["NONE", "USER", "PROVIDER", "ORACLE", "EXPIRED"];
export const COUNCIL_ACTIONS: string[] = ["ADD_MEMBER", "ADMIT", "DISMISS", "BLACKLIST", "RETAIN"];
/** IBookkeeperStaking.Parameter, in declaration order. */
export const STAKING_PARAMETERS: string[] = [
  "minMargin",
  "unbondingPeriod",
  "epochLength",
  "committeeSize",
  "maxCandidates",
  "slashDelegatedBps",
  "bountyBps",
  "maxCommissionBps",
  "missPenaltyCap",
  "admissionRequired",
];

/** The name of enum value `index`; an unknown value stops indexing with a clear message (the schema would reject it). */
export function enumName(names: string[], index: i32, what: string): string {
  if (index < 0 || index >= names.length) {
    log.critical("unknown {} value {}", [what, index.toString()]);
    return names[0];
  }
  return names[index];
}

// ------------------------------------------------------------------------------------------- ids

/** Id of an event record: transaction hash ++ log index. */
export function eventId(event: ethereum.Event): Bytes {
  return event.transaction.hash.concatI32(event.logIndex.toI32());
}

export function dayOf(timestamp: BigInt): i32 {
  return timestamp.toI32() / SECONDS_PER_DAY;
}

// ------------------------------------------------------------------------------------------- numbers

export function zero(): BigInt {
  return BigInt.zero();
}

export function one(): BigInt {
  return BigInt.fromI32(1);
}

/** a − b, never below zero (gauges rebuilt from deltas stay sane even if an event was missed). */
export function minusFloor(a: BigInt, b: BigInt): BigInt {
  return a.gt(b) ? a.minus(b) : BigInt.zero();
}

/** a / b as a decimal, or `fallback` when b is zero. */
export function ratio(a: BigInt, b: BigInt, fallback: BigDecimal): BigDecimal {
  if (b.isZero()) return fallback;
  return a.toBigDecimal().div(b.toBigDecimal());
}

/** Bit `i` of a non-negative `bitmap` (a BigInt is its little-endian two's-complement bytes). */
export function bitSet(bitmap: BigInt, i: i32): boolean {
  let byte = i >> 3;
  if (byte >= bitmap.length) return false;
  return ((bitmap[byte] >> ((i & 7) as u8)) & 1) == 1;
}

export function isZeroAddress(a: Bytes): boolean {
  return a.equals(Address.zero());
}

// ------------------------------------------------------------------------------------------- CID

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * The CIDv1 of a sha2-256 digest of raw bytes (what MiningPool reports carry as `dataCid`), in base32 with the
 * multibase prefix "b": varint version 1, codec raw (0x55), multihash sha2-256 (0x12, 32 bytes).
 */
export function cidFromDigest(digest: Bytes): string {
  let bytes = new Bytes(4 + digest.length);
  bytes[0] = 0x01;
  bytes[1] = 0x55;
  bytes[2] = 0x12;
  bytes[3] = 0x20;
  for (let i = 0; i < digest.length; i++) bytes[4 + i] = digest[i];
  let out = "b";
  let buffer: u32 = 0;
  let bits: i32 = 0;
  for (let i = 0; i < bytes.length; i++) {
    buffer = ((buffer << 8) | (bytes[i] as u32)) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32.charAt(((buffer >> ((bits - 5) as u32)) & 31) as i32);
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32.charAt(((buffer << ((5 - bits) as u32)) & 31) as i32);
  return out;
}

// ------------------------------------------------------------------------------------------- protocol and days

export function getProtocol(): Protocol {
  let p = Protocol.load(PROTOCOL_ID);
  if (p === null) {
    p = new Protocol(PROTOCOL_ID);
    p.nodes = 0;
    p.activeNodes = 0;
    p.bookkeepers = 0;
    p.activeBookkeepers = 0;
    p.totalMargin = zero();
    p.totalDelegated = zero();
    p.pendingPoolFunds = zero();
    p.epochsElected = 0;
    p.periodsReported = 0;
    p.totalTraffic = zero();
    p.emissionReleased = zero();
    p.nodeRewardsPaid = zero();
    p.bookkeeperRewardsPaid = zero();
    p.poolReserve = zero();
    p.poolFunded = zero();
    p.poolReturned = zero();
    p.slashes = 0;
    p.slashedAmount = zero();
    p.offers = 0;
    p.activeOffers = 0;
    p.orders = 0;
    p.leases = 0;
    p.activeLeases = 0;
    p.marketVolume = zero();
    p.marketFees = zero();
    p.feeBps = 0;
    p.measurementBatches = 0;
    p.updatedAt = zero();
  }
  return p as Protocol;
}

/** The day's aggregate, created with zero counters (gauges are copied in {@link finish}). */
export function getDay(event: ethereum.Event): DayStat {
  let day = dayOf(event.block.timestamp);
  let id = day.toString();
  let d = DayStat.load(id);
  if (d === null) {
    d = new DayStat(id);
    d.day = day;
    d.date = day * SECONDS_PER_DAY;
    d.traffic = zero();
    d.periodsReported = 0;
    d.emissionReleased = zero();
    d.nodeRewardsPaid = zero();
    d.bookkeeperRewardsPaid = zero();
    d.emissionPaid = zero();
    d.claims = 0;
    d.nodesRewarded = 0;
    d.marketVolume = zero();
    d.marketFees = zero();
    d.providerPayouts = zero();
    d.settlements = 0;
    d.ordersCreated = 0;
    d.leasesStarted = 0;
    d.leasesClosed = 0;
    d.refunds = zero();
    d.nodesRegistered = 0;
    d.nodesMeasured = 0;
    d.slashes = 0;
    d.slashedAmount = zero();
    d.activeNodes = 0;
    d.activeBookkeepers = 0;
    d.totalMargin = zero();
    d.totalDelegated = zero();
  }
  d.updatedAt = event.block.timestamp;
  return d as DayStat;
}

/** Saves the protocol and the day, copying the protocol's gauges into the day. Call last in a handler. */
export function finish(p: Protocol, d: DayStat, event: ethereum.Event): void {
  p.updatedAt = event.block.timestamp;
  p.save();
  d.activeNodes = p.activeNodes;
  d.activeBookkeepers = p.activeBookkeepers;
  d.totalMargin = p.totalMargin;
  d.totalDelegated = p.totalDelegated;
  d.updatedAt = event.block.timestamp;
  d.save();
}

/** Saves the protocol and refreshes today's gauges. */
export function finishProtocol(p: Protocol, event: ethereum.Event): void {
  finish(p, getDay(event), event);
}

/** One node's aggregate of one day (created on first use). */
export function getNodeDay(nodeId: Bytes, event: ethereum.Event): NodeDay {
  let day = dayOf(event.block.timestamp);
  let id = nodeId.concatI32(day);
  let d = NodeDay.load(id);
  if (d === null) {
    d = new NodeDay(id);
    d.node = nodeId;
    d.day = day;
    d.claims = 0;
    d.traffic = zero();
    d.rewards = zero();
    d.marketEarnings = zero();
  }
  return d as NodeDay;
}

// ------------------------------------------------------------------------------------------- entities shared by several contracts

/**
 * The node, or null when the registry never announced it (a market or rewards event always follows its
 * NodeRegistered; null only if the subgraph started after the registration).
 */
export function loadNode(nodeId: Bytes): Node | null {
  return Node.load(nodeId);
}

/** The bookkeeper account's entity, created (status NONE) on first sight. */
export function getBookkeeper(account: Bytes, event: ethereum.Event): Bookkeeper {
  let b = Bookkeeper.load(account);
  if (b === null) {
    b = new Bookkeeper(account);
    b.status = "NONE";
    b.margin = zero();
    b.delegated = zero();
    b.stake = zero();
    b.delegationShares = zero();
    b.sharePrice = BigDecimal.fromString("1");
    b.commissionBps = 0;
    b.admitted = false;
    b.registrations = 0;
    b.timesElected = 0;
    b.rewardsCredited = zero();
    b.commissionEarned = zero();
    b.missedDuties = 0;
    b.totalSlashed = zero();
    b.votingPower = account;
    b.lockSlashAmount = zero();
  }
  b.updatedAt = event.block.timestamp;
  return b as Bookkeeper;
}

// ------------------------------------------------------------------------------------------- parameters

/**
 * Records a governance parameter change. `previous` null: the event carries no previous value, the stored one
 * (if any) is used.
 */
export function recordParameter(
  event: ethereum.Event,
  contractName: string,
  name: string,
  previous: string | null,
  value: string,
): void {
  let id = contractName + "." + name;
  let p = Parameter.load(id);
  let before = previous;
  if (p === null) {
    p = new Parameter(id);
    p.contract = event.address;
    p.contractName = contractName;
    p.name = name;
  } else if (before === null) {
    before = p.value;
  }
  p.value = value;
  p.updatedAt = event.block.timestamp;
  p.save();

  let change = new ParameterChange(eventId(event));
  change.parameter = id;
  change.previous = before;
  change.value = value;
  change.timestamp = event.block.timestamp;
  change.blockNumber = event.block.number;
  change.transaction = event.transaction.hash;
  change.save();
}

export function recordIntParameter(
  event: ethereum.Event,
  contractName: string,
  name: string,
  previous: BigInt,
  value: BigInt,
): void {
  recordParameter(event, contractName, name, previous.toString(), value.toString());
}

// ------------------------------------------------------------------------------------------- roles

const KNOWN_ROLES: string[] = [
  "PROPOSER_ROLE",
  "EXECUTOR_ROLE",
  "CANCELLER_ROLE",
  "FOUNDATION_ROLE",
  "REWARDER_ROLE",
  "ORACLE_ROLE",
];

/** DEFAULT_ADMIN_ROLE, a known role's name, or the role id in hex. */
export function roleName(role: Bytes): string {
  if (role.equals(Bytes.fromHexString("0x0000000000000000000000000000000000000000000000000000000000000000"))) {
    return "DEFAULT_ADMIN_ROLE";
  }
  for (let i = 0; i < KNOWN_ROLES.length; i++) {
    let hash = crypto.keccak256(ByteArray.fromUTF8(KNOWN_ROLES[i]));
    if (role.equals(Bytes.fromByteArray(hash))) return KNOWN_ROLES[i];
  }
  return role.toHexString();
}

/** RoleGranted / RoleRevoked of any AccessControl contract of the protocol. */
export function recordRole(
  event: ethereum.Event,
  contractName: string,
  role: Bytes,
  account: Address,
  sender: Address,
  granted: boolean,
): void {
  let id = event.address.concat(role).concat(account);
  let m = RoleMember.load(id);
  if (m === null) {
    m = new RoleMember(id);
    m.contract = event.address;
    m.contractName = contractName;
    m.role = role;
    m.roleName = roleName(role);
    m.account = account;
  }
  m.active = granted;
  if (granted) {
    m.grantedAt = event.block.timestamp;
    m.grantedBy = sender;
    m.revokedAt = null;
    m.revokedBy = null;
  } else {
    if (m.get("grantedAt") === null) {
      m.grantedAt = zero();
      m.grantedBy = Address.zero();
    }
    m.revokedAt = event.block.timestamp;
    m.revokedBy = sender;
  }
  m.save();
}
