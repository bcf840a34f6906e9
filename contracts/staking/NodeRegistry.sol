// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IHMSErrors} from "../interfaces/IHMSErrors.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {HMSTypes} from "../libraries/HMSTypes.sol";

/**
 * @title NodeRegistry
 * @notice Who is who in HMS Network: resource nodes (storage / container), meta nodes, and the signing
 *         keys of bookkeepers (PROTOCOL §1, §5).
 *
 * A node id (bytes32, chosen by the operator, e.g. a hash of its libp2p peer id) is owned by the operator
 * address that registered it. Each node has a separate signing key (what its daemon signs receipts and
 * reports with, rotatable by the operator) and a payout address (where rewards and market payments go).
 * A bookkeeper account registers its committee signing key here with {setBookkeeperKey}.
 *
 * A signing key belongs to at most one node or bookkeeper at a time (global key → owner map), so a
 * signature names exactly one signer. A key is bound only with its holder's consent: an EIP-712
 * `KeyRegistration{registrant, subject, nonce, deadline}` signed by the key (domain "HMS NodeRegistry" v1) names
 * the account that may register it (`msg.sender`) and what for (`subject`: the node id, or zero for the
 * registrant's own bookkeeper key). Without it anyone who saw a key in a pending registration could register it
 * first (squat it). The key's nonce ({nonces}) makes each proof usable once.
 * Node ids are never reused: {deregister} retires a node for good
 * (its record stays readable, so rewards earned before still reach its payout address, and nobody can
 * take over the id to collect them).
 *
 * Storage is laid out for the hot readers: `payoutOf` (reward claims, market payouts) and
 * `resourceProfile` (market matching) each cost one cold SLOAD.
 */
