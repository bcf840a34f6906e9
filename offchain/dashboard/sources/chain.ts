/**
 * The chain as the dashboard reads it, through viem over JSON-RPC and the deployment file: every event of the
 * MiningPool, BookkeeperStaking, ResourceMarket and NodeRegistry since the deployment, read incrementally (only
 * new blocks each poll), folded into periods with their signers and payouts, node earnings, the committee in
 * leader order, market offers, leases, escrow and fees; plus the few contract reads that events do not carry
 * (current period, pool state, live lease balances). One reader per dashboard server, whatever the number of
 * browsers.
 */
import { createPublicClient, http, stringToBytes, type Address, type Hex, type PublicClient } from "viem";
import { abis } from "../../chain/abis";
import { contractAddress, type Deployment } from "../../chain/deployment";
import { HmsError } from "../../core/errors";
import { canonicalJson, cidFromDigest, cidOf, type ReportDocument } from "../../protocol/report";
import type {
  ChainView,
  CommitteeView,
  LeaseView,
  MarketView,
  NodeEarnings,
  OfferView,
  PeriodView,
  RegisteredNode,
} from "../snapshot";

const KIND_NAMES = ["storage", "container", "meta"];
const RESOURCE_NAMES = ["storage", "compute", "bandwidth"];
const LEASE_STATUS = ["none", "active", "closed"];

interface PeriodRecord {
  period: bigint;
  epoch: bigint;
  terms: {
    rewardsRoot: Hex;
    totalTraffic: bigint;
    nodeCount: number;
    nodeEmission: bigint;
  };
  attestation: { fromPeriod: bigint; signers: bigint; bookkeeperShare: bigint; dataCid: Hex };
  emissionFrom: bigint;
  added: bigint;
  blockNumber: bigint;
  tx: Hex;
  settled: boolean;
  payouts: PeriodView["payouts"];
  document?: ReportDocument;
}

interface Committee {
  epoch: bigint;
  bookkeepers: Address[];
  signingKeys: Address[];
  weights: bigint[];
  quorum: bigint;
  seed: Hex;
  blockNumber: bigint;
}

type AnyLog = { eventName: string; args: Record<string, unknown>; blockNumber: bigint; transactionHash: Hex };

/** What {@link ChainSource.read} returns: the chain parts of the snapshot. */
export interface ChainParts {
  chain: ChainView;
  nodes: RegisteredNode[];
  periods: PeriodView[];
  earnings: NodeEarnings[];
  committee: CommitteeView | null;
  market: MarketView;
}

export interface ChainSourceOptions {
  rpcUrl: string;
  deployment: Deployment;
  fromBlock?: bigint;
  /** Largest block span per getLogs call. */
  maxSpan?: bigint;
}

export class ChainSource {
  readonly client: PublicClient;
  private readonly addr: Record<"pool" | "staking" | "market" | "registry" | "token", Address>;
  private scanned: bigint;
  private readonly maxSpan: bigint;
  private readonly periods = new Map<bigint, PeriodRecord>();
  private readonly committees = new Map<bigint, Committee>();
  private readonly nodes = new Map<Hex, RegisteredNode>();
  private readonly offers = new Map<bigint, OfferView>();
  private readonly leases = new Map<bigint, { nodeId: Hex; user: Address; offerId: bigint; units: bigint }>();
  private orders = 0;
  private openOrders = new Set<bigint>();
  private fees = 0n;
  private settledTotal = 0n;
  private clock?: { genesis: bigint; periodLength: number };

  constructor(private readonly options: ChainSourceOptions) {
    this.client = createPublicClient({ transport: http(options.rpcUrl, { timeout: 10_000, retryCount: 1 }) });
    const d = options.deployment;
    this.addr = {
      pool: contractAddress(d, "MiningPool"),
      staking: contractAddress(d, "BookkeeperStaking"),
      market: contractAddress(d, "ResourceMarket"),
      registry: contractAddress(d, "NodeRegistry"),
      token: contractAddress(d, "HMSToken"),
    };
    const first = Object.values(d.contracts).reduce((m, c) => Math.min(m, c.blockNumber), Number.MAX_SAFE_INTEGER);
    const from = options.fromBlock ?? 0n;
    this.scanned = (from > BigInt(first) ? from : BigInt(first === Number.MAX_SAFE_INTEGER ? 0 : first)) - 1n;
    this.maxSpan = options.maxSpan ?? 5_000n;
  }

  /** The report documents' verified top nodes: set by the collector from a validator's `/v1/reports/:period`. */
  attachDocument(period: bigint, doc: ReportDocument): boolean {
    const p = this.periods.get(period);
    if (p === undefined) return false;
    if (cidOf(stringToBytes(canonicalJson(doc))).digest.toLowerCase() !== p.attestation.dataCid.toLowerCase())
      return false; // not the document the committee signed
    p.document = doc;
    return true;
  }

