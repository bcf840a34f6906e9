/**
 * Types of the PBFT replica: parameters, the injected crypto provider, protocol messages, input events
 * and output actions. Pure data: no I/O.
 */
import type { Address, Hex } from "viem";
import type {
  PbftCheckpointMessage,
  PbftNewViewMessage,
  PbftViewChangeMessage,
  PbftVoteMessage,
  ProposalMessage,
} from "../../core/signing";

/** Digest of the null request (fills sequence-number gaps in a new view) and of the initial state. */
export const NULL_DIGEST: Hex = `0x${"00".repeat(32)}`;

/** Largest view: `round` is a uint32 in the signed Proposal. */
export const MAX_VIEW = 2 ** 32 - 1;

/** Protocol parameters (all replicas of a configuration must use the same k and L). */
export interface PbftParams {
  /** k: a checkpoint every k sequence numbers. */
  checkpointInterval: number;
  /** L: a replica accepts sequence numbers in (h, h + L], h = last stable checkpoint. A multiple of k. */
  watermarkWindow: number;
  /** Base view-change timeout, ms. */
  viewChangeTimeoutMs: number;
  /** Retransmission / status period while work is unfinished, ms. */
  retransmitMs: number;
  /** Heartbeat STATUS period while idle, ms. */
  statusIntervalMs: number;
  /** Committed entries (with their commit certificates) kept below the stable checkpoint, for lagging replicas. */
  retainCommitted: number;
  /** The view-change timeout doubles with each consecutive unsuccessful view change, up to 2^this. */
  maxBackoffExponent: number;
  /** Committed entries sent in one reply to a lagging replica… */
  maxEntriesPerReply: number;
  /** …and their request payloads' total size bound, characters (at least one entry is always sent). */
  maxReplyBytes: number;
  /** Requests waiting to be ordered; more are dropped (clients retransmit). */
  maxPending: number;
  /** A backup forwards client requests to the primary (set false when clients always reach the primary). */
  forwardRequests: boolean;
}

export const DEFAULT_PBFT_PARAMS: PbftParams = {
  checkpointInterval: 10,
  watermarkWindow: 40,
  viewChangeTimeoutMs: 4000,
  retransmitMs: 1000,
  statusIntervalMs: 10_000,
  retainCommitted: 20,
  maxBackoffExponent: 5,
  maxEntriesPerReply: 8,
  maxReplyBytes: 16 * 1024 * 1024,
  maxPending: 1024,
  forwardRequests: true,
};

/** What a replica signs. The real provider maps each to its EIP-712 type in the staking domain. */
export type Signable =
  | { type: "Proposal"; message: ProposalMessage }
  | { type: "PbftVote"; message: PbftVoteMessage }
  | { type: "PbftCheckpoint"; message: PbftCheckpointMessage }
  | { type: "PbftViewChange"; message: PbftViewChangeMessage }
  | { type: "PbftNewView"; message: PbftNewViewMessage };

/**
 * Cryptography injected into a replica. Synchronous and deterministic, so the replica stays a pure
 * state machine: the simulator uses a fast keyed-hash scheme, daemons `createEip712Crypto` (secp256k1).
 */
export interface PbftCrypto {
  /** Signs as this replica. */
  sign(item: Signable): Hex;
  /** True iff `signature` is `signer`'s signature of `item`. Never throws. */
  verify(item: Signable, signature: Hex, signer: Address): boolean;
  /** Digest of a request payload (bytes32). */
  digest(request: string): Hex;
  /** Hash of a canonical text (view-change certificates, new-view contents, state chain). */
  hash(text: string): Hex;
}

/**
 * Verdict on a request: `true` valid, `false` invalid for good (deterministic: a primary that proposes
 * it is faulty), `"retry"` cannot tell yet (a chain read is slow, its period has not ended): never
 * cached, never an accusation — the replica withholds its prepare and asks again later.
 */
export type RequestVerdict = boolean | "retry";

/**
 * Validity check of a request, run before ordering (primary) and preparing it (backups). `seq` is the
 * sequence number it is being ordered at (absent when a client request first arrives). Must not throw;
 * `false` must be deterministic.
 */
export type RequestValidator = (request: string, seq?: number) => RequestVerdict;

/** The sequence number a request names, if requests name theirs: it is ordered at that one only. */
export type RequestSeq = (request: string) => number | undefined;

/* ------------------------------------------------------------------------------------------------
 * Messages. `replica` is the signer; `sig` its signature. All addresses are lower case on the wire.
 * ---------------------------------------------------------------------------------------------- */

/** ⟨PRE-PREPARE, v, n, d⟩ signed by the primary as EIP-712 Proposal{epoch: configId, period: seq, round: view, digest}. */
export interface PrePrepare {
  type: "pre-prepare";
  view: number;
  seq: number;
  digest: Hex;
  /** The request payload; null for the null request (digest = NULL_DIGEST). */
  request: string | null;
  replica: Address;
  sig: Hex;
}

