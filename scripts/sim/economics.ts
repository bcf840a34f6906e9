/**
 * `npm run sim:economics [-- --seed N --periods N --traffic-price HMS/GiB --node-cost HMS/period]`: cheating does not pay (issue 15 item 5, PROTOCOL §4's
 * anti-cheating conditions). A seeded, deterministic simulation on the real code — nothing here re-implements a
 * rule, every one is imported from the file where it lives:
 *
 *   placement   offchain/meta/placement.ts        `placeSlices` (weighted random, regions), `seededRandom`
 *   routing     offchain/client/storage/replicas.ts `orderReplicas` (nearest, random among about-equals)
 *   receipts    offchain/protocol/transfer.ts      `downloadReceipt` (task ids), offchain/core/signing.ts
 *               `signTypedSync` (EIP-712 `TrafficReceipt` in the `traffic` domain, really signed)
 *   admission   offchain/meta/receipts.ts          `admitReceipts` (each side's signature by its client / node key)
 *   ledger      offchain/protocol/proposal.ts      `buildReportProposal` → `windowTraffic`, `proposalLedger`
 *               (`matchReceipts`: both sides by task), offchain/protocol/ledger.ts / report.ts (`closePeriod`,
 *               top-N, carry-over, `buildReport`), `receiptsProblem` (a proposal's signature rule)
 *   emission    offchain/protocol/emission.ts      `releasedEmission` (E of the period, 5 % to the bookkeepers)
 *   rewards     offchain/protocol/report.ts        `claimAmount` = E × traffic / total
 *   fees        offchain/chain/market.ts           `splitSettlement` (ResourceMarket's 1 % fee)
 *
 * The world: honest storage nodes in three regions, clients that read files placed by the real placement, a
 * latency estimate per (client, node) that the real routing rule uses. Operator X owns node 0. Strategies (each a
 * scenario against the same seeded world; X is honest in the baseline):
 *
 *   self-download  X uploads files and reads them itself: random placement puts its node on only some copies, and
 *                  even though its own node is the nearest (loopback) it serves only the slices it holds — X pays
 *                  the traffic price for every other byte to other nodes.
 *   collusion      X's node and a client Y sign both receipts of traffic that never moved. Y pays the traffic
 *                  price per receipted byte to X's node (inside the coalition: only the market fee leaves it).
 *   sybil          X runs k nodes with the same total hardware (capacity / k each), paying k node costs.
 *   one-sided      X's node signs receipts no client signed, and receipts with a forged client signature.
 *
 * Money model (stated parameters, see docs/ECONOMICS.md): a downloader pays `trafficPrice` HMS per GiB of
 * receipted traffic and `storagePrice` per GiB-second stored, to the serving / holding node through
 * ResourceMarket (node gets amount − 1 % fee, treasury the fee); every node costs `nodeCost` HMS per period
 * (hardware, stake). Net gain per period = rewards + market payouts received − what it pays − node costs.
 */
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { domainOf, KeyRing, signTypedSync, type TrafficReceiptMessage } from "../../offchain/core/signing";
import { Prng } from "../../offchain/consensus/pbft/sim/prng";
import { placeSlices, seededRandom, type NodeCandidate } from "../../offchain/meta/placement";
import { admitReceipts, type ReceiptAdmission } from "../../offchain/meta/receipts";
import { orderReplicas } from "../../offchain/client/storage/replicas";
import type { NodeEndpoint } from "../../offchain/protocol/network";
import { downloadReceipt, type PeriodClock } from "../../offchain/protocol/transfer";
import type { PeriodReceipts, SignedReceipt } from "../../offchain/protocol/receipts";
import {
  buildReportProposal,
  canonicalReceipts,
  receiptsProblem,
  type PrevReport,
} from "../../offchain/protocol/proposal";
import { claimAmount } from "../../offchain/protocol/report";
import { defaultInitialEmission, releasedEmission } from "../../offchain/protocol/emission";
import { ZERO_HASH } from "../../offchain/protocol/merkle";
import { splitSettlement } from "../../offchain/chain/market";

export const GIB = 1n << 30n;
export const HMS = 10n ** 18n;
/** PROTOCOL §4: halving interval (periods). */
const HALVING = 210_240n;

