// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMiningPool} from "../interfaces/IMiningPool.sol";

/// @notice Test-only: the calls a mock pool tries against staking while it is being funded.
interface IStakingReentryTarget {
    /// @notice BookkeeperStaking.flushToPool.
    function flushToPool() external;
}

/**
 * @title MockMiningPool
 * @notice Test-only IMiningPool: pulls what it is funded with, or misbehaves on request (reverts, pulls
 *         half, tries to re-enter staking) so tests can show that slashing never depends on the pool.
 */
contract MockMiningPool is IMiningPool {
    using SafeERC20 for IERC20;

    /// @notice How `fund` behaves.
    enum Mode {
        Normal,
        Revert,
        PullHalf,
        Reenter
    }

    /// @notice The token pulled.
    IERC20 public immutable token;
    /// @notice Current behaviour.
    Mode public mode;
    /// @notice Total pulled so far.
    uint256 public funded;
    /// @notice Whether a re-entry attempt succeeded (it must not).
    bool public reentered;

    /// @notice The pool was funded.
    /// @param from The funder.
    /// @param amount Tokens pulled.
    event Funded(address indexed from, uint256 amount);

    /// @notice The pool refuses funding (Mode.Revert).
    error PoolClosed();

    /// @notice Creates the pool.
    /// @param token_ The token.
    constructor(IERC20 token_) {
        token = token_;
    }

    /// @notice Sets the behaviour.
    /// @param mode_ The new mode.
    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @inheritdoc IMiningPool
    function fund(uint256 amount) external {
        if (mode == Mode.Revert) revert PoolClosed();
        if (mode == Mode.Reenter) {
            try IStakingReentryTarget(msg.sender).flushToPool() {
                reentered = true;
            } catch {}
        }
        uint256 pulled = mode == Mode.PullHalf ? amount / 2 : amount;
        funded += pulled;
        emit Funded(msg.sender, pulled);
        token.safeTransferFrom(msg.sender, address(this), pulled);
    }
}
