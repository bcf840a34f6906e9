// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IContributionScore
 * @notice Proof-of-Contribution score of a node (ContributionRegistry), used by the market to weight
 *         matching and shown to voters.
 */
interface IContributionScore {
    /// @notice Current contribution score of `nodeId` (decay applied lazily); 0 for an unknown node.
    /// @dev 18-decimal fixed point; comparable across nodes.
    /// @param nodeId The node id.
    /// @return The score.
    function score(bytes32 nodeId) external view returns (uint256);
}