export interface SimParams {
  seed: number;
  periods: number;
  /** Honest nodes besides X's (X's node 0 is honest in the baseline). */
  nodes: number;
  clients: number;
  files: number;
  slicesPerFile: number;
  /** Copies per slice (PROTOCOL §8 default 3; PoT needs ≥ 2). */
  copies: number;
  /**
   * Bytes of one read = one slice = one task = one receipt pair. The ledger adds bytes, so this scale only sets how
   * many receipts are signed (a real slice is 1 MiB; 2 GiB keeps a terabyte-a-period network to 500 tasks).
   */
  readBytes: bigint;
  /** Honest slice reads per period. */
  readsPerPeriod: number;
  /** Rewarded nodes per period (docs/VALIDATOR.md default 100). */
  topN: number;
  /** Bookkeepers' share of the emission, bps (PROTOCOL §4: 5 %). */
  bookkeeperShareBps: bigint;
  /** ResourceMarket fee, bps (docs/MARKET.md: 100 = 1 %). */
  feeBps: bigint;
  /** What a downloader pays per GiB of receipted traffic, HMS wei. */
  trafficPriceWei: bigint;
  /** Storage lease price, HMS wei per GiB-second (docs/MARKET.md demo: 100 gwei). */
  storagePriceWeiPerGiBSecond: bigint;
  /** Cost of running one node, HMS wei per period (hardware, stake). */
  nodeCostWei: bigint;
  /** self-download: X's own files and its slice reads of them per period. */
  selfFiles: number;
  selfReadsPerPeriod: number;
  /** collusion: fake receipted bytes per period (slice-sized tasks). */
  fakeReadsPerPeriod: number;
  /** sybil: X's nodes. */
  sybilNodes: number;
}

export const DEFAULT_PARAMS: SimParams = {
  seed: 1,
  periods: 10,
  nodes: 19,
  clients: 40,
  files: 200,
  slicesPerFile: 4,
  copies: 3,
  readBytes: 2n * GIB,
  readsPerPeriod: 500,
  topN: 100,
  bookkeeperShareBps: 500n,
  feeBps: 100n,
  trafficPriceWei: 100n * HMS,
  storagePriceWeiPerGiBSecond: 100n * 10n ** 9n,
  nodeCostWei: 2n * HMS,
  selfFiles: 20,
  selfReadsPerPeriod: 100,
  fakeReadsPerPeriod: 100,
  sybilNodes: 5,
};

const CHAIN_ID = 31337;
const POOL = "0x00000000000000000000000000000000000000aa" as Address;
const DOMAIN = domainOf("traffic", CHAIN_ID, POOL);
const CLOCK: PeriodClock = { genesis: 1_700_000_000n, periodLength: 600n };
const REGIONS = ["eu", "us", "asia"];
const CAPACITY = 16n * 1024n * GIB;

/** A party's money flows over the run, price-independent (bytes) except the rewards (wei). */
export interface Flows {
  rewardWei: bigint;
  /** Bytes its nodes served to other parties (market income). */
  servedBytes: bigint;
  /** Bytes it paid other parties' nodes for. */
  paidBytes: bigint;
  /** Bytes paid inside the party (its client → its node): only the fee leaves. */
  internalBytes: bigint;
  /** GiB-seconds stored by it on others' nodes / by others on its nodes / on its own. */
  storePaid: bigint;
  storeServed: bigint;
  storeInternal: bigint;
  /** Ledger traffic of its nodes over the run (bytes). */
  traffic: bigint;
  nodes: number;
}

const noFlows = (nodes: number): Flows => ({
  rewardWei: 0n,
  servedBytes: 0n,
  paidBytes: 0n,
  internalBytes: 0n,
  storePaid: 0n,
  storeServed: 0n,
  storeInternal: 0n,
  traffic: 0n,
  nodes,
});

interface Actor {
  key: Hex;
  address: Address;
  party: string;
}
interface Node extends Actor {
  endpoint: NodeEndpoint;
  capacity: bigint;
}
interface File {
  owner: string;
  slices: { digest: Hex; replicas: NodeEndpoint[] }[];
}

function keyOf(seed: number, what: string): Hex {
  return keccak256(toHex(`hms/sim-economics/${seed}/${what}`));
}

/** A world: nodes placed, files stored, latencies drawn. X's nodes are `party: "X"`. */
interface World {
  nodes: Node[];
  byId: Map<Hex, Node>;
  clients: Actor[];
  files: File[];
  /** Per client address: per node id, the latency estimate (time per byte) the routing rule sees. */
  latency: Map<Address, Map<Hex, number>>;
  /** Per period: the honest reads' tasks and their admission verdicts (the same in every scenario of the world). */
  honest: Map<number, { tasks: Task[]; client: boolean[]; node: boolean[] }>;
}