  /** Periods whose report document is not known yet (newest first). */
  periodsWithoutDocument(): bigint[] {
    return [...this.periods.values()]
      .filter((p) => p.document === undefined)
      .map((p) => p.period)
      .reverse();
  }

  /** Reads the new blocks' events and the current contract state. Throws `DASHBOARD_UPSTREAM`. */
  async read(): Promise<ChainParts> {
    try {
      return await this.readUnchecked();
    } catch (err) {
      if (err instanceof HmsError) throw err;
      throw new HmsError(
        "DASHBOARD_UPSTREAM",
        `chain ${this.options.rpcUrl}: ${(err as Error).message.split("\n")[0]}`,
        {
          value: this.options.rpcUrl,
          cause: err,
        },
      );
    }
  }

  private async readUnchecked(): Promise<ChainParts> {
    const c = this.client;
    const head = await c.getBlockNumber();
    while (this.scanned < head) {
      const from = this.scanned + 1n;
      const to = head - from + 1n > this.maxSpan ? from + this.maxSpan - 1n : head;
      await this.scan(from, to);
      this.scanned = to;
    }
    const { pool, staking, market, token } = this.addr;
    this.clock ??= {
      genesis: await c.readContract({ address: pool, abi: abis.MiningPool, functionName: "genesis" }),
      periodLength: await c.readContract({ address: pool, abi: abis.MiningPool, functionName: "periodLength" }),
    };
    const [block, chainId, currentPeriod, state, activeSet, currentEpoch, feeBps, treasury, escrowHeld] =
      await Promise.all([
        c.getBlock({ blockNumber: head }),
        c.getChainId(),
        c.readContract({ address: pool, abi: abis.MiningPool, functionName: "currentPeriod" }),
        c.readContract({ address: pool, abi: abis.MiningPool, functionName: "state" }),
        // Reverts until a first committee is elected: no committee yet.
        c
          .readContract({ address: staking, abi: abis.BookkeeperStaking, functionName: "activeSet" })
          .catch(() => [0n, [], [], 0n] as const),
        c.readContract({ address: staking, abi: abis.BookkeeperStaking, functionName: "currentEpoch" }),
        c.readContract({ address: market, abi: abis.ResourceMarket, functionName: "feeBps" }),
        c.readContract({ address: market, abi: abis.ResourceMarket, functionName: "treasury" }),
        c.readContract({ address: token, abi: abis.HMSToken, functionName: "balanceOf", args: [market] }),
      ]);
    // Settlement is not final until settleBookkeepers; ask for the periods not known settled.
    await Promise.all(
      [...this.periods.values()]
        .filter((p) => !p.settled)
        .map(async (p) => {
          p.settled = await c.readContract({
            address: pool,
            abi: abis.MiningPool,
            functionName: "isSettled",
            args: [p.period],
          });
        }),
    );
    // Offers: current units in use and state; leases: live balances.
    await Promise.all(
      [...this.offers.values()].map(async (o) => {
        const got = await c.readContract({
          address: market,
          abi: abis.ResourceMarket,
          functionName: "getOffer",
          args: [BigInt(o.offerId)],
        });
        o.units = got.units.toString();
        o.unitsInUse = got.unitsInUse.toString();
        o.pricePerUnitSecond = got.pricePerUnitSecond.toString();
        o.active = got.active;
      }),
    );
    const leases: LeaseView[] = await Promise.all(
      [...this.leases.entries()].map(async ([id, l]) => {
        const [lease, , accrued, withdrawable, escrow] = await c.readContract({
          address: market,
          abi: abis.ResourceMarket,
          functionName: "getLease",
          args: [id],
        });
        return {
          leaseId: id.toString(),
          nodeId: l.nodeId,
          user: l.user,
          offerId: l.offerId.toString(),
          units: lease.units.toString(),
          ratePerSecond: lease.ratePerSecond.toString(),
          start: lease.start.toString(),
          end: lease.end.toString(),
          status: lease.status,
          statusName: LEASE_STATUS[lease.status] ?? String(lease.status),
          accrued: accrued.toString(),
          withdrawn: lease.withdrawn.toString(),
          withdrawable: withdrawable.toString(),
          escrow: escrow.toString(),
        };
      }),
    );

    const [epoch, bookkeepers, signingKeys, quorum] = activeSet;
    const elected = this.committees.get(epoch);
    const committee: CommitteeView | null =
      bookkeepers.length === 0
        ? null
        : {
            epoch: epoch.toString(),
            currentEpoch: currentEpoch.toString(),
            quorum: Number(quorum),
            members: bookkeepers.map((b, i) => ({
              position: i,
              bookkeeper: b,
              signingKey: signingKeys[i],
              weight: elected?.weights[elected.bookkeepers.findIndex((x) => x === b)]?.toString() ?? null,
            })),
            electedAt: elected?.blockNumber.toString() ?? null,
            seed: elected?.seed ?? null,
          };

    return {
      chain: {
        chainId,
        blockNumber: head.toString(),
        blockTime: block.timestamp.toString(),
        network: this.options.deployment.network,
        contracts: Object.fromEntries(
          Object.entries(this.options.deployment.contracts).map(([k, v]) => [k, v.address]),
        ),
        currentPeriod: currentPeriod.toString(),
        periodLength: this.clock.periodLength,
        genesis: this.clock.genesis.toString(),
        nextPeriod: state[0].toString(),
        reserve: state[2].toString(),
      },
      nodes: [...this.nodes.values()],
      periods: [...this.periods.values()].sort((a, b) => (a.period < b.period ? 1 : -1)).map((p) => this.periodView(p)),
      earnings: this.earnings(),
      committee,
      market: {
        feeBps: Number(feeBps),
        treasury,
        escrowHeld: escrowHeld.toString(),
        feesCollected: this.fees.toString(),
        settledTotal: this.settledTotal.toString(),
        offers: [...this.offers.values()],
        leases,
        orders: { open: this.openOrders.size, total: this.orders },
      },
    };
  }

