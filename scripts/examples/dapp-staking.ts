/**
 * A plain viem dApp against a local Hardhat node, using only the deployment file: bookkeepers register,
 * a holder delegates stake, another votes, an election runs and the active set is read; then one elected
 * bookkeeper's signing key signs two conflicting proposals (EIP-712, offchain/core/signing.ts) and a
 * reporter submits them, slashing it. Run after `npm run deploy:local` on a fresh `npm run node`:
 *
 *   npm run example -- scripts/examples/dapp-staking.ts [deployments/localhost.json]
 *
 * It imports only the SDK package (`@hms-network/sdk`, its `/local` and `/protocol` subpaths): `npm run example`
 * resolves the package to its sources; after `npm run build:sdk`, plain `npx ts-node` uses the built package.
 *
 * Local only: it uses Hardhat's well-known accounts and moves the node's clock to the next epoch.
 */
import { formatEther, keccak256, toHex, type Address } from "viem";
import { BOOKKEEPER_KEY_SUBJECT, hmsContracts, loadDeployment, registryKeyProof } from "@hms-network/sdk";
import { demoBookkeeperKey, localChain } from "@hms-network/sdk/local";
import { domainOf, signTyped } from "@hms-network/sdk/protocol";

const deployment = loadDeployment(process.argv[2] ?? "deployments/localhost.json");
const { publicClient, testClient, account, clients, wait } = localChain();
const as = (i: number) => hmsContracts(clients(i), deployment);
const HMS = (n: number) => BigInt(n) * 10n ** 18n;

async function main() {
  const reader = hmsContracts(publicClient, deployment);
  const staking = reader.BookkeeperStaking.address;
  const ido = as(2);
  if ((await reader.TokenAllocation.read.releasable([0])) > 0n)
    await wait(await ido.TokenAllocation.write.release([0]));

  // Four bookkeepers (#5–#8): signing key, margin, commission.
  const margins = [HMS(40_000), HMS(25_000), HMS(15_000), HMS(10_000)];
  for (const [i, margin] of margins.entries()) {
    const bk = as(5 + i);
    await wait(await ido.HMSToken.write.transfer([account(5 + i).address, margin]));
    // The key signs its consent to be this bookkeeper's key (nobody else can register it).
    const proof = await registryKeyProof(bk.NodeRegistry, demoBookkeeperKey(i), {
      chainId: await publicClient.getChainId(),
      registrant: account(5 + i).address,
      subject: BOOKKEEPER_KEY_SUBJECT,
    });
    await wait(await bk.NodeRegistry.write.setBookkeeperKey([demoBookkeeperKey(i).address, proof]));
    await wait(await bk.HMSToken.write.approve([staking, margin]));
    await wait(await bk.BookkeeperStaking.write.register([margin, 1_000]));
  }
  // #9 delegates 30,000 to #8; #10 votes for #7 with 5,000 HMS of voting power.
  await wait(await ido.HMSToken.write.transfer([account(9).address, HMS(30_000)]));
  await wait(await as(9).HMSToken.write.approve([staking, HMS(30_000)]));
  await wait(await as(9).BookkeeperStaking.write.delegate([account(8).address, HMS(30_000)]));
  await wait(await ido.HMSToken.write.transfer([account(10).address, HMS(5_000)]));
  await wait(await as(10).HMSToken.write.delegate([account(7).address]));
  console.log(`candidates ${(await reader.BookkeeperStaking.read.candidates()).length}`);

  // Votes are read at the epoch start: move just past the next one, then anybody elects.
  const next = (await reader.BookkeeperStaking.read.currentEpoch()) + 1n;
  const start = await reader.BookkeeperStaking.read.epochStart([next]);
  await testClient.setNextBlockTimestamp({ timestamp: start + 1n });
  await testClient.mine({ blocks: 1 });
  await wait(await as(11).BookkeeperStaking.write.elect());
  const [epoch, members, keys, quorum] = await reader.BookkeeperStaking.read.activeSet();
  console.log(`active set epoch=${epoch} size=${members.length} quorum=${quorum}`);
  for (const [position, member] of members.entries()) {
    const info = await reader.BookkeeperStaking.read.bookkeeperInfo([member]);
    const votes = await reader.HMSToken.read.getPastVotes([member, start]);
    console.log(
      `  leader ${position}: ${member} key=${keys[position]} Vb=${formatEther(info.margin)} Lb=${formatEther(info.delegated)} St=${formatEther(votes)}`,
    );
  }

  // The first leader's signing key equivocates: two pre-prepares for the same (epoch, period, round).
  const offender = members[0];
  const index = [5, 6, 7, 8].findIndex((i) => account(i).address.toLowerCase() === offender.toLowerCase());
  const key = demoBookkeeperKey(index);
  const domain = domainOf("staking", await publicClient.getChainId(), staking);
  const a = { epoch, period: 1n, round: 0, digest: keccak256(toHex("report A")) };
  const b = { ...a, digest: keccak256(toHex("report B")) };
  const sigA = await signTyped(key, domain, "Proposal", a);
  const sigB = await signTyped(key, domain, "Proposal", b);
  const reporter = account(11).address as Address;
  const before = await reader.HMSToken.read.balanceOf([reporter]);
  await wait(await as(11).BookkeeperStaking.write.reportEquivocation([a, sigA, b, sigB]));
  const info = await reader.BookkeeperStaking.read.bookkeeperInfo([offender]);
  const bounty = (await reader.HMSToken.read.balanceOf([reporter])) - before;
  const [, liveKeys] = await reader.BookkeeperStaking.read.committee([epoch]);
  console.log(
    `slashed ${offender} status=${info.status} margin=${formatEther(info.margin)} bounty=${formatEther(bounty)} ` +
      `pending-for-pool=${formatEther(await reader.BookkeeperStaking.read.pendingPoolFunds())} key-in-committee=${liveKeys[0]}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
