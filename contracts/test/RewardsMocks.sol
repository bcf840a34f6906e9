// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IBookkeeperCommittee} from "../interfaces/IBookkeeperCommittee.sol";
import {IMiningPool} from "../interfaces/IMiningPool.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {EmissionSchedule} from "../libraries/EmissionSchedule.sol";
import {QuorumVerifier} from "../libraries/QuorumVerifier.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/**
 * @title MockCommittee
 * @notice Test-only IBookkeeperCommittee: tests set each epoch's committee; it records creditRewards (pulling the
 *         tokens like BookkeeperStaking does) and recordMissedDuty calls.
 */
contract MockCommittee is IBookkeeperCommittee {
    using SafeERC20 for IERC20;

    /// @notice The token creditRewards pulls.
    IERC20 public immutable token;
    /// @notice Epoch clock: start of epoch 0.
    uint256 public genesis;
    /// @notice Epoch clock: seconds per epoch.
    uint256 public epochLength;
    uint64 private _last;
    bool private _elected;
    mapping(uint64 => address[]) private _bookkeepers;
    mapping(uint64 => address[]) private _keys;
    /// @dev Like BookkeeperStaking: the commitment is stored, not recomputed (O(1) for verifiers).
    mapping(uint64 => bytes32) private _keysHash;
    mapping(uint64 => uint256) private _size;
    mapping(uint64 => uint64) private _electedAt;
    mapping(uint64 => uint64) private _prevPlusOne;
    /// @notice Total credited to each bookkeeper.
    mapping(address => uint256) public credited;
    /// @notice Missed duties per (epoch, bookkeeper).
    mapping(uint64 => mapping(address => uint256)) public missed;
    /// @notice Rewards of this bookkeeper go back to `returnPool` (like BookkeeperStaking for a stakeless one).
    address public stakeless;
    /// @notice Where a stakeless bookkeeper's rewards go back to.
    address public returnPool;
    /// @notice Accounts removed since every election (older committees keep their keys).
    mapping(address => bool) public removedSince;
    /// @notice Number of creditRewards calls.
    uint256 public creditCalls;
    /// @notice Number of recordMissedDuty calls.
    uint256 public missedCalls;

    /// @notice creditRewards was called.
    /// @param bookkeepers Accounts credited.
    /// @param amounts Amounts.
    event RewardsCredited(address[] bookkeepers, uint256[] amounts);
    /// @notice recordMissedDuty was called.
    /// @param epoch The epoch.
    /// @param bookkeepers The members that missed.
    event MissedDutyRecorded(uint64 epoch, address[] bookkeepers);

    /// @notice No election yet.
    error NoElection();
    /// @notice Array lengths differ.
    error LengthMismatch();

    /// @notice Deploys the mock.
    /// @param token_ The token pulled by creditRewards.
    /// @param epochLength_ Seconds per epoch; the clock starts now.
    constructor(IERC20 token_, uint256 epochLength_) {
        token = token_;
        genesis = block.timestamp;
        epochLength = epochLength_;
    }

    /// @notice Sets (elects) the committee of `epoch`; becomes lastElectedEpoch if it is the latest.
    /// @param epoch The epoch.
    /// @param bookkeepers Staking accounts in leader order.
    /// @param keys Their signing keys.
    function setCommittee(uint64 epoch, address[] calldata bookkeepers, address[] calldata keys) external {
        if (bookkeepers.length != keys.length) revert LengthMismatch();
        _bookkeepers[epoch] = bookkeepers;
        _keys[epoch] = keys;
        _keysHash[epoch] = keccak256(abi.encodePacked(keys));
        _size[epoch] = keys.length;
        if (!_elected || epoch > _last) {
            _prevPlusOne[epoch] = _elected ? _last + 1 : 0;
            _electedAt[epoch] = uint64(block.timestamp);
            _last = epoch;
        }
        _elected = true;
    }

    /// @notice Makes creditRewards return `bookkeeper`'s reward to `pool` through IMiningPool.fund, re-entering it.
    /// @param bookkeeper The stakeless bookkeeper.
    /// @param pool The mining pool.
    function setStakeless(address bookkeeper, address pool) external {
        stakeless = bookkeeper;
        returnPool = pool;
    }

    /// @notice Removes member `index` of `epoch` (slashed / dismissed): its key becomes zero.
    /// @param epoch The epoch.
    /// @param index The member's index.
    function removeMember(uint64 epoch, uint256 index) external {
        _keys[epoch][index] = address(0);
        _keysHash[epoch] = keccak256(abi.encodePacked(_keys[epoch]));
    }

    /// @inheritdoc IBookkeeperCommittee
    function currentEpoch() external view returns (uint64) {
        return uint64((block.timestamp - genesis) / epochLength);
    }

    /// @inheritdoc IBookkeeperCommittee
    function epochStart(uint64 epoch) external view returns (uint256) {
        return genesis + uint256(epoch) * epochLength;
    }

    /// @inheritdoc IBookkeeperCommittee
    function lastElectedEpoch() external view returns (uint64) {
        if (!_elected) revert NoElection();
        return _last;
    }

    /// @inheritdoc IBookkeeperCommittee
    function committee(
        uint64 epoch
    ) external view returns (address[] memory bookkeepers, address[] memory signingKeys) {
        return (_bookkeepers[epoch], _keys[epoch]);
    }

    /// @inheritdoc IBookkeeperCommittee
    /// @dev Removed = removed with {removeMember} or {setRemovedSince}.
    function committeeStanding(uint64 epoch) external view returns (address[] memory bookkeepers, uint256 removed) {
        bookkeepers = _bookkeepers[epoch];
        for (uint256 i; i < bookkeepers.length; ++i) {
            if (_keys[epoch][i] == address(0) || removedSince[bookkeepers[i]]) removed |= 1 << i;
        }
    }

    /// @notice Marks `bookkeeper` as removed (slashed or dismissed) since every election, without touching keys.
    /// @param bookkeeper The account.
    function setRemovedSince(address bookkeeper) external {
        removedSince[bookkeeper] = true;
    }

    /// @inheritdoc IBookkeeperCommittee
    function committeeCommitment(uint64 epoch) external view returns (bytes32 keysHash, uint256 size, uint256 quorum) {
        size = _size[epoch];
        keysHash = _keysHash[epoch];
        quorum = size == 0 ? 0 : (size * 2) / 3 + 1;
    }

    /// @inheritdoc IBookkeeperCommittee
    function committeeInfo(
        uint64 epoch
    ) external view returns (uint64 electedAt, uint64 removedMask, uint64 previousElected, bool hasPrevious) {
        uint64 prev = _prevPlusOne[epoch];
        return (_electedAt[epoch], 0, prev == 0 ? 0 : prev - 1, prev != 0);
    }

    /// @inheritdoc IBookkeeperCommittee
    function creditRewards(address[] calldata bookkeepers, uint256[] calldata amounts) external {
        if (bookkeepers.length != amounts.length) revert LengthMismatch();
        uint256 total;
        for (uint256 i; i < amounts.length; ++i) {
            credited[bookkeepers[i]] += amounts[i];
            total += amounts[i];
        }
        ++creditCalls;
        emit RewardsCredited(bookkeepers, amounts);
        token.safeTransferFrom(msg.sender, address(this), total);
        uint256 unowned = stakeless == address(0) ? 0 : credited[stakeless];
        if (unowned != 0) {
            credited[stakeless] = 0;
            token.forceApprove(returnPool, unowned);
            IMiningPool(returnPool).fund(unowned);
        }
    }

    /// @inheritdoc IBookkeeperCommittee
    function recordMissedDuty(uint64 epoch, address[] calldata bookkeepers) external {
        for (uint256 i; i < bookkeepers.length; ++i) ++missed[epoch][bookkeepers[i]];
        ++missedCalls;
        emit MissedDutyRecorded(epoch, bookkeepers);
    }
}

