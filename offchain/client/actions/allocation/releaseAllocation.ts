import type { Address } from "viem";
import { check, eventsOf, write, type WriteParameters } from "../internal";
import { HmsSdkError, type WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import { Bucket, type TransactionResult } from "../../types";
import { getAllocation } from "./getAllocation";

export interface ReleaseAllocationParameters extends WriteParameters {
  /** Default: every bucket with something releasable (`releaseAll`). Operation is released by the foundation only. */
  bucket?: Bucket;
}
export type ReleaseAllocationReturnType = TransactionResult & {
  released: { bucket: Bucket; beneficiary: Address; amount: bigint }[];
  total: bigint;
};
export type ReleaseAllocationErrorType = WriteErrorType;

/** Releases what is vested to the bucket's beneficiary (anyone may send it). SDK_CONFLICT if nothing is releasable. */
export async function releaseAllocation(
  client: HmsClient,
  { bucket, account }: ReleaseAllocationParameters = {},
): Promise<ReleaseAllocationReturnType> {
  check(bucket !== Bucket.Operation, "Operation funds are released by the foundation with a reason", bucket);
  const buckets = await getAllocation(client, { bucket });
  if (buckets.every((b) => b.releasable === 0n || b.bucket === Bucket.Operation))
    throw new HmsSdkError("SDK_CONFLICT", "nothing is releasable now", { value: bucket, errorName: "ZeroAmount" });
  const { tx, logs } =
    bucket === undefined
      ? await write(client, "TokenAllocation", "releaseAll", [], account)
      : await write(client, "TokenAllocation", "release", [bucket], account);
  const released = eventsOf<{ bucket: number; beneficiary: Address; amount: bigint }>(
    client,
    logs,
    "TokenAllocation",
    "Released",
  ).map((e) => ({ bucket: e.bucket as Bucket, beneficiary: e.beneficiary, amount: e.amount }));
  return { ...tx, released, total: released.reduce((s, r) => s + r.amount, 0n) };
}