function makeWorld(p: SimParams, xNodes: number, selfFiles: number): World {
  const rng = new Prng(p.seed);
  const nodes: Node[] = [];
  const total = p.nodes + xNodes;
  for (let i = 0; i < total; i++) {
    const x = i < xNodes;
    const key = keyOf(p.seed, x ? `x-node/${xNodes}/${i}` : `node/${i}`);
    const nodeId = keccak256(toHex(`node:${key}`));
    // X's hardware equals one honest node's: with k nodes each has 1/k of it.
    const capacity = x ? CAPACITY / BigInt(xNodes) : CAPACITY;
    nodes.push({
      key,
      address: privateKeyToAddress(key),
      party: x ? "X" : `node${i}`,
      capacity,
      endpoint: { nodeId, url: `http://node-${i}.sim`, region: REGIONS[i % REGIONS.length] },
    });
  }
  const clients: Actor[] = [];
  for (let i = 0; i < p.clients; i++) {
    const key = keyOf(p.seed, `client/${i}`);
    clients.push({ key, address: privateKeyToAddress(key), party: `client${i}` });
  }
  const xClient = keyOf(p.seed, "x-client");
  clients.push({ key: xClient, address: privateKeyToAddress(xClient), party: "X" });
  const latency = new Map<Address, Map<Hex, number>>();
  for (const [ci, c] of clients.entries()) {
    const region = c.party === "X" ? nodes[0].endpoint.region : REGIONS[ci % REGIONS.length];
    const m = new Map<Hex, number>();
    for (const n of nodes) {
      // Same region ≈ 1, other regions ≈ 3, ±20 % per pair; X's client sits next to X's nodes (loopback).
      const base = n.party === c.party ? 0.01 : n.endpoint.region === region ? 1 : 3;
      m.set(n.endpoint.nodeId, base * (1 + 0.2 * rng.next()));
    }
    latency.set(c.address, m);
  }
  // Placement: the real placeSlices over the node table, free space and connections updated after each upload.
  const random = seededRandom(p.seed + 7);
  const table: NodeCandidate[] = nodes.map((n) => ({
    ...n.endpoint,
    capacity: n.capacity,
    free: n.capacity,
    uptimeSec: 7 * 24 * 3600,
    connections: 0,
    online: true,
  }));
  const files: File[] = [];
  const upload = (owner: string, tag: string) => {
    const sizes = Array.from({ length: p.slicesPerFile }, () => Number(p.readBytes));
    const chains = placeSlices(table, { sizes, copies: p.copies }, undefined, random);
    for (const chain of chains)
      for (const e of chain) {
        const t = table.find((n) => n.nodeId === e.nodeId)!;
        t.free -= p.readBytes;
      }
    files.push({
      owner,
      slices: chains.map((replicas, s) => ({ digest: keccak256(toHex(`${tag}/slice/${s}`)), replicas })),
    });
  };
  for (let f = 0; f < p.files; f++) upload("honest", `file/${f}`);
  for (let f = 0; f < selfFiles; f++) upload("X", `x-file/${f}`);
  return {
    nodes,
    byId: new Map(nodes.map((n) => [n.endpoint.nodeId, n])),
    clients,
    files,
    latency,
    honest: new Map(),
  };
}

/** One task's two signed receipts (or only some sides, for the one-sided cheat). */
interface Task {
  client?: SignedReceipt;
  node?: SignedReceipt;
  /** Who pays whom for it (undefined: nobody — a one-sided receipt). */
  payer?: string;
  payee?: string;
}

function sign(key: Hex, receipt: TrafficReceiptMessage): SignedReceipt {
  return { receipt, signature: signTypedSync(key, DOMAIN, "TrafficReceipt", receipt) };
}

/** A slice read of `bytes` by `client`: the real routing picks the replica, both sides sign what moved. */
function read(
  world: World,
  rng: Prng,
  client: Actor,
  slice: File["slices"][number],
  period: bigint,
  bytes: bigint,
): Task {
  const est = world.latency.get(client.address)!;
  const served = orderReplicas(
    slice.replicas,
    (id) => est.get(id),
    1.5,
    (n) => Math.floor(rng.next() * n),
  )[0];
  const node = world.byId.get(served.nodeId)!;
  const nonce = keccak256(toHex(`${rng.nextU32()}/${rng.nextU32()}/${rng.nextU32()}`));
  const receipt = downloadReceipt({
    client: client.address,
    nodeId: served.nodeId,
    sliceDigest: slice.digest,
    nonce,
    bytes,
    period,
  });
  return { client: sign(client.key, receipt), node: sign(node.key, receipt), payer: client.party, payee: node.party };
}

