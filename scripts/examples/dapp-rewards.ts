/**
 * A plain viem dApp claiming Proof-of-Traffic rewards on a local Hardhat node, using only the deployment file.
 * Run after `npm run deploy:local` on a fresh `npm run node`:
 *
 *   npm run example -- scripts/examples/dapp-rewards.ts [deployments/localhost.json]
 *
 * It imports only the SDK package (`@hms-network/sdk`, its `/local` and `/protocol` subpaths): `npm run example`
 * resolves the package to its sources; after `npm run build:sdk`, plain `npx ts-node` uses the built package.
 *
 * Local only, the other roles are played first with Hardhat's well-known accounts: four bookkeepers (#5–#8)
 * register with the demo signing keys and are elected (the node's clock moves to the next epoch); a node
 * operator (#12) registers a storage node paying to #16; the committee signs the last period's report in
 * TypeScript (offchain/protocol/report.ts) and posts it. Then the dApp part: read the period (event checked against
 * the pool's stored hash), verify the node's Merkle proof locally and with `previewClaim`, claim, and compare the
 * payout with the formula.
 */
import { formatEther, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  BOOKKEEPER_KEY_SUBJECT,
  claimArgs,
  hmsContracts,
  loadDeployment,
  readPeriod,
  registryKeyProof,
} from "@hms-network/sdk";
import { demoBookkeeperKey, localChain } from "@hms-network/sdk/local";
import { MerkleTree, buildReport, claimAmount, ledgerFrom, quorumArgs, signReport } from "@hms-network/sdk/protocol";

const deployment = loadDeployment(process.argv[2] ?? "deployments/localhost.json");
const { publicClient, testClient, account, clients, wait } = localChain();
const as = (i: number) => hmsContracts(clients(i), deployment);
const HMS = (n: number) => BigInt(n) * 10n ** 18n;
const GB = 10n ** 9n;

async function main() {
  const reader = hmsContracts(publicClient, deployment);
  const staking = reader.BookkeeperStaking.address;
  const pool = reader.MiningPool.address;

  // ---- the other roles (local set-up) ---------------------------------------------------------------------
  const ido = as(2);
  if ((await reader.TokenAllocation.read.releasable([0])) > 0n)
    await wait(await ido.TokenAllocation.write.release([0]));
  for (const i of [0, 1, 2, 3]) {
    const bk = as(5 + i);
    await wait(await ido.HMSToken.write.transfer([account(5 + i).address, HMS(20_000)]));
    // The key signs its consent to be this bookkeeper's key (nobody else can register it).
    const proof = await registryKeyProof(bk.NodeRegistry, demoBookkeeperKey(i), {
      chainId: await publicClient.getChainId(),
      registrant: account(5 + i).address,
      subject: BOOKKEEPER_KEY_SUBJECT,
    });
    await wait(await bk.NodeRegistry.write.setBookkeeperKey([demoBookkeeperKey(i).address, proof]));
    await wait(await bk.HMSToken.write.approve([staking, HMS(20_000)]));
    await wait(await bk.BookkeeperStaking.write.register([HMS(20_000), 1_000]));
  }
  const next = (await reader.BookkeeperStaking.read.currentEpoch()) + 1n;
  await testClient.setNextBlockTimestamp({ timestamp: (await reader.BookkeeperStaking.read.epochStart([next])) + 1n });
  await testClient.mine({ blocks: 1 });
  await wait(await as(11).BookkeeperStaking.write.elect());
  const nodeId = keccak256(toHex("hms-example/node/0"));
  const payout = account(16).address;
  const nodeKey = privateKeyToAccount(keccak256(toHex("hms-example/node-key/0")));
  await wait(
    await as(12).NodeRegistry.write.registerNode([
      {
        nodeId,
        kind: 0,
        tier: 1,
        region: 276,
        capacity: 2_048n,
        signingKey: nodeKey.address,
        payout,
        endpoint: "http://127.0.0.1:7301",
      },
      await registryKeyProof(reader.NodeRegistry, nodeKey, {
        chainId: await publicClient.getChainId(),
        registrant: account(12).address,
        subject: nodeId,
      }),
    ]),
  );
  // The committee signs the last finished period's report (what the validator daemons do) and one of them posts it.
  const period = (await reader.MiningPool.read.currentPeriod()) - 1n;
  const [epoch, , keys] = await reader.BookkeeperStaking.read.activeSet();
  // The report covers the periods since the last reported one: it names the pool's next period as its base.
  const [fromPeriod] = await reader.MiningPool.read.state();
  const built = buildReport(
    ledgerFrom(period, [
      [nodeId, 120n * GB],
      [keccak256(toHex("hms-example/node/1")), 280n * GB],
    ]),
    { epoch, topN: 100, fromPeriod },
  );
  const chainId = await publicClient.getChainId();
  const signed = await Promise.all(
    [0, 1, 2, 3].map(async (i) => ({
      key: demoBookkeeperKey(i).address,
      signature: await signReport(demoBookkeeperKey(i), chainId, pool, built.report),
    })),
  );
  const posted = await wait(await as(5).MiningPool.write.submitReport([built.report, quorumArgs(keys, signed)]));
  console.log(
    `report of period ${period} posted by epoch ${epoch}'s committee (gas ${posted.gasUsed}), data ${built.cid}`,
  );

  // ---- the dApp ---------------------------------------------------------------------------------------------
  // The node's claim comes from the published report (its JSON, by CID); here from `built.claims`.
  const claim = built.claims.find((c) => c.nodeId === nodeId)!;
  const p = await readPeriod(publicClient, pool, period);
  const proofOk = MerkleTree.verify(p.terms.rewardsRoot, claim.leaf, claim.proof);
  const [amount, to] = await reader.MiningPool.read.previewClaim(claimArgs(p, claim));
  const formula = claimAmount(p.terms.nodeEmission, claim.traffic, p.terms.totalTraffic);
  console.log(
    `period ${period}: nodeEmission=${formatEther(p.terms.nodeEmission)} totalTraffic=${p.terms.totalTraffic} ` +
      `proof=${proofOk} preview=${formatEther(amount)} to=${to}`,
  );
  const before = await reader.HMSToken.read.balanceOf([payout]);
  await wait(await as(19).MiningPool.write.claim(claimArgs(p, claim)));
  const paid = (await reader.HMSToken.read.balanceOf([payout])) - before;
  console.log(
    `claimed ${formatEther(paid)} HMS = ${formatEther(p.terms.nodeEmission)} × ${claim.traffic} / ${p.terms.totalTraffic} ` +
      `(formula ${formatEther(formula)}) claimed-flag=${await reader.MiningPool.read.isClaimed([period, claim.index])}`,
  );
  if (paid !== formula || amount !== formula || !proofOk) throw new Error("payout does not match the formula");
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
