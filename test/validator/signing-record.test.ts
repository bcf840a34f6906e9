import { expect } from "chai";
import fc from "fast-check";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { Store } from "../../offchain/core/store";
import { HttpTransport } from "../../offchain/core/transport";
import { createEip712Crypto } from "../../offchain/consensus/pbft/crypto";
import { PbftNode } from "../../offchain/consensus/pbft/node";
import { GuardedCrypto } from "../../offchain/validator/crypto";
import {
  SigningRecord,
  SigningRecordStore,
  SlashingProtectionError,
  exportRecord,
  importRecord,
  type RecordMeta,
  type ReportSignature,
} from "../../offchain/validator/signing-record";
import { isHmsError } from "../../offchain/core/errors";
import { PbftReplica } from "../../offchain/consensus/pbft/replica";
import type { PbftCrypto, PrePrepare, Commit } from "../../offchain/consensus/pbft/types";
import { guardVotes } from "../../offchain/validator/signing-record";
import { Cluster, sha } from "../offchain/pbft/harness";

const d = (x: string | number): Hex => keccak256(toHex(`digest-${x}`));
const STAKING = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;
const POOL = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" as Address;

describe("validator/signing-record", function () {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-signing-record-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const openStore = () => Store.open(path.join(dir, `db-${n++}`));
  const meta = (address: Address): RecordMeta => ({ address, chainId: 31337, staking: STAKING, pool: POOL });

  it("never signs two proposals for one (epoch, period, round)", function () {
    const r = new SigningRecord();
    const p = { epoch: 1n, period: 2n, round: 0, digest: d(1) };
    expect(r.decideProposal(p).kind).to.equal("sign");
    r.addProposal(p);
    expect(r.decideProposal({ ...p, digest: d(1).toUpperCase().replace("0X", "0x") as Hex }).kind).to.equal("repeat");
    const refused = r.decideProposal({ ...p, digest: d(2) });
    expect(refused.kind).to.equal("refuse");
    expect(() => r.addProposal({ ...p, digest: d(2) })).to.throw(SlashingProtectionError);
    // Another round, period or epoch is another slot.
    for (const q of [
      { ...p, round: 1, digest: d(2) },
      { ...p, period: 3n, digest: d(2) },
      { ...p, epoch: 2n, digest: d(2) },
    ])
      expect(r.decideProposal(q).kind).to.equal("sign");
  });

  it("never signs two reports for one period, and holds back overlapping ones that could still land", function () {
    const r = new SigningRecord();
    const r1: ReportSignature = { epoch: 1n, period: 10n, prevPeriod: 7n, digest: d("r1") };
    r.addReport(r1);
    expect(r.decideReport(r1, () => true).kind).to.equal("repeat");
    const other = r.decideReport({ ...r1, epoch: 2n, digest: d("r1b") }, () => false);
    expect(other.kind).to.equal("refuse"); // whatever the epoch
    // (7, 12] pays for 8..10 again while (7, 10] may land: wait; once it cannot, sign.
    const overlapping = { epoch: 1n, period: 12n, prevPeriod: 7n, digest: d("r2") };
    expect(r.decideReport(overlapping, () => true).kind).to.equal("wait");
    expect(r.decideReport(overlapping, () => false).kind).to.equal("sign");
    // (10, 12] builds on r1: no overlap.
    expect(r.decideReport({ ...overlapping, prevPeriod: 10n }, () => true).kind).to.equal("sign");
    // (5, 9] is covered by r1's range (7, 10]: wait while r1 may land.
    expect(r.decideReport({ epoch: 1n, period: 9n, prevPeriod: 5n, digest: d("r3") }, () => true).kind).to.equal(
      "wait",
    );
    // Never reported before (prev null) covers everything up to its period.
    expect(r.decideReport({ epoch: 1n, period: 11n, prevPeriod: null, digest: d("r4") }, () => true).kind).to.equal(
      "wait",
    );
    // Disjoint ranges: fine.
    expect(r.decideReport({ epoch: 1n, period: 7n, prevPeriod: 3n, digest: d("r5") }, () => true).kind).to.equal(
      "sign",
    );
  });

  it("property: whatever is attempted, each slot keeps at most one digest", function () {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            epoch: fc.bigInt({ min: 0n, max: 2n }),
            period: fc.bigInt({ min: 0n, max: 4n }),
            round: fc.integer({ min: 0, max: 2 }),
            digest: fc.integer({ min: 0, max: 2 }).map(d),
          }),
          { maxLength: 60 },
        ),
        (attempts) => {
          const r = new SigningRecord();
          const signed = new Map<string, Hex>();
          for (const a of attempts) {
            const decision = r.decideProposal(a);
            const key = `${a.epoch}/${a.period}/${a.round}`;
            if (decision.kind === "sign") {
              expect(signed.has(key)).to.equal(false);
              r.addProposal(a);
              signed.set(key, a.digest);
            } else if (decision.kind === "repeat") expect(signed.get(key)).to.equal(a.digest.toLowerCase());
            else expect(signed.get(key)).to.not.equal(a.digest.toLowerCase());
          }
          expect(r.size.proposals).to.equal(signed.size);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("persists every entry it allows, and refuses a conflict after a reopen", async function () {
    const address = privateKeyToAddress(generatePrivateKey());
    const location = path.join(dir, "persist");
    let store = await Store.open(location);
    let rec = await SigningRecordStore.open(store, meta(address));
    expect(rec.guardProposal({ epoch: 1n, period: 1n, round: 0, digest: d(1) })).to.equal("sign");
    expect(rec.pendingWrites).to.equal(1);
    await rec.flush();
    expect(rec.pendingWrites).to.equal(0);
    expect(await rec.guardReport({ epoch: 1n, period: 9n, prevPeriod: null, digest: d(9) }, () => true)).to.equal(
      "sign",
    );
    expect(rec.pendingWrites).to.equal(0); // guardReport writes before it resolves
    await store.close();

    store = await Store.open(location);
    rec = await SigningRecordStore.open(store, meta(address));
    expect(rec.record.size).to.deep.equal({ proposals: 1, reports: 1 });
    expect(rec.guardProposal({ epoch: 1n, period: 1n, round: 0, digest: d(1) })).to.equal("repeat");
    expect(() => rec.guardProposal({ epoch: 1n, period: 1n, round: 0, digest: d(2) }))
      .to.throw(SlashingProtectionError)
      .with.property("code", "SLASHING_PROTECTION");
    let refused: unknown;
    try {
      await rec.guardReport({ epoch: 2n, period: 9n, prevPeriod: 8n, digest: d(10) }, () => false);
    } catch (err) {
      refused = err;
    }
    expect(isHmsError(refused, "SLASHING_PROTECTION")).to.equal(true);
    expect((refused as SlashingProtectionError).value).to.deep.include({ period: 9n });
    await store.close();

    // Another key's record in this data directory: refused.
    store = await Store.open(location);
    let err: unknown;
    try {
      await SigningRecordStore.open(store, meta(privateKeyToAddress(generatePrivateKey())));
    } catch (e) {
      err = e;
    }
    expect(isHmsError(err, "SLASHING_PROTECTION_META")).to.equal(true);
    await store.close();
  });

  it("exports and imports an EIP-3076-like interchange document", async function () {
    const address = privateKeyToAddress(generatePrivateKey());
    const a = await openStore();
    const recA = await SigningRecordStore.open(a, meta(address));
    recA.guardProposal({ epoch: 3n, period: 1n, round: 0, digest: d("a") });
    recA.guardProposal({ epoch: 3n, period: 2n, round: 1, digest: d("b") });
    await recA.guardReport({ epoch: 3n, period: 40n, prevPeriod: 39n, digest: d("c") }, () => false);
    await recA.flush();
    const doc = exportRecord(recA.record, meta(address));
    expect(doc.metadata.interchange_format).to.equal("hms-signing-record");
    expect(doc.data[0].signed_proposals).to.have.length(2);
    expect(doc.data[0].signed_reports[0]).to.deep.equal({
      epoch: "3",
      period: "40",
      prev_period: "39",
      signing_root: d("c"),
    });
    const b = await openStore();
    const recB = await SigningRecordStore.open(b, meta(address));
    recB.guardProposal({ epoch: 3n, period: 2n, round: 1, digest: d("other") }); // conflicts with the import
    await recB.flush();
    const result = await recB.merge(importRecord(JSON.parse(JSON.stringify(doc)), meta(address)));
    expect(result).to.deep.equal({ added: 2, conflicts: 1 });
    expect(recB.guardProposal({ epoch: 3n, period: 1n, round: 0, digest: d("a") })).to.equal("repeat");
    expect(() => recB.guardProposal({ epoch: 3n, period: 1n, round: 0, digest: d("x") })).to.throw(
      SlashingProtectionError,
    );
    expect(() => importRecord(doc, { ...meta(address), chainId: 1 })).to.throw(/chain 31337/);
    expect(() => importRecord(doc, { ...meta(address), pool: STAKING })).to.throw(/mining pool/);
    expect(() => importRecord({ metadata: {} }, meta(address))).to.throw(/not an HMS signing-record/);
    // Entries of another key are ignored.
    expect(importRecord(doc, meta(privateKeyToAddress(generatePrivateKey())))).to.deep.equal({
      proposals: [],
      reports: [],
    });
    await a.close();
    await b.close();
  });

  it("guards PBFT pre-prepare signatures: a replica that lost its log refuses to propose anew", async function () {
    const key = generatePrivateKey();
    const self = privateKeyToAddress(key);
    const recordStore = await openStore();
    const record = await SigningRecordStore.open(recordStore, meta(self));
    const transport = new HttpTransport({ privateKey: key, chainId: 31337, peers: [] });
    const refusals: unknown[] = [];
    const failures: unknown[] = [];
    const openNode = async (store: Store) => {
      const crypto = new GuardedCrypto(
        createEip712Crypto({ privateKey: key, chainId: 31337, stakingContract: STAKING }),
        record,
        {
          onRefused: (e) => refusals.push(e),
        },
      );
      const executed: string[] = [];
      const node = await PbftNode.open({
        replica: { configId: 4n, order: [self], self, crypto, validate: () => true },
        transport,
        peers: new Map([[self.toLowerCase(), "http://127.0.0.1:9"]]),
        store,
        beforeAct: () => record.flush(),
        onExecute: (e) => executed.push(e.request ?? "null"),
        onFailure: (e) => failures.push(e),
      });
      node.start();
      return { node, executed };
    };
    // A one-member committee: its replica proposes (signs a Proposal) and executes at once.
    const pbftA = await openStore();
    const a = await openNode(pbftA);
    a.node.submit("request one");
    await a.node.drained();
    await new Promise((r) => setTimeout(r, 20));
    await a.node.drained();
    expect(a.executed).to.deep.equal(["request one"]);
    expect(record.record.decideProposal({ epoch: 4n, period: 1n, round: 0, digest: d(0) }).kind).to.equal("refuse");
    expect(record.pendingWrites).to.equal(0); // flushed before acting
    await a.node.close();
    await pbftA.close();

    // Its PBFT state is gone (a fresh store), the signing record is not: proposing another request at
    // (epoch 4, seq 1, view 0) would equivocate. The replica withholds that pre-prepare (and keeps running).
    const pbftB = await openStore();
    const b = await openNode(pbftB);
    b.node.submit("request two");
    await b.node.drained();
    await new Promise((r) => setTimeout(r, 20));
    await b.node.drained();
    expect(b.executed).to.deep.equal([]);
    expect(refusals).to.have.length(1);
    expect(refusals[0]).to.be.instanceOf(SlashingProtectionError);
    expect(failures).to.deep.equal([]);
    await b.node.close();
    await pbftB.close();
    await transport.close();
    await recordStore.close();
  });

  it("records every PBFT vote kind: a conflict is refused after a reopen, a repeat is not", async function () {
    const address = privateKeyToAddress(generatePrivateKey());
    const location = path.join(dir, "votes");
    let store = await Store.open(location);
    let rec = await SigningRecordStore.open(store, meta(address));
    const vote = (phase: 1 | 2, view: number, seq: bigint, digest: Hex) =>
      ({ type: "PbftVote", message: { phase, epoch: 3n, seq, view, digest } }) as const;
    const vc = (newView: number, certsHash: Hex) =>
      ({
        type: "PbftViewChange",
        message: { epoch: 3n, newView, stableSeq: 0n, stableDigest: d("z"), certsHash },
      }) as const;
    expect(rec.guardSignable(vote(1, 0, 5n, d(1)))).to.equal("sign");
    expect(rec.guardSignable(vote(2, 0, 5n, d(1)))).to.equal("sign");
    expect(rec.guardSignable(vc(1, d("c")))).to.equal("sign");
    expect(rec.guardSignable({ type: "PbftNewView", message: { epoch: 3n, view: 1, contentHash: d("n") } })).to.equal(
      "sign",
    );
    expect(
      rec.guardSignable({ type: "PbftCheckpoint", message: { epoch: 3n, seq: 5n, stateDigest: d("s") } }),
    ).to.equal("sign");
    expect(rec.record.highestVotedSeq(3n)).to.equal(5);
    await rec.flush();
    await store.close();

    store = await Store.open(location);
    rec = await SigningRecordStore.open(store, meta(address));
    expect(rec.record.voteCount).to.equal(5);
    expect(rec.record.highestVotedSeq(3n)).to.equal(5);
    expect(rec.guardSignable(vote(1, 0, 5n, d(1)))).to.equal("repeat");
    expect(rec.guardSignable(vote(1, 1, 5n, d(2)))).to.equal("sign"); // another view: another slot
    for (const conflicting of [
      vote(1, 0, 5n, d(2)),
      vote(2, 0, 5n, d(2)),
      vc(1, d("other")),
      { type: "PbftNewView", message: { epoch: 3n, view: 1, contentHash: d("other") } } as const,
      { type: "PbftCheckpoint", message: { epoch: 3n, seq: 5n, stateDigest: d("other") } } as const,
    ]) {
      let err: unknown;
      try {
        rec.guardSignable(conflicting);
      } catch (e) {
        err = e;
      }
      expect(isHmsError(err, "SLASHING_PROTECTION"), conflicting.type).to.equal(true);
      expect((err as SlashingProtectionError).value).to.have.property("key");
    }
    await store.close();
  });

  it("a replica whose PBFT state directory is lost refuses to re-vote differently: n = 4 safety holds", async function () {
    const CONFIG = 7n;
    /**
     * Replica 0 is a Byzantine primary that equivocates at (view 0, seq 1): X to replicas 1 and 2, which
     * commit it, then — after replica 1 lost its PBFT state — Y to replicas 1 and 3. Returns what each
     * correct replica executed at seq 1. `guard` false: replica 1 keeps no vote record (pre-prepares only).
     */
    const play = async (guard: boolean) => {
      const location = path.join(dir, `lost-${guard}-${n++}`);
      let store = await Store.open(location);
      const cluster = new Cluster(4);
      let record = await SigningRecordStore.open(store, meta(cluster.addresses[1]));
      const guarded = (): PbftCrypto =>
        guard ? guardVotes(cluster.options(1).crypto, record) : cluster.options(1).crypto;
      cluster.replicas[1] = new PbftReplica({ ...cluster.options(1), crypto: guarded() });
      const pp = (request: string): PrePrepare => {
        const digest = sha(request);
        const sig = cluster.sign(0, { type: "Proposal", message: { epoch: CONFIG, period: 1n, round: 0, digest } });
        return { type: "pre-prepare", view: 0, seq: 1, digest, request, replica: cluster.addresses[0], sig };
      };
      const commitOf0 = (digest: Hex): Commit => ({
        type: "commit",
        view: 0,
        seq: 1,
        digest,
        replica: cluster.addresses[0],
        sig: cluster.sign(0, { type: "PbftVote", message: { phase: 2, epoch: CONFIG, seq: 1n, view: 0, digest } }),
      });
      const from0 = cluster.addresses[0];
      const executedAt1 = new Map<number, Hex>();
      const note = (i: number) => {
        for (const a of cluster.ofType(i, "execute")) if (a.seq === 1) executedAt1.set(i, a.digest);
      };
      // Phase 1: X to 1 and 2 (3 hears nothing); the primary's commit too.
      const x = pp("req|X");
      for (const i of [1, 2]) cluster.feed(i, { type: "message", from: from0, message: x });
      for (const i of [1, 2]) cluster.feed(i, { type: "message", from: from0, message: commitOf0(x.digest) });
      cluster.run((e) => e.to === 1 || e.to === 2);
      await record.flush(); // what the node's beforeAct does before the prepare leaves
      note(1);
      note(2);
      const before = executedAt1.get(1);
      // Replica 1 loses its PBFT directory; its signing record (another store) survives a reopen.
      await store.close();
      store = await Store.open(location);
      record = await SigningRecordStore.open(store, meta(cluster.addresses[1]));
      cluster.actions[1].length = 0;
      cluster.replicas[1] = new PbftReplica({
        ...cluster.options(1),
        crypto: guarded(),
        recoveringFrom: record.record.highestVotedSeq(CONFIG),
      });
      cluster.queue.length = 0;
      // Phase 2: Y to 1 and 3 (2 hears nothing more).
      const y = pp("req|Y");
      for (const i of [1, 3]) cluster.feed(i, { type: "message", from: from0, message: y });
      for (const i of [1, 3]) cluster.feed(i, { type: "message", from: from0, message: commitOf0(y.digest) });
      cluster.run((e) => e.to === 1 || e.to === 3);
      note(3);
      const prepares1 = cluster.ofType(1, "broadcast").filter((a) => a.message.type === "prepare");
      await store.close();
      return { before, executedAt1, prepares1, x: x.digest, y: y.digest };
    };

    const guarded = await play(true);
    expect(guarded.before).to.equal(guarded.x); // X committed and executed before the loss
    expect(guarded.executedAt1.get(2)).to.equal(guarded.x);
    expect(guarded.prepares1).to.deep.equal([]); // the record refused the prepare of Y
    expect(guarded.executedAt1.has(3)).to.equal(false);
    expect(new Set(guarded.executedAt1.values()).size).to.equal(1); // safety

    // Without the vote record, the same replica re-votes and two correct replicas execute different requests.
    const unguarded = await play(false);
    expect(unguarded.prepares1.length).to.be.greaterThan(0);
    expect(unguarded.executedAt1.get(3)).to.equal(unguarded.y);
    expect(new Set(unguarded.executedAt1.values()).size).to.equal(2);
  });
});
