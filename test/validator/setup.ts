/**
 * On-chain set-up for the validator integration tests: the system deployed with the deployment code, three
 * resource nodes (operators #12–#14, signing keys `demoNodeKey(i)`), four bookkeepers (#5–#8) with the demo
 * bookkeeper signing keys, those keys funded with ether for gas, the deployment file written to `dir`.
 * No election: the validators elect themselves.
 */
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { keccak256, parseEther, toHex, type Address, type Hash, type Hex } from "viem";
import { privateKeyToAccount, privateKeyToAddress } from "viem/accounts";
import { deploySystem, localDeployOptions, writeDeployment, type Deployment } from "../../offchain/chain";
import { hmsContracts } from "../../offchain/chain/contracts";
import { demoBookkeeperPrivateKey, demoNodeId, demoNodeKey } from "../../offchain/devnet/accounts";
import { HMS } from "../helpers/fixtures";
import { BOOKKEEPER_KEY_SUBJECT, keyRegistrationProof } from "../../offchain/chain/staking";

export interface ValidatorSystem {
  deployment: Deployment;
  deploymentFile: string;
  bookkeeperKeys: Hex[];
  bookkeepers: Address[];
  nodes: Array<{ nodeId: Hex; privateKey: Hex; payout: Address }>;
}

/** Private key of demo node `i` (the account behind `demoNodeKey(i)`). */
export const nodePrivateKey = (i: number): Hex => keccak256(toHex(`hms-demo/node-key/${i}`));

export async function setupValidatorSystem(dir: string, bookkeeperCount = 4): Promise<ValidatorSystem> {
  const publicClient = await hre.viem.getPublicClient();
  const testClient = await hre.viem.getTestClient();
  const wallets = await hre.viem.getWalletClients();
  const deployment = await deploySystem(publicClient, wallets[0], hre.artifacts, {
    ...localDeployOptions(wallets.map((w) => w.account.address)),
    network: "validator-test",
  });
  const deploymentFile = path.join(dir, "deployment.json");
  writeDeployment(deploymentFile, deployment);
  const as = (i: number) => hmsContracts({ public: publicClient, wallet: wallets[i] }, deployment);
  const wait = async (hash: Hash) => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`set-up transaction ${hash} failed`);
  };
  const by = (i: number) => ({ account: wallets[i].account, chain: wallets[i].chain });

  const ido = as(2);
  if ((await ido.TokenAllocation.read.releasable([0])) > 0n)
    await wait(await ido.TokenAllocation.write.release([0], by(2)));
  const bookkeeperKeys: Hex[] = [];
  const bookkeepers: Address[] = [];
  for (let i = 0; i < bookkeeperCount; i++) {
    const w = 5 + i;
    const key = demoBookkeeperPrivateKey(i);
    bookkeeperKeys.push(key);
    bookkeepers.push(wallets[w].account.address);
    await wait(await ido.HMSToken.write.transfer([wallets[w].account.address, HMS(20_000)], by(2)));
    const bk = as(w);
    const proof = await keyRegistrationProof(privateKeyToAccount(key), {
      chainId: await publicClient.getChainId(),
      registry: deployment.contracts.NodeRegistry.address,
      registrant: wallets[w].account.address,
      subject: BOOKKEEPER_KEY_SUBJECT,
    });
    await wait(await bk.NodeRegistry.write.setBookkeeperKey([privateKeyToAddress(key), proof], by(w)));
    await wait(await bk.HMSToken.write.approve([bk.BookkeeperStaking.address, HMS(20_000)], by(w)));
    await wait(await bk.BookkeeperStaking.write.register([HMS(20_000) - BigInt(i) * HMS(1_000), 1_000], by(w)));
    await testClient.setBalance({ address: privateKeyToAddress(key), value: parseEther("100") });
  }
  const nodes = [];
  for (let i = 0; i < 3; i++) {
    const w = 12 + i;
    await wait(
      await as(w).NodeRegistry.write.registerNode(
        [
          {
            nodeId: demoNodeId(i),
            kind: 0,
            tier: 1,
            region: 156,
            capacity: 4_096n,
            signingKey: demoNodeKey(i).address,
            payout: wallets[w].account.address,
            endpoint: `http://127.0.0.1:${7101 + i}`,
          },
          await keyRegistrationProof(demoNodeKey(i), {
            chainId: await publicClient.getChainId(),
            registry: deployment.contracts.NodeRegistry.address,
            registrant: wallets[w].account.address,
            subject: demoNodeId(i),
          }),
        ],
        by(w),
      ),
    );
    nodes.push({ nodeId: demoNodeId(i), privateKey: nodePrivateKey(i), payout: wallets[w].account.address });
  }
  fs.mkdirSync(dir, { recursive: true });
  return { deployment, deploymentFile, bookkeeperKeys, bookkeepers, nodes };
}

/** Moves the chain to just after the next epoch's start (a block is mined there). */
export async function toNextEpoch(deployment: Deployment): Promise<bigint> {
  const publicClient = await hre.viem.getPublicClient();
  const testClient = await hre.viem.getTestClient();
  const staking = hmsContracts(publicClient, deployment).BookkeeperStaking;
  const next = (await staking.read.currentEpoch()) + 1n;
  const start = await staking.read.epochStart([next]);
  await testClient.setNextBlockTimestamp({ timestamp: start + 1n });
  await testClient.mine({ blocks: 1 });
  return next;
}
