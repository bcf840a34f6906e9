import { expect } from "chai";
import { request } from "undici";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import type { Hex } from "viem";
import { HttpTransport, ENVELOPE_HEADERS, MESSAGE_PATH, bodyHash } from "../../../offchain/core/transport";
import { TransportError, ValidationError } from "../../../offchain/core/errors";
import { Metrics } from "../../../offchain/core/metrics";
import {
  KeyRing,
  PairwiseMacs,
  compressedPublicKey,
  domainOf,
  fastTypedDigest,
  signDigestSync,
} from "../../../offchain/core/signing";

const CHAIN_ID = 31337;

describe("core/transport", function () {
  const keyA = generatePrivateKey();
  const keyB = generatePrivateKey();
  const keyStranger = generatePrivateKey();
  const addrA = privateKeyToAddress(keyA);
  const addrB = privateKeyToAddress(keyB);
  let a: HttpTransport;
  let b: HttpTransport;
  let stranger: HttpTransport;
  let urlB: string;
  const received: unknown[] = [];
  const metrics = new Metrics({ prefix: "hms_" });

  before(async function () {
    a = new HttpTransport({ privateKey: keyA, chainId: CHAIN_ID, peers: [addrB] });
    b = new HttpTransport({ privateKey: keyB, chainId: CHAIN_ID, peers: [addrA], maxBodyBytes: 4096, metrics });
    stranger = new HttpTransport({ privateKey: keyStranger, chainId: CHAIN_ID, peers: [addrB] });
    b.handle("echo", (m) => {
      received.push(m.body);
      return { from: m.sender, kind: m.kind, echo: m.body };
    });
    b.handle("strict", (m) => {
      const body = m.body as { n?: unknown };
      if (typeof body.n !== "number") throw new ValidationError("PBFT_BAD_N", "n must be a number", { value: body.n });
      return body.n * 2;
    });
    urlB = await b.listen();
    await a.listen();
  });

  after(async function () {
    await Promise.all([a.close(), b.close(), stranger.close()]);
  });

  async function rejection(p: Promise<unknown>): Promise<TransportError> {
    try {
      await p;
    } catch (err) {
      expect(err).to.be.instanceOf(TransportError);
      return err as TransportError;
    }
    throw new Error("expected a rejection");
  }

  async function rawPost(headers: Record<string, string>, body: string | Buffer) {
    const res = await request(`${urlB}${MESSAGE_PATH}`, { method: "POST", headers, body });
    return { status: res.statusCode, json: (await res.body.json()) as { ok: boolean; error?: { code: string } } };
  }

  it("binds to 127.0.0.1 on an ephemeral port and serves /health", async function () {
    expect(urlB).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(`${urlB}/health`);
    expect(res.statusCode).to.equal(200);
    const body = (await res.body.json()) as { ok: boolean; address: string };
    expect(body.ok).to.equal(true);
    expect(body.address).to.equal(addrB);
  });

  it("delivers an authenticated message and returns the handler's result", async function () {
    const result = await a.send(urlB, "echo", { hello: "world", n: 1 });
    expect(result).to.deep.equal({ from: addrA, kind: "echo", echo: { hello: "world", n: 1 } });
  });

  it("broadcast signs once and delivers to every URL", async function () {
    const results = await a.broadcast([urlB, urlB], "echo", { x: 2 });
    // The same envelope twice: the second delivery is a replay.
    expect(results[0].status).to.equal("fulfilled");
    expect(results[1].status).to.equal("rejected");
    const err = (results[1] as PromiseRejectedResult).reason as TransportError;
    expect(err.code).to.equal("TRANSPORT_REPLAY");
    expect(err.status).to.equal(409);
  });

  it("rejects an unknown sender with 403 UNKNOWN_SENDER", async function () {
    const err = await rejection(stranger.send(urlB, "echo", { x: 1 }));
    expect(err.status).to.equal(403);
    expect(err.code).to.equal("TRANSPORT_UNKNOWN_SENDER");
    expect(String(err.value).toLowerCase()).to.equal(privateKeyToAddress(keyStranger).toLowerCase());
  });

  it("rejects a signature by another key with 401 BAD_SIGNATURE", async function () {
    const env = a.seal("echo", { x: 3 });
    // Re-sign the same envelope with the stranger's key but keep A as the sender.
    const digest = fastTypedDigest(domainOf("transport", CHAIN_ID), "Envelope", {
      sender: addrA,
      kind: "echo",
      seq: env.seq,
      bodyHash: bodyHash(env.body),
    });
    const forged = {
      ...env,
      headers: { ...env.headers, [ENVELOPE_HEADERS.signature]: signDigestSync(keyStranger, digest) },
    };
    const err = await rejection(a.post(urlB, forged));
    expect(err.status).to.equal(401);
    expect(err.code).to.equal("TRANSPORT_BAD_SIGNATURE");
  });

  it("rejects a body altered after signing with 401 BAD_SIGNATURE", async function () {
    const env = a.seal("echo", { amount: 1 });
    const tampered = { ...env, body: Buffer.from(JSON.stringify({ amount: 1000 })) };
    const err = await rejection(a.post(urlB, tampered));
    expect(err.code).to.equal("TRANSPORT_BAD_SIGNATURE");
  });

  it("rejects a replayed envelope with 409 REPLAY", async function () {
    const env = a.seal("echo", { once: true });
    await a.post(urlB, env);
    const err = await rejection(a.post(urlB, env));
    expect(err.status).to.equal(409);
    expect(err.code).to.equal("TRANSPORT_REPLAY");
    expect(err.value).to.equal(env.seq.toString());
  });

  it("rejects an oversized body with 413 BODY_TOO_LARGE", async function () {
    const err = await rejection(a.send(urlB, "echo", { blob: "x".repeat(5000) }));
    expect(err.status).to.equal(413);
    expect(err.code).to.equal("TRANSPORT_BODY_TOO_LARGE");
    expect(err.value).to.equal(4096);
  });

  it("rejects a body that is not JSON with 400 MALFORMED_BODY (signature valid)", async function () {
    const raw = Buffer.from("{not json");
    const seq = a.seal("echo", {}).seq; // a fresh seq of A's, never posted
    const digest = fastTypedDigest(domainOf("transport", CHAIN_ID), "Envelope", {
      sender: addrA,
      kind: "echo",
      seq,
      bodyHash: bodyHash(raw),
    });
    const { status, json } = await rawPost(
      {
        "content-type": "application/json",
        [ENVELOPE_HEADERS.sender]: addrA,
        [ENVELOPE_HEADERS.kind]: "echo",
        [ENVELOPE_HEADERS.seq]: seq.toString(),
        [ENVELOPE_HEADERS.signature]: signDigestSync(keyA, digest),
      },
      raw,
    );
    expect(status).to.equal(400);
    expect(json.error?.code).to.equal("TRANSPORT_MALFORMED_BODY");
  });

  it("rejects missing or ill-formed envelope headers with 400 MALFORMED_ENVELOPE", async function () {
    const env = a.seal("echo", { x: 1 });
    for (const [name, value] of [
      [ENVELOPE_HEADERS.sender, "0x1234"],
      [ENVELOPE_HEADERS.seq, "-1"],
      [ENVELOPE_HEADERS.seq, "18446744073709551616"],
      [ENVELOPE_HEADERS.signature, "0xdead"],
      [ENVELOPE_HEADERS.kind, "Bad Kind"],
    ] as const) {
      const { status, json } = await rawPost({ ...env.headers, [name]: value }, env.body);
      expect(status, `${name}=${value}`).to.equal(400);
      expect(json.error?.code).to.equal("TRANSPORT_MALFORMED_ENVELOPE");
    }
  });

  it("rejects a wrong content type with 415 and an unknown kind with 404", async function () {
    const env = a.seal("echo", { x: 1 });
    const res415 = await rawPost({ ...env.headers, "content-type": "text/plain" }, env.body);
    expect(res415.status).to.equal(415);
    expect(res415.json.error?.code).to.equal("TRANSPORT_UNSUPPORTED_MEDIA_TYPE");
    const err = await rejection(a.send(urlB, "nobody-home", {}));
    expect(err.status).to.equal(404);
    expect(err.code).to.equal("TRANSPORT_UNKNOWN_KIND");
  });

  it("maps a handler's ValidationError to 400 with its code and value", async function () {
    expect(await a.send(urlB, "strict", { n: 21 })).to.equal(42);
    const err = await rejection(a.send(urlB, "strict", { n: "x" }));
    expect(err.status).to.equal(400);
    expect(err.code).to.equal("PBFT_BAD_N");
    expect(err.value).to.equal("x");
  });

  it("reports an unreachable peer as UNREACHABLE", async function () {
    const err = await rejection(a.send("http://127.0.0.1:1", "echo", {}));
    expect(err.code).to.equal("TRANSPORT_UNREACHABLE");
  });

  it("serves /metrics with the hms_ transport counters", async function () {
    const res = await request(`${urlB}/metrics`);
    expect(res.statusCode).to.equal(200);
    const text = await res.body.text();
    expect(text).to.match(/hms_transport_received_total\{kind="echo"\} \d+/);
    expect(text).to.match(/hms_transport_rejected_total\{code="TRANSPORT_BAD_SIGNATURE"\} \d+/);
  });

  it("refuses invalid kinds and peers at the API with typed errors", function () {
    expect(() => a.handle("Not Valid", () => null))
      .to.throw(ValidationError)
      .with.property("value", "Not Valid");
    expect(() => a.addPeer("0x12" as Hex))
      .to.throw(ValidationError)
      .with.property("code", "TRANSPORT_BAD_ADDRESS");
  });
});

