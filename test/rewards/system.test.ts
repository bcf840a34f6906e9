/**
 * Rewards in the deployed system (offchain/chain/deploy.ts, the same code as `npm run deploy:local`): the real
 * BookkeeperStaking elects a committee; its members sign a period report in TypeScript (offchain/meta/report.ts,
 * offchain/core/signing.ts); the report is posted; nodes registered in the real NodeRegistry claim to their payout
 * addresses; the bookkeeper share is credited to the real staking pools and missed duty is recorded; a
 * measurement batch and coefficients reach the ContributionRegistry; governance goes through the timelock.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { hmsContracts, loadDeployment } from "../../offchain/chain";
import { LOCAL_SIGNATURE_WINDOW, claimArgs, readPeriod, settlement } from "../../offchain/chain/rewards";
import { quorumArgs } from "../../offchain/protocol/quorum";
import { ledgerFrom } from "../../offchain/protocol/ledger";
import { buildReport, claimAmount, signReport } from "../../offchain/protocol/report";
import {
  measurementsHash,
  signCoefficients,
  signMeasurementBatch,
  sortBatch,
} from "../../offchain/protocol/contribution";
import { estimateSigma, sigmaTuple } from "../../offchain/protocol/poisson";
import { demoBookkeeperKey } from "../../offchain/devnet/accounts";
import { HMS, deploySystemFixture, systemFixture } from "../helpers/fixtures";
import { govern } from "../helpers/governance";
import { signedRegistry } from "../helpers/keys";
import { UNDER_COVERAGE } from "../helpers/coverage";

const GB = 10n ** 9n;
const nodeIdOf = (i: number) => keccak256(toHex(`hms-test/system-node/${i}`));
const nodeKeyOf = (i: number) => privateKeyToAccount(keccak256(toHex(`hms-test/system-node-key/${i}`)));

type System = Awaited<ReturnType<typeof deploySystemFixture>>;

/**
 * Registers `keys.length` bookkeepers (Hardhat accounts from #5) with those signing keys, registers three nodes
 * (operators #12–#14, payouts #15–#17) and elects the next epoch's committee.
 */
async function elected(system: System, keys: PrivateKeyAccount[]) {
  const { signers, token, allocation, staking, nodeRegistry, ido } = system;
  await allocation.release(0); // the IDO beneficiary funds everyone
  const bookkeepers = signers.slice(5, 5 + keys.length);
  for (const [i, bk] of bookkeepers.entries()) {
    const margin = HMS(10_000 + 1_000 * i);
    await token.connect(ido).transfer(bk.address, margin);
    await signedRegistry(nodeRegistry, bk).setBookkeeperKey(keys[i]);
    await token.connect(bk).approve(staking, margin);
    await staking.connect(bk).register(margin, 1_000);
  }
  for (let i = 0; i < 3; i++) {
    await signedRegistry(nodeRegistry, signers[12 + i]).registerNode(
      {
        nodeId: nodeIdOf(i),
        kind: 0,
        tier: i % 3,
        region: 156,
        capacity: 4_096n,
        signingKey: nodeKeyOf(i).address,
        payout: signers[15 + i].address,
        endpoint: `http://127.0.0.1:${7201 + i}`,
      },
      nodeKeyOf(i),
    );
  }
  const epoch = (await staking.currentEpoch()) + 1n;
  await time.increaseTo((await staking.epochStart(epoch)) + 1n);
  await staking.elect();
  const [members, committeeKeys] = await staking.committee(epoch);
  // Each member's private key, in leader order.
  const byKey = new Map(keys.map((k) => [k.address.toLowerCase(), k]));
  const accounts = committeeKeys.map((k) => byKey.get(k.toLowerCase())!);
  return { epoch, members: members as Address[], keys: committeeKeys as Address[], accounts };
}

