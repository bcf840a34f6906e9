// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IHMSErrors} from "../interfaces/IHMSErrors.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IBookkeeperCommittee} from "../interfaces/IBookkeeperCommittee.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IContributionScore} from "../interfaces/IContributionScore.sol";
import {HMSTypes} from "../libraries/HMSTypes.sol";
import {QuorumVerifier} from "../libraries/QuorumVerifier.sol";

/**
 * @title ContributionRegistry
 * @notice Proof-of-Contribution (PROTOCOL §6): per-node measurements posted by the bookkeeper quorum, scored on chain.
 *
 * Each measurement (one node, one measurement window) adds
 *
 *     capability = Σ_r gradient_r(value_r) · σ_r            r ∈ {CPU MHz, memory MiB, uplink Mbps, storage GiB}
 *     basic      = capability · tierPower[tier] · onlineSeconds / 3600      (online contribution, BonusCloud P_O)
 *     service    = max(0, tasksCompleted · completedPoints − tasksFailed · failedPenalty)  (task contribution)
 *     chain      = chainParticipation · chainPoints                          (voting, signing reports)
 *     contribution += basic + service + chain
 *
 * to the node's accumulated contribution, whose absolute value halves every `halvingBlocks` blocks (global eras
 * `block.number / halvingBlocks`, applied lazily on read and on update). Gradient tables (levels of a measured value)
 * and the weights are set by governance; the coefficients σ are posted by the quorum (Poisson MLE of demand,
 * computed off-chain by offchain/meta/poisson.ts). All values are 18-decimal fixed point.
 *
 * Measurement batches and coefficient updates are EIP-712 messages signed by more than 2/3 of the committee
 * (QuorumVerifier), ordered by a shared nonce (each nonce is accepted once). Batches are size-bounded and sorted by
 * node id (so a node appears once per batch).
 */
