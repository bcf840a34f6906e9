/**
 * The deployed system (offchain/chain/deploy.ts, the same code as `npm run deploy:local`): NodeRegistry,
 * BookkeeperStaking with its linked library and council, governed by the timelock; a viem dApp registers,
 * delegates, votes, elects and reads the active set; real conflicting proposals signed in TypeScript slash.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { encodePacked, keccak256, toHex, zeroAddress, type Address } from "viem";
import { hmsContracts, loadDeployment } from "../../offchain/chain";
import { LOCAL_COUNCIL_ACCOUNTS, StakingParameter } from "../../offchain/chain/staking";
import { domainOf, signTyped } from "../../offchain/core/signing";
import { demoBookkeeperKey } from "../../offchain/devnet/accounts";
import { deploySystemFixture, systemFixture, HMS } from "../helpers/fixtures";
import { govern } from "../helpers/governance";
import { BOOKKEEPER_KEY_SUBJECT, keyRegistrationProof } from "../../offchain/chain/staking";

const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

/** The system without the rewards contracts: no mining pool is set, so slashed funds stay pending. */
async function withoutRewards() {
  return deploySystemFixture({ rewards: false });
}

async function viemSystem(fixture: () => ReturnType<typeof systemFixture> = systemFixture) {
  const system = await fixture();
  const publicClient = await hre.viem.getPublicClient();
  const wallets = await hre.viem.getWalletClients();
  const as = (i: number) => hmsContracts({ public: publicClient, wallet: wallets[i] }, system.deployment);
  const wait = async (hash: `0x${string}`) => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    expect(r.status).to.equal("success");
    return r;
  };
  return { ...system, publicClient, wallets, as, wait, address: (i: number) => wallets[i].account.address as Address };
}

/** #2 (IDO) funds #5–#8 who register with demo keys; #9 delegates to #8; #10 votes for #7; epoch +1 elected. */
async function electedSystem(fixture?: () => ReturnType<typeof systemFixture>) {
  const s = await viemSystem(fixture);
  const { as, wait, address } = s;
  const staking = s.deployment.contracts.BookkeeperStaking.address;
  await wait(await as(0).TokenAllocation.write.release([0]));
  const margins = [HMS(40_000), HMS(25_000), HMS(15_000), HMS(10_000)];
  for (const [i, margin] of margins.entries()) {
    await wait(await as(2).HMSToken.write.transfer([address(5 + i), margin]));
    const proof = await keyRegistrationProof(demoBookkeeperKey(i), {
      chainId: 31337,
      registry: s.deployment.contracts.NodeRegistry.address,
      registrant: address(5 + i),
      subject: BOOKKEEPER_KEY_SUBJECT,
    });
    await wait(await as(5 + i).NodeRegistry.write.setBookkeeperKey([demoBookkeeperKey(i).address, proof]));
    await wait(await as(5 + i).HMSToken.write.approve([staking, margin]));
    await wait(await as(5 + i).BookkeeperStaking.write.register([margin, 1_000]));
  }
  await wait(await as(2).HMSToken.write.transfer([address(9), HMS(30_000)]));
  await wait(await as(9).HMSToken.write.approve([staking, HMS(30_000)]));
  await wait(await as(9).BookkeeperStaking.write.delegate([address(8), HMS(30_000)]));
  await wait(await as(2).HMSToken.write.transfer([address(10), HMS(5_000)]));
  await wait(await as(10).HMSToken.write.delegate([address(7)]));
  const reader = as(11);
  const epoch = (await reader.BookkeeperStaking.read.currentEpoch()) + 1n;
  await time.increaseTo((await reader.BookkeeperStaking.read.epochStart([epoch])) + 1n);
  await wait(await reader.BookkeeperStaking.write.elect());
  return { ...s, epoch, margins };
}

