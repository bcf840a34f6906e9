// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title HMSTypes
 * @notice EIP-712 type hashes shared by the contracts. They must equal the TypeScript definitions in
 *         `offchain/core/signing.ts` (checked by test/offchain/signing.test.ts).
 */
library HMSTypes {
    /// @dev PBFT pre-prepare as signed by the primary; two conflicting ones are slashing evidence.
    bytes32 internal constant PROPOSAL_TYPEHASH = keccak256(
        "Proposal(uint64 epoch,uint64 period,uint32 round,bytes32 digest)"
    );

    /// @dev A committee member recommends a candidate for bookkeeper admission.
    bytes32 internal constant RECOMMENDATION_TYPEHASH = keccak256("Recommendation(address candidate,uint64 deadline)");

    /// @dev A period's traffic report, signed by more than 2/3 of the epoch's committee. It covers the traffic of
    ///      periods `fromPeriod .. period`; `fromPeriod` must be the pool's first unreported period when it lands.
    bytes32 internal constant PERIOD_REPORT_TYPEHASH = keccak256(
        "PeriodReport(uint64 epoch,uint64 period,uint64 fromPeriod,bytes32 rewardsRoot,uint64 totalTraffic,"
        "uint32 nodeCount,bytes32 carryRoot,bytes32 dataCid)"
    );

    /// @dev One side of a served task (client or node); verified off-chain by meta nodes and validators.
    bytes32 internal constant TRAFFIC_RECEIPT_TYPEHASH = keccak256(
        "TrafficReceipt(bytes32 taskId,bytes32 nodeId,address client,uint64 bytesServed,uint64 period)"
    );

    /// @dev A batch of per-node measurements for ContributionRegistry, signed by more than 2/3 of the committee.
    ///      `measurementsHash = keccak256(abi.encode(ContributionRegistry.Measurement[]))`.
    bytes32 internal constant CONTRIBUTION_BATCH_TYPEHASH = keccak256(
        "ContributionBatch(uint64 epoch,uint64 nonce,bytes32 measurementsHash)"
    );

    /// @dev Proof-of-Contribution coefficients σ (18 decimals), signed by more than 2/3 of the committee.
    bytes32 internal constant CONTRIBUTION_COEFFICIENTS_TYPEHASH = keccak256(
        "ContributionCoefficients(uint64 epoch,uint64 nonce,uint64 cpu,uint64 memory,uint64 bandwidth,uint64 storage)"
    );

    /// @dev A signing key consents to be registered in the NodeRegistry by `registrant` for `subject` (a node id, or
    ///      zero for the registrant's bookkeeper key); `nonce` is the key's registry nonce (one use per proof).
    bytes32 internal constant KEY_REGISTRATION_TYPEHASH = keccak256(
        "KeyRegistration(address registrant,bytes32 subject,uint256 nonce,uint256 deadline)"
    );

    /// @dev EIP-2612 permit (HMSToken's OpenZeppelin ERC20Permit): escrow pulls by the ResourceMarket.
    bytes32 internal constant PERMIT_TYPEHASH = keccak256(
        "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
    );
}