/**
 * @title MockNodeRegistry
 * @notice Test-only INodeRegistry: payout addresses, tiers and activity set by tests.
 */
contract MockNodeRegistry is INodeRegistry {
    mapping(bytes32 => NodeInfo) private _nodes;

    /// @notice The node is not registered.
    error UnknownNode(bytes32 nodeId);

    /// @notice Registers or updates a node.
    /// @param nodeId The node id.
    /// @param payout Its payout address.
    /// @param tier Its tier.
    /// @param active Whether it is active.
    function setNode(bytes32 nodeId, address payout, Tier tier, bool active) external {
        NodeInfo storage n = _nodes[nodeId];
        n.operator = msg.sender;
        n.payout = payout;
        n.tier = tier;
        n.active = active;
        n.registeredAt = uint64(block.timestamp);
    }

    /// @notice Removes a node.
    /// @param nodeId The node id.
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
        // One cold SLOAD on the normal path, as INodeRegistry requires.
        address payout = _nodes[nodeId].payout;
        if (payout == address(0) && _nodes[nodeId].operator == address(0)) revert UnknownNode(nodeId);
        return payout;
    }

    /// @inheritdoc INodeRegistry
    function signingKeyOf(bytes32 nodeId) external view returns (address) {
        return _nodes[nodeId].signingKey;
    }

    /// @inheritdoc INodeRegistry
    function resourceProfile(
        bytes32 nodeId
    ) external view returns (NodeKind kind, Tier tier, uint16 region, bool active) {
        // Reads only the record's packed profile word (and the operator), like a registry built for matching.
        NodeInfo storage n = _nodes[nodeId];
        if (n.operator == address(0)) revert UnknownNode(nodeId);
        return (n.kind, n.tier, n.region, n.active);
    }

    /// @inheritdoc INodeRegistry
    function bookkeeperKeyOf(address) external pure returns (address) {
        return address(0);
    }

    function _known(bytes32 nodeId) private view returns (NodeInfo memory n) {
        n = _nodes[nodeId];
        if (n.operator == address(0)) revert UnknownNode(nodeId);
    }
}

/**
 * @title RewardsMathHarness
 * @notice Test-only: exposes EmissionSchedule, QuorumVerifier.popcount and OZ MerkleProof.
 */
contract RewardsMathHarness {
    /// @notice EmissionSchedule.cumulative.
    /// @param e0 E0.
    /// @param h H.
    /// @param p Periods.
    /// @return The cumulative emission.
    function cumulative(uint256 e0, uint256 h, uint256 p) external pure returns (uint256) {
        return EmissionSchedule.cumulative(e0, h, p);
    }

    /// @notice EmissionSchedule.emissionAt.
    /// @param e0 E0.
    /// @param h H.
    /// @param p Period.
    /// @return The emission of the period.
    function emissionAt(uint256 e0, uint256 h, uint256 p) external pure returns (uint256) {
        return EmissionSchedule.emissionAt(e0, h, p);
    }

    /// @notice QuorumVerifier.popcount.
    /// @param x The word.
    /// @return Its number of set bits.
    function popcount(uint256 x) external pure returns (uint256) {
        return QuorumVerifier.popcount(x);
    }

    /// @notice OZ MerkleProof.verify (sorted pairs), as MiningPool uses it.
    /// @param proof Sibling hashes.
    /// @param root The root.
    /// @param leaf The leaf.
    /// @return Whether the proof is valid.
    function verifyProof(bytes32[] calldata proof, bytes32 root, bytes32 leaf) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }
}
