/**
 * The HMS client SDK (`@hms-network/sdk`): a viem client bound to a deployment, viem-style actions for every user and
 * operator action on chain (one per file under ./actions/<domain>/), the `hmsActions` decorator, enums and types of
 * every contract struct and kind, and typed errors. Storage and compute actions live in their folders: the storage
 * actions (`putFile`, `getFile`, `listFiles`, …, `hmsStorageActions`) are exported from ./storage, published as the
 * `@hms-network/sdk/storage` subpath — not from here, so that this entry stays free of the storage client's
 * Node-only dependencies (undici, the UnixFS importer).
 */
export * from "./client";
export * from "./types";
export * from "./errors";
export * from "./decorators/hms";
export * from "./actions/allocation/getAllocation";
export * from "./actions/allocation/releaseAllocation";
export * from "./actions/bookkeeper/addStake";
export * from "./actions/bookkeeper/delegateStake";
export * from "./actions/bookkeeper/electCommittee";
export * from "./actions/bookkeeper/getBookkeeper";
export * from "./actions/bookkeeper/registerBookkeeper";
export * from "./actions/bookkeeper/setBookkeeperKey";
export * from "./actions/bookkeeper/unbondStake";
export * from "./actions/bookkeeper/withdrawStake";
export * from "./actions/council/getMotions";
export * from "./actions/council/voteMotion";
export * from "./actions/market/closeLease";
export * from "./actions/market/createOrder";
export * from "./actions/market/getLeases";
export * from "./actions/market/getOffer";
export * from "./actions/market/getOffers";
export * from "./actions/market/getOrder";
export * from "./actions/market/postOffer";
export * from "./actions/market/takeOffer";
export * from "./actions/market/withdrawLease";
export * from "./actions/node/getNode";
export * from "./actions/node/registerNode";
export * from "./actions/node/setNodePayout";
export * from "./actions/node/setNodeSigningKey";
export * from "./actions/rewards/claimRewards";
export * from "./actions/rewards/getPendingRewards";
export * from "./actions/rewards/auditPeriod";
export * from "./actions/status/getStatus";
export * from "./actions/token/approveTokens";
export * from "./actions/token/delegateVotes";
export * from "./actions/token/getTokenBalance";
export * from "./actions/token/transferTokens";
export * from "./actions/rewards/getReportClaims";
