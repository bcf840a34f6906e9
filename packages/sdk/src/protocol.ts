/**
 * `@hms-network/sdk/protocol`: the rules the validators and the contracts share, for tools that recompute a period
 * (or play the committee on a local chain): the EIP-712 domains and signing, the period ledger, the report and its
 * `dataCid`, the Merkle trees of MiningPool's leaves, the quorum arguments, and the pure period audit.
 */
export { domainOf, signTyped, type PeriodReportMessage } from "../../../offchain/core/signing";
export * from "../../../offchain/protocol/ledger";
export * from "../../../offchain/protocol/report";
export * from "../../../offchain/protocol/merkle";
export * from "../../../offchain/protocol/quorum";
export {
  AUDIT_CHECKS,
  auditReport,
  parseReportDocument,
  type AuditChainRecord,
  type AuditVerdict,
} from "../../../offchain/protocol/audit";
