/**
 * Demo chapter: the resource market (PROTOCOL §7). Node 0 (storage, operator #12, registered by the bookkeepers
 * chapter — or here if that chapter did not run) offers storage; user #16 orders 100 GiB for a week with HMS escrow
 * through an EIP-2612 permit signed in TypeScript, and takes the offer; the provider records the task; two days
 * later it withdraws (payout to the node, exactly 1 % to the treasury); a day later the user closes early and gets
 * the unaccrued rest back; the provider collects the last day. Then an order is matched by the contract among the
 * storage offers, weighted by contribution score. Every amount is checked against the formulas.
 */
import { keccak256, toHex, zeroAddress, type Address, type Hash, type WalletClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { type DemoContext, demoNodeId, demoNodeKey, heading, hms, table } from "./context";
import {
  NO_PRICE_LIMIT,
  ResourceKind,
  accruedAt,
  escrowPermit,
  leaseStarted,
  marketEvents,
  offerPosted,
  orderCreated,
  orderEscrow,
  splitSettlement,
} from "../../offchain/chain/market";
import { registryKeyProof } from "../../offchain/chain/staking";

const HMS = (n: number) => BigInt(n) * 10n ** 18n;
const GWEI = 10n ** 9n;
const DAY = 86_400n;
/** 100 gwei HMS per GiB-second ≈ 0.26 HMS per GiB per 30 days. */
const PRICE = 100n * GWEI;
const USER = 16;
const OPERATOR = 12;
const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

export async function marketChapter(ctx: DemoContext): Promise<void> {
  heading("Resource market: offer, order with escrow, lease paid per second, 1 % fee (PROTOCOL §7)");
  const wait = async (hash: Hash) => {
    const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} failed`);
    return receipt;
  };
  const by = (wallet: WalletClient) => ({ account: wallet.account!, chain: wallet.chain });
  const w = ctx.wallets;
  const addr = (i: number) => w[i].account!.address as Address;
  const { ResourceMarket, NodeRegistry, HMSToken, TokenAllocation } = ctx.hms;
  const market = ResourceMarket.address;
  const treasury = await ResourceMarket.read.treasury();
  const balance = (a: Address) => HMSToken.read.balanceOf([a]);
  const setTime = (t: bigint) => ctx.testClient.setNextBlockTimestamp({ timestamp: t });

  // Node 0 and the user's funds.
  const nodeId = demoNodeId(0);
  if ((await NodeRegistry.read.operatorOf([nodeId])) === zeroAddress) {
    await wait(
      await ctx.as(w[OPERATOR]).NodeRegistry.write.registerNode(
        [
          {
            nodeId,
            kind: 0,
            tier: 1,
            region: 156,
            capacity: 4_096n,
            signingKey: demoNodeKey(0).address,
            payout: addr(OPERATOR),
            endpoint: "http://127.0.0.1:7101",
          },
          // The key's consent to be registered by this operator for this node (NodeRegistry key proofs).
          await registryKeyProof(NodeRegistry, demoNodeKey(0), {
            chainId: await ctx.publicClient.getChainId(),
            registrant: addr(OPERATOR),
            subject: nodeId,
          }),
        ],
        by(w[OPERATOR]),
      ),
    );
  }
  const payout = (await NodeRegistry.read.payoutOf([nodeId])) as Address;
  if ((await TokenAllocation.read.releasable([0])) > 0n) await wait(await TokenAllocation.write.release([0], by(w[0])));
  await wait(await ctx.as(w[2]).HMSToken.write.transfer([addr(USER), HMS(1_000)], by(w[2])));

  // 1. The provider (operator #12) offers 1,024 GiB at 100 gwei HMS per GiB-second, leases of 1 hour to 30 days.
  const provider = ctx.as(w[OPERATOR]).ResourceMarket;
  const offer = {
    kind: ResourceKind.Storage,
    units: 1_024n,
    pricePerUnitSecond: PRICE,
    minDuration: 3_600n,
    maxDuration: 30n * DAY,
  };
  const posted = offerPosted(await wait(await provider.write.postOffer([nodeId, offer], by(w[OPERATOR]))));
  console.log(
    `  offer ${posted.offerId}: node 0 ${short(nodeId)} (#${OPERATOR}), ${posted.units} GiB at ` +
      `${posted.pricePerUnitSecond / GWEI} gwei HMS per GiB-second (${hms(posted.pricePerUnitSecond * 30n * DAY, 4)} HMS ` +
      `per GiB per 30 days), leases of 1 h to 30 days, region ${posted.region}`,
  );

  // 2. User #16 orders 100 GiB for 7 days at most 150 gwei: the escrow comes through a permit, no approve.
  const user = mnemonicToAccount("test test test test test test test test test test test junk", {
    addressIndex: USER,
  });
  const now = (await ctx.publicClient.getBlock()).timestamp;
  const terms = {
    kind: ResourceKind.Storage,
    units: 100n,
    maxPricePerUnitSecond: (3n * PRICE) / 2n,
    duration: 7n * DAY,
    region: 0,
    minTier: 1,
    expiresAt: now + 3_600n,
  };
  const escrow = orderEscrow(terms);
  const chainId = await ctx.publicClient.getChainId();
  const permit = await escrowPermit(
    user,
    chainId,
    HMSToken.address,
    market,
    await HMSToken.read.nonces([user.address]),
    escrow,
    now + 600n,
  );
  const userMarket = ctx.as(w[USER]).ResourceMarket;
  const userStart = await balance(user.address);
  const { orderId } = orderCreated(
    await wait(await userMarket.write.createOrderWithPermit([terms, permit], by(w[USER]))),
  );
  const lease = leaseStarted(
    await wait(
      await userMarket.write.takeOffer(
        [orderId, posted.offerId, (await userMarket.read.getOffer([posted.offerId])).pricePerUnitSecond],
        by(w[USER]),
      ),
    ),
  );
  console.log(
    `  order ${orderId} by #${USER}: 100 GiB × 7 days, max 150 gwei → escrow ${hms(escrow, 6)} HMS (permit); ` +
      `takes offer ${posted.offerId}`,
  );
  console.log(
    `  lease ${lease.leaseId}: ${hms(lease.escrow, 6)} HMS escrowed at the offer's price, ` +
      `${hms(lease.excessRefund, 6)} HMS above it refunded at once`,
  );
  await wait(
    await provider.write.recordTask(
      [lease.leaseId, keccak256(toHex("hms-demo/lease-manifest/1")), "http://127.0.0.1:7101/leases/1"],
      by(w[OPERATOR]),
    ),
  );

  // 3. Two days of service: the provider withdraws what accrued (payout to the node, 1 % to the treasury).
  const payoutStart = await balance(payout);
  const treasuryStart = await balance(treasury);
  await setTime(lease.start + 2n * DAY);
  const first = marketEvents(
    await wait(await provider.write.withdraw([lease.leaseId], by(w[OPERATOR]))),
    "PaymentSettled",
  )[0];
  const [stored] = await ResourceMarket.read.getLease([lease.leaseId]);
  const due = accruedAt(stored, lease.start + 2n * DAY);
  const expected = splitSettlement(due, await ResourceMarket.read.feeBps());
  if (first.amount !== due || first.payout !== expected.payout || first.fee !== expected.fee)
    throw new Error("first settlement does not match rate × seconds and the 1 % fee");

  // 4. After three days the user stops: the four unaccrued days come back; the provider collects the third day.
  await setTime(lease.start + 3n * DAY);
  const closed = marketEvents(
    await wait(await userMarket.write.closeLease([lease.leaseId], by(w[USER]))),
    "LeaseClosed",
  )[0];
  const last = marketEvents(
    await wait(await provider.write.withdraw([lease.leaseId], by(w[OPERATOR]))),
    "PaymentSettled",
  )[0];
  table(
    ["step", "settled (HMS)", "payout to node", "fee to treasury", "refund to user"],
    [
      ["withdraw after 2 days", hms(first.amount, 6), hms(first.payout, 6), hms(first.fee, 8), "-"],
      ["user closes after 3 days", "-", "-", "-", hms(closed.refund, 6)],
      ["withdraw the 3rd day", hms(last.amount, 6), hms(last.payout, 6), hms(last.fee, 8), "-"],
    ],
  );
  const spent = userStart - (await balance(user.address));
  const paid = (await balance(payout)) - payoutStart;
  const fees = (await balance(treasury)) - treasuryStart;
  console.log(
    `  user paid ${hms(spent, 6)} HMS for 3 days = node ${hms(paid, 6)} + treasury ${hms(fees, 8)} ` +
      `(${Number((fees * 10_000n) / spent) / 100} %); treasury = HMSTimelock ${short(treasury)}`,
  );
  if (spent !== 100n * PRICE * 3n * DAY || paid + fees !== spent || fees * 100n !== spent)
    throw new Error("conservation or the 1 % fee failed");

  // 5. Matching: an order without a chosen offer; the contract draws among the storage offers of its window,
  //    weighted by contribution score (+ floor), and says how.
  if ((await NodeRegistry.read.operatorOf([demoNodeId(1)])) !== zeroAddress) {
    const other = ctx.as(w[OPERATOR + 1]).ResourceMarket;
    await wait(
      await other.write.postOffer(
        [demoNodeId(1), { ...offer, pricePerUnitSecond: (6n * PRICE) / 5n }],
        by(w[OPERATOR + 1]),
      ),
    );
  }
  await wait(await ctx.as(w[USER]).HMSToken.write.approve([market, HMS(100)], by(w[USER])));
  const t2 = { ...terms, units: 10n, duration: DAY, expiresAt: (await ctx.publicClient.getBlock()).timestamp + 3_600n };
  const second = orderCreated(await wait(await userMarket.write.createOrder([t2], by(w[USER]))));
  const matched = marketEvents(
    await wait(await userMarket.write.matchOrder([second.orderId, NO_PRICE_LIMIT], by(w[USER]))),
    "OrderMatched",
  )[0];
  const scores = ctx.hms.ContributionRegistry;
  console.log(
    `  order ${second.orderId} matched by the contract: ${matched.eligible} eligible of ${matched.examined} examined, ` +
      `offer ${matched.offerId} (node ${short(matched.nodeId)}) drawn with weight ${hms(matched.weight)} of ` +
      `${hms(matched.totalWeight)} (weight = floor 1 + contribution score; scores: node 0 ` +
      `${hms(await scores.read.score([nodeId]))}, node 1 ${hms(await scores.read.score([demoNodeId(1)]))})`,
  );
}