  private async scan(fromBlock: bigint, toBlock: bigint): Promise<void> {
    const c = this.client;
    const get = (address: Address, abi: (typeof abis)[keyof typeof abis]) =>
      c.getContractEvents({ address, abi, fromBlock, toBlock, strict: true }) as unknown as Promise<AnyLog[]>;
    const [pool, staking, market, registry] = await Promise.all([
      get(this.addr.pool, abis.MiningPool),
      get(this.addr.staking, abis.BookkeeperStaking),
      get(this.addr.market, abis.ResourceMarket),
      get(this.addr.registry, abis.NodeRegistry),
    ]);
    for (const log of staking) this.onStaking(log);
    for (const log of pool) this.onPool(log);
    for (const log of market) this.onMarket(log);
    const touched = new Set<Hex>();
    for (const log of registry) {
      const id = log.args.nodeId as Hex | undefined;
      if (id !== undefined) touched.add(id);
    }
    await Promise.all([...touched].map((id) => this.readNode(id)));
  }

  private async readNode(nodeId: Hex): Promise<void> {
    const info = await this.client.readContract({
      address: this.addr.registry,
      abi: abis.NodeRegistry,
      functionName: "getNode",
      args: [nodeId],
    });
    this.nodes.set(nodeId, {
      nodeId,
      operator: info.operator,
      kind: info.kind,
      kindName: KIND_NAMES[info.kind] ?? String(info.kind),
      tier: info.tier,
      region: info.region,
      capacity: info.capacity.toString(),
      active: info.active,
      endpoint: info.endpoint,
      payout: info.payout,
    });
  }

  private onStaking(log: AnyLog): void {
    if (log.eventName !== "CommitteeElected") return;
    const a = log.args as {
      epoch: bigint;
      bookkeepers: readonly Address[];
      signingKeys: readonly Address[];
      weights: readonly bigint[];
      quorum: bigint;
      seed: Hex;
    };
    this.committees.set(a.epoch, {
      epoch: a.epoch,
      bookkeepers: [...a.bookkeepers],
      signingKeys: [...a.signingKeys],
      weights: [...a.weights],
      quorum: a.quorum,
      seed: a.seed,
      blockNumber: log.blockNumber,
    });
  }

  private onPool(log: AnyLog): void {
    const a = log.args;
    switch (log.eventName) {
      case "PeriodReported": {
        const terms = a.terms as PeriodRecord["terms"];
        const att = a.attestation as PeriodRecord["attestation"];
        this.periods.set(a.period as bigint, {
          period: a.period as bigint,
          epoch: a.epoch as bigint,
          terms: { ...terms },
          attestation: { ...att },
          emissionFrom: a.emissionFrom as bigint,
          added: 0n,
          blockNumber: log.blockNumber,
          tx: log.transactionHash,
          settled: false,
          payouts: [],
        });
        break;
      }
      case "SignaturesAdded": {
        const p = this.periods.get(a.period as bigint);
        if (p) p.added = a.signers as bigint;
        break;
      }
      case "Claimed": {
        const p = this.periods.get(a.period as bigint);
        p?.payouts.push({
          nodeId: a.nodeId as Hex,
          index: Number(a.index),
          traffic: (a.traffic as bigint).toString(),
          amount: (a.amount as bigint).toString(),
          payout: a.payout as Address,
          tx: log.transactionHash,
        });
        break;
      }
      case "BookkeepersSettled": {
        const p = this.periods.get(a.period as bigint);
        if (p) p.settled = true;
        break;
      }
      default:
    }
  }

