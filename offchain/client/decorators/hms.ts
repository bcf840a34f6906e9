/**
 * `client.extend(hmsActions)`: every chain-side action as a method of an {@link HmsClient}, viem's decorator style.
 *
 * ```ts
 * const hms = createHmsClient({ deployment, transport: http(url), account }).extend(hmsActions);
 * const { offerId } = await hms.postOffer({ nodeId, kind: ResourceKind.Storage, units: 1024n, … });
 * ```
 */
import type { Client } from "viem";
import type { Deployment } from "../../chain/deployment";
import { HmsSdkError } from "../errors";
import type { HmsClient } from "../client";
import {
  electCommittee,
  type ElectCommitteeParameters,
  type ElectCommitteeReturnType,
} from "../actions/bookkeeper/electCommittee";
import {
  getAllocation,
  type GetAllocationParameters,
  type GetAllocationReturnType,
} from "../actions/allocation/getAllocation";
import {
  releaseAllocation,
  type ReleaseAllocationParameters,
  type ReleaseAllocationReturnType,
} from "../actions/allocation/releaseAllocation";
import { addStake, type AddStakeParameters, type AddStakeReturnType } from "../actions/bookkeeper/addStake";
import {
  delegateStake,
  type DelegateStakeParameters,
  type DelegateStakeReturnType,
} from "../actions/bookkeeper/delegateStake";
import {
  getBookkeeper,
  type GetBookkeeperParameters,
  type GetBookkeeperReturnType,
} from "../actions/bookkeeper/getBookkeeper";
import {
  registerBookkeeper,
  type RegisterBookkeeperParameters,
  type RegisterBookkeeperReturnType,
} from "../actions/bookkeeper/registerBookkeeper";
import {
  setBookkeeperKey,
  type SetBookkeeperKeyParameters,
  type SetBookkeeperKeyReturnType,
} from "../actions/bookkeeper/setBookkeeperKey";
import { unbondStake, type UnbondStakeParameters, type UnbondStakeReturnType } from "../actions/bookkeeper/unbondStake";
import {
  withdrawStake,
  type WithdrawStakeParameters,
  type WithdrawStakeReturnType,
} from "../actions/bookkeeper/withdrawStake";
import { getMotions, type GetMotionsParameters, type GetMotionsReturnType } from "../actions/council/getMotions";
import { voteMotion, type VoteMotionParameters, type VoteMotionReturnType } from "../actions/council/voteMotion";
import { closeLease, type CloseLeaseParameters, type CloseLeaseReturnType } from "../actions/market/closeLease";
import { createOrder, type CreateOrderParameters, type CreateOrderReturnType } from "../actions/market/createOrder";
import { getLeases, type GetLeasesParameters, type GetLeasesReturnType } from "../actions/market/getLeases";
import { getOffer, type GetOfferParameters, type GetOfferReturnType } from "../actions/market/getOffer";
import { getOffers, type GetOffersParameters, type GetOffersReturnType } from "../actions/market/getOffers";
import { getOrder, type GetOrderParameters, type GetOrderReturnType } from "../actions/market/getOrder";
import { postOffer, type PostOfferParameters, type PostOfferReturnType } from "../actions/market/postOffer";
import { takeOffer, type TakeOfferParameters, type TakeOfferReturnType } from "../actions/market/takeOffer";
import {
  withdrawLease,
  type WithdrawLeaseParameters,
  type WithdrawLeaseReturnType,
} from "../actions/market/withdrawLease";
import { getNode, type GetNodeParameters, type GetNodeReturnType } from "../actions/node/getNode";
import { registerNode, type RegisterNodeParameters, type RegisterNodeReturnType } from "../actions/node/registerNode";
import {
  setNodePayout,
  type SetNodePayoutParameters,
  type SetNodePayoutReturnType,
} from "../actions/node/setNodePayout";
import {
  setNodeSigningKey,
  type SetNodeSigningKeyParameters,
  type SetNodeSigningKeyReturnType,
} from "../actions/node/setNodeSigningKey";
import {
  claimRewards,
  type ClaimRewardsParameters,
  type ClaimRewardsReturnType,
} from "../actions/rewards/claimRewards";
import { auditPeriod, type AuditPeriodParameters, type AuditPeriodReturnType } from "../actions/rewards/auditPeriod";
import {
  getPendingRewards,
  type GetPendingRewardsParameters,
  type GetPendingRewardsReturnType,
} from "../actions/rewards/getPendingRewards";
import { getStatus, type GetStatusParameters, type GetStatusReturnType } from "../actions/status/getStatus";
import {
  approveTokens,
  type ApproveTokensParameters,
  type ApproveTokensReturnType,
} from "../actions/token/approveTokens";
import {
  delegateVotes,
  type DelegateVotesParameters,
  type DelegateVotesReturnType,
} from "../actions/token/delegateVotes";
import {
  getTokenBalance,
  type GetTokenBalanceParameters,
  type GetTokenBalanceReturnType,
} from "../actions/token/getTokenBalance";
import {
  transferTokens,
  type TransferTokensParameters,
  type TransferTokensReturnType,
} from "../actions/token/transferTokens";

