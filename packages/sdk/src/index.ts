/**
 * `@hms-network/sdk`: everything a dApp needs to talk to HMS Network — the `as const` ABIs, the deployment-file
 * loader, typed contract instances, enums and types of every struct and kind, and viem-style actions with
 * `client.extend(hmsActions)`. Built from the repository's offchain/ sources (tools/build-sdk.ts).
 */
export * from "../../../offchain/client";
export * from "../../../offchain/chain/abis";
export {
  loadDeployment,
  parseDeployment,
  deploymentPath,
  deploymentsDir,
  contractAddress,
  DeploymentError,
  deploymentSchema,
  type Deployment,
  type DeployedContract,
} from "../../../offchain/chain/deployment";
export { hmsContract, hmsContracts, type HmsContract, type HmsContracts } from "../../../offchain/chain/contracts";
export {
  keyRegistrationProof,
  registryKeyProof,
  electionWeight,
  BOOKKEEPER_KEY_SUBJECT,
  NO_DEADLINE,
  type KeyProof,
} from "../../../offchain/chain/staking";
export {
  orderEscrow,
  splitSettlement,
  accruedAt,
  leaseBalancesAt,
  escrowPermit,
  marketEvents,
  offerPosted,
  orderCreated,
  leaseStarted,
  NO_PRICE_LIMIT,
} from "../../../offchain/chain/market";
export { readPeriod, claimArgs, batchClaim, type ReportedPeriod } from "../../../offchain/chain/rewards";
export { HmsError, isHmsError, ERROR_CODES, EXIT_CODES, type ErrorCode } from "../../../offchain/core/errors";
