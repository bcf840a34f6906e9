/**
 * Types of the PoA master election (PROTOCOL §8, issue 13 item 4). Types only.
 */
import type { Address } from "viem";

/** PROTOCOL's Voting state is called `looking` here (ZooKeeper's name). */
export type ElectionRole = "looking" | "following" | "observing" | "leading";

/** A log position: (term of the last entry, index of the last entry). Votes and acks compare it first. */
export interface LogTip {
  term: bigint;
  index: bigint;
}

/** A vote: for `candidate`, whose random number is `random` and whose log ends at `log`. */
export interface Vote {
  candidate: Address;
  random: bigint;
  log: LogTip;
}

/** Messages between meta nodes. `term` is the election term (the master's epoch) in every one of them. */
export type ElectionMessage =
  /** My current vote in `term`; `looking` false when the sender already settled (it then also sends `leader`). */
  | { type: "vote"; term: bigint; vote: Vote; looking: boolean }
  /** I follow `leader` in `term` (sent to the leader; each voter sends at most one per term, durably). */
  | { type: "ack"; term: bigint; leader: Address }
  /** The master of `term` is alive (sent by the master; followers answer `heartbeat-reply`). */
  | { type: "heartbeat"; term: bigint; leader: Address }
  /** Answer to a heartbeat: `ok` false means the sender's term is newer (the master is deposed). */
  | { type: "heartbeat-reply"; term: bigint; ok: boolean }
  /** Answer to a vote from a node that is behind: the master of `term` (or null if unknown). */
  | { type: "leader"; term: bigint; leader: Address | null };

export type ElectionMessageType = ElectionMessage["type"];

/** What must survive a restart (persisted before the sends that follow it are performed). */
export interface DurableElectionState {
  /** Highest term seen. */
  term: bigint;
  /** The last term in which this node sent an ack, and to whom: never two leaders acked in one term. */
  ackedTerm: bigint;
  ackedLeader: Address | null;
}

/** What the machine asks its host to do, in order. */
export type ElectionAction =
  | { type: "persist"; state: DurableElectionState }
  | { type: "send"; to: Address; message: ElectionMessage }
  | { type: "broadcast"; message: ElectionMessage }
  | { type: "role"; role: ElectionRole; term: bigint; leader: Address | null };

/** Timing of the election, ms (meta config `election`). */
export interface ElectionTiming {
  /** The master's heartbeat period; looking nodes re-send their vote at this period too. */
  heartbeatMs: number;
  /** A follower that hears no master (or a looking node whose term produced none) for a random time in [min, max] moves on. */
  timeoutMinMs: number;
  timeoutMaxMs: number;
  /**
   * Cap of the backed-off timeout, ms. Each term that ends without a master doubles the timeout range (and the
   * master's window for hearing from a majority), up to this cap; a master followed (or held) for
   * {@link BACKOFF_DECAY_WINDOWS} windows halves it again. Default 16 × timeoutMaxMs.
   */
  backoffMaxMs?: number;
}

/** A master held this many (backed-off) windows in a row halves the back-off once. */
export const BACKOFF_DECAY_WINDOWS = 8;

export const DEFAULT_ELECTION_TIMING: ElectionTiming = { heartbeatMs: 100, timeoutMinMs: 400, timeoutMaxMs: 800 };

/** Configuration of one node's machine. */
export interface ElectionConfig extends ElectionTiming {
  self: Address;
  /** The voting servers (the meta cluster); a node not among them is an observer. */
  voters: readonly Address[];
  /** Non-voting meta nodes (backups) that follow the master. */
  observers?: readonly Address[];
}