/** The methods `hmsActions` adds. */
export type HmsActions = {
  /** The deployment (kept, so an extended client is still an `HmsClient`). */
  deployment: Deployment;
  getAllocation: (parameters?: GetAllocationParameters) => Promise<GetAllocationReturnType>;
  releaseAllocation: (parameters?: ReleaseAllocationParameters) => Promise<ReleaseAllocationReturnType>;
  addStake: (parameters: AddStakeParameters) => Promise<AddStakeReturnType>;
  delegateStake: (parameters: DelegateStakeParameters) => Promise<DelegateStakeReturnType>;
  electCommittee: (parameters?: ElectCommitteeParameters) => Promise<ElectCommitteeReturnType>;
  getBookkeeper: (parameters: GetBookkeeperParameters) => Promise<GetBookkeeperReturnType>;
  registerBookkeeper: (parameters: RegisterBookkeeperParameters) => Promise<RegisterBookkeeperReturnType>;
  setBookkeeperKey: (parameters: SetBookkeeperKeyParameters) => Promise<SetBookkeeperKeyReturnType>;
  unbondStake: (parameters: UnbondStakeParameters) => Promise<UnbondStakeReturnType>;
  withdrawStake: (parameters?: WithdrawStakeParameters) => Promise<WithdrawStakeReturnType>;
  getMotions: (parameters?: GetMotionsParameters) => Promise<GetMotionsReturnType>;
  voteMotion: (parameters: VoteMotionParameters) => Promise<VoteMotionReturnType>;
  closeLease: (parameters: CloseLeaseParameters) => Promise<CloseLeaseReturnType>;
  createOrder: (parameters: CreateOrderParameters) => Promise<CreateOrderReturnType>;
  getLeases: (parameters?: GetLeasesParameters) => Promise<GetLeasesReturnType>;
  getOffer: (parameters: GetOfferParameters) => Promise<GetOfferReturnType>;
  getOffers: (parameters?: GetOffersParameters) => Promise<GetOffersReturnType>;
  getOrder: (parameters: GetOrderParameters) => Promise<GetOrderReturnType>;
  postOffer: (parameters: PostOfferParameters) => Promise<PostOfferReturnType>;
  takeOffer: (parameters: TakeOfferParameters) => Promise<TakeOfferReturnType>;
  withdrawLease: (parameters: WithdrawLeaseParameters) => Promise<WithdrawLeaseReturnType>;
  getNode: (parameters: GetNodeParameters) => Promise<GetNodeReturnType>;
  registerNode: (parameters: RegisterNodeParameters) => Promise<RegisterNodeReturnType>;
  setNodePayout: (parameters: SetNodePayoutParameters) => Promise<SetNodePayoutReturnType>;
  setNodeSigningKey: (parameters: SetNodeSigningKeyParameters) => Promise<SetNodeSigningKeyReturnType>;
  claimRewards: (parameters: ClaimRewardsParameters) => Promise<ClaimRewardsReturnType>;
  getPendingRewards: (parameters: GetPendingRewardsParameters) => Promise<GetPendingRewardsReturnType>;
  auditPeriod: (parameters: AuditPeriodParameters) => Promise<AuditPeriodReturnType>;
  getStatus: (parameters?: GetStatusParameters) => Promise<GetStatusReturnType>;
  approveTokens: (parameters: ApproveTokensParameters) => Promise<ApproveTokensReturnType>;
  delegateVotes: (parameters: DelegateVotesParameters) => Promise<DelegateVotesReturnType>;
  getTokenBalance: (parameters: GetTokenBalanceParameters) => Promise<GetTokenBalanceReturnType>;
  transferTokens: (parameters: TransferTokensParameters) => Promise<TransferTokensReturnType>;
};

