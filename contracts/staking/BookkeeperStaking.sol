// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {HMSToken} from "../token/HMSToken.sol";
import {HMSTypes} from "../libraries/HMSTypes.sol";
import {IBookkeeperCommittee} from "../interfaces/IBookkeeperCommittee.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IBookkeeperOversight, IBookkeeperAdmission} from "./IBookkeeperOversight.sol";
import {IBookkeeperStaking} from "./IBookkeeperStaking.sol";
import {BookkeeperLogic} from "./BookkeeperLogic.sol";
import {BookkeeperCouncil} from "./BookkeeperCouncil.sol";

/**
 * @title BookkeeperStaking
 * @notice Bookkeepers (validators) of HMS Network (PROTOCOL §5): margin, delegation, vote-weighted election
 *         of each epoch's PBFT committee, unbonding, slashing by equivocation evidence and by the council.
 *
 * - Margin `Vb ≥ minMargin`, delegated stake `Lb` (one share pool per bookkeeper: rewards and slashes
 *   change the pool's token total in O(1), never loop over delegators), `Vt = Vb + Lb`.
 * - Votes `St`: ERC20Votes voting power delegated to the candidate, read at the epoch start
 *   (`getPastVotes(candidate, epochStart(epoch))`), so votes cannot be flash-borrowed into an election.
 * - Weight `Wt = Vt × max(1, ⌊St / 1 HMS⌋)`: the seed's `St × Vt`, or `Vt` with no votes, with St counted in
 *   whole tokens so that both branches meet (less than 2 HMS of votes counts as none). Missed duty:
 *   `W' = Wt × (2M − min(m, M)) / 2M`, `m` = missed duties recorded since the previous election,
 *   `M = missPenaltyCap` (missing M or more halves the weight); the margin is never touched.
 * - Election ({elect}, permissionless, once per epoch, after the epoch start): the top `committeeSize`
 *   registered candidates by weight (ties: lower address first) with margin ≥ minMargin and a bookkeeper
 *   key in the NodeRegistry (keys are snapshotted). O(candidates × committeeSize) with candidates ≤
 *   `maxCandidates` ≤ 512. Leader order: Fisher–Yates shuffle seeded by `block.prevrandao` of the
 *   election block (see {elect}).
 * - Unbonding: margin and delegations leave through locks released after `unbondingPeriod`, at most
 *   MAX_LOCKS pending per account. Unbonding stake stays slashable for offences committed before the
 *   request (in the request's epoch or an earlier one).
 * - Equivocation ({reportEquivocation}): two EIP-712 `Proposal`s for the same (epoch, period, round) with
 *   different digests signed by the same committee key of that epoch slash the bookkeeper's whole margin
 *   (bonded, and unbonding requested since the offence epoch) and `slashDelegatedBps` of its delegated
 *   stake (bonded at once; unbonding delegations requested since the offence epoch when they are
 *   withdrawn), remove it from the committees at once and jail it for good (one evidence slash per
 *   account, like a Cosmos tombstone). The reporter gets `bountyBps` (≤ 50 %) of the margin slashed, never
 *   of the delegated stake (an offender can always report itself through another account); the rest goes to
 *   the mining pool (queued until governance sets it; {flushToPool}).
 * - Council ({BookkeeperCouncil}, created here with the initial members): admission mode, dismissal
 *   (> 1/3) and blacklisting (≥ 2/3), both forfeiting the margin to the mining pool.
 *
 * The rare and heavy paths (election, slashing, verdicts, parameters) live in the linked library
 * {BookkeeperLogic}, which runs on this contract's storage by DELEGATECALL.
 */
