/**
 * Proof-of-Contribution messages and scoring, mirroring contracts/rewards/ContributionRegistry.sol:
 * measurement batches (EIP-712 `ContributionBatch` over `keccak256(abi.encode(Measurement[]))`), coefficient
 * updates (`ContributionCoefficients`), and the score formula so that daemons and dashboards can predict what the
 * contract computes:
 *
 *     capability = Σ_r gradient_r(value_r) · σ_r
 *     basic      = capability · tierPower[tier] · onlineSeconds / 3600 / 1e18
 *     service    = max(0, tasksCompleted · completedPoints − tasksFailed · failedPenalty)
 *     chain      = chainParticipation · chainPoints
 *
 * Pure: no I/O.
 */
import { encodeAbiParameters, keccak256, type Address, type Hex, type LocalAccount } from "viem";
import { domainOf, signTyped } from "../core/signing";

/** ContributionRegistry.Measurement. */
export interface Measurement {
  nodeId: Hex;
  cpuMhz: number;
  memoryMiB: number;
  uplinkMbps: number;
  storageGiB: number;
  onlineSeconds: number;
  tasksCompleted: number;
  tasksFailed: number;
  chainParticipation: number;
}

/** ContributionRegistry.Weights (18 decimals). */
export interface Weights {
  tierPower: readonly [bigint, bigint, bigint];
  completedPoints: bigint;
  failedPenalty: bigint;
  chainPoints: bigint;
}

/** A gradient table: points at or above each (ascending) threshold. */
export interface GradientTable {
  thresholds: readonly number[];
  points: readonly number[];
}

const WAD = 10n ** 18n;

const MEASUREMENT_COMPONENTS = [
  { name: "nodeId", type: "bytes32" },
  { name: "cpuMhz", type: "uint32" },
  { name: "memoryMiB", type: "uint32" },
  { name: "uplinkMbps", type: "uint32" },
  { name: "storageGiB", type: "uint32" },
  { name: "onlineSeconds", type: "uint32" },
  { name: "tasksCompleted", type: "uint32" },
  { name: "tasksFailed", type: "uint32" },
  { name: "chainParticipation", type: "uint32" },
] as const;

/** Sorts a batch by node id (the contract requires strictly ascending ids). */
export function sortBatch(batch: readonly Measurement[]): Measurement[] {
  return [...batch].sort((a, b) => (BigInt(a.nodeId) < BigInt(b.nodeId) ? -1 : 1));
}

/** `keccak256(abi.encode(Measurement[]))`, the batch commitment the committee signs. */
export function measurementsHash(batch: readonly Measurement[]): Hex {
  return keccak256(encodeAbiParameters([{ type: "tuple[]", components: MEASUREMENT_COMPONENTS }], [batch]));
}

/** Signs a measurement batch for the registry at `registry` with a committee member's key. */
export function signMeasurementBatch(
  account: LocalAccount,
  chainId: number | bigint,
  registry: Address,
  message: { epoch: bigint; nonce: bigint; batch: readonly Measurement[] },
): Promise<Hex> {
  return signTyped(account, domainOf("contribution", chainId, registry), "ContributionBatch", {
    epoch: message.epoch,
    nonce: message.nonce,
    measurementsHash: measurementsHash(message.batch),
  });
}

/** Signs coefficients σ (CPU, memory, bandwidth, storage) for the registry at `registry`. */
export function signCoefficients(
  account: LocalAccount,
  chainId: number | bigint,
  registry: Address,
  message: { epoch: bigint; nonce: bigint; sigma: readonly [bigint, bigint, bigint, bigint] },
): Promise<Hex> {
  const [cpu, memory, bandwidth, storage] = message.sigma;
  return signTyped(account, domainOf("contribution", chainId, registry), "ContributionCoefficients", {
    epoch: message.epoch,
    nonce: message.nonce,
    cpu,
    memory,
    bandwidth,
    storage,
  });
}

/** Points of `value` in a gradient table: those of the highest threshold at or below it, 0 below the first. */
export function gradientOf(table: GradientTable, value: number): bigint {
  let points = 0;
  for (let i = 0; i < table.thresholds.length && value >= table.thresholds[i]; i++) points = table.points[i];
  return BigInt(points);
}

/** What one measurement adds to a node of `tier` (0 Lite, 1 Normal, 2 Super), as ContributionRegistry computes. */
export function contributionOf(
  m: Measurement,
  tier: 0 | 1 | 2,
  tables: readonly [GradientTable, GradientTable, GradientTable, GradientTable],
  sigma: readonly [bigint, bigint, bigint, bigint],
  w: Weights,
): { basic: bigint; service: bigint; chain: bigint; total: bigint } {
  const values = [m.cpuMhz, m.memoryMiB, m.uplinkMbps, m.storageGiB];
  const capability = values.reduce((sum, v, r) => sum + gradientOf(tables[r], v) * sigma[r], 0n);
  const basic = (capability * w.tierPower[tier] * BigInt(m.onlineSeconds)) / (WAD * 3600n);
  const earned = BigInt(m.tasksCompleted) * w.completedPoints;
  const lost = BigInt(m.tasksFailed) * w.failedPenalty;
  const service = earned > lost ? earned - lost : 0n;
  const chain = BigInt(m.chainParticipation) * w.chainPoints;
  return { basic, service, chain, total: basic + service + chain };
}

/** The lazily decayed score: `accumulated >> (era − lastEra)` (zero after 192 halvings). */
export function decayed(accumulated: bigint, lastEra: bigint, era: bigint): bigint {
  const halvings = era - lastEra;
  return halvings >= 192n ? 0n : accumulated >> halvings;
}
