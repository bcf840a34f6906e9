/**
 * What the user commands (`hms run`, `ps`, `logs`, `stop`) share: the user's compute client from the options
 * (`--rpc-url`, `--deployment`, the key from `--key-file` or `HMS_USER_PRIVATE_KEY`, never the command line),
 * progress lines on stderr, and one JSON document on stdout with `--json`.
 */
import fs from "node:fs";
import { createPublicClient, createWalletClient, http, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { contractAddress, loadDeployment } from "../../chain/deployment";
import { exitCodeOf, HmsError, isHmsError } from "../../core/errors";
import type { ComputeClient } from "../../client/compute";

export interface UserOptions {
  rpcUrl: string;
  deployment: string;
  keyFile?: string;
  json?: boolean;
}

export function userOptions<T extends { option: (...a: string[]) => T }>(cmd: T): T {
  return cmd
    .option("--rpc-url <url>", "JSON-RPC endpoint", process.env.HMS_RPC_URL ?? "http://127.0.0.1:8545")
    .option("--deployment <file|network>", "deployment file or network name", process.env.HMS_DEPLOYMENT ?? "localhost")
    .option("--key-file <file>", "the user's private key file (or HMS_USER_PRIVATE_KEY)")
    .option("--json", "print one JSON document on stdout");
}

export async function userClient(o: UserOptions): Promise<ComputeClient> {
  let key = process.env.HMS_USER_PRIVATE_KEY;
  if (o.keyFile) key = fs.readFileSync(o.keyFile, "utf8").trim();
  if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new HmsError("CONFIG_USAGE", "no user key: give --key-file or HMS_USER_PRIVATE_KEY (0x + 64 hex digits)", {
      value: "HMS_USER_PRIVATE_KEY",
    });
  const d = loadDeployment(o.deployment);
  const account = privateKeyToAccount(key as Hex);
  const chain = {
    id: d.chainId,
    name: `chain-${d.chainId}`,
    nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [o.rpcUrl] } },
  };
  return {
    public: createPublicClient({ chain, transport: http(o.rpcUrl) }) as PublicClient,
    wallet: createWalletClient({ account, chain, transport: http(o.rpcUrl) }),
    account,
    chainId: d.chainId,
    contracts: {
      token: contractAddress(d, "HMSToken"),
      market: contractAddress(d, "ResourceMarket"),
      nodeRegistry: contractAddress(d, "NodeRegistry"),
    },
  };
}

/** A progress line on stderr (silent with --json). */
export function progress(o: { json?: boolean }, line: string): void {
  if (!o.json) process.stderr.write(`${line}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
}

/** Ends a command that failed: its code and message on stderr (and as JSON with --json), its exit code. */
export function fail(o: { json?: boolean }, command: string, err: unknown): never {
  const code = isHmsError(err) ? err.code : "ERROR";
  const message = (err as Error)?.message ?? String(err);
  if (o.json) printJson({ ok: false, error: isHmsError(err) ? err.toJSON() : { code, message } });
  process.stderr.write(`hms ${command}: ${code}: ${message}\n`);
  process.exit(exitCodeOf(err));
}

/** HMS wei as a decimal HMS string. */
export function hms(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = (wei % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}
