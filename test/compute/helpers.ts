/**
 * Compute test fixtures: the deployed system with a registered Container node (operator #12, its signing key),
 * a user (#16) holding HMS, the compute SDK client of that user, and a worker started in-process on the
 * Hardhat network with a chosen runtime.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { getAddress, keccak256, toHex, type Hex, type PublicClient, type WalletClient } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { hmsContracts } from "../../offchain/chain";
import { keyRegistrationProof } from "../../offchain/chain/staking";
import { silentLogger } from "../../offchain/core/logger";
import { Metrics } from "../../offchain/core/metrics";
import type { ComputeClient } from "../../offchain/client/compute";
import { ComputeWorker, type ComputeWorkerOptions } from "../../offchain/compute/worker";
import type { WorkloadRuntime } from "../../offchain/compute/runtime/types";
import { HMS, deploySystemFixture } from "../helpers/fixtures";

export const GWEI = 10n ** 9n;
const MNEMONIC = "test test test test test test test test test test test junk";
export const hardhatAccount = (i: number) => mnemonicToAccount(MNEMONIC, { addressIndex: i });

export function computeNodeId(i: number): Hex {
  return keccak256(toHex(`hms-test/compute-node/${i}`));
}
export function computeNodePrivateKey(i: number): Hex {
  return keccak256(toHex(`hms-test/compute-node-key/${i}`));
}
export function computeNodeKey(i: number) {
  return privateKeyToAccount(computeNodePrivateKey(i));
}

/** Deploys, funds user #16, and registers compute nodes 0 and 1 (operators #12 and #13). */
export async function computeSystem() {
  const system = await deploySystemFixture({ marketOracle: getAddress(hardhatAccount(9).address) });
  const publicClient = (await hre.viem.getPublicClient()) as unknown as PublicClient;
  const wallets = await hre.viem.getWalletClients();
  const as = (i: number) => hmsContracts({ public: publicClient, wallet: wallets[i] }, system.deployment);
  const wait = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });
  await wait(await as(0).TokenAllocation.write.release([0]));
  await wait(await as(2).HMSToken.write.transfer([getAddress(wallets[16].account.address), HMS(10_000)]));
  const chainId = await publicClient.getChainId();
  for (const i of [0, 1]) {
    const operator = 12 + i;
    const nodeId = computeNodeId(i);
    const proof = await keyRegistrationProof(computeNodeKey(i), {
      chainId,
      registry: system.deployment.contracts.NodeRegistry.address,
      registrant: getAddress(wallets[operator].account.address),
      subject: nodeId,
    });
    await wait(
      await as(operator).NodeRegistry.write.registerNode([
        {
          nodeId,
          kind: 1, // Container
          tier: 1,
          region: 276,
          capacity: 64n,
          signingKey: computeNodeKey(i).address,
          payout: getAddress(wallets[operator].account.address),
          endpoint: `http://127.0.0.1:${17_400 + i}`,
        },
        proof,
      ]),
    );
  }
  const user: ComputeClient = {
    public: publicClient,
    wallet: wallets[16] as unknown as WalletClient,
    account: hardhatAccount(16),
    chainId,
    contracts: {
      token: system.deployment.contracts.HMSToken.address,
      market: system.deployment.contracts.ResourceMarket.address,
      nodeRegistry: system.deployment.contracts.NodeRegistry.address,
    },
  };
  return { system, publicClient, wallets, as, wait, chainId, user };
}

export type ComputeSystem = Awaited<ReturnType<typeof computeSystem>>;

/** Starts worker `i` in-process (port 17400 + i, as registered) with `runtime` and a fresh or given data dir. */
export async function startComputeWorker(
  s: ComputeSystem,
  i: number,
  runtime: WorkloadRuntime,
  overrides: Partial<ComputeWorkerOptions> = {},
): Promise<ComputeWorker> {
  const dataDir = overrides.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `hms-compute-${i}-`));
  return ComputeWorker.start({
    nodeId: computeNodeId(i),
    privateKey: keccak256(toHex(`hms-test/compute-node-key/${i}`)),
    dataDir,
    host: "127.0.0.1",
    port: 17_400 + i,
    chainId: s.chainId,
    nodeRegistry: s.user.contracts.nodeRegistry,
    market: s.user.contracts.market,
    publicClient: s.publicClient,
    operator: s.wallets[12 + i] as unknown as WalletClient,
    offer: { units: 16n, pricePerUnitSecond: GWEI, minDuration: 60n, maxDuration: 30n * 86_400n },
    runtime,
    pollMs: 200,
    sampleMs: 200,
    periodMs: 1_000,
    stopGraceMs: 1_000,
    logger: silentLogger(),
    metrics: new Metrics(),
    ...overrides,
  });
}

export async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
