/**
 * The replicated log on disk (typed repository over the meta node's LevelDB, prefix `log:`): entries by index,
 * the election's durable state. Appends and truncations are single atomic batches, written before the node
 * answers the append that carried them (a follower acknowledges only what it persisted).
 *
 *   log:e:<index, 20 digits>   → LogEntry
 *   log:election               → DurableElectionState
 */
import type { Store } from "../core/store";
import type { DurableElectionState, LogTip } from "./election/types";
import { INITIAL_ELECTION_STATE } from "./election/machine";

/** One log entry: its position and the command it carries (an index command, receipts, a no-op…). */
export interface LogEntry {
  term: bigint;
  index: bigint;
  command: { kind: string } & Record<string, unknown>;
}

const P_ENTRY = "log:e:";
const K_ELECTION = "log:election";
const pad = (i: bigint) => i.toString().padStart(20, "0");

export class LogStore {
  private tipCache: LogTip = { term: 0n, index: 0n };
  /** Recent entries kept in memory (the leader resends them to followers). */
  private readonly recent = new Map<bigint, LogEntry>();
  private static readonly RECENT = 4096;

  private constructor(private readonly store: Store) {}

  static async open(store: Store): Promise<LogStore> {
    const log = new LogStore(store);
    const keys = await store.keys(P_ENTRY);
    const last = keys[keys.length - 1];
    if (last !== undefined) {
      const e = (await store.get<LogEntry>(last))!;
      log.tipCache = { term: e.term, index: e.index };
    }
    return log;
  }

  get tip(): LogTip {
    return { ...this.tipCache };
  }

  async election(): Promise<DurableElectionState> {
    return (await this.store.get<DurableElectionState>(K_ELECTION)) ?? { ...INITIAL_ELECTION_STATE };
  }

  async saveElection(state: DurableElectionState): Promise<void> {
    await this.store.put(K_ELECTION, state);
  }

  async get(index: bigint): Promise<LogEntry | undefined> {
    if (index <= 0n) return undefined;
    return this.recent.get(index) ?? (await this.store.get<LogEntry>(`${P_ENTRY}${pad(index)}`));
  }

  async termAt(index: bigint): Promise<bigint | undefined> {
    if (index === 0n) return 0n;
    return (await this.get(index))?.term;
  }

  /** Entries `from..to` (inclusive), at most `max`. */
  async range(from: bigint, to: bigint, max: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for (let i = from; i <= to && out.length < max; i++) {
      const e = await this.get(i);
      if (e === undefined) break;
      out.push(e);
    }
    return out;
  }

  /** Appends entries that follow the tip (leader) in one write. */
  async append(entries: readonly LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const batch = this.store.batch();
    for (const e of entries) batch.put(`${P_ENTRY}${pad(e.index)}`, e);
    await batch.write();
    for (const e of entries) this.remember(e);
    const last = entries[entries.length - 1];
    this.tipCache = { term: last.term, index: last.index };
  }

  /** Drops every entry after `index` and appends `entries` (follower repair of a diverging tail), one write. */
  async replaceAfter(index: bigint, entries: readonly LogEntry[]): Promise<void> {
    const batch = this.store.batch();
    for (let i = index + 1n; i <= this.tipCache.index; i++) {
      batch.del(`${P_ENTRY}${pad(i)}`);
      this.recent.delete(i);
    }
    for (const e of entries) batch.put(`${P_ENTRY}${pad(e.index)}`, e);
    await batch.write();
    for (const e of entries) this.remember(e);
    const last = entries[entries.length - 1];
    this.tipCache =
      last !== undefined ? { term: last.term, index: last.index } : { term: (await this.termAt(index)) ?? 0n, index };
  }

  private remember(e: LogEntry): void {
    this.recent.set(e.index, e);
    if (this.recent.size > LogStore.RECENT) this.recent.delete(this.recent.keys().next().value!);
  }
}
