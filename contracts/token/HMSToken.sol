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

    /// @dev An account's balance and its votes delegate share one storage slot (the supply fits 96 bits): a transfer
    ///      reads the sender's and the receiver's delegates — which ERC20Votes needs on every transfer — from the
    ///      slots it reads for their balances anyway, instead of two more cold slots (≈ 4,000 gas per transfer).
    struct Account {
        uint96 balance;
        address delegatee;
    }

    mapping(address account => Account) private _accounts;
    uint96 private _supply;

    /// @notice Total supply (TOTAL_SUPPLY once the constructor minted it).
    /// @return The supply in token wei.
    function totalSupply() public view override returns (uint256) {
        return _supply;
    }

    /// @notice Balance of `account`.
    /// @param account The account.
    /// @return Its balance in token wei.
    function balanceOf(address account) public view override returns (uint256) {
        return _accounts[account].balance;
    }

    /// @notice The account `account` delegates its votes to (zero if none).
    /// @param account The account.
    /// @return Its delegate.
    function delegates(address account) public view override returns (address) {
        return _accounts[account].delegatee;
    }

    /// @notice The permit / votes-by-signature nonce of `owner`.
    /// @param owner The account.
    /// @return The next unused nonce.
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @dev ERC20's balance update and ERC20Votes' vote move over the packed {Account} slots (same checks, errors
    ///      and events as OpenZeppelin's; checked against a plain OpenZeppelin ERC20Votes by a property test). A
    ///      transfer reads and writes each account's slot once and takes both delegates from those reads: the
    ///      balance is the slot's low 96 bits, so `w - value` (value ≤ balance) and `w + value` (the result stays
    ///      below the supply < 2^96) change the balance and leave the delegate untouched.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        address fromDelegate;
        address toDelegate;
        if (from == address(0)) {
            uint256 supply = uint256(_supply) + value;
            if (supply > type(uint96).max) revert ERC20ExceededSafeSupply(supply, type(uint96).max);
            _supply = uint96(supply);
        } else {
            uint256 slot = _accountSlot(from);
            uint256 w;
            assembly ("memory-safe") {
                w := sload(slot)
            }
            uint256 balance = uint96(w);
            if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
            fromDelegate = address(uint160(w >> 96));
            assembly ("memory-safe") {
                sstore(slot, sub(w, value))
            }
        }
        if (to == address(0)) {
            unchecked {
                _supply -= uint96(value); // value ≤ the sender's balance ≤ supply
            }
        } else {
            uint256 slot = _accountSlot(to);
            uint256 w;
            assembly ("memory-safe") {
                w := sload(slot)
                sstore(slot, add(w, value))
            }
            toDelegate = address(uint160(w >> 96));
        }
        emit Transfer(from, to, value);
        if (from == address(0) || to == address(0)) _transferVotingUnits(from, to, value);
        else _moveDelegateVotes(fromDelegate, toDelegate, value);
    }

    /// @dev Storage slot of `_accounts[account]`.
    function _accountSlot(address account) private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, _accounts.slot)
            slot := keccak256(0x00, 0x40)
        }
    }

    /// @dev Votes' delegation over the packed {Account} slot.
    function _delegate(address account, address delegatee) internal override {
        Account storage a = _accounts[account];
        address oldDelegate = a.delegatee;
        a.delegatee = delegatee;
        emit DelegateChanged(account, oldDelegate, delegatee);
        _moveDelegateVotes(oldDelegate, delegatee, a.balance);
    }
}
