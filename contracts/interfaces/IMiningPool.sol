// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IMiningPool
 * @notice Funding entry of the mining pool: slashed stake and unclaimed rewards come back through it
 *         ("slashed funds go back to the community", PROTOCOL §5.8).
 */
interface IMiningPool {
    /// @notice Pulls `amount` HMS from the caller (transferFrom) into the pool and counts it as funding.
    /// @param amount Tokens to add to the pool.
    function fund(uint256 amount) external;
}
