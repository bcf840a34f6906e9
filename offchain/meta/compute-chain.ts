/**
 * The compute supervisor's chain (meta/compute.ts `SupervisorChain`) over viem: lease and offer reads, LeaseMoved
 * events, NodeRegistry signing keys (cached for a while), and the oracle's `moveLease` / `terminateLease`, each
 * waited for and checked (`CHAIN_TX_REVERTED`). Both clamp the failure time into what the market accepts (between
 * the settled point and the latest block's time).
 */
import type { Address, Hex, PublicClient, WalletClient } from "viem";
import { nodeRegistryAbi, resourceMarketAbi } from "../chain/abis";
import { LeaseStatus, marketEvents } from "../chain/market";
import { HmsError } from "../core/errors";
import type { ChainLease, SupervisorChain } from "./compute";

export class ViemSupervisorChain implements SupervisorChain {
  private readonly keys = new Map<string, { key: Address | undefined; atMs: number }>();

  constructor(
    private readonly o: {
      public: PublicClient;
      oracle?: WalletClient;
      market: Address;
      nodeRegistry: Address;
      keyTtlMs?: number;
    },
  ) {}

  async lease(leaseId: bigint): Promise<ChainLease> {
    const [lease, nodeId] = await this.o.public.readContract({
      address: this.o.market,
      abi: resourceMarketAbi,
      functionName: "getLease",
      args: [leaseId],
    });
    return {
      active: lease.status === LeaseStatus.Active,
      nodeId: nodeId.toLowerCase() as Hex,
      start: BigInt(lease.start),
    };
  }

  async movedTo(leaseId: bigint): Promise<bigint | undefined> {
    const events = await this.o.public.getContractEvents({
      address: this.o.market,
      abi: resourceMarketAbi,
      eventName: "LeaseMoved",
      args: { leaseId },
      fromBlock: 0n,
      toBlock: "latest",
    });
    return events[0]?.args.newLeaseId;
  }

  async movedFrom(leaseId: bigint): Promise<{ from: bigint; at: bigint } | undefined> {
    const events = await this.o.public.getContractEvents({
      address: this.o.market,
      abi: resourceMarketAbi,
      eventName: "LeaseMoved",
      args: { newLeaseId: leaseId },
      fromBlock: 0n,
      toBlock: "latest",
    });
    const e = events[0];
    if (e === undefined) return undefined;
    const block = await this.o.public.getBlock({ blockHash: e.blockHash! });
    return { from: e.args.leaseId!, at: block.timestamp };
  }

  async offerNode(offerId: bigint): Promise<Hex | undefined> {
    if (offerId === 0n) return undefined;
    const offer = await this.o.public.readContract({
      address: this.o.market,
      abi: resourceMarketAbi,
      functionName: "getOffer",
      args: [offerId],
    });
    return offer.active ? (offer.nodeId.toLowerCase() as Hex) : undefined;
  }

  /** The node's registered signing key (cached `keyTtlMs`, default 60 s); undefined when not registered. */
  async signingKey(nodeId: Hex): Promise<Address | undefined> {
    const known = this.keys.get(nodeId.toLowerCase());
    if (known !== undefined && Date.now() - known.atMs < (this.o.keyTtlMs ?? 60_000)) return known.key;
    const key = await this.o.public.readContract({
      address: this.o.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: "signingKeyOf",
      args: [nodeId],
    });
    const value = /^0x0{40}$/i.test(key) ? undefined : (key.toLowerCase() as Address);
    this.keys.set(nodeId.toLowerCase(), { key: value, atMs: Date.now() });
    return value;
  }

  private wallet(): WalletClient {
    if (this.o.oracle?.account === undefined)
      throw new HmsError("META_NO_KEY", "compute supervision has no oracle key", { value: "compute.oracleKey" });
    return this.o.oracle;
  }

  /**
   * A failure time given in wall-clock unix seconds (a heartbeat's time) in chain time, clamped into what the
   * market accepts (`chainTimeOf`); 0 stays 0 (now). Chain time is the wall clock shifted
   * by the chain's lead over it, if any (a local chain that mined bursts of blocks at one per second runs ahead;
   * one that is idle lags, and its next block comes at the wall clock).
   */
  private async chainFailedAt(leaseId: bigint, failedAt: bigint): Promise<bigint> {
    if (failedAt === 0n) return 0n;
    const [lease] = await this.o.public.readContract({
      address: this.o.market,
      abi: resourceMarketAbi,
      functionName: "getLease",
      args: [leaseId],
    });
    const settled = BigInt(lease.start) + BigInt(lease.withdrawn) / BigInt(lease.ratePerSecond);
    const latest = (await this.o.public.getBlock({ blockTag: "latest" })).timestamp;
    return chainTimeOf(failedAt, { latestBlock: latest, wallSeconds: BigInt(Math.floor(Date.now() / 1000)), settled });
  }

  async move(leaseId: bigint, offerId: bigint, failedAt: bigint, reportHash: Hex): Promise<bigint> {
    const w = this.wallet();
    const at = await this.chainFailedAt(leaseId, failedAt);
    const hash = await w.writeContract({
      address: this.o.market,
      abi: resourceMarketAbi,
      functionName: "moveLease",
      args: [leaseId, offerId, at, reportHash],
      account: w.account!,
      chain: w.chain,
    });
    const receipt = await this.o.public.waitForTransactionReceipt({ hash });
    const moved = marketEvents(receipt, "LeaseMoved")[0];
    if (receipt.status !== "success" || moved === undefined)
      throw new HmsError("CHAIN_TX_REVERTED", `moveLease(${leaseId}, ${offerId}) reverted`, { value: hash });
    return moved.newLeaseId;
  }

  async terminate(leaseId: bigint, failedAt: bigint, reportHash: Hex): Promise<void> {
    const w = this.wallet();
    const at = await this.chainFailedAt(leaseId, failedAt);
    const hash = await w.writeContract({
      address: this.o.market,
      abi: resourceMarketAbi,
      functionName: "terminateLease",
      args: [leaseId, at, reportHash],
      account: w.account!,
      chain: w.chain,
    });
    const receipt = await this.o.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw new HmsError("CHAIN_TX_REVERTED", `terminateLease(${leaseId}) reverted`, { value: hash });
  }
}

/**
 * A wall-clock time in chain time, clamped to [settled, the move's block time at the earliest] (pure): shifted by
 * the chain's lead over the wall clock when it is ahead (a local chain that mined bursts at one block per second);
 * unchanged when it lags (an idle chain's next block comes at the wall clock: the bound is then the wall clock
 * less a second, and a move refused for a slow block is retried at the next pass).
 */
export function chainTimeOf(
  wallTime: bigint,
  o: { latestBlock: bigint; wallSeconds: bigint; settled: bigint },
): bigint {
  const lead = o.latestBlock > o.wallSeconds ? o.latestBlock - o.wallSeconds : 0n;
  const latest = o.latestBlock > o.wallSeconds - 1n ? o.latestBlock : o.wallSeconds - 1n;
  let at = wallTime + lead;
  if (at > latest) at = latest;
  if (at < o.settled) at = o.settled;
  return at;
}
