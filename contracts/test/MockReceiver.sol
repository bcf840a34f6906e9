// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TokenAllocation} from "../token/TokenAllocation.sol";

/**
 * @title MockReceiver
 * @notice Test-only contract standing in for a bucket beneficiary that is a contract (the mining pool).
 */
contract MockReceiver {
    /// @notice Accepts a beneficiary role proposed by `allocation` for `bucket`.
    /// @param allocation The allocation contract.
    /// @param bucket The bucket.
    function accept(TokenAllocation allocation, TokenAllocation.Bucket bucket) external {
        allocation.acceptBeneficiary(bucket);
    }
}
