// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IBookkeeperOversight
 * @notice What the bookkeeper council (PPoV committee oversight) calls on BookkeeperStaking, and what
 *         staking asks the council. Kept separate so the two contracts reference each other only by
 *         interface.
 */
interface IBookkeeperOversight {
    /// @notice EIP-712 digest of `Recommendation(candidate, deadline)` in the staking domain
    ///         ("HMS BookkeeperStaking", version "1", this chain, the staking contract).
    /// @param candidate The recommended candidate.
    /// @param deadline Last second the recommendation may be used.
    /// @return The digest a committee member signs.
    function recommendationDigest(address candidate, uint64 deadline) external view returns (bytes32);

    /// @notice Council verdict: removes `bookkeeper`, forfeits its margin (bonded and unbonding) to the
    ///         mining pool; with `blacklist` it may never register again. A Dismiss needs {isDismissable}: a
    ///         bookkeeper that unbonded its whole margin while the motion gathered votes is still reached.
    ///         Callable by the council only.
    /// @param bookkeeper The bookkeeper account.
    /// @param blacklist Whether to blacklist it for good.
    /// @return forfeited Tokens forfeited to the mining pool.
    function councilDismiss(address bookkeeper, bool blacklist) external returns (uint256 forfeited);

    /// @notice Whether a Dismiss verdict can reach `account`: it is registered, or (not blacklisted) still holds
    ///         margin, bonded or in margin locks that have not matured. Unbonding does not escape a verdict.
    /// @param account The account.
    /// @return True if a Dismiss would forfeit something or take it off the candidate list.
    function isDismissable(address account) external view returns (bool);

    /// @notice Whether `account` is a registered (electable) bookkeeper.
    /// @param account The account.
    /// @return True if registered.
    function isRegistered(address account) external view returns (bool);

    /// @notice Whether `account` was blacklisted by the council.
    /// @param account The account.
    /// @return True if blacklisted.
    function isBlacklisted(address account) external view returns (bool);
}

/**
 * @title IBookkeeperAdmission
 * @notice What BookkeeperStaking asks the council when admission mode is on.
 */
interface IBookkeeperAdmission {
    /// @notice Whether `account` was admitted (recommended by a member and approved by more than half).
    /// @param account The account.
    /// @return True if admitted.
    function isAdmitted(address account) external view returns (bool);
}
