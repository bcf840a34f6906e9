/**
 * `npm run deploy:local` — deploys the whole system to the chain Hardhat is pointed at (by default
 * `--network localhost`, i.e. `npx hardhat node` on 127.0.0.1:8545) and writes
 * `deployments/<network>.json`.
 *
 * Local roles use Hardhat's well-known accounts: #0 deployer and timelock proposer, #1 foundation
 * (FOUNDATION_ROLE), #2 IDO, #3 Technology and #4 Foundation bucket beneficiaries; #1, #18 and #19 form the
 * bookkeeper council.
 */
import hre from "hardhat";
import { deploySystem, deploymentPath, localDeployOptions, writeDeployment } from "../offchain/chain";

async function main() {
  const publicClient = await hre.viem.getPublicClient();
  const wallets = await hre.viem.getWalletClients();
  const deployer = wallets[0];
  const network = hre.network.name;
  console.log(
    `Deploying HMS Network to ${network} (chain ${await publicClient.getChainId()}) from ${deployer.account.address}`,
  );
  const deployment = await deploySystem(publicClient, deployer, hre.artifacts, {
    ...localDeployOptions(wallets.map((w) => w.account.address)),
    network,
    log: console.log,
  });
  const file = deploymentPath(network, hre.config.paths.root);
  writeDeployment(file, deployment);
  console.log(`Wrote ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
