/**
 * Traffic receipts of real transfers (PROTOCOL §4, §11 step 1): every transfer task — a slice (or DAG block)
 * written to one node, a slice read from one node — ends with both sides signing the EIP-712 `TrafficReceipt`
 * `(taskId, nodeId, client, bytesServed, period)` of what moved, each side independently, and handing it to
 * a {@link ReceiptSink} (the meta layer matches the two sides by task id).
 *
 * For the two signatures to match, both sides compute every field on their own from what the transfer carried:
 *
 *   upload   taskId = keccak256(abi.encode("hms/upload/v1", uploadId, sliceDigest, nodeId))
 *            client = the upload's owner (the grant's signer), bytesServed = the block's size,
 *            period = the `x-hms-period` the client sent (the worker accepts it only near its own clock)
 *   download taskId = keccak256(abi.encode("hms/download/v1", client, nodeId, sliceDigest, nonce))
 *            nonce = 32 random bytes the client sends with the request (`x-hms-task`), so two reads of the
 *            same slice are two tasks; bytesServed = the bytes of the response body, signed only once the
 *            whole body was sent (node) and received and verified against the CID (client)
 *
 * A task that did not complete has at most one side: the ledger flags it as unpaired and pays nothing.
 *
 * The period is MiningPool's: `floor((t − genesis) / periodLength)`, 0 before genesis — `periodAt` here is
 * the same function as the contract's `currentPeriod()`.
 *
 * Pure: no I/O.
 */
import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";
import { HmsError } from "../core/errors";
import type { TrafficReceiptMessage } from "../core/signing";
import type { SignedReceipt } from "./receipts";

/** Which side signed a receipt. */
export type ReceiptSide = "client" | "node";

/** Where a side hands its signed receipts (the meta client implements it; tests collect). */
export interface ReceiptSink {
  submit(receipt: SignedReceipt, side: ReceiptSide): Promise<void>;
}

/** MiningPool's period clock. */
export interface PeriodClock {
  /** Unix seconds of period 0's start. */
  genesis: bigint;
  /** Seconds per period. */
  periodLength: bigint;
}

/** Periods of tolerance around a worker's own clock for a transfer's claimed period. */
export const PERIOD_TOLERANCE = 1n;

/** The period in progress at unix time `time` (0 before genesis), as `MiningPool.currentPeriod()`. */
export function periodAt(clock: PeriodClock, time: bigint): bigint {
  if (clock.periodLength <= 0n)
    throw new HmsError("PROTOCOL_PERIOD", "period length must be positive", { value: clock.periodLength });
  if (time < clock.genesis) return 0n;
  return (time - clock.genesis) / clock.periodLength;
}

/**
 * True if a transfer may claim `period` when the worker's clock says `time`: within {@link PERIOD_TOLERANCE}
 * periods of the worker's own (a transfer that starts just before a boundary ends just after it).
 */
export function acceptsPeriod(clock: PeriodClock, time: bigint, period: bigint): boolean {
  const own = periodAt(clock, time);
  return period + PERIOD_TOLERANCE >= own && period <= own + PERIOD_TOLERANCE;
}

const UPLOAD_TAG = "hms/upload/v1";
const DOWNLOAD_TAG = "hms/download/v1";

function bytes32(value: Hex, what: string): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value))
    throw new HmsError("STORAGE_BAD_REQUEST", `${what} must be 32 bytes of 0x hex`, { value });
  return value.toLowerCase() as Hex;
}

/** Task id of writing block `sliceDigest` to node `nodeId` for upload `uploadId`. */
export function uploadTaskId(uploadId: Hex, sliceDigest: Hex, nodeId: Hex): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "string" }, { type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }],
      [UPLOAD_TAG, bytes32(uploadId, "uploadId"), bytes32(sliceDigest, "slice"), bytes32(nodeId, "nodeId")],
    ),
  );
}

/** Task id of `client` reading block `sliceDigest` from node `nodeId` with the client's `nonce`. */
export function downloadTaskId(client: Address, nodeId: Hex, sliceDigest: Hex, nonce: Hex): Hex {
  if (typeof client !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(client))
    throw new HmsError("STORAGE_BAD_REQUEST", "client must be an address", { value: client });
  return keccak256(
    encodeAbiParameters(
      [{ type: "string" }, { type: "address" }, { type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }],
      [DOWNLOAD_TAG, client, bytes32(nodeId, "nodeId"), bytes32(sliceDigest, "slice"), bytes32(nonce, "nonce")],
    ),
  );
}

/** The receipt of an upload task, as both sides build it. */
export function uploadReceipt(task: {
  uploadId: Hex;
  sliceDigest: Hex;
  nodeId: Hex;
  owner: Address;
  size: number | bigint;
  period: bigint;
}): TrafficReceiptMessage {
  return {
    taskId: uploadTaskId(task.uploadId, task.sliceDigest, task.nodeId),
    nodeId: task.nodeId.toLowerCase() as Hex,
    client: task.owner.toLowerCase() as Address,
    bytesServed: BigInt(task.size),
    period: task.period,
  };
}

/** The receipt of a download task, as both sides build it. */
export function downloadReceipt(task: {
  client: Address;
  nodeId: Hex;
  sliceDigest: Hex;
  nonce: Hex;
  bytes: number | bigint;
  period: bigint;
}): TrafficReceiptMessage {
  return {
    taskId: downloadTaskId(task.client, task.nodeId, task.sliceDigest, task.nonce),
    nodeId: task.nodeId.toLowerCase() as Hex,
    client: task.client.toLowerCase() as Address,
    bytesServed: BigInt(task.bytes),
    period: task.period,
  };
}
