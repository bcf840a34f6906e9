// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IBookkeeperCommittee} from "../interfaces/IBookkeeperCommittee.sol";
import {QuorumVerifier} from "../libraries/QuorumVerifier.sol";

/**
 * @title GraceHarness
 * @notice Test-only: an election state set by the test (last elected epoch, its election time and epoch start, the
 *         committee elected before it) and `QuorumVerifier.checkEpoch` run against it, so that the TypeScript
 *         mirror (offchain/protocol/quorum.ts `epochMaySign` / `graceEnd`) can be pinned to the library.
 */
contract GraceHarness is IBookkeeperCommittee {
    uint64 private _last;
    uint64 private _electedAt;
    uint256 private _start;
    uint64 private _previous;
    bool private _hasPrevious;

    /// @notice Not used by checkEpoch.
    error Unused();

    /**
     * @notice Sets the election state.
     * @param last The last elected epoch.
     * @param electedAt When it was elected.
     * @param start Its epoch's start.
     * @param previous The epoch elected before it.
     * @param hasPrevious Whether there is one.
     */
    function set(uint64 last, uint64 electedAt, uint256 start, uint64 previous, bool hasPrevious) external {
        (_last, _electedAt, _start, _previous, _hasPrevious) = (last, electedAt, start, previous, hasPrevious);
    }

    /**
     * @notice Runs checkEpoch now.
     * @param epoch The epoch whose committee signed.
     * @param grace The election grace in seconds.
     * @return ok Whether the epoch may sign.
     * @return graceEnd The grace end named by EpochNotAccepted (0 when accepted).
     * @return timestamp The block timestamp of the check.
     */
    function check(uint64 epoch, uint256 grace) external view returns (bool ok, uint256 graceEnd, uint256 timestamp) {
        timestamp = block.timestamp;
        try this.checkEpoch(epoch, grace) {
            ok = true;
        } catch (bytes memory reason) {
            if (bytes4(reason) != QuorumVerifier.EpochNotAccepted.selector) revert Unused();
            assembly ("memory-safe") {
                graceEnd := mload(add(reason, 100))
            }
        }
    }

    /**
     * @notice QuorumVerifier.checkEpoch against this committee.
     * @param epoch The epoch whose committee signed.
     * @param grace The election grace.
     */
    function checkEpoch(uint64 epoch, uint256 grace) external view {
        QuorumVerifier.checkEpoch(this, epoch, grace);
    }

    /// @inheritdoc IBookkeeperCommittee
    function currentEpoch() external pure returns (uint64) {
        revert Unused();
    }

    /// @inheritdoc IBookkeeperCommittee
    function epochStart(uint64) external view returns (uint256) {
        return _start;
    }

    /// @inheritdoc IBookkeeperCommittee
    function lastElectedEpoch() external view returns (uint64) {
        return _last;
    }

    /// @inheritdoc IBookkeeperCommittee
    function committee(uint64) external pure returns (address[] memory, address[] memory) {
        revert Unused();
    }

    /// @inheritdoc IBookkeeperCommittee
    function committeeStanding(uint64) external pure returns (address[] memory, uint256) {
        revert Unused();
    }

    /// @inheritdoc IBookkeeperCommittee
    function committeeCommitment(uint64) external pure returns (bytes32, uint256, uint256) {
        revert Unused();
    }

    /// @inheritdoc IBookkeeperCommittee
    function committeeInfo(
        uint64
    ) external view returns (uint64 electedAt, uint64 removedMask, uint64 previousElected, bool hasPrevious) {
        return (_electedAt, 0, _previous, _hasPrevious);
    }

    /// @inheritdoc IBookkeeperCommittee
    function creditRewards(address[] calldata, uint256[] calldata) external pure {
        revert Unused();
    }

    /// @inheritdoc IBookkeeperCommittee
    function recordMissedDuty(uint64, address[] calldata) external pure {
        revert Unused();
    }
}
