/**
 * The one registry of off-chain error codes. Every error raised on purpose is an `HmsError` whose `code` is a
 * key of {@link ERROR_CODES}; the entry says what the code means, the process exit code a command ends with
 * when it is fatal, and the HTTP status a daemon answers with when it rejects a request with it.
 *
 * Codes are `DOMAIN_NAME`, upper snake case, and never reworded once published (logs, metrics, HTTP replies
 * and scripts match on them). docs/ERRORS.md is generated from this file (`npm run docs:errors`; a test fails
 * when it is stale). Add a code in its domain's section; never reuse a removed one.
 *
 * Pure data: no imports.
 */

/** Process exit codes of `hms` commands and daemons (docs/ERRORS.md). */
export const EXIT_CODES = {
  /** Clean stop. */
  ok: 0,
  /** Unexpected failure (a bug, or an error without a code). */
  failure: 1,
  /** Configuration or usage: bad or missing setting, missing key, unusable file or data directory, port in use. */
  config: 2,
  /** The RPC endpoint serves another chain than the deployment file's. */
  wrongChain: 3,
  /** Not registered or not allowed: unknown key, missing lease, wrong owner. */
  unauthorized: 4,
  /** A required service (RPC, meta node, worker) did not answer. */
  unreachable: 5,
  /** A safety record refused: the process stopped rather than sign or write something conflicting. */
  safety: 6,
  /** Bad input: a value, file, message or argument that fails validation. */
  invalidInput: 7,
  /** What was asked for does not exist. */
  notFound: 8,
  /** The state does not allow it now: insufficient balance, locked stake, an older term, a conflict. */
  conflict: 9,
  /** A transaction reverted on chain. */
  reverted: 10,
  /** An audit found a reported period and its published report disagreeing (`hms audit`, docs/AUDIT.md). */
  mismatch: 11,
} as const;

export type ExitCodeName = keyof typeof EXIT_CODES;

/** One registered code. */
export interface ErrorCodeSpec {
  /** The domain (folder) that raises it. */
  readonly domain: string;
  /** One sentence: what happened, in the protocol's words. */
  readonly meaning: string;
  /** Exit code class when the error ends a command. */
  readonly exit: ExitCodeName;
  /** HTTP status when a daemon rejects a request with it. */
  readonly http: number;
}

const spec = (domain: string, exit: ExitCodeName, http: number, meaning: string): ErrorCodeSpec => ({
  domain,
  exit,
  http,
  meaning,
});

