// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title INodeRegistry
 * @notice What other contracts read from the node registry (implemented by NodeRegistry in
 *         contracts/staking). Resource nodes (storage / container), meta nodes and bookkeeper keys.
 *         Each node id is owned by an operator address, has a separate signing key (what its daemon
 *         signs with, rotatable by the operator) and a payout address.
 */
interface INodeRegistry {
    /// @notice Node kinds. Storage and Container are resource nodes; Meta runs the meta layer.
    enum NodeKind {
        Storage,
        Container,
        Meta
    }

    /// @notice Hardware tiers (BonusCloud): Lite, Normal, Super.
    enum Tier {
        Lite,
        Normal,
        Super
    }

    /// @notice Full registry record of a node.
    struct NodeInfo {
        address operator;
        address signingKey;
        address payout;
        NodeKind kind;
        Tier tier;
        /// @dev Region code (project-wide numbering, e.g. ISO 3166-1 numeric country code).
        uint16 region;
        /// @dev Advertised capacity: GiB of storage for storage nodes, millicores for containers.
        uint64 capacity;
        uint64 registeredAt;
        bool active;
        string endpoint;
    }

    /// @notice The full record of `nodeId`; reverts with a custom error if unknown.
    /// @param nodeId The node id.
    /// @return The node record.
    function getNode(bytes32 nodeId) external view returns (NodeInfo memory);

    /// @notice Operator (owner) of `nodeId`, or address(0) if unknown.
    /// @param nodeId The node id.
    /// @return The operator.
    function operatorOf(bytes32 nodeId) external view returns (address);

    /// @notice Where `nodeId`'s rewards and market payments go; reverts with a custom error if unknown.
    /// @dev Must cost one cold SLOAD (claims call it).
    /// @param nodeId The node id.
    /// @return The payout address.
    function payoutOf(bytes32 nodeId) external view returns (address);

    /// @notice The key `nodeId`'s daemon signs with, or address(0) if unknown.
    /// @param nodeId The node id.
    /// @return The signing key address.
    function signingKeyOf(bytes32 nodeId) external view returns (address);

    /// @notice What the market needs for matching, in one call; reverts with a custom error if unknown.
    /// @param nodeId The node id.
    /// @return kind Node kind.
    /// @return tier Hardware tier.
    /// @return region Region code.
    /// @return active Whether the node is active.
    function resourceProfile(
        bytes32 nodeId
    ) external view returns (NodeKind kind, Tier tier, uint16 region, bool active);

    /// @notice Signing key registered by bookkeeper account `bookkeeper`, or address(0).
    /// @param bookkeeper The bookkeeper (staking) account.
    /// @return The bookkeeper's node signing key.
    function bookkeeperKeyOf(address bookkeeper) external view returns (address);
}
