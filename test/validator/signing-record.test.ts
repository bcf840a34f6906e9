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
    // (epoch 4, seq 1, view 0) would equivocate. The replica stops instead.
    const pbftB = await openStore();
    const b = await openNode(pbftB);
    b.node.submit("request two");
    await b.node.drained();
    await new Promise((r) => setTimeout(r, 20));
    expect(b.executed).to.deep.equal([]);
    expect(refusals).to.have.length(1);
    expect(failures).to.have.length(1);
    expect(failures[0]).to.be.instanceOf(SlashingProtectionError);
    await b.node.close();
    await pbftB.close();
    await transport.close();
    await recordStore.close();
  });
});