/** Honest reads of a period: random clients, random honest files (uniform), each a slice read. */
function honestTasks(world: World, p: SimParams, period: bigint): Task[] {
  const rng = new Prng(p.seed * 1_000 + Number(period) + 11);
  const honest = world.files.filter((f) => f.owner === "honest");
  const clients = world.clients.filter((c) => c.party !== "X");
  const out: Task[] = [];
  for (let r = 0; r < p.readsPerPeriod; r++) {
    const c = clients[Math.floor(rng.next() * clients.length)];
    const f = honest[Math.floor(rng.next() * honest.length)];
    const s = f.slices[Math.floor(rng.next() * f.slices.length)];
    out.push(read(world, rng, c, s, period, p.readBytes));
  }
  return out;
}

export type Strategy = "baseline" | "self-download" | "collusion" | "sybil" | "one-sided";
export const STRATEGIES: Strategy[] = ["baseline", "self-download", "collusion", "sybil", "one-sided"];

export interface ScenarioResult {
  strategy: Strategy;
  /** Flows per party ("X": the cheating operator, with its colluding client in `collusion`). */
  flows: Map<string, Flows>;
  /** Per period: node emission, total rewarded traffic, X's ledger traffic. */
  periods: { emission: bigint; total: bigint; x: bigint }[];
  /** Receipts the admission refused (forged signatures), and the proposal rule's verdict on them. */
  refused: number;
  forgedProposalProblem?: string;
  /** Bytes the extra (cheating) receipts added to X's ledger traffic, vs the baseline. */
  extraTasks: number;
}

function flowsOf(m: Map<string, Flows>, party: string, nodes = 0): Flows {
  let f = m.get(party);
  if (f === undefined) m.set(party, (f = noFlows(nodes)));
  return f;
}

