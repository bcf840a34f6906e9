// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IHMSErrors} from "../interfaces/IHMSErrors.sol";
/**
 * @title IBookkeeperStaking
 * @notice Types, events and errors of BookkeeperStaking, shared with its linked library BookkeeperLogic
 *         (which emits and reverts with them on the staking contract's behalf). The functions are
 *         documented on BookkeeperStaking.
 */
interface IBookkeeperStaking is IHMSErrors {
    /// @notice Life cycle of a bookkeeper account.
    enum Status {
        /// @dev Never registered, exited, or dismissed: an ordinary account.
        None,
        /// @dev Registered candidate (in the candidate list).
        Registered,
        /// @dev Slashed for equivocation: never electable again.
        Jailed,
        /// @dev Blacklisted by the council: never allowed to register again.
        Blacklisted
    }

    /// @notice Governance parameters (bounds on BookkeeperStaking.setParameter).
    enum Parameter {
        MinMargin,
        UnbondingPeriod,
        EpochLength,
        CommitteeSize,
        MaxCandidates,
        SlashDelegatedBps,
        BountyBps,
        MaxCommissionBps,
        MissPenaltyCap,
        AdmissionRequired
    }

    /// @notice Constructor parameters (local defaults: `DEFAULT_STAKING_PARAMS` in offchain/chain/deploy.ts).
    struct Params {
        /// @dev B_MIN, minimum margin (default 10,000 HMS).
        uint256 minMargin;
        /// @dev Unbonding wait in seconds (default 30 days).
        uint64 unbondingPeriod;
        /// @dev Duty cycle in seconds (default 1 day).
        uint64 epochLength;
        /// @dev Committee size n (default 4, at most 48).
        uint16 committeeSize;
        /// @dev Candidate list bound (default 256, at most 512).
        uint16 maxCandidates;
        /// @dev Fraction of delegated stake slashed on equivocation, in bps (default 1,000 = 10 %).
        uint16 slashDelegatedBps;
        /// @dev Reporter bounty, in bps of the offender's own margin slashed (default 1,000 = 10 %, at most 5,000).
        uint16 bountyBps;
        /// @dev Highest commission a bookkeeper may charge, in bps (default 5,000 = 50 %).
        uint16 maxCommissionBps;
        /// @dev M in the missed-duty rule (default 24).
        uint16 missPenaltyCap;
        /// @dev Admission mode: registration needs council admission.
        bool admissionRequired;
        /// @dev Start of epoch 0; 0 means the deployment block's timestamp. Not in the future.
        uint64 genesis;
    }

    /// @notice A PBFT pre-prepare as signed by the primary (EIP-712 `Proposal`, HMSTypes.PROPOSAL_TYPEHASH).
    struct Proposal {
        uint64 epoch;
        uint64 period;
        uint32 round;
        bytes32 digest;
    }

    /// @notice A pending unbonding lock.
    struct Lock {
        /// @dev The bookkeeper whose margin (own) or delegation pool the tokens left.
        address bookkeeper;
        /// @dev Earliest withdrawal time.
        uint64 releaseAt;
        /// @dev Tokens locked (before any delegated-stake slash applied at withdrawal).
        uint96 amount;
        /// @dev Epoch in which unbonding was requested (slashable for offences in this epoch or earlier).
        uint64 epoch;
        /// @dev Global lock id (for events and the subgraph).
        uint64 id;
        /// @dev Margin (true) or delegation (false).
        bool own;
        /// @dev Requested after the bookkeeper was already slashed (no further slash applies).
        bool afterSlash;
    }

    /// @notice Public view of a bookkeeper.
    struct BookkeeperInfo {
        Status status;
        uint256 margin;
        uint256 delegated;
        uint256 shares;
        uint16 commissionBps;
        /// @dev Missed duties counted against the next election.
        uint256 pendingMisses;
        /// @dev Last epoch it was elected in, if `everElected`.
        uint64 lastElectedEpoch;
        bool everElected;
        /// @dev Evidence slash: offence epoch, time, delegated fraction (all zero if never slashed).
        uint64 slashEpoch;
        uint64 slashedAt;
        uint16 slashBps;
    }

    // ---------------------------------------------------------------- events

