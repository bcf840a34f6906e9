/**
 * The signing record ("slashing protection", after Ethereum validator clients and EIP-3076): every
 * signature a validator makes that could be held against it is recorded — durably, before the signature
 * leaves the process — and checked before the next one:
 *
 *   - **proposals** (PBFT pre-prepares, EIP-712 `Proposal`): (epoch, period, round) → digest. Signing a
 *     different digest for a recorded (epoch, period, round) is refused: that pair is equivocation evidence
 *     BookkeeperStaking slashes for.
 *   - **PBFT votes** (prepares, commits, checkpoints, view-changes, new-views): the slot of
 *     offchain/consensus/pbft/guard.ts — (epoch, view, seq) → digest per vote kind, (epoch, seq) → state
 *     digest, (epoch, view) → view-change / new-view contents. The replica's own state (another LevelDB)
 *     is not enough: a validator whose PBFT directory is lost, or restored from a backup, would re-vote
 *     differently and let two quorums decide different requests at one seq. {@link guardVotes} wraps the
 *     PBFT crypto so that every vote is recorded (and, through `beforeAct`, synced) before it is sent.
 *   - **reports** (EIP-712 `PeriodReport`): period → (epoch, previous period, report digest). A different
 *     report for a recorded period is refused, whatever the epoch. A report covering periods (prev, p] is also
 *     held back ("wait") while a report already signed for a period inside that range — or one whose range
 *     covers p — could still land on chain: two such reports landing would pay the same traffic twice
 *     (the analogue of EIP-3076's surround votes). Whether a recorded report can still land is a chain fact
 *     the caller supplies.
 *
 * {@link SigningRecord} is the pure decision logic; {@link SigningRecordStore} keeps it in LevelDB (`Store`)
 * with the write-ahead discipline; {@link exportRecord} / {@link importRecord} speak an EIP-3076-like JSON.
 */
import type { Address, Hex } from "viem";
import { HmsError } from "../core/errors";
import type { Store } from "../core/store";
import { signedSlot, type SignedSlot } from "../consensus/pbft/guard";
import type { PbftCrypto, Signable } from "../consensus/pbft/types";

/** A signed proposal (PBFT pre-prepare). `period` is the PBFT sequence number (see proposal.ts). */
export interface ProposalSignature {
  epoch: bigint;
  period: bigint;
  round: number;
  /** The proposal's `digest` field (the request digest). */
  digest: Hex;
}

/** A signed period report. */
export interface ReportSignature {
  epoch: bigint;
  period: bigint;
  /** The period the report builds on (null: none ever reported). */
  prevPeriod: bigint | null;
  /** EIP-712 digest of the `PeriodReport` (MiningPool domain): what was signed. */
  digest: Hex;
}

export type Decision =
  /** Nothing conflicting: sign, after recording. */
  | { kind: "sign" }
  /** The very same message was signed before: signing again gives the same signature. */
  | { kind: "repeat" }
  /** Signing would equivocate (or pay traffic twice): never. */
  | { kind: "refuse"; reason: string; existing: ProposalSignature | ReportSignature | VoteSignature }
  /** Not now: an overlapping report could still land. */
  | { kind: "wait"; reason: string; existing: ReportSignature };

/** Refusal by the signing record, with the conflicting existing entry as `value`. Code `SLASHING_PROTECTION`. */
export class SlashingProtectionError extends HmsError {
  constructor(message: string, existing: unknown, attempted: unknown) {
    super("SLASHING_PROTECTION", message, { value: existing, details: { attempted: attempted as never } });
  }
}

const proposalKey = (epoch: bigint, period: bigint, round: number) => `${epoch}/${period}/${round}`;

function lower(h: Hex): Hex {
  return h.toLowerCase() as Hex;
}

/** The decision logic. Pure: the caller persists what it adds (see {@link SigningRecordStore}). */
/** A recorded PBFT vote (prepare, commit, checkpoint, view-change, new-view): its slot and value. */
export type VoteSignature = SignedSlot;

export class SigningRecord {
  private readonly proposals = new Map<string, ProposalSignature>();
  private readonly reports = new Map<string, ReportSignature>();
  private readonly votes = new Map<string, VoteSignature>();
  private readonly highestVoted = new Map<string, number>();

