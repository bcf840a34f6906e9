// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {HMSTypes} from "../libraries/HMSTypes.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IMiningPool} from "../interfaces/IMiningPool.sol";
import {IBookkeeperStaking as I} from "./IBookkeeperStaking.sol";
import {IHMSErrors} from "../interfaces/IHMSErrors.sol";

/**
 * @title BookkeeperLogic
 * @notice State and logic of BookkeeperStaking. The contract keeps one {State} and calls the `external`
 *         functions here by DELEGATECALL (a linked library: the code runs on the staking contract's storage,
 *         balance and address, and its events come from the staking address). `internal` helpers are
 *         compiled into both. The split only keeps BookkeeperStaking under the 24 KB code-size limit; see
 *         BookkeeperStaking for the protocol.
 */
library BookkeeperLogic {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- state

    struct Bookkeeper {
        // slot 0: everything an election reads
        uint96 margin;
        uint96 delegated;
        uint16 commissionBps;
        I.Status status;
        uint8 misses;
        uint32 missRound;
        // slot 1
        uint128 shares;
        uint64 lastElectedPlusOne;
        uint16 listIndexPlusOne;
        // slot 2
        uint64 slashEpoch;
        uint64 slashedAt;
        uint16 slashBps;
        /// @dev Last time it was slashed, dismissed or blacklisted (committees elected before then exclude it).
        uint64 removedAt;
    }

    struct Committee {
        bytes32 keysHash;
        uint16 size;
        uint16 quorum;
        uint64 removedMask;
        uint64 electedAt;
        uint64 prevElectedPlusOne;
        address[] bookkeepers;
        /// @dev Signing keys as elected (removals are applied on read through `removedMask`).
        address[] keys;
    }

    struct Config {
        uint96 minMargin;
        uint64 unbondingPeriod;
        uint16 committeeSize;
        uint16 maxCandidates;
        uint16 slashDelegatedBps;
        uint16 bountyBps;
        uint16 maxCommissionBps;
        uint16 missPenaltyCap;
        bool admissionRequired;
    }

    /// @dev One stretch of the epoch clock with a fixed epoch length.
    struct ClockSegment {
        uint64 startTime;
        uint64 firstEpoch;
        uint64 length;
    }

    struct State {
        Config config;
        ClockSegment[] clock;
        address miningPool;
        uint256 pendingPoolFunds;
        mapping(address account => Bookkeeper) bookkeepers;
        mapping(address bookkeeper => mapping(address delegator => uint256)) shares;
        mapping(address account => I.Lock[]) locks;
        mapping(uint64 epoch => Committee) committees;
        mapping(bytes32 evidenceId => bool) evidenceUsed;
        address[] candidates;
        uint64 lastElectedPlusOne;
        uint32 electionCount;
        uint64 lockCount;
    }

    /// @dev An election in progress.
    struct Election {
        address[] members;
        address[] keys;
        uint256[] weights;
        bytes32 seed;
        uint64 epoch;
    }

    /// @dev What computing a weight needs, in one memory struct.
    struct WeightContext {
        IVotes token;
        INodeRegistry registry;
        uint256 snapshot;
        uint256 minMargin;
        uint256 cap;
        uint32 round;
    }

    /// @dev Election working set: the candidate list, their keys, and a bounded min-heap of packed entries.
    struct Ranking {
        address[] candidates;
        address[] keys;
        uint256[] heap;
        uint256 count;
    }

    // ---------------------------------------------------------------- constants

    uint256 internal constant MAX_COMMITTEE_SIZE = 48;
    uint256 internal constant MAX_CANDIDATES_CAP = 512;
    uint256 internal constant MAX_LOCKS = 16;
    uint256 internal constant MAX_BATCH = 256;
    uint256 internal constant MAX_CLOCK_SEGMENTS = 32;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_BOUNTY_BPS = 5_000;
    uint256 internal constant MIN_MARGIN_FLOOR = 1 ether;
    uint256 internal constant MIN_MARGIN_CEILING = 100_000_000 ether;
    uint256 internal constant MIN_UNBONDING = 1 days;
    uint256 internal constant MAX_UNBONDING = 365 days;
    uint256 internal constant MIN_EPOCH_LENGTH = 1 hours;
    uint256 internal constant MAX_EPOCH_LENGTH = 30 days;
    uint256 internal constant MAX_MISS_PENALTY_CAP = 255;
    uint64 internal constant NO_EPOCH = type(uint64).max;

    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 internal constant NAME_HASH = keccak256("HMS BookkeeperStaking");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    // ---------------------------------------------------------------- setup and governance

    /**
     * @notice Initialises the clock and parameters (constructor of BookkeeperStaking).
     * @param s The staking state.
     * @param p The constructor parameters.
     */
    function initialize(State storage s, I.Params memory p) external {
        uint256 genesis = p.genesis == 0 ? block.timestamp : p.genesis;
        if (genesis > block.timestamp) revert I.InvalidGenesis(genesis, block.timestamp);
        _checkBounds(s, I.Parameter.EpochLength, p.epochLength);
        s.clock.push(ClockSegment({startTime: uint64(genesis), firstEpoch: 0, length: p.epochLength}));
        _set(s, I.Parameter.MinMargin, p.minMargin);
        _set(s, I.Parameter.UnbondingPeriod, p.unbondingPeriod);
        _set(s, I.Parameter.CommitteeSize, p.committeeSize);
        _set(s, I.Parameter.MaxCandidates, p.maxCandidates);
        _set(s, I.Parameter.SlashDelegatedBps, p.slashDelegatedBps);
        _set(s, I.Parameter.BountyBps, p.bountyBps);
        _set(s, I.Parameter.MaxCommissionBps, p.maxCommissionBps);
        _set(s, I.Parameter.MissPenaltyCap, p.missPenaltyCap);
        _set(s, I.Parameter.AdmissionRequired, p.admissionRequired ? 1 : 0);
    }

    /**
     * @notice Changes a parameter within its bounds (see BookkeeperStaking.setParameter).
     * @param s The staking state.
     * @param param The parameter.
     * @param value The new value.
     */
    function setParameter(State storage s, I.Parameter param, uint256 value) external {
        if (param == I.Parameter.EpochLength) {
            _checkBounds(s, param, value);
            _scheduleEpochLength(s, uint64(value));
        } else {
            _set(s, param, value);
        }
    }

    // ---------------------------------------------------------------- election

    /**
     * @notice Elects the committee of the current epoch (see BookkeeperStaking.elect).
     * @param s The staking state.
     * @param token The HMS token (ERC20Votes).
     * @param registry The node registry (bookkeeper keys).
     * @return epoch The epoch elected.
     */
    function elect(State storage s, IVotes token, INodeRegistry registry) external returns (uint64 epoch) {
        epoch = currentEpoch(s);
        Committee storage c = s.committees[epoch];
        if (c.size != 0) revert I.AlreadyElected(epoch);
        uint256 snapshot = epochStart(s, epoch);
        if (snapshot >= block.timestamp) revert I.ElectionTooEarly(epoch, snapshot);

        Election memory e;
        (e.members, e.keys, e.weights) = _selectTop(s, token, registry, snapshot);
        if (e.members.length == 0) revert I.NoEligibleCandidates(epoch);
        e.epoch = epoch;
        e.seed = keccak256(abi.encode(block.prevrandao, epoch, address(this)));
        _shuffle(e);
        _store(s, c, e);
        emit I.CommitteeElected(epoch, e.members, e.keys, e.weights, c.keysHash, c.quorum, e.seed, s.candidates.length);
    }

    /**
     * @notice The weight `account` would have in an election of the current epoch now.
     * @param s The staking state.
     * @param token The HMS token.
     * @param registry The node registry.
     * @param account The candidate.
     * @return weight Its weight (0 if not registered or ineligible).
     */
    function weightOf(
        State storage s,
        IVotes token,
        INodeRegistry registry,
        address account
    ) external view returns (uint256 weight) {
        uint64 epoch = currentEpoch(s);
        uint256 snapshot = epochStart(s, epoch);
        if (snapshot >= block.timestamp) revert I.ElectionTooEarly(epoch, snapshot);
        Bookkeeper storage b = s.bookkeepers[account];
        if (b.status != I.Status.Registered) return 0;
        (weight, ) = _weight(b, account, _context(s, token, registry, snapshot));
    }

    /**
     * @notice Makes room on a full candidate list for `newcomer` (about to register with `margin`) by evicting
     *         `evictee`, which must weigh strictly less in an election of the current epoch now (a candidate
     *         without a key or below the minimum margin weighs nothing). The evicted account keeps its margin,
     *         bonded but no longer a candidate (status None): it may unbond it, or register again when it
     *         outweighs someone. Sybils at the minimum margin therefore cannot lock newcomers out.
     * @param s The staking state.
     * @param token The HMS token (votes).
     * @param registry The node registry (keys).
     * @param newcomer The registering account.
     * @param margin Its margin after the deposit.
     * @param evictee The candidate to evict.
     */
    function evict(
        State storage s,
        IVotes token,
        INodeRegistry registry,
        address newcomer,
        uint256 margin,
        address evictee
    ) external {
        Bookkeeper storage e = s.bookkeepers[evictee];
        if (e.status != I.Status.Registered) revert I.NotRegistered(evictee);
        uint256 snapshot = epochStart(s, currentEpoch(s));
        if (snapshot >= block.timestamp) snapshot = block.timestamp - 1; // votes are only readable in the past
        WeightContext memory ctx = _context(s, token, registry, snapshot);
        (uint256 evicteeWeight, ) = _weight(e, evictee, ctx);
        (uint256 weight, ) = _weightWith(s.bookkeepers[newcomer], newcomer, margin, ctx);
        if (weight <= evicteeWeight) revert I.NotOutweighed(evictee, evicteeWeight, weight);
        removeCandidate(s, e);
        setStatus(evictee, e, I.Status.None);
        emit I.CandidateEvicted(evictee, newcomer, evicteeWeight, weight);
    }

    // ---------------------------------------------------------------- slashing

    /**
     * @notice Verifies equivocation evidence and slashes (see BookkeeperStaking.reportEquivocation).
     * @param s The staking state.
     * @param token The HMS token.
     * @param a One signed proposal.
     * @param sigA Its signature.
     * @param b The conflicting proposal.
     * @param sigB Its signature.
     * @return slashed Tokens slashed now (bounty included).
     */
    function reportEquivocation(
        State storage s,
        IERC20 token,
        I.Proposal calldata a,
        bytes calldata sigA,
        I.Proposal calldata b,
        bytes calldata sigB
    ) external returns (uint256 slashed) {
        address bookkeeper;
        uint256 bountyBps;
        {
            (address signer, bytes32 evidenceId) = _verifyEvidence(s, a, sigA, b, sigB);
            bookkeeper = _memberByKey(s.committees[a.epoch], a.epoch, signer);
            Bookkeeper storage k = s.bookkeepers[bookkeeper];
            if (k.slashedAt != 0) revert I.AlreadySlashed(bookkeeper, k.slashEpoch);
            s.evidenceUsed[evidenceId] = true;
            _emitEquivocation(bookkeeper, signer, a, b.digest, evidenceId);
            // The offender reporting itself (from its account or its signing key) earns no bounty.
            bountyBps = msg.sender == bookkeeper || msg.sender == signer ? 0 : s.config.bountyBps;
        }
        slashed = _slash(s, token, bookkeeper, s.bookkeepers[bookkeeper], a.epoch, bountyBps);
    }

    /**
     * @notice Applies a council verdict (see BookkeeperStaking.councilDismiss).
     * @param s The staking state.
     * @param token The HMS token.
     * @param bookkeeper The bookkeeper.
     * @param blacklist Whether to blacklist it.
     * @return forfeited Margin forfeited to the mining pool.
     */
    function dismiss(
        State storage s,
        IERC20 token,
        address bookkeeper,
        bool blacklist
    ) external returns (uint256 forfeited) {
        Bookkeeper storage b = s.bookkeepers[bookkeeper];
        I.Status status = b.status;
        if (blacklist) {
            if (status == I.Status.Blacklisted) revert I.AlreadyBlacklisted(bookkeeper);
        } else if (!dismissable(s, bookkeeper)) {
            // A bookkeeper that unbonded everything while the motion gathered votes is still reachable.
            revert I.NotRegistered(bookkeeper);
        }
        forfeited = b.margin + _takeOwnLocks(s, bookkeeper, 0, true);
        b.margin = 0;
        b.removedAt = uint64(block.timestamp);
        if (status == I.Status.Registered) removeCandidate(s, b);
        I.Status next = blacklist ? I.Status.Blacklisted : (status == I.Status.Jailed ? status : I.Status.None);
        if (next != status) setStatus(bookkeeper, b, next);
        _removeFromCommittees(s, bookkeeper, NO_EPOCH);
        emit I.BookkeeperDismissed(bookkeeper, forfeited, blacklist);
        if (forfeited > 0) toPool(s, token, forfeited);
    }

    // ---------------------------------------------------------------- internal helpers (shared)

    /// @dev The clock segment in force now (the last one may be scheduled for the next epoch boundary).
    function currentSegment(State storage s) internal view returns (ClockSegment memory seg) {
        uint256 last = s.clock.length - 1;
        seg = s.clock[last];
        if (block.timestamp < seg.startTime) seg = s.clock[last - 1];
    }

    function currentEpoch(State storage s) internal view returns (uint64) {
        ClockSegment memory seg = currentSegment(s);
        return seg.firstEpoch + uint64((block.timestamp - seg.startTime) / seg.length);
    }

    function epochStart(State storage s, uint64 epoch) internal view returns (uint256) {
        uint256 i = s.clock.length - 1;
        while (s.clock[i].firstEpoch > epoch) --i;
        ClockSegment memory seg = s.clock[i];
        return uint256(seg.startTime) + uint256(epoch - seg.firstEpoch) * seg.length;
    }

    function domainSeparator() internal view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    function hashTyped(bytes32 structHash) internal view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(domainSeparator(), structHash);
    }

    function setStatus(address account, Bookkeeper storage b, I.Status status) internal {
        emit I.StatusChanged(account, b.status, status);
        b.status = status;
    }

    function removeCandidate(State storage s, Bookkeeper storage b) internal {
        uint256 index = b.listIndexPlusOne - 1;
        uint256 lastIndex = s.candidates.length - 1;
        if (index != lastIndex) {
            address moved = s.candidates[lastIndex];
            s.candidates[index] = moved;
            s.bookkeepers[moved].listIndexPlusOne = uint16(index + 1);
        }
        s.candidates.pop();
        b.listIndexPlusOne = 0;
    }

    function removeLock(I.Lock[] storage locks, uint256 i) internal {
        uint256 last = locks.length - 1;
        if (i != last) locks[i] = locks[last];
        locks.pop();
    }

    /// @dev Slash applying to a delegation lock at withdrawal: the bookkeeper was slashed for an offence in
    ///      or before the lock's epoch, while the lock was pending, and the lock predates the slash.
    function lateCut(State storage s, I.Lock memory lock) internal view returns (uint256) {
        if (lock.own || lock.afterSlash) return 0;
        Bookkeeper storage b = s.bookkeepers[lock.bookkeeper];
        uint64 slashedAt = b.slashedAt;
        if (slashedAt == 0 || slashedAt >= lock.releaseAt || lock.epoch < b.slashEpoch) return 0;
        return (uint256(lock.amount) * b.slashBps) / BPS;
    }

    function liveKeys(Committee storage c) internal view returns (address[] memory keys) {
        keys = c.keys;
        uint64 mask = c.removedMask;
        if (mask == 0) return keys;
        for (uint256 i; i < keys.length; ++i) if ((mask >> i) & 1 == 1) keys[i] = address(0);
    }

    /// @dev Members of `c` removed since its election: from `c` itself, or slashed / dismissed / blacklisted later.
    function removedSince(State storage s, Committee storage c) internal view returns (uint256 removed) {
        removed = c.removedMask;
        uint64 electedAt = c.electedAt;
        uint256 size = c.size;
        for (uint256 i; i < size; ++i) {
            if (s.bookkeepers[c.bookkeepers[i]].removedAt >= electedAt) removed |= 1 << i;
        }
    }

    function positionOf(Committee storage c, address account) internal view returns (uint256) {
        uint256 size = c.size;
        for (uint256 i; i < size; ++i) if (c.bookkeepers[i] == account) return i;
        return type(uint256).max;
    }

    /// @dev Whether a Dismiss reaches `account`: registered, or not blacklisted and holding margin, bonded or in
    ///      margin locks still unbonding (at most MAX_LOCKS of them).
    function dismissable(State storage s, address account) internal view returns (bool) {
        Bookkeeper storage b = s.bookkeepers[account];
        I.Status status = b.status;
        if (status == I.Status.Registered) return true;
        if (status == I.Status.Blacklisted) return false;
        if (b.margin != 0) return true;
        I.Lock[] storage locks = s.locks[account];
        for (uint256 i; i < locks.length; ++i) {
            if (locks[i].own && locks[i].releaseAt > block.timestamp) return true;
        }
        return false;
    }

    /// @dev Queues `amount` for the mining pool and forwards everything pending if the pool is set.
    function toPool(State storage s, IERC20 token, uint256 amount) internal {
        s.pendingPoolFunds += amount;
        if (s.miningPool == address(0)) {
            emit I.PoolFundsPending(amount, s.pendingPoolFunds);
            return;
        }
        flush(s, token);
    }

    /// @dev Forwards everything pending (approve, then IMiningPool.fund). A pool that reverts or pulls less
    ///      leaves the rest pending for a later {flush}: a broken pool can never block slashing.
    function flush(State storage s, IERC20 token) internal {
        address pool = s.miningPool;
        uint256 amount = s.pendingPoolFunds;
        s.pendingPoolFunds = 0;
        uint256 before = token.balanceOf(address(this));
        token.forceApprove(pool, amount);
        try IMiningPool(pool).fund(amount) {} catch {}
        token.forceApprove(pool, 0);
        uint256 afterwards = token.balanceOf(address(this));
        uint256 pulled = afterwards >= before ? 0 : before - afterwards;
        if (pulled > amount) pulled = amount;
        s.pendingPoolFunds = amount - pulled;
        if (pulled > 0) emit I.PoolFunded(pool, pulled);
        if (pulled < amount) emit I.PoolFundsPending(0, amount - pulled);
    }

    // ---------------------------------------------------------------- private: election

    /// @dev Top `committeeSize` eligible candidates, best first. Selection keeps a min-heap of the best n
    ///      seen so far (root = the weakest of them), so each candidate costs O(1) to reject or O(log n) to
    ///      admit, whatever the registration order; the n winners are then sorted. Entries pack
    ///      `weight << 16 | candidate index` (weights < 2^120, indexes < 2^16).
    function _selectTop(
        State storage s,
        IVotes token,
        INodeRegistry registry,
        uint256 snapshot
    ) private view returns (address[] memory members, address[] memory keys, uint256[] memory weights) {
        WeightContext memory ctx = _context(s, token, registry, snapshot);
        Ranking memory r;
        r.candidates = s.candidates;
        r.keys = new address[](r.candidates.length);
        r.heap = new uint256[](s.config.committeeSize);
        for (uint256 i; i < r.candidates.length; ++i) {
            address candidate = r.candidates[i];
            (uint256 w, address key) = _weight(s.bookkeepers[candidate], candidate, ctx);
            if (w == 0) continue;
            r.keys[i] = key;
            _offer(r, (w << 16) | i);
        }
        uint256 count = r.count;
        // Sort the winners best first (insertion sort over at most MAX_COMMITTEE_SIZE entries).
        for (uint256 i = 1; i < count; ++i) {
            uint256 entry = r.heap[i];
            uint256 j = i;
            while (j > 0 && _better(r, entry, r.heap[j - 1])) {
                r.heap[j] = r.heap[j - 1];
                --j;
            }
            r.heap[j] = entry;
        }
        members = new address[](count);
        keys = new address[](count);
        weights = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            uint256 index = r.heap[i] & 0xffff;
            members[i] = r.candidates[index];
            keys[i] = r.keys[index];
            weights[i] = r.heap[i] >> 16;
        }
    }

    /// @dev Offers an entry to the bounded min-heap of the best entries.
    function _offer(Ranking memory r, uint256 entry) private pure {
        uint256[] memory heap = r.heap;
        uint256 size = heap.length;
        uint256 pos;
        if (r.count < size) {
            pos = r.count++;
            heap[pos] = entry;
            while (pos > 0) {
                uint256 parent = (pos - 1) / 2;
                if (!_better(r, heap[parent], heap[pos])) break;
                (heap[parent], heap[pos]) = (heap[pos], heap[parent]);
                pos = parent;
            }
            return;
        }
        if (!_better(r, entry, heap[0])) return;
        heap[0] = entry;
        while (true) {
            uint256 weakest = pos;
            uint256 left = 2 * pos + 1;
            if (left < size && _better(r, heap[weakest], heap[left])) weakest = left;
            if (left + 1 < size && _better(r, heap[weakest], heap[left + 1])) weakest = left + 1;
            if (weakest == pos) return;
            (heap[pos], heap[weakest]) = (heap[weakest], heap[pos]);
            pos = weakest;
        }
    }

    /// @dev Whether entry `a` ranks above entry `b`: higher weight, or equal weight and lower address.
    function _better(Ranking memory r, uint256 a, uint256 b) private pure returns (bool) {
        uint256 wa = a >> 16;
        uint256 wb = b >> 16;
        if (wa != wb) return wa > wb;
        return r.candidates[a & 0xffff] < r.candidates[b & 0xffff];
    }

    function _context(
        State storage s,
        IVotes token,
        INodeRegistry registry,
        uint256 snapshot
    ) private view returns (WeightContext memory) {
        return WeightContext(token, registry, snapshot, s.config.minMargin, s.config.missPenaltyCap, s.electionCount);
    }

    /// @dev Fisher–Yates over the ranked members (keys and weights move with them).
    function _shuffle(Election memory e) private pure {
        for (uint256 i = e.members.length - 1; i > 0; --i) {
            uint256 j = uint256(keccak256(abi.encode(e.seed, i))) % (i + 1);
            (e.members[i], e.members[j]) = (e.members[j], e.members[i]);
            (e.keys[i], e.keys[j]) = (e.keys[j], e.keys[i]);
            (e.weights[i], e.weights[j]) = (e.weights[j], e.weights[i]);
        }
    }

    function _store(State storage s, Committee storage c, Election memory e) private {
        uint256 size = e.members.length;
        c.keysHash = keccak256(abi.encodePacked(e.keys));
        c.size = uint16(size);
        c.quorum = uint16((size * 2) / 3 + 1);
        c.electedAt = uint64(block.timestamp);
        c.prevElectedPlusOne = s.lastElectedPlusOne;
        c.bookkeepers = e.members;
        c.keys = e.keys;
        uint64 plusOne = e.epoch + 1;
        for (uint256 i; i < size; ++i) s.bookkeepers[e.members[i]].lastElectedPlusOne = plusOne;
        s.lastElectedPlusOne = plusOne;
        ++s.electionCount;
    }

    /// @dev Wt = Vt × max(1, ⌊St / 1 HMS⌋), then × (2M − min(m, M)) / 2M for m missed duties since the
    ///      last election. Zero (ineligible) below the minimum margin or without a bookkeeper key.
    function _weight(
        Bookkeeper storage b,
        address account,
        WeightContext memory ctx
    ) private view returns (uint256 weight, address key) {
        return _weightWith(b, account, b.margin, ctx);
    }

    /// @dev {_weight} with `margin` in place of the stored margin (a registration about to deposit more).
    function _weightWith(
        Bookkeeper storage b,
        address account,
        uint256 margin,
        WeightContext memory ctx
    ) private view returns (uint256 weight, address key) {
        if (margin < ctx.minMargin) return (0, address(0));
        key = ctx.registry.bookkeeperKeyOf(account);
        if (key == address(0)) return (0, address(0));
        uint256 votes = ctx.token.getPastVotes(account, ctx.snapshot) / 1 ether;
        weight = (margin + b.delegated) * (votes > 1 ? votes : 1);
        if (b.missRound == ctx.round && b.misses > 0) {
            uint256 cap = ctx.cap;
            uint256 m = b.misses < cap ? b.misses : cap;
            weight = (weight * (2 * cap - m)) / (2 * cap);
        }
    }

    // ---------------------------------------------------------------- private: slashing

    function _verifyEvidence(
        State storage s,
        I.Proposal calldata a,
        bytes calldata sigA,
        I.Proposal calldata b,
        bytes calldata sigB
    ) private view returns (address signer, bytes32 evidenceId) {
        if (a.epoch != b.epoch || a.period != b.period || a.round != b.round) {
            revert I.DifferentSlots(a.epoch, a.period, a.round, b.epoch, b.period, b.round);
        }
        if (a.digest == b.digest) revert I.SameDigest(a.digest);
        signer = _recoverProposal(a, sigA);
        address other = _recoverProposal(b, sigB);
        if (signer != other) revert I.DifferentSigners(signer, other);
        evidenceId = keccak256(abi.encode(a.epoch, a.period, a.round, signer));
        if (s.evidenceUsed[evidenceId]) revert I.EvidenceAlreadyUsed(evidenceId);
    }

    function _recoverProposal(I.Proposal calldata p, bytes calldata signature) private view returns (address) {
        bytes32 digest = hashTyped(
            keccak256(abi.encode(HMSTypes.PROPOSAL_TYPEHASH, p.epoch, p.period, p.round, p.digest))
        );
        (address signer, ECDSA.RecoverError err, bytes32 detail) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError) revert I.InvalidEvidenceSignature(uint8(err), detail);
        return signer;
    }

    /// @dev The member whose election-time key is `signer` (removed members included: they stay slashable).
    function _memberByKey(Committee storage c, uint64 epoch, address signer) private view returns (address) {
        uint256 size = c.size;
        for (uint256 i; i < size; ++i) if (c.keys[i] == signer) return c.bookkeepers[i];
        revert I.NotCommitteeKey(epoch, signer);
    }

    function _emitEquivocation(
        address bookkeeper,
        address signer,
        I.Proposal calldata a,
        bytes32 digestB,
        bytes32 evidenceId
    ) private {
        emit I.EquivocationProven(
            bookkeeper,
            signer,
            msg.sender,
            a.epoch,
            a.period,
            a.round,
            a.digest,
            digestB,
            evidenceId
        );
    }

    function _slash(
        State storage s,
        IERC20 token,
        address bookkeeper,
        Bookkeeper storage b,
        uint64 epoch,
        uint256 bountyBps
    ) private returns (uint256 total) {
        uint16 delegatedBps = s.config.slashDelegatedBps;
        uint256 margin = b.margin;
        uint256 unbonding = _takeOwnLocks(s, bookkeeper, epoch, false);
        uint256 delegatedCut = (uint256(b.delegated) * delegatedBps) / BPS;
        b.margin = 0;
        b.delegated -= uint96(delegatedCut);
        b.slashEpoch = epoch;
        b.slashedAt = uint64(block.timestamp);
        b.slashBps = delegatedBps;
        b.removedAt = uint64(block.timestamp);
        I.Status status = b.status;
        if (status == I.Status.Registered) removeCandidate(s, b);
        if (status != I.Status.Blacklisted) setStatus(bookkeeper, b, I.Status.Jailed);
        _removeFromCommittees(s, bookkeeper, epoch);

        total = margin + unbonding + delegatedCut;
        // The bounty comes from the offender's own margin only, never from its delegators' cut, and is at most
        // half of it (MAX_BOUNTY_BPS): the contract cannot tell an accomplice from an honest reporter, so an
        // offender reporting itself must always lose at least what it is paid (docs/STAKING.md).
        uint256 bounty = ((margin + unbonding) * bountyBps) / BPS;
        emit I.Slashed(bookkeeper, epoch, margin, unbonding, delegatedCut, delegatedBps, bounty, total - bounty);
        if (bounty > 0) token.safeTransfer(msg.sender, bounty);
        if (total > bounty) toPool(s, token, total - bounty);
    }

    /// @dev Takes the bookkeeper's pending margin locks: all, or those requested in `epoch` or later.
    function _takeOwnLocks(
        State storage s,
        address bookkeeper,
        uint64 epoch,
        bool all
    ) private returns (uint256 taken) {
        I.Lock[] storage locks = s.locks[bookkeeper];
        for (uint256 i = locks.length; i > 0;) {
            --i;
            I.Lock memory lock = locks[i];
            if (!lock.own || lock.releaseAt <= block.timestamp || (!all && lock.epoch < epoch)) continue;
            taken += lock.amount;
            emit I.LockSlashed(bookkeeper, lock.id, lock.amount);
            removeLock(locks, i);
        }
    }

    /// @dev Zeroes the member's key in the offence epoch's committee and the two most recent ones (idempotent).
    function _removeFromCommittees(State storage s, address bookkeeper, uint64 offenceEpoch) private {
        if (offenceEpoch != NO_EPOCH) _removeFrom(s, offenceEpoch, bookkeeper);
        uint64 last = s.lastElectedPlusOne;
        if (last == 0) return;
        _removeFrom(s, last - 1, bookkeeper);
        uint64 prev = s.committees[last - 1].prevElectedPlusOne;
        if (prev != 0) _removeFrom(s, prev - 1, bookkeeper);
    }

    function _removeFrom(State storage s, uint64 epoch, address bookkeeper) private {
        Committee storage c = s.committees[epoch];
        uint256 position = positionOf(c, bookkeeper);
        if (position == type(uint256).max || (c.removedMask >> position) & 1 == 1) return;
        c.removedMask |= uint64(1 << position);
        bytes32 keysHash = keccak256(abi.encodePacked(liveKeys(c)));
        c.keysHash = keysHash;
        emit I.CommitteeMemberRemoved(epoch, bookkeeper, position, keysHash);
    }

    // ---------------------------------------------------------------- private: parameters

    function _set(State storage s, I.Parameter param, uint256 value) private {
        _checkBounds(s, param, value);
        Config storage c = s.config;
        uint256 previous;
        if (param == I.Parameter.MinMargin) {
            previous = c.minMargin;
            c.minMargin = uint96(value);
        } else if (param == I.Parameter.UnbondingPeriod) {
            previous = c.unbondingPeriod;
            c.unbondingPeriod = uint64(value);
        } else if (param == I.Parameter.CommitteeSize) {
            previous = c.committeeSize;
            c.committeeSize = uint16(value);
        } else if (param == I.Parameter.MaxCandidates) {
            previous = c.maxCandidates;
            c.maxCandidates = uint16(value);
        } else if (param == I.Parameter.SlashDelegatedBps) {
            previous = c.slashDelegatedBps;
            c.slashDelegatedBps = uint16(value);
        } else if (param == I.Parameter.BountyBps) {
            previous = c.bountyBps;
            c.bountyBps = uint16(value);
        } else if (param == I.Parameter.MaxCommissionBps) {
            previous = c.maxCommissionBps;
            c.maxCommissionBps = uint16(value);
        } else if (param == I.Parameter.MissPenaltyCap) {
            previous = c.missPenaltyCap;
            c.missPenaltyCap = uint16(value);
        } else {
            previous = c.admissionRequired ? 1 : 0;
            c.admissionRequired = value == 1;
        }
        emit I.ParameterChanged(param, previous, value);
    }

    function _checkBounds(State storage s, I.Parameter param, uint256 value) private view {
        (uint256 min, uint256 max) = (0, BPS);
        if (param == I.Parameter.MinMargin) (min, max) = (MIN_MARGIN_FLOOR, MIN_MARGIN_CEILING);
        else if (param == I.Parameter.UnbondingPeriod) (min, max) = (MIN_UNBONDING, MAX_UNBONDING);
        else if (param == I.Parameter.EpochLength) (min, max) = (MIN_EPOCH_LENGTH, MAX_EPOCH_LENGTH);
        else if (param == I.Parameter.CommitteeSize) {
            // Never above the candidate bound (unset while constructing).
            uint256 maxCandidates = s.config.maxCandidates;
            (min, max) = (
                1,
                maxCandidates == 0 || maxCandidates > MAX_COMMITTEE_SIZE ? MAX_COMMITTEE_SIZE : maxCandidates
            );
        } else if (param == I.Parameter.MaxCandidates) (min, max) = (s.config.committeeSize, MAX_CANDIDATES_CAP);
        else if (param == I.Parameter.MissPenaltyCap) (min, max) = (1, MAX_MISS_PENALTY_CAP);
        else if (param == I.Parameter.BountyBps) max = MAX_BOUNTY_BPS;
        else if (param == I.Parameter.AdmissionRequired) (min, max) = (0, 1);
        if (value < min || value > max) revert IHMSErrors.ParameterOutOfBounds(parameterName(param), value, min, max);
    }

    /// @dev The parameter's name as documented (the `name` of IHMSErrors.ParameterOutOfBounds).
    function parameterName(I.Parameter param) internal pure returns (string memory) {
        string[10] memory names = [
            "MinMargin",
            "UnbondingPeriod",
            "EpochLength",
            "CommitteeSize",
            "MaxCandidates",
            "SlashDelegatedBps",
            "BountyBps",
            "MaxCommissionBps",
            "MissPenaltyCap",
            "AdmissionRequired"
        ];
        return names[uint256(param)];
    }

    /// @dev The new length applies from the next epoch boundary; epochs already started keep their numbers.
    function _scheduleEpochLength(State storage s, uint64 length) private {
        uint256 last = s.clock.length - 1;
        ClockSegment storage tail = s.clock[last];
        uint64 previous;
        if (block.timestamp < tail.startTime) {
            // A change is already scheduled and not in force yet: replace its length.
            previous = tail.length;
            tail.length = length;
            emit I.EpochClockScheduled(tail.firstEpoch, tail.startTime, length);
        } else {
            if (s.clock.length >= MAX_CLOCK_SEGMENTS) revert I.TooManyClockChanges(MAX_CLOCK_SEGMENTS);
            previous = tail.length;
            uint64 next = currentEpoch(s) + 1;
            uint64 start = uint64(epochStart(s, next));
            s.clock.push(ClockSegment({startTime: start, firstEpoch: next, length: length}));
            emit I.EpochClockScheduled(next, start, length);
        }
        emit I.ParameterChanged(I.Parameter.EpochLength, previous, length);
    }
}
