import { expect } from "chai";
import { createHash, createHmac } from "node:crypto";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import type { Hex } from "viem";
import { Secp256k1 } from "ox";
import {
  KeyRing,
  MacError,
  PAIRWISE_KEY_INFO,
  PairwiseMacs,
  compressedPublicKey,
  pairwiseKey,
  publicKeyAddress,
  SigningError,
} from "../../../offchain/core/signing";
import { HmsError } from "../../../offchain/core/errors";

const digest = (text: string): Hex => `0x${createHash("sha256").update(text).digest("hex")}`;

/** RFC 5869 HKDF-SHA256, written out independently of node's hkdfSync. */
function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Buffer {
  const prk = createHmac("sha256", salt).update(ikm).digest();
  let t: Buffer = Buffer.alloc(0);
  const out: Buffer[] = [];
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    t = createHmac("sha256", prk)
      .update(Buffer.concat([t, Buffer.from(info, "utf8"), Buffer.from([i])]))
      .digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

function expectMacError(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, "throws").to.be.instanceOf(MacError);
  expect(thrown).to.be.instanceOf(HmsError);
  expect((thrown as MacError).code).to.equal(code);
}

describe("core/signing — pairwise MAC keys", function () {
  const keyA = generatePrivateKey();
  const keyB = generatePrivateKey();
  const keyC = generatePrivateKey();
  const [addrA, addrB, addrC] = [keyA, keyB, keyC].map((k) => privateKeyToAddress(k));
  const [pubA, pubB, pubC] = [keyA, keyB, keyC].map((k) => compressedPublicKey(k));

  /** A node's MACs, knowing the public keys of `peers`. */
  function macsOf(key: Hex, peers: Hex[]): PairwiseMacs {
    const ring = new KeyRing();
    for (const p of peers) ring.learnPublicKey(p);
    return new PairwiseMacs(key, ring);
  }

  it("derives the same key on both sides (ECDH + HKDF-SHA256), another with anyone else", function () {
    const ab = pairwiseKey(keyA, pubB);
    expect(ab).to.have.length(32);
    expect(Buffer.from(pairwiseKey(keyB, pubA)).equals(Buffer.from(ab))).to.equal(true);
    expect(Buffer.from(pairwiseKey(keyA, pubC)).equals(Buffer.from(ab))).to.equal(false);
    expect(Buffer.from(pairwiseKey(keyA, pubB, "another use")).equals(Buffer.from(ab))).to.equal(false);
    // Independently: x(a·B), salted with the two addresses in ascending order, RFC 5869.
    const shared = Secp256k1.noble.getSharedSecret(keyA.slice(2), pubB.slice(2), true).subarray(1);
    const salt = Buffer.from(
      [addrA, addrB]
        .map((a) => a.slice(2).toLowerCase())
        .sort()
        .join(""),
      "hex",
    );
    expect(Buffer.from(ab).equals(hkdf(shared, salt, PAIRWISE_KEY_INFO, 32))).to.equal(true);
  });

  it("names public keys by their addresses; refuses a malformed one with a typed error", function () {
    expect(publicKeyAddress(pubA)).to.equal(addrA.toLowerCase());
    expect(new PairwiseMacs(keyA, new KeyRing()).address).to.equal(addrA.toLowerCase());
    expect(() => publicKeyAddress("0x02abcd")).to.throw(SigningError);
    expect(() => pairwiseKey(keyA, "0x02abcd" as Hex)).to.throw(SigningError);
    const ring = new KeyRing();
    ring.learnPublicKey(pubB);
    expect(ring.publicKeyOf(addrB)).to.equal(pubB);
    expect(ring.publicKeyOf(addrC)).to.equal(undefined);
  });

  it("accepts the sender's MAC at its recipient", function () {
    const a = macsOf(keyA, [pubB]);
    const b = macsOf(keyB, [pubA]);
    const d = digest("prepare 1");
    const mac = a.mac(addrB, d);
    expect(mac).to.match(/^0x[0-9a-f]{64}$/);
    expect(() => b.check(addrA, d, mac)).to.not.throw();
    expect(a.canMac(addrB)).to.equal(true);
    expect(a.canMac(addrC)).to.equal(false);
  });

  it("rejects a tampered message, another key, a reflected or malformed MAC with SIGNING_BAD_MAC", function () {
    const a = macsOf(keyA, [pubB, pubC]);
    const b = macsOf(keyB, [pubA, pubC]);
    const c = macsOf(keyC, [pubA, pubB]);
    const d = digest("commit 7");
    const mac = a.mac(addrB, d);
    // Tampered message.
    expectMacError(() => b.check(addrA, digest("commit 8"), mac), "SIGNING_BAD_MAC");
    // Made by C (its key with B) but claiming to be A's.
    expectMacError(() => b.check(addrA, d, c.mac(addrB, d)), "SIGNING_BAD_MAC");
    // A's MAC for C shown to B.
    expectMacError(() => b.check(addrA, d, a.mac(addrC, d)), "SIGNING_BAD_MAC");
    // Reflected: B's own MAC for A handed back to B as if A had made it (the MAC names its sender).
    expectMacError(() => b.check(addrA, d, b.mac(addrA, d)), "SIGNING_BAD_MAC");
    // One bit flipped, truncated, not hex.
    const flipped = `0x${(BigInt(mac) ^ 1n).toString(16).padStart(64, "0")}` as Hex;
    expectMacError(() => b.check(addrA, d, flipped), "SIGNING_BAD_MAC");
    expectMacError(() => b.check(addrA, d, mac.slice(0, 40) as Hex), "SIGNING_BAD_MAC");
    expectMacError(() => b.check(addrA, d, "0xzz" as Hex), "SIGNING_BAD_MAC");
  });

  it("refuses to MAC for, or check a MAC from, a peer whose public key is unknown (SIGNING_NO_PAIRWISE_KEY)", function () {
    const a = macsOf(keyA, []);
    const d = digest("x");
    expectMacError(() => a.mac(addrB, d), "SIGNING_NO_PAIRWISE_KEY");
    expectMacError(() => a.check(addrB, d, `0x${"00".repeat(32)}`), "SIGNING_NO_PAIRWISE_KEY");
    // Learnt later (e.g. from a verified signature): now it can.
    a.keyRing.learnPublicKey(pubB);
    expect(() => macsOf(keyB, [pubA]).check(addrA, d, a.mac(addrB, d))).to.not.throw();
  });

  it("an authenticator holds one MAC per recipient, each valid at its recipient only", function () {
    const a = macsOf(keyA, [pubB, pubC]);
    const b = macsOf(keyB, [pubA]);
    const c = macsOf(keyC, [pubA]);
    const d = digest("broadcast");
    const auth = a.authenticator([addrB, addrC], d);
    expect([...auth.keys()]).to.deep.equal([addrB, addrC].map((x) => x.toLowerCase()));
    expect(() => b.check(addrA, d, auth.get(addrB.toLowerCase())!)).to.not.throw();
    expect(() => c.check(addrA, d, auth.get(addrC.toLowerCase())!)).to.not.throw();
    expectMacError(() => c.check(addrA, d, auth.get(addrB.toLowerCase())!), "SIGNING_BAD_MAC");
  });
});