describe("core/transport — MAC'd envelopes", function () {
  const [keyP, keyQ, keyR] = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
  const [addrP, addrQ, addrR] = [keyP, keyQ, keyR].map((k) => privateKeyToAddress(k));
  let p: HttpTransport;
  let q: HttpTransport;
  let urlP: string;
  let urlQ: string;
  const who = (m: { sender: string; auth: string }) => ({ from: m.sender, auth: m.auth });

  before(async function () {
    p = new HttpTransport({ privateKey: keyP, chainId: CHAIN_ID, peers: [addrQ] });
    q = new HttpTransport({ privateKey: keyQ, chainId: CHAIN_ID, peers: [addrP, addrR] });
    p.handle("who", who);
    q.handle("who", who);
    urlP = await p.listen();
    urlQ = await q.listen();
  });

  after(async function () {
    await Promise.all([p.close(), q.close()]);
  });

  /** Headers of a hand-made envelope from `sender`, its digest over `body` (a fresh seq of P's, never posted). */
  function envelopeOf(sender: string, body: string) {
    const s = p.seal("who", {}, { sign: false }).seq;
    const digest = fastTypedDigest(domainOf("transport", CHAIN_ID), "Envelope", {
      sender: sender as Hex,
      kind: "who",
      seq: s,
      bodyHash: bodyHash(Buffer.from(body)),
    });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      [ENVELOPE_HEADERS.sender]: sender,
      [ENVELOPE_HEADERS.kind]: "who",
      [ENVELOPE_HEADERS.seq]: s.toString(),
    };
    return { digest, headers };
  }
  async function rawPost(url: string, headers: Record<string, string>, body: string) {
    const res = await request(`${url}${MESSAGE_PATH}`, { method: "POST", headers, body });
    return { status: res.statusCode, json: (await res.body.json()) as { ok: boolean; error?: { code: string } } };
  }
  function macsOf(key: Hex, knows: Hex[]): PairwiseMacs {
    const ring = new KeyRing();
    for (const k of knows) ring.learnPublicKey(compressedPublicKey(k));
    return new PairwiseMacs(key, ring);
  }

  it("signs to a peer whose public key it does not know, MACs once it does (learnt from either kind of envelope)", async function () {
    // P knows nothing of Q: signed. Q learns P's key from the signature.
    expect(await p.post(urlQ, p.seal("who", { i: 1 }, { sign: false }), addrQ)).to.deep.equal({
      from: addrP,
      auth: "signature",
    });
    // Q knows P: MAC'd; P learns Q's key from x-hms-key.
    expect(await q.post(urlP, q.seal("who", { i: 2 }, { sign: false }), addrP)).to.deep.equal({
      from: addrQ,
      auth: "mac",
    });
    // Now both ways are MAC'd; without a recipient address the envelope is signed as before.
    expect(await p.post(urlQ, p.seal("who", { i: 3 }, { sign: false }), addrQ)).to.deep.equal({
      from: addrP,
      auth: "mac",
    });
    expect(await p.post(urlQ, p.seal("who", { i: 4 }))).to.deep.equal({ from: addrP, auth: "signature" });
  });

  it("rejects a MAC made with another key, or over another body, with 401 BAD_MAC", async function () {
    await p.post(urlQ, p.seal("who", {}, { sign: false }), addrQ); // Q knows P's key
    const body = JSON.stringify({ amount: 1 });
    // R (a configured peer of Q) MACs with its own key for Q but names P as the sender.
    const forged = envelopeOf(addrP, body);
    forged.headers[ENVELOPE_HEADERS.mac] = macsOf(keyR, [keyQ]).mac(addrQ, forged.digest);
    forged.headers[ENVELOPE_HEADERS.key] = compressedPublicKey(keyP);
    let r = await rawPost(urlQ, forged.headers, body);
    expect(r.status).to.equal(401);
    expect(r.json.error?.code).to.equal("TRANSPORT_BAD_MAC");
    // P's genuine MAC, but the body altered in transit.
    const genuine = envelopeOf(addrP, body);
    genuine.headers[ENVELOPE_HEADERS.mac] = macsOf(keyP, [keyQ]).mac(addrQ, genuine.digest);
    r = await rawPost(urlQ, genuine.headers, JSON.stringify({ amount: 1000 }));
    expect(r.status).to.equal(401);
    expect(r.json.error?.code).to.equal("TRANSPORT_BAD_MAC");
    // The same, unaltered: accepted.
    r = await rawPost(urlQ, genuine.headers, body);
    expect(r.status).to.equal(200);
  });

  it("carries a large string as an attachment after the JSON, covered by the MAC", async function () {
    q.handle("att", (m) => ({ body: m.body, attachment: m.attachment }));
    const attachment = `tb1:1:2:${"A".repeat(70_000)}\n{"not":"json"} é ✓`;
    const env = p.seal("att", { type: "pre-prepare", seq: 1 }, { sign: false, attachment });
    expect(env.headers[ENVELOPE_HEADERS.attachment]).to.equal("1");
    expect(await p.post(urlQ, env, addrQ)).to.deep.equal({ body: { type: "pre-prepare", seq: 1 }, attachment });
    const plain = await p.post(urlQ, p.seal("att", { x: 1 }, { sign: false }), addrQ);
    expect(plain).to.deep.equal({ body: { x: 1 } });
    // The attachment is part of the authenticated body: altering it is a BAD_MAC.
    const again = p.seal("att", { seq: 2 }, { sign: false, attachment: "abc" });
    const tampered = {
      ...again,
      body: Buffer.concat([again.body.subarray(0, again.body.length - 1), Buffer.from("d")]),
    };
    let code: string | undefined;
    try {
      await p.post(urlQ, tampered, addrQ);
    } catch (err) {
      code = (err as TransportError).code;
    }
    expect(code).to.equal("TRANSPORT_BAD_MAC");
  });

  it("refuses a public key that is not the sender's, or none from an unknown sender, with 401 BAD_MAC", async function () {
    const fresh = new HttpTransport({ privateKey: generatePrivateKey(), chainId: CHAIN_ID, peers: [addrR] });
    fresh.handle("who", who);
    const url = await fresh.listen();
    try {
      const body = "{}";
      // The envelope names R but carries P's public key.
      const e = envelopeOf(addrR, body);
      e.headers[ENVELOPE_HEADERS.mac] = `0x${"11".repeat(32)}`;
      e.headers[ENVELOPE_HEADERS.key] = compressedPublicKey(keyP);
      let r = await rawPost(url, e.headers, body);
      expect(r.status).to.equal(401);
      expect(r.json.error?.code).to.equal("TRANSPORT_BAD_MAC");
      delete e.headers[ENVELOPE_HEADERS.key];
      r = await rawPost(url, e.headers, body);
      expect(r.json.error?.code).to.equal("TRANSPORT_BAD_MAC");
      // Malformed MAC or key header: 400.
      e.headers[ENVELOPE_HEADERS.mac] = "0x1234";
      r = await rawPost(url, e.headers, body);
      expect(r.status).to.equal(400);
      expect(r.json.error?.code).to.equal("TRANSPORT_MALFORMED_ENVELOPE");
    } finally {
      await fresh.close();
    }
  });
});
