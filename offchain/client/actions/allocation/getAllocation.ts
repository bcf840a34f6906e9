import type { Address } from "viem";
import { read } from "../internal";
import type { ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import { Bucket, enumName, type AllocationBucket } from "../../types";

export interface GetAllocationParameters {
  /** Default: every bucket. */
  bucket?: Bucket;
}
export type GetAllocationReturnType = AllocationBucket[];
export type GetAllocationErrorType = ReadErrorType;

/** The token allocation buckets: total, released, vested, releasable now, beneficiary and schedule. */
export async function getAllocation(
  client: HmsClient,
  { bucket }: GetAllocationParameters = {},
): Promise<GetAllocationReturnType> {
  const buckets = bucket === undefined ? Object.values(Bucket) : [bucket];
  return Promise.all(
    buckets.map(async (b) => {
      const [total, released, vested, releasable, beneficiary, pendingBeneficiary] = await read<
        [bigint, bigint, bigint, bigint, Address, Address]
      >(client, "TokenAllocation", "bucketInfo", [b]);
      const [start, end] = await read<[bigint, bigint]>(client, "TokenAllocation", "scheduleOf", [b]);
      return {
        bucket: b,
        name: enumName(Bucket, b),
        total,
        released,
        vested,
        releasable,
        beneficiary,
        pendingBeneficiary,
        start,
        end,
      };
    }),
  );
}
