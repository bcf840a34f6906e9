// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IHMSErrors} from "../interfaces/IHMSErrors.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IBookkeeperCommittee} from "../interfaces/IBookkeeperCommittee.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IMiningPool} from "../interfaces/IMiningPool.sol";
import {HMSTypes} from "../libraries/HMSTypes.sol";
import {QuorumVerifier} from "../libraries/QuorumVerifier.sol";
import {EmissionSchedule} from "../libraries/EmissionSchedule.sol";
import {TokenAllocation} from "../token/TokenAllocation.sol";

/**
 * @title MiningPool
 * @notice Holds the Mining bucket (296 M HMS) and pays Proof-of-Traffic rewards (PROTOCOL §4).
 *
 * Emission: `E(p) = E0 >> floor(p / H)` per period of `periodLength` seconds from `genesis`. A period's emission is
 * released only when a report covering it lands; emission of periods never reported (and of empty periods) rolls
 * forward into the next non-empty report — computed in closed form, O(1) (EmissionSchedule). Tokens that come back
 * (slashed stake through {fund}, expired claims, forfeited bookkeeper shares) are recycled: each non-empty report also
 * releases up to its scheduled emission again from that excess.
 *
 * Reports: an EIP-712 `PeriodReport` signed by more than 2/3 of an epoch's bookkeeper committee (QuorumVerifier),
 * for a period that has ended and is later than the last reported one. A report names the first period whose traffic
 * it covers (`fromPeriod`) and lands only if that is exactly the first unreported period (`nextPeriod`, see {state})
 * — a compare-and-swap on the reporting state, so two reports built on the same base (say, a late one of the previous
 * committee within the election grace and the new committee's first) can never both land and pay the same traffic
 * twice. The range a stored report covers is (previous reported period, period], implied by the sequence of
 * {PeriodReported} events. To stay O(1) and cheap, a report stores ONE new word: the hash of its {PeriodTerms}, which
 * commit to everything it keeps (root, total traffic, node count, node emission, claim deadline) and to its
 * {Attestation} (epoch, signers, bookkeeper share, carry root, data CID).
 * The full values are in the {PeriodReported} event; claims and settlements pass them back and the contract checks
 * them against the stored hash.
 *
 * Claims: `emission × traffic / totalTraffic` (rounded down) to the node's registered payout address, proven by a
 * Merkle proof of the leaf `keccak256(bytes.concat(keccak256(abi.encode(index, nodeId, traffic))))` (OZ MerkleProof,
 * sorted pairs), within the claim window. Anyone may claim for a node. The claimed bitmap packs 160 flags and the
 * period's claimed total in a head word (one word written by a top-160 claim), then 256 flags per word; the total
 * caps what a period pays at its node emission, even for an inconsistent report.
 *
 * Bookkeeper share: `bookkeeperShareBps` of each released emission is split equally among the report's signers and
 * credited to their staking pools by {settleBookkeepers} (permissionless, batched), which also records non-signing
 * active members as missed duty.
 */