  constructor(
    entries: {
      proposals?: Iterable<ProposalSignature>;
      reports?: Iterable<ReportSignature>;
      votes?: Iterable<VoteSignature>;
    } = {},
  ) {
    for (const p of entries.proposals ?? []) this.addProposal(p);
    for (const r of entries.reports ?? []) this.addReport(r);
    for (const v of entries.votes ?? []) this.addVote(v);
  }

  get size(): { proposals: number; reports: number } {
    return { proposals: this.proposals.size, reports: this.reports.size };
  }

  /** Number of recorded PBFT votes other than proposals. */
  get voteCount(): number {
    return this.votes.size;
  }

  voteEntries(): VoteSignature[] {
    return [...this.votes.values()];
  }

  /**
   * Highest PBFT sequence number this validator proposed, prepared or committed at in `epoch` (0: none):
   * a replica that starts without its state passes it as `recoveringFrom`.
   */
  highestVotedSeq(epoch: bigint): number {
    return this.highestVoted.get(epoch.toString()) ?? 0;
  }

  /** Decides on a PBFT vote signature (a Proposal goes through {@link decideProposal}). */
  decideVote(v: VoteSignature): Decision {
    const existing = this.votes.get(v.key);
    if (existing === undefined) return { kind: "sign" };
    if (existing.value === v.value) return { kind: "repeat" };
    return { kind: "refuse", reason: `already signed ${existing.value} in ${v.key}`, existing };
  }

  addVote(v: VoteSignature): void {
    const existing = this.votes.get(v.key);
    if (existing !== undefined && existing.value !== v.value)
      throw new SlashingProtectionError(`conflicting vote in ${v.key}`, existing, v);
    this.votes.set(v.key, v);
    this.noteVoted(v.epoch, v.kind === "prepare" || v.kind === "commit" ? Number(v.seq) : 0);
  }

  private noteVoted(epoch: bigint, seq: number): void {
    if (seq > this.highestVotedSeq(epoch)) this.highestVoted.set(epoch.toString(), seq);
  }

  proposalEntries(): ProposalSignature[] {
    return [...this.proposals.values()];
  }

  reportEntries(): ReportSignature[] {
    return [...this.reports.values()].sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0));
  }

  report(period: bigint): ReportSignature | undefined {
    return this.reports.get(period.toString());
  }

  decideProposal(p: ProposalSignature): Decision {
    const existing = this.proposals.get(proposalKey(p.epoch, p.period, p.round));
    if (existing === undefined) return { kind: "sign" };
    if (lower(existing.digest) === lower(p.digest)) return { kind: "repeat" };
    return {
      kind: "refuse",
      reason: `already signed proposal ${existing.digest} for epoch ${p.epoch} period ${p.period} round ${p.round}`,
      existing,
    };
  }

  /**
   * Decides on signing report `r`. `canLand(existing)` tells whether a recorded report may still land on chain
   * (not reported over, and its epoch may still submit).
   */
  decideReport(r: ReportSignature, canLand: (existing: ReportSignature) => boolean): Decision {
    const existing = this.reports.get(r.period.toString());
    if (existing !== undefined) {
      if (lower(existing.digest) === lower(r.digest)) return { kind: "repeat" };
      return {
        kind: "refuse",
        reason: `already signed report ${existing.digest} (epoch ${existing.epoch}) for period ${r.period}`,
        existing,
      };
    }
    const lo = r.prevPeriod ?? -1n;
    for (const q of this.reports.values()) {
      const qLo = q.prevPeriod ?? -1n;
      const inside = q.period > lo && q.period < r.period; // q pays traffic r pays too
      const covers = q.period > r.period && qLo < r.period; // r pays traffic q pays too
      if ((inside || covers) && canLand(q))
        return {
          kind: "wait",
          reason: `report of period ${q.period} (after ${q.prevPeriod ?? "none"}) overlaps and may still land`,
          existing: q,
        };
    }
    return { kind: "sign" };
  }

  addProposal(p: ProposalSignature): void {
    const key = proposalKey(p.epoch, p.period, p.round);
    const existing = this.proposals.get(key);
    if (existing !== undefined && lower(existing.digest) !== lower(p.digest))
      throw new SlashingProtectionError(`conflicting proposal for ${key}`, existing, p);
    this.proposals.set(key, { ...p, digest: lower(p.digest) });
    this.noteVoted(p.epoch, Number(p.period));
  }

  addReport(r: ReportSignature): void {
    const existing = this.reports.get(r.period.toString());
    if (existing !== undefined && lower(existing.digest) !== lower(r.digest))
      throw new SlashingProtectionError(`conflicting report for period ${r.period}`, existing, r);
    this.reports.set(r.period.toString(), { ...r, digest: lower(r.digest) });
  }
}