contract NodeRegistry is IHMSErrors, INodeRegistry, AccessControl, EIP712, Nonces {
    /// @notice What an operator submits to register a node.
    struct Registration {
        /// @dev Non-zero, unused node id.
        bytes32 nodeId;
        /// @dev NodeKind as a number (0 Storage, 1 Container, 2 Meta); checked, so bad values get a custom error.
        uint8 kind;
        /// @dev Tier as a number (0 Lite, 1 Normal, 2 Super).
        uint8 tier;
        /// @dev Region code (project-wide numbering, e.g. ISO 3166-1 numeric).
        uint16 region;
        /// @dev Advertised capacity: GiB for storage nodes, millicores for containers; may be 0 for meta nodes.
        uint64 capacity;
        /// @dev The daemon's signing key (unused by any other node or bookkeeper).
        address signingKey;
        /// @dev Receiver of rewards and market payments.
        address payout;
        /// @dev Reachable endpoint URL (non-empty, at most `maxEndpointLength` bytes).
        string endpoint;
    }

    /// @notice A signing key's consent to be registered: its EIP-712 `KeyRegistration` signature (see {keyRegistrationDigest}).
    struct KeyProof {
        /// @dev The key's current nonce ({nonces}); used up by the registration.
        uint256 nonce;
        /// @dev Last timestamp (inclusive) at which the proof is accepted.
        uint256 deadline;
        /// @dev 65-byte r || s || v signature by the key (low s, as OpenZeppelin ECDSA requires).
        bytes signature;
    }

    /// @dev Slot 0 is everything `payoutOf` and `resourceProfile` read (one SLOAD each).
    struct Record {
        address payout;
        NodeKind kind;
        Tier tier;
        uint16 region;
        bool active;
        bool retired;
        // slot 1
        address operator;
        uint64 registeredAt;
        // slot 2
        address signingKey;
        uint64 capacity;
        // slot 3
        string endpoint;
    }

    /// @notice Lowest value governance may set as the endpoint length limit.
    uint16 public constant MIN_ENDPOINT_LIMIT = 32;
    /// @notice Highest value governance may set as the endpoint length limit.
    uint16 public constant MAX_ENDPOINT_LIMIT = 2048;

    /// @notice Longest endpoint URL accepted, in bytes (governance parameter).
    uint16 public maxEndpointLength = 256;

    mapping(bytes32 nodeId => Record) private _nodes;
    mapping(address key => bytes32 nodeId) private _nodeOfKey;
    mapping(address key => address bookkeeper) private _bookkeeperOfKey;
    mapping(address bookkeeper => address key) private _bookkeeperKey;

    /// @notice A node was registered.
    /// @param nodeId The new node id.
    /// @param operator Its operator (owner).
    /// @param kind Node kind.
    /// @param tier Hardware tier.
    /// @param region Region code.
    /// @param capacity Advertised capacity.
    /// @param signingKey The daemon's signing key.
    /// @param payout Payout address.
    /// @param endpoint Endpoint URL.
    event NodeRegistered(
        bytes32 indexed nodeId,
        address indexed operator,
        NodeKind kind,
        Tier tier,
        uint16 region,
        uint64 capacity,
        address signingKey,
        address payout,
        string endpoint
    );
    /// @notice The operator rotated a node's signing key.
    /// @param nodeId The node.
    /// @param previousKey The key released (free for others from now on).
    /// @param newKey The key in use from now on.
    event SigningKeyChanged(bytes32 indexed nodeId, address indexed previousKey, address indexed newKey);
    /// @notice The operator changed a node's payout address.
    /// @param nodeId The node.
    /// @param previousPayout The old payout address.
    /// @param newPayout The new payout address.
    event PayoutChanged(bytes32 indexed nodeId, address previousPayout, address newPayout);
    /// @notice The operator changed a node's endpoint URL.
    /// @param nodeId The node.
    /// @param endpoint The new endpoint.
    event EndpointChanged(bytes32 indexed nodeId, string endpoint);
    /// @notice The operator changed a node's advertised profile.
    /// @param nodeId The node.
    /// @param tier New tier.
    /// @param region New region code.
    /// @param capacity New advertised capacity.
    event ProfileChanged(bytes32 indexed nodeId, Tier tier, uint16 region, uint64 capacity);
    /// @notice The operator (de)activated a node.
    /// @param nodeId The node.
    /// @param active Whether the node is active now.
    event ActiveChanged(bytes32 indexed nodeId, bool active);
    /// @notice The operator retired a node for good; its signing key is released.
    /// @param nodeId The node.
    /// @param operator Its operator.
    /// @param releasedKey The signing key released.
    event NodeDeregistered(bytes32 indexed nodeId, address indexed operator, address releasedKey);
    /// @notice A bookkeeper account set, rotated or cleared its signing key.
    /// @param bookkeeper The bookkeeper (staking) account.
    /// @param previousKey The key released (zero if none).
    /// @param newKey The key in use from now on (zero when cleared).
    event BookkeeperKeyChanged(address indexed bookkeeper, address indexed previousKey, address indexed newKey);
    /// @notice Governance changed the endpoint length limit.
    /// @param previousLimit Old limit in bytes.
    /// @param newLimit New limit in bytes.
    event MaxEndpointLengthChanged(uint16 previousLimit, uint16 newLimit);

    /// @notice A zero node id was given.
    error ZeroNodeId();
    /// @notice The node id is already registered (ids are never reused, even after deregistration).
    error NodeExists(bytes32 nodeId);
    /// @notice The node was deregistered and cannot change any more.
    error NodeRetired(bytes32 nodeId);
    /// @notice The kind number is not a NodeKind.
    error UnknownKind(uint8 kind);
    /// @notice The tier number is not a Tier.
    error UnknownTier(uint8 tier);
    /// @notice The endpoint is empty.
    error EmptyEndpoint();
    /// @notice A resource node advertised zero capacity.
    error ZeroCapacity();
    /// @notice The signing key is the zero address.
    error ZeroKey();
    /// @notice The payout address is zero.
    error ZeroPayout();
    /// @notice The key already belongs to a node or a bookkeeper.
    error KeyInUse(address key, bytes32 nodeId, address bookkeeper);
    /// @notice The node is already in the requested active state.
    error ActiveUnchanged(bytes32 nodeId, bool active);
    /// @notice The bookkeeper account has no key to clear.
    error NoBookkeeperKey(address bookkeeper);
    /// @notice The key proof is not `key`'s signature of the registration (`recovered` signed it, zero if malformed).
    error InvalidKeyProof(address key, address recovered);
    /// @notice The key proof expired at `deadline` (it is `now`).
    error KeyProofExpired(uint256 deadline, uint256 now);
    /// @notice An endpoint limit outside [MIN_ENDPOINT_LIMIT, MAX_ENDPOINT_LIMIT].
    error EndpointLimitOutOfBounds(uint256 limit, uint256 min, uint256 max);

    /**
     * @notice Creates the registry.
     * @param admin Governance (DEFAULT_ADMIN_ROLE): sets the endpoint length limit. The timelock after deployment.
     */
    constructor(address admin) EIP712("HMS NodeRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- nodes

    /**
     * @notice Registers a node owned by the caller.
     * @param r The registration (see {Registration}).
     * @param proof `r.signingKey`'s consent: its `KeyRegistration{registrant: caller, subject: r.nodeId, …}` signature.
     */
    function registerNode(Registration calldata r, KeyProof calldata proof) external {
        if (r.nodeId == bytes32(0)) revert ZeroNodeId();
        Record storage n = _nodes[r.nodeId];
        if (n.payout != address(0)) revert NodeExists(r.nodeId);
        if (r.kind > uint8(type(NodeKind).max)) revert UnknownKind(r.kind);
        if (r.tier > uint8(type(Tier).max)) revert UnknownTier(r.tier);
        if (r.capacity == 0 && r.kind != uint8(NodeKind.Meta)) revert ZeroCapacity();
        if (r.payout == address(0)) revert ZeroPayout();
        _checkEndpoint(r.endpoint);
        _requireFreeKey(r.signingKey);
        _useKeyProof(r.signingKey, r.nodeId, proof);

        n.payout = r.payout;
        n.kind = NodeKind(r.kind);
        n.tier = Tier(r.tier);
        n.region = r.region;
        n.active = true;
        n.operator = msg.sender;
        n.registeredAt = uint64(block.timestamp);
        n.signingKey = r.signingKey;
        n.capacity = r.capacity;
        n.endpoint = r.endpoint;
        _nodeOfKey[r.signingKey] = r.nodeId;
        emit NodeRegistered(
            r.nodeId,
            msg.sender,
            NodeKind(r.kind),
            Tier(r.tier),
            r.region,
            r.capacity,
            r.signingKey,
            r.payout,
            r.endpoint
        );
    }

    /**
     * @notice Rotates the node's signing key. The old key is released.
     * @param nodeId The node.
     * @param newKey The new key (unused by any other node or bookkeeper).
     * @param proof `newKey`'s consent: its `KeyRegistration{registrant: caller, subject: nodeId, …}` signature.
     */
    function setSigningKey(bytes32 nodeId, address newKey, KeyProof calldata proof) external {
        Record storage n = _ownedLive(nodeId);
        _requireFreeKey(newKey);
        _useKeyProof(newKey, nodeId, proof);
        address previous = n.signingKey;
        delete _nodeOfKey[previous];
        _nodeOfKey[newKey] = nodeId;
        n.signingKey = newKey;
        emit SigningKeyChanged(nodeId, previous, newKey);
    }

    /**
     * @notice Changes where the node's rewards and payments go. Allowed after deregistration too, so
     *         rewards earned before can still be directed.
     * @param nodeId The node.
     * @param payout The new payout address.
     */
    function setPayout(bytes32 nodeId, address payout) external {
        Record storage n = _owned(nodeId);
        if (payout == address(0)) revert ZeroPayout();
        address previous = n.payout;
        n.payout = payout;
        emit PayoutChanged(nodeId, previous, payout);
    }

    /**
     * @notice Changes the node's endpoint URL.
     * @param nodeId The node.
     * @param endpoint The new endpoint.
     */
    function setEndpoint(bytes32 nodeId, string calldata endpoint) external {
        Record storage n = _ownedLive(nodeId);
        _checkEndpoint(endpoint);
        n.endpoint = endpoint;
        emit EndpointChanged(nodeId, endpoint);
    }

    /**
     * @notice Changes the node's advertised tier, region and capacity (its kind is fixed).
     * @param nodeId The node.
     * @param tier New tier number (0 Lite, 1 Normal, 2 Super).
     * @param region New region code.
     * @param capacity New capacity (non-zero for resource nodes).
     */
    function setProfile(bytes32 nodeId, uint8 tier, uint16 region, uint64 capacity) external {
        Record storage n = _ownedLive(nodeId);
        if (tier > uint8(type(Tier).max)) revert UnknownTier(tier);
        if (capacity == 0 && n.kind != NodeKind.Meta) revert ZeroCapacity();
        n.tier = Tier(tier);
        n.region = region;
        n.capacity = capacity;
        emit ProfileChanged(nodeId, Tier(tier), region, capacity);
    }

    /**
     * @notice Deactivates (maintenance, going offline) or reactivates the node.
     * @param nodeId The node.
     * @param active The new state.
     */
    function setActive(bytes32 nodeId, bool active) external {
        Record storage n = _ownedLive(nodeId);
        if (n.active == active) revert ActiveUnchanged(nodeId, active);
        n.active = active;
        emit ActiveChanged(nodeId, active);
    }

    /**
     * @notice Retires the node for good: inactive, its signing key released, its id never reusable.
     *         The record (and payout address) stays readable for claims of rewards earned before.
     * @param nodeId The node.
     */
    function deregister(bytes32 nodeId) external {
        Record storage n = _ownedLive(nodeId);
        address key = n.signingKey;
        delete _nodeOfKey[key];
        n.signingKey = address(0);
        n.active = false;
        n.retired = true;
        emit NodeDeregistered(nodeId, msg.sender, key);
    }

    // ---------------------------------------------------------------- bookkeeper keys

    /**
     * @notice Sets or rotates the caller's bookkeeper signing key (the key its validator daemon signs
     *         committee messages with). Takes effect at the next election; the old key is released.
     * @param key The new key (unused by any node or other bookkeeper).
     * @param proof `key`'s consent: its `KeyRegistration{registrant: caller, subject: 0, …}` signature.
     */
    function setBookkeeperKey(address key, KeyProof calldata proof) external {
        _requireFreeKey(key);
        _useKeyProof(key, bytes32(0), proof);
        address previous = _bookkeeperKey[msg.sender];
        if (previous != address(0)) delete _bookkeeperOfKey[previous];
        _bookkeeperKey[msg.sender] = key;
        _bookkeeperOfKey[key] = msg.sender;
        emit BookkeeperKeyChanged(msg.sender, previous, key);
    }

    /// @notice Clears the caller's bookkeeper key; without a key it cannot be elected.
    function clearBookkeeperKey() external {
        address previous = _bookkeeperKey[msg.sender];
        if (previous == address(0)) revert NoBookkeeperKey(msg.sender);
        delete _bookkeeperOfKey[previous];
        delete _bookkeeperKey[msg.sender];
        emit BookkeeperKeyChanged(msg.sender, previous, address(0));
    }

    // ---------------------------------------------------------------- governance

    /**
     * @notice Governance sets the longest endpoint accepted.
     * @param limit New limit in bytes, within [MIN_ENDPOINT_LIMIT, MAX_ENDPOINT_LIMIT].
     */
    function setMaxEndpointLength(uint16 limit) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (limit < MIN_ENDPOINT_LIMIT || limit > MAX_ENDPOINT_LIMIT) {
            revert EndpointLimitOutOfBounds(limit, MIN_ENDPOINT_LIMIT, MAX_ENDPOINT_LIMIT);
        }
        emit MaxEndpointLengthChanged(maxEndpointLength, limit);
        maxEndpointLength = limit;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc INodeRegistry
    function getNode(bytes32 nodeId) external view returns (NodeInfo memory info) {
        Record storage n = _known(nodeId);
        info = NodeInfo({
            operator: n.operator,
            signingKey: n.signingKey,
            payout: n.payout,
            kind: n.kind,
            tier: n.tier,
            region: n.region,
            capacity: n.capacity,
            registeredAt: n.registeredAt,
            active: n.active,
            endpoint: n.endpoint
        });
    }

    /// @inheritdoc INodeRegistry
    function operatorOf(bytes32 nodeId) external view returns (address) {
        return _nodes[nodeId].operator;
    }

    /// @inheritdoc INodeRegistry
    function payoutOf(bytes32 nodeId) external view returns (address payout) {
        payout = _nodes[nodeId].payout;
        if (payout == address(0)) revert UnknownNode(nodeId);
    }

    /// @inheritdoc INodeRegistry
    function signingKeyOf(bytes32 nodeId) external view returns (address) {
        return _nodes[nodeId].signingKey;
    }

    /// @inheritdoc INodeRegistry
    function resourceProfile(
        bytes32 nodeId
    ) external view returns (NodeKind kind, Tier tier, uint16 region, bool active) {
        Record storage n = _known(nodeId);
        return (n.kind, n.tier, n.region, n.active);
    }

    /// @inheritdoc INodeRegistry
    function bookkeeperKeyOf(address bookkeeper) external view returns (address) {
        return _bookkeeperKey[bookkeeper];
    }

    /**
     * @notice Who owns a signing key.
     * @param key The key.
     * @return nodeId The node using it (zero if none).
     * @return bookkeeper The bookkeeper using it (zero if none). At most one of the two is set.
     */
    function keyOwner(address key) external view returns (bytes32 nodeId, address bookkeeper) {
        return (_nodeOfKey[key], _bookkeeperOfKey[key]);
    }

    /**
     * @notice Whether `nodeId` was deregistered for good.
     * @param nodeId The node id.
     * @return True if retired (false for unknown ids too).
     */
    function isRetired(bytes32 nodeId) external view returns (bool) {
        return _nodes[nodeId].retired;
    }

    /**
     * @notice The EIP-712 digest a key signs to consent to its registration by `registrant` for `subject`.
     * @param registrant The account that will send the registration (`msg.sender`).
     * @param subject The node id (registerNode, setSigningKey), or zero for the registrant's bookkeeper key.
     * @param nonce The key's nonce ({nonces}).
     * @param deadline Last timestamp at which the proof is accepted.
     * @return The typed-data hash under this registry's domain.
     */
    function keyRegistrationDigest(
        address registrant,
        bytes32 subject,
        uint256 nonce,
        uint256 deadline
    ) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(HMSTypes.KEY_REGISTRATION_TYPEHASH, registrant, subject, nonce, deadline))
            );
    }

    // ---------------------------------------------------------------- internals

    /// @dev Checks `key`'s consent to be registered by the caller for `subject` and uses up its nonce.
    function _useKeyProof(address key, bytes32 subject, KeyProof calldata proof) private {
        if (block.timestamp > proof.deadline) revert KeyProofExpired(proof.deadline, block.timestamp);
        bytes32 digest = keyRegistrationDigest(msg.sender, subject, proof.nonce, proof.deadline);
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, proof.signature);
        if (err != ECDSA.RecoverError.NoError || recovered != key) revert InvalidKeyProof(key, recovered);
        _useCheckedNonce(key, proof.nonce);
    }

    function _known(bytes32 nodeId) private view returns (Record storage n) {
        n = _nodes[nodeId];
        if (n.payout == address(0)) revert UnknownNode(nodeId);
    }

    function _owned(bytes32 nodeId) private view returns (Record storage n) {
        n = _known(nodeId);
        if (n.operator != msg.sender) revert NotOperator(nodeId, msg.sender);
    }

    function _ownedLive(bytes32 nodeId) private view returns (Record storage n) {
        n = _owned(nodeId);
        if (n.retired) revert NodeRetired(nodeId);
    }

    function _requireFreeKey(address key) private view {
        if (key == address(0)) revert ZeroKey();
        bytes32 node = _nodeOfKey[key];
        address bookkeeper = _bookkeeperOfKey[key];
        if (node != bytes32(0) || bookkeeper != address(0)) revert KeyInUse(key, node, bookkeeper);
    }

    function _checkEndpoint(string calldata endpoint) private view {
        uint256 length = bytes(endpoint).length;
        if (length == 0) revert EmptyEndpoint();
        if (length > maxEndpointLength) revert EndpointTooLong(length, maxEndpointLength);
    }
}