    /// @notice A bookkeeper registered (or re-registered) as a candidate.
    /// @param bookkeeper The bookkeeper account.
    /// @param amount Tokens deposited now.
    /// @param margin Its margin Vb after the deposit.
    /// @param commissionBps Commission on delegators' rewards, in bps.
    event BookkeeperRegistered(address indexed bookkeeper, uint256 amount, uint256 margin, uint16 commissionBps);
    /// @notice A bookkeeper's status changed.
    /// @param bookkeeper The bookkeeper account.
    /// @param previous Old status.
    /// @param current New status.
    event StatusChanged(address indexed bookkeeper, Status previous, Status current);
    /// @notice A bookkeeper topped up its margin.
    /// @param bookkeeper The bookkeeper account.
    /// @param amount Tokens added.
    /// @param margin Margin after the top-up.
    event MarginAdded(address indexed bookkeeper, uint256 amount, uint256 margin);
    /// @notice A bookkeeper changed its commission.
    /// @param bookkeeper The bookkeeper account.
    /// @param previousBps Old commission.
    /// @param newBps New commission.
    event CommissionChanged(address indexed bookkeeper, uint16 previousBps, uint16 newBps);
    /// @notice Tokens were delegated to a bookkeeper's pool.
    /// @param delegator The delegator.
    /// @param bookkeeper The bookkeeper.
    /// @param amount Tokens delegated.
    /// @param shares Pool shares minted.
    /// @param poolTokens The pool's delegated total Lb afterwards.
    /// @param poolShares The pool's share total afterwards.
    event Delegated(
        address indexed delegator,
        address indexed bookkeeper,
        uint256 amount,
        uint256 shares,
        uint256 poolTokens,
        uint256 poolShares
    );
    /// @notice A delegator left a pool; its tokens are locked until the unbonding wait ends.
    /// @param delegator The delegator.
    /// @param bookkeeper The bookkeeper.
    /// @param shares Pool shares burned.
    /// @param amount Tokens moved to the unbonding lock.
    /// @param poolTokens The pool's delegated total afterwards.
    /// @param poolShares The pool's share total afterwards.
    event Undelegated(
        address indexed delegator,
        address indexed bookkeeper,
        uint256 shares,
        uint256 amount,
        uint256 poolTokens,
        uint256 poolShares
    );
    /// @notice An unbonding lock was created.
    /// @param account Owner of the lock.
    /// @param bookkeeper Bookkeeper whose margin / pool the tokens left.
    /// @param lockId Global lock id.
    /// @param amount Tokens locked.
    /// @param releaseAt Earliest withdrawal time.
    /// @param epoch Epoch of the request.
    /// @param own Margin (true) or delegation (false).
    event UnbondingRequested(
        address indexed account,
        address indexed bookkeeper,
        uint64 indexed lockId,
        uint256 amount,
        uint64 releaseAt,
        uint64 epoch,
        bool own
    );
    /// @notice A full candidate list made room for a heavier newcomer by evicting a lighter candidate.
    /// @param evictee The candidate taken off the list (its margin stays bonded; status None).
    /// @param newcomer The account registering in its place.
    /// @param evicteeWeight The evictee's election weight now (zero without a key or below the minimum margin).
    /// @param weight The newcomer's election weight after its deposit.
    event CandidateEvicted(address indexed evictee, address indexed newcomer, uint256 evicteeWeight, uint256 weight);
    /// @notice A bookkeeper left the candidate list by unbonding its whole margin.
    /// @param bookkeeper The bookkeeper.
    /// @param margin Margin unbonded.
    event BookkeeperExited(address indexed bookkeeper, uint256 margin);
    /// @notice A matured lock was withdrawn.
    /// @param account Owner of the lock.
    /// @param bookkeeper Bookkeeper of the lock.
    /// @param lockId The lock.
    /// @param paid Tokens paid to the owner.
    /// @param slashed Tokens of the lock slashed (delegated stake of an equivocating bookkeeper).
    event Withdrawn(
        address indexed account,
        address indexed bookkeeper,
        uint64 indexed lockId,
        uint256 paid,
        uint256 slashed
    );
    /// @notice A pending margin lock was slashed or forfeited.
    /// @param bookkeeper The bookkeeper.
    /// @param lockId The lock.
    /// @param amount Tokens taken.
    event LockSlashed(address indexed bookkeeper, uint64 indexed lockId, uint256 amount);
    /// @notice A committee was elected.
    /// @param epoch The epoch.
    /// @param bookkeepers Members in leader order.
    /// @param signingKeys Their signing keys, same order.
    /// @param weights Their election weights, same order.
    /// @param keysHash keccak256(abi.encodePacked(signingKeys)).
    /// @param quorum Signatures needed (size * 2 / 3 + 1).
    /// @param seed Shuffle seed (from block.prevrandao).
    /// @param candidates Candidates examined.
    event CommitteeElected(
        uint64 indexed epoch,
        address[] bookkeepers,
        address[] signingKeys,
        uint256[] weights,
        bytes32 keysHash,
        uint256 quorum,
        bytes32 seed,
        uint256 candidates
    );
    /// @notice A member was removed from an elected committee (its key zeroed in the commitment).
    /// @param epoch The committee's epoch.
    /// @param bookkeeper The member.
    /// @param position Its position in leader order.
    /// @param keysHash The committee's new commitment.
    event CommitteeMemberRemoved(uint64 indexed epoch, address indexed bookkeeper, uint256 position, bytes32 keysHash);
    /// @notice Two conflicting signed proposals were proven.
    /// @param bookkeeper The equivocating bookkeeper.
    /// @param signingKey Its committee key that signed both.
    /// @param reporter Who submitted the evidence.
    /// @param epoch Proposal epoch.
    /// @param period Proposal period.
    /// @param round Proposal round.
    /// @param digestA One digest.
    /// @param digestB The other digest.
    /// @param evidenceId keccak256(abi.encode(epoch, period, round, signingKey)).
    event EquivocationProven(
        address indexed bookkeeper,
        address indexed signingKey,
        address indexed reporter,
        uint64 epoch,
        uint64 period,
        uint32 round,
        bytes32 digestA,
        bytes32 digestB,
        bytes32 evidenceId
    );
    /// @notice A bookkeeper was slashed for equivocation.
    /// @param bookkeeper The bookkeeper.
    /// @param epoch Offence epoch.
    /// @param margin Bonded margin taken.
    /// @param unbondingMargin Unbonding margin taken.
    /// @param delegated Bonded delegated stake taken.
    /// @param delegatedBps Fraction of delegated stake slashed (also applied to unbonding delegations later).
    /// @param bounty Paid to the reporter: bountyBps of the margin taken (bonded + unbonding), none of the delegated.
    /// @param toPool Sent (or queued) to the mining pool.
    event Slashed(
        address indexed bookkeeper,
        uint64 indexed epoch,
        uint256 margin,
        uint256 unbondingMargin,
        uint256 delegated,
        uint16 delegatedBps,
        uint256 bounty,
        uint256 toPool
    );
    /// @notice The council dismissed (or blacklisted) a bookkeeper and forfeited its margin.
    /// @param bookkeeper The bookkeeper.
    /// @param forfeited Margin (bonded + unbonding) forfeited to the mining pool.
    /// @param blacklisted Whether it was blacklisted.
    event BookkeeperDismissed(address indexed bookkeeper, uint256 forfeited, bool blacklisted);
    /// @notice Rewards were credited to a bookkeeper.
    /// @param bookkeeper The bookkeeper.
    /// @param rewarder The crediting contract.
    /// @param amount Total credited.
    /// @param toMargin Part added to the margin (own share + commission).
    /// @param toDelegators Part added to the delegation pool.
    /// @param commission Commission included in `toMargin`.
    event RewardsCredited(
        address indexed bookkeeper,
        address indexed rewarder,
        uint256 amount,
        uint256 toMargin,
        uint256 toDelegators,
        uint256 commission
    );
    /// @notice A committee member missed a duty.
    /// @param bookkeeper The member.
    /// @param epoch Its committee epoch.
    /// @param pendingMisses Misses now counted against its next election.
    event MissedDuty(address indexed bookkeeper, uint64 indexed epoch, uint256 pendingMisses);
    /// @notice Funds went to the mining pool.
    /// @param pool The pool.
    /// @param amount Tokens funded.
    event PoolFunded(address indexed pool, uint256 amount);
    /// @notice Funds are held for the mining pool (not set yet, or its funding call failed).
    /// @param amount Tokens added to the pending amount now (0 when a funding attempt failed).
    /// @param pending Total pending.
    event PoolFundsPending(uint256 amount, uint256 pending);
    /// @notice Governance set the mining pool.
    /// @param previous Old pool.
    /// @param pool New pool.
    event MiningPoolSet(address indexed previous, address indexed pool);
    /// @notice Governance changed a parameter.
    /// @param param The parameter.
    /// @param previous Old value.
    /// @param value New value.
    event ParameterChanged(Parameter indexed param, uint256 previous, uint256 value);
    /// @notice A new epoch length takes effect from `fromEpoch`, which starts at `startTime`.
    /// @param fromEpoch First epoch with the new length.
    /// @param startTime Its start.
    /// @param length New length in seconds.
    event EpochClockScheduled(uint64 fromEpoch, uint64 startTime, uint64 length);

