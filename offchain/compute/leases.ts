/**
 * The worker's view of ResourceMarket: the lease events of its node (LeaseStarted, LeaseToppedUp, LeaseClosed)
 * read in bounded block ranges from a cursor — so a restarted worker catches up on what happened while it was
 * down — a lease read (`getLease`) for requests that race the events, and the chain's clock (the latest block's
 * timestamp: leases end in chain time).
 */
import type { Address, Hex, PublicClient } from "viem";
import { resourceMarketAbi } from "../chain/abis";
import { LeaseStatus } from "../chain/market";
import { HmsError } from "../core/errors";

export interface LeaseStart {
  leaseId: bigint;
  user: Address;
  units: bigint;
  start: bigint;
  end: bigint;
}

export interface LeaseChanges {
  /** Last block covered (the next fetch starts after it). */
  toBlock: bigint;
  started: LeaseStart[];
  toppedUp: Array<{ leaseId: bigint; newEnd: bigint }>;
  closed: Array<{ leaseId: bigint; end: bigint }>;
}

export interface LeaseView extends LeaseStart {
  nodeId: Hex;
  active: boolean;
}

export class ChainLeases {
  constructor(
    private readonly client: PublicClient,
    private readonly market: Address,
    private readonly nodeId: Hex,
    private readonly maxRange = 5_000n,
  ) {}

  private unreachable(what: string, err: unknown): HmsError {
    return new HmsError("TRANSPORT_UNREACHABLE", `cannot ${what}: ${(err as Error).message.split("\n")[0]}`, {
      value: this.market,
      cause: err,
    });
  }

  /** The lease events of this node in `fromBlock`..min(latest, fromBlock + maxRange − 1). */
  async fetch(fromBlock: bigint): Promise<LeaseChanges | undefined> {
    let latest: bigint;
    try {
      latest = await this.client.getBlockNumber({ cacheTime: 0 });
    } catch (err) {
      throw this.unreachable("read the block number", err);
    }
    if (fromBlock > latest) return undefined;
    const toBlock = fromBlock + this.maxRange - 1n < latest ? fromBlock + this.maxRange - 1n : latest;
    const range = { address: this.market, abi: resourceMarketAbi, fromBlock, toBlock } as const;
    try {
      const [started, closed, toppedUp] = await Promise.all([
        this.client.getContractEvents({ ...range, eventName: "LeaseStarted", args: { nodeId: this.nodeId } }),
        this.client.getContractEvents({ ...range, eventName: "LeaseClosed", args: { nodeId: this.nodeId } }),
        this.client.getContractEvents({ ...range, eventName: "LeaseToppedUp" }),
      ]);
      return {
        toBlock,
        started: started.map((e) => ({
          leaseId: e.args.leaseId!,
          user: e.args.user!,
          units: BigInt(e.args.units!),
          start: BigInt(e.args.start!),
          end: BigInt(e.args.end!),
        })),
        closed: closed.map((e) => ({ leaseId: e.args.leaseId!, end: BigInt(e.args.end!) })),
        toppedUp: toppedUp.map((e) => ({ leaseId: e.args.leaseId!, newEnd: BigInt(e.args.newEnd!) })),
      };
    } catch (err) {
      throw this.unreachable(`read lease events ${fromBlock}..${toBlock}`, err);
    }
  }

  /** One lease as the market holds it now. Throws `COMPUTE_NO_LEASE` when it does not exist. */
  async lease(leaseId: bigint): Promise<LeaseView> {
    try {
      const [lease, nodeId] = await this.client.readContract({
        address: this.market,
        abi: resourceMarketAbi,
        functionName: "getLease",
        args: [leaseId],
      });
      return {
        leaseId,
        user: lease.user,
        units: BigInt(lease.units),
        start: BigInt(lease.start),
        end: BigInt(lease.end),
        nodeId,
        active: lease.status === LeaseStatus.Active,
      };
    } catch (err) {
      throw new HmsError(
        "COMPUTE_NO_LEASE",
        `lease ${leaseId} cannot be read: ${(err as Error).message.split("\n")[0]}`,
        {
          value: leaseId,
          cause: err,
        },
      );
    }
  }

  /** The lease moved into `leaseId` (the `leaseId` of the LeaseMoved event whose newLeaseId it is), if any. */
  async movedInto(leaseId: bigint): Promise<bigint | undefined> {
    try {
      const events = await this.client.getContractEvents({
        address: this.market,
        abi: resourceMarketAbi,
        eventName: "LeaseMoved",
        args: { newLeaseId: leaseId },
        fromBlock: 0n,
        toBlock: "latest",
      });
      return events[0]?.args.leaseId;
    } catch (err) {
      throw this.unreachable(`read the moves into lease ${leaseId}`, err);
    }
  }

  /** The task hash the provider recorded for a lease (zero when none). */
  async taskHash(leaseId: bigint): Promise<Hex> {
    try {
      const t = await this.client.readContract({
        address: this.market,
        abi: resourceMarketAbi,
        functionName: "taskOf",
        args: [leaseId],
      });
      return t.taskHash;
    } catch (err) {
      throw this.unreachable(`read the task of lease ${leaseId}`, err);
    }
  }

  /** The chain's time: the latest block's timestamp, unix seconds. */
  async now(): Promise<bigint> {
    try {
      return (await this.client.getBlock({ blockTag: "latest" })).timestamp;
    } catch (err) {
      throw this.unreachable("read the latest block", err);
    }
  }
}