/** Runs one scenario. The honest world (placement, reads, receipts) is the same for every strategy but sybil. */
export function runScenario(p: SimParams, strategy: Strategy, cache = new Map<string, World>()): ScenarioResult {
  const xNodes = strategy === "sybil" ? p.sybilNodes : 1;
  // X's own files are stored in every world (after the honest ones, so the honest placement does not depend on
  // them); only the self-download scenario reads and pays for them.
  const wkey = `${xNodes}`;
  let world = cache.get(wkey);
  if (world === undefined) cache.set(wkey, (world = makeWorld(p, xNodes, p.selfFiles)));
  const w = world;
  const flows = new Map<string, Flows>();
  for (const n of w.nodes) flowsOf(flows, n.party).nodes += 1;
  const nodeKey = (id: Hex) => w.byId.get(id.toLowerCase() as Hex)?.address;
  const keyRing = new KeyRing();
  const xNode = w.nodes[0];
  const xClient = w.clients.find((c) => c.party === "X")!;
  const colluder: Actor = {
    key: keyOf(p.seed, "colluder"),
    address: privateKeyToAddress(keyOf(p.seed, "colluder")),
    party: "X",
  };
  let prev: PrevReport = { period: null, carryRoot: ZERO_HASH, carry: [] };
  const periods: ScenarioResult["periods"] = [];
  let refused = 0;
  let extraTasks = 0;
  let forgedProposalProblem: string | undefined;
  for (let i = 0; i < p.periods; i++) {
    const period = BigInt(i);
    const tasks: Task[] = [];
    const rng = new Prng(p.seed * 7_919 + i);
    if (strategy === "self-download") {
      const own = w.files.filter((f) => f.owner === "X");
      for (let r = 0; r < p.selfReadsPerPeriod; r++) {
        const f = own[Math.floor(rng.next() * own.length)];
        tasks.push(read(w, rng, xClient, f.slices[Math.floor(rng.next() * f.slices.length)], period, p.readBytes));
      }
      extraTasks += p.selfReadsPerPeriod;
    }
    const forged: SignedReceipt[] = [];
    if (strategy === "collusion" || strategy === "one-sided") {
      for (let r = 0; r < p.fakeReadsPerPeriod; r++) {
        const receipt = downloadReceipt({
          client: colluder.address,
          nodeId: xNode.endpoint.nodeId,
          sliceDigest: keccak256(toHex(`fake/${i}/${r}`)),
          nonce: keccak256(toHex(`fake-nonce/${i}/${r}`)),
          bytes: p.readBytes,
          period,
        });
        if (strategy === "collusion")
          tasks.push({ client: sign(colluder.key, receipt), node: sign(xNode.key, receipt), payer: "X", payee: "X" });
        else if (r % 2 === 0)
          tasks.push({ node: sign(xNode.key, receipt) }); // node side only
        else {
          // A client receipt "signed" by the node's key: a forgery of the client's signature.
          const fake = sign(xNode.key, receipt);
          forged.push(fake);
          tasks.push({ client: fake, node: sign(xNode.key, receipt) });
        }
      }
      extraTasks += p.fakeReadsPerPeriod;
    }
    // Admission on the meta layer (the real signature rule), per side.
    const admission: ReceiptAdmission = {
      domain: DOMAIN,
      clock: CLOCK,
      now: CLOCK.genesis + period * CLOCK.periodLength + 300n,
      tolerance: 1,
      nodeKey,
    };
    let honest = w.honest.get(i);
    if (honest === undefined) {
      const ht = honestTasks(w, p, period);
      honest = {
        tasks: ht,
        client: admitReceipts(
          "client",
          ht.map((t) => t.client!),
          admission,
        ).map((a) => a.ok),
        node: admitReceipts(
          "node",
          ht.map((t) => t.node!),
          admission,
        ).map((a) => a.ok),
      };
      w.honest.set(i, honest);
    }
    const clientSide = tasks.flatMap((t) => (t.client ? [t.client] : []));
    const nodeSide = tasks.flatMap((t) => (t.node ? [t.node] : []));
    const okClient = admitReceipts("client", clientSide, admission).map((a) => a.ok);
    const okNode = admitReceipts("node", nodeSide, admission).map((a) => a.ok);
    refused += [...okClient, ...okNode].filter((ok) => !ok).length;
    const group: PeriodReceipts = {
      period,
      client: [
        ...honest.tasks.filter((_, j) => honest.client[j]).map((t) => t.client!),
        ...clientSide.filter((_, j) => okClient[j]),
      ],
      node: [
        ...honest.tasks.filter((_, j) => honest.node[j]).map((t) => t.node!),
        ...nodeSide.filter((_, j) => okNode[j]),
      ],
    };
    tasks.push(...honest.tasks);
    if (forged.length > 0 && forgedProposalProblem === undefined) {
      // Had the forged client receipts slipped past admission, the proposal rule rejects them.
      const bad = { period, prev, traffic: [{ period, client: [...group.client, ...forged], node: group.node }] };
      bad.traffic = bad.traffic.map((g) => ({
        ...g,
        client: canonicalReceipts(g.client),
        node: canonicalReceipts(g.node),
      }));
      forgedProposalProblem = receiptsProblem(bad, { chainId: CHAIN_ID, pool: POOL, nodeKey, keyRing })?.code;
    }
    const built = buildReportProposal({
      chainId: CHAIN_ID,
      pool: POOL,
      epoch: 1n,
      base: 0n,
      seq: i + 1,
      topN: p.topN,
      prev,
      traffic: [group],
    }).built;
    const emission = releasedEmission(
      { e0: defaultInitialEmission(HALVING), h: HALVING },
      { emissionCursor: period, reserve: 0n, bookkeeperShareBps: p.bookkeeperShareBps },
      period,
    ).nodeEmission;
    let xTraffic = 0n;
    for (const c of built.claims) {
      const party = w.byId.get(c.nodeId)!.party;
      const f = flowsOf(flows, party);
      f.rewardWei += claimAmount(emission, c.traffic, built.report.totalTraffic);
      f.traffic += c.traffic;
      if (party === "X") xTraffic += c.traffic;
    }
    periods.push({ emission, total: built.report.totalTraffic, x: xTraffic });
    prev = {
      period,
      carryRoot: built.report.carryRoot,
      carry: [...built.carry.traffic].map(([nodeId, traffic]) => ({ nodeId, traffic })),
    };
    // Payments for the receipted bytes that counted (both sides admitted, matched).
    const nodeTasks = new Set(group.node.map((r) => r.receipt.taskId));
    const counted = new Set(group.client.map((r) => r.receipt.taskId).filter((t) => nodeTasks.has(t)));
    for (const t of tasks) {
      if (t.payer === undefined || t.payee === undefined || !counted.has(t.client!.receipt.taskId)) continue;
      const bytes = t.client!.receipt.bytesServed;
      if (t.payer === t.payee) flowsOf(flows, t.payer).internalBytes += bytes;
      else {
        flowsOf(flows, t.payer).paidBytes += bytes;
        flowsOf(flows, t.payee).servedBytes += bytes;
      }
    }
    // Storage leases of every stored copy for the period.
    for (const f of w.files)
      for (const s of f.slices)
        for (const r of s.replicas) {
          const holder = w.byId.get(r.nodeId)!.party;
          const gibSec = (p.readBytes * CLOCK.periodLength) / GIB;
          if (f.owner === "honest") flowsOf(flows, holder).storeServed += gibSec;
          else if (strategy !== "self-download") continue;
          else if (holder === "X") flowsOf(flows, "X").storeInternal += gibSec;
          else {
            flowsOf(flows, "X").storePaid += gibSec;
            flowsOf(flows, holder).storeServed += gibSec;
          }
        }
  }
  return { strategy, flows, periods, refused, forgedProposalProblem, extraTasks };
}