describe("rewards in the deployed system", () => {
  it("deploys the pool with the Mining bucket, rewarder roles and governance by the timelock", async () => {
    const { deployment, token, staking, timelock, deployer } = await systemFixture();
    const client = await hre.viem.getPublicClient();
    const hms = hmsContracts(client, deployment);
    const pool = deployment.contracts.MiningPool.address;
    const registry = deployment.contracts.ContributionRegistry.address;
    expect(await token.balanceOf(pool)).to.equal(HMS(296_000_000));
    expect(await hms.MiningPool.read.totalFunded()).to.equal(HMS(296_000_000));
    expect(await hms.MiningPool.read.committee()).to.equal(deployment.contracts.BookkeeperStaking.address);
    expect(await hms.MiningPool.read.registry()).to.equal(deployment.contracts.NodeRegistry.address);
    expect(await hms.ContributionRegistry.read.committee()).to.equal(deployment.contracts.BookkeeperStaking.address);
    const rewarder = await staking.REWARDER_ROLE();
    expect(await staking.hasRole(rewarder, pool)).to.equal(true);
    expect(await staking.hasRole(rewarder, registry)).to.equal(true);
    expect(await staking.miningPool()).to.equal(pool);
    const admin = ethers.ZeroHash as Hex;
    for (const name of ["MiningPool", "ContributionRegistry"] as const) {
      expect(await hms[name].read.hasRole([admin, (await timelock.getAddress()) as Address]), name).to.equal(true);
      expect(await hms[name].read.hasRole([admin, deployer.address as Address]), name).to.equal(false);
    }
    // Parameters change only through the timelock.
    const poolContract = await ethers.getContractAt("MiningPool", pool);
    await expect(poolContract.setBookkeeperShare(1_000)).to.be.revertedWithCustomError(
      poolContract,
      "AccessControlUnauthorizedAccount",
    );
    await govern(timelock, pool, poolContract.interface.encodeFunctionData("setBookkeeperShare", [1_000]));
    expect((await hms.MiningPool.read.state())[3]).to.equal(1_000);
  });

  it("the elected committee signs a report in TypeScript; nodes claim; bookkeepers are credited", async () => {
    const system = await systemFixture();
    const { deployment, staking, token, signers } = system;
    const keys = [0, 1, 2, 3].map(demoBookkeeperKey);
    const c = await elected(system, keys);
    const client = await hre.viem.getPublicClient();
    const [wallet] = await hre.viem.getWalletClients();
    const hms = hmsContracts({ public: client, wallet }, deployment);
    const poolAddress = deployment.contracts.MiningPool.address;

    // The last finished period; everything since genesis rolls into it.
    const period = (await hms.MiningPool.read.currentPeriod()) - 1n;
    const [fromPeriod] = await hms.MiningPool.read.state(); // the first unreported period: 0
    expect(fromPeriod).to.equal(0n);
    const built = buildReport(
      ledgerFrom(period, [
        [nodeIdOf(0), 100n * GB],
        [nodeIdOf(1), 250n * GB],
        [nodeIdOf(2), 650n * GB],
      ]),
      { epoch: c.epoch, topN: 100, fromPeriod },
    );
    const chainId = await client.getChainId();
    // Three of four sign (quorum 3); member 2 misses it.
    const signed = await Promise.all(
      [0, 1, 3].map(async (i) => ({
        key: c.keys[i],
        signature: await signReport(c.accounts[i], chainId, poolAddress, built.report),
      })),
    );
    const [scheduled, recycled] = await hms.MiningPool.read.pendingEmission([period]);
    expect(scheduled).to.equal(await hms.MiningPool.read.cumulativeEmission([period + 1n]));
    const hash = await hms.MiningPool.write.submitReport([built.report, quorumArgs(c.keys, signed)]);
    const receipt = await client.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    console.log(`      submitReport, 3-of-4 with the real BookkeeperStaking: ${receipt.gasUsed} gas`);

    const p = await readPeriod(client, poolAddress, period);
    expect(p.epoch).to.equal(c.epoch);
    expect(p.terms.nodeEmission + p.attestation.bookkeeperShare).to.equal(scheduled + recycled);
    for (const [i, claim] of built.claims.entries()) {
      const node = [0, 1, 2].find((k) => nodeIdOf(k) === claim.nodeId)!;
      const payout = signers[15 + node].address;
      const expected = claimAmount(p.terms.nodeEmission, claim.traffic, p.terms.totalTraffic);
      const [amount, to] = await hms.MiningPool.read.previewClaim(claimArgs(p, claim));
      expect([amount, to]).to.deep.equal([expected, getAddress(payout)]);
      const before = await token.balanceOf(payout);
      // Anyone may claim (here #19); the payout address registered in the NodeRegistry is paid.
      const r = await client.waitForTransactionReceipt({
        hash: await hmsContracts(
          { public: client, wallet: (await hre.viem.getWalletClients())[19] },
          deployment,
        ).MiningPool.write.claim(claimArgs(p, claim)),
      });
      if (i === 0) console.log(`      claim with the real NodeRegistry: ${r.gasUsed} gas`);
      expect((await token.balanceOf(payout)) - before).to.equal(expected);
    }
    const claimed = (await hms.MiningPool.read.periodRecord([period]))[2];
    expect(p.terms.nodeEmission - claimed).to.be.below(3n);

    // Bookkeeper share: each signer's pool grows by share / 3 (split by the real staking: own part + commission,
    // delegators' part); the member who did not sign records a missed duty.
    const per = p.attestation.bookkeeperShare / 3n;
    const margins = await Promise.all(c.members.map(async (m) => (await staking.bookkeeperInfo(m)).margin));
    await time.increase(LOCAL_SIGNATURE_WINDOW); // settlement waits for the signature window
    const tx = await ethers
      .getContractAt("MiningPool", poolAddress)
      .then((pool) => pool.connect(signers[19]).settleBookkeepers([settlement(p)]));
    await expect(tx).to.emit(staking, "MissedDuty").withArgs(c.members[2], c.epoch, 1);
    await expect(tx).to.emit(staking, "RewardsCredited").withArgs(c.members[0], poolAddress, per, per, 0, 0);
    for (const i of [0, 1, 3]) expect((await staking.bookkeeperInfo(c.members[i])).margin).to.equal(margins[i] + per);
    expect((await staking.bookkeeperInfo(c.members[2])).margin).to.equal(margins[2]);
  });

  it("a ContributionRegistry batch and σ from the real committee score registered nodes", async () => {
    const system = await systemFixture();
    const { deployment } = system;
    const c = await elected(system, [0, 1, 2, 3].map(demoBookkeeperKey));
    const client = await hre.viem.getPublicClient();
    const [wallet] = await hre.viem.getWalletClients();
    const hms = hmsContracts({ public: client, wallet }, deployment);
    const registry = deployment.contracts.ContributionRegistry.address;
    const chainId = await client.getChainId();
    const sigma = sigmaTuple(
      estimateSigma({ cpu: [4n, 6n], memory: [2n, 2n], bandwidth: [1n], storage: [3n, 5n, 4n] }),
    );
    const sigSigned = await Promise.all(
      [0, 1, 2].map(async (i) => ({
        key: c.keys[i],
        signature: await signCoefficients(c.accounts[i], chainId, registry, { epoch: c.epoch, nonce: 0n, sigma }),
      })),
    );
    await client.waitForTransactionReceipt({
      hash: await hms.ContributionRegistry.write.postCoefficients([c.epoch, 0n, sigma, quorumArgs(c.keys, sigSigned)]),
    });
    const batch = sortBatch(
      [0, 1, 2, 3].map((i) => ({
        nodeId: i < 3 ? nodeIdOf(i) : (keccak256(toHex("unregistered")) as Hex),
        cpuMhz: 16_000,
        memoryMiB: 8_192,
        uplinkMbps: 100,
        storageGiB: 4_000,
        onlineSeconds: 3_600,
        tasksCompleted: 5,
        tasksFailed: 0,
        chainParticipation: 0,
      })),
    );
    expect(measurementsHash(batch)).to.match(/^0x/);
    const signed = await Promise.all(
      [1, 2, 3].map(async (i) => ({
        key: c.keys[i],
        signature: await signMeasurementBatch(c.accounts[i], chainId, registry, { epoch: c.epoch, nonce: 1n, batch }),
      })),
    );
    const receipt = await client.waitForTransactionReceipt({
      hash: await hms.ContributionRegistry.write.submitMeasurements([c.epoch, 1n, batch, quorumArgs(c.keys, signed)]),
    });
    expect(receipt.status).to.equal("success");
    const scores = await Promise.all([0, 1, 2].map((i) => hms.ContributionRegistry.read.score([nodeIdOf(i)])));
    // Same measurements, tiers Lite < Normal < Super: the score follows the tier power.
    expect(scores[0]).to.be.lessThan(scores[1]);
    expect(scores[1]).to.be.lessThan(scores[2]);
    expect(await hms.ContributionRegistry.read.score([keccak256(toHex("unregistered"))])).to.equal(0n);
  });

  it("gas with the real BookkeeperStaking: 7 signatures of committees of 7 and of 10", async () => {
    for (const size of [7, 10]) {
      const system = await deploySystemFixture({ staking: { committeeSize: size } });
      const keys = Array.from({ length: size }, (_, i) =>
        privateKeyToAccount(keccak256(toHex(`hms-test/gas-key/${i}`))),
      );
      const c = await elected(system, keys);
      const client = await hre.viem.getPublicClient();
      const [wallet] = await hre.viem.getWalletClients();
      const hms = hmsContracts({ public: client, wallet }, system.deployment);
      const poolAddress = system.deployment.contracts.MiningPool.address;
      const chainId = await client.getChainId();
      let period = (await hms.MiningPool.read.currentPeriod()) - 2n;
      const gas: bigint[] = [];
      for (let k = 0; k < 2; k++, period++) {
        const [fromPeriod] = await hms.MiningPool.read.state();
        const built = buildReport(
          ledgerFrom(
            period,
            Array.from({ length: 100 }, (_, i) => [nodeIdOf(1000 + i), BigInt(i + 1) * GB] as const),
          ),
          { epoch: c.epoch, topN: 100, fromPeriod },
        );
        const signed = await Promise.all(
          Array.from({ length: 7 }, async (_, i) => ({
            key: c.keys[i],
            signature: await signReport(c.accounts[i], chainId, poolAddress, built.report),
          })),
        );
        const receipt = await client.waitForTransactionReceipt({
          hash: await hms.MiningPool.write.submitReport([built.report, quorumArgs(c.keys, signed)]),
        });
        gas.push(receipt.gasUsed);
      }
      console.log(`      submitReport, 7-of-${size}, real BookkeeperStaking: ${gas[0]} (first report), ${gas[1]} gas`);
      if (!UNDER_COVERAGE) expect(gas[1]).to.be.at.most(120_000n); // instrumented code costs more
    }
  });

  it("deploy:local against `hardhat node`, then the viem dApp example reads a period, verifies a claim and claims", async function () {
    this.timeout(180_000);
    const { spawnHardhatNode, run, runExample } = await import("../helpers/processes");
    const node = await spawnHardhatNode();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-rewards-"));
    try {
      const env = { ...process.env, HMS_RPC_URL: node.url, HMS_DEPLOYMENTS_DIR: dir };
      await run("npx", ["hardhat", "run", "scripts/deploy.ts", "--network", "localhost"], env);
      const file = path.join(dir, "localhost.json");
      expect(Object.keys(loadDeployment(file).contracts)).to.include.members(["MiningPool", "ContributionRegistry"]);
      const out = await runExample("scripts/examples/dapp-rewards.ts", [file], env);
      expect(out).to.match(/report of period \d+ posted by epoch 1's committee \(gas \d+\), data bafkrei[a-z2-7]+/);
      expect(out).to.match(/proof=true preview=[\d.]+ to=0x[0-9a-fA-F]{40}/);
      // 120 GB of 400 GB: the payout equals the formula (checked by the script, which exits non-zero otherwise).
      expect(out).to.match(
        /claimed [\d.]+ HMS = [\d.]+ × 120000000000 \/ 400000000000 \(formula [\d.]+\) claimed-flag=true/,
      );
    } finally {
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
