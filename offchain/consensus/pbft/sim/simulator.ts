/**
 * Deterministic discrete-event simulation of a PBFT replica set: a seeded network with delays,
 * drops, duplicates, reordering and partitions that heal at GST; Byzantine replicas (silent,
 * equivocating primary, wrong digests, invalid proposals), slow replicas, and replicas that crash and
 * restart from their persisted snapshot. Everything is driven by one PRNG, so a seed replays exactly.
 *
 * Checked on every run:
 *  - SAFETY: no two honest replicas ever execute different digests at the same sequence number; every
 *    honest replica executes in sequence order (gaps only through announced state jumps); no honest
 *    replica ever signs two different pre-prepares, prepares, commits or view-changes for the same
 *    (view, seq) / view — across restarts included; evidence never names an honest replica, and its
 *    two pre-prepares are validly signed and differ.
 *  - LIVENESS: after GST every client request is executed by every correct replica before the
 *    deadline, and the views advance by at most f + 2 beyond the highest view an honest replica had
 *    reached at GST.
 */
import type { Address, Hex } from "viem";
import { createHash } from "node:crypto";
import { PbftReplica, certsText, newViewText, restoreReplica, type ReplicaSnapshot } from "../replica";
import {
  NULL_DIGEST,
  type PbftCrypto,
  type PbftMessage,
  type PrePrepare,
  type ReplicaAction,
  type ReplicaEvent,
  type RequestVerdict,
  type ViewChange,
} from "../types";
import { SlotGuard } from "../guard";
import { Prng } from "./prng";
import { SimKeys } from "./crypto";
import { BYZANTINE_KINDS, type FaultKind, type Scenario } from "./scenario";

export interface SimResult {
  ok: boolean;
  violations: string[];
  stats: {
    events: number;
    messages: number;
    endTime: number;
    maxView: number;
    maxViewAtGst: number;
    executed: number[];
    evidence: number;
    stateJumps: number;
    /** Most view-change messages any correct replica held at once (the future-view flood bound). */
    maxStoredViewChanges: number;
  };
}

export interface SimOptions {
  /** Abort (as a failure) after this many events. */
  maxEvents?: number;
  /** Simulated time allowed after GST for every request to be executed everywhere. */
  livenessBudgetMs?: number;
  /** Receives a line per event and action (replay debugging). */
  trace?: (line: string) => void;
  /**
   * Correct replicas' signing records guard every vote kind (default). `false`: only pre-prepares, as the
   * validator's record did before issue 19 — a replica that loses its state then re-votes.
   */
  guardVotes?: boolean;
  /** Extra message loss before GST, for crafted scenarios: true drops the message. */
  drop?: (from: number, to: number, message: PbftMessage, now: number) => boolean;
}

type SimEvent =
  | { kind: "deliver"; to: number; from: number; message: PbftMessage }
  | { kind: "timer"; replica: number; timer: "view-change" | "retransmit"; id: number }
  | { kind: "client"; request: number }
  | { kind: "crash"; replica: number }
  | { kind: "restart"; replica: number }
  | { kind: "gst" };

/** Binary min-heap on (time, sequence). */
class EventQueue {
  private times: number[] = [];
  private seqs: number[] = [];
  private items: SimEvent[] = [];
  private counter = 0;

  get size(): number {
    return this.items.length;
  }

  push(time: number, item: SimEvent): void {
    const i = this.items.length;
    this.times.push(time);
    this.seqs.push(this.counter++);
    this.items.push(item);
    this.up(i);
  }

  pop(): { time: number; item: SimEvent } | undefined {
    if (this.items.length === 0) return undefined;
    const time = this.times[0];
    const item = this.items[0];
    const lastT = this.times.pop()!;
    const lastS = this.seqs.pop()!;
    const lastI = this.items.pop()!;
    if (this.items.length > 0) {
      this.times[0] = lastT;
      this.seqs[0] = lastS;
      this.items[0] = lastI;
      this.down(0);
    }
    return { time, item };
  }

  private less(i: number, j: number): boolean {
    return this.times[i] < this.times[j] || (this.times[i] === this.times[j] && this.seqs[i] < this.seqs[j]);
  }

