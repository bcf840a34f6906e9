/**
 * The lease gate: may `owner` write `bytes` to this node? Checked before a write's body is read (403
 * `STORAGE_NO_LEASE` when not). Paid storage (issue 12 item 7) will make it mandatory and change the market;
 * until then the daemon runs the {@link OpenLeaseGate} unless `lease.mode = chain`.
 *
 * {@link ChainLeaseGate} reads what ResourceMarket can tell today: the client names, per node of the chain, the
 * lease that pays that node (`x-hms-leases`), and the worker checks on chain (`getLease`, `getOffer`, cached)
 * that it is Active, unexpired, a Storage lease, of this node, taken by the owner, and that the bytes it has
 * accepted under it stay within its units (GiB). What the contract lacks for more (docs/STORAGE.md): no lookup
 * of a user's lease with a node (the client must name it), no binding of a lease to an upload or to content,
 * units that are GiB only by convention, one lease per node (three copies need three leases, a repaired copy a
 * new one), and no event a worker could follow to learn a lease was closed early other than polling.
 */
import type { Address, Hex, PublicClient } from "viem";
import { HmsError } from "../core/errors";

export interface LeaseRequest {
  owner: Address;
  nodeId: Hex;
  /** Bytes of this write. */
  bytes: number;
  /** The lease the client named for this node, if any. */
  leaseId?: bigint;
}

export interface LeaseGate {
  /** Resolves if the write may proceed; throws `STORAGE_NO_LEASE` naming the reason otherwise. */
  check(request: LeaseRequest): Promise<void>;
}

/** Admits every write that carries a valid grant (no paid storage yet). */
export class OpenLeaseGate implements LeaseGate {
  async check(): Promise<void> {}
}

const STORAGE_KIND = 0;
const ACTIVE = 1;
const GIB = 1n << 30n;

interface LeaseView {
  user: Address;
  nodeId: Hex;
  end: bigint;
  status: number;
  units: bigint;
  kind: number;
  readAt: number;
}

/** Checks ResourceMarket leases on chain (see the file comment for what it can and cannot check). */
export class ChainLeaseGate implements LeaseGate {
  private readonly cache = new Map<bigint, LeaseView>();
  private readonly accepted = new Map<bigint, bigint>();

  constructor(
    private readonly client: PublicClient,
    private readonly market: Address,
    private readonly options: { cacheMs: number; now?: () => number } = { cacheMs: 30_000 },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private async lease(id: bigint): Promise<LeaseView> {
    const cached = this.cache.get(id);
    if (cached && this.now() - cached.readAt < this.options.cacheMs) return cached;
    let view: LeaseView;
    // The ABIs are loaded only by a worker that reads the chain (they cost ~35 MB of a ts-node process).
    const { resourceMarketAbi } = await import("../chain/abis");
    try {
      const [lease, nodeId] = await this.client.readContract({
        address: this.market,
        abi: resourceMarketAbi,
        functionName: "getLease",
        args: [id],
      });
      const offer = await this.client.readContract({
        address: this.market,
        abi: resourceMarketAbi,
        functionName: "getOffer",
        args: [lease.offerId],
      });
      view = {
        user: lease.user,
        nodeId,
        end: lease.end,
        status: lease.status,
        units: lease.units,
        kind: offer.kind,
        readAt: this.now(),
      };
    } catch (err) {
      throw new HmsError("STORAGE_NO_LEASE", `lease ${id} cannot be read: ${(err as Error).message.split("\n")[0]}`, {
        value: id,
        cause: err,
      });
    }
    this.cache.set(id, view);
    return view;
  }

  /**
   * Keeps the cache current from the market's events: a LeaseClosed (closed by either side, terminated, moved
   * away by the oracle, expired), LeaseToppedUp or LeaseMoved drops the cached view of that lease, so the next
   * write reads it again — a lease closed early stops admitting bytes within one polling interval, not one
   * cache lifetime. Returns the function that stops following.
   */
  follow(options: { pollingIntervalMs?: number; onError?: (err: Error) => void } = {}): () => void {
    let unwatch: (() => void) | undefined;
    let stopped = false;
    void import("../chain/abis").then(({ resourceMarketAbi }) => {
      if (stopped) return;
      unwatch = this.client.watchContractEvent({
        address: this.market,
        abi: resourceMarketAbi,
        pollingInterval: options.pollingIntervalMs ?? 1_000,
        onError: options.onError,
        onLogs: (logs) => {
          for (const log of logs) {
            const name = (log as { eventName?: string }).eventName;
            if (name !== "LeaseClosed" && name !== "LeaseToppedUp" && name !== "LeaseMoved") continue;
            const id = (log as { args?: { leaseId?: bigint } }).args?.leaseId;
            if (id !== undefined) this.cache.delete(id);
          }
        },
      });
    });
    return () => {
      stopped = true;
      unwatch?.();
    };
  }

  async check(request: LeaseRequest): Promise<void> {
    const id = request.leaseId;
    if (id === undefined)
      throw new HmsError("STORAGE_NO_LEASE", `no lease named for node ${request.nodeId}`, { value: request.nodeId });
    const l = await this.lease(id);
    const refuse = (why: string) => {
      throw new HmsError("STORAGE_NO_LEASE", `lease ${id} ${why}`, { value: id });
    };
    if (l.status !== ACTIVE) refuse("is not active");
    if (l.kind !== STORAGE_KIND) refuse("is not a storage lease");
    if (l.nodeId.toLowerCase() !== request.nodeId.toLowerCase()) refuse(`pays node ${l.nodeId}, not this one`);
    if (l.user.toLowerCase() !== request.owner.toLowerCase()) refuse(`belongs to ${l.user}, not ${request.owner}`);
    if (l.end * 1000n <= BigInt(this.now())) refuse(`ended at ${l.end}`);
    const used = (this.accepted.get(id) ?? 0n) + BigInt(request.bytes);
    if (used > l.units * GIB) refuse(`covers ${l.units} GiB; this write would make ${used} bytes`);
    this.accepted.set(id, used);
  }
}