/** Net gain of a party over the run, in wei, at the parameters' prices. */
export function netGain(
  f: Flows,
  p: Pick<SimParams, "trafficPriceWei" | "storagePriceWeiPerGiBSecond" | "feeBps" | "nodeCostWei" | "periods">,
): bigint {
  const traffic = (bytes: bigint) => (bytes * p.trafficPriceWei) / GIB;
  const store = (gibSec: bigint) => gibSec * p.storagePriceWeiPerGiBSecond;
  return (
    f.rewardWei +
    splitSettlement(traffic(f.servedBytes), p.feeBps).payout -
    traffic(f.paidBytes) -
    splitSettlement(traffic(f.internalBytes), p.feeBps).fee +
    splitSettlement(store(f.storeServed), p.feeBps).payout -
    store(f.storePaid) -
    splitSettlement(store(f.storeInternal), p.feeBps).fee -
    BigInt(f.nodes * p.periods) * p.nodeCostWei
  );
}

export interface Row {
  strategy: Strategy;
  /** X's net gain per period (wei). */
  gain: bigint;
  /** An honest node's net gain per period (mean over the honest nodes of the baseline). */
  honest: bigint;
  /** X's gain minus X's gain when honest (baseline): the cheat's own result. */
  marginal: bigint;
  verdict: string;
}

export interface Breakeven {
  /** collusion: traffic price per GiB above which it loses — simulated (from the rewards it got) and by formula. */
  collusionSim: bigint;
  collusionFormula: bigint;
  /** self-download: traffic price per GiB above which it loses (simulated, formula with f = copies / nodes). */
  selfSim: bigint;
  selfFormula: bigint;
  /** The same with f = copies / nodes (what random placement gives on average). */
  selfFormulaExpected: bigint;
  /** Fraction of X's self-reads its own node served. */
  selfOwnShare: number;
  /** sybil: node cost per period above which k nodes lose to one (negative: any cost). */
  sybilNodeCost: bigint;
}

export interface SimResult {
  params: SimParams;
  scenarios: Map<Strategy, ScenarioResult>;
  rows: Row[];
  breakeven: Breakeven;
  /** Ledger traffic of X added by one-sided receipts (must be 0). */
  oneSidedExtraTraffic: bigint;
}

const per = (wei: bigint, periods: number) => wei / BigInt(periods);

