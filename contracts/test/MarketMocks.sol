// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ResourceMarket} from "../market/ResourceMarket.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IContributionScore} from "../interfaces/IContributionScore.sol";

/**
 * @title MarketMockRegistry
 * @notice Test-only INodeRegistry for the market's unit tests: nodes are set directly, and the
 *         failure modes of a real registry (unknown node reverts, deactivation, removal) can be staged.
 */
contract MarketMockRegistry is INodeRegistry {
    mapping(bytes32 nodeId => NodeInfo) private _nodes;

    /// @notice The node is unknown.
    error UnknownNode(bytes32 nodeId);

    /**
     * @notice Creates or replaces a node.
     * @param nodeId The node id.
     * @param operator Its operator.
     * @param payout Its payout address.
     * @param kind Its kind.
     * @param tier Its tier.
     * @param region Its region.
     */
    function setNode(
        bytes32 nodeId,
        address operator,
        address payout,
        NodeKind kind,
        Tier tier,
        uint16 region
    ) external {
        NodeInfo storage n = _nodes[nodeId];
        n.operator = operator;
        n.signingKey = operator;
        n.payout = payout;
        n.kind = kind;
        n.tier = tier;
        n.region = region;
        n.capacity = 1000;
        n.registeredAt = uint64(block.timestamp);
        n.active = true;
    }

    /**
     * @notice Activates or deactivates a node.
     * @param nodeId The node id.
     * @param active The new state.
     */
    function setActive(bytes32 nodeId, bool active) external {
        _nodes[nodeId].active = active;
    }

    /**
     * @notice Changes a node's operator (ownership transfer).
     * @param nodeId The node id.
     * @param operator The new operator.
     */
    function setOperator(bytes32 nodeId, address operator) external {
        _nodes[nodeId].operator = operator;
    }

    /**
     * @notice Changes a node's payout address.
     * @param nodeId The node id.
     * @param payout The new payout address (zero to stage a missing payout).
     */
    function setPayout(bytes32 nodeId, address payout) external {
        _nodes[nodeId].payout = payout;
    }

    /**
     * @notice Changes a node's region and tier.
     * @param nodeId The node id.
     * @param tier The new tier.
     * @param region The new region.
     */
    function setProfile(bytes32 nodeId, Tier tier, uint16 region) external {
        _nodes[nodeId].tier = tier;
        _nodes[nodeId].region = region;
    }

    /**
     * @notice Removes a node: views revert or return zero as for an unknown node.
     * @param nodeId The node id.
     */
    function removeNode(bytes32 nodeId) external {
        delete _nodes[nodeId];
    }

    /// @inheritdoc INodeRegistry
    function getNode(bytes32 nodeId) external view returns (NodeInfo memory) {
        return _known(nodeId);
    }

    /// @inheritdoc INodeRegistry
    function operatorOf(bytes32 nodeId) external view returns (address) {
        return _nodes[nodeId].operator;
    }

    /// @inheritdoc INodeRegistry
    function payoutOf(bytes32 nodeId) external view returns (address) {
        if (_nodes[nodeId].operator == address(0)) revert UnknownNode(nodeId);
        return _nodes[nodeId].payout;
    }

    /// @inheritdoc INodeRegistry
    function signingKeyOf(bytes32 nodeId) external view returns (address) {
        return _nodes[nodeId].signingKey;
    }

    /// @inheritdoc INodeRegistry
    function resourceProfile(
        bytes32 nodeId
    ) external view returns (NodeKind kind, Tier tier, uint16 region, bool active) {
        NodeInfo storage n = _known(nodeId);
        return (n.kind, n.tier, n.region, n.active);
    }

    /// @inheritdoc INodeRegistry
    function bookkeeperKeyOf(address) external pure returns (address) {
        return address(0);
    }

    function _known(bytes32 nodeId) private view returns (NodeInfo storage n) {
        n = _nodes[nodeId];
        if (n.operator == address(0)) revert UnknownNode(nodeId);
    }
}

/**
 * @title MarketMockScores
 * @notice Test-only IContributionScore: scores are set directly; a reverting mode checks that the
 *         market treats a failing score source as score 0.
 */