  private swap(i: number, j: number): void {
    [this.times[i], this.times[j]] = [this.times[j], this.times[i]];
    [this.seqs[i], this.seqs[j]] = [this.seqs[j], this.seqs[i]];
    [this.items[i], this.items[j]] = [this.items[j], this.items[i]];
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

function sha(text: string): Hex {
  return `0x${createHash("sha256").update(text).digest("hex")}`;
}

/** Deterministic addresses of a scenario's replicas. */
export function simAddresses(seed: number, n: number): Address[] {
  return Array.from({ length: n }, (_, i) => `0x${sha(`sim-address|${seed}|${i}`).slice(2, 42)}` as Address);
}

/** The sequence number a request names (`…|seq=<n>`), if it names one. */
export function simRequestSeq(request: string): number | undefined {
  const m = /\|seq=(\d+)$/.exec(request);
  return m ? Number(m[1]) : undefined;
}

/**
 * Requests are valid iff they start with `req|` (deterministic, as the protocol requires) and, when
 * ordered at a sequence number, name that one (if they name any).
 */
export const simValidate = (request: string, seq?: number): boolean => {
  if (!request.startsWith("req|")) return false;
  const named = simRequestSeq(request);
  return named === undefined || seq === undefined || named === seq;
};

interface Node {
  index: number;
  address: Address;
  replica: PbftReplica;
  fault?: FaultKind;
  up: boolean;
  /** The signing record: survives crashes and lost state directories. */
  guard: SlotGuard;
  /** Snapshot persisted after every event (what a daemon writes before acting), serialised as JSON. */
  persisted?: string;
  timers: { "view-change": number; retransmit: number };
  lastExecuted: number;
  /** Sequence ranges skipped through state jumps (their requests are covered by the checkpoint). */
  jumped: Array<[number, number]>;
  /** Seqs this replica executed as NULL, and the highest seq it executed a request at. */
  nulls: Set<number>;
  maxRequestSeq: number;
  /** Seqs at which it executed a request naming that seq. */
  servedSeqs: Set<number>;
}

export function runScenario(scenario: Scenario, options: SimOptions = {}): SimResult {
  const maxEvents = options.maxEvents ?? 3_000_000;
  const rng = new Prng(scenario.seed ^ 0x5eed);
  const addresses = simAddresses(scenario.seed, scenario.n);
  const order = scenario.order.map((i) => addresses[i]);
  const keys = new SimKeys(addresses, scenario.seed);
  const faultOf = new Map(scenario.faults.map((f) => [f.replica, f]));
  const guardVotes = options.guardVotes ?? true;
  const isByzantine = (i: number) => BYZANTINE_KINDS.includes(faultOf.get(i)?.kind as FaultKind);
  const violations: string[] = [];
  const violate = (msg: string) => {
    if (violations.length < 20) violations.push(msg);
  };
  const params = {
    checkpointInterval: scenario.checkpointInterval,
    watermarkWindow: scenario.watermarkWindow,
    viewChangeTimeoutMs: scenario.viewChangeTimeoutMs,
    retransmitMs: scenario.retransmitMs,
    statusIntervalMs: scenario.retransmitMs * 8,
    maxBackoffExponent: scenario.maxBackoffExponent,
    retainCommitted: scenario.checkpointInterval * 2,
    maxEntriesPerReply: 4,
    forwardRequests: scenario.forwardRequests,
  };
  let now = 0;
  const guards = addresses.map(() => new SlotGuard());
  const guardedCrypto = (i: number): PbftCrypto => {
    const inner = keys.providerFor(addresses[i]);
    if (isByzantine(i)) return inner;
    return {
      ...inner,
      sign: (item) => {
        if (guardVotes || item.type === "Proposal") guards[i].guard(item);
        return inner.sign(item);
      },
    };
  };
  const slowUntil = new Map(
    scenario.faults.filter((f) => f.kind === "slow-chain").map((f) => [f.replica, f.slowUntil!]),
  );
  const validatorOf = (i: number) => {
    const until = slowUntil.get(i);
    if (until === undefined) return simValidate;
    // Chain facts not loaded yet: a transient verdict (a replica must neither cache nor accuse on it).
    return (request: string, seq?: number): RequestVerdict => (now < until ? "retry" : simValidate(request, seq));
  };
  const replicaOptions = (i: number) => ({
    configId: BigInt(scenario.seed),
    order,
    self: addresses[i],
    crypto: guardedCrypto(i),
    validate: validatorOf(i),
    requestSeq: simRequestSeq,
    params,
  });
  const nodes: Node[] = addresses.map((address, index) => ({
    index,
    address,
    replica: new PbftReplica(replicaOptions(index)),
    fault: faultOf.get(index)?.kind,
    up: true,
    guard: guards[index],
    timers: { "view-change": 0, retransmit: 0 },
    lastExecuted: 0,
    jumped: [],
    nulls: new Set(),
    maxRequestSeq: 0,
    servedSeqs: new Set(),
  }));
  const indexOf = new Map(addresses.map((a, i) => [a.toLowerCase(), i]));
  const queue = new EventQueue();
  let events = 0;
  let messages = 0;
  let evidenceCount = 0;
  let stateJumps = 0;
  let maxViewAtGst = -1;
  const requests = scenario.requests.map((_, i) =>
    scenario.namedSeqs ? `req|${scenario.seed}|${i}|seq=${i + 1}` : `req|${scenario.seed}|${i}`,
  );
  const requestDigests = requests.map((r) => sha(r));
  /** seq → digest first executed by an honest replica. */
  const decided = new Map<number, Hex>();
  /** Signed-message uniqueness per honest signer: "signer|kind|view|seq" → digest/sig. */
  const signed = new Map<string, string>();
  /** digest → replicas (honest) that executed it. */
  const executedBy = new Map<Hex, Set<number>>();
  /** digest → seq at which honest replicas executed it. */
  const seqOf = new Map<Hex, number>();

  // --- network -------------------------------------------------------------------------------
  const partitioned = (a: number, b: number): boolean => {
    for (const p of scenario.partitions) {
      if (now < p.from || now >= p.to || now >= scenario.gst) continue;
      const ga = p.groups.findIndex((g) => g.includes(a));
      const gb = p.groups.findIndex((g) => g.includes(b));
      if (ga !== gb) return true;
    }
    return false;
  };
  const delay = (from: number, to: number): number => {
    const c = now >= scenario.gst ? scenario.post : scenario.pre;
    let d = c.minDelay + rng.next() * (c.maxDelay - c.minDelay);
    if (nodes[from]?.fault === "lag" || nodes[to]?.fault === "lag") d *= scenario.lagFactor;
    return d;
  };
  const send = (from: number, to: number, message: PbftMessage) => {
    if (from === to) return;
    messages++;
    const c = now >= scenario.gst ? scenario.post : scenario.pre;
    if (
      now < scenario.gst &&
      (rng.chance(c.dropRate) || partitioned(from, to) || options.drop?.(from, to, message, now))
    )
      return;
    queue.push(now + delay(from, to), { kind: "deliver", to, from, message });
    if (rng.chance(c.dupRate)) queue.push(now + delay(from, to), { kind: "deliver", to, from, message });
  };

  // --- checks on what honest replicas sign --------------------------------------------------------
  const recordSigned = (signer: number, message: PbftMessage) => {
    const note = (key: string, value: string, what: string) => {
      const prev = signed.get(key);
      if (prev === undefined) signed.set(key, value);
      else if (prev !== value) violate(`honest replica ${signer} signed two different ${what}: ${prev} / ${value}`);
    };
    switch (message.type) {
      case "pre-prepare":
        note(
          `${signer}|pp|${message.view}|${message.seq}`,
          message.digest,
          `pre-prepares at view ${message.view} seq ${message.seq}`,
        );
        break;
      case "prepare":
      case "commit":
        note(
          `${signer}|${message.type}|${message.view}|${message.seq}`,
          message.digest,
          `${message.type}s at view ${message.view} seq ${message.seq}`,
        );
        break;
      case "view-change":
        note(`${signer}|vc|${message.view}`, message.sig, `view-changes for view ${message.view}`);
        break;
      case "new-view":
        note(`${signer}|nv|${message.view}`, message.sig, `new-views for view ${message.view}`);
        for (const pp of message.prePrepares) recordSigned(signer, pp);
        break;
      default:
    }
  };

  // --- Byzantine behaviour: rewrite what a faulty replica sends ---------------------------------
  const resignPP = (i: number, pp: PrePrepare, digest: Hex, request: string | null): PrePrepare => ({
    ...pp,
    digest,
    request,
    sig: keys.signAs(addresses[i], {
      type: "Proposal",
      message: { epoch: BigInt(scenario.seed), period: BigInt(pp.seq), round: pp.view, digest },
    }),
  });
  const epoch = BigInt(scenario.seed);
  /** A Byzantine replica's own valid-looking request for `seq` (naming it, when requests name theirs). */
  const named = (text: string, seq: number) => (scenario.namedSeqs ? `${text}|seq=${seq}` : text);
  const signVC = (i: number, vc: ViewChange): ViewChange => ({
    ...vc,
    sig: keys.signAs(addresses[i], {
      type: "PbftViewChange",
      message: {
        epoch,
        newView: vc.view,
        stableSeq: BigInt(vc.stableSeq),
        stableDigest: vc.stableDigest,
        certsHash: sha(certsText(vc.prepared)),
      },
    }),
  });
  const nullPP = (i: number, view: number, seq: number, digest: Hex = NULL_DIGEST, request: string | null = null) =>
    resignPP(i, { type: "pre-prepare", view, seq, digest, request, replica: addresses[i], sig: "0x" }, digest, request);
  /** O of a set of view-changes, as the protocol computes it (min-s, highest-view certificate per seq, NULL gaps). */
  const computeO = (i: number, view: number, vcs: readonly ViewChange[]): PrePrepare[] => {
    const minS = Math.max(...vcs.map((vc) => vc.stableSeq));
    const best = new Map<number, PrePrepare>();
    for (const vc of vcs)
      for (const c of vc.prepared) {
        const pp = c.prePrepare;
        if (pp.seq <= minS) continue;
        const cur = best.get(pp.seq);
        if (cur === undefined || pp.view > cur.view || (pp.view === cur.view && pp.digest < cur.digest))
          best.set(pp.seq, pp);
      }
    const maxS = Math.max(minS, ...best.keys());
    const out: PrePrepare[] = [];
    for (let s = minS + 1; s <= maxS; s++) {
      const pp = best.get(s);
      out.push(pp ? nullPP(i, view, s, pp.digest, pp.request) : nullPP(i, view, s));
    }
    return out;
  };
  const correctNodes = () => nodes.filter((x) => !isByzantine(x.index) && x.up);
  const maxCorrectExecuted = () => Math.max(0, ...correctNodes().map((x) => x.replica.lastExecuted));
  /** Requests executed so far by correct replicas, in order (what a duplicating censor re-proposes). */
  const executedRequests: string[] = [];
  /** Per Byzantine replica: what its periodic behaviour remembers. */
  const byz = new Map<number, { lastSeq: number; floodView: number; heard: PbftMessage[] }>();
  const byzState = (i: number) => {
    let st = byz.get(i);
    if (st === undefined) byz.set(i, (st = { lastSeq: 0, floodView: 0, heard: [] }));
    return st;
  };
  const others = (i: number) => nodes.filter((x) => x.index !== i).map((x) => x.index);

  /** What an attacking replica does on each of its retransmit ticks, beside its (rewritten) protocol messages. */
  const byzantineTick = (node: Node) => {
    const i = node.index;
    const r = node.replica;
    const st = byzState(i);
    switch (node.fault) {
      case "censor-null":
      case "censor-dup": {
        // Keep everyone busy in this view with a fresh proposal whenever the last one has executed.
        if (!r.isPrimary || r.status !== "normal") return;
        const next = maxCorrectExecuted() + 1;
        if (next <= st.lastSeq) return;
        st.lastSeq = next;
        const dup = node.fault === "censor-dup" ? executedRequests[executedRequests.length - 1] : undefined;
        const pp = dup === undefined ? nullPP(i, r.view, next) : nullPP(i, r.view, next, sha(dup), dup);
        for (const t of others(i)) send(i, t, pp);
        return;
      }
      case "burn-seq": {
        // NULLs at every future seq of the window and client requests at seqs they do not name.
        if (!r.isPrimary || r.status !== "normal") return;
        const base = maxCorrectExecuted();
        for (let s = base + 2; s <= base + scenario.watermarkWindow - 1; s++) {
          const k = s % 3;
          const misplaced = requests[(s + 1) % requests.length];
          const pp =
            k === 0 && misplaced !== undefined ? nullPP(i, r.view, s, sha(misplaced), misplaced) : nullPP(i, r.view, s);
          for (const t of others(i)) send(i, t, pp);
        }
        return;
      }
      case "vc-flood": {
        for (let k = 0; k < 5; k++) {
          st.floodView += 1;
          const vc = signVC(i, {
            type: "view-change",
            view: r.view + 10 + st.floodView,
            stableSeq: 0,
            stableDigest: NULL_DIGEST,
            checkpointProof: [],
            prepared: [],
            replica: addresses[i],
            sig: "0x",
          });
          for (const t of others(i)) send(i, t, vc);
        }
        return;
      }
      case "replay": {
        for (let k = 0; k < 4 && st.heard.length > 0; k++)
          send(i, rng.pick(others(i)), st.heard[rng.int(0, st.heard.length - 1)]);
        return;
      }
      default:
    }
  };
  /** What an attacking replica does with a message it receives. */
  const byzantineHear = (node: Node, from: number, message: PbftMessage) => {
    const st = byzState(node.index);
    if (node.fault === "replay" && message.type !== "request") {
      if (st.heard.length < 400) st.heard.push(message);
      else st.heard[rng.int(0, 399)] = message;
    }
    if (node.fault === "forced-jump" && message.type === "status" && from >= 0)
      send(node.index, from, { type: "entries", entries: [], retainedFrom: 2 ** 40 });
  };

  const byzantineSend = (i: number, kind: FaultKind, to: number[], message: PbftMessage) => {
    if (kind === "silent") return;
    // Censors drop the client requests they would order (a duplicating censor lets the first one through:
    // it needs an executed request to re-propose).
    if ((kind === "censor-null" || kind === "burn-seq") && message.type === "pre-prepare") return;
    if (kind === "censor-dup" && message.type === "pre-prepare" && executedRequests.length > 0) return;
    if (kind === "equivocate-all" && message.type === "pre-prepare" && message.request !== null) {
      to.forEach((t) => {
        const evil = named(`req|evil-all|${scenario.seed}|${message.view}|${message.seq}|${t}`, message.seq);
        send(i, t, resignPP(i, message, sha(evil), evil));
      });
      return;
    }
    if (kind === "nv-equivocate" && message.type === "new-view") {
      // Half the backups get a NEW-VIEW whose V carries this primary's own view-change stripped of its
      // prepared certificates: validly signed, and O recomputed from it.
      const own = message.viewChanges.findIndex((vc) => vc.replica.toLowerCase() === addresses[i].toLowerCase());
      if (own >= 0 && message.viewChanges[own].prepared.length > 0) {
        const vcs = [...message.viewChanges];
        vcs[own] = signVC(i, { ...vcs[own], prepared: [] });
        const prePrepares = computeO(i, message.view, vcs);
        const contentHash = sha(newViewText(message.view, vcs, prePrepares));
        const sig = keys.signAs(addresses[i], {
          type: "PbftNewView",
          message: { epoch, view: message.view, contentHash },
        });
        const alt = { ...message, viewChanges: vcs, prePrepares, sig };
        to.forEach((t, k) => send(i, t, k % 2 === 0 ? message : alt));
        return;
      }
    }
    if (kind === "vc-forged" && message.type === "view-change") {
      if (message.prepared.length > 0 && rng.chance(0.5)) {
        // A certificate whose q−1 prepares are all this replica's own: must be rejected as a whole.
        const forged = message.prepared.map((c) => {
          const p = c.prepares[0];
          const mine = keys.signAs(addresses[i], {
            type: "PbftVote",
            message: { phase: 1, epoch, seq: BigInt(p.seq), view: p.view, digest: p.digest },
          });
          return {
            prePrepare: c.prePrepare,
            prepares: c.prepares.map(() => ({ ...p, replica: addresses[i], sig: mine })),
          };
        });
        for (const t of to) send(i, t, signVC(i, { ...message, prepared: forged }));
      } else for (const t of to) send(i, t, signVC(i, { ...message, prepared: [] }));
      return;
    }
    if (kind === "bad-sig-votes" && (message.type === "prepare" || message.type === "commit")) {
      const bad = sha(`bad-sig|${scenario.seed}|${message.type}|${message.view}|${message.seq}`);
      for (const t of to) send(i, t, { ...message, sig: bad });
      return;
    }
    if (kind === "double-prepare" && (message.type === "prepare" || message.type === "commit")) {
      const wrong = sha(`other|${message.view}|${message.seq}`);
      const sig = keys.signAs(addresses[i], {
        type: "PbftVote",
        message: {
          phase: message.type === "prepare" ? 1 : 2,
          epoch,
          seq: BigInt(message.seq),
          view: message.view,
          digest: wrong,
        },
      });
      to.forEach((t, k) => send(i, t, k % 2 === 0 ? message : { ...message, digest: wrong, sig }));
      return;
    }
    if (kind === "equivocate" && message.type === "pre-prepare" && message.request !== null) {
      const evil = named(`req|evil|${scenario.seed}|${message.view}|${message.seq}`, message.seq);
      const alt = resignPP(i, message, sha(evil), evil);
      const shuffled = rng.shuffle(to);
      const half = Math.ceil(shuffled.length / 2);
      shuffled.forEach((t, k) => send(i, t, k < half ? message : alt));
      if (shuffled.length > 0) send(i, shuffled[0], alt); // one replica gets both: evidence
      return;
    }
    if (kind === "invalid-proposal" && message.type === "pre-prepare" && message.request !== null) {
      const bad = `bad|${scenario.seed}|${message.view}|${message.seq}`;
      for (const t of to) send(i, t, resignPP(i, message, sha(bad), bad));
      return;
    }
    if (kind === "equivocate" && message.type === "view-change" && message.prepared.length > 0) {
      // Amnesia: claims to have prepared nothing (lying by omission), properly signed.
      const sig = keys.signAs(addresses[i], {
        type: "PbftViewChange",
        message: {
          epoch: BigInt(scenario.seed),
          newView: message.view,
          stableSeq: BigInt(message.stableSeq),
          stableDigest: message.stableDigest,
          certsHash: sha(certsText([])),
        },
      });
      for (const t of to) send(i, t, { ...message, prepared: [], sig });
      return;
    }
    if (
      kind === "wrong-digest" &&
      message.type === "new-view" &&
      message.prePrepares.some((pp) => pp.request !== null)
    ) {
      // A new primary that re-proposes something else than what V carries: backups must refuse it.
      const prePrepares = message.prePrepares.map((pp) => {
        const evil = named(`req|nv-evil|${scenario.seed}|${message.view}`, pp.seq);
        return pp.request !== null ? resignPP(i, pp, sha(evil), evil) : pp;
      });
      const contentHash = sha(newViewText(message.view, message.viewChanges, prePrepares));
      const sig = keys.signAs(addresses[i], {
        type: "PbftNewView",
        message: { epoch: BigInt(scenario.seed), view: message.view, contentHash },
      });
      for (const t of to) send(i, t, { ...message, prePrepares, sig });
      return;
    }
    if (kind === "wrong-digest") {
      const wrong = sha(`wrong|${rng.nextU32()}`);
      if (message.type === "pre-prepare") {
        for (const t of to) send(i, t, resignPP(i, message, wrong, message.request));
        return;
      }
      if (message.type === "prepare" || message.type === "commit") {
        const sig = keys.signAs(addresses[i], {
          type: "PbftVote",
          message: {
            phase: message.type === "prepare" ? 1 : 2,
            epoch: BigInt(scenario.seed),
            seq: BigInt(message.seq),
            view: message.view,
            digest: wrong,
          },
        });
        for (const t of to) send(i, t, { ...message, digest: wrong, sig });
        return;
      }
    }
    for (const t of to) send(i, t, message);
  };

  // --- applying a replica's actions -------------------------------------------------------------
  const apply = (node: Node, actions: ReplicaAction[]) => {
    const i = node.index;
    const honest = !isByzantine(i);
    for (const a of actions) {
      switch (a.type) {
        case "send":
        case "broadcast": {
          const to =
            a.type === "send"
              ? [indexOf.get(a.to.toLowerCase())!]
              : nodes.filter((x) => x.index !== i).map((x) => x.index);
          if (honest) {
            recordSigned(i, a.message);
            for (const t of to) send(i, t, a.message);
          } else byzantineSend(i, node.fault!, to, a.message);
          break;
        }
        case "set-timer":
          node.timers[a.kind] = a.id;
          queue.push(now + a.delayMs, { kind: "timer", replica: i, timer: a.kind, id: a.id });
          break;
        case "cancel-timer":
          node.timers[a.kind] = 0;
          break;
        case "execute": {
          if (!honest) break;
          if (a.seq !== node.lastExecuted + 1) violate(`replica ${i} executed seq ${a.seq} after ${node.lastExecuted}`);
          node.lastExecuted = a.seq;
          const prev = decided.get(a.seq);
          if (prev === undefined) decided.set(a.seq, a.digest);
          else if (prev !== a.digest)
            violate(`SAFETY: seq ${a.seq} executed as ${prev} and as ${a.digest} (replica ${i})`);
          const named = a.request === null ? undefined : simRequestSeq(a.request);
          if (a.digest === NULL_DIGEST) node.nulls.add(a.seq);
          else node.maxRequestSeq = Math.max(node.maxRequestSeq, a.seq);
          if (named === a.seq) node.servedSeqs.add(a.seq);
          if (a.digest !== NULL_DIGEST && a.request !== null && !executedRequests.includes(a.request))
            executedRequests.push(a.request);
          // A request executed at another seq than it names is a no-op (the validator's rule).
          if (a.digest !== NULL_DIGEST && (named === undefined || named === a.seq)) {
            const set = executedBy.get(a.digest) ?? new Set<number>();
            set.add(i);
            executedBy.set(a.digest, set);
            if (!seqOf.has(a.digest)) seqOf.set(a.digest, a.seq);
            if (a.request === null || sha(a.request) !== a.digest)
              violate(`replica ${i} executed a request not matching its digest`);
          }
          break;
        }
        case "state-jump":
          if (!honest) break;
          stateJumps++;
          {
            // A jump is for entries nobody keeps any more: not while every other correct replica holds them.
            const holders = correctNodes().filter((x) => x.index !== i);
            if (holders.length > 0 && holders.every((x) => x.replica.committed(a.fromSeq) !== undefined))
              violate(`replica ${i} was made to jump over ${a.fromSeq}…${a.toSeq} that every correct peer retains`);
          }
          if (a.fromSeq !== node.lastExecuted + 1)
            violate(`replica ${i} jumped from ${a.fromSeq} after ${node.lastExecuted}`);
          node.jumped.push([a.fromSeq, a.toSeq]);
          node.lastExecuted = a.toSeq;
          break;
        case "evidence": {
          if (!honest) break;
          evidenceCount++;
          const ev = a.evidence;
          const accused = indexOf.get(ev.replica);
          if (accused === undefined || !isByzantine(accused))
            violate(`honest replica ${i} accused honest replica ${accused} (${ev.kind})`);
          if (ev.kind === "equivocation") {
            const ok = [ev.first, ev.second].every((pp) =>
              keys.verify(
                {
                  type: "Proposal",
                  message: { epoch: BigInt(scenario.seed), period: BigInt(pp.seq), round: pp.view, digest: pp.digest },
                },
                pp.sig,
                ev.replica,
              ),
            );
            if (
              !ok ||
              ev.first.digest === ev.second.digest ||
              ev.first.view !== ev.second.view ||
              ev.first.seq !== ev.second.seq
            )
              violate(`replica ${i} produced invalid equivocation evidence`);
          }
          break;
        }
        default:
      }
    }
  };

  const trace = options.trace;
  const brief = (m: PbftMessage): string => {
    switch (m.type) {
      case "pre-prepare":
      case "prepare":
      case "commit":
        return `${m.type}(v${m.view},s${m.seq},${m.digest.slice(0, 8)},by ${indexOf.get(m.replica.toLowerCase())})`;
      case "checkpoint":
        return `checkpoint(s${m.seq},${m.digest.slice(0, 8)},by ${indexOf.get(m.replica.toLowerCase())})`;
      case "view-change":
        return `view-change(v${m.view},h${m.stableSeq},certs[${m.prepared.map((c) => c.prePrepare.seq).join(",")}],by ${indexOf.get(m.replica.toLowerCase())})`;
      case "new-view":
        return `new-view(v${m.view},O[${m.prePrepares.map((p) => p.seq).join(",")}])`;
      case "status":
        return `status(v${m.view}${m.viewChanging ? "*" : ""},h${m.stableSeq},x${m.lastExecuted})`;
      case "entries":
        return `entries([${m.entries.map((e) => e.seq).join(",")}],from ${m.retainedFrom})`;
      case "request":
        return `request(${m.request.slice(0, 24)})`;
    }
  };
  let maxStoredViewChanges = 0;
  /** An execution or state jump happened since the last completion check. */
  let progressed = false;
  const feed = (node: Node, event: ReplicaEvent) => {
    if (!node.up) return;
    if (node.fault !== undefined && isByzantine(node.index) && event.type === "message")
      byzantineHear(node, indexOf.get(event.from.toLowerCase()) ?? -1, event.message);
    const actions = node.replica.handle(event);
    if (!isByzantine(node.index) && event.type === "message" && event.message.type === "view-change")
      maxStoredViewChanges = Math.max(maxStoredViewChanges, node.replica.storedViewChanges);
    if (trace) {
      const what =
        event.type === "message"
          ? `${brief(event.message)} from ${indexOf.get(event.from.toLowerCase())}`
          : event.type === "timeout"
            ? `timeout ${event.kind}#${event.id}`
            : event.type;
      trace(`t=${now.toFixed(1)} r${node.index} <- ${what}`);
      for (const a of actions)
        trace(
          `    -> ${a.type}${a.type === "send" ? ` to ${indexOf.get(a.to.toLowerCase())} ${brief(a.message)}` : a.type === "broadcast" ? ` ${brief(a.message)}` : a.type === "execute" ? ` s${a.seq} ${a.digest.slice(0, 8)}` : a.type === "set-timer" ? ` ${a.kind}#${a.id} ${a.delayMs}` : ""}`,
        );
    }
    // Persisted as the node does: when the replica says or does more than set timers.
    if (node.fault === "crash-restart" && actions.some((a) => a.type !== "set-timer" && a.type !== "cancel-timer"))
      node.persisted = JSON.stringify(node.replica.snapshot());
    if (actions.some((a) => a.type === "execute" || a.type === "state-jump")) progressed = true;
    apply(node, actions);
    if (isByzantine(node.index) && event.type === "timeout" && event.kind === "retransmit") byzantineTick(node);
  };

  // --- schedule ---------------------------------------------------------------------------------
  scenario.requests.forEach((t, r) => queue.push(t, { kind: "client", request: r }));
  for (const f of scenario.faults)
    if (f.kind === "crash-restart" || f.kind === "lose-state") {
      queue.push(f.crashAt!, { kind: "crash", replica: f.replica });
      queue.push(f.restartAt!, { kind: "restart", replica: f.replica });
    }
  queue.push(scenario.gst, { kind: "gst" });
  for (const node of nodes) feed(node, { type: "start" });

  const budget =
    options.livenessBudgetMs ??
    (scenario.f + 3) * scenario.viewChangeTimeoutMs * 2 ** scenario.maxBackoffExponent +
      6000 +
      40 * scenario.post.maxDelay;
  const lastRestart = Math.max(0, ...scenario.faults.map((f) => f.restartAt ?? 0));
  const deadline = Math.max(scenario.gst, lastRestart, ...scenario.requests) + budget;
  const correct = correctNodes;
  /** A replica has a request if it executed it or jumped over the seq it was executed at. */
  const namedSeqOf = requests.map((r) => simRequestSeq(r));
  const has = (x: Node, d: Hex, r: number): boolean => {
    const by = executedBy.get(d);
    if (by?.has(x.index)) return true;
    const seq = namedSeqOf[r] ?? (by === undefined ? undefined : seqOf.get(d));
    if (seq === undefined) return false;
    if (x.jumped.some(([a, b]) => seq >= a && seq <= b)) return true;
    // A named seq a NEW-VIEW filled with NULL (a gap below a request prepared later) is burnt for good:
    // the validator rolls that period's traffic forward. Only such gaps: a NULL with no request above
    // it is what a censoring primary leaves.
    if (namedSeqOf[r] === undefined) return false;
    // Another valid request for the same seq (a Byzantine primary's variant) took it: also served.
    return x.servedSeqs.has(seq) || (x.nulls.has(seq) && x.maxRequestSeq > seq);
  };
  const allDone = () => {
    const live = correct();
    return requestDigests.every((d, r) => live.every((x) => has(x, d, r)));
  };
  let doneAt: number | undefined;

  while (queue.size > 0) {
    const next = queue.pop()!;
    now = next.time;
    if (now > deadline) break;
    if (doneAt !== undefined && now > doneAt + 1000) break;
    if (++events > maxEvents) {
      violate(`event budget of ${maxEvents} exhausted at t=${now.toFixed(0)}`);
      break;
    }
    const ev = next.item;
    switch (ev.kind) {
      case "deliver":
        if (ev.from < 0 && ev.message.type === "request")
          feed(nodes[ev.to], { type: "request", request: ev.message.request });
        else feed(nodes[ev.to], { type: "message", from: addresses[ev.from], message: ev.message });
        break;
      case "timer": {
        const node = nodes[ev.replica];
        if (node.timers[ev.timer] === ev.id) {
          node.timers[ev.timer] = 0;
          feed(node, { type: "timeout", kind: ev.timer, id: ev.id });
        }
        break;
      }
      case "client": {
        const digest = requestDigests[ev.request];
        const by = executedBy.get(digest);
        const honestDone = by ? by.size : 0;
        if (honestDone >= scenario.f + 1) break; // the client has f+1 replies
        for (const node of nodes) {
          if (now >= scenario.gst || !rng.chance(scenario.pre.dropRate))
            queue.push(now + delay(node.index, node.index), {
              kind: "deliver",
              to: node.index,
              from: -1,
              message: { type: "request", request: requests[ev.request] },
            });
        }
        queue.push(now + scenario.clientRetryMs, { kind: "client", request: ev.request });
        break;
      }
      case "crash": {
        const node = nodes[ev.replica];
        node.up = false;
        node.timers = { "view-change": 0, retransmit: 0 };
        if (node.fault === "lose-state") node.persisted = undefined; // the PBFT directory is gone
        break;
      }
      case "restart": {
        const node = nodes[ev.replica];
        const snap = node.persisted ? (JSON.parse(node.persisted) as ReplicaSnapshot) : undefined;
        if (node.fault === "lose-state") {
          // Restarts empty: the application replays from seq 1; the signing record says how far it voted.
          node.lastExecuted = 0;
          node.jumped = [];
          node.nulls = new Set();
          node.maxRequestSeq = 0;
          node.servedSeqs = new Set();
        }
        node.replica = snap
          ? restoreReplica(snap, replicaOptions(node.index))
          : new PbftReplica({
              ...replicaOptions(node.index),
              recoveringFrom: guardVotes ? node.guard.highestVotedSeq(epoch) : undefined,
            });
        node.up = true;
        feed(node, { type: "start" });
        break;
      }
      case "gst":
        maxViewAtGst = Math.max(-1, ...nodes.filter((x) => !isByzantine(x.index) && x.up).map((x) => x.replica.view));
        break;
    }
    if (ev.kind === "restart" || ev.kind === "crash" || ev.kind === "gst") progressed = true;
    if (doneAt === undefined && progressed && now >= Math.max(scenario.gst, lastRestart)) {
      progressed = false;
      if (allDone()) doneAt = now;
    }
  }

  const maxView = Math.max(...correct().map((x) => x.replica.view));
  if (!allDone()) {
    const missing = requestDigests
      .map((d, r) => ({ r, d, by: [...(executedBy.get(d) ?? [])] }))
      .filter((x) => !correct().every((c) => has(c, x.d, x.r)));
    violate(
      `LIVENESS: by t=${now.toFixed(0)} (GST ${scenario.gst}, deadline ${deadline.toFixed(0)}) ${missing.length} request(s) not executed everywhere: ` +
        missing
          .slice(0, 3)
          .map((m) => `#${m.r} by [${m.by.join(",")}]`)
          .join(" ") +
        `; views ${nodes.map((x) => `${x.index}:${x.replica.view}${x.replica.status === "view-change" ? "*" : ""}/${x.replica.lastExecuted}`).join(" ")}`,
    );
  }
  // Views may rise by f + 2 after GST — plus, on links slower than the timeout, the view changes
  // that double it until it covers a round.
  const slowViews = scenario.post.maxDelay * 4 > scenario.viewChangeTimeoutMs ? scenario.maxBackoffExponent + 2 : 0;
  if (maxViewAtGst >= 0 && maxView > maxViewAtGst + scenario.f + 2 + slowViews)
    violate(`LIVENESS: view rose from ${maxViewAtGst} at GST to ${maxView} (f=${scenario.f})`);
  if (maxStoredViewChanges > 3 * scenario.n + 8)
    violate(`a correct replica held ${maxStoredViewChanges} view-changes (bound ${3 * scenario.n + 8})`);

  return {
    ok: violations.length === 0,
    violations,
    stats: {
      events,
      messages,
      endTime: now,
      maxView,
      maxViewAtGst,
      executed: nodes.map((x) => x.lastExecuted),
      evidence: evidenceCount,
      stateJumps,
      maxStoredViewChanges,
    },
  };
}
