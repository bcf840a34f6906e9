/**
 * Demo chapter: the node registry and the bookkeepers (PROTOCOL §5). Four resource/meta nodes register; four
 * bookkeepers (#5–#8) register their signing keys and margins; delegators (#9–#11) lend them stake and vote
 * with their remaining tokens; the next epoch's committee is elected and printed with Vb, Lb, St, weight
 * and leader order. The system is left with that committee of 4 for the following chapters.
 */
import type { Address, Hash, WalletClient } from "viem";
import { type DemoContext, demoBookkeeperKey, demoNodeId, demoNodeKey, heading, hms, table } from "./context";
import { BOOKKEEPER_KEY_SUBJECT, registryKeyProof } from "../../offchain/chain/staking";

const HMS = (n: number) => BigInt(n) * 10n ** 18n;
const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

/** Margins, commissions (bps), delegations and votes of the four demo bookkeepers. */
const BOOKKEEPERS = [
  { margin: HMS(40_000), commission: 500 },
  { margin: HMS(25_000), commission: 1_000 },
  { margin: HMS(15_000), commission: 800 },
  { margin: HMS(10_000), commission: 1_200 },
];
/** delegator i (#9–#11): stake lent to bookkeeper `to`, then votes (all remaining tokens) for `votes`. */
const DELEGATORS = [
  { funds: HMS(60_000), to: 0, lend: HMS(30_000), votes: 1 },
  { funds: HMS(80_000), to: 3, lend: HMS(50_000), votes: 3 },
  { funds: HMS(30_000), to: 2, lend: HMS(20_000), votes: 2 },
];
const NODES = [
  { kind: 0, tier: 1, region: 156, capacity: 4_096n, endpoint: "http://127.0.0.1:7101" }, // storage, Normal, CN
  { kind: 0, tier: 2, region: 840, capacity: 16_384n, endpoint: "http://127.0.0.1:7102" }, // storage, Super, US
  { kind: 1, tier: 0, region: 276, capacity: 8_000n, endpoint: "http://127.0.0.1:7103" }, // container, Lite, DE
  { kind: 2, tier: 1, region: 156, capacity: 0n, endpoint: "http://127.0.0.1:7001" }, // meta node
];
const KIND = ["storage", "container", "meta"];
const TIER = ["Lite", "Normal", "Super"];

