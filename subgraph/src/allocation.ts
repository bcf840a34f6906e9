// TokenAllocation: releases per bucket (scheduled buckets and the foundation's published Operation releases) and
// beneficiary changes.
import { Address, BigInt, ethereum } from "@graphprotocol/graph-ts";
import {
  BeneficiaryChanged,
  BeneficiaryProposed,
  OperationReleased,
  Released,
  RoleGranted,
  RoleRevoked,
} from "../generated/TokenAllocation/TokenAllocation";
import { AllocationBucket, AllocationRelease, BeneficiaryChange } from "../generated/schema";
import { BUCKETS, enumName, eventId, recordRole, zero } from "./common";

const CONTRACT = "TokenAllocation";
const OPERATION = 2;

/** Bucket sizes in whole HMS (TokenAllocation constants): IDO, Technology, Operation, Foundation, Mining. */
const BUCKET_HMS: i32[] = [200000000, 104000000, 80000000, 120000000, 296000000];

function getBucket(index: i32): AllocationBucket {
  ensureBuckets();
  return AllocationBucket.load(enumName(BUCKETS, index, "TokenAllocation.Bucket")) as AllocationBucket;
}

/** All five buckets exist from the allocation's first event on (Operation has no beneficiary event of its own). */
function ensureBuckets(): void {
  for (let i = 0; i < BUCKETS.length; i++) {
    if (AllocationBucket.load(BUCKETS[i]) !== null) continue;
    let b = new AllocationBucket(BUCKETS[i]);
    b.index = i;
    b.kind = BUCKETS[i];
    b.total = BigInt.fromI32(BUCKET_HMS[i]).times(BigInt.fromI32(10).pow(18));
    b.released = zero();
    b.releaseCount = 0;
    b.save();
  }
}

function recordRelease(
  event: ethereum.Event,
  index: i32,
  recipient: Address,
  amount: BigInt,
  releasedTotal: BigInt,
  reason: string | null,
): void {
  let bucket = getBucket(index);
  bucket.released = releasedTotal;
  bucket.releaseCount = bucket.releaseCount + 1;
  bucket.save();
  let r = new AllocationRelease(eventId(event));
  r.bucket = bucket.id;
  r.recipient = recipient;
  r.amount = amount;
  r.releasedTotal = releasedTotal;
  r.reason = reason;
  r.timestamp = event.block.timestamp;
  r.blockNumber = event.block.number;
  r.transaction = event.transaction.hash;
  r.save();
}

export function handleReleased(event: Released): void {
  recordRelease(
    event,
    event.params.bucket,
    event.params.beneficiary,
    event.params.amount,
    event.params.releasedTotal,
    null,
  );
}

export function handleOperationReleased(event: OperationReleased): void {
  recordRelease(
    event,
    OPERATION,
    event.params.recipient,
    event.params.amount,
    event.params.releasedTotal,
    event.params.reason,
  );
}

export function handleBeneficiaryProposed(event: BeneficiaryProposed): void {
  let bucket = getBucket(event.params.bucket);
  bucket.pendingBeneficiary = event.params.proposed;
  bucket.save();
  let c = new BeneficiaryChange(eventId(event));
  c.bucket = bucket.id;
  c.previous = event.params.current;
  c.current = event.params.proposed;
  c.proposal = true;
  c.timestamp = event.block.timestamp;
  c.blockNumber = event.block.number;
  c.transaction = event.transaction.hash;
  c.save();
}

export function handleBeneficiaryChanged(event: BeneficiaryChanged): void {
  let bucket = getBucket(event.params.bucket);
  bucket.beneficiary = event.params.current;
  bucket.pendingBeneficiary = null;
  bucket.save();
  let c = new BeneficiaryChange(eventId(event));
  c.bucket = bucket.id;
  c.previous = event.params.previous;
  c.current = event.params.current;
  c.proposal = false;
  c.timestamp = event.block.timestamp;
  c.blockNumber = event.block.number;
  c.transaction = event.transaction.hash;
  c.save();
}

export function handleRoleGranted(event: RoleGranted): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, true);
}

export function handleRoleRevoked(event: RoleRevoked): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, false);
}
