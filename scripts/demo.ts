/**
 * `npm run demo` — the main job, end to end on embedded defaults: Hardhat's in-process chain, the
 * whole system deployed with the same code as `npm run deploy:local`, then one chapter per
 * capability. Exits 0 when every chapter succeeded.
 */
import hre from "hardhat";
import { deploySystem, deploymentPath, localDeployOptions, writeDeployment } from "../offchain/chain";
import { makeContext, heading } from "./demo/context";
import { allocationChapter } from "./demo/allocation";
import { bookkeepersChapter } from "./demo/bookkeepers";
import { rewardsChapter } from "./demo/rewards";
import { marketChapter } from "./demo/market";
import { storageChapter } from "./demo/storage";
import { validatorsChapter } from "./demo/validators";
import { computeChapter } from "./demo/compute";
import { devnetChapter } from "./demo/devnet";
import { startDemoDashboard } from "./demo/dashboard";

async function main() {
  const started = Date.now();
  const publicClient = await hre.viem.getPublicClient();
  const testClient = await hre.viem.getTestClient();
  const wallets = await hre.viem.getWalletClients();
  heading(`HMS Network demo on the in-process Hardhat chain (${hre.network.name})`);
  const deployment = await deploySystem(publicClient, wallets[0], hre.artifacts, {
    ...localDeployOptions(wallets.map((w) => w.account.address)),
    network: hre.network.name,
    log: console.log,
  });
  const file = deploymentPath(hre.network.name, hre.config.paths.root);
  writeDeployment(file, deployment);
  console.log(`  deployment file: ${file}`);

  const ctx = makeContext(hre, publicClient, testClient, wallets, deployment);
  const dashboard = await startDemoDashboard(hre, deployment);
  ctx.dashboard = dashboard.server;
  try {
    await allocationChapter(ctx);
    await bookkeepersChapter(ctx);
    await rewardsChapter(ctx);
    await marketChapter(ctx);
    // The storage layer stays up for the validators: they report its receipts.
    const storage = await storageChapter(ctx);
    try {
      await validatorsChapter(ctx, storage);
    } finally {
      await storage.stop();
      console.log("  storage layer stopped (3 meta nodes, 3 storage workers)");
    }
    await computeChapter(ctx);
  } finally {
    await dashboard.close();
  }
  // The same network as separate processes on its own chain, driven only through the CLI.
  if (process.env.HMS_DEMO_DEVNET !== "0") await devnetChapter();

  heading(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