describe("staking in the deployed system", () => {
  it("deploys NodeRegistry, BookkeeperStaking (linked) and its council, with admin handed to the timelock", async () => {
    const { deployment, staking, nodeRegistry, council, timelock, deployer, signers, token } = await systemFixture();
    for (const name of ["NodeRegistry", "BookkeeperLogic", "BookkeeperStaking", "BookkeeperCouncil"]) {
      expect(deployment.contracts[name]?.address, name).to.match(/^0x[0-9a-fA-F]{40}$/);
    }
    expect(await staking.council()).to.equal(deployment.contracts.BookkeeperCouncil.address);
    expect(await staking.token()).to.equal(await token.getAddress());
    expect(await staking.registry()).to.equal(await nodeRegistry.getAddress());
    expect(await council.members()).to.deep.equal(LOCAL_COUNCIL_ACCOUNTS.map((i) => signers[i].address));
    for (const c of [staking, nodeRegistry]) {
      expect(await c.hasRole(DEFAULT_ADMIN_ROLE, await timelock.getAddress())).to.equal(true);
      expect(await c.hasRole(DEFAULT_ADMIN_ROLE, deployer.address)).to.equal(false);
    }
    await expect(staking.setParameter(StakingParameter.BountyBps, 0)).to.be.revertedWithCustomError(
      staking,
      "AccessControlUnauthorizedAccount",
    );
    expect((await staking.parameters()).committeeSize).to.equal(4n);
  });

  it("lets a viem dApp register, delegate, vote and read the active set", async () => {
    const { as, address, epoch, deployment } = await electedSystem();
    const reader = hmsContracts(await hre.viem.getPublicClient(), deployment);
    const [activeEpoch, members, keys, quorum] = await reader.BookkeeperStaking.read.activeSet();
    expect(activeEpoch).to.equal(epoch);
    expect(quorum).to.equal(3n);
    expect([...members].map((m) => m.toLowerCase()).sort()).to.deep.equal(
      [5, 6, 7, 8].map((i) => address(i).toLowerCase()).sort(),
    );
    for (const [i, m] of members.entries()) {
      const index = [5, 6, 7, 8].findIndex((a) => address(a).toLowerCase() === m.toLowerCase());
      expect(keys[i]).to.equal(demoBookkeeperKey(index).address);
    }
    const [keysHash, size] = await reader.BookkeeperStaking.read.committeeCommitment([epoch]);
    expect(size).to.equal(4n);
    expect(keysHash).to.equal(keccak256(encodePacked(["address[]"], [[...keys]])));
    const info = await as(11).BookkeeperStaking.read.bookkeeperInfo([address(8)]);
    expect(info.delegated).to.equal(HMS(30_000));
    // #7 has 5,000 votes: weight 15,000 × 5,000
    const logs = await reader.BookkeeperStaking.getEvents.CommitteeElected({ epoch }, { fromBlock: 0n });
    const args = logs[0].args;
    const i7 = args.bookkeepers!.findIndex((m) => m.toLowerCase() === address(7).toLowerCase());
    expect(args.weights![i7]).to.equal(HMS(15_000) * 5_000n);
  });

  it("slashes on a real pair of conflicting proposals signed in TypeScript", async () => {
    const { as, address, epoch, deployment, publicClient } = await electedSystem();
    const staking = as(12).BookkeeperStaking;
    const [members] = await staking.read.committee([epoch]);
    const offender = members[1];
    const index = [5, 6, 7, 8].findIndex((a) => address(a).toLowerCase() === offender.toLowerCase());
    const domain = domainOf("staking", await publicClient.getChainId(), deployment.contracts.BookkeeperStaking.address);
    const a = { epoch, period: 3n, round: 2, digest: keccak256(toHex("period 3 report, honest")) };
    const b = { ...a, digest: keccak256(toHex("period 3 report, forged")) };
    const sigA = await signTyped(demoBookkeeperKey(index), domain, "Proposal", a);
    const sigB = await signTyped(demoBookkeeperKey(index), domain, "Proposal", b);
    const margin = (await staking.read.bookkeeperInfo([offender])).margin;
    const delegated = (await staking.read.bookkeeperInfo([offender])).delegated;
    const before = await as(12).HMSToken.read.balanceOf([address(12)]);
    const pool = deployment.contracts.MiningPool.address;
    const poolBefore = await as(12).HMSToken.read.balanceOf([pool]);
    await publicClient.waitForTransactionReceipt({ hash: await staking.write.reportEquivocation([a, sigA, b, sigB]) });
    // 10 % of the delegations is slashed too, but the 10 % bounty comes from the offender's own margin only
    // (BookkeeperLogic._slash): which member sits at index 1 depends on the election's prevrandao order, and
    // #8 holds delegations, so both cases must hold.
    const total = margin + delegated / 10n;
    const bounty = margin / 10n;
    expect((await as(12).HMSToken.read.balanceOf([address(12)])) - before).to.equal(bounty);
    const info = await staking.read.bookkeeperInfo([offender]);
    expect(info.status).to.equal(2); // Jailed
    expect(info.margin).to.equal(0n);
    // The deployed MiningPool is set: the slashed funds minus the bounty went straight into it (IMiningPool.fund).
    expect(await staking.read.pendingPoolFunds()).to.equal(0n);
    expect((await as(12).HMSToken.read.balanceOf([pool])) - poolBefore).to.equal(total - bounty);
    const [, keys] = await staking.read.committee([epoch]);
    expect(keys[1]).to.equal(zeroAddress);
    expect((await staking.read.committeeCommitment([epoch]))[0]).to.equal(
      keccak256(encodePacked(["address[]"], [[...keys]])),
    );
  });

  it("governance tunes parameters and sets the mining pool through the timelock; pending slashes are flushed", async () => {
    const { staking, timelock, token, epoch, as, address, publicClient, deployment } = await electedSystem(() =>
      loadFixture(withoutRewards),
    );
    await govern(
      timelock,
      await staking.getAddress(),
      staking.interface.encodeFunctionData("setParameter", [StakingParameter.BountyBps, 2_000]),
    );
    expect((await staking.parameters()).bountyBps).to.equal(2_000n);
    // a slash while no pool is set keeps the funds accounted
    const [members] = await staking.committee(epoch);
    const index = [5, 6, 7, 8].findIndex((a) => address(a).toLowerCase() === members[0].toLowerCase());
    const domain = domainOf("staking", await publicClient.getChainId(), deployment.contracts.BookkeeperStaking.address);
    const a = { epoch, period: 1n, round: 0, digest: keccak256(toHex("x")) };
    const b = { ...a, digest: keccak256(toHex("y")) };
    await as(12).BookkeeperStaking.write.reportEquivocation([
      a,
      await signTyped(demoBookkeeperKey(index), domain, "Proposal", a),
      b,
      await signTyped(demoBookkeeperKey(index), domain, "Proposal", b),
    ]);
    const pending = await staking.pendingPoolFunds();
    expect(pending).to.be.greaterThan(0n);
    const pool = await (await ethers.getContractFactory("MockMiningPool")).deploy(await token.getAddress());
    await govern(
      timelock,
      await staking.getAddress(),
      staking.interface.encodeFunctionData("setMiningPool", [await pool.getAddress()]),
    );
    await expect(staking.connect((await ethers.getSigners())[13]).flushToPool()).to.changeTokenBalance(
      token,
      pool,
      pending,
    );
  });

  it("deploy:local against `hardhat node`, then the viem dApp example elects and slashes from the deployment file", async function () {
    this.timeout(180_000);
    const { spawnHardhatNode, run, runExample } = await import("../helpers/processes");
    const node = await spawnHardhatNode();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-staking-"));
    try {
      const env = { ...process.env, HMS_RPC_URL: node.url, HMS_DEPLOYMENTS_DIR: dir };
      await run("npx", ["hardhat", "run", "scripts/deploy.ts", "--network", "localhost"], env);
      const file = path.join(dir, "localhost.json");
      expect(Object.keys(loadDeployment(file).contracts)).to.include.members([
        "NodeRegistry",
        "BookkeeperStaking",
        "BookkeeperCouncil",
      ]);
      const out = await runExample("scripts/examples/dapp-staking.ts", [file], env);
      expect(out).to.include("candidates 4");
      expect(out).to.match(/active set epoch=1 size=4 quorum=3/);
      expect(out.match(/leader \d: 0x[0-9a-fA-F]{40} key=0x[0-9a-fA-F]{40}/g)?.length).to.equal(4);
      expect(out).to.match(/slashed 0x[0-9a-fA-F]{40} status=2 margin=0 bounty=\d+/);
      expect(out).to.include(`key-in-committee=${zeroAddress}`);
    } finally {
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