export function simulate(params: Partial<SimParams> = {}): SimResult {
  const p = { ...DEFAULT_PARAMS, ...params };
  const cache = new Map<string, World>();
  const scenarios = new Map<Strategy, ScenarioResult>();
  for (const s of STRATEGIES) scenarios.set(s, runScenario(p, s, cache));
  const base = scenarios.get("baseline")!;
  const honestParties = [...base.flows.entries()].filter(([k, f]) => k.startsWith("node") && f.nodes > 0);
  const honest = per(
    honestParties.reduce((a, [, f]) => a + netGain(f, p), 0n) / BigInt(honestParties.length),
    p.periods,
  );
  const xBase = per(netGain(base.flows.get("X")!, p), p.periods);
  const rows: Row[] = STRATEGIES.map((s) => {
    const gain = per(netGain(scenarios.get(s)!.flows.get("X")!, p), p.periods);
    const marginal = gain - xBase;
    const verdict =
      s === "baseline"
        ? "honest"
        : s === "one-sided"
          ? marginal === 0n
            ? "never counted"
            : "COUNTED"
          : marginal < 0n
            ? "loss"
            : "PAYS";
    return { strategy: s, gain, honest, marginal, verdict };
  });
  const xb = base.flows.get("X")!;
  const fee = (v: bigint) => (v * p.feeBps) / 10_000n;
  // collusion: all it pays is the fee on the fake bytes; it gains the extra rewards.
  const col = scenarios.get("collusion")!.flows.get("X")!;
  const fakeGiB = BigInt(p.fakeReadsPerPeriod * p.periods) * (p.readBytes / GIB);
  const dRewardCol = col.rewardWei - xb.rewardWei;
  const collusionSim = (dRewardCol * 10_000n) / (p.feeBps * fakeGiB);
  // formula: Σ_p E·((t+B)/(T+B) − t/T), from the baseline's per-period E, T, t and the fake bytes B per period.
  const B = BigInt(p.fakeReadsPerPeriod) * p.readBytes;
  let formulaGain = 0n;
  for (const q of base.periods) formulaGain += (q.emission * (q.x + B)) / (q.total + B) - (q.emission * q.x) / q.total;
  const collusionFormula = (formulaGain * 10_000n) / (p.feeBps * fakeGiB);
  // self-download: it pays the full price for what others serve, the fee on what its node serves.
  const self = scenarios.get("self-download")!.flows.get("X")!;
  const selfGiB = BigInt(p.selfReadsPerPeriod * p.periods) * (p.readBytes / GIB);
  const ownBytes = self.internalBytes;
  const allSelf = self.internalBytes + (self.paidBytes - xb.paidBytes);
  const selfOwnShare = Number((ownBytes * 10_000n) / allSelf) / 10_000;
  const dRewardSelf = self.rewardWei - xb.rewardWei;
  const storeCost = (self.storePaid + fee(self.storeInternal)) * p.storagePriceWeiPerGiBSecond; // fee() rounding aside
  // net(price) = ΔR − storage − price·(others' GiB + fee·own GiB) ⇒ break-even price:
  const paidGiB = (self.paidBytes - xb.paidBytes) / GIB;
  const ownGiB = ownBytes / GIB;
  const selfSim = ((dRewardSelf - storeCost) * 10_000n) / (paidGiB * 10_000n + ownGiB * p.feeBps);
  // formula: Σ_p E·((t+fB)/(T+B) − t/T) / (B·(1 − f·(1 − fee))), f = the share of its reads its own node serves.
  const selfFormulaAt = (f: number) => {
    const Bs = BigInt(p.selfReadsPerPeriod) * p.readBytes;
    const fm = BigInt(Math.round(f * 1e6));
    const fBs = (fm * Bs) / 1_000_000n;
    let gain = 0n;
    for (const q of base.periods) gain += (q.emission * (q.x + fBs)) / (q.total + Bs) - (q.emission * q.x) / q.total;
    const costPerGiB = 10_000n - (fm * (10_000n - p.feeBps)) / 1_000_000n; // × 10⁻⁴ of the price
    return (gain * 10_000n) / (selfGiB * costPerGiB);
  };
  const selfFormula = selfFormulaAt(selfOwnShare);
  const selfFormulaExpected = selfFormulaAt(p.copies / (p.nodes + 1));
  // sybil: k nodes vs one, both at zero node cost; the difference over k − 1 extra nodes.
  const syb = scenarios.get("sybil")!.flows.get("X")!;
  const zero = { ...p, nodeCostWei: 0n };
  const sybilNodeCost = (netGain(syb, zero) - netGain(xb, zero)) / BigInt((p.sybilNodes - 1) * p.periods);
  const one = scenarios.get("one-sided")!;
  return {
    params: p,
    scenarios,
    rows,
    breakeven: {
      collusionSim,
      collusionFormula,
      selfSim,
      selfFormula,
      selfFormulaExpected,
      selfOwnShare,
      sybilNodeCost,
    },
    oneSidedExtraTraffic: one.flows.get("X")!.traffic - xb.traffic,
  };
}

/** wei → "1,234.56" HMS. */
export function hms(wei: bigint): string {
  const neg = wei < 0n;
  const cents = ((neg ? -wei : wei) * 100n) / HMS;
  const s = `${(cents / 100n).toLocaleString("en-US")}.${(cents % 100n).toString().padStart(2, "0")}`;
  return neg ? `−${s}` : s;
}

