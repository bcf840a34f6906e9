/**
 * Can this validator pay for its transactions? The signing key pays the gas of `submitReport`, `elect`,
 * `settleBookkeepers`, `reportEquivocation` and `addSignatures`. An unfunded key is not fatal — the validator
 * still signs, and the others transmit — but it must be visible: the balance is checked at start and every
 * `intervalMs`, a change is logged in one line, `/health` says `ok: false` with the reason, and transactions
 * are not attempted while the balance is below the minimum (`VALIDATOR_NO_GAS`) instead of failing one by one
 * with viem's multi-line dumps. I/O only through the injected `balance` reader.
 */
import type { Logger } from "pino";
import { BaseError } from "viem";
import { HmsError } from "../core/errors";

/** What `/health` shows about gas. */
export interface GasStatus {
  ok: boolean;
  /** Balance in wei (decimal), once read. */
  balanceWei?: string;
  /** One line, when not ok. */
  reason?: string;
}

export interface GasWatchOptions {
  /** The paying account (the signing key's address). */
  address: string;
  /** Below this balance (wei) transactions are not attempted. */
  minBalanceWei: bigint;
  /** Reads the account's balance (the chain edge). */
  balance: () => Promise<bigint>;
  /** Re-check period, ms. */
  intervalMs: number;
  logger?: Logger;
  now?: () => number;
}

/** One line for any error a chain call raised: viem's short message (no request dump), at most 240 characters. */
export function describeChainError(err: unknown): string {
  const e = err as { shortMessage?: unknown; message?: unknown } | undefined;
  const text =
    typeof e?.shortMessage === "string" && e.shortMessage !== ""
      ? e.shortMessage
      : String((e?.message as string | undefined) ?? err);
  const line = text.split("\n")[0].trim();
  return line.length > 240 ? `${line.slice(0, 240)}…` : line;
}

/** True if `err` says the account cannot pay (viem's InsufficientFundsError, or a node's equivalent text). */
export function isInsufficientFunds(err: unknown): boolean {
  if (err instanceof BaseError && err.walk((e) => (e as Error).name === "InsufficientFundsError")) return true;
  const text = `${(err as Error)?.message ?? err}`;
  return /insufficient funds|exceeds the balance of the account|sender doesn't have enough funds/i.test(text);
}

export class GasWatch {
  private state: GasStatus = { ok: true };
  private checkedAt = -Infinity;
  private checking: Promise<GasStatus> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: GasWatchOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The last known status. */
  get status(): GasStatus {
    return { ...this.state };
  }

  /** Reads the balance if `intervalMs` passed since the last read (or `force`); logs a change in one line. */
  async check(force = false): Promise<GasStatus> {
    if (!force && this.now() - this.checkedAt < this.options.intervalMs) return this.status;
    this.checking ??= this.read().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async read(): Promise<GasStatus> {
    let balance: bigint;
    try {
      balance = await this.options.balance();
    } catch (err) {
      // Unknown is not "empty": keep the last status, try again next time.
      this.options.logger?.warn({ error: describeChainError(err) }, "balance check failed");
      return this.status;
    }
    this.checkedAt = this.now();
    this.set(balance);
    return this.status;
  }

  private set(balance: bigint): void {
    const min = this.options.minBalanceWei;
    const ok = balance >= min;
    const reason = ok
      ? undefined
      : `account ${this.options.address} cannot pay for gas: balance ${balance} wei is below the minimum ${min} wei (fund it)`;
    const was = this.state.ok;
    this.state = { ok, balanceWei: balance.toString(), ...(reason ? { reason } : {}) };
    if (!ok && was)
      this.options.logger?.warn({ balanceWei: balance.toString(), minBalanceWei: min.toString() }, reason);
    else if (ok && !was)
      this.options.logger?.info({ balanceWei: balance.toString() }, "account funded: transactions resume");
  }

  /**
   * Throws `VALIDATOR_NO_GAS` (one line) while the balance is known to be below the minimum; call before a
   * transaction.
   */
  async ensureCanPay(label: string): Promise<void> {
    const s = await this.check();
    if (!s.ok)
      throw new HmsError("VALIDATOR_NO_GAS", `${label} not sent: ${s.reason}`, {
        value: s.balanceWei,
        details: { address: this.options.address },
      });
  }

  /** Notes a failed transaction: an insufficient-funds failure forces a re-check (and so the one-line status). */
  async noteFailure(err: unknown): Promise<void> {
    if (isInsufficientFunds(err)) await this.check(true);
  }
}
