// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IHMSErrors} from "../interfaces/IHMSErrors.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/**
 * @title HMSToken
 * @notice The HMS token: fixed supply of 800,000,000 HMS (18 decimals) minted once, at deployment,
 *         to the allocation contract. No account has any power over balances afterwards: there is no
 *         owner, no mint, no burn-from, no pause.
 * @dev EIP-2612 permit and ERC20Votes. The votes clock is the block timestamp (ERC-6372
 *      `mode=timestamp`) so that the bookkeeper election can snapshot voting power exactly at an
 *      epoch boundary, which is defined in seconds.
 */
contract HMSToken is IHMSErrors, ERC20, ERC20Permit, ERC20Votes {
    /// @notice The whole supply, minted once in the constructor.
    uint256 public constant TOTAL_SUPPLY = 800_000_000 ether;


    /**
     * @notice Mints the entire fixed supply to `allocation` (the TokenAllocation contract).
     * @param allocation Receiver of the whole supply.
     */
    constructor(address allocation) ERC20("HMS", "HMS") ERC20Permit("HMS") {
        if (allocation == address(0)) revert ZeroAddress();
        _mint(allocation, TOTAL_SUPPLY);
    }

    /// @notice ERC-6372 clock: the block timestamp.
    /// @return The current timestamp as a uint48.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    // solhint-disable-next-line func-name-mixedcase
    /// @notice ERC-6372 clock description.
    /// @return The machine-readable clock mode.
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice The permit / votes-by-signature nonce of `owner`.
    /// @param owner The account.
    /// @return The next unused nonce.
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
