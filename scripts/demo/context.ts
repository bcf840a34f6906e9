/**
 * What every demo chapter receives: the in-process chain's clients, the deployed system, typed
 * contracts and an output helper. Chapters live beside this file, one per capability.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { formatEther } from "viem";
import type { PublicClient, TestClient, WalletClient } from "@nomicfoundation/hardhat-viem/types";
import { hmsContracts, type Deployment, type HmsContracts } from "../../offchain/chain";

export interface DemoContext {
  hre: HardhatRuntimeEnvironment;
  publicClient: PublicClient;
  testClient: TestClient;
  /** Hardhat's local accounts: #0 deployer / governance proposer, #1 foundation, #2–#4 beneficiaries, … */
  wallets: WalletClient[];
  deployment: Deployment;
  hms: HmsContracts<{ public: PublicClient; wallet: WalletClient }>;
  /** Typed contracts acting as another local account. */
  as(wallet: WalletClient): HmsContracts<{ public: PublicClient; wallet: WalletClient }>;
  /** The dashboard serving the demo (scripts/demo/dashboard.ts): chapters that start daemons tell it to watch them. */
  dashboard?: { watch(add: { validators?: string[]; storage?: string[]; compute?: string[]; meta?: string[] }): void };
}

export function makeContext(
  hre: HardhatRuntimeEnvironment,
  publicClient: PublicClient,
  testClient: TestClient,
  wallets: WalletClient[],
  deployment: Deployment,
): DemoContext {
  const as = (wallet: WalletClient) => hmsContracts({ public: publicClient, wallet }, deployment);
  return { hre, publicClient, testClient, wallets, deployment, hms: as(wallets[0]), as };
}

/** `1234567.891 HMS` with thousands separators, for demo tables. */
export function hms(wei: bigint, decimals = 3): string {
  const [whole, frac = ""] = formatEther(wei).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const f = frac.slice(0, decimals).replace(/0+$/, "");
  return f ? `${grouped}.${f}` : grouped;
}

/** Prints an aligned text table. */
export function table(headers: string[], rows: (string | number | bigint)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) =>
    "  " + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(cells[0]));
  console.log("  " + widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells.slice(1)) console.log(line(r));
}

export function heading(title: string): void {
  console.log(`\n== ${title} ${"=".repeat(Math.max(0, 90 - title.length))}`);
}

export { demoBookkeeperKey, demoBookkeeperPrivateKey, demoNodeId, demoNodeKey } from "../../offchain/devnet/accounts";
