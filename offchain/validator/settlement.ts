/**
 * What a validator does about a report that landed (issue 16 B.2, the validator's half). The signer bitmap of
 * `submitReport` is the submitter's choice, so a report can land without signatures its committee made: a member
 * whose signature is missing adds it with `addSignatures` while the window is open (until the attestation's
 * `signaturesUntil`); `settleBookkeepers` reverts `SignatureWindowOpen` before then, so it is only attempted
 * after. Pure: chain facts in, a decision out.
 */

export type LandedDuty = { kind: "add-signature" } | { kind: "wait"; until: bigint } | { kind: "settle" };

export interface LandedFacts {
  /** Chain time (latest block's timestamp). */
  chainTime: bigint;
  /** The attestation's `signaturesUntil`. */
  signaturesUntil: bigint;
  /** Every signer recorded: the submitted bitmap | the bits added since (`signersOf`). */
  signers: bigint;
  /** This validator's bit in the epoch's committee (its index in the committee keys), or -1 if not a member. */
  position: number;
  /** Whether this validator signed this very report (holds its signature of the landed digest). */
  signed: boolean;
}

/** The next step for a landed report: add this validator's missing signature, wait for the window, or settle. */
export function landedDuty(f: LandedFacts): LandedDuty {
  if (f.chainTime < f.signaturesUntil) {
    const recorded = f.position >= 0 && ((f.signers >> BigInt(f.position)) & 1n) === 1n;
    if (f.signed && f.position >= 0 && !recorded) return { kind: "add-signature" };
    return { kind: "wait", until: f.signaturesUntil };
  }
  return { kind: "settle" };
}
