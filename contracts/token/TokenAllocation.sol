// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IHMSErrors} from "../interfaces/IHMSErrors.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/**
 * @title TokenAllocation
 * @notice Holds the whole HMS supply at genesis and releases it bucket by bucket (PROTOCOL §3):
 *
 * | bucket     | amount      | rule                                                              |
 * |------------|-------------|-------------------------------------------------------------------|
 * | IDO        | 200,000,000 | everything at TGE                                                 |
 * | Technology | 104,000,000 | locked 5 years, then linear per second at 16,000,000 / year       |
 * | Operation  |  80,000,000 | released by the foundation (FOUNDATION_ROLE) with a public reason |
 * | Foundation | 120,000,000 | locked 4 years, then 15 tranches of 8,000,000, one per quarter    |
 * | Mining     | 296,000,000 | moved in full to the mining pool contract                         |
 *
 * year = 365 days, quarter = year / 4. Technology completes at TGE + 11.5 years; Foundation tranche
 * k (k = 1..15) unlocks at TGE + 4 years + k quarters, the last at TGE + 7.75 years.
 *
 * Anyone may release what is due to a bucket's beneficiary; releasing is idempotent (a second call
 * in the same second moves nothing). Beneficiaries change in two steps: governance proposes, the new
 * beneficiary accepts. The mining beneficiary must be a contract and is set once by governance.
 */
