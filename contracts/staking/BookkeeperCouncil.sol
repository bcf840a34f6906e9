// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IHMSErrors} from "../interfaces/IHMSErrors.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IBookkeeperOversight, IBookkeeperAdmission} from "./IBookkeeperOversight.sol";

/**
 * @title BookkeeperCouncil
 * @notice Committee oversight of bookkeepers (PROTOCOL §5.6, the PPoV patent), created by BookkeeperStaking at
 *         deployment with a fixed initial member list. Members vote on motions; the vote that reaches a
 *         motion's threshold executes it:
 *
 * - AddMember: opened by a member; passes with more than 1/2 of the current members.
 * - Admit: opened by a member or by a member's signed recommendation; more than 1/2, and at least one
 *   recommendation. Needed to register while staking's admission mode is on.
 * - Dismiss: a member reports misbehaviour; more than 1/3. The bookkeeper is removed, its margin
 *   forfeited to the mining pool, and it is an ordinary account again.
 * - Blacklist: at least 2/3. As Dismiss, and it may never register again; every current member who
 *   recommended it faces a Retain re-vote.
 * - Retain: opened automatically; the member keeps its seat with more than 1/2 of the other members'
 *   approval within RETAIN_PERIOD, else anyone may remove it ({concludeRetain}).
 *
 * Tallies count only the votes of current members (a removed member's votes stop counting; a new member
 * may vote on open motions). Recommendations are EIP-712 `Recommendation(candidate, deadline)` messages
 * in the staking domain ("HMS BookkeeperStaking", "1"), each usable once; submitting one counts as the
 * signer's approval of the candidate's admission.
 */
