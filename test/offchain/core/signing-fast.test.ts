import { expect } from "chai";
import fc from "fast-check";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import {
  KeyRing,
  NATIVE_SECP256K1,
  SigningError,
  recoverDigestSync,
  signDigestNoble,
  signDigestSync,
  TYPES,
  domainOf,
  fastTypedDigest,
  recoverTyped,
  recoverTypedSync,
  signTyped,
  signTypedSync,
  typedDigest,
  type MessageOf,
  type TypeName,
} from "../../../offchain/core/signing";
import { HmsError } from "../../../offchain/core/errors";

const STAKING = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });

const addr = hex(20) as fc.Arbitrary<Address>;
const arbitraries: { [T in TypeName]: fc.Arbitrary<MessageOf[T]> } = {
  StorageAck: fc.record({ nodeId: hex(32), slice: hex(32), size: uint(64), owner: addr, uploadId: hex(32) }),
  UploadGrant: fc.record({ owner: addr, uploadId: hex(32), maxBytes: uint(64), deadline: uint(64) }),
  IndexWrite: fc.record({
    owner: addr,
    op: fc.constantFrom("put", "rm", "mv", "mkdir"),
    path: fc.string({ maxLength: 80 }),
    target: fc.string({ maxLength: 80 }),
    contentHash: hex(32),
    nonce: uint(64),
    deadline: uint(64),
  }),
  Heartbeat: fc.record({
    nodeId: hex(32),
    seq: uint(64),
    time: uint(64),
    capacity: uint(64),
    free: uint(64),
    load: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    region: fc.string({ maxLength: 16 }),
    url: fc.webUrl(),
  }),
  WorkloadRequest: fc.record({
    leaseId: uint(256),
    action: fc.constantFrom("run", "read", "stop"),
    specHash: hex(32),
    deadline: uint(64),
  }),
  ComputeHeartbeat: fc.record({
    nodeId: hex(32),
    seq: uint(64),
    time: uint(64),
    region: fc.string({ maxLength: 20 }),
    url: fc.string({ maxLength: 60 }),
    offerId: uint(256),
    capacityCpuMillis: uint(64),
    capacityMemoryMiB: uint(64),
    capacityDiskMiB: uint(64),
    usedCpuMillis: uint(64),
    usedMemoryMiB: uint(64),
    usedDiskMiB: uint(64),
    workloadsHash: hex(32),
  }),
  UsageReport: fc.record({
    leaseId: uint(256),
    nodeId: hex(32),
    period: uint(64),
    start: uint(64),
    end: uint(64),
    cpuMs: uint(64),
    memoryMiBs: uint(64),
    netRxBytes: uint(64),
    netTxBytes: uint(64),
    diskBytes: uint(64),
    totalCpuMs: uint(64),
    restarts: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    state: fc.integer({ min: 0, max: 3 }),
    specHash: hex(32),
  }),
  ReceiptAck: fc.record({
    taskId: hex(32),
    side: fc.integer({ min: 0, max: 1 }),
    meta: addr,
    term: uint(64),
    index: uint(64),
  }),
  Proposal: fc.record({
    epoch: uint(64),
    period: uint(64),
    round: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    digest: hex(32),
  }),
  Recommendation: fc.record({ candidate: hex(20) as fc.Arbitrary<Address>, deadline: uint(64) }),
  PeriodReport: fc.record({
    epoch: uint(64),
    period: uint(64),
    fromPeriod: uint(64),
    rewardsRoot: hex(32),
    totalTraffic: uint(64),
    nodeCount: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    carryRoot: hex(32),
    dataCid: hex(32),
  }),
  TrafficReceipt: fc.record({
    taskId: hex(32),
    nodeId: hex(32),
    client: hex(20) as fc.Arbitrary<Address>,
    bytesServed: uint(64),
    period: uint(64),
  }),
  Permit: fc.record({
    owner: hex(20) as fc.Arbitrary<Address>,
    spender: hex(20) as fc.Arbitrary<Address>,
    value: uint(256),
    nonce: uint(256),
    deadline: uint(256),
  }),
  KeyRegistration: fc.record({
    registrant: hex(20) as fc.Arbitrary<Address>,
    subject: hex(32),
    nonce: uint(256),
    deadline: uint(256),
  }),
  ContributionBatch: fc.record({ epoch: uint(64), nonce: uint(64), measurementsHash: hex(32) }),
  ContributionCoefficients: fc.record({
    epoch: uint(64),
    nonce: uint(64),
    cpu: uint(64),
    memory: uint(64),
    bandwidth: uint(64),
    storage: uint(64),
  }),
  PbftVote: fc.record({
    phase: fc.integer({ min: 1, max: 2 }),
    epoch: uint(64),
    seq: uint(64),
    view: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    digest: hex(32),
  }),
  PbftCheckpoint: fc.record({ epoch: uint(64), seq: uint(64), stateDigest: hex(32) }),
  PbftViewChange: fc.record({
    epoch: uint(64),
    newView: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    stableSeq: uint(64),
    stableDigest: hex(32),
    certsHash: hex(32),
  }),
  PbftNewView: fc.record({ epoch: uint(64), view: fc.integer({ min: 0, max: 2 ** 32 - 1 }), contentHash: hex(32) }),
  Envelope: fc.record({
    sender: hex(20) as fc.Arbitrary<Address>,
    kind: fc.string({ maxLength: 40 }),
    seq: uint(64),
    bodyHash: hex(32),
  }),
};

