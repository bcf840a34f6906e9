/**
 * Demo chapter: Proof-of-Traffic rewards (PROTOCOL §4, §11). Clients and nodes sign traffic receipts; the meta
 * layer matches them into the period ledger; the report (top nodes, Merkle root, carry-over, CID of the full JSON)
 * is built with offchain/meta/report.ts; the four demo bookkeepers elected in the previous chapter sign it with
 * EIP-712 in TypeScript; it is posted; three nodes claim, and each payout is printed beside the formula; finally
 * the bookkeepers' share is settled into their staking pools.
 */
import { keccak256, toHex, type Address, type Hash, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type DemoContext, demoBookkeeperKey, demoNodeId, demoNodeKey, heading, hms, table } from "./context";
import { LOCAL_SIGNATURE_WINDOW, claimArgs, readPeriod, settlement } from "../../offchain/chain/rewards";
import { quorumArgs } from "../../offchain/protocol/quorum";
import { domainOf, recoverTyped, signTyped, type TrafficReceiptMessage } from "../../offchain/core/signing";
import { applyMatched, emptyLedger, matchReceipts } from "../../offchain/protocol/ledger";
import { buildReport, claimAmount, signReport } from "../../offchain/protocol/report";

const GB = 10n ** 9n;
const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;
/** Traffic served by demo nodes 0–2 this period (node 3 is the meta node): 100 + 250 + 650 = 1,000 GB. */
const SERVED = [[60n, 40n], [250n], [400n, 200n, 50n]];
const clientKey = (i: number) => privateKeyToAccount(keccak256(toHex(`hms-demo/client/${i}`)));

