import { expect } from "chai";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { Cluster, sha } from "./harness";
import { simRequestSeq, simValidate } from "../../../offchain/consensus/pbft/sim";
import { faultTolerance, quorumSize, primaryIndex } from "../../../offchain/consensus/pbft/quorum";
import { PbftReplica, certsText } from "../../../offchain/consensus/pbft/replica";
import { createEip712Crypto } from "../../../offchain/consensus/pbft/crypto";
import {
  NULL_DIGEST,
  type Commit,
  type PrePrepare,
  type Prepare,
  type ViewChange,
} from "../../../offchain/consensus/pbft/types";
import { domainOf, recoverTypedSync } from "../../../offchain/core/signing";
import { ValidationError } from "../../../offchain/core/errors";

const req = (i: number) => `req|unit|${i}`;

describe("pbft/replica — rules", function () {
  describe("quorums", function () {
    it("f = ⌊(n−1)/3⌋ and q = ⌊2n/3⌋+1 (= 2f+1 at n = 3f+1), intersecting in a correct replica, live with f faults", function () {
      expect([1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 48].map(faultTolerance)).to.deep.equal([
        0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 15,
      ]);
      for (let n = 1; n <= 48; n++) {
        const f = faultTolerance(n);
        const q = quorumSize(n);
        if (n % 3 === 1) expect(q, `n=${n}`).to.equal(2 * f + 1);
        expect(2 * q - n, `intersection n=${n}`).to.be.greaterThan(f);
        expect(n - f, `liveness n=${n}`).to.be.at.least(q);
      }
      expect(primaryIndex(9, 4)).to.equal(1);
      expect(() => quorumSize(0))
        .to.throw(ValidationError)
        .with.property("value", 0);
      expect(() => faultTolerance(49))
        .to.throw(ValidationError)
        .with.property("value", 49);
    });

    it("prepares at exactly q−1 backups and commits at exactly q commits (n = 4: q = 3)", function () {
      const c = new Cluster(4);
      c.feed(0, { type: "request", request: req(1) });
      const pp = c.queue.filter((e) => e.message.type === "pre-prepare");
      expect(pp).to.have.length(3);
      // Deliver the pre-prepare to backups 1 and 2 only; hold everything else.
      c.queue.length = 0;
      c.deliver(pp[0]);
      c.deliver(pp[1]);
      const prepares = c.queue.filter((e) => e.message.type === "prepare");
      c.queue.length = 0;
      // Primary with one prepare (q−2): not prepared, no commit.
      c.deliver(prepares.find((e) => e.from === 1 && e.to === 0)!);
      expect(c.ofType(0, "broadcast").filter((a) => a.message.type === "commit")).to.have.length(0);
      // The second prepare (q−1): prepared, commit sent.
      c.deliver(prepares.find((e) => e.from === 2 && e.to === 0)!);
      expect(c.ofType(0, "broadcast").filter((a) => a.message.type === "commit")).to.have.length(1);
      // Backups 1 and 2 prepare with each other's prepare.
      c.deliver(prepares.find((e) => e.from === 2 && e.to === 1)!);
      c.deliver(prepares.find((e) => e.from === 1 && e.to === 2)!);
      const commits = c.queue.filter((e) => e.message.type === "commit");
      c.queue.length = 0;
      // Replica 0 has its own commit; one more (2 < q) does not execute, the next (3 = q) does.
      c.deliver(commits.find((e) => e.from === 1 && e.to === 0)!);
      expect(c.executed(0)).to.have.length(0);
      c.deliver(commits.find((e) => e.from === 2 && e.to === 0)!);
      expect(c.executed(0)).to.deep.equal([{ seq: 1, digest: sha(req(1)), request: req(1), view: 0 }]);
    });

    it("n = 48 (f = 15, q = 33) commits with 15 silent replicas, and not with 16", function () {
      const c = new Cluster(48, { viewChangeTimeoutMs: 10_000 });
      const silent = (k: number) => (e: { from: number }) => e.from === 0 || e.from > k;
      c.feed(0, { type: "request", request: req(1) });
      c.run(silent(15));
      const live = [0, ...Array.from({ length: 32 }, (_, i) => 16 + i)];
      for (const i of live)
        expect(
          c.executed(i).map((e) => e.seq),
          `replica ${i}`,
        ).to.deep.equal([1]);
      const d = new Cluster(48, { viewChangeTimeoutMs: 10_000 });
      d.feed(0, { type: "request", request: req(1) });
      d.run(silent(16));
      expect(d.replicas.every((r) => r.lastExecuted === 0)).to.equal(true);
    });

    it("n = 1 commits alone; n = 3 (f = 0) needs all three", function () {
      const one = new Cluster(1);
      one.feed(0, { type: "request", request: req(1) });
      expect(one.executed(0).map((e) => e.seq)).to.deep.equal([1]);
      const three = new Cluster(3);
      three.feed(0, { type: "request", request: req(1) });
      three.run((e) => e.from !== 2 && e.to !== 2);
      expect(three.executed(0)).to.have.length(0);
    });
  });

  it("signs the pre-prepare as the EIP-712 Proposal{epoch: configId, period: seq, round: view, digest} in the staking domain", function () {
    const keys = [generatePrivateKey(), generatePrivateKey()];
    const order = keys.map((k) => privateKeyToAddress(k));
    const staking = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
    const crypto = createEip712Crypto({ privateKey: keys[0], chainId: 31337, stakingContract: staking });
    const r = new PbftReplica({ configId: 42n, order, self: order[0], crypto, validate: () => true });
    const out = r.handle({ type: "request", request: "report for period 9" });
    const pp = out.find((a) => a.type === "broadcast" && a.message.type === "pre-prepare");
    expect(pp).to.not.equal(undefined);
    const m = (pp as { message: PrePrepare }).message;
    expect(m).to.include({ view: 0, seq: 1, request: "report for period 9" });
    const signer = recoverTypedSync(
      domainOf("staking", 31337, staking),
      "Proposal",
      { epoch: 42n, period: 1n, round: 0, digest: m.digest },
      m.sig,
    );
    expect(signer).to.equal(order[0].toLowerCase());
  });

  it("commits a request end to end over real EIP-712 signatures (n = 4)", function () {
    const keys = Array.from({ length: 4 }, () => generatePrivateKey());
    const order = keys.map((k) => privateKeyToAddress(k));
    const staking = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
    const replicas = keys.map(
      (k, i) =>
        new PbftReplica({
          configId: 1n,
          order,
          self: order[i],
          crypto: createEip712Crypto({ privateKey: k, chainId: 31337, stakingContract: staking }),
          validate: () => true,
        }),
    );
    const queue: Array<{ from: number; to: number; m: unknown }> = [];
    const executed: number[][] = order.map(() => []);
    const route = (i: number, actions: ReturnType<PbftReplica["handle"]>) => {
      for (const a of actions) {
        if (a.type === "broadcast")
          for (let j = 0; j < 4; j++) if (j !== i) queue.push({ from: i, to: j, m: a.message });
        if (a.type === "execute") executed[i].push(a.seq);
      }
    };
    route(0, replicas[0].handle({ type: "request", request: "a" }));
    route(0, replicas[0].handle({ type: "request", request: "b" }));
    while (queue.length) {
      const e = queue.shift()!;
      route(e.to, replicas[e.to].handle({ type: "message", from: order[e.from], message: e.m as PrePrepare }));
    }
    expect(executed).to.deep.equal([
      [1, 2],
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
  });

  it("ignores messages outside the watermarks (h, h+L], and the window moves with stable checkpoints", function () {
    const c = new Cluster(4, { checkpointInterval: 2, watermarkWindow: 4 });
    const pp = (seq: number, i = 0): PrePrepare => {
      const digest = sha(req(seq));
      return {
        type: "pre-prepare",
        view: 0,
        seq,
        digest,
        request: req(seq),
        replica: c.addresses[i],
        sig: c.sign(i, { type: "Proposal", message: { epoch: c.configId, period: BigInt(seq), round: 0, digest } }),
      };
    };
    // seq 5 > h + L = 4: ignored; seq 4: prepared.
    expect(c.deliver({ from: 0, to: 1, message: pp(5) })).to.deep.equal([]);
    const out = c.deliver({ from: 0, to: 1, message: pp(4) });
    expect(out.some((a) => a.type === "broadcast" && a.message.type === "prepare")).to.equal(true);
    expect(c.replicas[1].highWatermark).to.equal(4);
    // Commit four requests everywhere: checkpoints at 2 and 4 become stable.
    const d = new Cluster(4, { checkpointInterval: 2, watermarkWindow: 4 });
    for (let i = 1; i <= 4; i++) d.feed(0, { type: "request", request: req(i) });
    d.run();
    for (let i = 0; i < 4; i++) {
      expect(d.replicas[i].lastExecuted).to.equal(4);
      expect(d.replicas[i].lowWatermark).to.equal(4);
      expect(d.replicas[i].highWatermark).to.equal(8);
    }
    // A fifth request fits the moved window; an old seq (≤ h) is ignored.
    const old = d.deliver({ from: 0, to: 2, message: pp(3) });
    expect(old).to.deep.equal([]);
    d.feed(0, { type: "request", request: req(5) });
    d.run();
    expect(d.replicas.map((r) => r.lastExecuted)).to.deep.equal([5, 5, 5, 5]);
  });

  it("primary holds requests beyond the high watermark until the window moves", function () {
    const c = new Cluster(4, { checkpointInterval: 2, watermarkWindow: 2 });
    for (let i = 1; i <= 5; i++) c.feed(0, { type: "request", request: req(i) });
    const proposed = c.queue
      .filter((e) => e.message.type === "pre-prepare" && e.to === 1)
      .map((e) => (e.message as PrePrepare).seq);
    expect(proposed).to.deep.equal([1, 2]);
    c.run();
    expect(c.replicas.map((r) => r.lastExecuted)).to.deep.equal([5, 5, 5, 5]);
    expect(c.replicas[0].pendingCount).to.equal(0);
  });

  it("garbage-collects the log at stable checkpoints and keeps retainCommitted entries for laggards", function () {
    const c = new Cluster(4, { checkpointInterval: 2, watermarkWindow: 4, retainCommitted: 2 });
    for (let i = 1; i <= 6; i++) c.feed(0, { type: "request", request: req(i) });
    c.run();
    const r = c.replicas[1];
    expect(r.stableCheckpoint.seq).to.equal(6);
    expect(r.stableCheckpoint.proof).to.have.length(3);
    const snap = r.snapshot();
    expect(snap.slots.map((s) => s.seq)).to.deep.equal([]);
    expect(snap.checkpoints).to.deep.equal([]);
    expect(r.committedEntries().map((e) => e.seq)).to.deep.equal([5, 6]);
    // Every matching commit is kept (q = 3 decide, the fourth is a spare for lagging replicas).
    expect(r.committed(6)?.commits).to.have.length(4);
    expect(c.ofType(1, "stable-checkpoint").map((a) => a.seq)).to.deep.equal([2, 4, 6]);
  });

  it("ignores duplicates: a second copy of a pre-prepare, prepare or commit changes nothing", function () {
    const c = new Cluster(4);
    c.feed(0, { type: "request", request: req(1) });
    const ppTo1 = c.queue.find((e) => e.to === 1)!;
    const first = c.deliver(ppTo1);
    expect(first.filter((a) => a.type === "broadcast")).to.have.length(1);
    expect(c.deliver(ppTo1)).to.deep.equal([]);
    c.queue.length = 0;
    c.feed(0, { type: "request", request: req(1) }); // a retransmitted client request: already assigned
    expect(c.queue).to.have.length(0);
    const c2 = new Cluster(4);
    c2.feed(0, { type: "request", request: req(1) });
    c2.run((e) => !(e.message.type === "commit" && e.to === 3));
    const commits = c2.actions.flatMap((a, i) =>
      a
        .filter((x) => x.type === "broadcast" && x.message.type === "commit")
        .map((x) => ({ from: i, m: (x as { message: Commit }).message })),
    );
    c2.deliver({ from: commits[0].from, to: 3, message: commits[0].m });
    c2.deliver({ from: commits[0].from, to: 3, message: commits[0].m });
    expect(c2.executed(3)).to.have.length(0); // own + one other (duplicated) = 2 < q
    c2.deliver({ from: commits[1].from, to: 3, message: commits[1].m });
    expect(c2.executed(3)).to.have.length(1);
  });

  it("ignores bad signatures: forged, by the wrong signer, or from a non-primary", function () {
    const c = new Cluster(4);
    const digest = sha(req(1));
    const good = c.sign(0, { type: "Proposal", message: { epoch: c.configId, period: 1n, round: 0, digest } });
    const base: PrePrepare = {
      type: "pre-prepare",
      view: 0,
      seq: 1,
      digest,
      request: req(1),
      replica: c.addresses[0],
      sig: good,
    };
    expect(c.deliver({ from: 0, to: 1, message: { ...base, sig: `0x${"ab".repeat(32)}` } })).to.deep.equal([]);
    const byOther = c.sign(2, { type: "Proposal", message: { epoch: c.configId, period: 1n, round: 0, digest } });
    expect(c.deliver({ from: 0, to: 1, message: { ...base, sig: byOther } })).to.deep.equal([]);
    expect(c.deliver({ from: 2, to: 1, message: { ...base, replica: c.addresses[2], sig: byOther } })).to.deep.equal(
      [],
    );
    const wrongEpoch = c.sign(0, { type: "Proposal", message: { epoch: 8n, period: 1n, round: 0, digest } });
    expect(c.deliver({ from: 0, to: 1, message: { ...base, sig: wrongEpoch } })).to.deep.equal([]);
    // The genuine one is still accepted afterwards.
    expect(c.deliver({ from: 0, to: 1, message: base }).some((a) => a.type === "broadcast")).to.equal(true);
    // A prepare claiming replica 2 but signed by 3 is ignored.
    const forged: Prepare = {
      type: "prepare",
      view: 0,
      seq: 1,
      digest,
      replica: c.addresses[2],
      sig: c.sign(3, { type: "PbftVote", message: { phase: 1, epoch: c.configId, seq: 1n, view: 0, digest } }),
    };
    c.deliver({ from: 3, to: 1, message: forged });
    expect(c.replicas[1].snapshot().slots[0].prepares.map((p) => p.replica)).to.deep.equal([
      c.addresses[1].toLowerCase(),
    ]);
  });

  it("authenticates once: a vote from its own signer counts on the channel; its signature is checked when it enters a certificate", function () {
    const c = new Cluster(4);
    c.feed(0, { type: "request", request: req(1) });
    const pps = c.queue.filter((e) => e.message.type === "pre-prepare");
    c.queue.length = 0;
    for (const e of pps) c.deliver(e);
    const prepareOf = (i: number) =>
      c.queue.find((e) => e.message.type === "prepare" && e.from === i)!.message as Prepare;
    const p2 = prepareOf(2);
    const p3 = prepareOf(3);
    c.queue.length = 0;
    const bad: Prepare = { ...p2, sig: `0x${"cd".repeat(32)}` };
    // Relayed by another replica, a bad signature is refused on arrival…
    c.deliver({ from: 3, to: 1, message: bad });
    expect(c.replicas[1].snapshot().slots[0].prepares).to.have.length(1);
    // …from its own signer it is taken on the channel's authentication, but it cannot enter the
    // prepared certificate (q − 1 = 2 prepares, the others check every signature): no commit yet.
    c.deliver({ from: 2, to: 1, message: bad });
    expect(c.ofType(1, "broadcast").filter((a) => a.message.type === "commit")).to.have.length(0);
    expect(c.replicas[1].snapshot().slots[0].prepares.map((p) => p.replica)).to.deep.equal([
      c.addresses[1].toLowerCase(),
    ]);
    // A validly signed prepare completes the certificate; every signature in it verifies.
    c.deliver({ from: 3, to: 1, message: p3 });
    expect(c.ofType(1, "broadcast").filter((a) => a.message.type === "commit")).to.have.length(1);
    const cert = c.replicas[1].snapshot().slots[0].prepared!;
    expect(cert.prepares.map((p) => p.replica)).to.deep.equal(
      [c.addresses[1], c.addresses[3]].map((a) => a.toLowerCase()),
    );
    for (const p of cert.prepares)
      expect(
        c.keys.verify(
          { type: "PbftVote", message: { phase: 1, epoch: c.configId, seq: 1n, view: 0, digest: p.digest } },
          p.sig,
          p.replica,
        ),
      ).to.equal(true);
  });

  it("serves lagging replicas commit certificates with valid signatures only, from the spares", function () {
    const c = new Cluster(4);
    c.feed(0, { type: "request", request: req(1) });
    // Replica 2's commits reach replica 1 with a bad signature (sent by 2 itself: counted).
    c.run((e) => {
      if (e.message.type === "commit" && e.from === 2 && e.to === 1) {
        c.deliver({ ...e, message: { ...e.message, sig: `0x${"ef".repeat(32)}` } });
        return false;
      }
      return true;
    });
    expect(c.executed(1)).to.have.length(1);
    const held = c.replicas[1].committed(1)!.commits;
    expect(held).to.have.length(4);
    const status = { type: "status", view: 0, viewChanging: false, stableSeq: 0, lastExecuted: 0 } as const;
    const out = c.feed(1, { type: "message", from: c.addresses[3], message: status });
    const entries = out.flatMap((a) => (a.type === "send" && a.message.type === "entries" ? [a.message] : []));
    expect(entries).to.have.length(1);
    const served = entries[0].entries[0].commits;
    expect(served).to.have.length(3);
    expect(served.map((x) => x.replica)).to.not.include(c.addresses[2].toLowerCase());
    // A lagging replica accepts the certificate (it checks every signature).
    const fresh = new Cluster(4);
    const lag = fresh.replicas[3];
    const acts = lag.handle({ type: "message", from: c.addresses[1], message: entries[0] });
    expect(acts.filter((a) => a.type === "execute")).to.have.length(1);
  });

  it("emits equivocation evidence for two validly signed pre-prepares of the primary at one (view, seq)", function () {
    const c = new Cluster(4);
    const mk = (request: string): PrePrepare => {
      const digest = sha(request);
      return {
        type: "pre-prepare",
        view: 0,
        seq: 1,
        digest,
        request,
        replica: c.addresses[0],
        sig: c.sign(0, { type: "Proposal", message: { epoch: c.configId, period: 1n, round: 0, digest } }),
      };
    };
    const a = mk(req(1));
    const b = mk(req(2));
    c.deliver({ from: 0, to: 1, message: a });
    const out = c.deliver({ from: 0, to: 1, message: b });
    const ev = out.filter((x) => x.type === "evidence");
    expect(ev).to.have.length(1);
    const e = (ev[0] as Extract<(typeof out)[number], { type: "evidence" }>).evidence;
    expect(e.kind).to.equal("equivocation");
    if (e.kind !== "equivocation") return;
    expect(e.replica).to.equal(c.addresses[0].toLowerCase());
    expect([e.first.digest, e.second.digest]).to.deep.equal([a.digest, b.digest]);
    expect(e.first.sig).to.equal(a.sig);
    expect(e.second.sig).to.equal(b.sig);
    // No prepare for the second one, and no second evidence for a third copy.
    expect(out.filter((x) => x.type === "broadcast")).to.have.length(0);
    expect(c.deliver({ from: 0, to: 1, message: mk(req(3)) }).filter((x) => x.type === "evidence")).to.have.length(0);
  });

  it("refuses NULL, executed, re-assigned and misplaced pre-prepares; withholds on a transient verdict without accusing", function () {
    let chainReady = false;
    const validate = (r: string, seq?: number) => (!chainReady ? ("retry" as const) : simValidate(r, seq));
    const c = new Cluster(4);
    c.replicas[1] = new PbftReplica({ ...c.options(1), validate, requestSeq: simRequestSeq });
    const pp = (seq: number, request: string | null, view = 0): PrePrepare => {
      const digest = request === null ? NULL_DIGEST : sha(request);
      const sig = c.sign(0, {
        type: "Proposal",
        message: { epoch: c.configId, period: BigInt(seq), round: view, digest },
      });
      return { type: "pre-prepare", view, seq, digest, request, replica: c.addresses[0], sig };
    };
    const prepared = (out: ReturnType<Cluster["deliver"]>) =>
      out.some((a) => a.type === "broadcast" && a.message.type === "prepare");
    // The null request outside a NEW-VIEW: ignored (no prepare, no evidence).
    let out = c.deliver({ from: 0, to: 1, message: pp(1, null) });
    expect(prepared(out)).to.equal(false);
    expect(out.some((a) => a.type === "evidence")).to.equal(false);
    // A transient verdict: no prepare, no evidence, no view change; prepared once the chain answers.
    const r1 = "req|unit|a|seq=1";
    out = c.deliver({ from: 0, to: 1, message: pp(1, r1) });
    expect(prepared(out)).to.equal(false);
    expect(out.some((a) => a.type === "evidence")).to.equal(false);
    expect(c.replicas[1].status).to.equal("normal");
    chainReady = true;
    out = c.deliver({ from: 0, to: 1, message: pp(1, r1) }); // the primary's retransmission
    expect(prepared(out)).to.equal(true);
    // The same digest at another seq of this view: ignored.
    expect(prepared(c.deliver({ from: 0, to: 1, message: pp(2, r1) }))).to.equal(false);
    // A request naming seq 3 placed at seq 2: invalid for good (evidence, view change).
    out = c.deliver({ from: 0, to: 1, message: pp(2, "req|unit|b|seq=3") });
    expect(prepared(out)).to.equal(false);
    expect(out.find((a) => a.type === "evidence")).to.have.nested.property("evidence.reason", "validation");
    expect(c.replicas[1].view).to.equal(1);

    // An executed digest re-proposed at a later seq: ignored.
    const d = new Cluster(4);
    d.feed(0, { type: "request", request: req(1) });
    d.run();
    expect(d.executed(1).map((e) => e.seq)).to.deep.equal([1]);
    expect(
      prepared(
        d.deliver({
          from: 0,
          to: 1,
          message: {
            ...pp(2, req(1)),
            sig: d.sign(0, {
              type: "Proposal",
              message: { epoch: d.configId, period: 2n, round: 0, digest: sha(req(1)) },
            }),
          },
        }),
      ),
    ).to.equal(false);
  });

  it("refuses an invalid proposal: no prepare, evidence, and a view change", function () {
    const c = new Cluster(4, {}, (r) => r.startsWith("req|"));
    const bad = "bad|payload";
    const digest = sha(bad);
    const pp: PrePrepare = {
      type: "pre-prepare",
      view: 0,
      seq: 1,
      digest,
      request: bad,
      replica: c.addresses[0],
      sig: c.sign(0, { type: "Proposal", message: { epoch: c.configId, period: 1n, round: 0, digest } }),
    };
    const out = c.deliver({ from: 0, to: 1, message: pp });
    expect(out.some((a) => a.type === "broadcast" && a.message.type === "prepare")).to.equal(false);
    expect(out.find((a) => a.type === "evidence")).to.deep.include({
      evidence: {
        kind: "invalid-proposal",
        replica: c.addresses[0].toLowerCase(),
        view: 0,
        seq: 1,
        reason: "validation",
        prePrepare: pp,
      },
    });
    expect(c.replicas[1].status).to.equal("view-change");
    expect(c.replicas[1].view).to.equal(1);
    // A digest that does not match the payload: blamed only when the primary itself sent it.
    const c2 = new Cluster(4);
    const mismatched = { ...pp, request: req(9) };
    c2.deliver({ from: 3, to: 1, message: mismatched });
    expect(c2.replicas[1].status).to.equal("normal");
    c2.deliver({ from: 0, to: 1, message: mismatched });
    expect(c2.replicas[1].status).to.equal("view-change");
    // A client request that fails validation is dropped.
    expect(c.feed(2, { type: "request", request: "bad|x" })).to.deep.equal([
      { type: "rejected-request", digest: sha("bad|x") },
    ]);
  });

  it("carries a prepared value into the next view (view change with prepared certificate)", function () {
    const c = new Cluster(4);
    c.feed(0, { type: "request", request: req(1) });
    // Everyone prepares seq 1, but every commit is lost: nothing executes in view 0.
    c.run((e) => e.message.type !== "commit");
    expect(c.replicas.map((r) => r.lastExecuted)).to.deep.equal([0, 0, 0, 0]);
    // The primary (0) goes silent; backups time out.
    for (const i of [1, 2, 3]) c.fire(i, "view-change");
    c.run((e) => e.from !== 0 && e.to !== 0);
    // Replica 1 is the primary of view 1 and re-proposed seq 1 with the same digest.
    for (const i of [1, 2, 3]) {
      expect(c.replicas[i].view).to.equal(1);
      expect(c.replicas[i].status).to.equal("normal");
      expect(c.executed(i)).to.deep.equal([{ seq: 1, digest: sha(req(1)), request: req(1), view: 1 }]);
    }
    const nv = c.ofType(1, "broadcast").find((a) => a.message.type === "new-view")!;
    expect(nv.message.type === "new-view" && nv.message.prePrepares.map((p) => [p.seq, p.digest])).to.deep.equal([
      [1, sha(req(1))],
    ]);
    expect(c.ofType(2, "new-view")).to.deep.equal([
      { type: "new-view", view: 1, primary: c.addresses[1].toLowerCase() },
    ]);
  });

  it("fills sequence gaps in the new view with null requests", function () {
    const c = new Cluster(4);
    for (let i = 1; i <= 3; i++) c.feed(0, { type: "request", request: req(i) });
    // seq 2's pre-prepare never arrives anywhere; seqs 1 and 3 prepare; no commits.
    c.run((e) => e.message.type !== "commit" && !(e.message.type === "pre-prepare" && e.message.seq === 2));
    for (const i of [1, 2, 3]) c.fire(i, "view-change");
    c.run((e) => e.from !== 0 && e.to !== 0);
    const nv = c.ofType(1, "broadcast").find((a) => a.message.type === "new-view")!;
    if (nv.message.type !== "new-view") throw new Error("no new-view");
    expect(nv.message.prePrepares.map((p) => [p.seq, p.digest, p.request])).to.deep.equal([
      [1, sha(req(1)), req(1)],
      [2, NULL_DIGEST, null],
      [3, sha(req(3)), req(3)],
    ]);
    expect(c.executed(2).map((e) => [e.seq, e.request])).to.deep.equal([
      [1, req(1)],
      [2, null],
      [3, req(3)],
    ]);
    // Seq 2 executed as the null request; the client retransmits request 2, which gets seq 4.
    c.feed(1, { type: "request", request: req(2) });
    c.run((e) => e.from !== 0 && e.to !== 0);
    expect(c.executed(2).map((e) => [e.seq, e.request])).to.deep.equal([
      [1, req(1)],
      [2, null],
      [3, req(3)],
      [4, req(2)],
    ]);
  });

  it("rejects a new-view whose pre-prepares do not match its view-changes", function () {
    const c = new Cluster(4);
    c.feed(0, { type: "request", request: req(1) });
    c.run((e) => e.message.type !== "commit");
    for (const i of [1, 2, 3]) c.fire(i, "view-change");
    // Collect the new-view from replica 1 without delivering it to 2.
    c.run((e) => e.from !== 0 && e.to !== 0 && !(e.message.type === "new-view" && e.to === 2));
    const nv = c.ofType(1, "broadcast").find((a) => a.message.type === "new-view")!.message;
    if (nv.type !== "new-view") throw new Error("no new-view");
    const evil = req(666);
    const digest = sha(evil);
    const tampered = {
      ...nv,
      prePrepares: [
        {
          ...nv.prePrepares[0],
          digest,
          request: evil,
          sig: c.sign(1, { type: "Proposal", message: { epoch: c.configId, period: 1n, round: 1, digest } }),
        },
      ],
    };
    expect(c.deliver({ from: 1, to: 2, message: tampered })).to.deep.equal([]);
    expect(c.replicas[2].status).to.equal("view-change");
    // A view-change whose certificates were stripped after signing is refused too.
    const vc = c.ofType(3, "broadcast").find((a) => a.message.type === "view-change")!.message as ViewChange;
    expect(vc.prepared).to.have.length(1);
    const stripped = { ...vc, prepared: [] };
    expect(certsText(stripped.prepared)).to.not.equal(certsText(vc.prepared));
    const fresh = new Cluster(4);
    fresh.feed(1, { type: "start" });
    expect(fresh.deliver({ from: 3, to: 1, message: stripped }).length).to.equal(0);
  });

  it("joins a view change once f+1 others want a higher view", function () {
    const c = new Cluster(4);
    c.fire(2, "view-change"); // no timer armed: nothing happens
    c.feed(2, { type: "request", request: req(1) });
    c.feed(3, { type: "request", request: req(1) });
    c.queue.length = 0;
    c.fire(2, "view-change");
    c.run((e) => e.to === 1 && e.message.type === "view-change");
    expect(c.replicas[1].status).to.equal("normal"); // one view-change (≤ f): not enough
    c.fire(3, "view-change");
    c.run((e) => e.to === 1 && e.message.type === "view-change");
    expect(c.replicas[1].status).to.equal("normal");
    expect(c.replicas[1].view).to.equal(1);
    // Replica 1 joined, and, as primary of view 1 with q view-changes, installed it.
    expect(c.ofType(1, "view-change").map((a) => a.view)).to.deep.equal([1]);
    expect(c.ofType(1, "new-view")).to.have.length(1);
  });

  it("brings a replica that missed the commits up to date (entries with commit certificates), or jumps to a stable checkpoint", function () {
    const c = new Cluster(4, { checkpointInterval: 2, watermarkWindow: 4, retainCommitted: 0 });
    for (let i = 1; i <= 3; i++) c.feed(0, { type: "request", request: req(i) });
    c.run((e) => e.to !== 3);
    expect(c.replicas[3].lastExecuted).to.equal(0);
    c.feed(3, { type: "start" }); // broadcasts its status
    c.run();
    expect(c.ofType(3, "state-jump")).to.deep.equal([
      { type: "state-jump", fromSeq: 1, toSeq: 2, stateDigest: c.replicas[0].stableCheckpoint.digest },
    ]);
    expect(c.executed(3).map((e) => e.seq)).to.deep.equal([3]);
    expect(c.replicas[3].stateDigest).to.equal(c.replicas[0].stateDigest);
    const d = new Cluster(4, { checkpointInterval: 2, watermarkWindow: 4, retainCommitted: 10 });
    for (let i = 1; i <= 3; i++) d.feed(0, { type: "request", request: req(i) });
    d.run((e) => e.to !== 3);
    d.feed(3, { type: "start" });
    d.run();
    expect(d.executed(3).map((e) => e.seq)).to.deep.equal([1, 2, 3]);
    expect(d.ofType(3, "state-jump")).to.have.length(0);
  });

  it("survives a restart from a JSON snapshot mid-protocol without signing anything different", function () {
    const c = new Cluster(4);
    c.feed(0, { type: "request", request: req(1) });
    c.feed(0, { type: "request", request: req(2) });
    c.run((e) => !(e.message.type === "commit" && e.message.seq === 2));
    const before = c.replicas[1].snapshot();
    expect(Object.keys(before.requests)).to.include(sha(req(2)));
    c.restart(1);
    c.restart(0);
    expect(c.replicas[1].snapshot()).to.deep.equal(before);
    // Primary restarted: a new request gets seq 3 (not a re-used 2).
    c.feed(0, { type: "start" });
    c.feed(1, { type: "start" });
    c.feed(0, { type: "request", request: req(3) });
    const pps = c.queue.filter((e) => e.message.type === "pre-prepare").map((e) => (e.message as PrePrepare).seq);
    expect(new Set(pps)).to.deep.equal(new Set([3]));
    // Retransmissions (timers) finish seq 2.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) c.fire(i, "retransmit");
      c.run();
      for (let i = 0; i < 4; i++) c.fire(i, "retransmit");
      c.run();
    }
    expect(c.replicas.map((r) => r.lastExecuted)).to.deep.equal([3, 3, 3, 3]);
  });

  it("validates its options with typed errors naming the value", function () {
    const c = new Cluster(4);
    const base = c.options(0);
    const err = (fn: () => unknown): ValidationError => {
      try {
        fn();
      } catch (e) {
        expect(e).to.be.instanceOf(ValidationError);
        return e as ValidationError;
      }
      throw new Error("expected a ValidationError");
    };
    expect(err(() => new PbftReplica({ ...base, self: "0x0000000000000000000000000000000000000001" })).code).to.equal(
      "PBFT_NOT_MEMBER",
    );
    expect(err(() => new PbftReplica({ ...base, order: [] })).code).to.equal("PBFT_BAD_N");
    expect(err(() => new PbftReplica({ ...base, order: [base.order[0], base.order[0]] })).value).to.equal(
      base.order[0],
    );
    expect(err(() => new PbftReplica({ ...base, configId: -1n })).value).to.equal(-1n);
    const p = err(() => new PbftReplica({ ...base, params: { checkpointInterval: 3, watermarkWindow: 10 } }));
    expect(p.code).to.equal("PBFT_BAD_PARAM");
    expect(p.value).to.equal(10);
    const snap = c.replicas[1].snapshot();
    expect(err(() => new PbftReplica(base, snap)).code).to.equal("PBFT_BAD_SNAPSHOT");
    const digest: Hex = sha("x");
    expect(digest).to.match(/^0x[0-9a-f]{64}$/);
  });
});