export interface Prepare {
  type: "prepare";
  view: number;
  seq: number;
  digest: Hex;
  replica: Address;
  sig: Hex;
}

export interface Commit {
  type: "commit";
  view: number;
  seq: number;
  digest: Hex;
  replica: Address;
  sig: Hex;
}

export interface Checkpoint {
  type: "checkpoint";
  seq: number;
  /** State digest after executing `seq` (hash chain of executed digests). */
  digest: Hex;
  replica: Address;
  sig: Hex;
}

/** Proof that a request prepared at (view, seq): the pre-prepare and quorum−1 matching prepares of other replicas. */
export interface PreparedCert {
  prePrepare: PrePrepare;
  prepares: Prepare[];
}

export interface ViewChange {
  type: "view-change";
  /** The view being moved to. */
  view: number;
  stableSeq: number;
  stableDigest: Hex;
  /** Quorum checkpoint messages proving (stableSeq, stableDigest); empty when stableSeq = 0. */
  checkpointProof: Checkpoint[];
  /** For each seq > stableSeq prepared at this replica, the certificate of the highest view. Sorted by seq. */
  prepared: PreparedCert[];
  replica: Address;
  sig: Hex;
}

export interface NewView {
  type: "new-view";
  view: number;
  /** Quorum valid view-changes for `view`. */
  viewChanges: ViewChange[];
  /** Pre-prepares of `view` for every seq in (min-s, max-s], computed from `viewChanges`. */
  prePrepares: PrePrepare[];
  replica: Address;
  sig: Hex;
}

/** A client request (or a backup forwarding one to the primary). Unsigned: its validity is `validate`'s job. */
export interface RequestMessage {
  type: "request";
  request: string;
}

/** Where a replica stands; peers answer with what it is missing. Unsigned (the transport authenticates). */
export interface Status {
  type: "status";
  view: number;
  viewChanging: boolean;
  stableSeq: number;
  lastExecuted: number;
}

/** A committed request with its commit certificate (quorum matching commits): self-certifying. */
export interface CommittedEntry {
  seq: number;
  view: number;
  digest: Hex;
  request: string | null;
  commits: Commit[];
}

/** Committed entries for a lagging replica. `retainedFrom`: lowest seq the sender still keeps. */
export interface Entries {
  type: "entries";
  entries: CommittedEntry[];
  retainedFrom: number;
}

export type PbftMessage =
  PrePrepare | Prepare | Commit | Checkpoint | ViewChange | NewView | RequestMessage | Status | Entries;

/* ------------------------------------------------------------------------------------------------
 * Events in, actions out.
 * ---------------------------------------------------------------------------------------------- */

export type TimerKind = "view-change" | "retransmit";

export type ReplicaEvent =
  /** Once after creation or restore: arms timers, asks peers for anything missed. */
  | { type: "start" }
  /** A client request (payload) to order. */
  | { type: "request"; request: string }
  /** A message from `from` (authenticated by the transport). */
  | { type: "message"; from: Address; message: PbftMessage }
  /** A timer set by a `set-timer` action fired. Stale ids are ignored. */
  | { type: "timeout"; kind: TimerKind; id: number };

export type Evidence =
  /** Two validly signed pre-prepares of one primary for the same (view, seq) with different digests: slashable. */
  | { kind: "equivocation"; replica: Address; view: number; seq: number; first: PrePrepare; second: PrePrepare }
  /** A validly signed pre-prepare whose request fails validation or does not match its digest. */
  | {
      kind: "invalid-proposal";
      replica: Address;
      view: number;
      seq: number;
      reason: "validation" | "digest";
      prePrepare: PrePrepare;
    };

export type ReplicaAction =
  | { type: "send"; to: Address; message: PbftMessage }
  /** To every other replica. */
  | { type: "broadcast"; message: PbftMessage }
  /** Execute (commit) `request` at `seq`: in seq order, exactly once per seq. `request` null = null request. */
  | { type: "execute"; seq: number; view: number; digest: Hex; request: string | null; duplicate: boolean }
  /** Arm (or re-arm) the timer of `kind`; feed back `{type:"timeout", kind, id}` after `delayMs`. */
  | { type: "set-timer"; kind: TimerKind; id: number; delayMs: number }
  | { type: "cancel-timer"; kind: TimerKind }
  | { type: "evidence"; evidence: Evidence }
  /** A checkpoint became stable: the log up to `seq` was garbage-collected. */
  | { type: "stable-checkpoint"; seq: number; digest: Hex }
  /** This replica moved to view-change status for `view`. */
  | { type: "view-change"; view: number }
  /** A new view started. */
  | { type: "new-view"; view: number; primary: Address }
  /** Sequence numbers (fromSeq..toSeq) could not be fetched and were skipped via a stable checkpoint. */
  | { type: "state-jump"; fromSeq: number; toSeq: number; stateDigest: Hex }
  /** A client request failed validation and was dropped. */
  | { type: "rejected-request"; digest: Hex };