contract MiningPool is IHMSErrors, IMiningPool, AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ------------------------------------------------------------------------------------------ types

    /// @notice Constructor parameters.
    struct Params {
        /// @dev Start of period 0; 0 = deployment time.
        uint64 genesis;
        /// @dev Seconds per period (default 600).
        uint32 periodLength;
        /// @dev Periods between halvings, H (default 210,240).
        uint32 halvingInterval;
        /// @dev E0, emission per period before the first halving; 0 = MINING_POOL / (2H).
        uint96 initialEmission;
        /// @dev Bookkeepers' fraction of each released emission, in basis points (default 500).
        uint16 bookkeeperShareBps;
        /// @dev Seconds after a report during which its rewards can be claimed (default 365 days).
        uint32 claimWindow;
        /// @dev Seconds after an election during which the previous committee may still sign (default 1 hour).
        uint32 electionGrace;
        /// @dev Seconds after a report lands during which anyone may add further signatures of it (default 1 hour).
        uint32 signatureWindow;
    }

    /// @notice A period's report as signed by the committee (EIP-712 `PeriodReport`).
    struct PeriodReport {
        uint64 epoch;
        uint64 period;
        /// @dev First period whose traffic the report covers: must equal nextPeriod when it lands.
        uint64 fromPeriod;
        /// @dev Merkle root over the top-N leaves (index, nodeId, traffic).
        bytes32 rewardsRoot;
        /// @dev Sum of the top-N nodes' traffic.
        uint64 totalTraffic;
        /// @dev Number of leaves (top-N nodes).
        uint32 nodeCount;
        /// @dev Commitment to the carried-over ledger (nodes not rewarded, with their traffic).
        bytes32 carryRoot;
        /// @dev sha256 digest of the full report JSON (CIDv1, raw codec).
        bytes32 dataCid;
    }

    /// @notice What a claim needs from a stored report (its hash is stored; values are in {PeriodReported}).
    struct PeriodTerms {
        bytes32 rewardsRoot;
        uint64 totalTraffic;
        uint32 nodeCount;
        /// @dev Tokens shared by the nodes (released emission minus the bookkeeper share).
        uint96 nodeEmission;
        /// @dev Claims are accepted strictly before this timestamp.
        uint40 claimDeadline;
        /// @dev keccak256(abi.encode(Attestation)).
        bytes32 attestationHash;
    }

    /// @notice Who signed a stored report and what else it committed to.
    struct Attestation {
        uint64 epoch;
        /// @dev The report's base (first period it covers): with the terms, rebuilds the signed report.
        uint64 fromPeriod;
        /// @dev Bit i = member i of the epoch's committee (leader order) signed, as submitted; signatures added
        ///      later ({addSignatures}) are in {addedSigners}.
        uint256 signers;
        /// @dev Tokens split equally among the signers at settlement.
        uint96 bookkeeperShare;
        /// @dev Further signatures may be added until (excluded) this timestamp; settlement only from then on.
        uint40 signaturesUntil;
        bytes32 carryRoot;
        bytes32 dataCid;
    }

    /// @notice One claim of a batch (all for the same node).
    struct BatchClaim {
        uint64 period;
        PeriodTerms terms;
        uint32 index;
        uint64 traffic;
        bytes32[] proof;
    }

    /// @notice One period of a bookkeeper settlement.
    struct Settlement {
        uint64 period;
        PeriodTerms terms;
        Attestation attestation;
    }

    /// @dev The hot word: everything a report reads and writes, in one slot.
    struct Hot {
        uint32 nextPeriod;
        uint32 emissionCursor;
        uint96 reserve;
        uint16 bookkeeperShareBps;
        uint32 claimWindow;
        uint24 electionGrace;
        uint24 signatureWindow;
    }

    // ------------------------------------------------------------------------------------------ constants

    /// @notice The Mining bucket (37 % of the supply); default basis of E0.
    uint256 public constant MINING_POOL = 296_000_000 ether;
    /// @notice Default ledger period: 600 s (PROTOCOL §4).
    uint32 public constant DEFAULT_PERIOD_LENGTH = 600;
    /// @notice Default halving interval H: 210,240 periods, 4 years of 600 s (PROTOCOL §4).
    uint32 public constant DEFAULT_HALVING_INTERVAL = 210_240;
    /// @notice Highest bookkeeper share governance may set: 30 % of a period's emission.
    uint16 public constant MAX_BOOKKEEPER_SHARE_BPS = 3_000;
    /// @notice Shortest claim window governance may set.
    uint32 public constant MIN_CLAIM_WINDOW = 30 days;
    /// @notice Longest claim window governance may set.
    uint32 public constant MAX_CLAIM_WINDOW = 3_650 days;
    /// @notice Longest grace during which the previous epoch's committee may still sign.
    uint32 public constant MAX_ELECTION_GRACE = 1 days;
    /// @notice Shortest window after a report during which further signatures may be added.
    uint32 public constant MIN_SIGNATURE_WINDOW = 60;
    /// @notice Longest window after a report during which further signatures may be added.
    uint32 public constant MAX_SIGNATURE_WINDOW = 1 days;
    /// @notice Shortest period length the constructor accepts.
    uint32 public constant MIN_PERIOD_LENGTH = 60;
    /// @notice Longest period length the constructor accepts.
    uint32 public constant MAX_PERIOD_LENGTH = 1 days;
    /// @notice Most claims in one {claimBatch} / periods in one {reclaimExpired}.
    uint256 public constant MAX_BATCH = 128;
    /// @notice Most periods in one {settleBookkeepers}.
    uint256 public constant MAX_SETTLE_BATCH = 32;

    uint256 private constant BPS = 10_000;
    /// @dev Leaves 0 .. HEAD_FLAGS − 1 are flagged in a period's head word, beside its claimed total.
    uint256 private constant HEAD_FLAGS = 160;
    uint256 private constant FLAGS_MASK = (1 << HEAD_FLAGS) - 1;
    /// @dev Bits 160..254 of a head word: the period's claimed total (the whole supply fits 90 bits).
    uint256 private constant CLAIMED_MASK = (1 << 95) - 1;
    /// @dev Bit 255 of a head word: set on every write, which only follows a check of the terms against the stored
    ///      hash, so a non-zero head word proves that its key's terms hash is the period's.
    uint256 private constant AUTHENTICATED = 1 << 255;

    // ------------------------------------------------------------------------------------------ state

    /// @notice The HMS token.
    IERC20 public immutable token;
    /// @notice Bookkeeper committees (BookkeeperStaking).
    IBookkeeperCommittee public immutable committee;
    /// @notice Node registry (payout addresses).
    INodeRegistry public immutable registry;
    /// @notice TokenAllocation whose Mining bucket funds the pool (zero: none).
    address public immutable allocation;
    /// @notice Start of period 0.
    uint64 public immutable genesis;
    /// @notice Seconds per period.
    uint32 public immutable periodLength;
    /// @notice Periods between halvings, H.
    uint32 public immutable halvingInterval;
    /// @notice E0: emission per period before the first halving.
    uint256 public immutable initialEmission;
    /// @notice Sum of the whole emission schedule, Σ E(p) over all periods.
    uint256 public immutable scheduleTotal;

    Hot private _hot;
    /// @notice Everything that ever came in: the allocation and {fund}.
    uint256 public totalFunded;
    /// @notice What came back to the reserve from released rewards: expired claims, forfeited or rounding shares.
    uint256 public totalReturned;
    uint256 private _allocationCounted;
    /// @dev period => keccak256(abi.encode(PeriodTerms)); written once by the report, read-only afterwards.
    mapping(uint256 => bytes32) private _periods;
    /// @dev (head key + w) => claim word, where head key = keccak256(abi.encode(period, termsHash)). The head word
    ///      (w = 0) holds the flags of leaves 0..159 (bits 0..159), the amount claimed so far (bits 160..254) and the
    ///      AUTHENTICATED bit, so a claim of a top-160 leaf writes one word and — once the period's first claim
    ///      checked the terms against `_periods` — later claims find the terms authenticated by the head word they
    ///      read anyway, without reading `_periods` (2,100 gas less). Word w ≥ 1 flags leaves
    ///      160 + 256·(w − 1) .. 160 + 256·w − 1.
    mapping(uint256 => uint256) private _claimWords;
    /// @dev period >> 8 => settled bitmap word.
    mapping(uint256 => uint256) private _settledWords;
    /// @dev period => signer bits added by {addSignatures} after the report landed.
    mapping(uint256 => uint256) private _addedSigners;

    // ------------------------------------------------------------------------------------------ events

    /// @notice A period report landed. `terms` and `attestation` are what claims and settlements pass back.
    /// @param period The period reported.
    /// @param epoch The epoch whose committee signed.
    /// @param terms Root, total traffic, node count, node emission, claim deadline and attestation hash.
    /// @param attestation Epoch, signer bitmap, bookkeeper share, carry root and data CID.
    /// @param emissionFrom First period whose emission this report released (earlier ones rolled forward into it).
    /// @param recycled Part of the released emission that came from recycled funds.
    event PeriodReported(
        uint64 indexed period,
        uint64 indexed epoch,
        PeriodTerms terms,
        Attestation attestation,
        uint64 emissionFrom,
        uint256 recycled
    );
    /// @notice `amount` was paid to `payout` for `nodeId`'s leaf `index` of `period`.
    /// @param period The period.
    /// @param nodeId The node.
    /// @param payout The node's payout address at claim time.
    /// @param index The leaf index.
    /// @param traffic The node's traffic in the period's report.
    /// @param amount Tokens paid: nodeEmission × traffic / totalTraffic.
    event Claimed(
        uint64 indexed period,
        bytes32 indexed nodeId,
        address indexed payout,
        uint32 index,
        uint64 traffic,
        uint256 amount
    );
    /// @notice `from` added `amount` to the pool (slashed stake, donations).
    /// @param from The funder.
    /// @param amount Tokens added.
    /// @param reserve Unreleased tokens after the funding.
    event Funded(address indexed from, uint256 amount, uint256 reserve);
    /// @notice The Mining bucket of the allocation arrived.
    /// @param amount Tokens counted.
    /// @param reserve Unreleased tokens after.
    event AllocationPulled(uint256 amount, uint256 reserve);
    /// @notice Unclaimed rewards of `period` returned to the reserve after its claim window.
    /// @param period The period.
    /// @param amount Tokens returned.
    /// @param reserve Unreleased tokens after.
    event Reclaimed(uint64 indexed period, uint256 amount, uint256 reserve);
    /// @notice The bookkeeper share of `period` was settled.
    /// @param period The period.
    /// @param epoch The signing committee's epoch.
    /// @param perSigner Tokens credited to each signer still in the committee.
    /// @param credited Number of signers credited.
    /// @param missed Number of active members recorded as missed duty.
    /// @param returned Tokens returned to the reserve (removed signers' shares and rounding).
    event BookkeepersSettled(
        uint64 indexed period,
        uint64 indexed epoch,
        uint256 perSigner,
        uint256 credited,
        uint256 missed,
        uint256 returned
    );
    /// @notice Further committee signatures of `period`'s report were added after it landed.
    /// @param period The period.
    /// @param epoch The signing committee's epoch.
    /// @param added The signer bits added now.
    /// @param signers Every signer now: the report's bitmap and all bits added so far.
    event SignaturesAdded(uint64 indexed period, uint64 indexed epoch, uint256 added, uint256 signers);
    /// @notice Governance changed the signature window.
    /// @param previous Old value in seconds.
    /// @param current New value in seconds.
    event SignatureWindowChanged(uint32 previous, uint32 current);
    /// @notice Governance changed the bookkeepers' share.
    /// @param previous Old value in basis points.
    /// @param current New value in basis points.
    event BookkeeperShareChanged(uint16 previous, uint16 current);
    /// @notice Governance changed the claim window (applies to reports posted afterwards).
    /// @param previous Old value in seconds.
    /// @param current New value in seconds.
    event ClaimWindowChanged(uint32 previous, uint32 current);
    /// @notice Governance changed the election grace.
    /// @param previous Old value in seconds.
    /// @param current New value in seconds.
    event ElectionGraceChanged(uint32 previous, uint32 current);

    // ------------------------------------------------------------------------------------------ errors

    /// @notice `period` is not after the last reported period (`nextPeriod` is the first reportable one).
    error StalePeriod(uint64 period, uint64 nextPeriod);
    /// @notice The report builds on another base: it covers traffic from `fromPeriod`, but the first unreported
    ///         period is `nextPeriod` (another report landed first, or the report skips unreported periods).
    error ReportBaseMismatch(uint64 fromPeriod, uint64 nextPeriod);
    /// @notice Malformed report: its range `fromPeriod .. period` is empty (`fromPeriod` after `period`).
    error EmptyReportRange(uint64 fromPeriod, uint64 period);
    /// @notice `period` ends at `endsAt`, in the future.
    error PeriodNotEnded(uint64 period, uint256 endsAt);
    /// @notice Inconsistent report: traffic, node count and root must be all zero (empty period) or all non-zero.
    error MalformedReport(uint64 totalTraffic, uint32 nodeCount, bytes32 rewardsRoot);
    /// @notice Releasing `needed` would exceed the unreleased `reserve` (pull the allocation first).
    error InsufficientReserve(uint256 needed, uint256 reserve);
    /// @notice No report was stored for `period`.
    error PeriodNotReported(uint64 period);
    /// @notice The terms passed do not hash to what was stored for `period`.
    error PeriodTermsMismatch(uint64 period);
    /// @notice The attestation passed does not hash to the terms' attestation hash.
    error AttestationMismatch(uint64 period);
    /// @notice Claims for `period` closed at `deadline`.
    error ClaimWindowClosed(uint64 period, uint256 deadline);
    /// @notice Claims for `period` are open until `deadline`; nothing can be reclaimed yet.
    error ClaimWindowOpen(uint64 period, uint256 deadline);
    /// @notice Leaf `index` is not below the report's node count.
    error LeafIndexOutOfRange(uint32 index, uint32 nodeCount);
    /// @notice The Merkle proof does not prove (index, nodeId, traffic) in `period`'s rewards root.
    error InvalidProof(uint64 period, uint32 index, bytes32 nodeId);
    /// @notice Leaf `index` of `period` was already claimed.
    error AlreadyClaimed(uint64 period, uint32 index);
    /// @notice Claims of `period` would exceed its node emission (an inconsistent report).
    error PeriodOverclaimed(uint64 period, uint256 claimed, uint256 nodeEmission);
    /// @notice Nothing left to reclaim for `period`.
    error NothingToReclaim(uint64 period);
    /// @notice The bookkeeper share of `period` was already settled.
    error AlreadySettled(uint64 period);
    /// @notice A settlement batch mixes epochs (`expected` is the first item's).
    error MixedEpochs(uint64 expected, uint64 found);
    /// @notice The committee of `epoch` has `size` members, fewer than the signer bitmap implies.
    error CommitteeChanged(uint64 epoch, uint256 size);
    /// @notice Signatures of `period`'s report may still be added until `until`: it cannot be settled yet.
    error SignatureWindowOpen(uint64 period, uint256 until);
    /// @notice The window for adding signatures to `period`'s report closed at `until`.
    error SignatureWindowClosed(uint64 period, uint256 until);
    /// @notice Every signature passed for `period` was already recorded.
    error NoNewSignatures(uint64 period, uint256 signers);
    /// @notice The pool has no allocation contract, or is not the Mining bucket's beneficiary.
    error NotMiningBeneficiary(address beneficiary);

    // ------------------------------------------------------------------------------------------ constructor

    /**
     * @notice Deploys the pool.
     * @param token_ The HMS token.
     * @param committee_ The bookkeeper committee (BookkeeperStaking).
     * @param registry_ The node registry.
     * @param allocation_ The TokenAllocation (zero: none, the pool is funded with {fund} only).
     * @param admin Governance (DEFAULT_ADMIN_ROLE), the timelock after deployment.
     * @param params Emission schedule and governance parameters.
     */
    constructor(
        IERC20 token_,
        IBookkeeperCommittee committee_,
        INodeRegistry registry_,
        address allocation_,
        address admin,
        Params memory params
    ) EIP712("HMS MiningPool", "1") {
        if (
            address(token_) == address(0) ||
            address(committee_) == address(0) ||
            address(registry_) == address(0) ||
            admin == address(0)
        ) revert ZeroAddress();
        _bounded("periodLength", params.periodLength, MIN_PERIOD_LENGTH, MAX_PERIOD_LENGTH);
        _bounded("halvingInterval", params.halvingInterval, 1, type(uint32).max);
        uint256 e0 =
            params.initialEmission == 0 ? MINING_POOL / (2 * uint256(params.halvingInterval)) : params.initialEmission;
        uint256 total = uint256(params.halvingInterval) * EmissionSchedule.halvingSum(e0);
        _bounded("scheduleTotal", total, 1, type(uint96).max);

        token = token_;
        committee = committee_;
        registry = registry_;
        allocation = allocation_;
        genesis = params.genesis == 0 ? uint64(block.timestamp) : params.genesis;
        periodLength = params.periodLength;
        halvingInterval = params.halvingInterval;
        initialEmission = e0;
        scheduleTotal = total;
        if (allocation_ != address(0)) {
            // Anything released from the bucket before this pool existed went elsewhere.
            _allocationCounted = TokenAllocation(allocation_).released(TokenAllocation.Bucket.Mining);
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setBookkeeperShare(params.bookkeeperShareBps);
        _setClaimWindow(params.claimWindow);
        _setElectionGrace(params.electionGrace);
        _setSignatureWindow(params.signatureWindow);
    }

    // ------------------------------------------------------------------------------------------ funding

    /**
     * @notice Counts the Mining bucket into the pool: releases it from the allocation (permissionless) and
     *         counts whatever the allocation released to the pool since the last count.
     * @return amount Tokens counted.
     */
    function pullAllocation() external nonReentrant returns (uint256 amount) {
        TokenAllocation a = TokenAllocation(allocation);
        if (allocation == address(0)) revert NotMiningBeneficiary(address(0));
        address beneficiary = a.beneficiaryOf(TokenAllocation.Bucket.Mining);
        if (beneficiary != address(this)) revert NotMiningBeneficiary(beneficiary);
        a.release(TokenAllocation.Bucket.Mining);
        uint256 releasedTotal = a.released(TokenAllocation.Bucket.Mining);
        amount = releasedTotal - _allocationCounted;
        _allocationCounted = releasedTotal;
        if (amount != 0) {
            totalFunded += amount;
            uint96 reserve = _hot.reserve + _toU96(amount);
            _hot.reserve = reserve;
            emit AllocationPulled(amount, reserve);
        }
    }

    /**
     * @inheritdoc IMiningPool
     * @dev Slashed stake (BookkeeperStaking) and donations. Recycled into future reports (see the contract notice).
     *      Deliberately not `nonReentrant`: BookkeeperStaking returns a stakeless bookkeeper's reward through it
     *      while {settleBookkeepers} runs (whose accounting is complete before it calls out). Checks-effects-
     *      interactions: the only external call is the token's transferFrom, last.
     */
    function fund(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        totalFunded += amount;
        uint96 reserve = _hot.reserve + _toU96(amount);
        _hot.reserve = reserve;
        emit Funded(msg.sender, amount, reserve);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ------------------------------------------------------------------------------------------ reports

    /**
     * @notice Posts the committee-signed report of `report.period`, releasing the emission of every period since the
     *         last non-empty report (none if this one is empty) and storing its terms for claims. The report must
     *         build on the current state: `report.fromPeriod` equal to {state}'s `nextPeriod` (compare-and-swap).
     * @dev Gas is O(signatures): one storage word written, one updated, two view calls to the committee.
     * @param report The signed report.
     * @param quorum Committee keys of `report.epoch`, signer bitmap and compact signatures.
     * @return released Tokens released by this report (nodes' part plus bookkeepers' share).
     */
    function submitReport(
        PeriodReport calldata report,
        QuorumVerifier.Quorum calldata quorum
    ) external returns (uint256 released) {
        Hot memory hot = _loadHot();
        uint64 period = report.period;
        if (period < hot.nextPeriod) revert StalePeriod(period, hot.nextPeriod);
        _checkBase(report.fromPeriod, period, hot.nextPeriod);
        uint256 endsAt = uint256(genesis) + (uint256(period) + 1) * periodLength;
        if (block.timestamp < endsAt) revert PeriodNotEnded(period, endsAt);
        bool empty = report.totalTraffic == 0;
        if (empty != (report.nodeCount == 0) || empty != (report.rewardsRoot == bytes32(0))) {
            revert MalformedReport(report.totalTraffic, report.nodeCount, report.rewardsRoot);
        }

        QuorumVerifier.checkEpoch(committee, report.epoch, hot.electionGrace);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(HMSTypes.PERIOD_REPORT_TYPEHASH, report)));
        QuorumVerifier.verify(committee, report.epoch, digest, quorum);

        uint256 recycled;
        uint64 emissionFrom = hot.emissionCursor;
        if (!empty) {
            uint256 scheduled;
            (scheduled, recycled) = _emission(hot, period);
            released = scheduled + recycled;
            if (released > hot.reserve) revert InsufficientReserve(released, hot.reserve);
            hot.reserve -= uint96(released);
            hot.emissionCursor = uint32(period) + 1;
        }
        hot.nextPeriod = uint32(period) + 1;
        _storeReportState(hot);

        uint256 share = (released * hot.bookkeeperShareBps) / BPS;
        Attestation memory attestation = Attestation({
            epoch: report.epoch,
            fromPeriod: report.fromPeriod,
            signers: quorum.signers,
            bookkeeperShare: uint96(share),
            signaturesUntil: uint40(block.timestamp + hot.signatureWindow),
            carryRoot: report.carryRoot,
            dataCid: report.dataCid
        });
        PeriodTerms memory terms = PeriodTerms({
            rewardsRoot: report.rewardsRoot,
            totalTraffic: report.totalTraffic,
            nodeCount: report.nodeCount,
            nodeEmission: uint96(released - share),
            claimDeadline: uint40(block.timestamp + hot.claimWindow),
            attestationHash: keccak256(abi.encode(attestation))
        });
        _periods[period] = keccak256(abi.encode(terms));
        emit PeriodReported(period, report.epoch, terms, attestation, emissionFrom, recycled);
    }

    /**
     * @notice Adds further committee signatures of `period`'s report, during its signature window (until the
     *         attestation's `signaturesUntil`). The signer bitmap of {submitReport} is chosen by whoever submits
     *         and is not covered by what the committee signs, so a front-runner can land a bare quorum of the
     *         public signatures; any member who signed (or anyone holding its signature) adds it here, and
     *         {settleBookkeepers} — only after the window — pays every signer recorded and never counts one of
     *         them as missing duty. Anyone may call; signatures already recorded are skipped.
     * @param period The reported period.
     * @param terms Its terms, from {PeriodReported}.
     * @param attestation Its attestation, from {PeriodReported}.
     * @param extra Committee keys of the attestation's epoch (as for {submitReport}), a bitmap of the signatures
     *        passed, and the compact signatures of the report in bitmap order.
     * @return added The signer bits newly recorded.
     */
    function addSignatures(
        uint64 period,
        PeriodTerms calldata terms,
        Attestation calldata attestation,
        QuorumVerifier.Quorum calldata extra
    ) external returns (uint256 added) {
        _checkTerms(period, terms);
        if (keccak256(abi.encode(attestation)) != terms.attestationHash) revert AttestationMismatch(period);
        uint256 until = attestation.signaturesUntil;
        if (block.timestamp >= until) revert SignatureWindowClosed(period, until);
        uint256 previouslyAdded = _addedSigners[period];
        uint256 known = attestation.signers | previouslyAdded;
        PeriodReport memory report = PeriodReport({
            epoch: attestation.epoch,
            period: period,
            fromPeriod: attestation.fromPeriod,
            rewardsRoot: terms.rewardsRoot,
            totalTraffic: terms.totalTraffic,
            nodeCount: terms.nodeCount,
            carryRoot: attestation.carryRoot,
            dataCid: attestation.dataCid
        });
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(HMSTypes.PERIOD_REPORT_TYPEHASH, report)));
        added = QuorumVerifier.verifyAdditional(committee, attestation.epoch, digest, extra, known);
        if (added == 0) revert NoNewSignatures(period, known);
        _addedSigners[period] = previouslyAdded | added;
        emit SignaturesAdded(period, attestation.epoch, added, known | added);
    }

    // ------------------------------------------------------------------------------------------ claims

    /**
     * @notice Pays `nodeId`'s reward for `period` to its registered payout address: nodeEmission × traffic /
     *         totalTraffic, rounded down. Anyone may call.
     * @dev No reentrancy guard (it would cost ≈ 300 of the ≤ 60k budget): every write happens before the only call
     *      that can run code, the transfer of HMS (HMSToken has no hooks); the payout lookup is a STATICCALL.
     * @param period The period.
     * @param terms The period's terms, from its {PeriodReported} event.
     * @param index The node's leaf index in the period's tree.
     * @param nodeId The node.
     * @param traffic The node's traffic in the report.
     * @param proof Merkle proof of the leaf.
     * @return amount Tokens paid.
     */
    function claim(
        uint64 period,
        PeriodTerms calldata terms,
        uint32 index,
        bytes32 nodeId,
        uint64 traffic,
        bytes32[] calldata proof
    ) external returns (uint256 amount) {
        address payout = _payoutOf(nodeId);
        amount = _claim(period, terms, index, nodeId, traffic, proof);
        _emitClaimed(period, nodeId, payout, index, traffic, amount);
        if (amount != 0) _pay(payout, amount);
    }

    /**
     * @notice Claims `nodeId`'s rewards over many periods in one transfer to its payout address.
     * @param nodeId The node.
     * @param claims Up to MAX_BATCH claims (period, terms, index, traffic, proof).
     * @return total Tokens paid.
     */
    function claimBatch(bytes32 nodeId, BatchClaim[] calldata claims) external returns (uint256 total) {
        _batchSize(claims.length, MAX_BATCH);
        address payout = _payoutOf(nodeId);
        for (uint256 i; i < claims.length; ++i) {
            BatchClaim calldata c = claims[i];
            uint256 amount = _claim(c.period, c.terms, c.index, nodeId, c.traffic, c.proof);
            _emitClaimed(c.period, nodeId, payout, c.index, c.traffic, amount);
            total += amount;
        }
        if (total != 0) _pay(payout, total);
    }

    /**
     * @notice Returns unclaimed rewards of periods whose claim window closed to the reserve (recycled into future
     *         reports). Anyone may call.
     * @param periods Up to MAX_BATCH periods.
     * @param terms Their terms, from their {PeriodReported} events.
     * @return total Tokens returned.
     */
    function reclaimExpired(
        uint64[] calldata periods,
        PeriodTerms[] calldata terms
    ) external nonReentrant returns (uint256 total) {
        _batchSize(periods.length, MAX_BATCH);
        if (terms.length != periods.length) revert BadBatchSize(terms.length, periods.length);
        uint96 reserve = _hot.reserve;
        for (uint256 i; i < periods.length; ++i) {
            uint64 period = periods[i];
            PeriodTerms calldata t = terms[i];
            (uint256 headKey, , uint256 head) = _head(period, t);
            if (block.timestamp < t.claimDeadline) revert ClaimWindowOpen(period, t.claimDeadline);
            uint256 unclaimed = t.nodeEmission - ((head >> HEAD_FLAGS) & CLAIMED_MASK);
            if (unclaimed == 0) revert NothingToReclaim(period);
            _claimWords[headKey] = AUTHENTICATED | (uint256(t.nodeEmission) << HEAD_FLAGS) | (head & FLAGS_MASK);
            reserve += uint96(unclaimed);
            total += unclaimed;
            emit Reclaimed(period, unclaimed, reserve);
        }
        _hot.reserve = reserve;
        totalReturned += total;
    }

    // ------------------------------------------------------------------------------------------ bookkeepers

    /**
     * @notice Settles the bookkeeper share of reported periods signed by one epoch's committee, each after its
     *         signature window ({addSignatures}): the signers are the report's bitmap and every signature added
     *         since. Each signer not removed since the election (slashed, dismissed or blacklisted, from this
     *         committee or any other: {IBookkeeperCommittee-committeeStanding}) is credited `share / signers`
     *         through {IBookkeeperCommittee-creditRewards} (its delegators share after commission); members not
     *         removed who did not sign are recorded as missed duty. Removed signers' shares and rounding return to
     *         the reserve. Anyone may call.
     * @param items Up to MAX_SETTLE_BATCH periods of the same epoch, with their terms and attestations.
     * @return credited Tokens credited to bookkeepers.
     */
    function settleBookkeepers(Settlement[] calldata items) external nonReentrant returns (uint256 credited) {
        _batchSize(items.length, MAX_SETTLE_BATCH);
        uint64 epoch = items[0].attestation.epoch;
        (address[] memory bookkeepers, uint256 removed) = committee.committeeStanding(epoch);
        uint256 n = bookkeepers.length;
        uint256[] memory credits = new uint256[](n);
        uint256 returned;
        for (uint256 k; k < items.length; ++k) {
            returned += _settleOne(items[k], epoch, bookkeepers, removed, credits);
        }
        uint256 count;
        for (uint256 i; i < n; ++i) if (credits[i] != 0) ++count;
        address[] memory to = new address[](count);
        uint256[] memory amounts = new uint256[](count);
        count = 0;
        for (uint256 i; i < n; ++i) {
            if (credits[i] != 0) {
                to[count] = bookkeepers[i];
                amounts[count++] = credits[i];
                credited += credits[i];
            }
        }
        if (returned != 0) {
            _hot.reserve += uint96(returned);
            totalReturned += returned;
        }
        if (credited != 0) {
            token.forceApprove(address(committee), credited);
            committee.creditRewards(to, amounts);
        }
    }

    // ------------------------------------------------------------------------------------------ governance

    /**
     * @notice Sets the bookkeepers' fraction of each released emission (applies to later reports).
     * @param bps Basis points, at most MAX_BOOKKEEPER_SHARE_BPS.
     */
    function setBookkeeperShare(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setBookkeeperShare(bps);
    }

    /**
     * @notice Sets the claim window of later reports.
     * @param seconds_ Between MIN_CLAIM_WINDOW and MAX_CLAIM_WINDOW.
     */
    function setClaimWindow(uint32 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setClaimWindow(seconds_);
    }

    /**
     * @notice Sets how long after a report lands further signatures may be added (and settlement waits); applies
     *         to later reports.
     * @param seconds_ Between MIN_SIGNATURE_WINDOW and MAX_SIGNATURE_WINDOW.
     */
    function setSignatureWindow(uint32 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSignatureWindow(seconds_);
    }

    /**
     * @notice Sets how long after an election the previous committee may still sign reports.
     * @param seconds_ At most MAX_ELECTION_GRACE.
     */
    function setElectionGrace(uint32 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setElectionGrace(seconds_);
    }

    // ------------------------------------------------------------------------------------------ views

    /**
     * @notice The period in progress now (0 before genesis).
     * @return The current period.
     */
    function currentPeriod() external view returns (uint64) {
        if (block.timestamp < genesis) return 0;
        return uint64((block.timestamp - genesis) / periodLength);
    }

    /**
     * @notice Start and end timestamps of `period`.
     * @param period The period.
     * @return start First second of the period.
     * @return end First second after it (a report is accepted from then on).
     */
    function periodBounds(uint64 period) external view returns (uint256 start, uint256 end) {
        start = uint256(genesis) + uint256(period) * periodLength;
        end = start + periodLength;
    }

    /**
     * @notice Scheduled emission of `period`: E0 >> floor(period / H).
     * @param period The period.
     * @return Tokens.
     */
    function emissionOf(uint64 period) external view returns (uint256) {
        return EmissionSchedule.emissionAt(initialEmission, halvingInterval, period);
    }

    /**
     * @notice Scheduled emission of periods 0 .. `periods` - 1, in closed form.
     * @param periods Number of periods.
     * @return Tokens.
     */
    function cumulativeEmission(uint64 periods) external view returns (uint256) {
        return EmissionSchedule.cumulative(initialEmission, halvingInterval, periods);
    }

    /**
     * @notice What a non-empty report of `period` would release if posted now.
     * @param period A period not before {nextPeriod}.
     * @return scheduled Scheduled emission rolled up since the last non-empty report.
     * @return recycled Recycled funds released on top.
     * @return bookkeeperShare The bookkeepers' part of the total.
     * @return nodeEmission The nodes' part of the total.
     */
    function pendingEmission(
        uint64 period
    ) external view returns (uint256 scheduled, uint256 recycled, uint256 bookkeeperShare, uint256 nodeEmission) {
        Hot memory hot = _loadHot();
        if (period < hot.nextPeriod) revert StalePeriod(period, hot.nextPeriod);
        (scheduled, recycled) = _emission(hot, period);
        bookkeeperShare = ((scheduled + recycled) * hot.bookkeeperShareBps) / BPS;
        nodeEmission = scheduled + recycled - bookkeeperShare;
    }

    /**
     * @notice Reporting state and governance parameters.
     * @return nextPeriod First period that may be reported.
     * @return emissionCursor First period whose emission has not been released yet.
     * @return reserve Tokens in the pool not released to any report.
     * @return bookkeeperShareBps Bookkeepers' fraction of released emission.
     * @return claimWindow Claim window of new reports, in seconds.
     * @return electionGrace Grace of the previous committee after an election, in seconds.
     * @return signatureWindow Seconds after a new report during which signatures may be added.
     */
    function state()
        external
        view
        returns (
            uint64 nextPeriod,
            uint64 emissionCursor,
            uint256 reserve,
            uint16 bookkeeperShareBps,
            uint32 claimWindow,
            uint32 electionGrace,
            uint32 signatureWindow
        )
    {
        Hot memory hot = _loadHot();
        return (
            hot.nextPeriod,
            hot.emissionCursor,
            hot.reserve,
            hot.bookkeeperShareBps,
            hot.claimWindow,
            hot.electionGrace,
            hot.signatureWindow
        );
    }

    /**
     * @notice Signer bits added to `period`'s report by {addSignatures} (beside its attestation's bitmap).
     * @param period The period.
     * @return The added bits.
     */
    function addedSigners(uint64 period) external view returns (uint256) {
        return _addedSigners[period];
    }

    /**
     * @notice Tokens released to reports so far (nodes and bookkeepers), including recycled funds.
     * @return totalFunded + totalReturned − reserve.
     */
    function totalReleased() external view returns (uint256) {
        return totalFunded + totalReturned - _hot.reserve;
    }

    /**
     * @notice The stored record of `period`.
     * @param period The period.
     * @return reported Whether a report was stored.
     * @return termsHash keccak256(abi.encode(terms)).
     * @return claimed Tokens claimed so far (equal to the node emission once reclaimed).
     */
    function periodRecord(uint64 period) external view returns (bool reported, bytes32 termsHash, uint256 claimed) {
        termsHash = _periods[period];
        if (termsHash == bytes32(0)) return (false, termsHash, 0);
        return (true, termsHash, (_claimWords[_headKey(period, termsHash)] >> HEAD_FLAGS) & CLAIMED_MASK);
    }

    /**
     * @notice Whether leaf `index` of `period` was claimed.
     * @param period The period.
     * @param index The leaf index.
     * @return True once claimed.
     */
    function isClaimed(uint64 period, uint32 index) external view returns (bool) {
        bytes32 termsHash = _periods[period];
        if (termsHash == bytes32(0)) return false;
        (uint256 key, uint256 bit) = _claimPosition(_headKey(period, termsHash), index);
        return (_claimWords[key] >> bit) & 1 == 1;
    }

    /**
     * @notice Whether the bookkeeper share of `period` was settled.
     * @param period The period.
     * @return True once settled.
     */
    function isSettled(uint64 period) public view returns (bool) {
        return (_settledWords[period >> 8] >> (period & 255)) & 1 == 1;
    }

    /**
     * @notice Checks a claim without making it: reverts with the error {claim} would, else returns what it would pay.
     * @param period The period.
     * @param terms The period's terms.
     * @param index The leaf index.
     * @param nodeId The node.
     * @param traffic The node's traffic.
     * @param proof Merkle proof of the leaf.
     * @return amount Tokens the claim would pay.
     * @return payout Where they would go.
     */
    function previewClaim(
        uint64 period,
        PeriodTerms calldata terms,
        uint32 index,
        bytes32 nodeId,
        uint64 traffic,
        bytes32[] calldata proof
    ) external view returns (uint256 amount, address payout) {
        payout = _payoutOf(nodeId);
        (, , , , amount) = _verifyClaim(period, terms, index, nodeId, traffic, proof);
    }

    /**
     * @notice The EIP-712 digest the committee signs for `report`.
     * @param report The report.
     * @return The typed-data hash under this pool's domain.
     */
    function reportDigest(PeriodReport calldata report) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(HMSTypes.PERIOD_REPORT_TYPEHASH, report)));
    }

    /**
     * @notice The hash of a period's terms, as stored by its report.
     * @param terms The terms.
     * @return keccak256(abi.encode(terms)).
     */
    function hashTerms(PeriodTerms calldata terms) external pure returns (bytes32) {
        return keccak256(abi.encode(terms));
    }

    /**
     * @notice The hash of an attestation, as committed in its period's terms.
     * @param attestation The attestation.
     * @return keccak256(abi.encode(attestation)).
     */
    function hashAttestation(Attestation calldata attestation) external pure returns (bytes32) {
        return keccak256(abi.encode(attestation));
    }

    /**
     * @notice The Merkle leaf of a reward: keccak256(bytes.concat(keccak256(abi.encode(index, nodeId, traffic)))).
     * @param index The leaf index.
     * @param nodeId The node.
     * @param traffic Its traffic.
     * @return leaf The leaf hash.
     */
    function rewardLeaf(uint32 index, bytes32 nodeId, uint64 traffic) public pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            // abi.encode(uint256(index), nodeId, uint256(traffic)) in free memory (not allocated), then the
            // double hash of OpenZeppelin's standard tree (bytes.concat of one word is that word).
            let ptr := mload(0x40)
            mstore(ptr, index)
            mstore(add(ptr, 0x20), nodeId)
            mstore(add(ptr, 0x40), traffic)
            mstore(0x00, keccak256(ptr, 0x60))
            leaf := keccak256(0x00, 0x20)
        }
    }

    // ------------------------------------------------------------------------------------------ internals

    /// @dev Compare-and-swap on the reporting state: a report of `period` (≥ `nextPeriod`) must build on the first
    ///      unreported period. A base past the report's own period fails it too; such a report covers nothing and
    ///      is named as malformed. The happy path costs one comparison.
    function _checkBase(uint64 fromPeriod, uint64 period, uint64 nextPeriod) private pure {
        if (fromPeriod != nextPeriod) {
            if (fromPeriod > period) revert EmptyReportRange(fromPeriod, period);
            revert ReportBaseMismatch(fromPeriod, nextPeriod);
        }
    }

    /// @dev The hot word in one SLOAD (Solidity reads a packed struct field by field). Layout, low bits first:
    ///      nextPeriod 32 | emissionCursor 32 | reserve 96 | bookkeeperShareBps 16 | claimWindow 32 |
    ///      electionGrace 24 | signatureWindow 24.
    function _loadHot() private view returns (Hot memory hot) {
        uint256 w;
        assembly ("memory-safe") {
            w := sload(_hot.slot)
        }
        hot.nextPeriod = uint32(w);
        hot.emissionCursor = uint32(w >> 32);
        hot.reserve = uint96(w >> 64);
        hot.bookkeeperShareBps = uint16(w >> 160);
        hot.claimWindow = uint32(w >> 176);
        hot.electionGrace = uint24(w >> 208);
        hot.signatureWindow = uint24(w >> 232);
    }

    /// @dev Writes what a report changes (nextPeriod, emissionCursor, reserve: the low 160 bits) in one SSTORE.
    function _storeReportState(Hot memory hot) private {
        uint256 low = uint256(hot.nextPeriod) | (uint256(hot.emissionCursor) << 32) | (uint256(hot.reserve) << 64);
        assembly ("memory-safe") {
            let slot := _hot.slot
            sstore(slot, or(and(sload(slot), not(sub(shl(160, 1), 1))), low))
        }
    }

    /// @dev Scheduled emission from the cursor through `period`, and the recycled excess released on top of it.
    function _emission(Hot memory hot, uint64 period) private view returns (uint256 scheduled, uint256 recycled) {
        uint256 fromCum = EmissionSchedule.cumulative(initialEmission, halvingInterval, hot.emissionCursor);
        scheduled = EmissionSchedule.cumulative(initialEmission, halvingInterval, uint256(period) + 1) - fromCum;
        // Whatever the reserve holds beyond the rest of the schedule came back (funding, expiries, forfeits).
        uint256 outstanding = scheduleTotal - fromCum;
        if (hot.reserve > outstanding) {
            recycled = hot.reserve - outstanding;
            if (recycled > scheduled) recycled = scheduled;
        }
    }

    /// @dev Verifies and records a claim; the caller pays (and emits nothing else). The head word is rewritten with
    ///      the new claimed total (and the leaf's flag when it lives there); a leaf beyond the head has its own word.
    function _claim(
        uint64 period,
        PeriodTerms calldata terms,
        uint32 index,
        bytes32 nodeId,
        uint64 traffic,
        bytes32[] calldata proof
    ) private returns (uint256 amount) {
        (uint256 headSlot, uint256 head, uint256 slot, uint256 flagged, uint256 paid) = _verifyClaim(
            period,
            terms,
            index,
            nodeId,
            traffic,
            proof
        );
        amount = paid;
        uint256 claimed;
        uint256 nodeEmission;
        uint256 claimedMask = CLAIMED_MASK;
        assembly ("memory-safe") {
            switch eq(slot, headSlot)
            case 1 {
                head := flagged
            }
            default {
                sstore(slot, flagged)
            }
            claimed := add(and(shr(HEAD_FLAGS, head), claimedMask), amount)
            nodeEmission := calldataload(add(terms, 0x60))
        }
        if (claimed > nodeEmission) revert PeriodOverclaimed(period, claimed, nodeEmission);
        uint256 word = AUTHENTICATED | (claimed << HEAD_FLAGS) | (head & FLAGS_MASK);
        assembly ("memory-safe") {
            sstore(headSlot, word)
        }
    }

    /// @dev Checks a claim against the stored terms and the claimed flags. Returns the storage slot and value of the
    ///      period's head word, the slot of the word holding the claim's flag and that word with the flag set, and the
    ///      amount. One pass in assembly (the happy path is what every claim pays; each failure is named after it):
    ///      the terms are authenticated first (`_head`), so their fields are the stored report's — nodeEmission below
    ///      2^96 and traffic below 2^64 (ABI-checked) keep the product far from overflow, and an index below a
    ///      non-zero node count implies a non-zero total.
    function _verifyClaim(
        uint64 period,
        PeriodTerms calldata terms,
        uint32 index,
        bytes32 nodeId,
        uint64 traffic,
        bytes32[] calldata proof
    ) private view returns (uint256 headSlot, uint256 head, uint256 slot, uint256 flagged, uint256 amount) {
        uint256 headKey;
        (headKey, headSlot, head) = _head(period, terms);
        uint256 failure;
        assembly ("memory-safe") {
            for {} 1 {} {
                if iszero(lt(timestamp(), calldataload(add(terms, 0x80)))) {
                    failure := 1
                    break
                }
                if iszero(lt(index, calldataload(add(terms, 0x40)))) {
                    failure := 2
                    break
                }
                // The leaf (see rewardLeaf), then OpenZeppelin's sorted-pair proof: the smaller word hashed first.
                let ptr := mload(0x40)
                mstore(ptr, index)
                mstore(add(ptr, 0x20), nodeId)
                mstore(add(ptr, 0x40), traffic)
                mstore(0x00, keccak256(ptr, 0x60))
                let hash := keccak256(0x00, 0x20)
                let end := add(proof.offset, shl(5, proof.length))
                for {
                    let p := proof.offset
                } lt(p, end) {
                    p := add(p, 0x20)
                } {
                    let sibling := calldataload(p)
                    let first := shl(5, gt(hash, sibling))
                    mstore(first, hash)
                    mstore(xor(first, 0x20), sibling)
                    hash := keccak256(0x00, 0x40)
                }
                if iszero(eq(hash, calldataload(terms))) {
                    failure := 3
                    break
                }
                // The claim's flag: bit `index` of the head word, or of word 1 + (index − 160) / 256.
                let word := head
                let bit := index
                slot := headSlot
                if iszero(lt(index, HEAD_FLAGS)) {
                    let rest := sub(index, HEAD_FLAGS)
                    bit := and(rest, 255)
                    mstore(0x00, add(add(headKey, 1), shr(8, rest)))
                    mstore(0x20, _claimWords.slot)
                    slot := keccak256(0x00, 0x40)
                    word := sload(slot)
                }
                if and(shr(bit, word), 1) {
                    failure := 4
                    break
                }
                flagged := or(word, shl(bit, 1))
                amount := div(mul(calldataload(add(terms, 0x60)), traffic), calldataload(add(terms, 0x20)))
                break
            }
        }
        if (failure != 0) _claimFailure(failure, period, terms, index, nodeId);
    }

    /// @dev Reverts with the error of a failed claim check (see `_verifyClaim`).
    function _claimFailure(
        uint256 failure,
        uint64 period,
        PeriodTerms calldata terms,
        uint32 index,
        bytes32 nodeId
    ) private pure {
        if (failure == 1) revert ClaimWindowClosed(period, terms.claimDeadline);
        if (failure == 2) revert LeafIndexOutOfRange(index, terms.nodeCount);
        if (failure == 3) revert InvalidProof(period, index, nodeId);
        revert AlreadyClaimed(period, index);
    }

    /// @dev The head key, the head word's slot and the head word of `period` for `terms`. A non-zero head word proves
    ///      the terms (see `_claimWords`); otherwise they are checked against the stored hash, which reverts unless
    ///      they are the period's.
    function _head(
        uint64 period,
        PeriodTerms calldata terms
    ) private view returns (uint256 headKey, uint256 headSlot, uint256 head) {
        bytes32 termsHash;
        assembly ("memory-safe") {
            // keccak256(abi.encode(terms)): the static struct's six words as they are in calldata. Dirty bits
            // cannot help a caller: only the exact encoding of the stored terms hashes to the stored hash.
            let ptr := mload(0x40)
            calldatacopy(ptr, terms, 192)
            termsHash := keccak256(ptr, 192)
            mstore(0x00, period)
            mstore(0x20, termsHash)
            headKey := keccak256(0x00, 0x40)
            mstore(0x00, headKey)
            mstore(0x20, _claimWords.slot)
            headSlot := keccak256(0x00, 0x40)
            head := sload(headSlot)
        }
        if (head == 0) {
            bytes32 stored = _periods[period];
            if (stored == bytes32(0)) revert PeriodNotReported(period);
            if (stored != termsHash) revert PeriodTermsMismatch(period);
        }
    }

    /// @dev keccak256(abi.encode(period, termsHash)): where the period's claim words start.
    function _headKey(uint64 period, bytes32 termsHash) private pure returns (uint256 key) {
        assembly ("memory-safe") {
            mstore(0x00, period)
            mstore(0x20, termsHash)
            key := keccak256(0x00, 0x40)
        }
    }

    function _settleOne(
        Settlement calldata item,
        uint64 epoch,
        address[] memory bookkeepers,
        uint256 removed,
        uint256[] memory credits
    ) private returns (uint256 returned) {
        uint64 period = item.period;
        Attestation calldata a = item.attestation;
        if (a.epoch != epoch) revert MixedEpochs(epoch, a.epoch);
        _checkTerms(period, item.terms);
        if (keccak256(abi.encode(a)) != item.terms.attestationHash) revert AttestationMismatch(period);
        if (block.timestamp < a.signaturesUntil) revert SignatureWindowOpen(period, a.signaturesUntil);
        uint256 signers = a.signers | _addedSigners[period];
        uint256 word = _settledWords[period >> 8];
        uint256 bit = 1 << (period & 255);
        if (word & bit != 0) revert AlreadySettled(period);
        _settledWords[period >> 8] = word | bit;

        if (bookkeepers.length < 256 && signers >> bookkeepers.length != 0) {
            revert CommitteeChanged(epoch, bookkeepers.length);
        }
        (uint256 perSigner, uint256 creditedCount, address[] memory missed) = _distribute(
            signers,
            a.bookkeeperShare,
            bookkeepers,
            removed,
            credits
        );
        returned = a.bookkeeperShare - perSigner * creditedCount;
        emit BookkeepersSettled(period, epoch, perSigner, creditedCount, missed.length, returned);
        if (missed.length != 0) committee.recordMissedDuty(epoch, missed);
    }

    /// @dev Splits `share` among the signers not removed since the election (adding to `credits`) and lists the
    ///      members not removed who did not sign.
    function _distribute(
        uint256 signers,
        uint256 share,
        address[] memory bookkeepers,
        uint256 removed,
        uint256[] memory credits
    ) private pure returns (uint256 perSigner, uint256 creditedCount, address[] memory missed) {
        uint256 n = bookkeepers.length;
        perSigner = share / QuorumVerifier.popcount(signers);
        missed = new address[](n);
        uint256 missedCount;
        for (uint256 i; i < n; ++i) {
            bool active = (removed >> i) & 1 == 0;
            if ((signers >> i) & 1 == 1) {
                if (active) {
                    credits[i] += perSigner;
                    ++creditedCount;
                }
            } else if (active) {
                missed[missedCount++] = bookkeepers[i];
            }
        }
        assembly ("memory-safe") {
            mstore(missed, missedCount)
        }
    }

    function _checkTerms(uint64 period, PeriodTerms calldata terms) private view {
        bytes32 stored = _periods[period];
        if (stored == bytes32(0)) revert PeriodNotReported(period);
        if (stored != keccak256(abi.encode(terms))) revert PeriodTermsMismatch(period);
    }

    /// @dev `registry.payoutOf(nodeId)` through a bare STATICCALL (its revert, e.g. UnknownNode, is passed on).
    function _payoutOf(bytes32 nodeId) private view returns (address payout) {
        address target = address(registry);
        bytes4 selector = INodeRegistry.payoutOf.selector;
        assembly ("memory-safe") {
            mstore(0x00, selector)
            mstore(0x04, nodeId)
            if iszero(staticcall(gas(), target, 0x00, 0x24, 0x00, 0x20)) {
                let ptr := mload(0x40)
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            if lt(returndatasize(), 0x20) {
                revert(0, 0)
            }
            payout := mload(0x00)
            if shr(160, payout) {
                revert(0, 0)
            }
        }
        if (payout == address(0)) revert NoPayoutAddress(nodeId);
    }

    /// @dev `emit Claimed(period, nodeId, payout, index, traffic, amount)` without the ABI encoder's overhead.
    function _emitClaimed(
        uint64 period,
        bytes32 nodeId,
        address payout,
        uint32 index,
        uint64 traffic,
        uint256 amount
    ) private {
        bytes32 topic = Claimed.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, index)
            mstore(add(ptr, 0x20), traffic)
            mstore(add(ptr, 0x40), amount)
            log4(ptr, 0x60, topic, period, nodeId, payout)
        }
    }

    /// @dev HMS `transfer(to, amount)` through a bare CALL; HMSToken returns true or reverts (its revert is passed on).
    function _pay(address to, uint256 amount) private {
        address target = address(token);
        bytes4 selector = IERC20.transfer.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), to)
            mstore(add(ptr, 0x24), amount)
            let ok := call(gas(), target, 0, ptr, 0x44, 0x00, 0x20)
            if iszero(ok) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            // Like SafeERC20: no return data is accepted from a contract, false is not.
            switch returndatasize()
            case 0 {
                if iszero(extcodesize(target)) {
                    revert(0, 0)
                }
            }
            default {
                if iszero(and(eq(mload(0x00), 1), gt(returndatasize(), 0x1f))) {
                    revert(0, 0)
                }
            }
        }
    }

    /// @dev Claim word key and bit of leaf `index` of a period whose head key is `headKey` (see `_claimWords`).
    function _claimPosition(uint256 headKey, uint32 index) private pure returns (uint256 key, uint256 bit) {
        if (index < HEAD_FLAGS) return (headKey, index);
        uint256 rest = index - HEAD_FLAGS;
        unchecked {
            return (headKey + 1 + (rest >> 8), rest & 255);
        }
    }

    function _batchSize(uint256 size, uint256 max) private pure {
        if (size == 0 || size > max) revert BadBatchSize(size, max);
    }

    function _toU96(uint256 amount) private pure returns (uint96) {
        if (amount > type(uint96).max) revert ParameterOutOfBounds("amount", amount, 0, type(uint96).max);
        return uint96(amount);
    }

    function _bounded(string memory name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }

    function _setBookkeeperShare(uint16 bps) private {
        _bounded("bookkeeperShareBps", bps, 0, MAX_BOOKKEEPER_SHARE_BPS);
        emit BookkeeperShareChanged(_hot.bookkeeperShareBps, bps);
        _hot.bookkeeperShareBps = bps;
    }

    function _setClaimWindow(uint32 seconds_) private {
        _bounded("claimWindow", seconds_, MIN_CLAIM_WINDOW, MAX_CLAIM_WINDOW);
        emit ClaimWindowChanged(_hot.claimWindow, seconds_);
        _hot.claimWindow = seconds_;
    }

    function _setElectionGrace(uint32 seconds_) private {
        _bounded("electionGrace", seconds_, 0, MAX_ELECTION_GRACE);
        emit ElectionGraceChanged(_hot.electionGrace, seconds_);
        _hot.electionGrace = uint24(seconds_);
    }

    function _setSignatureWindow(uint32 seconds_) private {
        _bounded("signatureWindow", seconds_, MIN_SIGNATURE_WINDOW, MAX_SIGNATURE_WINDOW);
        emit SignatureWindowChanged(_hot.signatureWindow, seconds_);
        _hot.signatureWindow = uint24(seconds_);
    }
}