contract BookkeeperStaking is
    IBookkeeperCommittee,
    IBookkeeperOversight,
    IBookkeeperStaking,
    AccessControl,
    ReentrancyGuard
{
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using BookkeeperLogic for BookkeeperLogic.State;

    /// @notice Role of the contracts that credit rewards and record missed duty (MiningPool, ContributionRegistry).
    bytes32 public constant REWARDER_ROLE = keccak256("REWARDER_ROLE");
    /// @notice Largest committee (the seed's 48 qualified bookkeepers).
    uint256 public constant MAX_COMMITTEE_SIZE = BookkeeperLogic.MAX_COMMITTEE_SIZE;
    /// @notice Hard cap of the governance-set candidate bound (keeps {elect} well inside a block).
    uint256 public constant MAX_CANDIDATES_CAP = BookkeeperLogic.MAX_CANDIDATES_CAP;
    /// @notice Pending unbonding locks per account.
    uint256 public constant MAX_LOCKS = BookkeeperLogic.MAX_LOCKS;
    /// @notice Longest {creditRewards} / {recordMissedDuty} batch.
    uint256 public constant MAX_BATCH = BookkeeperLogic.MAX_BATCH;

    /// @notice The HMS token (stake and ERC20Votes voting power).
    HMSToken public immutable token;
    /// @notice Where bookkeeper signing keys are registered.
    INodeRegistry public immutable registry;
    /// @notice The council (PPoV committee oversight) created at deployment.
    address public immutable council;

    BookkeeperLogic.State private _s;

    /**
     * @notice Deploys staking and its council.
     * @param token_ The HMS token.
     * @param registry_ The node registry (bookkeeper keys).
     * @param admin Governance (DEFAULT_ADMIN_ROLE): parameters, mining pool, REWARDER_ROLE. The timelock.
     * @param committeeMembers Initial council members (PPoV committee), 1..BookkeeperCouncil.MAX_MEMBERS.
     * @param params Initial parameters, checked against the same bounds as {setParameter}.
     */
    constructor(
        HMSToken token_,
        INodeRegistry registry_,
        address admin,
        address[] memory committeeMembers,
        Params memory params
    ) {
        if (address(token_) == address(0) || address(registry_) == address(0) || admin == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _s.initialize(params);
        council = address(new BookkeeperCouncil(IBookkeeperOversight(address(this)), committeeMembers));
    }

    // ---------------------------------------------------------------- bookkeepers

    /**
     * @notice Registers the caller as a bookkeeper candidate with a margin deposit (pulled with transferFrom).
     *         In admission mode the council must have admitted the caller.
     * @param amount Tokens to deposit; with any margin left from before it must reach `minMargin`.
     * @param commissionBps Commission on delegators' rewards (≤ maxCommissionBps).
     */
    function register(uint256 amount, uint16 commissionBps) external nonReentrant {
        _register(amount, commissionBps, address(0));
    }

    /**
     * @notice {register}, and if the candidate list is full, make room by evicting `evictee`, a candidate that
     *         weighs strictly less than the caller will (its election weight now; a candidate without a key or
     *         below the minimum margin weighs nothing). The evictee keeps its margin, bonded, off the list. With
     *         room on the list nobody is evicted. So a list filled by cheap Sybils never locks newcomers out.
     * @param amount Tokens to deposit (see {register}).
     * @param commissionBps Commission on delegators' rewards (≤ maxCommissionBps).
     * @param evictee The candidate to evict if the list is full (e.g. the lightest one, from {electionWeight}).
     */
    function registerReplacing(uint256 amount, uint16 commissionBps, address evictee) external nonReentrant {
        _register(amount, commissionBps, evictee);
    }

    function _register(uint256 amount, uint16 commissionBps, address evictee) private {
        BookkeeperLogic.Bookkeeper storage b = _s.bookkeepers[msg.sender];
        Status status = b.status;
        if (status == Status.Registered) revert AlreadyRegistered(msg.sender);
        if (status == Status.Jailed) revert BookkeeperJailed(msg.sender);
        if (status == Status.Blacklisted) revert BookkeeperBlacklisted(msg.sender);
        if (amount == 0) revert ZeroAmount();
        BookkeeperLogic.Config storage c = _s.config;
        if (c.admissionRequired && !IBookkeeperAdmission(council).isAdmitted(msg.sender)) {
            revert NotAdmitted(msg.sender);
        }
        if (commissionBps > c.maxCommissionBps) revert CommissionTooHigh(commissionBps, c.maxCommissionBps);
        uint256 margin = b.margin + amount;
        if (margin < c.minMargin) revert MarginBelowMinimum(margin, c.minMargin);
        if (_s.candidates.length >= c.maxCandidates) {
            if (evictee == address(0)) revert CandidateListFull(c.maxCandidates);
            _s.evict(token, registry, msg.sender, margin, evictee);
        }

        b.margin = margin.toUint96();
        b.commissionBps = commissionBps;
        _s.candidates.push(msg.sender);
        b.listIndexPlusOne = uint16(_s.candidates.length);
        BookkeeperLogic.setStatus(msg.sender, b, Status.Registered);
        emit BookkeeperRegistered(msg.sender, amount, margin, commissionBps);
        IERC20(address(token)).safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Adds to the caller's margin (registered bookkeepers only).
     * @param amount Tokens to add (pulled with transferFrom).
     */
    function topUp(uint256 amount) external nonReentrant {
        BookkeeperLogic.Bookkeeper storage b = _registered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 margin = b.margin + amount;
        b.margin = margin.toUint96();
        emit MarginAdded(msg.sender, amount, margin);
        IERC20(address(token)).safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Changes the caller's commission (registered bookkeepers only).
     * @param commissionBps New commission in bps (≤ maxCommissionBps).
     */
    function setCommission(uint16 commissionBps) external {
        BookkeeperLogic.Bookkeeper storage b = _registered(msg.sender);
        uint16 max = _s.config.maxCommissionBps;
        if (commissionBps > max) revert CommissionTooHigh(commissionBps, max);
        emit CommissionChanged(msg.sender, b.commissionBps, commissionBps);
        b.commissionBps = commissionBps;
    }

    /**
     * @notice Starts unbonding `amount` of the caller's margin. A registered bookkeeper keeps at least
     *         `minMargin` or unbonds everything, which takes it off the candidate list. The lock stays
     *         slashable for offences up to the current epoch.
     * @param amount Tokens to unbond.
     * @return lockId The new lock.
     */
    function unbond(uint256 amount) external returns (uint64 lockId) {
        BookkeeperLogic.Bookkeeper storage b = _s.bookkeepers[msg.sender];
        if (amount == 0) revert ZeroAmount();
        uint256 margin = b.margin;
        if (amount > margin) revert InsufficientMargin(amount, margin);
        uint256 remaining = margin - amount;
        if (b.status == Status.Registered) {
            if (remaining == 0) {
                _s.removeCandidate(b);
                BookkeeperLogic.setStatus(msg.sender, b, Status.None);
                emit BookkeeperExited(msg.sender, amount);
            } else if (remaining < _s.config.minMargin) {
                revert MarginBelowMinimum(remaining, _s.config.minMargin);
            }
        }
        b.margin = uint96(remaining);
        lockId = _addLock(msg.sender, msg.sender, amount, true, false);
    }

    // ---------------------------------------------------------------- delegation

    /**
     * @notice Delegates `amount` to a registered bookkeeper's pool (pulled with transferFrom).
     * @param bookkeeper The bookkeeper.
     * @param amount Tokens to delegate.
     * @return shares Pool shares minted to the caller.
     */
    function delegate(address bookkeeper, uint256 amount) external nonReentrant returns (uint256 shares) {
        BookkeeperLogic.Bookkeeper storage b = _registered(bookkeeper);
        if (amount == 0) revert ZeroAmount();
        uint256 poolShares = b.shares;
        uint256 poolTokens = b.delegated;
        shares = poolShares == 0 ? amount : (amount * poolShares) / poolTokens;
        if (shares == 0) revert ZeroShares(amount);
        poolShares += shares;
        poolTokens += amount;
        b.shares = poolShares.toUint128();
        b.delegated = poolTokens.toUint96();
        _s.shares[bookkeeper][msg.sender] += shares;
        emit Delegated(msg.sender, bookkeeper, amount, shares, poolTokens, poolShares);
        IERC20(address(token)).safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Leaves a bookkeeper's pool: burns `shares` and locks their token value for the unbonding wait.
     * @param bookkeeper The bookkeeper.
     * @param shares Shares to burn (see {delegationOf}).
     * @return lockId The new lock.
     */
    function undelegate(address bookkeeper, uint256 shares) external returns (uint64 lockId) {
        uint256 held = _s.shares[bookkeeper][msg.sender];
        if (shares == 0 || shares > held) revert InsufficientShares(shares, held);
        BookkeeperLogic.Bookkeeper storage b = _s.bookkeepers[bookkeeper];
        uint256 poolShares = b.shares;
        uint256 poolTokens = b.delegated;
        uint256 amount = (shares * poolTokens) / poolShares;
        if (amount == 0) revert ZeroAmount();
        poolShares -= shares;
        poolTokens -= amount;
        _s.shares[bookkeeper][msg.sender] = held - shares;
        b.shares = uint128(poolShares);
        b.delegated = uint96(poolTokens);
        emit Undelegated(msg.sender, bookkeeper, shares, amount, poolTokens, poolShares);
        lockId = _addLock(msg.sender, bookkeeper, amount, false, b.slashedAt != 0);
    }

    /**
     * @notice Withdraws every matured lock of the caller. A delegation lock of a bookkeeper slashed, while
     *         the lock was pending, for an offence in or before the lock's epoch pays `1 − slashBps` of it;
     *         the rest goes to the mining pool.
     * @return paid Tokens transferred to the caller.
     */
    function withdraw() external nonReentrant returns (uint256 paid) {
        Lock[] storage locks = _s.locks[msg.sender];
        uint256 slashed;
        uint256 found;
        for (uint256 i = locks.length; i > 0;) {
            --i;
            Lock memory lock = locks[i];
            if (lock.releaseAt > block.timestamp) continue;
            uint256 cut = _s.lateCut(lock);
            paid += lock.amount - cut;
            slashed += cut;
            ++found;
            emit Withdrawn(msg.sender, lock.bookkeeper, lock.id, lock.amount - cut, cut);
            BookkeeperLogic.removeLock(locks, i);
        }
        if (found == 0) revert NothingToWithdraw(msg.sender);
        if (paid > 0) IERC20(address(token)).safeTransfer(msg.sender, paid);
        if (slashed > 0) _s.toPool(IERC20(address(token)), slashed);
    }

    // ---------------------------------------------------------------- election and evidence

    /**
     * @notice Elects the committee of the current epoch: the top `committeeSize` registered candidates by
     *         weight, in a shuffled leader order. Permissionless, once per epoch, in a block strictly after
     *         the epoch start (votes are read at the epoch start).
     * @dev Randomness: the shuffle seed is `keccak256(block.prevrandao, epoch, this)`. prevrandao of the
     *      election block is unknown before that block, which comes after the epoch start, so nobody knows
     *      the order before the epoch begins. Residual risk: the proposer of the block holding `elect` knows
     *      prevrandao while building it and may include or withhold the call (one bit of bias per block it
     *      proposes, at the price of a later election); it cannot choose the value. Only the order is
     *      random: membership follows the weights.
     * @return epoch The epoch elected.
     */
    function elect() external nonReentrant returns (uint64 epoch) {
        return _s.elect(token, registry);
    }

    /**
     * @notice Proves that a committee member signed two different proposals for the same
     *         (epoch, period, round) and slashes it. Anyone may call; the caller receives the bounty.
     *         The evidence id is keccak256(abi.encode(epoch, period, round, signer)), independent of the
     *         signature bytes and argument order; high-s (malleable) signatures are rejected.
     * @param a One signed proposal.
     * @param sigA Its 65-byte signature by the member's committee signing key of `a.epoch`.
     * @param b The conflicting proposal.
     * @param sigB Its signature.
     * @return slashed Tokens slashed now (bounty included).
     */
    function reportEquivocation(
        Proposal calldata a,
        bytes calldata sigA,
        Proposal calldata b,
        bytes calldata sigB
    ) external nonReentrant returns (uint256 slashed) {
        return _s.reportEquivocation(IERC20(address(token)), a, sigA, b, sigB);
    }

    // ---------------------------------------------------------------- council

    /// @inheritdoc IBookkeeperOversight
    function councilDismiss(address bookkeeper, bool blacklist) external nonReentrant returns (uint256 forfeited) {
        if (msg.sender != council) revert NotCouncil(msg.sender);
        return _s.dismiss(IERC20(address(token)), bookkeeper, blacklist);
    }

    /// @inheritdoc IBookkeeperOversight
    function recommendationDigest(address candidate, uint64 deadline) external view returns (bytes32) {
        return BookkeeperLogic.hashTyped(keccak256(abi.encode(HMSTypes.RECOMMENDATION_TYPEHASH, candidate, deadline)));
    }

    /// @inheritdoc IBookkeeperOversight
    function isDismissable(address account) external view returns (bool) {
        return _s.dismissable(account);
    }

    /// @inheritdoc IBookkeeperOversight
    function isRegistered(address account) external view returns (bool) {
        return _s.bookkeepers[account].status == Status.Registered;
    }

    /// @inheritdoc IBookkeeperOversight
    function isBlacklisted(address account) external view returns (bool) {
        return _s.bookkeepers[account].status == Status.Blacklisted;
    }

    // ---------------------------------------------------------------- rewarders

    /// @inheritdoc IBookkeeperCommittee
    /// @dev Per bookkeeper: delegators' part `amount × Lb / Vt` less commission joins the pool (so every
    ///      delegator's shares gain value), the rest (own part + commission) joins the margin. A bookkeeper
    ///      with no stake at all returns its reward to the mining pool.
    function creditRewards(
        address[] calldata bookkeepers,
        uint256[] calldata amounts
    ) external nonReentrant onlyRole(REWARDER_ROLE) {
        uint256 length = bookkeepers.length;
        if (length != amounts.length) revert LengthMismatch(length, amounts.length);
        if (length > MAX_BATCH) revert BatchTooLarge(length, MAX_BATCH);
        uint256 total;
        uint256 unowned;
        for (uint256 i; i < length; ++i) {
            uint256 amount = amounts[i];
            if (amount == 0) continue;
            total += amount;
            BookkeeperLogic.Bookkeeper storage b = _s.bookkeepers[bookkeepers[i]];
            uint256 delegated = b.delegated;
            uint256 stake = b.margin + delegated;
            if (stake == 0) {
                unowned += amount;
                emit RewardsCredited(bookkeepers[i], msg.sender, amount, 0, 0, 0);
                continue;
            }
            uint256 toDelegators = (amount * delegated) / stake;
            uint256 commission = (toDelegators * b.commissionBps) / BookkeeperLogic.BPS;
            toDelegators -= commission;
            b.delegated = (delegated + toDelegators).toUint96();
            b.margin = (b.margin + amount - toDelegators).toUint96();
            emit RewardsCredited(bookkeepers[i], msg.sender, amount, amount - toDelegators, toDelegators, commission);
        }
        if (total > 0) IERC20(address(token)).safeTransferFrom(msg.sender, address(this), total);
        if (unowned > 0) _s.toPool(IERC20(address(token)), unowned);
    }

    /// @inheritdoc IBookkeeperCommittee
    /// @dev Each entry adds one miss (saturating at 255) to the count used by the next election.
    function recordMissedDuty(uint64 epoch, address[] calldata bookkeepers) external onlyRole(REWARDER_ROLE) {
        uint256 length = bookkeepers.length;
        if (length > MAX_BATCH) revert BatchTooLarge(length, MAX_BATCH);
        BookkeeperLogic.Committee storage c = _s.committees[epoch];
        if (c.size == 0) revert NoCommittee(epoch);
        uint32 round = _s.electionCount;
        for (uint256 i; i < length; ++i) {
            address bookkeeper = bookkeepers[i];
            BookkeeperLogic.Bookkeeper storage b = _s.bookkeepers[bookkeeper];
            if (b.lastElectedPlusOne != epoch + 1 && BookkeeperLogic.positionOf(c, bookkeeper) == type(uint256).max) {
                revert NotCommitteeMember(epoch, bookkeeper);
            }
            uint256 misses = b.missRound == round ? b.misses : 0;
            if (misses < type(uint8).max) ++misses;
            b.misses = uint8(misses);
            b.missRound = round;
            emit MissedDuty(bookkeeper, epoch, misses);
        }
    }

    // ---------------------------------------------------------------- mining pool and governance

    /**
     * @notice Governance sets the mining pool that receives slashed funds (a contract implementing IMiningPool).
     * @param pool The pool.
     */
    function setMiningPool(address pool) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (pool == address(0)) revert ZeroAddress();
        if (pool.code.length == 0) revert NotAContract(pool);
        emit MiningPoolSet(_s.miningPool, pool);
        _s.miningPool = pool;
    }

    /// @notice Forwards slashed funds held for the mining pool to it. Anyone may call.
    function flushToPool() external nonReentrant {
        if (_s.miningPool == address(0)) revert MiningPoolNotSet();
        if (_s.pendingPoolFunds == 0) revert NothingToFlush();
        _s.flush(IERC20(address(token)));
    }

    /**
     * @notice Governance changes a parameter. Bounds: MinMargin [1, 100,000,000] HMS; UnbondingPeriod
     *         [1, 365] days (new locks only); EpochLength [1 hour, 30 days] (from the next epoch on, epochs
     *         already started keep their numbers); CommitteeSize [1, min(48, MaxCandidates)] (next
     *         election); MaxCandidates [CommitteeSize, 512]; BountyBps [0, 5,000]; SlashDelegatedBps,
     *         MaxCommissionBps [0, 10,000]; MissPenaltyCap [1, 255]; AdmissionRequired 0 or 1.
     * @param param The parameter.
     * @param value The new value.
     */
    function setParameter(Parameter param, uint256 value) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _s.setParameter(param, value);
    }

    // ---------------------------------------------------------------- views: epochs and committees

    /// @inheritdoc IBookkeeperCommittee
    function currentEpoch() external view returns (uint64) {
        return _s.currentEpoch();
    }

    /// @inheritdoc IBookkeeperCommittee
    function epochStart(uint64 epoch) external view returns (uint256) {
        return _s.epochStart(epoch);
    }

    /**
     * @notice Epoch length in force now (a governance change applies from the next epoch boundary).
     * @return Seconds.
     */
    function epochLength() external view returns (uint64) {
        return _s.currentSegment().length;
    }

    /// @inheritdoc IBookkeeperCommittee
    function lastElectedEpoch() public view returns (uint64) {
        uint64 last = _s.lastElectedPlusOne;
        if (last == 0) revert NoElection();
        return last - 1;
    }

    /// @inheritdoc IBookkeeperCommittee
    function committee(uint64 epoch) public view returns (address[] memory bookkeepers, address[] memory signingKeys) {
        BookkeeperLogic.Committee storage c = _s.committees[epoch];
        return (c.bookkeepers, BookkeeperLogic.liveKeys(c));
    }

    /// @inheritdoc IBookkeeperCommittee
    function committeeStanding(uint64 epoch) external view returns (address[] memory bookkeepers, uint256 removed) {
        BookkeeperLogic.Committee storage c = _s.committees[epoch];
        return (c.bookkeepers, BookkeeperLogic.removedSince(_s, c));
    }

    /// @inheritdoc IBookkeeperCommittee
    /// @dev For an epoch without an election all three values are zero.
    function committeeCommitment(uint64 epoch) external view returns (bytes32 keysHash, uint256 size, uint256 quorum) {
        BookkeeperLogic.Committee storage c = _s.committees[epoch];
        return (c.keysHash, c.size, c.quorum);
    }

    /**
     * @notice The committee of the last elected epoch (the active set), in leader order: the PBFT
     *         primary of view `v` is position `v mod size`.
     * @return epoch Its epoch.
     * @return bookkeepers Members in leader order.
     * @return signingKeys Their keys (zero for removed members).
     * @return quorum Signatures needed (more than 2/3 of the elected size).
     */
    function activeSet()
        external
        view
        returns (uint64 epoch, address[] memory bookkeepers, address[] memory signingKeys, uint256 quorum)
    {
        epoch = lastElectedEpoch();
        (bookkeepers, signingKeys) = committee(epoch);
        quorum = _s.committees[epoch].quorum;
    }

    /**
     * @notice Membership of `account` in the committee of `epoch`.
     * @param epoch The epoch.
     * @param account The bookkeeper account.
     * @return member Whether it was elected (removed members stay members, with `removed` set).
     * @return position Its position in leader order (0 if not a member).
     * @return removed Whether it was removed since the election.
     */
    function membership(
        uint64 epoch,
        address account
    ) external view returns (bool member, uint256 position, bool removed) {
        BookkeeperLogic.Committee storage c = _s.committees[epoch];
        position = BookkeeperLogic.positionOf(c, account);
        if (position == type(uint256).max) return (false, 0, false);
        return (true, position, (c.removedMask >> position) & 1 == 1);
    }

    /**
     * @notice PBFT primary of view `round` in the committee of `epoch`: position `round mod size` of the
     *         leader order.
     * @param epoch The epoch.
     * @param round The PBFT view number.
     * @return bookkeeper The leader's account.
     * @return signingKey Its key (zero if removed since the election).
     */
    function leader(uint64 epoch, uint256 round) external view returns (address bookkeeper, address signingKey) {
        BookkeeperLogic.Committee storage c = _s.committees[epoch];
        if (c.size == 0) revert NoCommittee(epoch);
        uint256 i = round % c.size;
        bookkeeper = c.bookkeepers[i];
        signingKey = (c.removedMask >> i) & 1 == 1 ? address(0) : c.keys[i];
    }

    /// @inheritdoc IBookkeeperCommittee
    function committeeInfo(
        uint64 epoch
    ) external view returns (uint64 electedAt, uint64 removedMask, uint64 previousElected, bool hasPrevious) {
        BookkeeperLogic.Committee storage c = _s.committees[epoch];
        uint64 prev = c.prevElectedPlusOne;
        return (c.electedAt, c.removedMask, prev == 0 ? 0 : prev - 1, prev != 0);
    }

    /**
     * @notice The weight `account` would have in an election of the current epoch now (0 if ineligible).
     * @param account The candidate.
     * @return The weight.
     */
    function electionWeight(address account) external view returns (uint256) {
        return _s.weightOf(token, registry, account);
    }

    // ---------------------------------------------------------------- views: accounts and parameters

    /**
     * @notice Everything about a bookkeeper account.
     * @param account The account.
     * @return info See {BookkeeperInfo}.
     */
    function bookkeeperInfo(address account) external view returns (BookkeeperInfo memory info) {
        BookkeeperLogic.Bookkeeper storage b = _s.bookkeepers[account];
        info.status = b.status;
        info.margin = b.margin;
        info.delegated = b.delegated;
        info.shares = b.shares;
        info.commissionBps = b.commissionBps;
        info.pendingMisses = b.missRound == _s.electionCount ? b.misses : 0;
        info.everElected = b.lastElectedPlusOne != 0;
        info.lastElectedEpoch = info.everElected ? b.lastElectedPlusOne - 1 : 0;
        info.slashEpoch = b.slashEpoch;
        info.slashedAt = b.slashedAt;
        info.slashBps = b.slashBps;
    }

    /**
     * @notice A delegator's position in a bookkeeper's pool.
     * @param bookkeeper The bookkeeper.
     * @param delegator The delegator.
     * @return shares Shares held.
     * @return value Their token value now (rounded down).
     */
    function delegationOf(address bookkeeper, address delegator) external view returns (uint256 shares, uint256 value) {
        shares = _s.shares[bookkeeper][delegator];
        BookkeeperLogic.Bookkeeper storage b = _s.bookkeepers[bookkeeper];
        value = shares == 0 ? 0 : (shares * b.delegated) / b.shares;
    }

    /**
     * @notice Pending locks of `account` and what each would pay at withdrawal.
     * @param account The account.
     * @return locks The locks (≤ MAX_LOCKS).
     * @return payouts Tokens each pays at withdrawal (after a delegated-stake slash, if one applies).
     */
    function locksOf(address account) external view returns (Lock[] memory locks, uint256[] memory payouts) {
        locks = _s.locks[account];
        payouts = new uint256[](locks.length);
        for (uint256 i; i < locks.length; ++i) payouts[i] = locks[i].amount - _s.lateCut(locks[i]);
    }

    /**
     * @notice Registered candidates (at most maxCandidates).
     * @return The candidate list.
     */
    function candidates() external view returns (address[] memory) {
        return _s.candidates;
    }

    /**
     * @notice Whether evidence `evidenceId` was used.
     * @param evidenceId keccak256(abi.encode(epoch, period, round, signer)).
     * @return True if used.
     */
    function evidenceUsed(bytes32 evidenceId) external view returns (bool) {
        return _s.evidenceUsed[evidenceId];
    }

    /**
     * @notice The mining pool receiving slashed funds (zero until set).
     * @return The pool.
     */
    function miningPool() external view returns (address) {
        return _s.miningPool;
    }

    /**
     * @notice Slashed / forfeited funds held for the mining pool.
     * @return Tokens pending.
     */
    function pendingPoolFunds() external view returns (uint256) {
        return _s.pendingPoolFunds;
    }

    /**
     * @notice Current parameters.
     * @return params The parameters (epochLength: in force now; genesis: start of epoch 0).
     */
    function parameters() external view returns (Params memory params) {
        BookkeeperLogic.Config memory c = _s.config;
        params = Params({
            minMargin: c.minMargin,
            unbondingPeriod: c.unbondingPeriod,
            epochLength: _s.currentSegment().length,
            committeeSize: c.committeeSize,
            maxCandidates: c.maxCandidates,
            slashDelegatedBps: c.slashDelegatedBps,
            bountyBps: c.bountyBps,
            maxCommissionBps: c.maxCommissionBps,
            missPenaltyCap: c.missPenaltyCap,
            admissionRequired: c.admissionRequired,
            genesis: _s.clock[0].startTime
        });
    }

    /**
     * @notice The EIP-712 domain separator of evidence and recommendations: name "HMS BookkeeperStaking",
     *         version "1", this chain, this contract (offchain/core/signing.ts `domainOf("staking", …)`).
     * @return The separator.
     */
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return BookkeeperLogic.domainSeparator();
    }

    /// @inheritdoc AccessControl
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return
            interfaceId == type(IBookkeeperCommittee).interfaceId ||
            interfaceId == type(IBookkeeperOversight).interfaceId ||
            super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internals

    function _registered(address account) private view returns (BookkeeperLogic.Bookkeeper storage b) {
        b = _s.bookkeepers[account];
        if (b.status != Status.Registered) revert NotRegistered(account);
    }

    function _addLock(
        address account,
        address bookkeeper,
        uint256 amount,
        bool own,
        bool afterSlash
    ) private returns (uint64 id) {
        Lock[] storage locks = _s.locks[account];
        if (locks.length >= MAX_LOCKS) revert TooManyLocks(account, MAX_LOCKS);
        id = ++_s.lockCount;
        uint64 releaseAt = uint64(block.timestamp) + _s.config.unbondingPeriod;
        uint64 epoch = _s.currentEpoch();
        locks.push(
            Lock({
                bookkeeper: bookkeeper,
                releaseAt: releaseAt,
                amount: amount.toUint96(),
                epoch: epoch,
                id: id,
                own: own,
                afterSlash: afterSlash
            })
        );
        emit UnbondingRequested(account, bookkeeper, id, amount, releaseAt, epoch, own);
    }
}
