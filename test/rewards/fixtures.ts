/**
 * Rewards test fixtures: the foundation system (real HMSToken + TokenAllocation, deployer still admin), a
 * MockCommittee and MockNodeRegistry (contracts/test/RewardsMocks.sol), the MiningPool funded with the Mining
 * bucket, and committee signing keys held by viem local accounts so that reports are signed exactly as the
 * validator daemons sign them (offchain/core/signing.ts through offchain/protocol/report.ts).
 */
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { deploySystemFixture } from "../helpers/fixtures";
import {
  ContributionRegistry__factory,
  MiningPool__factory,
  MockCommittee__factory,
  MockNodeRegistry__factory,
  RewardsMathHarness__factory,
} from "../../typechain-types";
import type { MiningPool } from "../../typechain-types";
import { quorumArgs, type QuorumArgs } from "../../offchain/protocol/quorum";
import { signReport } from "../../offchain/protocol/report";
import { readPeriod, type ReportedPeriod } from "../../offchain/chain/rewards";
import type { PeriodReportMessage } from "../../offchain/core/signing";

export const PERIOD = 600n;
export const HALVING = 210_240n;
export const DAY = 24n * 3600n;
export const EPOCH_LENGTH = DAY;

/** MiningPool.Params defaults (PROTOCOL §4). */
export const POOL_PARAMS = {
  genesis: 0n,
  periodLength: Number(PERIOD),
  halvingInterval: Number(HALVING),
  initialEmission: 0n,
  bookkeeperShareBps: 500,
  claimWindow: Number(365n * DAY),
  electionGrace: 3600,
  signatureWindow: 60,
};

/** Seconds after a report during which signatures may be added (settlement only after it). */
export const SIGNATURE_WINDOW = 60n;

/** ContributionRegistry.Params defaults. */
export const REGISTRY_PARAMS = {
  halvingBlocks: 201_600n,
  maxBatchSize: 64,
  electionGrace: 3600,
  weights: {
    tierPower: [5n * 10n ** 17n, 10n ** 18n, 2n * 10n ** 18n] as [bigint, bigint, bigint],
    completedPoints: 10n ** 18n,
    failedPenalty: 2n * 10n ** 18n,
    chainPoints: 10n ** 18n,
  },
};

/** Deterministic committee signing keys for tests. */
export function committeeKey(i: number): PrivateKeyAccount {
  return privateKeyToAccount(keccak256(toHex(`hms-test/committee/${i}`)));
}

/** A bytes32 node id for tests. */
export function nodeId(i: number): Hex {
  return keccak256(toHex(`hms-test/node/${i}`));
}

export async function rewardsSystem() {
  const base = await deploySystemFixture({ handOverToGovernance: false, rewards: false });
  const { deployer, token, allocation, signers } = base;
  const committee = await new MockCommittee__factory(deployer).deploy(token, EPOCH_LENGTH);
  const registry = await new MockNodeRegistry__factory(deployer).deploy();
  const pool = await new MiningPool__factory(deployer).deploy(
    token,
    committee,
    registry,
    allocation,
    deployer.address,
    POOL_PARAMS,
  );
  await allocation.setMiningPool(pool);
  await pool.pullAllocation();
  const contribution = await new ContributionRegistry__factory(deployer).deploy(
    committee,
    registry,
    deployer.address,
    REGISTRY_PARAMS,
  );
  const math = await new RewardsMathHarness__factory(deployer).deploy();
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  return { ...base, committee, registry, pool, contribution, math, chainId, outsider: signers[19] };
}

export type RewardsSystem = Awaited<ReturnType<typeof rewardsSystem>>;

/**
 * Another MiningPool on the same mocks, administered by the deployer: `params` override POOL_PARAMS;
 * `allocation` defaults to none (the pool is funded with `fund`).
 */
export async function deployPool(
  sys: RewardsSystem,
  params: Partial<typeof POOL_PARAMS> = {},
  allocation: string | { getAddress(): Promise<string> } = hre.ethers.ZeroAddress,
): Promise<MiningPool> {
  return new MiningPool__factory(sys.deployer).deploy(
    sys.token,
    sys.committee,
    sys.registry,
    allocation,
    sys.deployer.address,
    {
      ...POOL_PARAMS,
      ...params,
    },
  );
}

/** A committee of `size` members for `epoch`: bookkeeper accounts and signing keys. */
export interface TestCommittee {
  epoch: bigint;
  bookkeepers: Address[];
  accounts: PrivateKeyAccount[];
  keys: Address[];
}

/** Elects (in the mock) a committee of `size` with keys `committeeKey(offset + i)`. */
export async function electCommittee(
  sys: RewardsSystem,
  epoch: bigint,
  size: number,
  offset = 0,
): Promise<TestCommittee> {
  const accounts = Array.from({ length: size }, (_, i) => committeeKey(offset + i));
  const bookkeepers = accounts.map((_, i) => hre.ethers.zeroPadValue(hre.ethers.toBeHex(0xb000 + offset + i), 20));
  const keys = accounts.map((a) => a.address);
  await sys.committee.setCommittee(epoch, bookkeepers, keys);
  return { epoch, bookkeepers: bookkeepers as Address[], accounts, keys };
}

/** Signs `report` with the committee members at `who` (indices) and packs the quorum argument. */
export async function signQuorum(
  sys: RewardsSystem,
  c: TestCommittee,
  report: PeriodReportMessage,
  who: number[],
  pool?: Address,
): Promise<QuorumArgs> {
  const poolAddress = pool ?? ((await sys.pool.getAddress()) as Address);
  const signed = await Promise.all(
    who.map(async (i) => ({
      key: c.accounts[i].address,
      signature: await signReport(c.accounts[i], sys.chainId, poolAddress, report),
    })),
  );
  return quorumArgs(c.keys, signed);
}

/** First `n` indices. */
export function first(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Moves time to the end of `period` (a report of it is accepted from then on). */
export async function endOfPeriod(pool: MiningPool, period: bigint): Promise<void> {
  const [, end] = await pool.periodBounds(period);
  if (BigInt(await time.latest()) < end) await time.increaseTo(end);
}

/** Reads a reported period through the dApp helper (viem, event + stored hash). */
export async function period(sys: RewardsSystem, p: bigint): Promise<ReportedPeriod> {
  const client = await hre.viem.getPublicClient();
  return readPeriod(client, (await sys.pool.getAddress()) as Address, p);
}

/** The pool's Mining bucket math, for expectations: E0 = 296 M / (2H). */
export const E0 = (296_000_000n * 10n ** 18n) / (2n * HALVING);
