/**
 * Types of index replication (issue 13 item 5). Types only. `C` is the command type of the log (the meta node
 * logs index commands, receipts and no-ops in one log).
 */
import type { Address } from "viem";

/** One log entry: the master's term when it was appended, its index (1-based, gap-free) and its command. */
export interface LogEntry<C> {
  term: bigint;
  index: bigint;
  command: C;
}

/** The last entry a snapshot covers. */
export interface SnapshotPoint {
  index: bigint;
  term: bigint;
}

/** Messages of replication; every one carries the sender's term (fencing). */
export type ReplicationMessage<C> =
  | {
      type: "append";
      term: bigint;
      leader: Address;
      /** The entry just before `entries` (0/0 for the log's start). */
      prevIndex: bigint;
      prevTerm: bigint;
      entries: LogEntry<C>[];
      /** The master's commit index. */
      commit: bigint;
    }
  | {
      type: "append-reply";
      term: bigint;
      success: boolean;
      /** On success: the follower's log matches the master's up to here. */
      match: bigint;
      /** The follower's last index (on failure: where the master should retry from). */
      lastIndex: bigint;
    }
  /** The master's snapshot up to `point` (the host attaches the snapshot's data). */
  | { type: "snapshot"; term: bigint; leader: Address; point: SnapshotPoint; commit: bigint }
  | { type: "snapshot-reply"; term: bigint; match: bigint };

/** What the node asks its host to do, in order. */
export type ReplicationAction<C> =
  /** Durably drop every entry from `truncateFrom` on (when given), then append `entries` — before the sends that follow. */
  | { type: "persist"; truncateFrom?: bigint; entries: LogEntry<C>[] }
  | { type: "send"; to: Address; message: ReplicationMessage<C> }
  /** Send this node's snapshot (its data) with `message`. */
  | { type: "send-snapshot"; to: Address; message: Extract<ReplicationMessage<C>, { type: "snapshot" }> }
  /**
   * Install the snapshot data that came with the master's message, replacing the applied state, and durably
   * drop every entry ≤ `point.index` (a conflicting suffix is dropped by the `persist` before it).
   */
  | { type: "install-snapshot"; point: SnapshotPoint }
  /** Entries up to `index` are committed: apply them; writes at or below it may be acknowledged. */
  | { type: "commit"; index: bigint }
  /** A newer term was seen: the host moves its election to it (a master steps down). */
  | { type: "term"; term: bigint; leader: Address | null };

/** Durable state of the log (what the host reloads after a restart). */
export interface DurableLog<C> {
  snapshot: SnapshotPoint;
  entries: LogEntry<C>[];
}

/** How stale a node's reads are. */
export interface ReadState {
  term: bigint;
  /** Highest index known committed. */
  commit: bigint;
  /** The master's commit index as last heard (the node is `lag = leaderCommit − commit` entries behind). */
  leaderCommit: bigint;
  lag: bigint;
}
