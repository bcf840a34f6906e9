/**
 * A protocol scenario that makes every contract emit (almost) every event the subgraph handles, on Hardhat's
 * in-process chain: the demo's chapters (registry, staking, election, a period report with claims and settlement,
 * the market), then contribution measurements, a second report with a missed signer, registry changes, margin
 * moves, an equivocation slash, council verdicts and admissions, a governance batch through the timelock, oracle
 * terminations and pruning in the market, withdrawals, a second election and reclaims after the claim window.
 */
import { NO_PRICE_LIMIT } from "../../offchain/chain/market";
import hre, { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { deploySystem, type Deployment } from "../../offchain/chain";
import { LOCAL_COUNCIL_ACCOUNTS } from "../../offchain/chain/staking";
import {
  LOCAL_SIGNATURE_WINDOW,
  claimArgs,
  readPeriod,
  settlement,
  type ReportedPeriod,
} from "../../offchain/chain/rewards";
import { quorumArgs } from "../../offchain/protocol/quorum";
import { domainOf, signTyped } from "../../offchain/core/signing";
import { ledgerFrom } from "../../offchain/protocol/ledger";
import { buildReport, signReport } from "../../offchain/protocol/report";
import { signCoefficients, signMeasurementBatch, sortBatch } from "../../offchain/protocol/contribution";
import { makeContext } from "../../scripts/demo/context";
import { demoBookkeeperKey, demoNodeId } from "../../offchain/devnet/accounts";
import { bookkeepersChapter } from "../../scripts/demo/bookkeepers";
import { rewardsChapter } from "../../scripts/demo/rewards";
import { marketChapter } from "../../scripts/demo/market";
import {
  BookkeeperCouncil__factory,
  BookkeeperStaking__factory,
  ContributionRegistry__factory,
  HMSTimelock__factory,
  HMSToken__factory,
  MiningPool__factory,
  NodeRegistry__factory,
  ResourceMarket__factory,
  TokenAllocation__factory,
} from "../../typechain-types";
import { signedRegistry } from "../helpers/keys";

export const HMS = (n: number | bigint) => BigInt(n) * 10n ** 18n;
const DAY = 86_400n;
const GB = 10n ** 9n;
const MNEMONIC = "test test test test test test test test test test test junk";
/** BookkeeperCouncil.Action */
const Action = { AddMember: 0, Admit: 1, Dismiss: 2, Blacklist: 3, Retain: 4 } as const;

export interface Scenario {
  deployment: Deployment;
  /** Hardhat accounts #0–#19. */
  accounts: Address[];
  /** Demo bookkeepers #5–#8 and what happened to them. */
  bookkeepers: { jailed: Address; dismissed: Address; exited: Address; active: Address; blacklisted: Address };
  /** Periods reported (the demo's, then one with a missed signer). */
  periods: bigint[];
  /** The member who missed the second report. */
  missedSigner: Address;
  /** Node registered then deregistered. */
  retiredNode: Hex;
  /** Governance operations: the executed batch and the cancelled one. */
  executedOperation: Hex;
  cancelledOperation: Hex;
}

async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => undefined;
  try {
    return await f();
  } finally {
    console.log = log;
  }
}

