// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/**
 * @title ReferenceVotesToken
 * @notice Test-only: a plain OpenZeppelin ERC20 + Permit + Votes with HMSToken's supply and timestamp clock, the
 *         reference HMSToken's packed account slots are checked against (test/token/HMSToken.property.test.ts).
 */
contract ReferenceVotesToken is ERC20, ERC20Permit, ERC20Votes {
    /// @notice Mints 800,000,000 tokens to `holder`.
    /// @param holder Receiver of the supply.
    constructor(address holder) ERC20("REF", "REF") ERC20Permit("REF") {
        _mint(holder, 800_000_000 ether);
    }

    /// @notice ERC-6372 clock: the block timestamp.
    /// @return The current timestamp.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    // solhint-disable-next-line func-name-mixedcase
    /// @notice ERC-6372 clock description.
    /// @return The clock mode.
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice Permit / votes nonce.
    /// @param owner The account.
    /// @return The next nonce.
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
