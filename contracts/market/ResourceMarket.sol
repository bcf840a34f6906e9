// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IHMSErrors} from "../interfaces/IHMSErrors.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IContributionScore} from "../interfaces/IContributionScore.sol";

/**
 * @title ResourceMarket
 * @notice The HMS resource marketplace (PROTOCOL §7): providers offer storage, compute or bandwidth at a
 *         price per unit-second; users place orders with HMS escrow; an order becomes a lease either by
 *         taking a specific offer or by weighted random matching among at most K offers of its kind;
 *         a lease streams payment per second to the provider, 1 % of every settled payment going to
 *         the treasury. See docs/MARKET.md for the accounting, the fee rounding rule and the randomness.
 *
 * Conservation: every token that enters (order escrow, top-ups) leaves as a provider payout, a fee or
 * a refund, or is still held as live escrow: an open order's `maxPrice × units × duration`, or a
 * lease's `rate × (end − start) − withdrawn`.
 *
 * Ids: offers count from 1; an order and the lease it becomes share the same id (a lease exists iff its
 * order is Filled).
 *
 * Lease accounting: `rate = price × units` (wei per second). A lease is paid through `end`; its escrow
 * is always exactly `rate × (end − start)` minus what was withdrawn, so accrual — `rate × (min(now, end)
 * − start)` — can never exceed the escrow: a lease can never run overdrawn. Closing (user, provider or
 * oracle) moves `end` back to the close time and refunds `rate × (old end − new end)` at once; what had
 * accrued stays withdrawable by the provider.
 *
 * Fee: on each settlement of `amount`, `fee = floor(amount × feeBps / 10,000)` goes to the treasury and
 * `amount − fee` to the node's payout address. The floor favours the provider by less than 1 wei per
 * settlement; the treasury never receives more than feeBps of what was settled.
 */
