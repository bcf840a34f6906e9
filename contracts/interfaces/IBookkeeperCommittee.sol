// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IBookkeeperCommittee
 * @notice What the rewards side (MiningPool, ContributionRegistry) and the validator daemons read from
 *         BookkeeperStaking: epochs, each epoch's elected committee, and the hooks for rewards and
 *         missed duty.
 *
 * Committee commitment: `keysHash = keccak256(abi.encodePacked(signingKeys))` over the committee's
 * signing keys in leader order (each padded to 32 bytes, as `abi.encodePacked(address[])` does), where
 * a member removed since the election (slashed, dismissed) has its key replaced by address(0). A quorum
 * verifier takes the keys as calldata, checks them against `keysHash`, and then checks each signature
 * against `keys[index]` — O(signatures), no per-signer storage reads. `quorum` is more than 2/3 of the
 * size elected (`size * 2 / 3 + 1`); removals never lower it.
 */
interface IBookkeeperCommittee {
    /// @notice Epoch in progress now: `(block.timestamp - genesis) / epochLength`.
    /// @return The current epoch number.
    function currentEpoch() external view returns (uint64);

    /// @notice Start timestamp of `epoch` (the election snapshot time of its votes).
    /// @param epoch The epoch.
    /// @return Unix timestamp of the epoch start.
    function epochStart(uint64 epoch) external view returns (uint256);

    /// @notice The most recent epoch for which a committee was elected; reverts with a custom error if none.
    /// @return The epoch number.
    function lastElectedEpoch() external view returns (uint64);

    /// @notice The committee of `epoch` in leader order (empty if none was elected).
    /// @param epoch The epoch.
    /// @return bookkeepers Bookkeeper (staking) accounts.
    /// @return signingKeys Their signing keys as of the election; address(0) for removed members.
    function committee(uint64 epoch) external view returns (address[] memory bookkeepers, address[] memory signingKeys);

    /// @notice The committee of `epoch` and which of its members were removed at any time since that election —
    ///         slashed, dismissed or blacklisted, whether from this committee or later (an older committee keeps
    ///         its keys in {committee}, but a member removed since must not be paid for what it signed then).
    /// @param epoch The epoch.
    /// @return bookkeepers Bookkeeper accounts in leader order (empty if none was elected).
    /// @return removed Bit i set when member i was removed since the election.
    function committeeStanding(uint64 epoch) external view returns (address[] memory bookkeepers, uint256 removed);

    /// @notice Commitment to the committee of `epoch` for O(1) quorum verification (see above).
    /// @param epoch The epoch.
    /// @return keysHash keccak256(abi.encodePacked(signingKeys)).
    /// @return size Number of members elected (0 if no election for that epoch).
    /// @return quorum Signatures required: size * 2 / 3 + 1.
    function committeeCommitment(uint64 epoch) external view returns (bytes32 keysHash, uint256 size, uint256 quorum);

    /// @notice Election metadata of `epoch`.
    /// @param epoch The epoch.
    /// @return electedAt Timestamp of the election (0 if none).
    /// @return removedMask Bit i set when member i was removed.
    /// @return previousElected The epoch elected before it (the committee that served until this election), if
    ///         `hasPrevious`.
    /// @return hasPrevious Whether an election preceded it.
    function committeeInfo(
        uint64 epoch
    ) external view returns (uint64 electedAt, uint64 removedMask, uint64 previousElected, bool hasPrevious);

    /// @notice Credits rewards to bookkeepers' staking pools (their delegators share after commission).
    ///         Pulls the sum of `amounts` from the caller with transferFrom. Caller needs REWARDER_ROLE.
    /// @param bookkeepers Bookkeeper accounts.
    /// @param amounts HMS credited to each.
    function creditRewards(address[] calldata bookkeepers, uint256[] calldata amounts) external;

    /// @notice Records that `bookkeepers` (members of `epoch`) missed a duty; lowers their next election
    ///         weight, never touches their margin. Caller needs REWARDER_ROLE.
    /// @param epoch The epoch of the missed duty.
    /// @param bookkeepers The members that missed it.
    function recordMissedDuty(uint64 epoch, address[] calldata bookkeepers) external;
}