contract ContributionRegistry is IHMSErrors, IContributionScore, AccessControl, EIP712 {
    /// @notice The four measured resources of the basic contribution.
    enum Resource {
        Cpu,
        Memory,
        Bandwidth,
        Storage
    }

    /// @notice One node's measurements over one measurement window.
    struct Measurement {
        bytes32 nodeId;
        uint32 cpuMhz;
        uint32 memoryMiB;
        uint32 uplinkMbps;
        uint32 storageGiB;
        uint32 onlineSeconds;
        uint32 tasksCompleted;
        uint32 tasksFailed;
        uint32 chainParticipation;
    }

    /// @notice Governance weights (18-decimal fixed point).
    struct Weights {
        /// @dev Power factor of each hardware tier: Lite, Normal, Super.
        uint64[3] tierPower;
        /// @dev Points per completed task.
        uint64 completedPoints;
        /// @dev Points removed per failed task.
        uint64 failedPenalty;
        /// @dev Points per chain participation (vote, signed report).
        uint64 chainPoints;
    }

    /// @notice Constructor parameters.
    struct Params {
        /// @dev T: the contribution halves every T blocks.
        uint64 halvingBlocks;
        /// @dev Most measurements per batch.
        uint16 maxBatchSize;
        /// @dev Seconds after an election during which the previous committee may still sign.
        uint32 electionGrace;
        Weights weights;
    }

    /// @dev A gradient table: `points[i]` for values at or above `thresholds[i]` (ascending), 0 below the first.
    struct Gradient {
        uint32[8] thresholds;
        uint16[8] points;
        uint8 length;
    }

    /// @dev Everything scoring reads, loaded into memory once per batch.
    struct Scoring {
        uint64[4] sigma;
        Weights weights;
        Gradient[4] gradients;
    }

    /// @dev Per-node score state: accumulated contribution as of era `era`.
    struct NodeState {
        uint192 accumulated;
        uint64 era;
    }

    /// @dev A node's latest measured values (one word).
    struct Metrics {
        uint32 cpuMhz;
        uint32 memoryMiB;
        uint32 uplinkMbps;
        uint32 storageGiB;
        uint32 onlineSeconds;
        uint32 tasksCompleted;
        uint32 tasksFailed;
        uint32 chainParticipation;
    }

    uint256 private constant WAD = 1e18;
    /// @notice Most levels in a gradient table.
    uint256 public constant MAX_GRADIENT_LEVELS = 8;
    /// @notice Highest score of a gradient level.
    uint16 public constant MAX_GRADIENT_POINTS = 1_000;
    /// @notice Highest coefficient σ the quorum may post (18 decimals).
    uint64 public constant MAX_SIGMA = 16e18;
    /// @notice Highest tier power factor (18 decimals).
    uint64 public constant MAX_TIER_POWER = 10e18;
    /// @notice Highest completed-task, failed-task or chain-participation points governance may set (18 decimals).
    uint64 public constant MAX_POINTS = 10e18;
    /// @notice Largest measurement batch governance may allow.
    uint16 public constant MAX_BATCH_SIZE = 128;
    /// @notice Longest grace during which the previous epoch's committee may still sign.
    uint32 public constant MAX_ELECTION_GRACE = 1 days;

    /// @notice Bookkeeper committees (BookkeeperStaking).
    IBookkeeperCommittee public immutable committee;
    /// @notice Node registry (tiers, activity).
    INodeRegistry public immutable registry;
    /// @notice T: blocks per halving of the absolute contribution.
    uint64 public immutable halvingBlocks;

    /// @notice Next nonce the quorum may use.
    uint64 public nextNonce;
    /// @notice Most measurements per batch.
    uint16 public maxBatchSize;
    /// @notice Grace of the previous committee after an election, in seconds.
    uint32 public electionGrace;
    uint64[4] private _sigma;
    Weights private _weights;
    Gradient[4] private _gradients;
    mapping(bytes32 => NodeState) private _nodes;
    mapping(bytes32 => Metrics) private _metrics;

    /// @notice A quorum-signed batch of measurements was applied.
    /// @param nonce The batch's nonce.
    /// @param epoch The signing committee's epoch.
    /// @param count Measurements in the batch.
    /// @param applied Measurements applied (the others were for unknown or inactive nodes).
    /// @param signers Signer bitmap over the committee.
    event MeasurementsPosted(
        uint64 indexed nonce,
        uint64 indexed epoch,
        uint256 count,
        uint256 applied,
        uint256 signers
    );
    /// @notice A node's measurement was applied.
    /// @param nodeId The node.
    /// @param nonce The batch's nonce.
    /// @param measurement The measured values.
    /// @param tier The node's tier from the registry.
    /// @param increment Contribution added (basic + service + chain).
    /// @param score The node's score after the update.
    event NodeMeasured(
        bytes32 indexed nodeId,
        uint64 indexed nonce,
        Measurement measurement,
        INodeRegistry.Tier tier,
        uint256 increment,
        uint256 score
    );
    /// @notice A measurement for an unknown or inactive node was skipped.
    /// @param nodeId The node.
    /// @param nonce The batch's nonce.
    event MeasurementSkipped(bytes32 indexed nodeId, uint64 indexed nonce);
    /// @notice The quorum posted new coefficients σ (CPU, memory, bandwidth, storage).
    /// @param nonce The message's nonce.
    /// @param epoch The signing committee's epoch.
    /// @param sigma The coefficients.
    /// @param signers Signer bitmap over the committee.
    event CoefficientsPosted(uint64 indexed nonce, uint64 indexed epoch, uint64[4] sigma, uint256 signers);
    /// @notice Governance set the gradient table of `resource`.
    /// @param resource The resource.
    /// @param thresholds Ascending thresholds.
    /// @param points Points at or above each threshold.
    event GradientTableSet(Resource indexed resource, uint32[] thresholds, uint16[] points);
    /// @notice Governance set the weights.
    /// @param newWeights The weights.
    event WeightsSet(Weights newWeights);
    /// @notice Governance set the batch size bound.
    /// @param maxBatchSize The new bound.
    event MaxBatchSizeSet(uint16 maxBatchSize);
    /// @notice Governance set the election grace.
    /// @param electionGrace Seconds.
    event ElectionGraceSet(uint32 electionGrace);

    /// @notice The message's nonce is not the next one.
    error BadNonce(uint64 nonce, uint64 expected);
    /// @notice Node ids of a batch must be strictly ascending; the one at `index` is not.
    error UnsortedBatch(uint256 index);
    /// @notice A gradient table is malformed at `index` (empty, too long, unsorted, lengths differ, points too high).
    error BadGradientTable(Resource resource, uint256 index);
    /// @notice Coefficients σ must not all be zero.
    error ZeroCoefficients();

    /**
     * @notice Deploys the registry with default gradient tables and σ = 1 for every resource.
     * @param committee_ The bookkeeper committee (BookkeeperStaking).
     * @param registry_ The node registry.
     * @param admin Governance (DEFAULT_ADMIN_ROLE), the timelock after deployment.
     * @param params Halving interval, batch bound, election grace, weights.
     */
    constructor(
        IBookkeeperCommittee committee_,
        INodeRegistry registry_,
        address admin,
        Params memory params
    ) EIP712("HMS ContributionRegistry", "1") {
        if (address(committee_) == address(0) || address(registry_) == address(0) || admin == address(0)) {
            revert ZeroAddress();
        }
        _bounded("halvingBlocks", params.halvingBlocks, 1, type(uint64).max);
        committee = committee_;
        registry = registry_;
        halvingBlocks = params.halvingBlocks;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setMaxBatchSize(params.maxBatchSize);
        _setElectionGrace(params.electionGrace);
        _setWeights(params.weights);
        _sigma = [uint64(WAD), uint64(WAD), uint64(WAD), uint64(WAD)];
        // Default gradients: five levels per resource.
        _setGradient(Resource.Cpu, _five(2_000, 8_000, 16_000, 32_000, 64_000), _levels());
        _setGradient(Resource.Memory, _five(1_024, 4_096, 8_192, 16_384, 32_768), _levels());
        _setGradient(Resource.Bandwidth, _five(10, 50, 100, 500, 1_000), _levels());
        _setGradient(Resource.Storage, _five(100, 500, 1_000, 4_000, 10_000), _levels());
    }

    // ------------------------------------------------------------------------------------------ quorum posts

    /**
     * @notice Applies a quorum-signed batch of measurements (EIP-712 `ContributionBatch`, `measurementsHash =
     *         keccak256(abi.encode(batch))`). Measurements of unknown or inactive nodes are skipped.
     * @param epoch The signing committee's epoch.
     * @param nonce Must equal {nextNonce}.
     * @param batch Up to {maxBatchSize} measurements, node ids strictly ascending.
     * @param quorum Committee keys, signer bitmap and compact signatures.
     * @return applied Measurements applied.
     */
    function submitMeasurements(
        uint64 epoch,
        uint64 nonce,
        Measurement[] calldata batch,
        QuorumVerifier.Quorum calldata quorum
    ) external returns (uint256 applied) {
        if (batch.length == 0 || batch.length > maxBatchSize) revert BadBatchSize(batch.length, maxBatchSize);
        bytes32 structHash = keccak256(
            abi.encode(HMSTypes.CONTRIBUTION_BATCH_TYPEHASH, epoch, nonce, keccak256(abi.encode(batch)))
        );
        _verifyQuorum(epoch, nonce, structHash, quorum);

        Scoring memory k = Scoring({sigma: _sigma, weights: _weights, gradients: _gradients});
        uint64 era = currentEra();
        bytes32 previous;
        for (uint256 i; i < batch.length; ++i) {
            Measurement calldata m = batch[i];
            if (i != 0 && m.nodeId <= previous) revert UnsortedBatch(i);
            previous = m.nodeId;
            if (_apply(m, nonce, era, k)) ++applied;
        }
        emit MeasurementsPosted(nonce, epoch, batch.length, applied, quorum.signers);
    }

    /**
     * @notice Sets the coefficients σ from a quorum-signed EIP-712 `ContributionCoefficients` message.
     * @param epoch The signing committee's epoch.
     * @param nonce Must equal {nextNonce}.
     * @param sigma σ for CPU, memory, bandwidth, storage (18 decimals, each at most MAX_SIGMA, not all zero).
     * @param quorum Committee keys, signer bitmap and compact signatures.
     */
    function postCoefficients(
        uint64 epoch,
        uint64 nonce,
        uint64[4] calldata sigma,
        QuorumVerifier.Quorum calldata quorum
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(
                HMSTypes.CONTRIBUTION_COEFFICIENTS_TYPEHASH,
                epoch,
                nonce,
                sigma[0],
                sigma[1],
                sigma[2],
                sigma[3]
            )
        );
        _verifyQuorum(epoch, nonce, structHash, quorum);
        uint256 sum;
        for (uint256 r; r < 4; ++r) {
            _bounded("sigma", sigma[r], 0, MAX_SIGMA);
            sum += sigma[r];
        }
        if (sum == 0) revert ZeroCoefficients();
        _sigma = sigma;
        emit CoefficientsPosted(nonce, epoch, sigma, quorum.signers);
    }

    // ------------------------------------------------------------------------------------------ governance

    /**
     * @notice Sets the gradient table of `resource`.
     * @param resource The resource.
     * @param thresholds 1 to 8 strictly ascending thresholds (in the resource's unit).
     * @param points Points at or above each threshold, non-decreasing, at most MAX_GRADIENT_POINTS.
     */
    function setGradientTable(
        Resource resource,
        uint32[] calldata thresholds,
        uint16[] calldata points
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setGradient(resource, thresholds, points);
    }

    /**
     * @notice Sets the tier powers and task / chain points.
     * @param newWeights Each tier power in (0, MAX_TIER_POWER], each points value at most MAX_POINTS.
     */
    function setWeights(Weights calldata newWeights) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setWeights(newWeights);
    }

    /**
     * @notice Sets the most measurements per batch.
     * @param size Between 1 and MAX_BATCH_SIZE.
     */
    function setMaxBatchSize(uint16 size) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxBatchSize(size);
    }

    /**
     * @notice Sets how long after an election the previous committee may still sign.
     * @param seconds_ At most MAX_ELECTION_GRACE.
     */
    function setElectionGrace(uint32 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setElectionGrace(seconds_);
    }

    // ------------------------------------------------------------------------------------------ views

    /// @inheritdoc IContributionScore
    function score(bytes32 nodeId) external view returns (uint256) {
        return _decayed(_nodes[nodeId], currentEra());
    }

    /**
     * @notice The halving era of the current block: block.number / halvingBlocks.
     * @return The era.
     */
    function currentEra() public view returns (uint64) {
        return uint64(block.number / halvingBlocks);
    }

    /**
     * @notice A node's stored score state.
     * @param nodeId The node.
     * @return accumulated Contribution as of `era` (before decay).
     * @return era Era of the last update.
     * @return current Score now (decay applied).
     */
    function nodeState(bytes32 nodeId) external view returns (uint256 accumulated, uint64 era, uint256 current) {
        NodeState memory s = _nodes[nodeId];
        return (s.accumulated, s.era, _decayed(s, currentEra()));
    }

    /**
     * @notice A node's latest measured values (zeros if never measured).
     * @param nodeId The node.
     * @return The values.
     */
    function measurementOf(bytes32 nodeId) external view returns (Metrics memory) {
        return _metrics[nodeId];
    }

    /**
     * @notice The coefficients σ (CPU, memory, bandwidth, storage), 18 decimals.
     * @return The coefficients.
     */
    function coefficients() external view returns (uint64[4] memory) {
        return _sigma;
    }

    /**
     * @notice The governance weights.
     * @return The weights.
     */
    function weights() external view returns (Weights memory) {
        return _weights;
    }

    /**
     * @notice The gradient table of `resource`.
     * @param resource The resource.
     * @return thresholds Ascending thresholds.
     * @return points Points at or above each.
     */
    function gradientTable(
        Resource resource
    ) external view returns (uint32[] memory thresholds, uint16[] memory points) {
        Gradient storage g = _gradients[uint256(resource)];
        thresholds = new uint32[](g.length);
        points = new uint16[](g.length);
        for (uint256 i; i < g.length; ++i) (thresholds[i], points[i]) = (g.thresholds[i], g.points[i]);
    }

    /**
     * @notice The gradient level (points) of `value` for `resource`.
     * @param resource The resource.
     * @param value The measured value.
     * @return Points of the highest threshold at or below `value`, 0 below the first.
     */
    function gradientOf(Resource resource, uint256 value) external view returns (uint256) {
        return _gradient(_gradients[uint256(resource)], value);
    }

    /**
     * @notice What a measurement would add to a node of `tier` under the current tables, σ and weights.
     * @param m The measurement.
     * @param tier The node's tier.
     * @return basic Online contribution: capability × tier power × online hours.
     * @return service Task contribution.
     * @return chain Chain participation.
     * @return total basic + service + chain.
     */
    function previewContribution(
        Measurement calldata m,
        INodeRegistry.Tier tier
    ) external view returns (uint256 basic, uint256 service, uint256 chain, uint256 total) {
        return _contribution(m, tier, Scoring({sigma: _sigma, weights: _weights, gradients: _gradients}));
    }

    /**
     * @notice The EIP-712 digest of a measurement batch, as the committee signs it.
     * @param epoch The epoch.
     * @param nonce The nonce.
     * @param batch The measurements.
     * @return The typed-data hash under this registry's domain.
     */
    function batchDigest(uint64 epoch, uint64 nonce, Measurement[] calldata batch) external view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(HMSTypes.CONTRIBUTION_BATCH_TYPEHASH, epoch, nonce, keccak256(abi.encode(batch))))
            );
    }

    // ------------------------------------------------------------------------------------------ internals

    function _verifyQuorum(
        uint64 epoch,
        uint64 nonce,
        bytes32 structHash,
        QuorumVerifier.Quorum calldata quorum
    ) private {
        if (nonce != nextNonce) revert BadNonce(nonce, nextNonce);
        QuorumVerifier.checkEpoch(committee, epoch, electionGrace);
        QuorumVerifier.verify(committee, epoch, _hashTypedDataV4(structHash), quorum);
        nextNonce = nonce + 1;
    }

    function _apply(Measurement calldata m, uint64 nonce, uint64 era, Scoring memory k) private returns (bool) {
        (bool ok, INodeRegistry.Tier tier) = _tierOf(m.nodeId);
        if (!ok) {
            emit MeasurementSkipped(m.nodeId, nonce);
            return false;
        }
        (, , , uint256 increment) = _contribution(m, tier, k);
        uint256 accumulated = _decayed(_nodes[m.nodeId], era) + increment;
        if (accumulated > type(uint192).max) accumulated = type(uint192).max;
        _nodes[m.nodeId] = NodeState({accumulated: uint192(accumulated), era: era});
        _metrics[m.nodeId] = Metrics({
            cpuMhz: m.cpuMhz,
            memoryMiB: m.memoryMiB,
            uplinkMbps: m.uplinkMbps,
            storageGiB: m.storageGiB,
            onlineSeconds: m.onlineSeconds,
            tasksCompleted: m.tasksCompleted,
            tasksFailed: m.tasksFailed,
            chainParticipation: m.chainParticipation
        });
        emit NodeMeasured(m.nodeId, nonce, m, tier, increment, accumulated);
        return true;
    }

    function _tierOf(bytes32 nodeId) private view returns (bool ok, INodeRegistry.Tier tier) {
        try registry.resourceProfile(nodeId) returns (
            INodeRegistry.NodeKind,
            INodeRegistry.Tier t,
            uint16,
            bool active
        ) {
            return (active, t);
        } catch {
            return (false, INodeRegistry.Tier.Lite);
        }
    }

    function _contribution(
        Measurement calldata m,
        INodeRegistry.Tier tier,
        Scoring memory k
    ) private pure returns (uint256 basic, uint256 service, uint256 chain, uint256 total) {
        uint256 capability =
            _gradient(k.gradients[0], m.cpuMhz) * k.sigma[0] +
                _gradient(k.gradients[1], m.memoryMiB) * k.sigma[1] +
                _gradient(k.gradients[2], m.uplinkMbps) * k.sigma[2] +
                _gradient(k.gradients[3], m.storageGiB) * k.sigma[3];
        basic = (capability * k.weights.tierPower[uint256(tier)] * m.onlineSeconds) / (WAD * 3600);
        uint256 earned = uint256(m.tasksCompleted) * k.weights.completedPoints;
        uint256 lost = uint256(m.tasksFailed) * k.weights.failedPenalty;
        service = earned > lost ? earned - lost : 0;
        chain = uint256(m.chainParticipation) * k.weights.chainPoints;
        total = basic + service + chain;
    }

    function _gradient(Gradient memory g, uint256 value) private pure returns (uint256 points) {
        for (uint256 i; i < g.length && value >= g.thresholds[i]; ++i) points = g.points[i];
    }

    function _decayed(NodeState memory s, uint64 era) private pure returns (uint256) {
        uint256 halvings = era - s.era;
        return halvings >= 192 ? 0 : uint256(s.accumulated) >> halvings;
    }

    function _setGradient(Resource resource, uint32[] memory thresholds, uint16[] memory points) private {
        uint256 n = thresholds.length;
        if (n == 0 || n > MAX_GRADIENT_LEVELS || points.length != n) revert BadGradientTable(resource, n);
        Gradient storage g = _gradients[uint256(resource)];
        for (uint256 i; i < n; ++i) {
            if (
                points[i] > MAX_GRADIENT_POINTS ||
                (i != 0 && (thresholds[i] <= thresholds[i - 1] || points[i] < points[i - 1]))
            ) revert BadGradientTable(resource, i);
            g.thresholds[i] = thresholds[i];
            g.points[i] = points[i];
        }
        for (uint256 i = n; i < MAX_GRADIENT_LEVELS; ++i) (g.thresholds[i], g.points[i]) = (0, 0);
        g.length = uint8(n);
        emit GradientTableSet(resource, thresholds, points);
    }

    function _setWeights(Weights memory w) private {
        for (uint256 t; t < 3; ++t) _bounded("tierPower", w.tierPower[t], 1, MAX_TIER_POWER);
        _bounded("completedPoints", w.completedPoints, 0, MAX_POINTS);
        _bounded("failedPenalty", w.failedPenalty, 0, MAX_POINTS);
        _bounded("chainPoints", w.chainPoints, 0, MAX_POINTS);
        _weights = w;
        emit WeightsSet(w);
    }

    function _setMaxBatchSize(uint16 size) private {
        _bounded("maxBatchSize", size, 1, MAX_BATCH_SIZE);
        maxBatchSize = size;
        emit MaxBatchSizeSet(size);
    }

    function _setElectionGrace(uint32 seconds_) private {
        _bounded("electionGrace", seconds_, 0, MAX_ELECTION_GRACE);
        electionGrace = seconds_;
        emit ElectionGraceSet(seconds_);
    }

    function _bounded(string memory name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }

    function _five(uint32 a, uint32 b, uint32 c, uint32 d, uint32 e) private pure returns (uint32[] memory t) {
        t = new uint32[](5);
        (t[0], t[1], t[2], t[3], t[4]) = (a, b, c, d, e);
    }

    function _levels() private pure returns (uint16[] memory p) {
        p = new uint16[](5);
        (p[0], p[1], p[2], p[3], p[4]) = (1, 2, 3, 4, 5);
    }
}
