/**
 * The subgraph's compiled mappings (graph-cli's real `graph build` output) replayed over a protocol scenario by the
 * replay host of tools/subgraph/replay — not graph-node, which cannot run here (see that module for what it
 * emulates). Every entity the mappings save is checked against the schema as graph-node would; then the indexed
 * state is compared with the contracts' own views.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { takeSnapshot, type SnapshotRestorer } from "@nomicfoundation/hardhat-network-helpers";
import { getAddress, type Abi, type Address, type Hex } from "viem";
import YAML from "yaml";
import { cidFromDigest } from "../../offchain/protocol/report";
import { buildMappings } from "../../tools/subgraph/build";
import { readManifest, subgraphDir } from "../../tools/subgraph/project";
import { replay, type ReplayResult } from "../../tools/subgraph/replay/replay";
import { parseSchema } from "../../tools/subgraph/replay/schema";
import type { Plain } from "../../tools/subgraph/replay/host";
import {
  BookkeeperCouncil__factory,
  BookkeeperStaking__factory,
  HMSToken__factory,
  MiningPool__factory,
  NodeRegistry__factory,
  ResourceMarket__factory,
  TokenAllocation__factory,
} from "../../typechain-types";
import { runScenario, type Scenario } from "./scenario";

/** Handlers the scenario cannot reach, and why. */
const NOT_EXERCISED: Record<string, string> = {
  "BookkeeperStaking.handlePoolFundsPending":
    "slashed funds are queued only while no mining pool is set or its funding call fails; deploySystem sets the pool",
};

const STATUS = ["NONE", "ACTIVE", "JAILED", "BLACKLISTED"];
const lower = (a: string) => a.toLowerCase();
const big = (v: Plain | undefined) => BigInt(v as string | number | bigint);

