// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title HMSTimelock
 * @notice Governance of HMS Network: every protocol parameter and beneficiary change goes through
 *         this OpenZeppelin TimelockController, so the community sees each change `minDelay`
 *         seconds before it takes effect.
 */
contract HMSTimelock is TimelockController {
    /**
     * @notice Creates the timelock.
     * @param minDelay Minimum delay in seconds between scheduling and executing an operation.
     * @param proposers Accounts allowed to schedule (and cancel) operations.
     * @param executors Accounts allowed to execute ready operations (address(0) = anyone).
     * @param admin Optional bootstrap admin (address(0) for none; the timelock administers itself).
     */
    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors,
        address admin
    ) TimelockController(minDelay, proposers, executors, admin) {}
}