export async function runScenario(): Promise<Scenario> {
  const publicClient = await hre.viem.getPublicClient();
  const testClient = await hre.viem.getTestClient();
  const wallets = await hre.viem.getWalletClients();
  const s = await ethers.getSigners();
  const accounts = s.map((x) => x.address as Address);
  const deployment = await deploySystem(publicClient, wallets[0], hre.artifacts, {
    network: hre.network.name,
    foundation: accounts[1],
    beneficiaries: { ido: accounts[2], technology: accounts[3], foundation: accounts[4] },
    committee: LOCAL_COUNCIL_ACCOUNTS.map((i) => accounts[i]),
    miningPool: { signatureWindow: LOCAL_SIGNATURE_WINDOW },
  });
  const at = (name: string) => deployment.contracts[name].address;
  const token = HMSToken__factory.connect(at("HMSToken"), s[0]);
  const allocation = TokenAllocation__factory.connect(at("TokenAllocation"), s[0]);
  const timelock = HMSTimelock__factory.connect(at("HMSTimelock"), s[0]);
  const registry = NodeRegistry__factory.connect(at("NodeRegistry"), s[0]);
  const staking = BookkeeperStaking__factory.connect(at("BookkeeperStaking"), s[0]);
  const council = BookkeeperCouncil__factory.connect(at("BookkeeperCouncil"), s[0]);
  const pool = MiningPool__factory.connect(at("MiningPool"), s[0]);
  const contribution = ContributionRegistry__factory.connect(at("ContributionRegistry"), s[0]);
  const market = ResourceMarket__factory.connect(at("ResourceMarket"), s[0]);
  const chainId = await publicClient.getChainId();
  const send = async (tx: Promise<{ wait(): Promise<unknown> }>) => (await tx).wait();

  // 1. The demo: registry, bookkeepers #5–#8 with delegators #9–#11 and votes, election, period report signed by
  //    the committee, claims, settlement; the market's offer, permit order, lease, task, withdrawals, a match.
  const ctx = makeContext(hre, publicClient, testClient, wallets, deployment);
  await quietly(async () => {
    await bookkeepersChapter(ctx);
    await rewardsChapter(ctx);
    await marketChapter(ctx);
  });
  const [epoch1, , keys1] = await staking.activeSet();
  const keyIndex = (key: string) => [0, 1, 2, 3].find((i) => demoBookkeeperKey(i).address === key)!;
  const committeeAccounts = keys1.map((k) => demoBookkeeperKey(keyIndex(k)));
  const reported = (await pool.queryFilter(pool.filters.PeriodReported())).map((e) => e.args.period);

  // 2. Operation funds with a published reason.
  await send(allocation.connect(s[1]).releaseOperation(accounts[17], HMS(1_000), "ipfs://hms/grants/1"));

  // 3. Proof-of-Contribution: σ, then a batch (one measurement for an unknown node is skipped).
  const registryAddress = at("ContributionRegistry") as Address;
  const sigma: [bigint, bigint, bigint, bigint] = [HMS(1), HMS(2), 5n * 10n ** 17n, HMS(1)];
  let nonce = await contribution.nextNonce();
  const sign3 = async (f: (i: number) => Promise<Hex>) =>
    Promise.all([0, 1, 2].map(async (i) => ({ key: keys1[i] as Address, signature: await f(i) })));
  const coefficientSigs = await sign3((i) =>
    signCoefficients(committeeAccounts[i], chainId, registryAddress, { epoch: epoch1, nonce, sigma }),
  );
  await send(contribution.postCoefficients(epoch1, nonce, sigma, quorumArgs(keys1 as Address[], coefficientSigs)));
  nonce = await contribution.nextNonce();
  const batch = sortBatch(
    [demoNodeId(0), demoNodeId(1), demoNodeId(2), keccak256(toHex("hms-test/unknown-node"))].map((nodeId, i) => ({
      nodeId,
      cpuMhz: 8_000 * (i + 1),
      memoryMiB: 8_192,
      uplinkMbps: 100,
      storageGiB: 1_000 * (i + 1),
      onlineSeconds: 3_600,
      tasksCompleted: 4 + i,
      tasksFailed: i,
      chainParticipation: 1,
    })),
  );
  const batchSigs = await sign3((i) =>
    signMeasurementBatch(committeeAccounts[i], chainId, registryAddress, { epoch: epoch1, nonce, batch }),
  );
  await send(contribution.submitMeasurements(epoch1, nonce, batch, quorumArgs(keys1 as Address[], batchSigs)));

  // 4. A second report signed by three of the four members (the member with demo key 3 misses it), one claim,
  //    and the settlement that records the missed duty.
  const period2 = (await pool.currentPeriod()) - 1n;
  const { nextPeriod: fromPeriod } = await pool.state(); // it builds on the first report
  const built = buildReport(
    ledgerFrom(period2, [
      [demoNodeId(0), 300n * GB],
      [demoNodeId(1), 100n * GB],
      [demoNodeId(2), 50n * GB],
    ]),
    { epoch: epoch1, topN: 100, fromPeriod },
  );
  const poolAddress = at("MiningPool") as Address;
  const missedKey = demoBookkeeperKey(3).address;
  const reportSigs = await Promise.all(
    committeeAccounts
      .filter((a) => a.address !== missedKey)
      .map(async (a) => ({ key: a.address, signature: await signReport(a, chainId, poolAddress, built.report) })),
  );
  await send(pool.submitReport(built.report, quorumArgs(keys1 as Address[], reportSigs)));
  const p2: ReportedPeriod = await readPeriod(publicClient, poolAddress, period2);
  const claim0 = built.claims.find((c) => c.nodeId === demoNodeId(0))!;
  await send(pool.connect(s[19]).claim(...claimArgs(p2, claim0)));
  await time.increase(LOCAL_SIGNATURE_WINDOW); // settlement waits for the signature window
  await send(pool.settleBookkeepers([settlement(p2)]));
  const missedSigner = accounts[8];

  // 5. Registry: payout, endpoint, profile, key rotation, maintenance, and a node that retires.
  await send(registry.connect(s[13]).setPayout(demoNodeId(1), accounts[17]));
  await send(registry.connect(s[13]).setEndpoint(demoNodeId(1), "https://node1.hms.example:7102"));
  await send(registry.connect(s[13]).setProfile(demoNodeId(1), 2, 840, 20_000));
  const rotated = privateKeyToAccount(keccak256(toHex("hms-test/node-key/2b")));
  await send(signedRegistry(registry, s[14]).setSigningKey(demoNodeId(2), rotated));
  const retiredNode = keccak256(toHex("hms-test/node/retired"));
  const retiredKey = privateKeyToAccount(keccak256(toHex("hms-test/node-key/retired")));
  await send(
    signedRegistry(registry, s[17]).registerNode(
      {
        nodeId: retiredNode,
        kind: 0,
        tier: 0,
        region: 250,
        capacity: 100n,
        signingKey: retiredKey.address,
        payout: accounts[17],
        endpoint: "http://127.0.0.1:7999",
      },
      retiredKey,
    ),
  );
  await send(registry.connect(s[17]).deregister(retiredNode));

  // 6. Staking: top-up, commission, partial unbonding (#5, #6), an undelegation (#9 from #5), an exit (#7).
  await send(token.connect(s[6]).approve(staking.target, HMS(1_000)));
  await send(staking.connect(s[6]).topUp(HMS(1_000)));
  await send(staking.connect(s[8]).setCommission(900));
  await send(staking.connect(s[5]).unbond(HMS(5_000)));
  await send(staking.connect(s[6]).unbond(HMS(5_000)));
  const [shares9] = await staking.delegationOf(accounts[5], accounts[9]);
  await send(staking.connect(s[9]).undelegate(accounts[5], shares9 / 2n));
  const margin7 = (await staking.bookkeeperInfo(accounts[7])).margin;
  await send(staking.connect(s[7]).unbond(margin7));

  // 7. Equivocation: #5's committee key signs two proposals for the same (epoch, period, round); #17 reports it.
  const stakingDomain = domainOf("staking", chainId, at("BookkeeperStaking") as Address);
  const proposalA = { epoch: epoch1, period: period2 + 1n, round: 0, digest: keccak256(toHex("hms-test/proposal/a")) };
  const proposalB = { ...proposalA, digest: keccak256(toHex("hms-test/proposal/b")) };
  const equivocator = demoBookkeeperKey(0);
  await send(
    staking
      .connect(s[17])
      .reportEquivocation(
        proposalA,
        await signTyped(equivocator, stakingDomain, "Proposal", proposalA),
        proposalB,
        await signTyped(equivocator, stakingDomain, "Proposal", proposalB),
      ),
  );

  // 8. Council (#1, #18, #19): dismiss #6; admit #17 on #1's signed recommendation; blacklist #17 (its recommender
  //    #1 faces a re-vote it loses after seven days); add #16.
  await send(council.connect(s[1]).propose(Action.Dismiss, accounts[6], "ipfs://hms/reports/offline-primary"));
  await send(council.connect(s[18]).vote(Action.Dismiss, accounts[6]));
  const deadline = BigInt(await time.latest()) + DAY;
  const recommendation = await signTyped(
    mnemonicToAccount(MNEMONIC, { addressIndex: 1 }),
    stakingDomain,
    "Recommendation",
    { candidate: accounts[17], deadline },
  );
  await send(council.connect(s[17]).recommend(accounts[17], deadline, recommendation));
  await send(council.connect(s[18]).vote(Action.Admit, accounts[17]));
  await send(council.connect(s[18]).propose(Action.Blacklist, accounts[17], "ipfs://hms/reports/sybil"));
  await send(council.connect(s[19]).vote(Action.Blacklist, accounts[17]));
  await send(council.connect(s[18]).propose(Action.AddMember, accounts[16], "operations lead"));
  await send(council.connect(s[19]).vote(Action.AddMember, accounts[16]));

  // 9. Governance: one batch through the timelock (fee, oracle role, epoch length, IDO beneficiary, bookkeeper
  //    share, endpoint limit), and an operation scheduled then cancelled.
  const proposerRole = await timelock.PROPOSER_ROLE();
  const calls: [string, string][] = [
    [String(market.target), market.interface.encodeFunctionData("setFeeBps", [50])],
    [
      String(market.target),
      market.interface.encodeFunctionData("grantRole", [await market.ORACLE_ROLE(), accounts[17]]),
    ],
    [String(staking.target), staking.interface.encodeFunctionData("setParameter", [2, 2n * DAY])],
    [String(allocation.target), allocation.interface.encodeFunctionData("proposeBeneficiary", [0, accounts[17]])],
    [String(pool.target), pool.interface.encodeFunctionData("setBookkeeperShare", [1_000])],
    [String(registry.target), registry.interface.encodeFunctionData("setMaxEndpointLength", [512])],
    // The timelock administers itself: a proposer added and removed again.
    [String(timelock.target), timelock.interface.encodeFunctionData("grantRole", [proposerRole, accounts[19]])],
    [String(timelock.target), timelock.interface.encodeFunctionData("revokeRole", [proposerRole, accounts[19]])],
  ];
  const delay = await timelock.getMinDelay();
  const salt = ethers.zeroPadValue("0x01", 32);
  const targets = calls.map((c) => c[0]);
  const payloads = calls.map((c) => c[1]);
  const values = calls.map(() => 0n);
  await send(timelock.scheduleBatch(targets, values, payloads, ethers.ZeroHash, salt, delay));
  const executedOperation = (await timelock.hashOperationBatch(
    targets,
    values,
    payloads,
    ethers.ZeroHash,
    salt,
  )) as Hex;
  const cancelData = market.interface.encodeFunctionData("setMatchK", [8]);
  await send(timelock.schedule(market.target, 0, cancelData, ethers.ZeroHash, salt, delay));
  const cancelledOperation = (await timelock.hashOperation(market.target, 0, cancelData, ethers.ZeroHash, salt)) as Hex;
  await send(timelock.cancel(cancelledOperation));
  await time.increase(delay);
  await send(timelock.executeBatch(targets, values, payloads, ethers.ZeroHash, salt));
  await send(allocation.connect(s[17]).acceptBeneficiary(0));

  // 10. Market at the new 0.5 % fee: an offer update, a lease topped up then terminated by the oracle, a cancelled
  //     order, a withdrawn and a pruned offer, and the expired matched lease settled.
  const ORDER = { kind: 0, region: 0, minTier: 0 };
  await send(market.connect(s[12]).updateOffer(1, 2_048, 100n * 10n ** 9n, 3_600, 30n * DAY));
  await send(token.connect(s[16]).approve(market.target, HMS(500)));
  const now = BigInt(await time.latest());
  const order = {
    ...ORDER,
    units: 50n,
    maxPricePerUnitSecond: 150n * 10n ** 9n,
    duration: 2n * DAY,
    expiresAt: now + 3_600n,
  };
  await send(market.connect(s[16]).createOrder(order));
  const leaseId = await market.orderCount();
  await send(market.connect(s[16]).takeOffer(leaseId, 1, NO_PRICE_LIMIT));
  await send(market.connect(s[16]).topUp(leaseId, DAY));
  await time.increase(DAY);
  const failedAt = BigInt(await time.latest()) - 600n;
  await send(market.connect(s[17]).terminateLease(leaseId, failedAt, keccak256(toHex("hms-test/failure-report"))));
  await send(market.connect(s[12]).withdraw(leaseId));
  await send(market.connect(s[16]).createOrder({ ...order, expiresAt: BigInt(await time.latest()) + 3_600n }));
  await send(market.connect(s[16]).cancelOrder(await market.orderCount()));
  await send(
    market.connect(s[14]).postOffer(demoNodeId(2), {
      kind: 1,
      units: 4_000,
      pricePerUnitSecond: 10n ** 9n,
      minDuration: 60,
      maxDuration: DAY,
    }),
  );
  const computeOffer = await market.offerCount();
  await send(registry.connect(s[14]).setActive(demoNodeId(2), false));
  await send(market.connect(s[17]).pruneOffer(computeOffer));
  await send(registry.connect(s[14]).setActive(demoNodeId(2), true));
  await send(market.connect(s[13]).withdrawOffer(2));
  for (let id = 1n; id <= (await market.orderCount()); id++) {
    const [order] = await market.getOrder(id);
    if (order.status !== 2n) continue; // Filled: a lease exists
    const [lease, nodeId] = await market.getLease(id);
    if (lease.status !== 1n) continue; // Active only
    const operator = await registry.operatorOf(nodeId);
    await send(market.connect(s[accounts.indexOf(operator as Address)]).withdraw(id));
  }

  // 11. A month later: withdrawals (#9's undelegation pays 1 − 10 % after #5's slash; #7's exit), the Retain
  //     re-vote concluded, and the next committee elected from what is left.
  await time.increase(31n * DAY);
  await send(staking.connect(s[9]).withdraw());
  await send(staking.connect(s[7]).withdraw());
  await send(council.connect(s[17]).concludeRetain(accounts[1]));
  const next = (await staking.currentEpoch()) + 1n;
  await time.increaseTo((await staking.epochStart(next)) + 1n);
  await send(staking.elect());

  // 12. After the claim window: unclaimed rewards of both periods go back to the reserve.
  await time.increase(366n * DAY);
  const periods = [...reported, period2];
  const expired: bigint[] = [];
  const terms = [];
  for (const p of periods) {
    const r = await readPeriod(publicClient, poolAddress, p);
    const [, , claimed] = await pool.periodRecord(p);
    if (r.terms.nodeEmission > claimed) {
      expired.push(p);
      terms.push(r.terms);
    }
  }
  if (expired.length > 0) await send(pool.reclaimExpired(expired, terms));

  return {
    deployment,
    accounts,
    bookkeepers: {
      jailed: accounts[5],
      dismissed: accounts[6],
      exited: accounts[7],
      active: accounts[8],
      blacklisted: accounts[17],
    },
    periods,
    missedSigner,
    retiredNode,
    executedOperation,
    cancelledOperation,
  };
}