export function ratio(a: bigint, b: bigint): string {
  if (b === 0n) return "—";
  const x = Number((a * 10_000n) / b) / 10_000;
  return `${x < 0 ? "−" : ""}${Math.abs(x).toFixed(2)}×`;
}

export function table(r: SimResult): string {
  const p = r.params;
  const head = ["strategy", "gain/period (HMS)", "honest node (HMS)", "ratio", "vs. X honest", "verdict"];
  const body = r.rows.map((row) => [
    row.strategy,
    hms(row.gain),
    hms(row.honest),
    ratio(row.gain, row.honest),
    row.strategy === "baseline" ? "" : hms(row.marginal),
    row.verdict,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const base = r.scenarios.get("baseline")!;
  const meanT = base.periods.reduce((a, q) => a + q.total, 0n) / BigInt(base.periods.length);
  const E = base.periods[0].emission;
  const b = r.breakeven;
  const one = r.scenarios.get("one-sided")!;
  return [
    `seed ${p.seed}, ${p.periods} periods, ${p.nodes} honest nodes + X, ${p.clients} clients, ${p.files} files × ${p.slicesPerFile} slices × ${p.copies} copies, ${p.readsPerPeriod} reads/period of ${p.readBytes / GIB} GiB`,
    `E (node emission/period) = ${hms(E)} HMS; total traffic T ≈ ${meanT / GIB} GiB/period; E/T = ${hms((E * GIB) / meanT)} HMS/GiB`,
    `traffic price ${hms(p.trafficPriceWei)} HMS/GiB, storage ${p.storagePriceWeiPerGiBSecond / 10n ** 9n} gwei/GiB-s, market fee ${Number(p.feeBps) / 100} %, node cost ${hms(p.nodeCostWei)} HMS/period`,
    "",
    line(head),
    `|${widths.map((w, i) => (i === 0 || i === 5 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...body.map(line),
    "",
    `self-download: X's node served ${(b.selfOwnShare * 100).toFixed(1)} % of its own reads (copies/nodes = ${((p.copies / (p.nodes + 1)) * 100).toFixed(1)} %); loses above ${hms(b.selfSim)} HMS/GiB (formula ${hms(b.selfFormula)}; with f = copies/nodes ${hms(b.selfFormulaExpected)})`,
    `collusion: loses above a traffic price of ${hms(b.collusionSim)} HMS/GiB (formula E·((t+B)/(T+B) − t/T) / (fee·B): ${hms(b.collusionFormula)}), i.e. fee × price > E/T`,
    b.sybilNodeCost < 0n
      ? `sybil (${p.sybilNodes} nodes, same hardware): loses at any node cost ≥ 0 (even free nodes earn ${hms(-b.sybilNodeCost)} HMS/period less per extra node)`
      : `sybil (${p.sybilNodes} nodes, same hardware): loses for any node cost above ${hms(b.sybilNodeCost)} HMS/period`,
    `one-sided: ${one.refused} forged receipts refused at admission, proposal rule says ${one.forgedProposalProblem ?? "—"}; ledger traffic added: ${r.oneSidedExtraTraffic} bytes`,
    `every cheat loses when: traffic price > ${hms(b.collusionSim > b.selfSim ? b.collusionSim : b.selfSim)} HMS/GiB and node cost > ${hms(b.sybilNodeCost > 0n ? b.sybilNodeCost : 0n)} HMS/period`,
  ].join("\n");
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (require.main === module) {
  const started = Date.now();
  const hmsArg = (name: string, fallback: bigint) => {
    const v = arg(name);
    return v === undefined ? fallback : BigInt(Math.round(Number(v) * 1e6)) * 10n ** 12n;
  };
  const result = simulate({
    seed: Number(arg("seed") ?? DEFAULT_PARAMS.seed),
    periods: Number(arg("periods") ?? DEFAULT_PARAMS.periods),
    trafficPriceWei: hmsArg("traffic-price", DEFAULT_PARAMS.trafficPriceWei),
    nodeCostWei: hmsArg("node-cost", DEFAULT_PARAMS.nodeCostWei),
  });
  console.log(table(result));
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  // A cheat that pays (or a one-sided receipt that counts) at these parameters fails the run (CI calls it).
  const bad = result.rows.filter((r) => r.verdict === "PAYS" || r.verdict === "COUNTED");
  if (bad.length > 0) {
    console.error(`cheating pays here: ${bad.map((r) => r.strategy).join(", ")}`);
    process.exitCode = 1;
  }
}