// ------------------------------------------------------------------------------------------ persistence

const PREFIX = "protection/";
const META_KEY = `${PREFIX}meta`;

/** What a record belongs to: refusing to use a record of another key or chain. */
export interface RecordMeta {
  address: Address;
  chainId: number;
  staking: Address;
  pool: Address;
}

interface StoredProposal {
  epoch: string;
  period: string;
  round: number;
  digest: Hex;
}
interface StoredVote {
  kind: VoteSignature["kind"];
  epoch: string;
  view: number;
  seq: string;
  value: string;
}
interface StoredReport {
  epoch: string;
  period: string;
  prevPeriod: string | null;
  digest: Hex;
}

/**
 * The record in LevelDB under `protection/…`. `guardProposal` / `guardReport` decide and, when signing, add
 * the entry to memory and to the pending batch; `flush()` writes the batch. Callers flush before the
 * signature leaves the process (the PBFT node's `beforeAct` hook; `signReport` awaits it).
 */
export class SigningRecordStore {
  readonly record: SigningRecord;
  private pending: Array<{ key: string; value: StoredProposal | StoredReport | StoredVote }> = [];

  private constructor(
    private readonly store: Store,
    readonly meta: RecordMeta,
    record: SigningRecord,
  ) {
    this.record = record;
  }

  /**
   * Loads (or initialises) the record in `store`. Throws `SLASHING_PROTECTION_META` if the store holds the
   * record of another key, chain or contracts.
   */
  static async open(store: Store, meta: RecordMeta): Promise<SigningRecordStore> {
    const stored = await store.get<RecordMeta>(META_KEY);
    const norm = (m: RecordMeta) =>
      `${m.address.toLowerCase()}|${m.chainId}|${m.staking.toLowerCase()}|${m.pool.toLowerCase()}`;
    if (stored !== undefined && norm(stored) !== norm(meta))
      throw new HmsError(
        "SLASHING_PROTECTION_META",
        `the data directory holds the signing record of ${stored.address} on chain ${stored.chainId} ` +
          `(staking ${stored.staking}, pool ${stored.pool}), not of this validator`,
        { value: stored },
      );
    if (stored === undefined) await store.put(META_KEY, meta);
    const proposals: ProposalSignature[] = [];
    const reports: ReportSignature[] = [];
    const votes: VoteSignature[] = [];
    for await (const [key, v] of store.entries<StoredProposal & StoredReport & StoredVote>(PREFIX)) {
      if (key.startsWith(`${PREFIX}vote/`)) {
        const epoch = BigInt(v.epoch);
        const seq = BigInt(v.seq);
        votes.push({ kind: v.kind, epoch, view: v.view, seq, key: key.slice(`${PREFIX}vote/`.length), value: v.value });
      } else if (key.startsWith(`${PREFIX}proposal/`))
        proposals.push({ epoch: BigInt(v.epoch), period: BigInt(v.period), round: v.round, digest: v.digest });
      else if (key.startsWith(`${PREFIX}report/`))
        reports.push({
          epoch: BigInt(v.epoch),
          period: BigInt(v.period),
          prevPeriod: v.prevPeriod === null ? null : BigInt(v.prevPeriod),
          digest: v.digest,
        });
    }
    return new SigningRecordStore(store, meta, new SigningRecord({ proposals, reports, votes }));
  }

  /**
   * Decides on a PBFT signature of any kind; records it (pending) when it is new. Throws
   * {@link SlashingProtectionError} on a conflict. Flush (the node's `beforeAct`) before it is sent.
   */
  guardSignable(item: Signable): "sign" | "repeat" {
    if (item.type === "Proposal") {
      const m = item.message;
      return this.guardProposal({ epoch: m.epoch, period: m.period, round: m.round, digest: m.digest });
    }
    const v = signedSlot(item);
    const d = this.record.decideVote(v);
    if (d.kind === "refuse") throw new SlashingProtectionError(d.reason, d.existing, v);
    if (d.kind === "sign") {
      this.record.addVote(v);
      this.pending.push({
        key: `${PREFIX}vote/${v.key}`,
        value: { kind: v.kind, epoch: v.epoch.toString(), view: v.view, seq: v.seq.toString(), value: v.value },
      });
    }
    return d.kind === "sign" ? "sign" : "repeat";
  }

