// ContributionRegistry (Proof-of-Contribution): quorum-signed measurement batches, each node's score history,
// skipped measurements, coefficients σ, gradient tables and weights.
import { BigInt } from "@graphprotocol/graph-ts";
import {
  CoefficientsPosted,
  ElectionGraceSet,
  GradientTableSet,
  MaxBatchSizeSet,
  MeasurementSkipped,
  MeasurementsPosted,
  NodeMeasured,
  RoleGranted,
  RoleRevoked,
  WeightsSet,
} from "../generated/ContributionRegistry/ContributionRegistry";
import {
  CoefficientUpdate,
  GradientTable,
  MeasurementBatch,
  Node,
  NodeScore,
  SkippedMeasurement,
} from "../generated/schema";
import {
  RESOURCES,
  TIERS,
  enumName,
  eventId,
  finish,
  finishProtocol,
  getDay,
  getProtocol,
  recordParameter,
  recordRole,
} from "./common";

const CONTRACT = "ContributionRegistry";

function joinBigInts(values: BigInt[]): string {
  let out = "[";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    out += values[i].toString();
  }
  return out + "]";
}

function joinInts(values: i32[]): string {
  let out = "[";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    out += values[i].toString();
  }
  return out + "]";
}

export function handleMeasurementsPosted(event: MeasurementsPosted): void {
  let b = new MeasurementBatch(event.params.nonce.toString());
  b.nonce = event.params.nonce;
  b.epoch = event.params.epoch;
  b.count = event.params.count.toI32();
  b.applied = event.params.applied.toI32();
  b.signers = event.params.signers;
  b.submitter = event.transaction.from;
  b.timestamp = event.block.timestamp;
  b.blockNumber = event.block.number;
  b.transaction = event.transaction.hash;
  b.save();
  let p = getProtocol();
  p.measurementBatches = p.measurementBatches + 1;
  finishProtocol(p, event);
}

export function handleNodeMeasured(event: NodeMeasured): void {
  let m = event.params.measurement;
  let s = new NodeScore(eventId(event));
  s.node = event.params.nodeId;
  // MeasurementsPosted (same transaction, after every NodeMeasured) creates the batch with this id.
  s.batch = event.params.nonce.toString();
  s.nonce = event.params.nonce;
  s.tier = enumName(TIERS, event.params.tier, "Tier");
  s.cpuMhz = m.cpuMhz;
  s.memoryMiB = m.memoryMiB;
  s.uplinkMbps = m.uplinkMbps;
  s.storageGiB = m.storageGiB;
  s.onlineSeconds = m.onlineSeconds;
  s.tasksCompleted = m.tasksCompleted;
  s.tasksFailed = m.tasksFailed;
  s.chainParticipation = m.chainParticipation;
  s.increment = event.params.increment;
  s.score = event.params.score;
  s.timestamp = event.block.timestamp;
  s.blockNumber = event.block.number;
  s.transaction = event.transaction.hash;
  s.save();

  let n = Node.load(event.params.nodeId);
  if (n !== null) {
    n.score = event.params.score;
    n.lastMeasuredAt = event.block.timestamp;
    n.measurements = n.measurements + 1;
    n.save();
  }
  let d = getDay(event);
  d.nodesMeasured = d.nodesMeasured + 1;
  finish(getProtocol(), d, event);
}

export function handleMeasurementSkipped(event: MeasurementSkipped): void {
  let s = new SkippedMeasurement(eventId(event));
  s.batch = event.params.nonce.toString();
  s.nodeId = event.params.nodeId;
  s.timestamp = event.block.timestamp;
  s.save();
}

export function handleCoefficientsPosted(event: CoefficientsPosted): void {
  let sigma = event.params.sigma;
  let c = new CoefficientUpdate(event.params.nonce.toString());
  c.nonce = event.params.nonce;
  c.epoch = event.params.epoch;
  c.cpu = sigma[0];
  c.memory = sigma[1];
  c.bandwidth = sigma[2];
  c.storage = sigma[3];
  c.signers = event.params.signers;
  c.timestamp = event.block.timestamp;
  c.blockNumber = event.block.number;
  c.transaction = event.transaction.hash;
  c.save();
  recordParameter(event, CONTRACT, "sigma", null, joinBigInts(sigma));
}

export function handleGradientTableSet(event: GradientTableSet): void {
  let name = enumName(RESOURCES, event.params.resource, "ContributionRegistry.Resource");
  let t = GradientTable.load(name);
  if (t === null) {
    t = new GradientTable(name);
    t.resource = name;
  }
  t.thresholds = event.params.thresholds;
  t.points = event.params.points;
  t.updatedAt = event.block.timestamp;
  t.save();
  recordParameter(
    event,
    CONTRACT,
    "gradient." + name,
    null,
    "thresholds=" + joinBigInts(event.params.thresholds) + ";points=" + joinInts(event.params.points),
  );
}

export function handleWeightsSet(event: WeightsSet): void {
  let w = event.params.newWeights;
  recordParameter(
    event,
    CONTRACT,
    "weights",
    null,
    "tierPower=" +
      joinBigInts(w.tierPower) +
      ";completedPoints=" +
      w.completedPoints.toString() +
      ";failedPenalty=" +
      w.failedPenalty.toString() +
      ";chainPoints=" +
      w.chainPoints.toString(),
  );
}

export function handleMaxBatchSizeSet(event: MaxBatchSizeSet): void {
  recordParameter(event, CONTRACT, "maxBatchSize", null, event.params.maxBatchSize.toString());
}

export function handleElectionGraceSet(event: ElectionGraceSet): void {
  recordParameter(event, CONTRACT, "electionGrace", null, event.params.electionGrace.toString());
}

export function handleRoleGranted(event: RoleGranted): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, true);
}

export function handleRoleRevoked(event: RoleRevoked): void {
  recordRole(event, CONTRACT, event.params.role, event.params.account, event.params.sender, false);
}