  private onMarket(log: AnyLog): void {
    const a = log.args;
    switch (log.eventName) {
      case "OfferPosted":
        this.offers.set(a.offerId as bigint, {
          offerId: (a.offerId as bigint).toString(),
          nodeId: a.nodeId as Hex,
          kind: Number(a.kind),
          kindName: RESOURCE_NAMES[Number(a.kind)] ?? String(a.kind),
          units: (a.units as bigint).toString(),
          unitsInUse: "0",
          pricePerUnitSecond: (a.pricePerUnitSecond as bigint).toString(),
          region: Number(a.region),
          tier: Number(a.tier),
          active: true,
        });
        break;
      case "OrderCreated":
        this.orders++;
        this.openOrders.add(a.orderId as bigint);
        break;
      case "OrderMatched":
      case "OrderCancelled":
        this.openOrders.delete(a.orderId as bigint);
        break;
      case "LeaseStarted":
        // takeOffer fills the order (lease id = order id) without an OrderMatched.
        this.openOrders.delete(a.leaseId as bigint);
        this.leases.set(a.leaseId as bigint, {
          nodeId: a.nodeId as Hex,
          user: a.user as Address,
          offerId: a.offerId as bigint,
          units: a.units as bigint,
        });
        break;
      case "PaymentSettled":
        this.fees += a.fee as bigint;
        this.settledTotal += a.amount as bigint;
        break;
      default:
    }
  }

  private periodView(p: PeriodRecord): PeriodView {
    const committee = this.committees.get(p.epoch);
    const bits = p.attestation.signers | p.added;
    const size = committee?.signingKeys.length ?? 0;
    const signers: PeriodView["signers"] = [];
    for (let i = 0; i < Math.max(size, 256) && bits >> BigInt(i) > 0n; i++)
      if ((bits >> BigInt(i)) & 1n)
        signers.push({
          position: i,
          key: committee?.signingKeys[i] ?? "?",
          bookkeeper: committee?.bookkeepers[i] ?? null,
        });
    const claimedTotal = p.payouts.reduce((s, x) => s + BigInt(x.amount), 0n);
    const topNodes: PeriodView["topNodes"] = p.document
      ? p.document.rewards.map((r) => ({ nodeId: r.nodeId, traffic: r.traffic, source: "document" as const }))
      : [...p.payouts]
          .sort((x, y) => (BigInt(y.traffic) > BigInt(x.traffic) ? 1 : BigInt(y.traffic) < BigInt(x.traffic) ? -1 : 0))
          .map((x) => ({ nodeId: x.nodeId, traffic: x.traffic, source: "claims" as const }));
    return {
      period: p.period.toString(),
      epoch: p.epoch.toString(),
      fromPeriod: p.attestation.fromPeriod.toString(),
      emissionFrom: p.emissionFrom.toString(),
      totalTraffic: p.terms.totalTraffic.toString(),
      nodeCount: Number(p.terms.nodeCount),
      nodeEmission: p.terms.nodeEmission.toString(),
      bookkeeperShare: p.attestation.bookkeeperShare.toString(),
      released: (p.terms.nodeEmission + p.attestation.bookkeeperShare).toString(),
      rewardsRoot: p.terms.rewardsRoot,
      dataCid: p.attestation.dataCid,
      cid: cidFromDigest(p.attestation.dataCid),
      signerBitmap: bits.toString(),
      signers,
      committeeSize: size,
      claimedTotal: claimedTotal.toString(),
      payouts: [...p.payouts],
      topNodes,
      blockNumber: p.blockNumber.toString(),
      tx: p.tx,
      settled: p.settled,
    };
  }

  private earnings(): NodeEarnings[] {
    const by = new Map<string, NodeEarnings>();
    for (const p of [...this.periods.values()].sort((a, b) => (a.period < b.period ? -1 : 1)))
      for (const x of p.payouts) {
        const e = by.get(x.nodeId) ?? { nodeId: x.nodeId, total: "0", periods: [] };
        e.total = (BigInt(e.total) + BigInt(x.amount)).toString();
        e.periods.push({ period: p.period.toString(), amount: x.amount, traffic: x.traffic });
        by.set(x.nodeId, e);
      }
    return [...by.values()].sort((a, b) => (BigInt(b.total) > BigInt(a.total) ? 1 : -1));
  }
}