describe("subgraph: compiled mappings replayed over a protocol scenario", function () {
  this.timeout(600_000);
  let scenario: Scenario;
  let result: ReplayResult;
  let buildDir: string;
  let snapshot: SnapshotRestorer;
  const entity = (type: string, id: string) => {
    const e = result.store.entity(type, id);
    expect(e, `${type} ${id}`).to.not.equal(undefined);
    return e!;
  };
  const all = (type: string) => [...result.store.all(type).values()];

  before(async () => {
    snapshot = await takeSnapshot(); // the scenario moves the chain a year ahead: restored afterwards
    buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-subgraph-"));
    await buildMappings(hre, buildDir);
    scenario = await runScenario();
    const manifest = readManifest(hre);
    const abis: Record<string, Abi> = {};
    for (const ds of manifest.dataSources ?? []) {
      abis[ds.source!.abi!] = (await hre.artifacts.readArtifact(ds.source!.abi!)).abi as Abi;
    }
    const addresses: Record<string, { address: Hex; startBlock: number }> = {};
    for (const ds of manifest.dataSources ?? []) {
      const c = scenario.deployment.contracts[ds.name!];
      addresses[ds.name!] = { address: c.address, startBlock: c.blockNumber };
    }
    const schema = parseSchema(fs.readFileSync(path.join(subgraphDir(hre), "schema.graphql"), "utf8"));
    result = await replay({ client: await hre.viem.getPublicClient(), buildDir, addresses, abis, schema });
  });

  after(async () => {
    if (buildDir) fs.rmSync(buildDir, { recursive: true, force: true });
    if (snapshot) await snapshot.restore();
  });

  it("runs every handler of subgraph.yaml without a mapping error; each saved entity passed the schema checks", () => {
    const built = YAML.parse(fs.readFileSync(path.join(buildDir, "subgraph.yaml"), "utf8"));
    const missing: string[] = [];
    for (const ds of built.dataSources) {
      for (const h of ds.mapping.eventHandlers) {
        const key = `${ds.name}.${h.handler}`;
        if (!result.handled.has(key) && !(key in NOT_EXERCISED)) missing.push(key);
      }
    }
    expect(missing, "handlers the scenario never reached").to.deep.equal([]);
    for (const key of Object.keys(NOT_EXERCISED)) expect(result.handled.has(key), key).to.equal(false);
    expect(result.logs.filter((l) => l.level <= 2)).to.deep.equal([]);
    // Epoch starts of the two elections and the pool's schedule (read once): the only eth_calls.
    expect(result.ethCalls).to.equal(4);
    expect(result.ignored).to.be.greaterThan(0); // ERC20 transfers and approvals
  });

  it("bookkeepers: margin, delegated stake, shares, commission and status equal the staking contract's", async () => {
    const staking = BookkeeperStaking__factory.connect(
      scenario.deployment.contracts.BookkeeperStaking.address,
      ethers.provider,
    );
    const bookkeepers = result.store.all("Bookkeeper");
    expect(bookkeepers.size).to.be.greaterThanOrEqual(5);
    let margins = 0n;
    let delegated = 0n;
    for (const [id, b] of bookkeepers) {
      const info = await staking.bookkeeperInfo(id);
      expect(big(b.margin), `${id} margin`).to.equal(info.margin);
      expect(big(b.delegated), `${id} delegated`).to.equal(info.delegated);
      expect(big(b.delegationShares), `${id} shares`).to.equal(info.shares);
      expect(big(b.stake)).to.equal(info.margin + info.delegated);
      const onChain = STATUS[Number(info.status)];
      if (onChain === "NONE") expect(["NONE", "EXITED", "DISMISSED"], id).to.include(b.status);
      else expect(b.status, id).to.equal(onChain);
      if (b.registrations !== 0) expect(b.commissionBps, `${id} commission`).to.equal(Number(info.commissionBps));
      // BigDecimal share price (34 significant digits): delegated / shares.
      const price = Number(b.sharePrice as string);
      const expected = info.shares === 0n ? 1 : Number(info.delegated) / Number(info.shares);
      expect(Math.abs(price - expected), `${id} share price`).to.be.lessThan(1e-12);
      margins += info.margin;
      delegated += info.delegated;
    }
    const k = scenario.bookkeepers;
    expect(entity("Bookkeeper", lower(k.jailed)).status).to.equal("JAILED");
    expect(entity("Bookkeeper", lower(k.dismissed)).status).to.equal("DISMISSED");
    expect(entity("Bookkeeper", lower(k.exited)).status).to.equal("EXITED");
    expect(entity("Bookkeeper", lower(k.active)).status).to.equal("ACTIVE");
    expect(entity("Bookkeeper", lower(k.blacklisted)).status).to.equal("BLACKLISTED");
    expect(entity("Bookkeeper", lower(k.blacklisted)).admitted).to.equal(false);
    const p = entity("Protocol", "hms");
    expect(big(p.totalMargin)).to.equal(margins);
    expect(big(p.totalDelegated)).to.equal(delegated);
    expect(p.activeBookkeepers).to.equal((await staking.candidates()).length);
    expect(big(p.pendingPoolFunds)).to.equal(await staking.pendingPoolFunds());
    for (const d of all("Delegation")) {
      const [shares] = await staking.delegationOf(d.bookkeeper as string, d.delegator as string);
      expect(big(d.shares), `delegation ${d.id}`).to.equal(shares);
    }
    for (const lock of all("UnbondingLock")) {
      expect(["WITHDRAWN", "SLASHED"], `lock ${lock.id}`).to.include(lock.status);
    }
    const cut = all("UnbondingLock").find((l) => lower(l.account as string) === lower(scenario.accounts[9]))!;
    expect(cut.status).to.equal("WITHDRAWN");
    expect(big(cut.slashed)).to.equal((big(cut.amount) * 1_000n) / 10_000n); // 10 % of #5's delegations
  });

  it("epochs: leader order, keys, start and removals equal the committee views; periods list signers and missed signers", async () => {
    const staking = BookkeeperStaking__factory.connect(
      scenario.deployment.contracts.BookkeeperStaking.address,
      ethers.provider,
    );
    const pool = MiningPool__factory.connect(scenario.deployment.contracts.MiningPool.address, ethers.provider);
    const epochs = all("Epoch");
    expect(epochs.length).to.equal(2);
    for (const e of epochs) {
      const n = big(e.epoch);
      const [members] = await staking.committee(n);
      expect((e.leaders as string[]).map(getAddress)).to.deep.equal(members.map((m) => getAddress(m)));
      expect(big(e.startTime)).to.equal(await staking.epochStart(n));
      const [keysHash] = await staking.committeeCommitment(n);
      expect(e.keysHash).to.equal(keysHash);
      for (const [position, m] of members.entries()) {
        const seat = entity("CommitteeMember", `${n}-${position}`);
        const [, , removed] = await staking.membership(n, m);
        expect(seat.removed, `${n}-${position}`).to.equal(removed);
      }
    }
    const periods = all("Period");
    expect(periods.map((p) => big(p.period))).to.have.members(scenario.periods);
    for (const p of periods) {
      const n = big(p.period);
      const [start, end] = await pool.periodBounds(n);
      expect(big(p.startTime)).to.equal(start);
      expect(big(p.endTime)).to.equal(end);
      expect(p.cid).to.equal(cidFromDigest(p.dataCid as Hex));
      const [members] = await staking.committee(big(p.epoch));
      const bitmap = big(p.signerBitmap);
      const signers = members.filter((_, i) => (bitmap >> BigInt(i)) & 1n).map(lower);
      expect((p.signers as string[]).map(lower)).to.deep.equal(signers);
      const [, , claimed] = await pool.periodRecord(n);
      expect(big(p.claimed) + big(p.reclaimed)).to.equal(claimed);
      expect(p.settled).to.equal(await pool.isSettled(n));
    }
    const second = entity("Period", scenario.periods[1].toString());
    expect((second.missedSigners as string[]).map(lower)).to.deep.equal([lower(scenario.missedSigner)]);
    expect(second.signerCount).to.equal(3);
    const missed = all("MissedDuty");
    expect(missed.map((m) => lower(m.bookkeeper as string))).to.deep.equal([lower(scenario.missedSigner)]);
    const p = entity("Protocol", "hms");
    const [, , reserve] = await pool.state();
    expect(big(p.poolReserve)).to.equal(reserve);
    expect(big(p.emissionReleased)).to.equal(await pool.totalReleased());
    expect(big(p.poolFunded)).to.equal(await pool.totalFunded());
    expect(big(p.poolReturned)).to.equal(await pool.totalReturned());
    const claims = await pool.queryFilter(pool.filters.Claimed());
    expect(all("Claim").length).to.equal(claims.length);
    expect(big(p.nodeRewardsPaid)).to.equal(claims.reduce((s, c) => s + c.args.amount, 0n));
  });

  it("slashes carry the evidence type, amounts, reporter and bounty", async () => {
    const staking = BookkeeperStaking__factory.connect(
      scenario.deployment.contracts.BookkeeperStaking.address,
      ethers.provider,
    );
    const slashes = all("Slash");
    const byKind = (kind: string) => slashes.filter((s) => s.kind === kind);
    expect(slashes.length).to.equal(3);
    const [equivocation] = byKind("EQUIVOCATION");
    const [event] = await staking.queryFilter(staking.filters.Slashed());
    expect(lower(equivocation.bookkeeper as string)).to.equal(lower(scenario.bookkeepers.jailed));
    expect(lower(equivocation.reporter as string)).to.equal(lower(scenario.accounts[17]));
    expect(big(equivocation.bounty)).to.equal(event.args.bounty);
    expect(big(equivocation.unbondingMargin)).to.equal(ethers.parseEther("5000"));
    expect(big(equivocation.amount)).to.equal(event.args.margin + event.args.unbondingMargin + event.args.delegated);
    const [proven] = await staking.queryFilter(staking.filters.EquivocationProven());
    expect(equivocation.evidence).to.equal(proven.args.evidenceId);
    const [dismissal] = byKind("DISMISSAL");
    expect(lower(dismissal.bookkeeper as string)).to.equal(lower(scenario.bookkeepers.dismissed));
    expect(lower(dismissal.reporter as string)).to.equal(lower(scenario.accounts[1]));
    expect(big(dismissal.unbondingMargin)).to.equal(ethers.parseEther("5000"));
    expect(big(dismissal.margin) + big(dismissal.unbondingMargin)).to.equal(big(dismissal.amount));
    const motion = entity("Motion", dismissal.motion as string);
    expect(motion.action).to.equal("DISMISS");
    expect(big(motion.forfeited)).to.equal(big(dismissal.amount));
    const [blacklisting] = byKind("BLACKLISTING");
    expect(lower(blacklisting.reporter as string)).to.equal(lower(scenario.accounts[18]));
    expect(big(blacklisting.amount)).to.equal(0n);
    const p = entity("Protocol", "hms");
    expect(p.slashes).to.equal(3);
    expect(big(p.slashedAmount)).to.equal(slashes.reduce((s, x) => s + big(x.amount), 0n));
  });

  it("nodes, offers, orders, leases and settlements equal the registry's and the market's views", async () => {
    const registry = NodeRegistry__factory.connect(scenario.deployment.contracts.NodeRegistry.address, ethers.provider);
    const market = ResourceMarket__factory.connect(
      scenario.deployment.contracts.ResourceMarket.address,
      ethers.provider,
    );
    const token = HMSToken__factory.connect(scenario.deployment.contracts.HMSToken.address, ethers.provider);
    const nodes = result.store.all("Node");
    let active = 0;
    for (const [id, n] of nodes) {
      const info = await registry.getNode(id);
      expect(lower(n.operator as string)).to.equal(lower(info.operator));
      expect(lower(n.payout as string)).to.equal(lower(info.payout));
      expect(n.endpoint).to.equal(info.endpoint);
      expect(n.region).to.equal(Number(info.region));
      expect(big(n.capacity)).to.equal(info.capacity);
      expect(n.active).to.equal(info.active);
      expect(n.retired).to.equal(await registry.isRetired(id));
      if (n.signingKey === undefined) expect(info.signingKey).to.equal(ethers.ZeroAddress);
      else expect(lower(n.signingKey as string)).to.equal(lower(info.signingKey));
      if (info.active) active++;
    }
    expect(entity("Node", scenario.retiredNode).retired).to.equal(true);
    const p = entity("Protocol", "hms");
    expect(p.activeNodes).to.equal(active);
    for (const o of all("Offer")) {
      const offer = await market.getOffer(big(o.offerId));
      expect(big(o.units)).to.equal(offer.units);
      expect(big(o.unitsInUse)).to.equal(offer.unitsInUse);
      expect(o.status === "ACTIVE").to.equal(offer.active);
    }
    for (const o of all("Order")) {
      const [order] = await market.getOrder(big(o.orderId));
      expect(o.status).to.equal(["NONE", "OPEN", "FILLED", "CANCELLED"][Number(order.status)]);
    }
    for (const l of all("Lease")) {
      const [lease] = await market.getLease(big(l.leaseId));
      expect(l.status).to.equal(["NONE", "ACTIVE", "CLOSED"][Number(lease.status)]);
      expect(l.closeReason).to.equal(["NONE", "USER", "PROVIDER", "ORACLE", "EXPIRED"][Number(lease.closeReason)]);
      expect(big(l.end)).to.equal(lease.end);
      expect(big(l.settled)).to.equal(lease.withdrawn);
    }
    const settlements = all("Settlement");
    for (const s of settlements) {
      expect(big(s.fee)).to.equal((big(s.amount) * BigInt(s.feeBps as number)) / 10_000n);
      expect(big(s.payout) + big(s.fee)).to.equal(big(s.amount));
      expect(Number(s.feeRate as string)).to.be.closeTo(Number(s.feeBps) / 10_000, 1e-9);
    }
    expect(new Set(settlements.map((s) => s.feeBps))).to.deep.equal(new Set([100, 50]));
    // Every fee went to the treasury, the timelock, which receives nothing else.
    expect(big(p.marketFees)).to.equal(await token.balanceOf(scenario.deployment.contracts.HMSTimelock.address));
    expect(p.feeBps).to.equal(Number(await market.feeBps()));
    const oracle = all("Lease").find((l) => l.closeReason === "ORACLE")!;
    const [terminated] = await market.queryFilter(market.filters.LeaseTerminated());
    expect(big(oracle.leaseId)).to.equal(terminated.args.leaseId);
    expect(big(oracle.failedAt)).to.equal(terminated.args.failedAt);
    expect(oracle.failureReportHash).to.equal(terminated.args.reportHash);
  });

  it("daily aggregates add up to the protocol totals; per-node days to the node totals", () => {
    const days = all("DayStat");
    const p = entity("Protocol", "hms");
    const sum = (field: string) => days.reduce((s, d) => s + big(d[field]), 0n);
    expect(sum("marketFees")).to.equal(big(p.marketFees));
    expect(sum("marketVolume")).to.equal(big(p.marketVolume));
    expect(sum("nodeRewardsPaid")).to.equal(big(p.nodeRewardsPaid));
    expect(sum("bookkeeperRewardsPaid")).to.equal(big(p.bookkeeperRewardsPaid));
    expect(sum("emissionPaid")).to.equal(big(p.nodeRewardsPaid) + big(p.bookkeeperRewardsPaid));
    expect(sum("emissionReleased")).to.equal(big(p.emissionReleased));
    expect(sum("traffic")).to.equal(big(p.totalTraffic));
    expect(sum("slashedAmount")).to.equal(big(p.slashedAmount));
    for (const d of days)
      expect(Number(d.id))
        .to.equal(d.day)
        .and.to.equal(Math.floor(Number(d.date) / 86_400));
    const last = days.reduce((a, b) => (Number(a.day) > Number(b.day) ? a : b));
    expect(last.activeNodes).to.equal(p.activeNodes);
    expect(big(last.totalMargin)).to.equal(big(p.totalMargin));
    for (const [id, n] of result.store.all("Node")) {
      const mine = all("NodeDay").filter((d) => lower(d.node as string) === id);
      expect(mine.reduce((s, d) => s + big(d.rewards), 0n)).to.equal(big(n.rewardsClaimed));
      expect(mine.reduce((s, d) => s + big(d.marketEarnings), 0n)).to.equal(big(n.marketEarnings));
    }
  });

  it("allocation, governance, parameters, roles, council and voting power equal the contracts' state", async () => {
    const c = scenario.deployment.contracts;
    const allocation = TokenAllocation__factory.connect(c.TokenAllocation.address, ethers.provider);
    const token = HMSToken__factory.connect(c.HMSToken.address, ethers.provider);
    const council = BookkeeperCouncil__factory.connect(c.BookkeeperCouncil.address, ethers.provider);
    for (const [i, name] of ["IDO", "TECHNOLOGY", "OPERATION", "FOUNDATION", "MINING"].entries()) {
      const bucket = entity("AllocationBucket", name);
      expect(big(bucket.released), name).to.equal(await allocation.released(i));
      expect(big(bucket.total), name).to.equal((await allocation.bucketInfo(i)).total);
    }
    expect(lower(entity("AllocationBucket", "IDO").beneficiary as string)).to.equal(lower(scenario.accounts[17]));
    const operation = all("AllocationRelease").find((r) => r.reason !== null && r.reason !== undefined)!;
    expect(operation.reason).to.equal("ipfs://hms/grants/1");

    const executed = entity("GovernanceOperation", scenario.executedOperation);
    expect(executed.status).to.equal("EXECUTED");
    expect(all("GovernanceCall").filter((x) => x.operation === lower(scenario.executedOperation)).length).to.equal(8);
    expect(entity("GovernanceOperation", scenario.cancelledOperation).status).to.equal("CANCELLED");
    expect(entity("Parameter", "ResourceMarket.feeBps").value).to.equal("50");
    expect(entity("Parameter", "BookkeeperStaking.epochLength").value).to.equal(String(2 * 86_400));
    expect(entity("Parameter", "MiningPool.bookkeeperShareBps").value).to.equal("1000");
    expect(entity("Parameter", "NodeRegistry.maxEndpointLength").value).to.equal("512");
    expect(entity("Parameter", "ContributionRegistry.sigma").value).to.equal(
      `[${[1n, 2n, 0n, 1n].map((x, i) => (i === 2 ? 5n * 10n ** 17n : x * 10n ** 18n)).join(",")}]`,
    );

    const timelock = lower(c.HMSTimelock.address);
    const deployer = lower(scenario.accounts[0]);
    const members = all("RoleMember");
    for (const name of ["TokenAllocation", "NodeRegistry", "BookkeeperStaking", "MiningPool", "ResourceMarket"]) {
      const admins = members.filter((m) => m.contractName === name && m.roleName === "DEFAULT_ADMIN_ROLE");
      const active = admins.filter((m) => m.active).map((m) => lower(m.account as string));
      expect(active, name).to.deep.equal([timelock]);
      expect(admins.find((m) => lower(m.account as string) === deployer)?.active, name).to.equal(false);
    }
    const oracle = members.find((m) => m.roleName === "ORACLE_ROLE")!;
    expect(lower(oracle.account as string)).to.equal(lower(scenario.accounts[17]));

    const onChain = (await council.members()).map(lower).sort();
    const indexed = all("CouncilMember")
      .filter((m) => m.active)
      .map((m) => lower(m.id as string))
      .sort();
    expect(indexed).to.deep.equal(onChain);
    const statuses = all("Motion").map((m) => `${m.action}:${m.status}`);
    expect(statuses).to.include.members(["DISMISS:EXECUTED", "ADMIT:EXECUTED", "BLACKLIST:EXECUTED", "RETAIN:CLOSED"]);

    for (const v of all("VotingPower")) {
      expect(big(v.votes), `votes of ${v.id}`).to.equal(await token.getVotes(v.id as string));
    }
    for (const v of all("Voter")) {
      expect(lower((v.delegatee as string) ?? ethers.ZeroAddress)).to.equal(
        lower(await token.delegates(v.id as string)),
      );
    }
  });

  it("scores: each node's history ends with its latest measurement; skipped measurements are kept", () => {
    const scores = all("NodeScore");
    expect(scores.length).to.equal(3);
    for (const s of scores) {
      const node = entity("Node", s.node as string);
      expect(big(node.score)).to.equal(big(s.score));
      expect(node.measurements).to.equal(1);
    }
    expect(all("SkippedMeasurement").length).to.equal(1);
    const batch = all("MeasurementBatch")[0];
    expect([batch.count, batch.applied]).to.deep.equal([4, 3]);
    expect(all("CoefficientUpdate").length).to.equal(1);
  });

  it("ids are deterministic: a second replay of the same chain gives the same entities", async () => {
    const manifest = readManifest(hre);
    const abis: Record<string, Abi> = {};
    const addresses: Record<string, { address: Address; startBlock: number }> = {};
    for (const ds of manifest.dataSources ?? []) {
      abis[ds.source!.abi!] = (await hre.artifacts.readArtifact(ds.source!.abi!)).abi as Abi;
      const c = scenario.deployment.contracts[ds.name!];
      addresses[ds.name!] = { address: c.address, startBlock: c.blockNumber };
    }
    const schema = parseSchema(fs.readFileSync(path.join(subgraphDir(hre), "schema.graphql"), "utf8"));
    const again = await replay({ client: await hre.viem.getPublicClient(), buildDir, addresses, abis, schema });
    for (const type of result.store.types()) {
      expect([...again.store.all(type).entries()], type).to.deep.equal([...result.store.all(type).entries()]);
    }
  });
});
