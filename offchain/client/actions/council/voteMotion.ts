import type { Address, Hex } from "viem";
import { eventsOf, read, write, type WriteParameters } from "../internal";
import type { WriteErrorType } from "../../errors";
import type { HmsClient } from "../../client";
import { CouncilAction, type TransactionResult } from "../../types";

export interface VoteMotionParameters extends WriteParameters {
  action: CouncilAction;
  target: Address;
  /** Opens the motion with this reason if none is open (a member's proposal counts as its vote). */
  reason?: string;
}
export type VoteMotionReturnType = TransactionResult & {
  motionId: Hex;
  /** The motion was opened by this transaction. */
  proposed: boolean;
  approvals: bigint;
  required: bigint;
  /** The vote reached the threshold and the motion took effect. */
  executed: boolean;
};
export type VoteMotionErrorType = WriteErrorType;

/**
 * A council member approves the motion on (action, target), or opens it with `reason` when none is open.
 * SDK_NOT_REGISTERED (NotMember) for a non-member, SDK_NOT_FOUND (NoOpenMotion) without a motion or reason.
 */
export async function voteMotion(client: HmsClient, parameters: VoteMotionParameters): Promise<VoteMotionReturnType> {
  const { action, target, reason, account } = parameters;
  const [, open] = await read<[Hex, boolean]>(client, "BookkeeperCouncil", "motion", [action, target]);
  const proposed = !open && reason !== undefined && action !== CouncilAction.Retain;
  const { tx, logs } = proposed
    ? await write(client, "BookkeeperCouncil", "propose", [action, target, reason], account)
    : await write(client, "BookkeeperCouncil", "vote", [action, target], account);
  const voted = eventsOf<{ motionId: Hex; approvals: bigint; required: bigint }>(
    client,
    logs,
    "BookkeeperCouncil",
    "Voted",
  );
  const executed = eventsOf(client, logs, "BookkeeperCouncil", "MotionExecuted").length > 0;
  const last = voted[voted.length - 1];
  return { ...tx, motionId: last.motionId, proposed, approvals: last.approvals, required: last.required, executed };
}