contract TokenAllocation is IHMSErrors, AccessControl {
    using SafeERC20 for IERC20;

    /// @notice The five allocation buckets.
    enum Bucket {
        IDO,
        Technology,
        Operation,
        Foundation,
        Mining
    }

    /// @notice Initial beneficiaries (Operation has none: each release names its recipient).
    struct Beneficiaries {
        address ido;
        address technology;
        address foundation;
        /// @dev The mining pool contract, or address(0) to set it later with {setMiningPool}.
        address mining;
    }

    /// @notice Role of the foundation, the only account that may release Operation funds.
    bytes32 public constant FOUNDATION_ROLE = keccak256("FOUNDATION_ROLE");

    /// @notice A year of the schedules: 365 days.
    uint256 public constant YEAR = 365 days;
    /// @notice A quarter: a year / 4.
    uint256 public constant QUARTER = YEAR / 4;

    /// @notice IDO bucket: 25 % of the supply.
    uint256 public constant IDO_AMOUNT = 200_000_000 ether;
    /// @notice Technology bucket: 13 % of the supply.
    uint256 public constant TECHNOLOGY_AMOUNT = 104_000_000 ether;
    /// @notice Operation bucket: 10 % of the supply.
    uint256 public constant OPERATION_AMOUNT = 80_000_000 ether;
    /// @notice Foundation bucket: 15 % of the supply.
    uint256 public constant FOUNDATION_AMOUNT = 120_000_000 ether;
    /// @notice Mining bucket: 37 % of the supply, for the mining pool.
    uint256 public constant MINING_AMOUNT = 296_000_000 ether;

    /// @notice Technology lock: 5 years.
    uint256 public constant TECHNOLOGY_CLIFF = 5 * YEAR;
    /// @notice Technology linear rate after the lock: 2 % of the supply per year.
    uint256 public constant TECHNOLOGY_PER_YEAR = 16_000_000 ether;
    /// @notice Foundation lock: 4 years.
    uint256 public constant FOUNDATION_CLIFF = 4 * YEAR;
    /// @notice Foundation tranche: 1 % of the supply.
    uint256 public constant FOUNDATION_TRANCHE = 8_000_000 ether;
    /// @notice Number of Foundation tranches, one per quarter after the lock.
    uint256 public constant FOUNDATION_TRANCHES = 15;

    /// @notice The HMS token.
    IERC20 public immutable token;
    /// @notice Token generation event: the origin of every schedule.
    uint64 public immutable tge;

    uint256[5] private _released;
    address[5] private _beneficiary;
    address[5] private _pendingBeneficiary;

    /// @notice A bucket released `amount` to `beneficiary`; `releasedTotal` is the bucket's running total.
    /// @param bucket The bucket.
    /// @param beneficiary Receiver of the release.
    /// @param amount Tokens released now.
    /// @param releasedTotal Released from the bucket so far, this release included.
    event Released(Bucket indexed bucket, address indexed beneficiary, uint256 amount, uint256 releasedTotal);
    /// @notice The foundation released Operation funds, publishing `reason` (free text or a URI).
    /// @param recipient Receiver of the funds.
    /// @param amount Tokens released now.
    /// @param reason The published reason or URI.
    /// @param releasedTotal Released from the Operation bucket so far, this release included.
    event OperationReleased(address indexed recipient, uint256 amount, string reason, uint256 releasedTotal);
    /// @notice Governance proposed `proposed` as the next beneficiary of `bucket`.
    /// @param bucket The bucket.
    /// @param current Its beneficiary now.
    /// @param proposed The proposed beneficiary, who must accept.
    event BeneficiaryProposed(Bucket indexed bucket, address indexed current, address indexed proposed);
    /// @notice `bucket` now pays `current` (after acceptance, or the one-time mining pool setting).
    /// @param bucket The bucket.
    /// @param previous The former beneficiary (zero if none).
    /// @param current The new beneficiary.
    event BeneficiaryChanged(Bucket indexed bucket, address indexed previous, address indexed current);

    /// @notice The token balance received at genesis does not match the allocation.
    error AllocationMismatch(uint256 balance, uint256 expected);
    /// @notice Operation funds are released only through {releaseOperation}.
    error DiscretionaryBucket();
    /// @notice The bucket has no beneficiary yet (mining pool not set).
    error BeneficiaryNotSet(Bucket bucket);
    /// @notice More than what is still available was requested.
    error ExceedsReleasable(uint256 requested, uint256 available);
    /// @notice An Operation release must publish a non-empty reason or URI.
    error EmptyReason();
    /// @notice The mining pool was already set.
    error MiningPoolAlreadySet(address pool);
    /// @notice Caller is not the pending beneficiary of the bucket.
    error NotPendingBeneficiary(Bucket bucket, address caller);
    /// @notice The TGE timestamp is zero.
    error InvalidTge();

    /**
     * @notice Sets up the buckets. The token must already hold the whole supply for this contract.
     * @param token_ The HMS token (its constructor minted the supply to this contract's address).
     * @param tge_ Token generation timestamp, origin of every schedule.
     * @param admin Governance (DEFAULT_ADMIN_ROLE): proposes beneficiaries, sets the mining pool.
     * @param foundation Holder of FOUNDATION_ROLE, releases Operation funds.
     * @param beneficiaries Initial beneficiaries; `mining` may be zero and set later.
     */
    constructor(IERC20 token_, uint64 tge_, address admin, address foundation, Beneficiaries memory beneficiaries) {
        if (
            address(token_) == address(0) ||
            admin == address(0) ||
            foundation == address(0) ||
            beneficiaries.ido == address(0) ||
            beneficiaries.technology == address(0) ||
            beneficiaries.foundation == address(0)
        ) revert ZeroAddress();
        if (tge_ == 0) revert InvalidTge();
        uint256 expected = IDO_AMOUNT + TECHNOLOGY_AMOUNT + OPERATION_AMOUNT + FOUNDATION_AMOUNT + MINING_AMOUNT;
        uint256 balance = token_.balanceOf(address(this));
        // The buckets are exactly the supply, and the supply is exactly here.
        if (balance != expected || token_.totalSupply() != expected) revert AllocationMismatch(balance, expected);

        token = token_;
        tge = tge_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(FOUNDATION_ROLE, foundation);
        _setBeneficiary(Bucket.IDO, beneficiaries.ido);
        _setBeneficiary(Bucket.Technology, beneficiaries.technology);
        _setBeneficiary(Bucket.Foundation, beneficiaries.foundation);
        if (beneficiaries.mining != address(0)) {
            if (beneficiaries.mining.code.length == 0) revert NotAContract(beneficiaries.mining);
            _setBeneficiary(Bucket.Mining, beneficiaries.mining);
        }
    }

    // ---------------------------------------------------------------- views

    /**
     * @notice Total size of a bucket.
     * @param bucket The bucket.
     * @return The bucket's allocation in token wei.
     */
    function bucketAmount(Bucket bucket) public pure returns (uint256) {
        if (bucket == Bucket.IDO) return IDO_AMOUNT;
        if (bucket == Bucket.Technology) return TECHNOLOGY_AMOUNT;
        if (bucket == Bucket.Operation) return OPERATION_AMOUNT;
        if (bucket == Bucket.Foundation) return FOUNDATION_AMOUNT;
        return MINING_AMOUNT;
    }

    /**
     * @notice Amount of `bucket` unlocked by the schedule at `timestamp` (released or not).
     * @dev Operation and Mining are available in full from TGE (Operation at the foundation's
     *      discretion, Mining to the pool).
     * @param bucket The bucket.
     * @param timestamp The time to evaluate the schedule at.
     * @return Unlocked amount in token wei.
     */
    function vestedAmount(Bucket bucket, uint256 timestamp) public view returns (uint256) {
        if (timestamp < tge) return 0;
        uint256 elapsed = timestamp - tge;
        if (bucket == Bucket.Technology) {
            if (elapsed <= TECHNOLOGY_CLIFF) return 0;
            uint256 linear = ((elapsed - TECHNOLOGY_CLIFF) * TECHNOLOGY_PER_YEAR) / YEAR;
            return linear < TECHNOLOGY_AMOUNT ? linear : TECHNOLOGY_AMOUNT;
        }
        if (bucket == Bucket.Foundation) {
            if (elapsed < FOUNDATION_CLIFF) return 0;
            uint256 tranches = (elapsed - FOUNDATION_CLIFF) / QUARTER;
            if (tranches > FOUNDATION_TRANCHES) tranches = FOUNDATION_TRANCHES;
            return tranches * FOUNDATION_TRANCHE;
        }
        return bucketAmount(bucket);
    }

    /**
     * @notice Amount that a release of `bucket` would move now.
     * @param bucket The bucket.
     * @return Unlocked minus already released.
     */
    function releasable(Bucket bucket) public view returns (uint256) {
        return vestedAmount(bucket, block.timestamp) - _released[uint256(bucket)];
    }

    /**
     * @notice Everything a dApp needs to show a bucket.
     * @param bucket The bucket.
     * @return total Bucket size.
     * @return releasedSoFar Released so far.
     * @return vested Unlocked by the schedule now.
     * @return releasableNow Unlocked but not yet released.
     * @return beneficiary Current beneficiary (zero for Operation and for an unset mining pool).
     * @return pendingBeneficiary Proposed beneficiary awaiting acceptance, or zero.
     */
    function bucketInfo(
        Bucket bucket
    )
        external
        view
        returns (
            uint256 total,
            uint256 releasedSoFar,
            uint256 vested,
            uint256 releasableNow,
            address beneficiary,
            address pendingBeneficiary
        )
    {
        uint256 i = uint256(bucket);
        vested = vestedAmount(bucket, block.timestamp);
        return (
            bucketAmount(bucket),
            _released[i],
            vested,
            vested - _released[i],
            _beneficiary[i],
            _pendingBeneficiary[i]
        );
    }

    /**
     * @notice Schedule boundaries of a bucket.
     * @param bucket The bucket.
     * @return start First moment anything unlocks.
     * @return end Moment the whole bucket is unlocked.
     */
    function scheduleOf(Bucket bucket) external view returns (uint256 start, uint256 end) {
        if (bucket == Bucket.Technology) {
            return (tge + TECHNOLOGY_CLIFF, tge + TECHNOLOGY_CLIFF + (TECHNOLOGY_AMOUNT * YEAR) / TECHNOLOGY_PER_YEAR);
        }
        if (bucket == Bucket.Foundation) {
            return (tge + FOUNDATION_CLIFF + QUARTER, tge + FOUNDATION_CLIFF + FOUNDATION_TRANCHES * QUARTER);
        }
        return (tge, tge);
    }

    /**
     * @notice Tokens released from `bucket` so far.
     * @param bucket The bucket.
     * @return Released amount.
     */
    function released(Bucket bucket) external view returns (uint256) {
        return _released[uint256(bucket)];
    }

    /**
     * @notice Current beneficiary of `bucket`.
     * @param bucket The bucket.
     * @return The beneficiary (zero for Operation and an unset mining pool).
     */
    function beneficiaryOf(Bucket bucket) external view returns (address) {
        return _beneficiary[uint256(bucket)];
    }

    /**
     * @notice Beneficiary proposed for `bucket` and not yet accepted.
     * @param bucket The bucket.
     * @return The pending beneficiary, or zero.
     */
    function pendingBeneficiaryOf(Bucket bucket) external view returns (address) {
        return _pendingBeneficiary[uint256(bucket)];
    }

    // ---------------------------------------------------------------- releases

    /**
     * @notice Releases everything due in a scheduled bucket to its beneficiary. Anyone may call.
     * @dev Idempotent: when nothing is due it moves nothing, emits nothing and returns 0.
     * @param bucket IDO, Technology, Foundation or Mining.
     * @return amount Tokens transferred.
     */
    function release(Bucket bucket) public returns (uint256 amount) {
        if (bucket == Bucket.Operation) revert DiscretionaryBucket();
        uint256 i = uint256(bucket);
        address to = _beneficiary[i];
        if (to == address(0)) revert BeneficiaryNotSet(bucket);
        amount = vestedAmount(bucket, block.timestamp) - _released[i];
        if (amount == 0) return 0;
        _released[i] += amount;
        emit Released(bucket, to, amount, _released[i]);
        token.safeTransfer(to, amount);
    }

    /**
     * @notice Releases what is due in every scheduled bucket that has a beneficiary.
     * @return total Tokens transferred across buckets.
     */
    function releaseAll() external returns (uint256 total) {
        total += release(Bucket.IDO);
        total += release(Bucket.Technology);
        total += release(Bucket.Foundation);
        if (_beneficiary[uint256(Bucket.Mining)] != address(0)) total += release(Bucket.Mining);
    }

    /**
     * @notice The foundation releases Operation funds to `recipient`, publishing why.
     * @param recipient Receiver of the funds.
     * @param amount Tokens to release (at most what remains in the bucket).
     * @param reason Non-empty reason or URI of the published rationale.
     */
    function releaseOperation(
        address recipient,
        uint256 amount,
        string calldata reason
    ) external onlyRole(FOUNDATION_ROLE) {
        if (recipient == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (bytes(reason).length == 0) revert EmptyReason();
        uint256 i = uint256(Bucket.Operation);
        uint256 available = vestedAmount(Bucket.Operation, block.timestamp) - _released[i];
        if (amount > available) revert ExceedsReleasable(amount, available);
        _released[i] += amount;
        emit OperationReleased(recipient, amount, reason, _released[i]);
        token.safeTransfer(recipient, amount);
    }

    // ---------------------------------------------------------------- beneficiaries

    /**
     * @notice Governance sets the mining pool, once. The pool must be a contract.
     * @param pool The mining pool contract.
     */
    function setMiningPool(address pool) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (pool == address(0)) revert ZeroAddress();
        address current = _beneficiary[uint256(Bucket.Mining)];
        if (current != address(0)) revert MiningPoolAlreadySet(current);
        if (pool.code.length == 0) revert NotAContract(pool);
        _setBeneficiary(Bucket.Mining, pool);
    }

    /**
     * @notice Governance proposes a new beneficiary; it takes effect when that account accepts.
     *         Proposing again replaces the pending proposal.
     * @param bucket IDO, Technology, Foundation or Mining.
     * @param proposed The proposed beneficiary (a contract for Mining).
     */
    function proposeBeneficiary(Bucket bucket, address proposed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bucket == Bucket.Operation) revert DiscretionaryBucket();
        if (proposed == address(0)) revert ZeroAddress();
        if (bucket == Bucket.Mining && proposed.code.length == 0) revert NotAContract(proposed);
        _pendingBeneficiary[uint256(bucket)] = proposed;
        emit BeneficiaryProposed(bucket, _beneficiary[uint256(bucket)], proposed);
    }

    /**
     * @notice The proposed beneficiary accepts; future releases go to it.
     * @param bucket The bucket whose beneficiary the caller was proposed for.
     */
    function acceptBeneficiary(Bucket bucket) external {
        uint256 i = uint256(bucket);
        if (bucket == Bucket.Operation || _pendingBeneficiary[i] != msg.sender) {
            revert NotPendingBeneficiary(bucket, msg.sender);
        }
        delete _pendingBeneficiary[i];
        _setBeneficiary(bucket, msg.sender);
    }

    function _setBeneficiary(Bucket bucket, address account) private {
        address previous = _beneficiary[uint256(bucket)];
        _beneficiary[uint256(bucket)] = account;
        emit BeneficiaryChanged(bucket, previous, account);
    }
}