export const ERROR_CODES = {
  // ── config ────────────────────────────────────────────────────────────────────────────────────────────
  CONFIG_INVALID: spec("config", "config", 400, "A setting fails its schema; `key` names it and `value` holds it."),
  CONFIG_FILE: spec("config", "config", 400, "The config file cannot be read or is not a YAML/JSON mapping."),
  CONFIG_ENV: spec("config", "config", 400, "An environment variable names an unknown setting or holds bad JSON."),
  CONFIG_USAGE: spec("config", "config", 400, "A command-line option or argument is missing or invalid."),

  // ── store ─────────────────────────────────────────────────────────────────────────────────────────────
  STORE_OPEN: spec("store", "config", 500, "The data directory cannot be opened or prepared."),
  STORE_LOCKED: spec(
    "store",
    "config",
    500,
    "The data directory is in use by another process (its LevelDB lock is held).",
  ),
  STORE_IO: spec("store", "failure", 500, "A read, write or delete in the data directory failed."),
  STORE_ENCODE: spec("store", "failure", 500, "A value cannot be encoded for storage."),
  STORE_DECODE: spec("store", "failure", 500, "A stored value cannot be decoded (corrupt or foreign data)."),
  STORE_BLOB_NAME: spec("store", "invalidInput", 400, "A blob name is not a safe file name."),

  // ── transport ─────────────────────────────────────────────────────────────────────────────────────────
  TRANSPORT_LISTEN: spec(
    "transport",
    "config",
    500,
    "The server cannot listen on the configured address (port in use or not allowed).",
  ),
  TRANSPORT_NOT_LISTENING: spec("transport", "failure", 500, "The transport was used before it listened."),
  TRANSPORT_UNREACHABLE: spec(
    "transport",
    "unreachable",
    502,
    "A peer did not answer (connection refused, reset or timed out).",
  ),
  TRANSPORT_BAD_REPLY: spec(
    "transport",
    "unreachable",
    502,
    "A peer answered with something that is not the expected JSON.",
  ),
  TRANSPORT_HTTP_STATUS: spec(
    "transport",
    "failure",
    502,
    "A peer answered with an HTTP error and no registered code; `details.status` holds it.",
  ),
  TRANSPORT_BODY_TOO_LARGE: spec("transport", "invalidInput", 413, "A request body is larger than the server accepts."),
  TRANSPORT_UNSUPPORTED_MEDIA_TYPE: spec(
    "transport",
    "invalidInput",
    415,
    "A request body has another content type than the route accepts.",
  ),
  TRANSPORT_BAD_REQUEST: spec("transport", "invalidInput", 400, "A request is malformed (HTTP level)."),
  TRANSPORT_BAD_BODY: spec("transport", "invalidInput", 400, "A message body cannot be serialised as JSON."),
  TRANSPORT_BAD_KIND: spec("transport", "invalidInput", 400, "A message kind is not a valid name."),
  TRANSPORT_BAD_ADDRESS: spec("transport", "invalidInput", 400, "A peer identity is not an address."),
  TRANSPORT_MALFORMED_BODY: spec("transport", "invalidInput", 400, "A signed message body is not valid JSON."),
  TRANSPORT_MALFORMED_ENVELOPE: spec(
    "transport",
    "invalidInput",
    400,
    "A signed envelope misses a header or has an invalid one.",
  ),
  TRANSPORT_BAD_SIGNATURE: spec("transport", "unauthorized", 401, "An envelope is not signed by the sender it names."),
  TRANSPORT_BAD_MAC: spec(
    "transport",
    "unauthorized",
    401,
    "An envelope's MAC does not verify with the pairwise key of the sender it names (or its public key is not the sender's).",
  ),
  TRANSPORT_UNKNOWN_SENDER: spec(
    "transport",
    "unauthorized",
    403,
    "An envelope comes from an address that is not a configured peer.",
  ),
  TRANSPORT_UNKNOWN_KIND: spec("transport", "notFound", 404, "No handler is registered for a message kind."),
  TRANSPORT_NOT_FOUND: spec("transport", "notFound", 404, "Nothing is served at the requested path."),
  TRANSPORT_REPLAY: spec("transport", "conflict", 409, "An envelope sequence number was already seen or is too old."),
  TRANSPORT_INTERNAL: spec(
    "transport",
    "failure",
    500,
    "A handler failed unexpectedly (details are in the server's log only).",
  ),

  // ── metrics, signing ──────────────────────────────────────────────────────────────────────────────────
  METRICS_BAD_NAME: spec("metrics", "failure", 500, "A metric name is not a valid Prometheus name."),
  METRICS_TYPE_CONFLICT: spec("metrics", "failure", 500, "A metric is registered twice with different types."),
  SIGNING_INVALID: spec(
    "signing",
    "invalidInput",
    400,
    "Signing input is malformed (a domain without contract, a bad signature or digest).",
  ),
  SIGNING_NO_PAIRWISE_KEY: spec(
    "signing",
    "unauthorized",
    401,
    "No pairwise MAC key with a peer: its public key is not known yet.",
  ),
  SIGNING_BAD_MAC: spec(
    "signing",
    "unauthorized",
    401,
    "A MAC does not verify with the pairwise key of the peer it names (wrong key or altered message).",
  ),
  SECRET_FILE: spec(
    "signing",
    "config",
    400,
    "A key file cannot be read or does not hold a private key (its content is never shown).",
  ),

  // ── protocol (pure rules shared by producers and checkers) ────────────────────────────────────────────
  PROTOCOL_LEDGER: spec(
    "protocol",
    "invalidInput",
    400,
    "A period ledger input is out of range (node id, traffic, top-N).",
  ),
  PROTOCOL_MERKLE: spec("protocol", "invalidInput", 400, "A Merkle leaf or index is malformed or out of range."),
  PROTOCOL_QUORUM: spec(
    "protocol",
    "invalidInput",
    400,
    "Quorum arguments are invalid (unknown key, double signer, oversize committee).",
  ),
  PROTOCOL_POISSON: spec("protocol", "invalidInput", 400, "A Poisson demand sample or clamp is invalid."),
  PROTOCOL_RECEIPTS_WIRE: spec(
    "protocol",
    "invalidInput",
    400,
    "A receipt or period in wire form fails its schema; `value` names the field.",
  ),
  PROTOCOL_REPORT: spec("protocol", "invalidInput", 400, "Report parameters are invalid."),
  PROTOCOL_PERIOD: spec("protocol", "invalidInput", 400, "A period, sequence number or period length is out of range."),
  PROTOCOL_PROPOSAL_DECODE: spec(
    "protocol",
    "invalidInput",
    400,
    "A period proposal is not canonical JSON of the proposal schema.",
  ),
  PROTOCOL_PROPOSAL_PREV: spec(
    "protocol",
    "invalidInput",
    400,
    "A proposal builds on a previous report that is not before its period.",
  ),

  // ── chain ─────────────────────────────────────────────────────────────────────────────────────────────
  CHAIN_DEPLOYMENT: spec("chain", "config", 400, "The deployment file is missing, not JSON, or lacks a contract."),
  CHAIN_REWARDS: spec(
    "chain",
    "notFound",
    404,
    "A period is not reported on the pool, or its event does not match the stored record.",
  ),
  CHAIN_MARKET: spec(
    "chain",
    "invalidInput",
    400,
    "A market argument is out of range or an expected market event is missing.",
  ),
  CHAIN_TX_REVERTED: spec("chain", "reverted", 500, "A transaction was mined but reverted."),

  // ── traffic feed (the feed client and the seeded stand-in source) ─────────────────────────────────────
  TRAFFIC_CONFIG: spec("traffic", "config", 400, "The stand-in traffic source's configuration is unusable."),
  TRAFFIC_RANGE: spec("traffic", "invalidInput", 400, "A feed query's period range is not ascending or too long."),
  TRAFFIC_DOMAIN: spec("traffic", "config", 502, "A traffic feed serves another chain or mining pool than expected."),

  // ── PBFT ──────────────────────────────────────────────────────────────────────────────────────────────
  PBFT_BAD_N: spec("pbft", "config", 400, "A replica count is outside 1..48."),
  PBFT_BAD_PARAM: spec("pbft", "config", 400, "A PBFT parameter is out of range."),
  PBFT_BAD_ORDER: spec("pbft", "config", 400, "The leader order has duplicates or is empty."),
  PBFT_NOT_MEMBER: spec("pbft", "config", 400, "This replica's address is not in the configuration's order."),
  PBFT_BAD_CONFIG_ID: spec("pbft", "invalidInput", 400, "A configuration id is invalid."),
  PBFT_BAD_SNAPSHOT: spec(
    "pbft",
    "failure",
    500,
    "A persisted replica snapshot does not match the configuration or is corrupt.",
  ),
  PBFT_BAD_MESSAGE: spec("pbft", "invalidInput", 400, "A PBFT message fails its schema."),
  PBFT_NO_PEER_URL: spec("pbft", "config", 400, "A member of the order has no configured URL."),

  // ── validator ─────────────────────────────────────────────────────────────────────────────────────────
  VALIDATOR_NO_KEY: spec("validator", "config", 400, "No signing key is configured (key file or HMS_VALIDATOR_KEY)."),
  VALIDATOR_KEY_FILE: spec("validator", "config", 400, "The key file cannot be read or does not hold a private key."),
  VALIDATOR_WRONG_CHAIN: spec(
    "validator",
    "wrongChain",
    500,
    "The RPC endpoint serves another chain than the deployment file's.",
  ),
  VALIDATOR_UNREGISTERED: spec(
    "validator",
    "unauthorized",
    403,
    "The key is not the signing key of a registered bookkeeper.",
  ),
  VALIDATOR_RPC_UNREACHABLE: spec(
    "validator",
    "unreachable",
    502,
    "The RPC endpoint did not answer within the retries.",
  ),
  VALIDATOR_NO_GAS: spec(
    "validator",
    "conflict",
    500,
    "The signing key's account cannot pay for transactions (balance below the configured minimum).",
  ),
  VALIDATOR_BAD_REPORT_SIGNATURE: spec(
    "validator",
    "invalidInput",
    400,
    "A gossiped report signature is malformed or not by a committee member.",
  ),
  VALIDATOR_REPORT_TOO_LARGE: spec(
    "validator",
    "invalidInput",
    413,
    "A report document exceeds one slice (MAX_SLICE_SIZE): it cannot be stored as the raw leaf its dataCid names.",
  ),
  VALIDATOR_REPORT_UNPUBLISHED: spec(
    "validator",
    "notFound",
    404,
    "A report document is not stored in the storage network under its dataCid, or that CID holds other bytes.",
  ),
  SLASHING_PROTECTION: spec(
    "validator",
    "safety",
    409,
    "The signing record refused a signature that conflicts with one already given.",
  ),
  SLASHING_PROTECTION_META: spec(
    "validator",
    "config",
    400,
    "The signing record belongs to another key, chain or contract.",
  ),
  SLASHING_PROTECTION_IMPORT: spec(
    "validator",
    "config",
    400,
    "A signing-record interchange file is malformed or for another key.",
  ),

  // ── meta layer ────────────────────────────────────────────────────────────────────────────────────────
  META_BAD_PATH: spec(
    "meta",
    "invalidInput",
    400,
    "An index path is malformed (not absolute, empty or dot segments, control characters, too long).",
  ),
  META_BAD_WRITE: spec("meta", "invalidInput", 400, "An index write or log entry is malformed or inconsistent."),
  META_NOT_OWNER: spec(
    "meta",
    "unauthorized",
    403,
    "An index write is not signed by the owner of the namespace it writes in.",
  ),
  META_WRITE_EXPIRED: spec("meta", "invalidInput", 400, "An index write's deadline has passed."),
  META_REPLAYED: spec(
    "meta",
    "conflict",
    409,
    "An index write's nonce is not above the owner's last accepted nonce (replay or reordering).",
  ),
  META_NOT_FOUND: spec("meta", "notFound", 404, "No file or directory at this path, or no file with this CID."),
  META_EXISTS: spec(
    "meta",
    "conflict",
    409,
    "The target path is taken by an entry of the other kind (file vs directory).",
  ),
  META_NOT_DIRECTORY: spec("meta", "conflict", 409, "A path component or the target of ls is a file, not a directory."),
  META_IS_DIRECTORY: spec("meta", "conflict", 409, "The path is a directory where a file was expected."),
  META_DIR_NOT_EMPTY: spec("meta", "conflict", 409, "rm of a non-empty directory without `recursive`."),
  META_MOVE_INTO_SELF: spec("meta", "invalidInput", 400, "mv of a directory into itself or one of its descendants."),
  META_NO_PLACEMENT: spec(
    "meta",
    "conflict",
    503,
    "Not enough eligible nodes (online, with free space) to place the requested copies.",
  ),
  META_BAD_PLACEMENT: spec("meta", "invalidInput", 400, "A placement request or node description is malformed."),
  META_STALE_TERM: spec(
    "meta",
    "conflict",
    409,
    "A message or write carries an older term than this node's: its sender was deposed (fencing).",
  ),
  META_NOT_LEADER: spec("meta", "conflict", 421, "This meta node is not the master of the current term."),
  META_LOG_GAP: spec(
    "meta",
    "failure",
    500,
    "A log entry does not follow the applied log position (an entry is missing or out of order).",
  ),
  META_STALE_READ: spec(
    "meta",
    "conflict",
    409,
    "This follower has not yet applied the log position the read asks for (read-your-writes).",
  ),
  META_BAD_SNAPSHOT: spec(
    "meta",
    "failure",
    500,
    "A snapshot is malformed or does not fit the log it should continue.",
  ),
  // meta daemon, its HTTP API and its peers (offchain/meta/daemon.ts, server.ts, client/meta.ts)
  META_NO_KEY: spec(
    "meta",
    "config",
    400,
    "No meta node signing key is configured (privateKeyFile or HMS_META_PRIVATE_KEY).",
  ),
  META_KEY_MISMATCH: spec(
    "meta",
    "config",
    400,
    "The meta node's key is not the one its peer list names for it, or a peer answers with another address.",
  ),
  META_UNKNOWN_PEER: spec(
    "meta",
    "unauthorized",
    403,
    "A message or setting names a meta peer that is not configured.",
  ),
  META_NO_QUORUM: spec(
    "meta",
    "unreachable",
    503,
    "A write was not persisted by a majority of meta nodes in time (it is not acknowledged).",
  ),
  META_BAD_REQUEST: spec("meta", "invalidInput", 400, "A meta API request or peer message fails validation."),
  META_UNKNOWN_NODE: spec(
    "meta",
    "unauthorized",
    403,
    "A heartbeat, ack or receipt names a storage node whose signing key is not registered with the meta layer.",
  ),
  META_BAD_ACK: spec(
    "meta",
    "invalidInput",
    400,
    "A file commit's storage ack names another block or upload, repeats a node, or is not the node's signature.",
  ),
  META_BAD_RECEIPT: spec(
    "meta",
    "unauthorized",
    401,
    "A traffic receipt's signature is not by its client (client side) or its node's registered key (node side).",
  ),
  META_RECEIPT_CONFLICT: spec(
    "meta",
    "conflict",
    409,
    "A receipt for a task and side already recorded with other contents (a duplicate is answered, not refused).",
  ),
  META_RECEIPT_PERIOD: spec(
    "meta",
    "conflict",
    409,
    "A receipt's period is closed (older than the current period minus the tolerance) or in the future: a replay.",
  ),
  META_FEED_OMISSION: spec(
    "meta",
    "safety",
    409,
    "A traffic feed or proposal leaves out a receipt that a majority of meta nodes acknowledged.",
  ),

  META_BAD_HEARTBEAT: spec(
    "meta",
    "unauthorized",
    401,
    "A worker's heartbeat is not signed by the node's registered key, is stale, or repeats a sequence number.",
  ),

  // ── storage ───────────────────────────────────────────────────────────────────────────────────────────
  STORAGE_NO_KEY: spec(
    "storage",
    "config",
    400,
    "No node signing key is configured (privateKeyFile or HMS_STORAGE_PRIVATE_KEY).",
  ),
  STORAGE_DATA_DIR: spec("storage", "config", 500, "The data directory cannot be created, locked or scanned."),
  STORAGE_BAD_CID: spec(
    "storage",
    "invalidInput",
    400,
    "A CID is malformed or not storable here (sha2-256 multihash, raw or dag-pb codec only).",
  ),
  STORAGE_BAD_REQUEST: spec(
    "storage",
    "invalidInput",
    400,
    "A storage request has a missing or malformed header, query parameter or body field; `value` holds it.",
  ),
  STORAGE_LENGTH_REQUIRED: spec("storage", "invalidInput", 411, "A slice upload has no Content-Length."),
  STORAGE_TOO_LARGE: spec(
    "storage",
    "invalidInput",
    413,
    "A slice or block is larger than the worker accepts (`maxBlockBytes`).",
  ),
  STORAGE_DIGEST_MISMATCH: spec(
    "storage",
    "invalidInput",
    422,
    "The bytes received do not hash to the CID they were sent as; nothing was stored.",
  ),
  STORAGE_TRUNCATED: spec(
    "storage",
    "invalidInput",
    422,
    "A slice body ended before its Content-Length (or ran past it); nothing was stored.",
  ),
  STORAGE_UNAUTHORIZED: spec(
    "storage",
    "unauthorized",
    403,
    "A write carries no valid upload grant: missing, malformed, expired, or not signed by its owner.",
  ),
  STORAGE_GRANT_EXCEEDED: spec(
    "storage",
    "unauthorized",
    403,
    "A write would take an upload past the bytes its owner's grant allows.",
  ),
  STORAGE_NO_LEASE: spec("storage", "unauthorized", 403, "The lease gate refused the write (no active storage lease)."),
  STORAGE_STALE_TERM: spec(
    "storage",
    "conflict",
    409,
    "A placement or repair order carries an older meta term than one this worker has seen (fencing).",
  ),
  STORAGE_BAD_PERIOD: spec(
    "storage",
    "invalidInput",
    400,
    "A transfer names a traffic period too far from the worker's clock for both sides to sign the same receipt.",
  ),
  STORAGE_FULL: spec(
    "storage",
    "conflict",
    507,
    "The worker's configured capacity (or its disk) cannot hold the write; nothing was stored.",
  ),
  STORAGE_NOT_FOUND: spec("storage", "notFound", 404, "No block with this CID is stored here."),
  STORAGE_CORRUPT: spec(
    "storage",
    "failure",
    500,
    "A stored block failed verification on read; it was quarantined and is never served.",
  ),
  STORAGE_RANGE: spec(
    "storage",
    "invalidInput",
    416,
    "A byte range (Range header, offset/length) lies outside the block or file.",
  ),
  STORAGE_IO: spec("storage", "failure", 500, "A read, write, fsync or rename in the block store failed."),
  STORAGE_UNAVAILABLE: spec(
    "storage",
    "unreachable",
    502,
    "No source served a valid copy (repair, download, or a downstream hop of the pipeline).",
  ),
  STORAGE_BAD_REPLY: spec(
    "storage",
    "unreachable",
    502,
    "A worker answered with something that is not the expected reply (or a storage ack that does not verify).",
  ),
  STORAGE_NO_COPIES: spec(
    "storage",
    "unreachable",
    502,
    "An upload could not place every copy of a slice, even after replacing the failed nodes.",
  ),
  STORAGE_SIZE_MISMATCH: spec(
    "storage",
    "invalidInput",
    400,
    "An upload source yielded another number of bytes than the size declared for it.",
  ),
  STORAGE_ABORTED: spec("storage", "failure", 499, "A transfer was aborted by its caller's AbortSignal."),
  STORAGE_IPFS_UNSUPPORTED: spec(
    "storage",
    "invalidInput",
    400,
    "An IPFS RPC or gateway request uses an option or format this worker does not implement.",
  ),
  STORAGE_KUBO: spec("storage", "unreachable", 502, "The Kubo node backing the block store failed or is unreachable."),

  // ── dashboard ─────────────────────────────────────────────────────────────────────────────────────────
  DASHBOARD_NOT_BUILT: spec(
    "dashboard",
    "config",
    503,
    "The dashboard's web assets are missing: run `npm run dashboard:build` (or set assetsDir).",
  ),
  DASHBOARD_UPSTREAM: spec(
    "dashboard",
    "unreachable",
    502,
    "A public source of the dashboard (RPC, daemon /health or /metrics, meta API) failed or sent a bad reply.",
  ),
  DASHBOARD_BAD_REQUEST: spec("dashboard", "invalidInput", 400, "A dashboard API request has a malformed parameter."),
  DASHBOARD_NOT_FOUND: spec("dashboard", "notFound", 404, "The dashboard knows no such period, node or document."),

  // ── compute ───────────────────────────────────────────────────────────────────────────────────────────
  COMPUTE_NO_KEY: spec(
    "compute",
    "config",
    400,
    "No node signing key is configured (privateKeyFile or HMS_COMPUTE_PRIVATE_KEY).",
  ),
  COMPUTE_SPEC_INVALID: spec(
    "compute",
    "invalidInput",
    400,
    "A workload spec fails its schema; `key` names the field.",
  ),
  COMPUTE_SPEC_OVER_LEASE: spec(
    "compute",
    "invalidInput",
    400,
    "A workload spec asks for more CPU, memory or disk than its lease's units cover.",
  ),
  COMPUTE_NO_LEASE: spec(
    "compute",
    "unauthorized",
    403,
    "No active compute lease of this node backs the request, or it is signed by someone else than its user.",
  ),
  COMPUTE_RUNTIME_UNAVAILABLE: spec(
    "compute",
    "unreachable",
    503,
    "The configured runtime (e.g. the Podman/Docker socket) does not answer; the message names what to install.",
  ),
  COMPUTE_IMAGE_NOT_FOUND: spec("compute", "notFound", 404, "The workload's image is not present on the worker."),
  COMPUTE_RUNTIME: spec("compute", "failure", 500, "The runtime failed to create, start, inspect or stop a workload."),
  COMPUTE_NOT_FOUND: spec("compute", "notFound", 404, "No workload of this lease runs or ran on this worker."),
  COMPUTE_CONFLICT: spec("compute", "conflict", 409, "The lease already has a different workload, or it has ended."),
  COMPUTE_BAD_USAGE: spec(
    "compute",
    "invalidInput",
    400,
    "A runtime sample or usage report is inconsistent (time going back, negative counters) or badly signed.",
  ),
  COMPUTE_NOT_MOVED: spec(
    "compute",
    "unauthorized",
    403,
    "A forwarded run request names a lease the chain does not show moved (LeaseMoved) into the lease to run, or its deadline predates that lease.",
  ),
  COMPUTE_NO_PLACEMENT: spec(
    "compute",
    "conflict",
    409,
    "The scheduler found no node with the resources, region and affinity a workload asks for.",
  ),

  // ── client SDK ────────────────────────────────────────────────────────────────────────────────────────
  SDK_NO_ACCOUNT: spec("sdk", "config", 400, "A transaction action was called on a client without an account."),
  SDK_WRONG_CHAIN: spec(
    "sdk",
    "wrongChain",
    400,
    "The client's RPC serves another chain than the deployment file's; `value` holds the chain id served.",
  ),
  SDK_INVALID_INPUT: spec("sdk", "invalidInput", 400, "An action parameter is malformed or out of range."),
  SDK_NOT_FOUND: spec(
    "sdk",
    "notFound",
    404,
    "The node, offer, order, lease, period or motion asked for does not exist.",
  ),
  SDK_NOT_REGISTERED: spec(
    "sdk",
    "unauthorized",
    403,
    "The account is not the registered owner the action needs (node operator, bookkeeper, council member, lease party).",
  ),
  SDK_INSUFFICIENT_BALANCE: spec(
    "sdk",
    "conflict",
    409,
    "The account holds fewer tokens (or less gas money) than the action moves or costs.",
  ),
  SDK_STAKE_LOCKED: spec(
    "sdk",
    "conflict",
    409,
    "The stake asked for is locked: still unbonding, below the minimum margin, or nothing has matured.",
  ),
  SDK_CONFLICT: spec(
    "sdk",
    "conflict",
    409,
    "The chain state does not allow the action now (already registered, already claimed, expired, not open…).",
  ),
  SDK_REVERTED: spec(
    "sdk",
    "reverted",
    500,
    "A transaction (or its simulation) reverted with an error the SDK does not classify; `details.errorName` names it.",
  ),
  SDK_RPC: spec("sdk", "unreachable", 502, "The JSON-RPC endpoint did not answer or answered with an error."),

  // ── cli ───────────────────────────────────────────────────────────────────────────────────────────────
  CLI_USAGE: spec("cli", "config", 400, "A command's option or argument is missing or malformed; `value` holds it."),
  CLI_BAD_VALUE: spec(
    "cli",
    "invalidInput",
    400,
    "An argument's value is malformed: an amount, address, node id, enum name or file; `value` holds it.",
  ),
  CLI_NOT_CONFIRMED: spec(
    "cli",
    "config",
    400,
    "A transaction was not confirmed: declined at the prompt, or no terminal to ask and no `--yes`.",
  ),
  CLI_NO_KEY: spec(
    "cli",
    "config",
    400,
    "No key to sign with: neither `--account` (keystore) nor HMS_PRIVATE_KEY is set, or the account is not in the keystore.",
  ),
  CLI_KEYSTORE: spec(
    "cli",
    "config",
    400,
    "A keystore file cannot be read, written or decrypted (wrong password, not Web3 Secret Storage JSON).",
  ),
  CLI_KEY_EXISTS: spec("cli", "conflict", 409, "A keystore already holds a key of this name or address."),
  CLI_NO_META: spec(
    "cli",
    "config",
    400,
    "A storage command has no meta node to talk to: give `--meta <url,…>` or set HMS_META_URLS.",
  ),
  CLI_FILE: spec(
    "cli",
    "invalidInput",
    400,
    "A local file or directory named on the command line cannot be read or written (missing, not a regular file, no permission).",
  ),
  CLI_AUDIT_MISMATCH: spec(
    "cli",
    "mismatch",
    409,
    "`hms audit` found a reported period disagreeing with its report document (or with its recomputation); `details` names the first mismatch (docs/AUDIT.md).",
  ),
  CLI_INIT: spec(
    "cli",
    "config",
    400,
    "`hms init` cannot prepare the local network (not a local chain, no deployment, files exist).",
  ),
  CLI_DEVNET_RUNNING: spec(
    "cli",
    "conflict",
    409,
    "`hms devnet up`: the directory already holds a running devnet (`hms devnet down` it first).",
  ),
  CLI_DEVNET_DIR: spec(
    "cli",
    "config",
    400,
    "`hms devnet up`: the directory holds a stopped devnet or other files (`hms devnet down --purge`, or another --dir).",
  ),
  CLI_DEVNET_NONE: spec("cli", "notFound", 404, "`hms devnet status`: the directory holds no devnet (no devnet.json)."),
  CLI_DEVNET_NOT_READY: spec(
    "cli",
    "unreachable",
    503,
    "`hms devnet up`: a process exited or was not healthy in time; the message names it and ends with its log's tail.",
  ),
  CLI_DEVNET_STOP: spec(
    "cli",
    "failure",
    500,
    "`hms devnet down`: a process or a port of the devnet is still alive after SIGKILL; `details` lists them.",
  ),
} as const satisfies Record<string, ErrorCodeSpec>;

/** Every registered code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** True if `code` is a registered code (e.g. one received from a peer). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}
