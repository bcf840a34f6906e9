/**
 * The SDK's typed errors (viem style: one base with `shortMessage`, `details`, `docsPath`), each an `HmsError` with
 * a registered `SDK_*` code, so a CLI or a daemon ends with the registry's exit code. {@link toSdkError} classifies a
 * contract revert by its custom error (decoded against every HMS ABI, ERC-20 errors of the token included).
 */
import { BaseError as ViemBaseError, decodeErrorResult, type Abi, type Hex } from "viem";
import { abis } from "../chain/abis";
import { HmsError, type ErrorCode, type HmsErrorOptions } from "../core/errors";

/** Codes an SDK action raises. */
export type SdkErrorCode = Extract<ErrorCode, `SDK_${string}`>;

/** Base of every error an action throws on purpose. */
export class HmsSdkError extends HmsError {
  /** The message without details (viem's `shortMessage`). */
  readonly shortMessage: string;
  /** Where the docs explain it. */
  readonly docsPath: string;
  /** The contract's custom error, when the action reverted with one. */
  readonly errorName?: string;
  readonly errorArgs?: readonly unknown[];

  constructor(
    code: SdkErrorCode,
    shortMessage: string,
    options: HmsErrorOptions & { errorName?: string; errorArgs?: readonly unknown[]; docsPath?: string } = {},
  ) {
    super(code, shortMessage, {
      ...options,
      details: { ...(options.errorName ? { errorName: options.errorName } : {}), ...options.details },
    });
    this.shortMessage = shortMessage;
    this.docsPath = options.docsPath ?? "docs/SDK.md#errors";
    this.errorName = options.errorName;
    this.errorArgs = options.errorArgs;
  }
}

export type AccountNotFoundErrorType = HmsSdkError & { code: "SDK_NO_ACCOUNT" };
export type WrongChainErrorType = HmsSdkError & { code: "SDK_WRONG_CHAIN" };
export type InsufficientBalanceErrorType = HmsSdkError & { code: "SDK_INSUFFICIENT_BALANCE" };
export type NotRegisteredErrorType = HmsSdkError & { code: "SDK_NOT_REGISTERED" };
export type StakeLockedErrorType = HmsSdkError & { code: "SDK_STAKE_LOCKED" };
export type NotFoundErrorType = HmsSdkError & { code: "SDK_NOT_FOUND" };
export type InvalidInputErrorType = HmsSdkError & { code: "SDK_INVALID_INPUT" };
export type ConflictErrorType = HmsSdkError & { code: "SDK_CONFLICT" };
export type RevertedErrorType = HmsSdkError & { code: "SDK_REVERTED" };
export type RpcErrorType = HmsSdkError & { code: "SDK_RPC" };
/** What any write action may throw. */
export type WriteErrorType =
  | AccountNotFoundErrorType
  | WrongChainErrorType
  | InsufficientBalanceErrorType
  | NotRegisteredErrorType
  | StakeLockedErrorType
  | NotFoundErrorType
  | InvalidInputErrorType
  | ConflictErrorType
  | RevertedErrorType
  | RpcErrorType;
/** What any read action may throw. */
export type ReadErrorType = WrongChainErrorType | NotFoundErrorType | InvalidInputErrorType | RpcErrorType;

/** Every custom error of every HMS contract, deduplicated by signature: decodes any revert of the system. */
export const hmsErrorsAbi: Abi = (() => {
  const seen = new Map<string, Abi[number]>();
  for (const abi of Object.values(abis))
    for (const item of abi as Abi)
      if (item.type === "error") seen.set(`${item.name}(${item.inputs.map((i) => i.type).join(",")})`, item);
  return [...seen.values()];
})();