describe("core/signing fast path", function () {
  it("fastTypedDigest equals viem's hashTypedData for every type, on random messages and domains", function () {
    for (const name of Object.keys(TYPES) as TypeName[]) {
      fc.assert(
        fc.property(
          arbitraries[name] as fc.Arbitrary<MessageOf[typeof name]>,
          fc.integer({ min: 1, max: 2 ** 40 }),
          (m, chainId) => {
            const domain = name === "Envelope" ? domainOf("transport", chainId) : domainOf("staking", chainId, STAKING);
            expect(fastTypedDigest(domain, name, m)).to.equal(typedDigest(domain, name, m));
          },
        ),
        { numRuns: 60 },
      );
    }
  });

  it("signTypedSync returns exactly viem's signature, and both recoveries agree", async function () {
    const domain = domainOf("staking", 31337, STAKING);
    for (let i = 0; i < 10; i++) {
      const pk = generatePrivateKey();
      const account = privateKeyToAccount(pk);
      const m = { epoch: BigInt(i), period: 100n + BigInt(i), round: i, digest: `0x${"ab".repeat(32)}` as Hex };
      const viemSig = await signTyped(account, domain, "Proposal", m);
      expect(signTypedSync(pk, domain, "Proposal", m)).to.equal(viemSig);
      expect(await recoverTyped(domain, "Proposal", m, viemSig)).to.equal(account.address);
      expect(recoverTypedSync(domain, "Proposal", m, viemSig)).to.equal(account.address.toLowerCase());
    }
  });

  it("the native libsecp256k1 path signs and recovers exactly like noble", function () {
    expect(NATIVE_SECP256K1, "the prebuilt secp256k1 binding loads on this machine").to.equal(true);
    fc.assert(
      fc.property(hex(32), hex(32), (digest, seed) => {
        const pk = fastTypedDigest(domainOf("transport", 1), "Envelope", {
          sender: "0x0000000000000000000000000000000000000001",
          kind: "k",
          seq: 1n,
          bodyHash: seed,
        }); // any 32 bytes below n: a keccak output is, with overwhelming probability
        const sig = signDigestSync(pk, digest);
        expect(sig).to.equal(signDigestNoble(pk, digest));
        expect(recoverDigestSync(digest, sig)).to.equal(privateKeyToAccount(pk).address.toLowerCase());
      }),
      { numRuns: 200 },
    );
    expect(() => signDigestSync(`0x${"00".repeat(32)}`, `0x${"11".repeat(32)}`)).to.throw(SigningError);
    expect(() => signDigestSync(generatePrivateKey(), "0x1234")).to.throw(SigningError);
  });

  it("KeyRing accepts exactly the valid signatures, on both the recovery and the known-key path", function () {
    const domain = domainOf("staking", 1, STAKING);
    const keys = Array.from({ length: 4 }, () => generatePrivateKey());
    const ring = new KeyRing();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        arbitraries.Proposal,
        fc.integer({ min: 0, max: 3 }),
        (signer, m, claimed) => {
          const sig = signTypedSync(keys[signer], domain, "Proposal", m);
          const claimedAddress = privateKeyToAccount(keys[claimed]).address;
          expect(ring.verifyTyped(claimedAddress, domain, "Proposal", m, sig)).to.equal(signer === claimed);
          const other = { ...m, round: (m.round + 1) % 2 ** 32 };
          expect(ring.verifyTyped(claimedAddress, domain, "Proposal", other, sig)).to.equal(false);
        },
      ),
      { numRuns: 150 },
    );
    expect(ring.size).to.equal(4);
  });

  it("KeyRing rejects flipped v, high s, bad length and garbage without throwing", function () {
    const domain = domainOf("staking", 1, STAKING);
    const pk = generatePrivateKey();
    const address = privateKeyToAccount(pk).address;
    const m = { epoch: 1n, period: 2n, round: 3, digest: `0x${"11".repeat(32)}` as Hex };
    const sig = signTypedSync(pk, domain, "Proposal", m);
    const flippedV = `${sig.slice(0, 130)}${sig.endsWith("1b") ? "1c" : "1b"}` as Hex;
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const highS =
      `${sig.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${sig.endsWith("1b") ? "1c" : "1b"}` as Hex;
    for (const ring of [
      new KeyRing(),
      (() => {
        const r = new KeyRing();
        expect(r.verifyTyped(address, domain, "Proposal", m, sig)).to.equal(true); // learn the key first
        return r;
      })(),
    ]) {
      expect(ring.verifyTyped(address, domain, "Proposal", m, flippedV)).to.equal(false);
      expect(ring.verifyTyped(address, domain, "Proposal", m, highS)).to.equal(false);
      expect(ring.verifyTyped(address, domain, "Proposal", m, "0x1234")).to.equal(false);
      expect(ring.verifyTyped(address, domain, "Proposal", m, `0x${"00".repeat(65)}`)).to.equal(false);
    }
  });

  it("throws SigningError (an HmsError) naming the bad field value", function () {
    const domain = domainOf("staking", 1, STAKING);
    const bad = { epoch: 1n << 64n, period: 0n, round: 0, digest: `0x${"00".repeat(32)}` as Hex };
    try {
      fastTypedDigest(domain, "Proposal", bad);
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(SigningError);
      expect(err).to.be.instanceOf(HmsError);
      expect((err as SigningError).code).to.equal("SIGNING_INVALID");
      expect((err as SigningError).value).to.equal(1n << 64n);
    }
    expect(() => signTypedSync("0x12" as Hex, domain, "Proposal", { ...bad, epoch: 0n })).to.throw(SigningError);
    expect(() => fastTypedDigest(domain, "Proposal", { ...bad, epoch: 0n, digest: "0x12" as Hex }))
      .to.throw(SigningError)
      .with.property("value", "0x12");
  });
});
