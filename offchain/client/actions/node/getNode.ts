import type { Hex } from "viem";
import { read } from "../internal";
import type { ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { NodeInfo, NodeKind, Tier } from "../../types";

export interface GetNodeParameters {
  nodeId: Hex;
}
export type GetNodeReturnType = NodeInfo & { nodeId: Hex; retired: boolean };
export type GetNodeErrorType = ReadErrorType;

/** A node's registry record. SDK_NOT_FOUND (UnknownNode) if it was never registered. */
export async function getNode(client: HmsClient, { nodeId }: GetNodeParameters): Promise<GetNodeReturnType> {
  const info = await read<Omit<NodeInfo, "kind" | "tier"> & { kind: number; tier: number }>(
    client,
    "NodeRegistry",
    "getNode",
    [nodeId],
  );
  const retired = await read<boolean>(client, "NodeRegistry", "isRetired", [nodeId]);
  return { ...info, kind: info.kind as NodeKind, tier: info.tier as Tier, nodeId, retired };
}