/** Custom errors by class (the rest are SDK_REVERTED with their name). */
const CLASSES: Record<string, SdkErrorCode> = {
  ERC20InsufficientBalance: "SDK_INSUFFICIENT_BALANCE",
  ERC20InsufficientAllowance: "SDK_INSUFFICIENT_BALANCE",
  InsufficientReserve: "SDK_INSUFFICIENT_BALANCE",
  NotRegistered: "SDK_NOT_REGISTERED",
  NotRegisteredBookkeeper: "SDK_NOT_REGISTERED",
  NotOperator: "SDK_NOT_REGISTERED",
  NotMember: "SDK_NOT_REGISTERED",
  NotCouncil: "SDK_NOT_REGISTERED",
  NotAdmitted: "SDK_NOT_REGISTERED",
  NotLeaseParty: "SDK_NOT_REGISTERED",
  NotLeaseUser: "SDK_NOT_REGISTERED",
  NotOrderUser: "SDK_NOT_REGISTERED",
  NoBookkeeperKey: "SDK_NOT_REGISTERED",
  NotPendingBeneficiary: "SDK_NOT_REGISTERED",
  AccessControlUnauthorizedAccount: "SDK_NOT_REGISTERED",
  NothingToWithdraw: "SDK_STAKE_LOCKED",
  MarginBelowMinimum: "SDK_STAKE_LOCKED",
  InsufficientMargin: "SDK_STAKE_LOCKED",
  InsufficientShares: "SDK_STAKE_LOCKED",
  UnknownNode: "SDK_NOT_FOUND",
  UnknownOffer: "SDK_NOT_FOUND",
  UnknownOrder: "SDK_NOT_FOUND",
  UnknownLease: "SDK_NOT_FOUND",
  PeriodNotReported: "SDK_NOT_FOUND",
  NoOpenMotion: "SDK_NOT_FOUND",
  AlreadyRegistered: "SDK_CONFLICT",
  NodeExists: "SDK_CONFLICT",
  KeyInUse: "SDK_CONFLICT",
  AlreadyClaimed: "SDK_CONFLICT",
  AlreadyVoted: "SDK_CONFLICT",
  OfferNotActive: "SDK_CONFLICT",
  OrderNotOpen: "SDK_CONFLICT",
  OrderExpired: "SDK_CONFLICT",
  LeaseNotActive: "SDK_CONFLICT",
  PriceAboveMax: "SDK_CONFLICT",
  InsufficientUnits: "SDK_CONFLICT",
  ClaimWindowClosed: "SDK_CONFLICT",
  CommissionTooHigh: "SDK_INVALID_INPUT",
  ZeroAmount: "SDK_INVALID_INPUT",
  ZeroAddress: "SDK_INVALID_INPUT",
  ERC20InvalidReceiver: "SDK_INVALID_INPUT",
};

const friendly: Record<SdkErrorCode, string> = {
  SDK_NO_ACCOUNT: "no account",
  SDK_WRONG_CHAIN: "wrong chain",
  SDK_INVALID_INPUT: "invalid input",
  SDK_NOT_FOUND: "not found",
  SDK_NOT_REGISTERED: "not registered or not allowed",
  SDK_INSUFFICIENT_BALANCE: "insufficient balance",
  SDK_STAKE_LOCKED: "stake locked",
  SDK_CONFLICT: "not allowed in the current state",
  SDK_REVERTED: "reverted",
  SDK_RPC: "RPC error",
};

function revertData(err: ViemBaseError): Hex | undefined {
  let data: Hex | undefined;
  err.walk((e) => {
    const d = (e as { raw?: unknown; data?: unknown }).raw ?? (e as { data?: unknown }).data;
    if (data === undefined && typeof d === "string" && d.startsWith("0x") && d.length >= 10) data = d as Hex;
    return false;
  });
  return data;
}

/** Formats decoded error arguments (bigints as decimal). */
function argsText(args: readonly unknown[] | undefined): string {
  return (args ?? []).map((a) => (typeof a === "bigint" ? a.toString() : String(a))).join(", ");
}

/**
 * An {@link HmsSdkError} for any failure of a contract call: a revert is classified by its custom error; RPC
 * failures become SDK_RPC; an HmsError passes through.
 */
export function toSdkError(err: unknown, what: string): HmsError {
  if (err instanceof HmsError) return err;
  if (err instanceof ViemBaseError) {
    const data = revertData(err);
    if (data !== undefined) {
      try {
        const decoded = decodeErrorResult({ abi: hmsErrorsAbi, data });
        const args = (decoded.args ?? []) as readonly unknown[];
        // The market's NothingToWithdraw(leaseId) is about a lease, not stake.
        const code =
          decoded.errorName === "NothingToWithdraw" && typeof args[0] === "bigint"
            ? "SDK_CONFLICT"
            : (CLASSES[decoded.errorName] ?? "SDK_REVERTED");
        return new HmsSdkError(code, `${what}: ${friendly[code]}: ${decoded.errorName}(${argsText(args)})`, {
          errorName: decoded.errorName,
          errorArgs: args,
          cause: err,
        });
      } catch {
        /* not one of ours: fall through */
      }
    }
    const name = err.walk((e) => (e as Error).name === "InsufficientFundsError");
    if (name) return new HmsSdkError("SDK_INSUFFICIENT_BALANCE", `${what}: not enough ETH for gas`, { cause: err });
    const reverted = err.walk((e) => /Revert|Execution/.test((e as Error).name));
    if (reverted) return new HmsSdkError("SDK_REVERTED", `${what}: reverted: ${err.shortMessage}`, { cause: err });
    return new HmsSdkError("SDK_RPC", `${what}: ${err.shortMessage}`, { cause: err });
  }
  return new HmsSdkError("SDK_RPC", `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
