import type { Abi, Address, Hex } from "viem";
import { getLogs } from "viem/actions";
import { bookkeeperCouncilAbi } from "../../../chain/abis";
import { addressOf, assertChain, read } from "../internal";
import { toSdkError, type ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import type { CouncilAction, CouncilMotion } from "../../types";

export interface GetMotionsParameters {
  /** Include closed and executed motions (default: open ones only). */
  all?: boolean;
}
export interface GetMotionsReturnType {
  members: Address[];
  motions: CouncilMotion[];
}
export type GetMotionsErrorType = ReadErrorType;

const motionOpened = (bookkeeperCouncilAbi as Abi).find((e) => e.type === "event" && e.name === "MotionOpened")!;

/** The council's members and its motions (from MotionOpened events, with their tally now). */
export async function getMotions(
  client: HmsClient,
  { all = false }: GetMotionsParameters = {},
): Promise<GetMotionsReturnType> {
  await assertChain(client);
  const members = await read<Address[]>(client, "BookkeeperCouncil", "members");
  let logs;
  try {
    logs = await getLogs(client, {
      address: addressOf(client, "BookkeeperCouncil"),
      event: motionOpened as Extract<Abi[number], { type: "event" }>,
      fromBlock: BigInt(client.deployment.contracts.BookkeeperCouncil?.blockNumber ?? 0),
      strict: true,
    } as Parameters<typeof getLogs>[1]);
  } catch (err) {
    throw toSdkError(err, "eth_getLogs");
  }
  const motions: CouncilMotion[] = [];
  for (const log of logs) {
    const a = (
      log as unknown as {
        args: { motionId: Hex; action: number; target: Address; proposer: Address; reason: string };
      }
    ).args;
    const [motionId, open, openedAt, deadline, approvals, required] = await read<
      [Hex, boolean, bigint, bigint, bigint, bigint]
    >(client, "BookkeeperCouncil", "motion", [a.action, a.target]);
    const current = motionId === a.motionId;
    if (!all && !(current && open)) continue;
    motions.push({
      motionId: a.motionId,
      action: a.action as CouncilAction,
      target: a.target,
      open: current && open,
      openedAt: current ? openedAt : 0n,
      deadline: current ? deadline : 0n,
      approvals: current ? approvals : 0n,
      required: current ? required : 0n,
      reason: a.reason ?? "",
      proposer: a.proposer,
    });
  }
  return { members, motions };
}