export async function bookkeepersChapter(ctx: DemoContext): Promise<void> {
  heading("Bookkeepers: node registry, staking, delegation, votes, election (PROTOCOL §5)");
  const wait = async (hash: Hash) => {
    const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} failed`);
  };
  const w = ctx.wallets;
  const addr = (wallet: WalletClient) => wallet.account!.address as Address;
  /** viem write options for `wallet` (the demo's wallet clients are not chain-typed). */
  const by = (wallet: WalletClient) => ({ account: wallet.account!, chain: wallet.chain });
  const { TokenAllocation, BookkeeperStaking } = ctx.hms;
  const stakingAddress = BookkeeperStaking.address;

  // The IDO beneficiary (#2) receives its 200 M (anyone may release) and funds the participants.
  if ((await TokenAllocation.read.releasable([0])) > 0n) {
    await wait(await TokenAllocation.write.release([0], by(w[0])));
  }
  const ido = ctx.as(w[2]);
  for (const i of [5, 6, 7, 8]) await wait(await ido.HMSToken.write.transfer([addr(w[i]), HMS(100_000)], by(w[2])));
  for (const [i, d] of DELEGATORS.entries()) {
    await wait(await ido.HMSToken.write.transfer([addr(w[9 + i]), d.funds], by(w[2])));
  }

  // Node operators #12–#15 register storage, container and meta nodes. Every key signs its consent to be registered
  // by its operator (or bookkeeper) for its node, so that nobody can squat a key seen in a pending registration.
  const chainId = await ctx.publicClient.getChainId();
  const rows = [];
  for (const [i, n] of NODES.entries()) {
    const op = ctx.as(w[12 + i]);
    await wait(
      await op.NodeRegistry.write.registerNode(
        [
          {
            nodeId: demoNodeId(i),
            kind: n.kind,
            tier: n.tier,
            region: n.region,
            capacity: n.capacity,
            signingKey: demoNodeKey(i).address,
            payout: addr(w[12 + i]),
            endpoint: n.endpoint,
          },
          await registryKeyProof(op.NodeRegistry, demoNodeKey(i), {
            chainId,
            registrant: addr(w[12 + i]),
            subject: demoNodeId(i),
          }),
        ],
        by(w[12 + i]),
      ),
    );
    rows.push([
      short(demoNodeId(i)),
      `#${12 + i}`,
      KIND[n.kind],
      TIER[n.tier],
      n.region,
      n.capacity,
      short(demoNodeKey(i).address),
    ]);
  }
  console.log("\n  node registry");
  table(["node id", "operator", "kind", "tier", "region", "capacity", "signing key"], rows);

  // Bookkeepers #5–#8: signing key in the registry, then margin and commission.
  for (const [i, b] of BOOKKEEPERS.entries()) {
    const bk = ctx.as(w[5 + i]);
    const o = by(w[5 + i]);
    const proof = await registryKeyProof(bk.NodeRegistry, demoBookkeeperKey(i), {
      chainId,
      registrant: addr(w[5 + i]),
      subject: BOOKKEEPER_KEY_SUBJECT,
    });
    await wait(await bk.NodeRegistry.write.setBookkeeperKey([demoBookkeeperKey(i).address, proof], o));
    await wait(await bk.HMSToken.write.approve([stakingAddress, b.margin], o));
    await wait(await bk.BookkeeperStaking.write.register([b.margin, b.commission], o));
  }
  // Delegators #9–#11 lend stake, then vote for a candidate with the tokens they kept (ERC20Votes).
  for (const [i, d] of DELEGATORS.entries()) {
    const dl = ctx.as(w[9 + i]);
    const o = by(w[9 + i]);
    await wait(await dl.HMSToken.write.approve([stakingAddress, d.lend], o));
    await wait(await dl.BookkeeperStaking.write.delegate([addr(w[5 + d.to]), d.lend], o));
    await wait(await dl.HMSToken.write.delegate([addr(w[5 + d.votes])], o));
  }

  // Votes count at the epoch start: move to just after the next epoch starts, then elect (anyone may).
  const next = (await BookkeeperStaking.read.currentEpoch()) + 1n;
  const start = await BookkeeperStaking.read.epochStart([next]);
  await ctx.testClient.setNextBlockTimestamp({ timestamp: start + 1n });
  await ctx.testClient.mine({ blocks: 1 });
  await wait(await BookkeeperStaking.write.elect(by(w[0])));

  const [epoch, members, keys, quorum] = await BookkeeperStaking.read.activeSet();
  const [keysHash, size] = await BookkeeperStaking.read.committeeCommitment([epoch]);
  console.log(
    `\n  epoch ${epoch} (started ${new Date(Number(start) * 1000).toISOString()}): committee of ${size}, quorum ${quorum}`,
  );
  const out = [];
  for (const [position, member] of members.entries()) {
    const info = await BookkeeperStaking.read.bookkeeperInfo([member]);
    const votes = await ctx.hms.HMSToken.read.getPastVotes([member, start]);
    const weight = await electedWeight(ctx, epoch, member);
    out.push([
      position,
      `#${w.findIndex((x) => addr(x).toLowerCase() === member.toLowerCase())} ${short(member)}`,
      short(keys[position]),
      hms(info.margin),
      hms(info.delegated),
      hms(info.margin + info.delegated),
      hms(votes),
      hms(weight, 0),
      `${info.commissionBps / 100} %`,
    ]);
  }
  table(["leader", "bookkeeper", "signing key", "Vb", "Lb", "Vt", "St", "Wt = Vt × max(1, St)", "commission"], out);
  console.log(`  weights in HMS × votes; leader of PBFT view v is position v mod ${size}; keysHash ${keysHash}`);
}

/** The weight the election used for `member` (from the CommitteeElected event). */
async function electedWeight(ctx: DemoContext, epoch: bigint, member: Address): Promise<bigint> {
  const logs = await ctx.publicClient.getContractEvents({
    address: ctx.hms.BookkeeperStaking.address,
    abi: ctx.hms.BookkeeperStaking.abi,
    eventName: "CommitteeElected",
    args: { epoch },
    fromBlock: 0n,
  });
  const args = logs[logs.length - 1].args;
  return args.weights![args.bookkeepers!.indexOf(member)];
}
