import type { Address, Hex } from "viem";
import { read, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { TransactionResult } from "../../types";

export interface SetNodePayoutParameters extends WriteParameters {
  nodeId: Hex;
  payout: Address;
}
export type SetNodePayoutReturnType = TransactionResult & { nodeId: Hex; previousPayout: Address; payout: Address };
export type SetNodePayoutErrorType = WriteErrorType;

/** Changes where a node's rewards and market payments go (the operator only). */
export async function setNodePayout(
  client: HmsClient,
  { nodeId, payout, account }: SetNodePayoutParameters,
): Promise<SetNodePayoutReturnType> {
  const previousPayout = await read<Address>(client, "NodeRegistry", "payoutOf", [nodeId]);
  const { tx } = await write(client, "NodeRegistry", "setPayout", [nodeId, payout], account);
  return { ...tx, nodeId, previousPayout, payout };
}
