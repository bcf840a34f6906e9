// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IHMSErrors
 * @notice The errors more than one HMS contract reverts with, declared once (EIP-6093 style: named after the
 *         violated condition, carrying the offending values). Every deployed contract inherits this interface
 *         (so the errors are in its ABI), and libraries revert with `IHMSErrors.X(...)`. A contract's own,
 *         domain-specific errors stay in the contract.
 */
interface IHMSErrors {
    /// @notice A required address is zero.
    error ZeroAddress();
    /// @notice An amount of zero where a positive amount is required.
    error ZeroAmount();
    /// @notice `account` has no code, but must be a contract.
    /// @param account The address given.
    error NotAContract(address account);
    /// @notice A constructor or governance parameter outside its bounds.
    /// @param name The parameter's name (as in the docs, e.g. "MinMargin", "claimWindow").
    /// @param value The value given.
    /// @param min The lowest value accepted.
    /// @param max The highest value accepted.
    error ParameterOutOfBounds(string name, uint256 value, uint256 min, uint256 max);
    /// @notice Two arrays that must have the same length do not.
    /// @param a Length of the first.
    /// @param b Length of the second.
    error LengthMismatch(uint256 a, uint256 b);
    /// @notice A batch is empty or longer than `max`.
    /// @param size The batch length.
    /// @param max The longest batch accepted.
    error BadBatchSize(uint256 size, uint256 max);
    /// @notice No committee was elected for `epoch`.
    /// @param epoch The epoch.
    error NoCommittee(uint64 epoch);
    /// @notice No node has this id.
    /// @param nodeId The node id.
    error UnknownNode(bytes32 nodeId);
    /// @notice The node has no payout address.
    /// @param nodeId The node id.
    error NoPayoutAddress(bytes32 nodeId);
    /// @notice `caller` is not the operator of `nodeId`.
    /// @param nodeId The node.
    /// @param caller The caller.
    error NotOperator(bytes32 nodeId, address caller);
    /// @notice An endpoint URL longer than the limit.
    /// @param length Its length in bytes.
    /// @param maxLength The limit.
    error EndpointTooLong(uint256 length, uint256 maxLength);
}
