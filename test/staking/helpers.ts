/**
 * Stand-alone staking deployment for unit tests (faster and more flexible than the whole system):
 * the deployer holds the whole token supply and is governance; the council has 7 members so that the
 * 1/3, 1/2 and 2/3 thresholds are all different (3, 4 and 5 approvals).
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { keccak256, toHex, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { domainOf, signTyped, type ProposalMessage } from "../../offchain/core/signing";
import { BookkeeperStatus, DEFAULT_STAKING_PARAMS, type StakingParams } from "../../offchain/chain/staking";
import {
  BookkeeperCouncil__factory,
  BookkeeperStaking__factory,
  type BookkeeperCouncil,
  type BookkeeperStaking,
  type HMSToken,
  type MockMiningPool,
  type NodeRegistry,
} from "../../typechain-types";

export const HMS = (n: bigint | number) => BigInt(n) * 10n ** 18n;
export const DAY = 24n * 3600n;
export const MIN_MARGIN = DEFAULT_STAKING_PARAMS.minMargin;

/** IBookkeeperStaking.Status (as bigints, as ethers returns them) / Parameter, BookkeeperCouncil.Action */
export const Status = Object.fromEntries(Object.entries(BookkeeperStatus).map(([k, v]) => [k, BigInt(v)])) as {
  readonly [K in keyof typeof BookkeeperStatus]: bigint;
};
export {
  StakingParameter as Param,
  CouncilAction as Action,
  stakingParameterName as paramName,
} from "../../offchain/chain/staking";
import { signedRegistry } from "../helpers/keys";

/** Deterministic committee signing key #i for tests. */
export function signingKey(i: number): PrivateKeyAccount {
  return privateKeyToAccount(keccak256(toHex(`hms-test/bookkeeper/${i}`)));
}

export interface StakingContext {
  signers: HardhatEthersSigner[];
  deployer: HardhatEthersSigner;
  /** #1–#6 */
  bookkeepers: HardhatEthersSigner[];
  /** #7–#12 */
  delegators: HardhatEthersSigner[];
  /** #13–#19 */
  members: HardhatEthersSigner[];
  token: HMSToken;
  registry: NodeRegistry;
  staking: BookkeeperStaking;
  council: BookkeeperCouncil;
  pool: MockMiningPool;
  logicAddress: string;
  chainId: bigint;
}

export async function deployStaking(params: Partial<StakingParams> = {}, councilSize = 7): Promise<StakingContext> {
  const signers = await ethers.getSigners();
  const [deployer] = signers;
  const token = await (await ethers.getContractFactory("HMSToken")).deploy(deployer.address);
  const registry = await (await ethers.getContractFactory("NodeRegistry")).deploy(deployer.address);
  const logic = await (await ethers.getContractFactory("BookkeeperLogic")).deploy();
  const members = signers.slice(13, 13 + councilSize);
  const factory = new BookkeeperStaking__factory(
    { "contracts/staking/BookkeeperLogic.sol:BookkeeperLogic": await logic.getAddress() },
    deployer,
  );
  const staking = await factory.deploy(
    await token.getAddress(),
    await registry.getAddress(),
    deployer.address,
    members.map((m) => m.address),
    { ...DEFAULT_STAKING_PARAMS, ...params },
  );
  const council = BookkeeperCouncil__factory.connect(await staking.council(), deployer);
  const pool = await (await ethers.getContractFactory("MockMiningPool")).deploy(await token.getAddress());
  return {
    signers,
    deployer,
    bookkeepers: signers.slice(1, 7),
    delegators: signers.slice(7, 13),
    members,
    token,
    registry,
    staking,
    council,
    pool,
    logicAddress: await logic.getAddress(),
    chainId: (await ethers.provider.getNetwork()).chainId,
  };
}

export async function stakingFactory(ctx: StakingContext) {
  return new BookkeeperStaking__factory(
    { "contracts/staking/BookkeeperLogic.sol:BookkeeperLogic": ctx.logicAddress },
    ctx.deployer,
  );
}

/** Default unit fixture (use with loadFixture). */
export function defaultStaking() {
  return deployStaking();
}

/** Sends `amount` HMS from the deployer (who holds the supply) and approves staking for it. */
export async function fund(ctx: StakingContext, who: HardhatEthersSigner, amount: bigint): Promise<void> {
  await ctx.token.connect(ctx.deployer).transfer(who.address, amount);
  await ctx.token.connect(who).approve(await ctx.staking.getAddress(), amount);
}

/** Funds, sets signing key #keyIndex and registers `who` with `margin`. */
export async function registerBookkeeper(
  ctx: StakingContext,
  who: HardhatEthersSigner,
  margin: bigint,
  keyIndex: number,
  commissionBps = 1_000,
): Promise<PrivateKeyAccount> {
  const key = signingKey(keyIndex);
  await fund(ctx, who, margin);
  await signedRegistry(ctx.registry, who).setBookkeeperKey(key);
  await ctx.staking.connect(who).register(margin, commissionBps);
  return key;
}

export async function delegateTo(
  ctx: StakingContext,
  delegator: HardhatEthersSigner,
  bookkeeper: string,
  amount: bigint,
): Promise<void> {
  await fund(ctx, delegator, amount);
  await ctx.staking.connect(delegator).delegate(bookkeeper, amount);
}

/** Gives `voter` `amount` HMS (not approved) and delegates its voting power to `candidate`. */
export async function vote(
  ctx: StakingContext,
  voter: HardhatEthersSigner,
  candidate: string,
  amount: bigint,
): Promise<void> {
  await ctx.token.connect(ctx.deployer).transfer(voter.address, amount);
  await ctx.token.connect(voter).delegate(candidate);
}

/** Moves to one second after the start of the next epoch (the next block is strictly after it). */
export async function nextEpoch(staking: BookkeeperStaking): Promise<bigint> {
  const epoch = (await staking.currentEpoch()) + 1n;
  await time.increaseTo((await staking.epochStart(epoch)) + 1n);
  return epoch;
}

/** Moves to the next epoch and elects its committee; returns the epoch. */
export async function electNext(staking: BookkeeperStaking): Promise<bigint> {
  const epoch = await nextEpoch(staking);
  await staking.elect();
  return epoch;
}

export function stakingDomain(ctx: StakingContext, address?: string) {
  return domainOf("staking", ctx.chainId, (address ?? ctx.staking.target) as `0x${string}`);
}

export function digest(tag: string): Hex {
  return keccak256(toHex(tag));
}

/** Two conflicting proposals for (epoch, period, round) signed by `key`. */
export async function conflictingProposals(
  ctx: StakingContext,
  key: PrivateKeyAccount,
  epoch: bigint,
  period = 7n,
  round = 0,
): Promise<{ a: ProposalMessage; sigA: Hex; b: ProposalMessage; sigB: Hex }> {
  const domain = stakingDomain(ctx);
  const a = { epoch, period, round, digest: digest(`a/${epoch}/${period}/${round}`) };
  const b = { epoch, period, round, digest: digest(`b/${epoch}/${period}/${round}`) };
  return {
    a,
    sigA: await signTyped(key, domain, "Proposal", a),
    b,
    sigB: await signTyped(key, domain, "Proposal", b),
  };
}