  /** Decides on a proposal signature; records it (pending) when it is new. Throws on a conflict. */
  guardProposal(p: ProposalSignature): "sign" | "repeat" {
    const d = this.record.decideProposal(p);
    if (d.kind === "refuse") throw new SlashingProtectionError(d.reason, d.existing, p);
    if (d.kind === "sign") {
      this.record.addProposal(p);
      this.pending.push({
        key: `${PREFIX}proposal/${p.epoch}/${p.period}/${p.round}`,
        value: { epoch: p.epoch.toString(), period: p.period.toString(), round: p.round, digest: lower(p.digest) },
      });
    }
    return d.kind === "sign" ? "sign" : "repeat";
  }

  /**
   * Decides on a report signature. On "sign" it records it and flushes before resolving, so the caller may sign
   * and send at once. Throws {@link SlashingProtectionError} on "refuse"; returns "wait" to retry later.
   */
  async guardReport(
    r: ReportSignature,
    canLand: (existing: ReportSignature) => boolean,
  ): Promise<Exclude<Decision["kind"], "refuse">> {
    const d = this.record.decideReport(r, canLand);
    if (d.kind === "refuse") throw new SlashingProtectionError(d.reason, d.existing, r);
    if (d.kind === "sign") {
      this.record.addReport(r);
      this.pending.push({
        key: `${PREFIX}report/${r.period}`,
        value: {
          epoch: r.epoch.toString(),
          period: r.period.toString(),
          prevPeriod: r.prevPeriod === null ? null : r.prevPeriod.toString(),
          digest: lower(r.digest),
        },
      });
      await this.flush();
    }
    return d.kind;
  }

  /** Number of entries not yet written. */
  get pendingWrites(): number {
    return this.pending.length;
  }

  /** Writes pending entries (one atomic batch). */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.store.batch();
    const writing = this.pending;
    this.pending = [];
    for (const { key, value } of writing) batch.put(key, value);
    try {
      // Synced: the entry must survive a power loss, not just a crash, before the signature leaves.
      await batch.write({ sync: true });
    } catch (err) {
      this.pending = [...writing, ...this.pending];
      throw err;
    }
  }

  /** Adds imported entries (merging; conflicts keep the existing entry) and writes them. */
  async merge(entries: { proposals: ProposalSignature[]; reports: ReportSignature[] }): Promise<{
    added: number;
    conflicts: number;
  }> {
    let added = 0;
    let conflicts = 0;
    for (const p of entries.proposals) {
      const d = this.record.decideProposal(p);
      if (d.kind === "refuse") conflicts++;
      else if (d.kind === "sign") {
        this.guardProposal(p);
        added++;
      }
    }
    for (const r of entries.reports) {
      const existing = this.record.report(r.period);
      if (existing !== undefined) {
        if (lower(existing.digest) !== lower(r.digest)) conflicts++;
        continue;
      }
      await this.guardReport(r, () => false);
      added++;
    }
    await this.flush();
    return { added, conflicts };
  }
}

// ------------------------------------------------------------------------------------------ interchange

/** EIP-3076-like interchange document (`signed_blocks` → proposals, `signed_attestations` → reports). */
export interface InterchangeDocument {
  metadata: {
    interchange_format: "hms-signing-record";
    interchange_format_version: "1";
    chain_id: string;
    staking_contract: Address;
    mining_pool: Address;
  };
  data: Array<{
    /** The validator's signing key address (EIP-3076: the BLS public key). */
    pubkey: Address;
    signed_proposals: Array<{ epoch: string; period: string; round: string; digest: Hex }>;
    signed_reports: Array<{ epoch: string; period: string; prev_period: string | null; signing_root: Hex }>;
  }>;
}

