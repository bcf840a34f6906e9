/**
 * Typed failures of the validator daemon and the process exit codes they map to (documented in
 * docs/VALIDATOR.md):
 *
 * | code | exit | meaning |
 * |---|---:|---|
 * | CONFIG_INVALID / CONFIG_FILE / CONFIG_ENV / VALIDATOR_NO_KEY / VALIDATOR_KEY_FILE / DEPLOYMENT / STORE_OPEN / SLASHING_PROTECTION_META | 2 | configuration: bad or missing setting, no key, unusable deployment file or data directory |
 * | VALIDATOR_WRONG_CHAIN | 3 | the RPC serves another chain than the deployment file's |
 * | VALIDATOR_UNREGISTERED | 4 | the key is not a registered bookkeeper's signing key |
 * | VALIDATOR_RPC_UNREACHABLE | 5 | the RPC did not answer within the retries |
 * | SLASHING_PROTECTION | 6 | the signing record refused a conflicting signature: stopped to stay safe |
 * | anything else | 1 | unexpected failure |
 */
import { HmsError, isHmsError, type HmsErrorOptions } from "../core/errors";

export const EXIT_CODES = {
  ok: 0,
  failure: 1,
  config: 2,
  wrongChain: 3,
  unregistered: 4,
  rpcUnreachable: 5,
  slashingProtection: 6,
} as const;

/** A validator start-up or run-time failure with a documented exit code. */
export class ValidatorError extends HmsError {
  constructor(
    code:
      | "VALIDATOR_NO_KEY"
      | "VALIDATOR_KEY_FILE"
      | "VALIDATOR_WRONG_CHAIN"
      | "VALIDATOR_UNREGISTERED"
      | "VALIDATOR_RPC_UNREACHABLE",
    message: string,
    options: HmsErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

const CONFIG_CODES = new Set([
  "CONFIG_INVALID",
  "CONFIG_FILE",
  "CONFIG_ENV",
  "VALIDATOR_NO_KEY",
  "VALIDATOR_KEY_FILE",
  "DEPLOYMENT",
  "STORE_OPEN",
  "SLASHING_PROTECTION_META",
  "SLASHING_PROTECTION_IMPORT",
  "TRAFFIC_CONFIG",
]);

/** The process exit code for an error (see the table above). */
export function exitCodeOf(err: unknown): number {
  if (!isHmsError(err)) return EXIT_CODES.failure;
  if (CONFIG_CODES.has(err.code)) return EXIT_CODES.config;
  switch (err.code) {
    case "VALIDATOR_WRONG_CHAIN":
      return EXIT_CODES.wrongChain;
    case "VALIDATOR_UNREGISTERED":
      return EXIT_CODES.unregistered;
    case "VALIDATOR_RPC_UNREACHABLE":
      return EXIT_CODES.rpcUnreachable;
    case "SLASHING_PROTECTION":
      return EXIT_CODES.slashingProtection;
    default:
      return EXIT_CODES.failure;
  }
}
