/**
 * What a signature commits a replica to: the *slot* a signed PBFT message occupies and the *value* it
 * puts there. Two signatures of one signer in one slot with different values are a conflict — for a
 * pre-prepare (EIP-712 `Proposal`) slashable equivocation, for the other votes the amnesia that lets
 * two quorums decide differently. The validator's signing record (offchain/validator/signing-record.ts)
 * and the simulator's guard both key their entries with {@link signedSlot}, so they agree on what is a
 * conflict. Pure.
 *
 *   Proposal        (epoch, round = view, period = seq)      → digest
 *   PbftVote        (phase, epoch, view, seq)                 → digest      (phase 1 prepare, 2 commit)
 *   PbftCheckpoint  (epoch, seq)                              → stateDigest
 *   PbftViewChange  (epoch, newView)                          → stableSeq, stableDigest, certsHash
 *   PbftNewView     (epoch, view)                             → contentHash
 */
import { HmsError } from "../../core/errors";
import type { Signable } from "./types";

export type SlotKind = "proposal" | "prepare" | "commit" | "checkpoint" | "view-change" | "new-view";

export interface SignedSlot {
  kind: SlotKind;
  epoch: bigint;
  /** View (round) of the slot; the checkpoint has none (-1). */
  view: number;
  /** Sequence number of the slot; view-changes and new-views have none (-1). */
  seq: bigint;
  /** `kind/epoch/view/seq`: equal keys, one slot. */
  key: string;
  /** What the signature puts in the slot (lower-case). */
  value: string;
}

const low = (x: string) => x.toLowerCase();

/** The slot and value of a signable. */
export function signedSlot(item: Signable): SignedSlot {
  let kind: SlotKind;
  let epoch: bigint;
  let view = -1;
  let seq = -1n;
  let value: string;
  switch (item.type) {
    case "Proposal":
      kind = "proposal";
      ({ epoch } = item.message);
      view = item.message.round;
      seq = item.message.period;
      value = low(item.message.digest);
      break;
    case "PbftVote":
      kind = item.message.phase === 1 ? "prepare" : "commit";
      ({ epoch, view, seq } = item.message);
      value = low(item.message.digest);
      break;
    case "PbftCheckpoint":
      kind = "checkpoint";
      ({ epoch, seq } = item.message);
      value = low(item.message.stateDigest);
      break;
    case "PbftViewChange":
      kind = "view-change";
      epoch = item.message.epoch;
      view = item.message.newView;
      value = low(`${item.message.stableSeq}:${item.message.stableDigest}:${item.message.certsHash}`);
      break;
    case "PbftNewView":
      kind = "new-view";
      ({ epoch, view } = item.message);
      value = low(item.message.contentHash);
      break;
  }
  return { kind, epoch, view, seq, key: `${kind}/${epoch}/${view}/${seq}`, value };
}

/** A signature refused because its slot already holds another value. Code `SLASHING_PROTECTION`. */
export class SignatureConflictError extends HmsError {
  constructor(slot: SignedSlot, existing: string) {
    super("SLASHING_PROTECTION", `already signed ${existing} in ${slot.key}; refusing ${slot.value}`, {
      value: existing,
      details: { slot: slot.key, attempted: slot.value },
    });
  }
}

/** Kinds that commit to a request at a seq (what a replica's view-changes must account for). */
export function isVote(kind: SlotKind): boolean {
  return kind === "proposal" || kind === "prepare" || kind === "commit";
}

/** In-memory guard (simulator, tests): remembers every slot signed and refuses a conflicting value. */
export class SlotGuard {
  private readonly slots = new Map<string, string>();
  private readonly highest = new Map<bigint, number>();

  get size(): number {
    return this.slots.size;
  }

  /** Highest seq of a pre-prepare, prepare or commit signed in `epoch` (0: none). */
  highestVotedSeq(epoch: bigint): number {
    return this.highest.get(epoch) ?? 0;
  }

  /** "sign" (new, now recorded), "repeat" (same value again) — or throws {@link SignatureConflictError}. */
  guard(item: Signable): "sign" | "repeat" {
    const slot = signedSlot(item);
    const existing = this.slots.get(slot.key);
    if (existing === undefined) {
      this.slots.set(slot.key, slot.value);
      if (isVote(slot.kind) && Number(slot.seq) > this.highestVotedSeq(slot.epoch))
        this.highest.set(slot.epoch, Number(slot.seq));
      return "sign";
    }
    if (existing === slot.value) return "repeat";
    throw new SignatureConflictError(slot, existing);
  }
}