/** Exports a record as interchange JSON. */
export function exportRecord(record: SigningRecord, meta: RecordMeta): InterchangeDocument {
  const byKey = (a: ProposalSignature, b: ProposalSignature) =>
    a.epoch !== b.epoch
      ? a.epoch < b.epoch
        ? -1
        : 1
      : a.period !== b.period
        ? a.period < b.period
          ? -1
          : 1
        : a.round - b.round;
  return {
    metadata: {
      interchange_format: "hms-signing-record",
      interchange_format_version: "1",
      chain_id: String(meta.chainId),
      staking_contract: meta.staking,
      mining_pool: meta.pool,
    },
    data: [
      {
        pubkey: meta.address,
        signed_proposals: record
          .proposalEntries()
          .sort(byKey)
          .map((p) => ({
            epoch: p.epoch.toString(),
            period: p.period.toString(),
            round: String(p.round),
            digest: p.digest,
          })),
        signed_reports: record.reportEntries().map((r) => ({
          epoch: r.epoch.toString(),
          period: r.period.toString(),
          prev_period: r.prevPeriod === null ? null : r.prevPeriod.toString(),
          signing_root: r.digest,
        })),
      },
    ],
  };
}

/**
 * Reads the entries of `address` from an interchange document, checking that it is for `meta`'s chain and
 * contracts. Throws `SLASHING_PROTECTION_IMPORT` naming the offending value.
 */
export function importRecord(
  doc: unknown,
  meta: RecordMeta,
): { proposals: ProposalSignature[]; reports: ReportSignature[] } {
  const fail = (message: string, value?: unknown): never => {
    throw new HmsError("SLASHING_PROTECTION_IMPORT", message, { value });
  };
  const d = doc as InterchangeDocument;
  if (d === null || typeof d !== "object" || d.metadata?.interchange_format !== "hms-signing-record")
    fail("not an HMS signing-record interchange document", (d as { metadata?: unknown })?.metadata);
  if (d.metadata.interchange_format_version !== "1") fail("unsupported version", d.metadata.interchange_format_version);
  if (d.metadata.chain_id !== String(meta.chainId))
    fail(`document is for chain ${d.metadata.chain_id}`, d.metadata.chain_id);
  if (d.metadata.staking_contract.toLowerCase() !== meta.staking.toLowerCase())
    fail(`document is for staking contract ${d.metadata.staking_contract}`, d.metadata.staking_contract);
  if (d.metadata.mining_pool.toLowerCase() !== meta.pool.toLowerCase())
    fail(`document is for mining pool ${d.metadata.mining_pool}`, d.metadata.mining_pool);
  if (!Array.isArray(d.data)) fail("data must be an array", d.data);
  const proposals: ProposalSignature[] = [];
  const reports: ReportSignature[] = [];
  const hex32 = /^0x[0-9a-fA-F]{64}$/;
  const num = /^\d{1,20}$/;
  for (const entry of d.data) {
    if (entry?.pubkey?.toLowerCase() !== meta.address.toLowerCase()) continue;
    for (const p of entry.signed_proposals ?? []) {
      if (!num.test(p.epoch) || !num.test(p.period) || !num.test(p.round) || !hex32.test(p.digest))
        fail("malformed signed proposal", p);
      proposals.push({ epoch: BigInt(p.epoch), period: BigInt(p.period), round: Number(p.round), digest: p.digest });
    }
    for (const r of entry.signed_reports ?? []) {
      if (
        !num.test(r.epoch) ||
        !num.test(r.period) ||
        (r.prev_period !== null && !num.test(r.prev_period)) ||
        !hex32.test(r.signing_root)
      )
        fail("malformed signed report", r);
      reports.push({
        epoch: BigInt(r.epoch),
        period: BigInt(r.period),
        prevPeriod: r.prev_period === null ? null : BigInt(r.prev_period),
        digest: r.signing_root,
      });
    }
  }
  return { proposals, reports };
}

/**
 * Wraps a PBFT crypto provider so that every signature other than a Proposal (which {@link GuardedCrypto}
 * in crypto.ts guards) is first recorded in `record`: a conflicting one throws, and the replica then
 * withholds that message. The node's `beforeAct` must flush the record before acting.
 */
export function guardVotes(inner: PbftCrypto, record: SigningRecordStore): PbftCrypto {
  return {
    sign: (item) => {
      if (item.type !== "Proposal") record.guardSignable(item);
      return inner.sign(item);
    },
    verify: (item, sig, signer) => inner.verify(item, sig, signer),
    digest: (request) => inner.digest(request),
    hash: (text) => inner.hash(text),
  };
}