export async function rewardsChapter(ctx: DemoContext): Promise<void> {
  heading("Proof-of-Traffic rewards: receipts, period report signed by the committee, claims (PROTOCOL §4)");
  const wait = async (hash: Hash) => {
    const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} failed`);
    return receipt;
  };
  const by = (wallet: WalletClient) => ({ account: wallet.account!, chain: wallet.chain });
  const { MiningPool, BookkeeperStaking, NodeRegistry } = ctx.hms;
  const pool = MiningPool.address;
  const chainId = await ctx.publicClient.getChainId();

  // 1. Receipts: for each task the client and the node sign a TrafficReceipt (bound to the mining pool).
  const period = (await MiningPool.read.currentPeriod()) - 1n; // the last finished period
  const domain = domainOf("traffic", chainId, pool);
  const clientReceipts: TrafficReceiptMessage[] = [];
  const nodeReceipts: TrafficReceiptMessage[] = [];
  let task = 0;
  for (const [node, transfers] of SERVED.entries()) {
    for (const gb of transfers) {
      const client = clientKey(task % 2);
      const receipt = {
        taskId: keccak256(toHex(`hms-demo/task/${period}/${task++}`)),
        nodeId: demoNodeId(node),
        client: client.address,
        bytesServed: gb * GB,
        period,
      };
      const byClient = await signTyped(client, domain, "TrafficReceipt", receipt);
      const byNode = await signTyped(demoNodeKey(node), domain, "TrafficReceipt", receipt);
      // The meta layer checks both signatures (the node's against its registered signing key).
      if ((await recoverTyped(domain, "TrafficReceipt", receipt, byClient)) !== client.address)
        throw new Error("client");
      const nodeKey = await NodeRegistry.read.signingKeyOf([demoNodeId(node)]);
      if ((await recoverTyped(domain, "TrafficReceipt", receipt, byNode)) !== nodeKey) throw new Error("node key");
      clientReceipts.push(receipt);
      nodeReceipts.push(receipt);
    }
  }
  // A node that reports more than its client saw is flagged, not paid.
  const inflated = { ...nodeReceipts[0], taskId: keccak256(toHex("hms-demo/task/inflated")), bytesServed: 90n * GB };
  clientReceipts.push({ ...inflated, bytesServed: 9n * GB });
  nodeReceipts.push(inflated);
  const { matched, flagged } = matchReceipts(period, clientReceipts, nodeReceipts);
  const ledger = applyMatched(emptyLedger(period), matched);
  console.log(
    `  period ${period}: ${matched.length} tasks matched, ${flagged.length} flagged (${flagged.map((f) => f.reason).join(", ")})`,
  );

  // 2. The report for the elected committee's epoch: top nodes, Merkle root, carry-over, the full JSON's CID.
  //    It builds on the pool's next unreported period (`fromPeriod`): the pool refuses it if another report lands first.
  const [epoch, , keys, quorum] = await BookkeeperStaking.read.activeSet();
  const [fromPeriod] = await MiningPool.read.state();
  const built = buildReport(ledger, { epoch, topN: 100, fromPeriod });
  const report = built.report;
  console.log(
    `  report of periods ${fromPeriod}–${period}: ${report.nodeCount} nodes, total ${report.totalTraffic / GB} GB, ` +
      `root ${short(report.rewardsRoot)}`,
  );
  console.log(`          carry root ${short(report.carryRoot)}, data ${built.cid}`);

  // 3. The four demo bookkeepers sign it (EIP-712, domain "HMS MiningPool"), in any order; packed by leader order.
  const members = keys.map((k) => [0, 1, 2, 3].find((i) => demoBookkeeperKey(i).address === k)!);
  const signed = await Promise.all(
    members.map(async (i) => ({
      key: demoBookkeeperKey(i).address,
      signature: await signReport(demoBookkeeperKey(i), chainId, pool, report),
    })),
  );
  const [scheduled, recycled] = await MiningPool.read.pendingEmission([period]);
  const posted = await wait(
    await MiningPool.write.submitReport([report, quorumArgs(keys, signed)], by(ctx.wallets[0])),
  );
  console.log(
    `  posted by the committee of epoch ${epoch} (${signed.length} signatures, quorum ${quorum}): gas ${posted.gasUsed}`,
  );
  console.log(
    `  emission released: periods 0–${period} (never reported before: rolled forward) = ${hms(scheduled)} HMS` +
      (recycled > 0n ? ` + ${recycled} wei recycled (the schedule's rounding remainder)` : ""),
  );

  // 4. A dApp reads the period (event checked against the stored hash) and three nodes claim (anyone may send it).
  const p = await readPeriod(ctx.publicClient, pool, period);
  const E = p.terms.nodeEmission;
  const T = p.terms.totalTraffic;
  console.log(`  nodes' emission E = ${hms(E)} HMS (bookkeepers ${hms(p.attestation.bookkeeperShare)} HMS)`);
  const rows = [];
  for (const claim of built.claims) {
    const node = [0, 1, 2].find((i) => demoNodeId(i) === claim.nodeId)!;
    const payout = (await NodeRegistry.read.payoutOf([claim.nodeId])) as Address;
    const before = await ctx.hms.HMSToken.read.balanceOf([payout]);
    await wait(await ctx.as(ctx.wallets[19]).MiningPool.write.claim(claimArgs(p, claim), by(ctx.wallets[19])));
    const paid = (await ctx.hms.HMSToken.read.balanceOf([payout])) - before;
    const formula = claimAmount(E, claim.traffic, T);
    if (paid !== formula) throw new Error(`node ${node} paid ${paid}, formula ${formula}`);
    rows.push([
      `node ${node} ${short(claim.nodeId)}`,
      `${claim.traffic / GB} GB`,
      `E × ${claim.traffic / GB} / ${T / GB} = ${hms(formula)}`,
      `#${12 + node} ${short(payout)}`,
      hms(paid),
    ]);
  }
  table(["node", "traffic", "formula (HMS)", "payout", "paid (HMS)"], rows);
  const paper = claimAmount(100_000n * 10n ** 18n, 100n * GB, 1_000n * GB);
  console.log(`  white paper check: 100,000 HMS × 100 GB / 1,000 GB = ${hms(paper)} HMS`);

  // 5. The bookkeepers' share goes to their staking pools (delegators share after commission).
  const before = await Promise.all(
    [0, 1, 2, 3].map(
      async (i) => (await BookkeeperStaking.read.bookkeeperInfo([ctx.wallets[5 + i].account!.address])).margin,
    ),
  );
  const delegatedBefore = await Promise.all(
    [0, 1, 2, 3].map(
      async (i) => (await BookkeeperStaking.read.bookkeeperInfo([ctx.wallets[5 + i].account!.address])).delegated,
    ),
  );
  // Settlement waits for the report's signature window (further signatures may be added until then).
  await ctx.testClient.increaseTime({ seconds: LOCAL_SIGNATURE_WINDOW });
  await ctx.testClient.mine({ blocks: 1 });
  await wait(await MiningPool.write.settleBookkeepers([[settlement(p)]], by(ctx.wallets[0])));
  const out = [];
  for (const i of [0, 1, 2, 3]) {
    const info = await BookkeeperStaking.read.bookkeeperInfo([ctx.wallets[5 + i].account!.address]);
    out.push([`#${5 + i}`, hms(info.margin - before[i], 6), hms(info.delegated - delegatedBefore[i], 6)]);
  }
  table(["bookkeeper", "margin + (own part and commission)", "delegators' pool +"], out);
  const [reported, , claimed] = await MiningPool.read.periodRecord([period]);
  console.log(
    `  period ${period} reported=${reported}, claimed ${hms(claimed)} of ${hms(E)} HMS (rounding dust < 1 wei per node)`,
  );
}
