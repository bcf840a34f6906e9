/**
 * Shared fixtures: deploy the system through the same code path as `npm run deploy:local`
 * (offchain/chain/deploy.ts, viem) and attach typechain/ethers handles for chai matchers.
 */
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deploySystem, localDeployOptions, type Deployment, type DeployOptions } from "../../offchain/chain";
import {
  BookkeeperCouncil__factory,
  BookkeeperStaking__factory,
  HMSToken__factory,
  HMSTimelock__factory,
  NodeRegistry__factory,
  TokenAllocation__factory,
} from "../../typechain-types";

/** TokenAllocation.Bucket */
export const Bucket = { IDO: 0, Technology: 1, Operation: 2, Foundation: 3, Mining: 4 } as const;

export const HMS = (n: bigint | number) => BigInt(n) * 10n ** 18n;
export const YEAR = 365n * 24n * 3600n;
export const QUARTER = YEAR / 4n;

export async function deploySystemFixture(options: DeployOptions = {}) {
  const publicClient = await hre.viem.getPublicClient();
  const wallets = await hre.viem.getWalletClients();
  const signers = await hre.ethers.getSigners();
  const [deployer, foundation, ido, technology, foundationBeneficiary] = signers;
  const deployment: Deployment = await deploySystem(publicClient, wallets[0], hre.artifacts, {
    ...localDeployOptions(wallets.map((w) => w.account.address)),
    network: hre.network.name,
    ...options,
  });
  const at = (name: string) => deployment.contracts[name].address;
  const allocation = TokenAllocation__factory.connect(at("TokenAllocation"), deployer);
  return {
    deployment,
    signers,
    deployer,
    foundation,
    ido,
    technology,
    foundationBeneficiary,
    token: HMSToken__factory.connect(at("HMSToken"), deployer),
    allocation,
    timelock: HMSTimelock__factory.connect(at("HMSTimelock"), deployer),
    tge: await allocation.tge(),
    nodeRegistry: NodeRegistry__factory.connect(at("NodeRegistry"), deployer),
    staking: BookkeeperStaking__factory.connect(at("BookkeeperStaking"), deployer),
    council: BookkeeperCouncil__factory.connect(at("BookkeeperCouncil"), deployer),
  };
}

/** The default system, deployed once per test file and reverted to between tests. */
export function systemFixture() {
  return loadFixture(defaultSystem);
}
async function defaultSystem() {
  return deploySystemFixture();
}