contract ResourceMarket is IHMSErrors, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- types

    /// @notice What is leased. Storage needs a Storage node, Compute a Container node, Bandwidth either.
    enum ResourceKind {
        Storage,
        Compute,
        Bandwidth
    }

    /// @notice Order lifecycle. A Filled order's lease has the same id.
    enum OrderStatus {
        None,
        Open,
        Filled,
        Cancelled
    }

    /// @notice Lease lifecycle. A Closed lease may still hold accrued payment for the provider.
    enum LeaseStatus {
        None,
        Active,
        Closed
    }

    /// @notice Why a lease was closed.
    enum CloseReason {
        None,
        User,
        Provider,
        Oracle,
        Expired
    }

    /// @notice What a provider posts or updates. Region and tier come from the node registry.
    struct OfferParams {
        ResourceKind kind;
        /// @dev Capacity offered (GiB for storage, millicores for compute, Mbit/s for bandwidth, by convention).
        uint64 units;
        /// @dev HMS wei per unit per second.
        uint96 pricePerUnitSecond;
        /// @dev Shortest and longest lease accepted, in seconds.
        uint64 minDuration;
        uint64 maxDuration;
    }

    /// @notice A stored offer.
    struct Offer {
        bytes32 nodeId;
        uint96 pricePerUnitSecond;
        uint64 units;
        /// @dev Units held by leases that have not ended yet; may exceed `units` after an update.
        uint64 unitsInUse;
        uint64 minDuration;
        uint64 maxDuration;
        /// @dev Position in the kind index while active.
        uint32 indexPos;
        /// @dev Registry region and tier when posted or last updated (matching reads the live values).
        uint16 region;
        ResourceKind kind;
        INodeRegistry.Tier tier;
        bool active;
    }

    /// @notice What a user asks for.
    struct OrderParams {
        ResourceKind kind;
        uint64 units;
        /// @dev Highest acceptable price, HMS wei per unit per second; the escrow is computed from it.
        uint96 maxPricePerUnitSecond;
        /// @dev Lease duration in seconds.
        uint64 duration;
        /// @dev Required region code, or 0 for any region.
        uint16 region;
        /// @dev Lowest acceptable hardware tier.
        INodeRegistry.Tier minTier;
        /// @dev The order can be taken or matched while block.timestamp < expiresAt.
        uint64 expiresAt;
    }

    /// @notice A stored order. Escrow held while Open: maxPricePerUnitSecond × units × duration.
    struct Order {
        address user;
        uint64 expiresAt;
        ResourceKind kind;
        INodeRegistry.Tier minTier;
        OrderStatus status;
        uint16 region;
        uint64 units;
        uint64 duration;
        uint96 maxPricePerUnitSecond;
    }

    /// @notice A stored lease (id = its order's id). Its node is its offer's node.
    struct Lease {
        address user;
        uint64 start;
        LeaseStatus status;
        CloseReason closeReason;
        /// @dev pricePerUnitSecond × units, HMS wei per second.
        uint128 ratePerSecond;
        /// @dev Paid through this time: accrual stops here.
        uint64 end;
        /// @dev start + the offer's maxDuration at lease time: top-ups cannot extend past it.
        uint64 maxEnd;
        /// @dev Settled so far (payouts + fees), always a multiple of ratePerSecond.
        uint128 withdrawn;
        uint64 units;
        uint64 offerId;
    }

    /// @notice An EIP-2612 permit for the market to pull `value` from the caller.
    struct PermitData {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice The task record a provider publishes on a lease for the workers that serve it.
    struct TaskRecord {
        bytes32 taskHash;
        string endpoint;
    }

    /// @dev Outcome of a matching draw.
    struct Draw {
        uint256 offerId;
        uint256 examined;
        uint256 eligible;
        uint256 weight;
        uint256 totalWeight;
        bytes32 seed;
    }

    // ---------------------------------------------------------------- constants

    /// @notice Role allowed to terminate leases for reported failures (the bookkeeper quorum's relayer).
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");
    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice The fee can never exceed 1 %.
    uint16 public constant MAX_FEE_BPS = 100;
    /// @notice Hard upper bound of the governance matching window K.
    uint16 public constant MAX_MATCH_K = 64;
    /// @notice Hard upper bound of the governance cap on active offers per kind.
    uint32 public constant MAX_OFFERS_PER_KIND = 10_000;
    /// @notice Active offers one node may have at once.
    uint256 public constant MAX_OFFERS_PER_NODE = 8;
    /// @notice Longest lease (and offer maxDuration / order duration): 10 years.
    uint64 public constant MAX_LEASE_DURATION = 3650 days;
    /// @notice Longest task endpoint, in bytes.
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @notice Most leases one withdrawBatch call settles.
    uint256 public constant MAX_BATCH = 64;
    /// @notice A contribution score counts at most this much in a matching weight (overflow guard).
    uint256 public constant MAX_SCORE_WEIGHT = 1e36;
    /// @notice Hard upper bound of the governance weight floor.
    uint256 public constant MAX_SCORE_FLOOR = 1e30;

    // ---------------------------------------------------------------- state

    /// @notice The HMS token (escrow and payments).
    IERC20 public immutable token;
    /// @notice Node registry: operators, payout addresses, resource profiles.
    INodeRegistry public immutable registry;
    /// @notice Proof-of-Contribution scores that weight matching.
    IContributionScore public immutable scores;

    /// @notice Receiver of the platform fee.
    address public treasury;
    /// @notice Platform fee in basis points (≤ MAX_FEE_BPS).
    uint16 public feeBps;
    /// @notice Matching window: offers examined per match (1..MAX_MATCH_K).
    uint16 public matchK;
    /// @notice Cap on active offers per kind (1..MAX_OFFERS_PER_KIND).
    uint32 public maxOffersPerKind;
    /// @notice Weight every eligible offer gets on top of its node's score, so that unscored nodes still win.
    uint256 public scoreFloor;

    /// @notice Number of offers ever posted (the last offer id).
    uint256 public offerCount;
    /// @notice Number of orders ever created (the last order id).
    uint256 public orderCount;
    /// @notice Active offers of a node.
    mapping(bytes32 nodeId => uint256) public activeOffersOf;

    mapping(uint256 offerId => Offer) private _offers;
    mapping(uint256 orderId => Order) private _orders;
    mapping(uint256 leaseId => Lease) private _leases;
    mapping(uint256 leaseId => TaskRecord) private _tasks;
    mapping(ResourceKind kind => uint256[]) private _kindIndex;

    // ---------------------------------------------------------------- events

    /// @notice A provider posted an offer.
    /// @param offerId The new offer id.
    /// @param nodeId The providing node.
    /// @param operator The node operator who posted it.
    /// @param kind Resource kind.
    /// @param units Capacity offered.
    /// @param pricePerUnitSecond HMS wei per unit per second.
    /// @param minDuration Shortest lease accepted (s).
    /// @param maxDuration Longest lease accepted (s).
    /// @param region Node region (from the registry).
    /// @param tier Node tier (from the registry).
    event OfferPosted(
        uint256 indexed offerId,
        bytes32 indexed nodeId,
        address indexed operator,
        ResourceKind kind,
        uint64 units,
        uint96 pricePerUnitSecond,
        uint64 minDuration,
        uint64 maxDuration,
        uint16 region,
        INodeRegistry.Tier tier
    );

    /// @notice A provider changed an offer (live leases keep their price).
    /// @param offerId The offer.
    /// @param nodeId The providing node.
    /// @param units New capacity.
    /// @param pricePerUnitSecond New price.
    /// @param minDuration New shortest lease (s).
    /// @param maxDuration New longest lease (s).
    /// @param region Node region now (from the registry).
    /// @param tier Node tier now (from the registry).
    event OfferUpdated(
        uint256 indexed offerId,
        bytes32 indexed nodeId,
        uint64 units,
        uint96 pricePerUnitSecond,
        uint64 minDuration,
        uint64 maxDuration,
        uint16 region,
        INodeRegistry.Tier tier
    );

    /// @notice An offer left the market (live leases continue).
    /// @param offerId The offer.
    /// @param nodeId The providing node.
    /// @param by The operator, or whoever pruned an offer whose node is no longer eligible.
    /// @param pruned True when removed by {pruneOffer} rather than by the operator.
    event OfferWithdrawn(uint256 indexed offerId, bytes32 indexed nodeId, address indexed by, bool pruned);

    /// @notice Units held by a lease went back to its offer.
    /// @param offerId The offer.
    /// @param leaseId The lease that ended.
    /// @param units Units released.
    /// @param unitsInUse Units still held by other leases of the offer.
    event OfferUnitsReleased(uint256 indexed offerId, uint256 indexed leaseId, uint64 units, uint64 unitsInUse);

    /// @notice A user created an order and escrowed `escrow`.
    /// @param orderId The new order id (also the id of the lease it becomes).
    /// @param user The ordering user.
    /// @param kind Resource kind.
    /// @param units Units wanted.
    /// @param maxPricePerUnitSecond Highest acceptable price.
    /// @param duration Lease duration (s).
    /// @param region Required region, 0 for any.
    /// @param minTier Lowest acceptable tier.
    /// @param expiresAt Last moment (exclusive) the order can be filled.
    /// @param escrow Tokens pulled: maxPricePerUnitSecond × units × duration.
    event OrderCreated(
        uint256 indexed orderId,
        address indexed user,
        ResourceKind indexed kind,
        uint64 units,
        uint96 maxPricePerUnitSecond,
        uint64 duration,
        uint16 region,
        INodeRegistry.Tier minTier,
        uint64 expiresAt,
        uint256 escrow
    );

    /// @notice An open order was cancelled and its escrow refunded.
    /// @param orderId The order.
    /// @param user Who received the refund.
    /// @param by Who cancelled (the user, or anyone once the order expired).
    /// @param refund Tokens refunded.
    event OrderCancelled(uint256 indexed orderId, address indexed user, address indexed by, uint256 refund);

    /// @notice The contract matched an order to an offer by weighted random choice.
    /// @param orderId The order (and lease) id.
    /// @param offerId The chosen offer.
    /// @param nodeId The chosen node.
    /// @param examined Offers examined (the window size).
    /// @param eligible Offers among them that could serve the order.
    /// @param weight The chosen offer's weight.
    /// @param totalWeight Sum of the eligible offers' weights.
    /// @param seed The random seed of the draw.
    event OrderMatched(
        uint256 indexed orderId,
        uint256 indexed offerId,
        bytes32 indexed nodeId,
        uint256 examined,
        uint256 eligible,
        uint256 weight,
        uint256 totalWeight,
        bytes32 seed
    );

    /// @notice An order became a lease.
    /// @param leaseId The lease id (= order id).
    /// @param nodeId The serving node.
    /// @param user The paying user.
    /// @param offerId The offer taken.
    /// @param units Units leased.
    /// @param pricePerUnitSecond Matched price.
    /// @param start Lease start.
    /// @param end Paid through.
    /// @param escrow Lease escrow: price × units × duration.
    /// @param excessRefund Order escrow above the lease escrow, refunded to the user.
    event LeaseStarted(
        uint256 indexed leaseId,
        bytes32 indexed nodeId,
        address indexed user,
        uint256 offerId,
        uint64 units,
        uint96 pricePerUnitSecond,
        uint64 start,
        uint64 end,
        uint256 escrow,
        uint256 excessRefund
    );

    /// @notice The user extended a lease.
    /// @param leaseId The lease.
    /// @param user The user who paid.
    /// @param extraSeconds Seconds added.
    /// @param amount Tokens escrowed: rate × extraSeconds.
    /// @param newEnd The new end.
    event LeaseToppedUp(
        uint256 indexed leaseId,
        address indexed user,
        uint64 extraSeconds,
        uint256 amount,
        uint64 newEnd
    );

    /// @notice Accrued payment was settled: `payout` to the node, `fee` to the treasury.
    /// @param leaseId The lease.
    /// @param nodeId The node paid.
    /// @param payoutAddress The node's payout address.
    /// @param amount Settled: payout + fee.
    /// @param payout Paid to the node.
    /// @param fee Paid to the treasury: floor(amount × feeBps / 10,000).
    /// @param withdrawnTotal Settled on this lease so far.
    event PaymentSettled(
        uint256 indexed leaseId,
        bytes32 indexed nodeId,
        address indexed payoutAddress,
        uint256 amount,
        uint256 payout,
        uint256 fee,
        uint256 withdrawnTotal
    );

    /// @notice A lease was closed; unaccrued escrow was refunded to the user.
    /// @param leaseId The lease.
    /// @param nodeId The node.
    /// @param user The user refunded.
    /// @param by Who closed it.
    /// @param reason User, Provider, Oracle, or Expired (ran to its end, finalised on withdrawal).
    /// @param end The final end: accrual stopped there.
    /// @param refund Tokens refunded to the user.
    event LeaseClosed(
        uint256 indexed leaseId,
        bytes32 indexed nodeId,
        address indexed user,
        address by,
        CloseReason reason,
        uint64 end,
        uint256 refund
    );

    /// @notice The oracle terminated a lease for a reported failure (followed by LeaseClosed).
    /// @param leaseId The lease.
    /// @param nodeId The failed node.
    /// @param failedAt When the failure started: accrual stops there.
    /// @param reportHash Hash of the bookkeepers' failure report.
    event LeaseTerminated(uint256 indexed leaseId, bytes32 indexed nodeId, uint64 failedAt, bytes32 reportHash);

    /// @notice The oracle moved what remains of a lease to another provider's offer (a replica re-created, a
    ///         workload migrated): the old lease closed now (reason Oracle) and `newLeaseId` runs to the same end
    ///         at `offerId`'s price (its LeaseStarted carries the escrow and the refund of the price difference).
    /// @param leaseId The lease closed.
    /// @param newLeaseId The lease opened.
    /// @param offerId The offer it moved to.
    /// @param reportHash Hash of the off-chain evidence.
    event LeaseMoved(uint256 indexed leaseId, uint256 indexed newLeaseId, uint256 indexed offerId, bytes32 reportHash);
    /// @notice The provider recorded the task that workers serve for a lease.
    /// @param leaseId The lease.
    /// @param nodeId The node.
    /// @param taskHash Hash of the task description.
    /// @param endpoint Where the user reaches the service.
    event TaskRecorded(uint256 indexed leaseId, bytes32 indexed nodeId, bytes32 taskHash, string endpoint);

    /// @notice Governance changed the fee.
    /// @param previous Old fee (bps).
    /// @param current New fee (bps).
    event FeeBpsChanged(uint16 previous, uint16 current);
    /// @notice Governance changed the treasury.
    /// @param previous Old treasury.
    /// @param current New treasury.
    event TreasuryChanged(address indexed previous, address indexed current);
    /// @notice Governance changed the matching window.
    /// @param previous Old K.
    /// @param current New K.
    event MatchKChanged(uint16 previous, uint16 current);
    /// @notice Governance changed the cap on active offers per kind.
    /// @param previous Old cap.
    /// @param current New cap.
    event MaxOffersPerKindChanged(uint32 previous, uint32 current);
    /// @notice Governance changed the matching weight floor.
    /// @param previous Old floor.
    /// @param current New floor.
    event ScoreFloorChanged(uint256 previous, uint256 current);

    // ---------------------------------------------------------------- errors

    /// @notice The node is unknown to the registry or inactive.
    error NodeNotActive(bytes32 nodeId);
    /// @notice A node of `nodeKind` cannot offer `kind`.
    error KindMismatch(bytes32 nodeId, INodeRegistry.NodeKind nodeKind, ResourceKind kind);
    /// @notice Units must be positive.
    error ZeroUnits();
    /// @notice Prices must be positive.
    error ZeroPrice();
    /// @notice Durations must satisfy 1 ≤ min ≤ max ≤ MAX_LEASE_DURATION.
    error InvalidDurationRange(uint64 minDuration, uint64 maxDuration);
    /// @notice The node already has MAX_OFFERS_PER_NODE active offers.
    error TooManyOffers(bytes32 nodeId, uint256 max);
    /// @notice The kind index is at its governance cap.
    error KindIndexFull(ResourceKind kind, uint256 cap);
    /// @notice No offer has this id.
    error UnknownOffer(uint256 offerId);
    /// @notice The offer was withdrawn.
    error OfferNotActive(uint256 offerId);
    /// @notice The offer's node is still eligible, so it cannot be pruned.
    error OfferStillValid(uint256 offerId);
    /// @notice No order has this id.
    error UnknownOrder(uint256 orderId);
    /// @notice The order is not open.
    error OrderNotOpen(uint256 orderId, OrderStatus status);
    /// @notice The order expired at `expiresAt`.
    error OrderExpired(uint256 orderId, uint64 expiresAt);
    /// @notice The order has not expired, so only its user may cancel it.
    error NotOrderUser(uint256 orderId, address caller);
    /// @notice An order's expiry must lie in the future.
    error InvalidExpiry(uint64 expiresAt, uint256 nowTimestamp);
    /// @notice An order's duration must be in 1..MAX_LEASE_DURATION.
    error InvalidDuration(uint64 duration);
    /// @notice price × units does not fit the 128-bit rate.
    error RateTooLarge(uint96 pricePerUnitSecond, uint64 units);
    /// @notice The offer is of another kind than the order.
    error WrongKind(uint256 offerId, ResourceKind offerKind, ResourceKind orderKind);
    /// @notice The offer's price is above the limit in force (the lower of the order's maximum and the caller's).
    error PriceAboveMax(uint256 offerId, uint96 price, uint96 maxPrice);
    /// @notice The offer has fewer free units than the order needs.
    error InsufficientUnits(uint256 offerId, uint64 available, uint64 requested);
    /// @notice The order's duration is outside the offer's range.
    error DurationOutOfRange(uint256 offerId, uint64 duration, uint64 minDuration, uint64 maxDuration);
    /// @notice The node is not in the order's region.
    error RegionMismatch(uint256 offerId, uint16 region, uint16 wanted);
    /// @notice The node's tier is below the order's minimum.
    error TierTooLow(uint256 offerId, INodeRegistry.Tier tier, INodeRegistry.Tier minTier);
    /// @notice None of the `examined` offers in the matching window can serve the order.
    error NoEligibleOffer(uint256 orderId, uint256 examined);
    /// @notice No lease has this id.
    error UnknownLease(uint256 leaseId);
    /// @notice The lease is already closed.
    error LeaseNotActive(uint256 leaseId);
    /// @notice The lease ran to its end at `end`; it can no longer be extended.
    error LeaseExpired(uint256 leaseId, uint64 end);
    /// @notice Only the lease's user may do this.
    error NotLeaseUser(uint256 leaseId, address caller);
    /// @notice Only the lease's user or the node's operator may close it.
    error NotLeaseParty(uint256 leaseId, address caller);
    /// @notice Nothing has accrued since the last settlement.
    error NothingToWithdraw(uint256 leaseId);
    /// @notice A top-up must add at least one second.
    error ZeroExtension();
    /// @notice A top-up would run the lease past the offer's maxDuration.
    error ExceedsMaxDuration(uint256 leaseId, uint256 newEnd, uint64 maxEnd);
    /// @notice A failure time must lie between what was already settled and now.
    /// @notice moveLease onto the lease's own offer.
    error SameOffer(uint256 leaseId, uint256 offerId);
    error FailureTimeOutOfRange(uint256 leaseId, uint64 failedAt, uint64 earliest, uint64 latest);
    /// @notice The fee is above MAX_FEE_BPS.
    error FeeTooHigh(uint16 bps, uint16 max);
    /// @notice K must be in 1..MAX_MATCH_K.
    error MatchKOutOfRange(uint16 k, uint16 max);
    /// @notice The per-kind cap must be in 1..MAX_OFFERS_PER_KIND.
    error MaxOffersOutOfRange(uint32 cap, uint32 max);
    /// @notice The weight floor must be in 1..MAX_SCORE_FLOOR.
    error ScoreFloorOutOfRange(uint256 floor, uint256 max);

    // ---------------------------------------------------------------- construction

    /**
     * @notice Deploys the market with a 1 % fee, K = 16, 1,024 offers per kind and a weight floor of 1.0.
     * @param token_ The HMS token.
     * @param registry_ The node registry.
     * @param scores_ The contribution score source.
     * @param treasury_ Receiver of the platform fee.
     * @param admin Governance (DEFAULT_ADMIN_ROLE): parameters and ORACLE_ROLE grants.
     */
    constructor(IERC20 token_, INodeRegistry registry_, IContributionScore scores_, address treasury_, address admin) {
        if (
            address(token_) == address(0) ||
            address(registry_) == address(0) ||
            address(scores_) == address(0) ||
            treasury_ == address(0) ||
            admin == address(0)
        ) revert ZeroAddress();
        token = token_;
        registry = registry_;
        scores = scores_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        treasury = treasury_;
        feeBps = MAX_FEE_BPS;
        matchK = 16;
        maxOffersPerKind = 1024;
        scoreFloor = 1e18;
        emit TreasuryChanged(address(0), treasury_);
        emit FeeBpsChanged(0, MAX_FEE_BPS);
        emit MatchKChanged(0, 16);
        emit MaxOffersPerKindChanged(0, 1024);
        emit ScoreFloorChanged(0, 1e18);
    }

    // ---------------------------------------------------------------- offers

    /**
     * @notice Posts an offer for `nodeId`. Caller must be the node's operator; the node must be active
     *         and of a kind that can serve `p.kind`. Region and tier are taken from the registry.
     * @param nodeId The providing node.
     * @param p Kind, units, price per unit-second, min and max duration.
     * @return offerId The new offer id.
     */
    function postOffer(bytes32 nodeId, OfferParams calldata p) external returns (uint256 offerId) {
        _requireOperator(nodeId);
        (INodeRegistry.NodeKind nodeKind, INodeRegistry.Tier tier, uint16 region, bool active) = registry
            .resourceProfile(nodeId);
        if (!active) revert NodeNotActive(nodeId);
        if (!_canServe(nodeKind, p.kind)) revert KindMismatch(nodeId, nodeKind, p.kind);
        _validateOffer(p.units, p.pricePerUnitSecond, p.minDuration, p.maxDuration);
        if (activeOffersOf[nodeId] >= MAX_OFFERS_PER_NODE) revert TooManyOffers(nodeId, MAX_OFFERS_PER_NODE);
        uint256[] storage index = _kindIndex[p.kind];
        if (index.length >= maxOffersPerKind) revert KindIndexFull(p.kind, maxOffersPerKind);

        offerId = ++offerCount;
        _offers[offerId] = Offer({
            nodeId: nodeId,
            pricePerUnitSecond: p.pricePerUnitSecond,
            units: p.units,
            unitsInUse: 0,
            minDuration: p.minDuration,
            maxDuration: p.maxDuration,
            indexPos: uint32(index.length),
            region: region,
            kind: p.kind,
            tier: tier,
            active: true
        });
        index.push(offerId);
        ++activeOffersOf[nodeId];
        emit OfferPosted(
            offerId,
            nodeId,
            msg.sender,
            p.kind,
            p.units,
            p.pricePerUnitSecond,
            p.minDuration,
            p.maxDuration,
            region,
            tier
        );
    }

    /**
     * @notice Changes an active offer's capacity, price and duration range. Live leases keep their
     *         terms; `units` may be set below the units in use (no new leases until enough are free).
     * @param offerId The offer.
     * @param units New capacity.
     * @param pricePerUnitSecond New price.
     * @param minDuration New shortest lease (s).
     * @param maxDuration New longest lease (s).
     */
    function updateOffer(
        uint256 offerId,
        uint64 units,
        uint96 pricePerUnitSecond,
        uint64 minDuration,
        uint64 maxDuration
    ) external {
        Offer storage offer = _activeOffer(offerId);
        bytes32 nodeId = offer.nodeId;
        _requireOperator(nodeId);
        _validateOffer(units, pricePerUnitSecond, minDuration, maxDuration);
        (, INodeRegistry.Tier tier, uint16 region, ) = registry.resourceProfile(nodeId);
        offer.units = units;
        offer.pricePerUnitSecond = pricePerUnitSecond;
        offer.minDuration = minDuration;
        offer.maxDuration = maxDuration;
        offer.region = region;
        offer.tier = tier;
        emit OfferUpdated(offerId, nodeId, units, pricePerUnitSecond, minDuration, maxDuration, region, tier);
    }

    /**
     * @notice Removes an active offer from the market. Its live leases continue.
     * @param offerId The offer.
     */
    function withdrawOffer(uint256 offerId) external {
        Offer storage offer = _activeOffer(offerId);
        _requireOperator(offer.nodeId);
        _removeOffer(offerId, offer, false);
    }

    /**
     * @notice Anyone may remove an offer whose node left the registry, was deactivated or changed kind,
     *         so that stale offers do not occupy the bounded kind index.
     * @param offerId The offer.
     */
    function pruneOffer(uint256 offerId) external {
        Offer storage offer = _activeOffer(offerId);
        (bool ok, , , ) = _liveProfile(offer.nodeId, offer.kind);
        if (ok && registry.operatorOf(offer.nodeId) != address(0)) revert OfferStillValid(offerId);
        _removeOffer(offerId, offer, true);
    }

    // ---------------------------------------------------------------- orders

    /**
     * @notice Creates an order, pulling `maxPricePerUnitSecond × units × duration` HMS of escrow from
     *         the caller (approve the market first, or use {createOrderWithPermit}).
     * @param p Kind, units, max price, duration, region (0 = any), minimum tier, expiry.
     * @return orderId The order id (also the id of the lease it becomes).
     */
    function createOrder(OrderParams calldata p) external nonReentrant returns (uint256 orderId) {
        return _createOrder(p);
    }

    /**
     * @notice {createOrder} with an EIP-2612 permit for the escrow. A permit that fails (for example
     *         because it was front-run) is ignored if the allowance already suffices.
     * @param p The order parameters.
     * @param permit Permit of the caller's tokens to this market (value ≥ the escrow).
     * @return orderId The order id.
     */
    function createOrderWithPermit(
        OrderParams calldata p,
        PermitData calldata permit
    ) external nonReentrant returns (uint256 orderId) {
        _permit(permit);
        return _createOrder(p);
    }

    /**
     * @notice Cancels an open order and refunds its escrow to the user. The user may cancel at any
     *         time; anyone may cancel an expired order (the refund still goes to the user).
     * @param orderId The order.
     */
    function cancelOrder(uint256 orderId) external nonReentrant {
        Order storage order = _openOrder(orderId);
        address user = order.user;
        if (msg.sender != user && block.timestamp < order.expiresAt) revert NotOrderUser(orderId, msg.sender);
        uint256 refund = _orderEscrow(order);
        order.status = OrderStatus.Cancelled;
        emit OrderCancelled(orderId, user, msg.sender, refund);
        token.safeTransfer(user, refund);
    }

    /**
     * @notice The order's user takes a specific offer: the order becomes a lease at the offer's price
     *         and the escrow above that price is refunded at once.
     * @dev `maxPricePerUnitSecond` is the highest price the user accepts now (usually the price it saw): a
     *      provider that raises its price with {updateOffer} just before the take cannot make the lease open at
     *      any price up to the order's maximum (`PriceAboveMax` names the offer's price and the limit in force,
     *      the lower of the order's maximum and this one).
     * @param orderId The user's open, unexpired order.
     * @param offerId An active offer of the same kind that satisfies every constraint of the order.
     * @param maxPricePerUnitSecond Highest price per unit-second accepted for this take.
     * @return leaseId The lease id (= orderId).
     */
    function takeOffer(
        uint256 orderId,
        uint256 offerId,
        uint96 maxPricePerUnitSecond
    ) external nonReentrant returns (uint256 leaseId) {
        Order storage order = _fillableOrder(orderId);
        if (offerId == 0 || offerId > offerCount) revert UnknownOffer(offerId);
        Offer storage offer = _offers[offerId];
        _eligible(order, offerId, offer, _limit(order, maxPricePerUnitSecond), true);
        _openLease(orderId, order, offerId, offer);
        return orderId;
    }

    /**
     * @notice The order's user lets the contract choose: it examines a window of min(K, n) offers of
     *         the order's kind starting at a random position of the kind index, and draws one eligible
     *         offer with probability proportional to `scoreFloor + min(score, MAX_SCORE_WEIGHT)`.
     *         Randomness: keccak256(prevrandao, blockhash(block.number − 1), orderId, this) — see
     *         docs/MARKET.md for its manipulation risk and the commit–reveal hardening.
     *         Only offers priced at most `maxPricePerUnitSecond` (and the order's maximum) are eligible, so a
     *         provider raising its price just before the match cannot lift what the user pays.
     * @param orderId The user's open, unexpired order.
     * @param maxPricePerUnitSecond Highest price per unit-second accepted for this match.
     * @return offerId The offer chosen (the lease id is orderId).
     */
    function matchOrder(uint256 orderId, uint96 maxPricePerUnitSecond) external nonReentrant returns (uint256 offerId) {
        Order storage order = _fillableOrder(orderId);
        Draw memory d = _draw(orderId, order, _limit(order, maxPricePerUnitSecond));
        offerId = d.offerId;
        Offer storage winner = _offers[offerId];
        emit OrderMatched(orderId, offerId, winner.nodeId, d.examined, d.eligible, d.weight, d.totalWeight, d.seed);
        _openLease(orderId, order, offerId, winner);
    }

    // ---------------------------------------------------------------- leases

    /**
     * @notice The node's operator settles what has accrued on a lease: payout to the node's payout
     *         address, floor(amount × feeBps / 10,000) to the treasury. A lease that ran to its end is
     *         finalised (Closed, reason Expired) by its last withdrawal.
     * @param leaseId The lease.
     * @return amount Settled (payout + fee).
     */
    function withdraw(uint256 leaseId) external nonReentrant returns (uint256 amount) {
        Lease storage lease = _leaseOf(leaseId);
        bytes32 nodeId = _nodeOf(lease);
        _requireOperator(nodeId);
        address payout = _payoutOf(nodeId);
        uint256 fee;
        (amount, fee) = _settle(leaseId, lease, payout);
        if (amount == 0) revert NothingToWithdraw(leaseId);
        _payOut(payout, amount - fee, fee);
    }

    /**
     * @notice {withdraw} for up to MAX_BATCH leases of nodes the caller operates, with one fee transfer.
     *         Leases with nothing accrued are skipped.
     * @param leaseIds The leases.
     * @return total Settled across the batch (payouts + fees).
     */
    function withdrawBatch(uint256[] calldata leaseIds) external nonReentrant returns (uint256 total) {
        uint256 count = leaseIds.length;
        if (count == 0 || count > MAX_BATCH) revert BadBatchSize(count, MAX_BATCH);
        uint256 fees;
        for (uint256 i; i < count; ++i) {
            Lease storage lease = _leaseOf(leaseIds[i]);
            bytes32 nodeId = _nodeOf(lease);
            _requireOperator(nodeId);
            address payout = _payoutOf(nodeId);
            (uint256 amount, uint256 fee) = _settle(leaseIds[i], lease, payout);
            if (amount == 0) continue;
            total += amount;
            fees += fee;
            token.safeTransfer(payout, amount - fee);
        }
        if (total == 0) revert NothingToWithdraw(leaseIds[0]);
        if (fees != 0) token.safeTransfer(treasury, fees);
    }

    /**
     * @notice Closes an active lease now. The user gets back everything that has not accrued. Closed by
     *         the provider (node operator), what has accrued is also settled to the node; closed by the
     *         user, it stays withdrawable by the provider.
     * @param leaseId The lease.
     * @return refund Tokens refunded to the user.
     */
    function closeLease(uint256 leaseId) external nonReentrant returns (uint256 refund) {
        Lease storage lease = _activeLease(leaseId);
        bytes32 nodeId = _nodeOf(lease);
        CloseReason reason;
        if (msg.sender == lease.user) reason = CloseReason.User;
        else if (registry.operatorOf(nodeId) == msg.sender) reason = CloseReason.Provider;
        else revert NotLeaseParty(leaseId, msg.sender);
        uint64 nowTs = uint64(block.timestamp);
        refund = _close(leaseId, lease, nowTs < lease.end ? nowTs : lease.end, reason);
        if (reason == CloseReason.Provider) {
            address payout = _payoutOf(nodeId);
            (uint256 amount, uint256 fee) = _settle(leaseId, lease, payout);
            if (amount != 0) _payOut(payout, amount - fee, fee);
        }
        if (refund != 0) token.safeTransfer(lease.user, refund);
    }

    /**
     * @notice The oracle (bookkeeper quorum relayer) terminates a lease for a reported failure: accrual
     *         stops at `failedAt` and the unaccrued rest is refunded to the user; what accrued before
     *         stays withdrawable by the provider.
     * @param leaseId The lease.
     * @param failedAt When the failure began (0 = now); between the settled point and now.
     * @param reportHash Hash of the quorum's failure report (evidence, published off-chain).
     * @return refund Tokens refunded to the user.
     */
    function terminateLease(
        uint256 leaseId,
        uint64 failedAt,
        bytes32 reportHash
    ) external onlyRole(ORACLE_ROLE) nonReentrant returns (uint256 refund) {
        Lease storage lease = _activeLease(leaseId);
        uint64 nowTs = uint64(block.timestamp);
        if (failedAt == 0) failedAt = nowTs;
        uint64 earliest = lease.start + uint64(lease.withdrawn / lease.ratePerSecond);
        if (failedAt < earliest || failedAt > nowTs) {
            revert FailureTimeOutOfRange(leaseId, failedAt, earliest, nowTs);
        }
        emit LeaseTerminated(leaseId, _nodeOf(lease), failedAt, reportHash);
        refund = _close(leaseId, lease, failedAt < lease.end ? failedAt : lease.end, CloseReason.Oracle);
        if (refund != 0) token.safeTransfer(lease.user, refund);
    }

    /**
     * @notice The oracle moves the rest of an active lease to another offer of the same kind — the meta layer
     *         re-creating a storage replica on a new node, or migrating a workload whose node died. The old
     *         provider keeps what accrued until `failedAt` (withdrawable as usual; its LeaseClosed `refund` is the
     *         escrow freed). The new lease gets a new id (with a Filled order record), starts now and ends when the
     *         old one would have, at the new offer's price, which may not exceed the old one: the user never pays
     *         more than it accepted. What the old rate would have cost between `failedAt` and now (time no node
     *         served) and the price difference over the rest are refunded to the user. Escrow is conserved.
     * @param leaseId The active lease to move.
     * @param offerId An active offer of the same kind, with the units free, on a live node, whose duration
     *        bounds admit the remaining time.
     * @param failedAt When the old node stopped serving (0 = now); between the settled point and now.
     * @param reportHash Hash of the off-chain evidence (the failure or repair report).
     * @return newLeaseId The new lease id.
     */
    function moveLease(
        uint256 leaseId,
        uint256 offerId,
        uint64 failedAt,
        bytes32 reportHash
    ) external onlyRole(ORACLE_ROLE) nonReentrant returns (uint256 newLeaseId) {
        Lease storage old = _activeLease(leaseId);
        uint64 nowTs = uint64(block.timestamp);
        if (nowTs >= old.end) revert LeaseExpired(leaseId, old.end);
        if (failedAt == 0) failedAt = nowTs;
        uint64 earliest = old.start + uint64(old.withdrawn / old.ratePerSecond);
        if (failedAt < earliest || failedAt > nowTs) revert FailureTimeOutOfRange(leaseId, failedAt, earliest, nowTs);
        if (offerId == 0 || offerId > offerCount) revert UnknownOffer(offerId);
        if (offerId == old.offerId) revert SameOffer(leaseId, offerId);
        newLeaseId = ++orderCount;
        Order storage order = _orders[newLeaseId];
        order.user = old.user;
        order.expiresAt = nowTs;
        order.kind = _offers[old.offerId].kind;
        order.status = OrderStatus.Open;
        order.units = old.units;
        order.duration = old.end - nowTs;
        // Exact: a lease's rate is its price × units. The order's escrow is then exactly what the close frees
        // beyond the unserved gap rate × (now − failedAt), which goes back to the user.
        order.maxPricePerUnitSecond = uint96(old.ratePerSecond / old.units);
        uint256 gap = uint256(old.ratePerSecond) * (nowTs - failedAt);
        Offer storage offer = _offers[offerId];
        _eligible(order, offerId, offer, order.maxPricePerUnitSecond, true);
        _close(leaseId, old, failedAt, CloseReason.Oracle);
        emit LeaseMoved(leaseId, newLeaseId, offerId, reportHash);
        _openLease(newLeaseId, order, offerId, offer);
        if (gap != 0) token.safeTransfer(order.user, gap);
    }

    /**
     * @notice The user extends a running lease by `extraSeconds`, escrowing rate × extraSeconds. A lease
     *         that already reached its end cannot be extended (it was not paid in between).
     * @param leaseId The lease.
     * @param extraSeconds Seconds to add; the end may not pass start + the offer's maxDuration.
     * @return amount Tokens pulled.
     */
    function topUp(uint256 leaseId, uint64 extraSeconds) external nonReentrant returns (uint256 amount) {
        return _topUp(leaseId, extraSeconds);
    }

    /**
     * @notice {topUp} with an EIP-2612 permit (value ≥ rate × extraSeconds).
     * @param leaseId The lease.
     * @param extraSeconds Seconds to add.
     * @param permit Permit of the caller's tokens to this market.
     * @return amount Tokens pulled.
     */
    function topUpWithPermit(
        uint256 leaseId,
        uint64 extraSeconds,
        PermitData calldata permit
    ) external nonReentrant returns (uint256 amount) {
        _permit(permit);
        return _topUp(leaseId, extraSeconds);
    }

    /**
     * @notice The provider records the task its workers serve for an active lease (replaces any earlier
     *         record; the events keep the history).
     * @param leaseId The lease.
     * @param taskHash Hash of the task description (e.g. the workload manifest or the file index root).
     * @param endpoint Where the user reaches the service (≤ MAX_ENDPOINT_LENGTH bytes).
     */
    function recordTask(uint256 leaseId, bytes32 taskHash, string calldata endpoint) external {
        bytes32 nodeId = _nodeOf(_activeLease(leaseId));
        _requireOperator(nodeId);
        if (bytes(endpoint).length > MAX_ENDPOINT_LENGTH) {
            revert EndpointTooLong(bytes(endpoint).length, MAX_ENDPOINT_LENGTH);
        }
        _tasks[leaseId] = TaskRecord(taskHash, endpoint);
        emit TaskRecorded(leaseId, nodeId, taskHash, endpoint);
    }

    // ---------------------------------------------------------------- governance

    /**
     * @notice Sets the platform fee; never above 1 % (MAX_FEE_BPS). Applies to settlements from now on.
     * @param bps The new fee in basis points.
     */
    function setFeeBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > MAX_FEE_BPS) revert FeeTooHigh(bps, MAX_FEE_BPS);
        emit FeeBpsChanged(feeBps, bps);
        feeBps = bps;
    }

    /**
     * @notice Sets the fee receiver.
     * @param treasury_ The new treasury (non-zero).
     */
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        emit TreasuryChanged(treasury, treasury_);
        treasury = treasury_;
    }

    /**
     * @notice Sets the matching window K (offers examined per match).
     * @param k The new K, 1..MAX_MATCH_K.
     */
    function setMatchK(uint16 k) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (k == 0 || k > MAX_MATCH_K) revert MatchKOutOfRange(k, MAX_MATCH_K);
        emit MatchKChanged(matchK, k);
        matchK = k;
    }

    /**
     * @notice Sets the cap on active offers per kind. Lowering it below the current count only blocks
     *         new offers until enough are withdrawn.
     * @param cap The new cap, 1..MAX_OFFERS_PER_KIND.
     */
    function setMaxOffersPerKind(uint32 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (cap == 0 || cap > MAX_OFFERS_PER_KIND) revert MaxOffersOutOfRange(cap, MAX_OFFERS_PER_KIND);
        emit MaxOffersPerKindChanged(maxOffersPerKind, cap);
        maxOffersPerKind = cap;
    }

    /**
     * @notice Sets the weight floor added to every eligible offer's score (18-decimal, like scores).
     * @param floor The new floor, 1..MAX_SCORE_FLOOR.
     */
    function setScoreFloor(uint256 floor) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (floor == 0 || floor > MAX_SCORE_FLOOR) revert ScoreFloorOutOfRange(floor, MAX_SCORE_FLOOR);
        emit ScoreFloorChanged(scoreFloor, floor);
        scoreFloor = floor;
    }

    // ---------------------------------------------------------------- views

    /**
     * @notice An offer, active or withdrawn.
     * @param offerId The offer.
     * @return The stored offer.
     */
    function getOffer(uint256 offerId) external view returns (Offer memory) {
        if (offerId == 0 || offerId > offerCount) revert UnknownOffer(offerId);
        return _offers[offerId];
    }

    /**
     * @notice An order in any state.
     * @param orderId The order.
     * @return order The stored order.
     * @return escrow Escrow held for it now (zero unless Open).
     */
    function getOrder(uint256 orderId) external view returns (Order memory order, uint256 escrow) {
        if (orderId == 0 || orderId > orderCount) revert UnknownOrder(orderId);
        order = _orders[orderId];
        if (order.status == OrderStatus.Open) escrow = _orderEscrow(_orders[orderId]);
    }

    /**
     * @notice A lease and its balances now.
     * @param leaseId The lease.
     * @return lease The stored lease.
     * @return nodeId The serving node (its offer's node).
     * @return accrued Paid to date by the stream: rate × (min(now, end) − start).
     * @return withdrawable Accrued and not yet settled.
     * @return escrow Held for this lease: rate × (end − start) − withdrawn.
     */
    function getLease(
        uint256 leaseId
    )
        external
        view
        returns (Lease memory lease, bytes32 nodeId, uint256 accrued, uint256 withdrawable, uint256 escrow)
    {
        Lease storage stored = _leaseOf(leaseId);
        lease = stored;
        nodeId = _nodeOf(stored);
        accrued = _accrued(stored);
        withdrawable = accrued - stored.withdrawn;
        escrow = uint256(stored.ratePerSecond) * (stored.end - stored.start) - stored.withdrawn;
    }

    /**
     * @notice The task record of a lease (zero hash and empty endpoint if none).
     * @param leaseId The lease.
     * @return The record.
     */
    function taskOf(uint256 leaseId) external view returns (TaskRecord memory) {
        return _tasks[leaseId];
    }

    /**
     * @notice Number of active offers of a kind (the size of its index).
     * @param kind The resource kind.
     * @return The count.
     */
    function offerCountOfKind(ResourceKind kind) external view returns (uint256) {
        return _kindIndex[kind].length;
    }

    /**
     * @notice A page of the active offer ids of a kind (index order changes as offers leave).
     * @param kind The resource kind.
     * @param start First index position.
     * @param limit Most ids returned.
     * @return ids The offer ids.
     */
    function offersOfKind(
        ResourceKind kind,
        uint256 start,
        uint256 limit
    ) external view returns (uint256[] memory ids) {
        uint256[] storage index = _kindIndex[kind];
        uint256 end = start + limit;
        if (end > index.length) end = index.length;
        if (start >= end) return new uint256[](0);
        ids = new uint256[](end - start);
        for (uint256 i = start; i < end; ++i) ids[i - start] = index[i];
    }

    /**
     * @notice The escrow an order with these terms pulls.
     * @param units Units.
     * @param maxPricePerUnitSecond Highest acceptable price.
     * @param duration Lease duration (s).
     * @return maxPricePerUnitSecond × units × duration.
     */
    function orderEscrow(uint64 units, uint96 maxPricePerUnitSecond, uint64 duration) external pure returns (uint256) {
        return uint256(maxPricePerUnitSecond) * units * duration;
    }

    /**
     * @notice The fee the treasury takes from a settlement of `amount` at the current rate.
     * @param amount A settled amount.
     * @return floor(amount × feeBps / 10,000).
     */
    function feeOf(uint256 amount) external view returns (uint256) {
        return (amount * feeBps) / BPS;
    }

    /**
     * @notice The matching weight of a node now: scoreFloor + min(score, MAX_SCORE_WEIGHT).
     * @param nodeId The node.
     * @return The weight.
     */
    function weightOf(bytes32 nodeId) external view returns (uint256) {
        return _weight(nodeId);
    }

    // ---------------------------------------------------------------- internals

    function _createOrder(OrderParams calldata p) private returns (uint256 orderId) {
        if (p.units == 0) revert ZeroUnits();
        if (p.maxPricePerUnitSecond == 0) revert ZeroPrice();
        if (p.duration == 0 || p.duration > MAX_LEASE_DURATION) revert InvalidDuration(p.duration);
        if (p.expiresAt <= block.timestamp) revert InvalidExpiry(p.expiresAt, block.timestamp);
        _rate(p.maxPricePerUnitSecond, p.units);
        orderId = ++orderCount;
        Order storage order = _orders[orderId];
        order.user = msg.sender;
        order.expiresAt = p.expiresAt;
        order.kind = p.kind;
        order.minTier = p.minTier;
        order.status = OrderStatus.Open;
        order.region = p.region;
        order.units = p.units;
        order.duration = p.duration;
        order.maxPricePerUnitSecond = p.maxPricePerUnitSecond;
        uint256 escrow = uint256(p.maxPricePerUnitSecond) * p.units * p.duration;
        emit OrderCreated(
            orderId,
            msg.sender,
            p.kind,
            p.units,
            p.maxPricePerUnitSecond,
            p.duration,
            p.region,
            p.minTier,
            p.expiresAt,
            escrow
        );
        token.safeTransferFrom(msg.sender, address(this), escrow);
    }

    function _openLease(uint256 orderId, Order storage order, uint256 offerId, Offer storage offer) private {
        uint64 nowTs = uint64(block.timestamp);
        Lease memory lease = Lease({
            user: order.user,
            start: nowTs,
            status: LeaseStatus.Active,
            closeReason: CloseReason.None,
            ratePerSecond: _rate(offer.pricePerUnitSecond, order.units),
            end: nowTs + order.duration,
            maxEnd: nowTs + offer.maxDuration,
            withdrawn: 0,
            units: order.units,
            offerId: uint64(offerId)
        });
        _leases[orderId] = lease;
        uint256 escrow = uint256(lease.ratePerSecond) * order.duration;
        uint256 excess = _orderEscrow(order) - escrow;
        order.status = OrderStatus.Filled;
        offer.unitsInUse += lease.units;
        emit LeaseStarted(
            orderId,
            offer.nodeId,
            lease.user,
            offerId,
            lease.units,
            offer.pricePerUnitSecond,
            nowTs,
            lease.end,
            escrow,
            excess
        );
        if (excess != 0) token.safeTransfer(lease.user, excess);
    }

    function _topUp(uint256 leaseId, uint64 extraSeconds) private returns (uint256 amount) {
        Lease storage lease = _activeLease(leaseId);
        if (msg.sender != lease.user) revert NotLeaseUser(leaseId, msg.sender);
        if (extraSeconds == 0) revert ZeroExtension();
        uint64 end = lease.end;
        if (block.timestamp >= end) revert LeaseExpired(leaseId, end);
        uint256 newEnd = uint256(end) + extraSeconds;
        if (newEnd > lease.maxEnd) revert ExceedsMaxDuration(leaseId, newEnd, lease.maxEnd);
        amount = uint256(lease.ratePerSecond) * extraSeconds;
        lease.end = uint64(newEnd);
        emit LeaseToppedUp(leaseId, msg.sender, extraSeconds, amount, uint64(newEnd));
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Settles accrued payment in storage and emits; the caller transfers. Finalises an ended lease.
    function _settle(
        uint256 leaseId,
        Lease storage lease,
        address payout
    ) private returns (uint256 amount, uint256 fee) {
        uint256 accrued = _accrued(lease);
        uint256 withdrawn = lease.withdrawn;
        amount = accrued - withdrawn;
        if (lease.status == LeaseStatus.Active && block.timestamp >= lease.end) {
            _close(leaseId, lease, lease.end, CloseReason.Expired);
        }
        if (amount == 0) return (0, 0);
        fee = (amount * feeBps) / BPS;
        lease.withdrawn = SafeCast.toUint128(accrued);
        emit PaymentSettled(leaseId, _nodeOf(lease), payout, amount, amount - fee, fee, accrued);
    }

    /// @dev Moves `end` back to `newEnd` (≤ end), marks the lease Closed, frees its units; returns the refund.
    function _close(
        uint256 leaseId,
        Lease storage lease,
        uint64 newEnd,
        CloseReason reason
    ) private returns (uint256 refund) {
        refund = uint256(lease.ratePerSecond) * (lease.end - newEnd);
        lease.end = newEnd;
        lease.status = LeaseStatus.Closed;
        lease.closeReason = reason;
        _releaseUnits(leaseId, lease);
        emit LeaseClosed(leaseId, _nodeOf(lease), lease.user, msg.sender, reason, newEnd, refund);
    }

    /// @dev Gives a lease's units back to its offer; called once per lease, by {_close}.
    function _releaseUnits(uint256 leaseId, Lease storage lease) private {
        Offer storage offer = _offers[lease.offerId];
        uint64 inUse = offer.unitsInUse - lease.units;
        offer.unitsInUse = inUse;
        emit OfferUnitsReleased(lease.offerId, leaseId, lease.units, inUse);
    }

    function _payOut(address payout, uint256 toNode, uint256 fee) private {
        if (toNode != 0) token.safeTransfer(payout, toNode);
        if (fee != 0) token.safeTransfer(treasury, fee);
    }

    function _permit(PermitData calldata p) private {
        // A failed permit (front-run, already used) is harmless when the allowance is already in place;
        // otherwise the transferFrom that follows reverts with the token's allowance error.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), p.value, p.deadline, p.v, p.r, p.s) {
            // permit granted
        } catch {
            // fall through to the allowance check in transferFrom
        }
    }

    function _removeOffer(uint256 offerId, Offer storage offer, bool pruned) private {
        uint256[] storage index = _kindIndex[offer.kind];
        uint32 pos = offer.indexPos;
        uint256 lastId = index[index.length - 1];
        if (lastId != offerId) {
            index[pos] = lastId;
            _offers[lastId].indexPos = pos;
        }
        index.pop();
        offer.active = false;
        offer.indexPos = 0;
        --activeOffersOf[offer.nodeId];
        emit OfferWithdrawn(offerId, offer.nodeId, msg.sender, pruned);
    }

    /**
     * @dev Whether `offer` can serve `order`. Cheap storage checks first, then the live registry profile.
     *      With `strict` it reverts with the precise reason instead of returning false.
     */
    function _eligible(
        Order storage order,
        uint256 offerId,
        Offer storage offer,
        uint96 maxPrice,
        bool strict
    ) private view returns (bool) {
        if (!offer.active) {
            if (strict) revert OfferNotActive(offerId);
            return false;
        }
        if (offer.kind != order.kind) {
            if (strict) revert WrongKind(offerId, offer.kind, order.kind);
            return false;
        }
        if (offer.pricePerUnitSecond > maxPrice) {
            if (strict) revert PriceAboveMax(offerId, offer.pricePerUnitSecond, maxPrice);
            return false;
        }
        uint64 wanted = order.units;
        uint64 available = offer.units > offer.unitsInUse ? offer.units - offer.unitsInUse : 0;
        if (available < wanted) {
            if (strict) revert InsufficientUnits(offerId, available, wanted);
            return false;
        }
        uint64 duration = order.duration;
        if (duration < offer.minDuration || duration > offer.maxDuration) {
            if (strict) revert DurationOutOfRange(offerId, duration, offer.minDuration, offer.maxDuration);
            return false;
        }
        (bool ok, INodeRegistry.Tier tier, uint16 region, ) = _liveProfile(offer.nodeId, offer.kind);
        if (!ok) {
            if (strict) revert NodeNotActive(offer.nodeId);
            return false;
        }
        uint16 wantedRegion = order.region;
        if (wantedRegion != 0 && region != wantedRegion) {
            if (strict) revert RegionMismatch(offerId, region, wantedRegion);
            return false;
        }
        if (tier < order.minTier) {
            if (strict) revert TierTooLow(offerId, tier, order.minTier);
            return false;
        }
        return true;
    }

    /// @dev The node's live profile; ok = known, active and able to serve `kind`. Never reverts.
    function _liveProfile(
        bytes32 nodeId,
        ResourceKind kind
    ) private view returns (bool ok, INodeRegistry.Tier tier, uint16 region, INodeRegistry.NodeKind nodeKind) {
        try registry.resourceProfile(nodeId) returns (
            INodeRegistry.NodeKind k,
            INodeRegistry.Tier t,
            uint16 r,
            bool active
        ) {
            return (active && _canServe(k, kind), t, r, k);
        } catch {
            return (false, INodeRegistry.Tier.Lite, 0, INodeRegistry.NodeKind.Meta);
        }
    }

    /**
     * @dev The weighted random draw of {matchOrder}: a window of min(K, n) consecutive index positions
     *      from a random start (wrapping), eligible offers weighted by {_weight}, one drawn with
     *      probability weight / totalWeight. Reverts with NoEligibleOffer if the window has none.
     */
    function _draw(uint256 orderId, Order storage order, uint96 maxPrice) private view returns (Draw memory d) {
        uint256[] storage index = _kindIndex[order.kind];
        uint256 n = index.length;
        uint256 k = matchK;
        if (k > n) k = n;
        d.examined = k;
        d.seed = keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), orderId, address(this)));
        uint256[] memory ids = new uint256[](k);
        uint256[] memory weights = new uint256[](k);
        uint256 first = n == 0 ? 0 : uint256(d.seed) % n;
        for (uint256 j; j < k; ++j) {
            uint256 id = index[(first + j) % n];
            Offer storage offer = _offers[id];
            if (!_eligible(order, id, offer, maxPrice, false)) continue;
            uint256 w = _weight(offer.nodeId);
            ids[d.eligible] = id;
            weights[d.eligible] = w;
            d.totalWeight += w;
            ++d.eligible;
        }
        if (d.eligible == 0) revert NoEligibleOffer(orderId, k);
        uint256 draw = uint256(keccak256(abi.encode(d.seed, uint256(1)))) % d.totalWeight;
        for (uint256 i; i < d.eligible; ++i) {
            if (draw < weights[i]) {
                (d.offerId, d.weight) = (ids[i], weights[i]);
                break;
            }
            draw -= weights[i];
        }
    }

    /// @dev The price limit of a take or match: the lower of the order's maximum and the caller's.
    function _limit(Order storage order, uint96 maxPrice) private view returns (uint96) {
        uint96 orderMax = order.maxPricePerUnitSecond;
        return maxPrice < orderMax ? maxPrice : orderMax;
    }

    function _weight(bytes32 nodeId) private view returns (uint256) {
        uint256 s;
        try scores.score(nodeId) returns (uint256 value) {
            s = value;
        } catch {
            s = 0;
        }
        if (s > MAX_SCORE_WEIGHT) s = MAX_SCORE_WEIGHT;
        return scoreFloor + s;
    }

    function _accrued(Lease storage lease) private view returns (uint256) {
        uint64 end = lease.end;
        uint64 until = block.timestamp < end ? uint64(block.timestamp) : end;
        return uint256(lease.ratePerSecond) * (until - lease.start);
    }

    function _orderEscrow(Order storage order) private view returns (uint256) {
        return uint256(order.maxPricePerUnitSecond) * order.units * order.duration;
    }

    function _rate(uint96 price, uint64 units) private pure returns (uint128) {
        uint256 rate = uint256(price) * units;
        if (rate > type(uint128).max) revert RateTooLarge(price, units);
        return uint128(rate);
    }

    function _canServe(INodeRegistry.NodeKind nodeKind, ResourceKind kind) private pure returns (bool) {
        if (kind == ResourceKind.Storage) return nodeKind == INodeRegistry.NodeKind.Storage;
        if (kind == ResourceKind.Compute) return nodeKind == INodeRegistry.NodeKind.Container;
        return nodeKind != INodeRegistry.NodeKind.Meta;
    }

    function _validateOffer(uint64 units, uint96 price, uint64 minDuration, uint64 maxDuration) private pure {
        if (units == 0) revert ZeroUnits();
        if (price == 0) revert ZeroPrice();
        if (minDuration == 0 || minDuration > maxDuration || maxDuration > MAX_LEASE_DURATION) {
            revert InvalidDurationRange(minDuration, maxDuration);
        }
        _rate(price, units);
    }

    function _requireOperator(bytes32 nodeId) private view {
        if (registry.operatorOf(nodeId) != msg.sender) revert NotOperator(nodeId, msg.sender);
    }

    function _payoutOf(bytes32 nodeId) private view returns (address payout) {
        payout = registry.payoutOf(nodeId);
        if (payout == address(0)) revert NoPayoutAddress(nodeId);
    }

    function _activeOffer(uint256 offerId) private view returns (Offer storage offer) {
        if (offerId == 0 || offerId > offerCount) revert UnknownOffer(offerId);
        offer = _offers[offerId];
        if (!offer.active) revert OfferNotActive(offerId);
    }

    function _openOrder(uint256 orderId) private view returns (Order storage order) {
        if (orderId == 0 || orderId > orderCount) revert UnknownOrder(orderId);
        order = _orders[orderId];
        if (order.status != OrderStatus.Open) revert OrderNotOpen(orderId, order.status);
    }

    function _fillableOrder(uint256 orderId) private view returns (Order storage order) {
        order = _openOrder(orderId);
        if (msg.sender != order.user) revert NotOrderUser(orderId, msg.sender);
        if (block.timestamp >= order.expiresAt) revert OrderExpired(orderId, order.expiresAt);
    }

    function _nodeOf(Lease storage lease) private view returns (bytes32) {
        return _offers[lease.offerId].nodeId;
    }

    function _leaseOf(uint256 leaseId) private view returns (Lease storage lease) {
        lease = _leases[leaseId];
        if (lease.status == LeaseStatus.None) revert UnknownLease(leaseId);
    }

    function _activeLease(uint256 leaseId) private view returns (Lease storage lease) {
        lease = _leaseOf(leaseId);
        if (lease.status != LeaseStatus.Active) revert LeaseNotActive(leaseId);
    }
}
