/**
 * Typed start-up and run-time failures of the validator daemon. Their codes, meanings and exit codes are in the
 * one registry (offchain/core/error-codes.ts, docs/ERRORS.md); `exitCodeOf` is the registry's.
 */
import { HmsError, type ErrorCode, type HmsErrorOptions } from "../core/errors";

export { EXIT_CODES, exitCodeOf } from "../core/errors";

/** A validator start-up or run-time failure with a documented exit code. */
export class ValidatorError extends HmsError {
  constructor(code: Extract<ErrorCode, `VALIDATOR_${string}`>, message: string, options: HmsErrorOptions = {}) {
    super(code, message, options);
  }
}
