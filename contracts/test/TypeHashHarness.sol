// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {HMSTypes} from "../libraries/HMSTypes.sol";

/**
 * @title TypeHashHarness
 * @notice Test-only: exposes HMSTypes constants so tests can compare them with offchain/core/signing.ts.
 */
contract TypeHashHarness {
    /// @notice All type hashes by name.
    /// @return names Type names, in the same order as `hashes`.
    /// @return hashes The Solidity type hashes.
    function all() external pure returns (string[] memory names, bytes32[] memory hashes) {
        names = new string[](8);
        hashes = new bytes32[](8);
        (names[0], hashes[0]) = ("Proposal", HMSTypes.PROPOSAL_TYPEHASH);
        (names[1], hashes[1]) = ("Recommendation", HMSTypes.RECOMMENDATION_TYPEHASH);
        (names[2], hashes[2]) = ("PeriodReport", HMSTypes.PERIOD_REPORT_TYPEHASH);
        (names[3], hashes[3]) = ("TrafficReceipt", HMSTypes.TRAFFIC_RECEIPT_TYPEHASH);
        (names[4], hashes[4]) = ("ContributionBatch", HMSTypes.CONTRIBUTION_BATCH_TYPEHASH);
        (names[5], hashes[5]) = ("ContributionCoefficients", HMSTypes.CONTRIBUTION_COEFFICIENTS_TYPEHASH);
        (names[6], hashes[6]) = ("Permit", HMSTypes.PERMIT_TYPEHASH);
        (names[7], hashes[7]) = ("KeyRegistration", HMSTypes.KEY_REGISTRATION_TYPEHASH);
    }
}