/** Decorator: `client.extend(hmsActions)` (the client must carry its `deployment`, see `createHmsClient`). */
export function hmsActions(client: Client): HmsActions {
  const c = client as HmsClient;
  if ((c as Partial<HmsClient>).deployment === undefined)
    throw new HmsSdkError(
      "SDK_INVALID_INPUT",
      "hmsActions: the client has no deployment (create it with createHmsClient)",
    );
  return {
    deployment: c.deployment,
    getAllocation: (parameters) => getAllocation(c, parameters as never),
    releaseAllocation: (parameters) => releaseAllocation(c, parameters as never),
    addStake: (parameters) => addStake(c, parameters as never),
    delegateStake: (parameters) => delegateStake(c, parameters as never),
    electCommittee: (parameters) => electCommittee(c, parameters as never),
    getBookkeeper: (parameters) => getBookkeeper(c, parameters as never),
    registerBookkeeper: (parameters) => registerBookkeeper(c, parameters as never),
    setBookkeeperKey: (parameters) => setBookkeeperKey(c, parameters as never),
    unbondStake: (parameters) => unbondStake(c, parameters as never),
    withdrawStake: (parameters) => withdrawStake(c, parameters as never),
    getMotions: (parameters) => getMotions(c, parameters as never),
    voteMotion: (parameters) => voteMotion(c, parameters as never),
    closeLease: (parameters) => closeLease(c, parameters as never),
    createOrder: (parameters) => createOrder(c, parameters as never),
    getLeases: (parameters) => getLeases(c, parameters as never),
    getOffer: (parameters) => getOffer(c, parameters as never),
    getOffers: (parameters) => getOffers(c, parameters as never),
    getOrder: (parameters) => getOrder(c, parameters as never),
    postOffer: (parameters) => postOffer(c, parameters as never),
    takeOffer: (parameters) => takeOffer(c, parameters as never),
    withdrawLease: (parameters) => withdrawLease(c, parameters as never),
    getNode: (parameters) => getNode(c, parameters as never),
    registerNode: (parameters) => registerNode(c, parameters as never),
    setNodePayout: (parameters) => setNodePayout(c, parameters as never),
    setNodeSigningKey: (parameters) => setNodeSigningKey(c, parameters as never),
    claimRewards: (parameters) => claimRewards(c, parameters as never),
    getPendingRewards: (parameters) => getPendingRewards(c, parameters as never),
    auditPeriod: (parameters) => auditPeriod(c, parameters as never),
    getStatus: (parameters) => getStatus(c, parameters as never),
    approveTokens: (parameters) => approveTokens(c, parameters as never),
    delegateVotes: (parameters) => delegateVotes(c, parameters as never),
    getTokenBalance: (parameters) => getTokenBalance(c, parameters as never),
    transferTokens: (parameters) => transferTokens(c, parameters as never),
  };
}
