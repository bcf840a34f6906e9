/**
 * In-process `hms` runs against Hardhat's in-process chain: the system deployed through deploySystem, its
 * deployment file in a temp directory, and `hms(argv, env)` returning the exit code and output (offchain/cli/runtime.ts
 * runCli with a viem transport over hre.network.provider instead of HTTP).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { custom, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import {
  deploySystem,
  localDeployOptions,
  writeDeployment,
  HARDHAT_MNEMONIC,
  type Deployment,
} from "../../offchain/chain";
import { hardhatPrivateKey } from "../../offchain/chain/local";
import { program } from "../../offchain/cli";
import { runCli, type CliRun } from "../../offchain/cli/runtime";

export const HMS = (n: number | bigint) => BigInt(n) * 10n ** 18n;

/** Hardhat account #i's private key (for `HMS_PRIVATE_KEY`). */
export function hardhatKey(i: number): Hex {
  return hardhatPrivateKey(i);
}
export const hardhatAddress = (i: number) => mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i }).address;

export interface CliSystem {
  deployment: Deployment;
  file: string;
  dir: string;
  /** `hms <argv>` in-process; `env` is the whole environment the command sees. */
  hms(argv: string[], env?: Record<string, string | undefined>, answers?: string[]): Promise<CliRun>;
  /** Same, signing as Hardhat account #i, `--yes` implied. */
  as(i: number, argv: string[], env?: Record<string, string | undefined>): Promise<CliRun>;
}

/** Deploys the system and writes its deployment file (use with loadFixture). */
export async function cliSystem(): Promise<CliSystem> {
  const publicClient = await hre.viem.getPublicClient();
  const wallets = await hre.viem.getWalletClients();
  const deployment = await deploySystem(publicClient, wallets[0], hre.artifacts, {
    ...localDeployOptions(wallets.map((w) => w.account.address)),
    network: "hardhat",
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-cli-"));
  const file = path.join(dir, "deployment.json");
  writeDeployment(file, deployment);
  const transport = custom(hre.network.provider);
  const hms = (argv: string[], env: Record<string, string | undefined> = {}, answers?: string[]) =>
    runCli(program, argv, { env: { HMS_DEPLOYMENT: file, HOME: dir, ...env }, transport, answers });
  return {
    deployment,
    file,
    dir,
    hms,
    as: (i, argv, env = {}) => hms([...argv, "--yes"], { HMS_PRIVATE_KEY: hardhatKey(i), ...env }),
  };
}

/** Parses a command's JSON output. */
export function json<T = Record<string, unknown>>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
  }
}
