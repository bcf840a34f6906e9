/**
 * A plain viem dApp leasing storage on a local Hardhat node, using only the deployment file. Run after
 * `npm run deploy:local` on a fresh `npm run node`:
 *
 *   npm run example -- scripts/examples/dapp-market.ts [deployments/localhost.json]
 *
 * It imports only the SDK package (`@hms-network/sdk`, its `/local` and `/protocol` subpaths): `npm run example`
 * resolves the package to its sources; after `npm run build:sdk`, plain `npx ts-node` uses the built package.
 *
 * Local set-up first, with Hardhat's well-known accounts: the IDO beneficiary (#2) funds the user (#16), and
 * operator #12 registers a storage node paying to #17 (unless it already exists). Then the market:
 * the operator posts an offer; the user signs an EIP-2612 permit in TypeScript and creates an order with escrow
 * in one transaction, takes the offer (the escrow above the offer price comes back at once); an hour passes
 * (the node's clock is moved); the operator withdraws — the node's payout and the treasury's 1 % are printed
 * and checked to the wei; the user closes early and gets the unaccrued rest back.
 */
import { formatEther, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  ResourceKind,
  accruedAt,
  escrowPermit,
  hmsContracts,
  leaseStarted,
  loadDeployment,
  marketEvents,
  orderCreated,
  orderEscrow,
  registryKeyProof,
  splitSettlement,
} from "@hms-network/sdk";
import { localChain } from "@hms-network/sdk/local";

const deployment = loadDeployment(process.argv[2] ?? "deployments/localhost.json");
const { publicClient, testClient, account, clients, wait } = localChain();
const as = (i: number) => hmsContracts(clients(i), deployment);
const HMS = (n: number) => BigInt(n) * 10n ** 18n;
const GWEI = 10n ** 9n;

async function main() {
  const reader = hmsContracts(publicClient, deployment);
  const market = reader.ResourceMarket.address;
  const token = reader.HMSToken.address;
  const treasury = await reader.ResourceMarket.read.treasury();

  // ---- the other roles (local set-up) ---------------------------------------------------------------------
  const user = account(16);
  const payout = account(17).address;
  if ((await reader.TokenAllocation.read.releasable([0])) > 0n)
    await wait(await as(2).TokenAllocation.write.release([0]));
  await wait(await as(2).HMSToken.write.transfer([user.address, HMS(1_000)]));
  const nodeId = keccak256(toHex("hms-example/market-node/0"));
  if ((await reader.NodeRegistry.read.operatorOf([nodeId])) === "0x0000000000000000000000000000000000000000") {
    const nodeKey = privateKeyToAccount(keccak256(toHex("hms-example/market-node-key/0")));
    await wait(
      await as(12).NodeRegistry.write.registerNode([
        {
          nodeId,
          kind: 0, // storage
          tier: 1, // Normal
          region: 276,
          capacity: 4_096n,
          signingKey: nodeKey.address,
          payout,
          endpoint: "http://127.0.0.1:7401",
        },
        await registryKeyProof(reader.NodeRegistry, nodeKey, {
          chainId: await publicClient.getChainId(),
          registrant: account(12).address,
          subject: nodeId,
        }),
      ]),
    );
  }

  // ---- the dApp -----------------------------------------------------------------------------------------------
  // The provider offers 1,024 GiB at 1 gwei HMS per GiB-second, leases of 1 hour to 30 days.
  const operator = as(12).ResourceMarket;
  const offer = await wait(
    await operator.write.postOffer([
      nodeId,
      {
        kind: ResourceKind.Storage,
        units: 1_024n,
        pricePerUnitSecond: GWEI,
        minDuration: 3_600n,
        maxDuration: 30n * 86_400n,
      },
    ]),
  );
  const { offerId } = marketEvents(offer, "OfferPosted")[0];

  // The user wants 100 GiB for 7 days at most 1.5 gwei: escrow through a permit signed here, no approve.
  const now = (await publicClient.getBlock()).timestamp;
  const terms = {
    kind: ResourceKind.Storage,
    units: 100n,
    maxPricePerUnitSecond: (3n * GWEI) / 2n,
    duration: 7n * 86_400n,
    region: 0,
    minTier: 1,
    expiresAt: now + 3_600n,
  };
  const escrow = orderEscrow(terms);
  const chainId = await publicClient.getChainId();
  const nonce = await reader.HMSToken.read.nonces([user.address]);
  const permit = await escrowPermit(user, chainId, token, market, nonce, escrow, now + 600n);
  const userMarket = as(16).ResourceMarket;
  const { orderId } = orderCreated(await wait(await userMarket.write.createOrderWithPermit([terms, permit])));
  const started = leaseStarted(
    await wait(
      await userMarket.write.takeOffer([
        orderId,
        offerId,
        (await userMarket.read.getOffer([offerId])).pricePerUnitSecond,
      ]),
    ),
  );
  console.log(
    `order ${orderId}: escrow ${formatEther(escrow)} HMS; lease at ${started.pricePerUnitSecond} wei/GiB·s, ` +
      `lease escrow ${formatEther(started.escrow)}, excess refunded ${formatEther(started.excessRefund)}`,
  );

  // One hour of service, then the provider withdraws.
  await testClient.setNextBlockTimestamp({ timestamp: started.start + 3_600n });
  const before = {
    payout: await reader.HMSToken.read.balanceOf([payout]),
    treasury: await reader.HMSToken.read.balanceOf([treasury]),
  };
  const settled = marketEvents(await wait(await operator.write.withdraw([orderId])), "PaymentSettled")[0];
  const paid = (await reader.HMSToken.read.balanceOf([payout])) - before.payout;
  const fee = (await reader.HMSToken.read.balanceOf([treasury])) - before.treasury;
  const [lease] = await reader.ResourceMarket.read.getLease([orderId]);
  const expected = accruedAt(lease, started.start + 3_600n);
  const split = splitSettlement(expected, await reader.ResourceMarket.read.feeBps());
  console.log(
    `withdrawn after 3600 s: ${formatEther(settled.amount)} HMS -> payout ${formatEther(paid)} to the node, ` +
      `fee ${formatEther(fee)} to the treasury (${Number((fee * 10_000n) / settled.amount) / 100} %)`,
  );

  // The user stops early: everything that has not accrued comes back.
  const userBefore = await reader.HMSToken.read.balanceOf([user.address]);
  const closed = marketEvents(await wait(await userMarket.write.closeLease([orderId])), "LeaseClosed")[0];
  const refund = (await reader.HMSToken.read.balanceOf([user.address])) - userBefore;
  const [, , , withdrawable, left] = await reader.ResourceMarket.read.getLease([orderId]);
  console.log(
    `closed at +${closed.end - started.start} s: refund ${formatEther(refund)} HMS; ` +
      `still withdrawable by the provider ${formatEther(withdrawable)} (escrow left ${formatEther(left)})`,
  );
  if (paid !== split.payout || fee !== split.fee || fee * 100n !== settled.amount || refund !== closed.refund)
    throw new Error("settlement does not match the 1 % rule");
  if (left !== withdrawable) throw new Error("escrow left is not exactly what the provider may still withdraw");
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
