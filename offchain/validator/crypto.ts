/**
 * The PBFT crypto provider of a validator: the production EIP-712 provider with the signing record in front
 * of every `Proposal` (pre-prepare) signature. A new proposal is recorded (pending) before it is signed; the
 * PBFT node's `beforeAct` hook flushes the record after the replica state and before any message leaves the
 * process. A conflicting proposal throws {@link SlashingProtectionError}: the replica's event loop stops and
 * the daemon exits (code 6) rather than sign it.
 */
import type { Address, Hex } from "viem";
import type { Logger } from "pino";
import type { PbftCrypto, Signable } from "../consensus/pbft/types";
import { SlashingProtectionError, type SigningRecordStore } from "./signing-record";

export class GuardedCrypto implements PbftCrypto {
  constructor(
    private readonly inner: PbftCrypto,
    private readonly record: SigningRecordStore,
    private readonly options: {
      logger?: Logger;
      onSigned?: (item: Signable) => void;
      onRefused?: (err: SlashingProtectionError) => void;
    } = {},
  ) {}

  sign(item: Signable): Hex {
    if (item.type === "Proposal") {
      const m = item.message;
      let outcome: "sign" | "repeat";
      try {
        outcome = this.record.guardProposal({ epoch: m.epoch, period: m.period, round: m.round, digest: m.digest });
      } catch (err) {
        if (err instanceof SlashingProtectionError) {
          this.options.logger?.fatal({ err, epoch: m.epoch, period: m.period, round: m.round }, "signature refused");
          this.options.onRefused?.(err);
        }
        throw err;
      }
      this.options.logger?.info(
        {
          kind: "proposal",
          epoch: m.epoch.toString(),
          period: m.period.toString(),
          round: m.round,
          digest: m.digest,
          repeat: outcome === "repeat",
        },
        "signed",
      );
    }
    const signature = this.inner.sign(item);
    this.options.onSigned?.(item);
    return signature;
  }

  verify(item: Signable, signature: Hex, signer: Address): boolean {
    return this.inner.verify(item, signature, signer);
  }

  digest(request: string): Hex {
    return this.inner.digest(request);
  }

  hash(text: string): Hex {
    return this.inner.hash(text);
  }
}