contract BookkeeperCouncil is IHMSErrors, IBookkeeperAdmission {
    /// @notice Motion kinds.
    enum Action {
        AddMember,
        Admit,
        Dismiss,
        Blacklist,
        Retain
    }

    /// @notice State of the motion of one (action, target).
    struct Motion {
        bool open;
        /// @dev Incremented each time a motion on this (action, target) closes; part of the motion id.
        uint32 round;
        uint64 openedAt;
        /// @dev Retain motions: the member is removed if not retained by then. Zero for other kinds.
        uint64 deadline;
    }

    /// @notice Largest council.
    uint256 public constant MAX_MEMBERS = 32;
    /// @notice How long a re-vote on a recommender's membership stays open.
    uint256 public constant RETAIN_PERIOD = 7 days;

    /// @notice The staking contract this council oversees.
    IBookkeeperOversight public immutable staking;

    address[] private _members;
    mapping(address account => uint256) private _memberIndexPlusOne;
    mapping(Action action => mapping(address target => Motion)) private _motions;
    mapping(bytes32 motionId => mapping(address member => bool)) private _voted;
    mapping(address candidate => address[]) private _recommenders;
    mapping(address account => bool) private _admitted;
    mapping(bytes32 digest => bool) private _usedRecommendation;

    /// @notice A motion was opened.
    /// @param motionId keccak256(abi.encode(action, target, round)).
    /// @param action The motion kind.
    /// @param target The account concerned.
    /// @param proposer The member who opened it (zero for automatic Retain motions).
    /// @param deadline Retain deadline (zero for other kinds).
    /// @param reason Free text or URI (e.g. the misbehaviour report).
    event MotionOpened(
        bytes32 indexed motionId,
        Action indexed action,
        address indexed target,
        address proposer,
        uint64 deadline,
        string reason
    );
    /// @notice A member voted for a motion.
    /// @param motionId The motion.
    /// @param member The voter.
    /// @param approvals Approvals of current members now.
    /// @param required Approvals needed.
    event Voted(bytes32 indexed motionId, address indexed member, uint256 approvals, uint256 required);
    /// @notice A motion reached its threshold and took effect.
    /// @param motionId The motion.
    /// @param action The motion kind.
    /// @param target The account concerned.
    /// @param approvals Approvals at execution.
    event MotionExecuted(bytes32 indexed motionId, Action indexed action, address indexed target, uint256 approvals);
    /// @notice A motion closed without effect (its target changed meanwhile, or a Retain re-vote failed).
    /// @param motionId The motion.
    /// @param action The motion kind.
    /// @param target The account concerned.
    event MotionClosed(bytes32 indexed motionId, Action indexed action, address indexed target);
    /// @notice A member joined the council.
    /// @param member The new member.
    event MemberAdded(address indexed member);
    /// @notice A member left the council (failed re-vote).
    /// @param member The removed member.
    event MemberRemoved(address indexed member);
    /// @notice A member's signed recommendation of a candidate was submitted.
    /// @param candidate The candidate.
    /// @param member The recommending member.
    /// @param deadline The recommendation's deadline.
    event Recommended(address indexed candidate, address indexed member, uint64 deadline);
    /// @notice A candidate's admission changed.
    /// @param candidate The candidate.
    /// @param admitted Whether it is admitted now.
    event AdmissionChanged(address indexed candidate, bool admitted);
    /// @notice A dismissal or blacklisting forfeited a bookkeeper's margin.
    /// @param bookkeeper The bookkeeper.
    /// @param forfeited Tokens forfeited to the mining pool.
    /// @param blacklisted Whether it was blacklisted.
    event VerdictApplied(address indexed bookkeeper, uint256 forfeited, bool blacklisted);

    /// @notice Caller is not a council member.
    error NotMember(address account);
    /// @notice The initial member list is empty, too long, or has zero / duplicate entries.
    error InvalidMembers();
    /// @notice The account is already a member.
    error AlreadyMember(address account);
    /// @notice The council has MAX_MEMBERS members.
    error CouncilFull(uint256 maxMembers);
    /// @notice A zero target.
    error ZeroTarget();
    /// @notice A motion on (action, target) is already open.
    error MotionAlreadyOpen(Action action, address target);
    /// @notice No motion on (action, target) is open.
    error NoOpenMotion(Action action, address target);
    /// @notice The member already voted on this motion.
    error AlreadyVoted(bytes32 motionId, address member);
    /// @notice Retain motions open only automatically.
    error RetainIsAutomatic();
    /// @notice A member cannot vote on its own re-vote.
    error OwnRetainVote(address member);
    /// @notice The Retain re-vote is over (or not over yet, for {concludeRetain}).
    error RetainDeadline(address member, uint64 deadline);
    /// @notice The candidate is already admitted.
    error AlreadyAdmitted(address candidate);
    /// @notice A Dismiss target neither registered nor holding margin (bonded or still unbonding).
    error NotRegisteredBookkeeper(address target);
    /// @notice The target is blacklisted.
    error TargetBlacklisted(address target);
    /// @notice The recommendation's deadline passed.
    error RecommendationExpired(uint64 deadline, uint256 nowTimestamp);
    /// @notice The recommendation was already used.
    error RecommendationUsed(bytes32 digest);
    /// @notice The recommendation signature is malformed or malleable.
    error InvalidRecommendationSignature(uint8 reason, bytes32 detail);

    modifier onlyMember() {
        if (_memberIndexPlusOne[msg.sender] == 0) revert NotMember(msg.sender);
        _;
    }

    /**
     * @notice Creates the council (called by the BookkeeperStaking constructor).
     * @param staking_ The staking contract overseen.
     * @param initialMembers Initial members: 1..MAX_MEMBERS distinct non-zero addresses.
     */
    constructor(IBookkeeperOversight staking_, address[] memory initialMembers) {
        if (initialMembers.length == 0 || initialMembers.length > MAX_MEMBERS) revert InvalidMembers();
        staking = staking_;
        for (uint256 i; i < initialMembers.length; ++i) {
            address m = initialMembers[i];
            if (m == address(0) || _memberIndexPlusOne[m] != 0) revert InvalidMembers();
            _members.push(m);
            _memberIndexPlusOne[m] = i + 1;
            emit MemberAdded(m);
        }
    }

    // ---------------------------------------------------------------- motions

    /**
     * @notice Opens a motion and casts the caller's approval (which may already pass it).
     * @param action AddMember, Admit, Dismiss or Blacklist (Retain opens automatically).
     * @param target The account concerned.
     * @param reason Free text or URI published with the motion (e.g. the misbehaviour report).
     * @return motionId The motion id.
     */
    function propose(
        Action action,
        address target,
        string calldata reason
    ) external onlyMember returns (bytes32 motionId) {
        if (action == Action.Retain) revert RetainIsAutomatic();
        _checkTarget(action, target);
        motionId = _open(action, target, msg.sender, 0, reason);
        _vote(action, target, motionId, msg.sender);
    }

    /**
     * @notice Approves an open motion; the approval that reaches the threshold executes it.
     * @param action The motion kind.
     * @param target The account concerned.
     */
    function vote(Action action, address target) external onlyMember {
        Motion storage m = _motions[action][target];
        if (!m.open) revert NoOpenMotion(action, target);
        if (action == Action.Retain) {
            if (msg.sender == target) revert OwnRetainVote(target);
            if (block.timestamp > m.deadline) revert RetainDeadline(target, m.deadline);
        }
        _vote(action, target, _motionId(action, target, m.round), msg.sender);
    }

    /**
     * @notice Submits a member's EIP-712 recommendation of `candidate`: opens the Admit motion if needed,
     *         records the member as a recommender and counts as its approval. Anyone may submit it.
     * @param candidate The recommended candidate.
     * @param deadline Last second the recommendation is valid.
     * @param signature The member's 65-byte signature over `Recommendation(candidate, deadline)`.
     */
    function recommend(address candidate, uint64 deadline, bytes calldata signature) external {
        if (deadline < block.timestamp) revert RecommendationExpired(deadline, block.timestamp);
        bytes32 digest = staking.recommendationDigest(candidate, deadline);
        if (_usedRecommendation[digest]) revert RecommendationUsed(digest);
        (address member, ECDSA.RecoverError err, bytes32 detail) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError) revert InvalidRecommendationSignature(uint8(err), detail);
        if (_memberIndexPlusOne[member] == 0) revert NotMember(member);
        _usedRecommendation[digest] = true;

        Motion storage m = _motions[Action.Admit][candidate];
        bytes32 motionId;
        if (m.open) {
            motionId = _motionId(Action.Admit, candidate, m.round);
        } else {
            _checkTarget(Action.Admit, candidate);
            motionId = _open(Action.Admit, candidate, member, 0, "");
        }
        address[] storage recommenders = _recommenders[candidate];
        bool listed;
        for (uint256 i; i < recommenders.length; ++i) if (recommenders[i] == member) listed = true;
        if (!listed) recommenders.push(member);
        emit Recommended(candidate, member, deadline);
        if (!_voted[motionId][member]) _vote(Action.Admit, candidate, motionId, member);
        else _tryExecute(Action.Admit, candidate, motionId, member);
    }

    /**
     * @notice Ends a Retain re-vote after its deadline: the member, not retained in time, leaves the
     *         council (unless it is the last member). Anyone may call.
     * @param member The member under re-vote.
     */
    function concludeRetain(address member) external {
        Motion storage m = _motions[Action.Retain][member];
        if (!m.open) revert NoOpenMotion(Action.Retain, member);
        if (block.timestamp <= m.deadline) revert RetainDeadline(member, m.deadline);
        bytes32 motionId = _close(Action.Retain, member);
        emit MotionClosed(motionId, Action.Retain, member);
        if (_members.length > 1) _removeMember(member);
    }

    // ---------------------------------------------------------------- views

    /**
     * @notice Current members.
     * @return The member list.
     */
    function members() external view returns (address[] memory) {
        return _members;
    }

    /**
     * @notice Whether `account` is a member.
     * @param account The account.
     * @return True if a member.
     */
    function isMember(address account) external view returns (bool) {
        return _memberIndexPlusOne[account] != 0;
    }

    /// @inheritdoc IBookkeeperAdmission
    function isAdmitted(address account) external view returns (bool) {
        return _admitted[account];
    }

    /**
     * @notice Members who recommended `candidate` for its latest admission.
     * @param candidate The candidate.
     * @return The recommenders.
     */
    function recommendersOf(address candidate) external view returns (address[] memory) {
        return _recommenders[candidate];
    }

    /**
     * @notice Whether a recommendation digest was used.
     * @param digest The EIP-712 digest (see IBookkeeperOversight.recommendationDigest).
     * @return True if used.
     */
    function recommendationUsed(bytes32 digest) external view returns (bool) {
        return _usedRecommendation[digest];
    }

    /**
     * @notice The motion on (action, target): current or, if closed, the next one to be opened.
     * @param action The motion kind.
     * @param target The account concerned.
     * @return motionId Its id.
     * @return open Whether it is open.
     * @return openedAt When it was opened (0 if never).
     * @return deadline Retain deadline (0 otherwise).
     * @return approvals Approvals of current members.
     * @return required Approvals needed now.
     */
    function motion(
        Action action,
        address target
    )
        external
        view
        returns (bytes32 motionId, bool open, uint64 openedAt, uint64 deadline, uint256 approvals, uint256 required)
    {
        Motion storage m = _motions[action][target];
        motionId = _motionId(action, target, m.round);
        (approvals, required) = _tally(action, target, motionId);
        return (motionId, m.open, m.openedAt, m.deadline, approvals, required);
    }

    /**
     * @notice Whether `member` approved the current motion on (action, target).
     * @param action The motion kind.
     * @param target The account concerned.
     * @param member The member.
     * @return True if it voted.
     */
    function hasVoted(Action action, address target, address member) external view returns (bool) {
        return _voted[_motionId(action, target, _motions[action][target].round)][member];
    }

    /**
     * @notice Approvals a motion of `action` needs with the current council size.
     * @param action The motion kind.
     * @return The number of approvals.
     */
    function requiredApprovals(Action action) public view returns (uint256) {
        uint256 n = _members.length;
        if (action == Action.Dismiss) return n / 3 + 1; // more than 1/3
        if (action == Action.Blacklist) return (2 * n + 2) / 3; // at least 2/3
        if (action == Action.Retain) return (n - 1) / 2 + 1; // more than 1/2 of the others
        return n / 2 + 1; // more than 1/2
    }

    // ---------------------------------------------------------------- internals

    function _checkTarget(Action action, address target) private view {
        if (target == address(0)) revert ZeroTarget();
        if (action == Action.AddMember) {
            if (_memberIndexPlusOne[target] != 0) revert AlreadyMember(target);
            if (_members.length >= MAX_MEMBERS) revert CouncilFull(MAX_MEMBERS);
        } else if (action == Action.Admit) {
            if (_admitted[target]) revert AlreadyAdmitted(target);
            if (staking.isBlacklisted(target)) revert TargetBlacklisted(target);
        } else if (action == Action.Dismiss) {
            if (!staking.isDismissable(target)) revert NotRegisteredBookkeeper(target);
        } else if (action == Action.Blacklist) {
            if (staking.isBlacklisted(target)) revert TargetBlacklisted(target);
        }
    }

    function _open(
        Action action,
        address target,
        address proposer,
        uint64 deadline,
        string memory reason
    ) private returns (bytes32 motionId) {
        Motion storage m = _motions[action][target];
        if (m.open) revert MotionAlreadyOpen(action, target);
        m.open = true;
        m.openedAt = uint64(block.timestamp);
        m.deadline = deadline;
        motionId = _motionId(action, target, m.round);
        if (action == Action.Admit) delete _recommenders[target];
        emit MotionOpened(motionId, action, target, proposer, deadline, reason);
    }

    function _vote(Action action, address target, bytes32 motionId, address member) private {
        if (_voted[motionId][member]) revert AlreadyVoted(motionId, member);
        _voted[motionId][member] = true;
        _tryExecute(action, target, motionId, member);
    }

    function _tryExecute(Action action, address target, bytes32 motionId, address member) private {
        (uint256 approvals, uint256 required) = _tally(action, target, motionId);
        emit Voted(motionId, member, approvals, required);
        if (approvals < required) return;
        if (action == Action.Admit && _recommenders[target].length == 0) return;
        _close(action, target);
        _execute(action, target, motionId, approvals);
    }

    /// @dev Applies a passed motion. A motion whose target changed meanwhile (blacklisted, no longer
    ///      registered, council full) closes without effect instead of blocking the council.
    function _execute(Action action, address target, bytes32 motionId, uint256 approvals) private {
        bool valid;
        if (action == Action.AddMember) valid = _members.length < MAX_MEMBERS;
        else if (action == Action.Admit || action == Action.Blacklist) valid = !staking.isBlacklisted(target);
        else if (action == Action.Dismiss) valid = staking.isDismissable(target);
        else valid = true; // Retain: the member keeps its seat.
        if (!valid) {
            emit MotionClosed(motionId, action, target);
            return;
        }
        emit MotionExecuted(motionId, action, target, approvals);
        if (action == Action.AddMember) {
            _members.push(target);
            _memberIndexPlusOne[target] = _members.length;
            emit MemberAdded(target);
        } else if (action == Action.Admit) {
            _admitted[target] = true;
            emit AdmissionChanged(target, true);
        } else if (action == Action.Dismiss || action == Action.Blacklist) {
            bool blacklist = action == Action.Blacklist;
            if (_admitted[target]) {
                _admitted[target] = false;
                emit AdmissionChanged(target, false);
            }
            emit VerdictApplied(target, staking.councilDismiss(target, blacklist), blacklist);
            if (blacklist) _openRetainVotes(target);
        }
    }

    /// @dev Opens a re-vote on every current member who recommended the blacklisted bookkeeper.
    function _openRetainVotes(address blacklisted) private {
        address[] storage recommenders = _recommenders[blacklisted];
        uint64 deadline = uint64(block.timestamp + RETAIN_PERIOD);
        for (uint256 i; i < recommenders.length; ++i) {
            address member = recommenders[i];
            if (_memberIndexPlusOne[member] == 0 || _motions[Action.Retain][member].open) continue;
            _open(Action.Retain, member, address(0), deadline, "recommended a blacklisted bookkeeper");
        }
    }

    function _close(Action action, address target) private returns (bytes32 motionId) {
        Motion storage m = _motions[action][target];
        motionId = _motionId(action, target, m.round);
        m.open = false;
        ++m.round;
    }

    function _tally(
        Action action,
        address target,
        bytes32 motionId
    ) private view returns (uint256 approvals, uint256 required) {
        uint256 n = _members.length;
        for (uint256 i; i < n; ++i) {
            address member = _members[i];
            if (_voted[motionId][member] && !(action == Action.Retain && member == target)) ++approvals;
        }
        required = requiredApprovals(action);
    }

    function _removeMember(address member) private {
        uint256 index = _memberIndexPlusOne[member] - 1;
        uint256 last = _members.length - 1;
        if (index != last) {
            address moved = _members[last];
            _members[index] = moved;
            _memberIndexPlusOne[moved] = index + 1;
        }
        _members.pop();
        delete _memberIndexPlusOne[member];
        emit MemberRemoved(member);
    }

    function _motionId(Action action, address target, uint32 round) private pure returns (bytes32) {
        return keccak256(abi.encode(action, target, round));
    }
}