contract MarketMockScores is IContributionScore {
    mapping(bytes32 nodeId => uint256) private _scores;
    /// @notice When true, {score} reverts.
    bool public reverting;

    /// @notice Staged failure of the score source.
    error ScoreUnavailable();

    /**
     * @notice Sets a node's score.
     * @param nodeId The node id.
     * @param value The 18-decimal score.
     */
    function setScore(bytes32 nodeId, uint256 value) external {
        _scores[nodeId] = value;
    }

    /**
     * @notice Makes {score} revert (or not).
     * @param value The new mode.
     */
    function setReverting(bool value) external {
        reverting = value;
    }

    /// @inheritdoc IContributionScore
    function score(bytes32 nodeId) external view returns (uint256) {
        if (reverting) revert ScoreUnavailable();
        return _scores[nodeId];
    }
}

/**
 * @title ReentrantToken
 * @notice Test-only ERC20 that, when armed, calls back into a target during `transfer` (as a
 *         malicious or hook-carrying token could), to prove the market's reentrancy guard.
 */
contract ReentrantToken is ERC20 {
    address private _target;
    bytes private _payload;
    /// @notice Revert data of the last callback (empty if it succeeded or none ran).
    bytes public lastError;

    /**
     * @notice Mints `supply` to the deployer.
     * @param supply Tokens minted.
     */
    constructor(uint256 supply) ERC20("Reentrant", "RE") {
        _mint(msg.sender, supply);
    }

    /**
     * @notice Arms the callback: the next transfer calls `target` with `payload` once.
     * @param target Contract to call back.
     * @param payload Calldata of the callback.
     */
    function arm(address target, bytes calldata payload) external {
        _target = target;
        _payload = payload;
    }

    /**
     * @notice ERC20 transfer that runs the armed callback first.
     * @param to Receiver.
     * @param value Amount.
     * @return Always true.
     */
    function transfer(address to, uint256 value) public override returns (bool) {
        address target = _target;
        if (target != address(0)) {
            _target = address(0);
            (bool ok, bytes memory err) = target.call(_payload);
            if (!ok) lastError = err;
        }
        return super.transfer(to, value);
    }
}

/**
 * @title MarketProbe
 * @notice Test-only: reads, in one eth_call, everything the market's invariant test checks after every
 *         step (balances of the holders, escrow of each order and lease, lease records), so that
 *         1,000 random sequences stay fast.
 */
contract MarketProbe {
    /// @notice One lease as the invariant test sees it.
    struct LeaseView {
        ResourceMarket.Lease lease;
        bytes32 nodeId;
        uint256 accrued;
        uint256 withdrawable;
        uint256 escrow;
    }

    /**
     * @notice Balances, escrows and leases in one call.
     * @param token The token.
     * @param holders Accounts whose balances are read.
     * @param market The market.
     * @param orderIds Orders whose escrow is read (zero for non-open orders).
     * @param leaseIds Leases read.
     * @return balances Token balance of each holder.
     * @return orderEscrows Escrow of each order.
     * @return leases Each lease with its balances.
     * @return timestamp The block timestamp of the read.
     */
    function snapshot(
        IERC20 token,
        address[] calldata holders,
        ResourceMarket market,
        uint256[] calldata orderIds,
        uint256[] calldata leaseIds
    )
        external
        view
        returns (uint256[] memory balances, uint256[] memory orderEscrows, LeaseView[] memory leases, uint256 timestamp)
    {
        balances = new uint256[](holders.length);
        for (uint256 i; i < holders.length; ++i) balances[i] = token.balanceOf(holders[i]);
        orderEscrows = new uint256[](orderIds.length);
        for (uint256 i; i < orderIds.length; ++i) (, orderEscrows[i]) = market.getOrder(orderIds[i]);
        leases = new LeaseView[](leaseIds.length);
        for (uint256 i; i < leaseIds.length; ++i) {
            LeaseView memory v = leases[i];
            (v.lease, v.nodeId, v.accrued, v.withdrawable, v.escrow) = market.getLease(leaseIds[i]);
        }
        timestamp = block.timestamp;
    }
}
