import type { Address } from "viem";
import { getBlock } from "viem/actions";
import { read, assertChain } from "../internal";
import { getTokenBalance, type GetTokenBalanceReturnType } from "../token/getTokenBalance";
import { getBookkeeper, type GetBookkeeperReturnType } from "../bookkeeper/getBookkeeper";
import { toSdkError, type ReadErrorType } from "../../errors";
import type { HmsClient } from "../../client";

export interface GetStatusParameters {
  /** Also report this address's balances and stake. */
  address?: Address;
}
export interface GetStatusReturnType {
  network: string;
  chainId: number;
  blockNumber: bigint;
  timestamp: bigint;
  contracts: Record<string, Address>;
  epoch: {
    current: bigint;
    /** Last epoch with an elected committee (undefined before the first election). */
    lastElected?: bigint;
    start: bigint;
    length: bigint;
  };
  committee: { bookkeepers: Address[]; signingKeys: Address[]; quorum: bigint };
  candidates: number;
  period: { current: bigint; nextToReport: bigint; length: bigint };
  pool: { reserve: bigint; released: bigint; bookkeeperShareBps: number };
  account?: GetTokenBalanceReturnType & { stake: GetBookkeeperReturnType };
}
export type GetStatusErrorType = ReadErrorType;

/** The network at a glance: deployment, epoch and committee, period and pool, and optionally an account's holdings. */
export async function getStatus(
  client: HmsClient,
  { address }: GetStatusParameters = {},
): Promise<GetStatusReturnType> {
  await assertChain(client);
  let block;
  try {
    block = await getBlock(client);
  } catch (err) {
    throw toSdkError(err, "eth_getBlockByNumber");
  }
  const current = await read<bigint>(client, "BookkeeperStaking", "currentEpoch");
  const [start, length, candidates] = await Promise.all([
    read<bigint>(client, "BookkeeperStaking", "epochStart", [current]),
    read<bigint>(client, "BookkeeperStaking", "epochLength"),
    read<readonly Address[]>(client, "BookkeeperStaking", "candidates"),
  ]);
  let lastElected: bigint | undefined;
  let committee = { bookkeepers: [] as Address[], signingKeys: [] as Address[], quorum: 0n };
  try {
    const [e, bookkeepers, signingKeys, quorum] = await read<[bigint, Address[], Address[], bigint]>(
      client,
      "BookkeeperStaking",
      "activeSet",
    );
    lastElected = e;
    committee = { bookkeepers: [...bookkeepers], signingKeys: [...signingKeys], quorum };
  } catch {
    /* NoElection: nothing elected yet */
  }
  const [period, state, released] = await Promise.all([
    read<bigint>(client, "MiningPool", "currentPeriod"),
    read<[bigint, bigint, bigint, number]>(client, "MiningPool", "state"),
    read<bigint>(client, "MiningPool", "totalReleased"),
  ]);
  const [periodStart, periodEnd] = await read<[bigint, bigint]>(client, "MiningPool", "periodBounds", [period]);
  const out: GetStatusReturnType = {
    network: client.deployment.network,
    chainId: client.deployment.chainId,
    blockNumber: block.number!,
    timestamp: block.timestamp,
    contracts: Object.fromEntries(Object.entries(client.deployment.contracts).map(([n, c]) => [n, c.address])),
    epoch: { current, lastElected, start, length },
    committee,
    candidates: candidates.length,
    period: { current: period, nextToReport: state[0], length: periodEnd - periodStart },
    pool: { reserve: state[2], released, bookkeeperShareBps: Number(state[3]) },
  };
  if (address !== undefined)
    out.account = { ...(await getTokenBalance(client, { address })), stake: await getBookkeeper(client, { address }) };
  return out;
}