    // ---------------------------------------------------------------- errors

    /// @notice The account is already a registered bookkeeper.
    error AlreadyRegistered(address account);
    /// @notice The account is not a registered bookkeeper.
    error NotRegistered(address account);
    /// @notice The account was jailed for equivocation.
    error BookkeeperJailed(address account);
    /// @notice The account was blacklisted by the council.
    error BookkeeperBlacklisted(address account);
    /// @notice Admission mode is on and the account was not admitted by the council.
    error NotAdmitted(address account);
    /// @notice Commission above the governance maximum.
    error CommissionTooHigh(uint256 commissionBps, uint256 maxBps);
    /// @notice The candidate list is full (use registerReplacing to evict a lighter candidate).
    error CandidateListFull(uint256 maxCandidates);
    /// @notice The candidate named for eviction weighs at least as much as the newcomer would.
    error NotOutweighed(address evictee, uint256 evicteeWeight, uint256 weight);
    /// @notice A registered bookkeeper's margin would be below the minimum (and not zero).
    error MarginBelowMinimum(uint256 margin, uint256 minMargin);
    /// @notice More margin requested than held.
    error InsufficientMargin(uint256 requested, uint256 margin);
    /// @notice More shares than held, or zero.
    error InsufficientShares(uint256 requested, uint256 held);
    /// @notice The delegation would mint no shares.
    error ZeroShares(uint256 amount);
    /// @notice The account has MAX_LOCKS pending locks.
    error TooManyLocks(address account, uint256 maxLocks);
    /// @notice No lock of the account has matured.
    error NothingToWithdraw(address account);
    /// @notice A committee was already elected for the epoch.
    error AlreadyElected(uint64 epoch);
    /// @notice The epoch has not started strictly before this block (votes are read at its start).
    error ElectionTooEarly(uint64 epoch, uint256 epochStart);
    /// @notice No candidate is eligible (margin ≥ minimum and a bookkeeper key).
    error NoEligibleCandidates(uint64 epoch);
    /// @notice No committee was ever elected.
    error NoElection();
    /// @notice The account is not a member of the epoch's committee.
    error NotCommitteeMember(uint64 epoch, address account);
    /// @notice The two proposals are not for the same (epoch, period, round).
    error DifferentSlots(uint64 epochA, uint64 periodA, uint32 roundA, uint64 epochB, uint64 periodB, uint32 roundB);
    /// @notice The two proposals carry the same digest (no conflict).
    error SameDigest(bytes32 digest);
    /// @notice A signature is malformed, malleable (high s) or has a bad v (OZ ECDSA.RecoverError code).
    error InvalidEvidenceSignature(uint8 reason, bytes32 detail);
    /// @notice The proposals were signed by different keys.
    error DifferentSigners(address signerA, address signerB);
    /// @notice The evidence (epoch, period, round, signer) was already used.
    error EvidenceAlreadyUsed(bytes32 evidenceId);
    /// @notice The signer is not a signing key of the epoch's committee.
    error NotCommitteeKey(uint64 epoch, address signer);
    /// @notice The bookkeeper was already slashed by evidence (it is jailed for good).
    error AlreadySlashed(address bookkeeper, uint64 offenceEpoch);
    /// @notice The bookkeeper is already blacklisted.
    error AlreadyBlacklisted(address bookkeeper);
    /// @notice Caller is not the council.
    error NotCouncil(address caller);
    /// @notice Batch longer than MAX_BATCH.
    error BatchTooLarge(uint256 length, uint256 maxLength);
    /// @notice The mining pool is not set.
    error MiningPoolNotSet();
    /// @notice Nothing is pending for the mining pool.
    error NothingToFlush();
    /// @notice Genesis in the future.
    error InvalidGenesis(uint256 genesis, uint256 nowTimestamp);
    /// @notice Too many epoch-length changes.
    error TooManyClockChanges(uint256 maxSegments);
}
