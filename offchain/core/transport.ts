/**
 * HTTP transport between daemons: a fastify server and an undici client, bound to 127.0.0.1 unless
 * told otherwise, carrying JSON bodies authenticated by a signed envelope.
 *
 * Wire format — `POST /v1/msg` with the raw JSON body and the envelope in headers:
 *
 *   x-hms-sender:    0x… address of the sending node
 *   x-hms-kind:      message kind (routes to a handler), e.g. `pbft`
 *   x-hms-seq:       uint64, strictly fresh per sender (replay protection)
 *   x-hms-signature: 65-byte EIP-712 signature of Envelope{sender, kind, seq, bodyHash} in the
 *                    `transport` domain (signing.ts), bodyHash = sha256(raw body bytes)
 *   — or, instead of the signature, when the sender knows the recipient's public key —
 *   x-hms-mac:       HMAC-SHA256 of the same Envelope digest with the sender's and recipient's pairwise
 *                    key (ECDH + HKDF, signing.ts `PairwiseMacs`): one per recipient, ≈ 2 µs to make or
 *                    check against ≈ 0.3 ms for a signature
 *   x-hms-key:       the sender's compressed public key (lets the recipient derive the pairwise key;
 *                    refused unless it is the key of x-hms-sender)
 *
 * A MAC convinces the recipient only: nothing carried by this transport is evidence by virtue of its
 * envelope (messages that must convince third parties — PBFT proposals, certificates — carry their own
 * signatures in the body). A sender MACs to a peer once it knows the peer's public key (from the peer's
 * first signed envelope or MAC'd one, or from any signature the shared {@link KeyRing} verified), and
 * signs otherwise: `post(url, envelope, to)` decides per recipient.
 *
 * A large string (a PBFT pre-prepare's 3 MiB request) can travel as an *attachment* instead of inside the
 * JSON: the body is then the JSON text, a newline (which JSON.stringify never emits), and the string's
 * UTF-8 bytes, flagged by `x-hms-attachment: 1`; the handler gets it as `attachment`. The body hash covers
 * all of it. It saves the sender's JSON.stringify and every recipient's JSON.parse of the big string.
 *
 * The body hash is SHA-256, not Keccak: the envelope is never checked on chain, and a PBFT pre-prepare
 * body is megabytes (Keccak in JS: ~190 ms for 3 MB, OpenSSL SHA-256: ~2 ms).
 *
 * The server rejects, in this order and with these statuses and codes (reply body
 * `{ ok: false, error: { code, message, value } }`):
 *   413 BODY_TOO_LARGE        body over `maxBodyBytes` (checked before reading it)
 *   415 UNSUPPORTED_MEDIA_TYPE not application/json
 *   400 MALFORMED_ENVELOPE    missing/ill-formed envelope header
 *   403 UNKNOWN_SENDER        sender not among the known peers
 *   404 UNKNOWN_KIND          no handler for the kind
 *   401 BAD_SIGNATURE         signature not by the sender over this envelope and body
 *   401 BAD_MAC               MAC not the sender's over this envelope and body (or x-hms-key not the sender's)
 *   409 REPLAY                seq already seen (or too old) from this sender
 *   400 MALFORMED_BODY        body is not JSON
 *   4xx/5xx                   from the handler: an HmsError's status (TransportError.status,
 *                             400 for ValidationError, 500 otherwise)
 * and serves `GET /health` and `GET /metrics`.
 *
 * An envelope does not name its recipient (the type is fixed in signing.ts), so one signed envelope is
 * sent to every peer of a broadcast; a peer could replay it to another peer once. Messages carried by
 * this transport must therefore be safe to deliver to any peer (PBFT messages are).
 */
import { createHash } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Agent, request } from "undici";
import type { Address, Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import type { Logger } from "pino";
import { HmsError, TransportError, ValidationError, relayedCode, safeValue, type ErrorCode } from "./errors";
import { Metrics, registerMetricsRoute } from "./metrics";
import {
  KeyRing,
  MacError,
  PairwiseMacs,
  domainOf,
  fastTypedDigest,
  publicKeyAddress,
  signDigestSync,
} from "./signing";

export const ENVELOPE_HEADERS = {
  sender: "x-hms-sender",
  kind: "x-hms-kind",
  seq: "x-hms-seq",
  signature: "x-hms-signature",
  mac: "x-hms-mac",
  key: "x-hms-key",
  attachment: "x-hms-attachment",
} as const;

export const MESSAGE_PATH = "/v1/msg";
const KIND_RE = /^[a-z][a-z0-9._-]{0,63}$/;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const SEQ_RE = /^\d{1,20}$/;
const SIG_RE = /^0x[0-9a-fA-F]{130}$/;
const MAC_RE = /^0x[0-9a-f]{64}$/;
const KEY_RE = /^0x0[23][0-9a-fA-F]{64}$/;
const UINT64_MAX = (1n << 64n) - 1n;

/** An authenticated inbound message. */
export interface InboundMessage<T = unknown> {
  sender: Address;
  kind: string;
  seq: bigint;
  body: T;
  /** Size of the raw body, bytes. */
  bytes: number;
  /** How the envelope was authenticated: a signature, or a MAC with the pairwise key. */
  auth: "signature" | "mac";
  /** The string sent with `seal(…, { attachment })`, if any. */
  attachment?: string;
}

export type MessageHandler = (message: InboundMessage) => unknown;

/** A sealed, encoded message, ready to be posted to any number of peers. */
export interface SignedEnvelope {
  kind: string;
  seq: bigint;
  /** Headers of a signed post (the signature is added on first need when sealed with `sign: false`). */
  headers: Record<string, string>;
  body: Buffer;
  /** The EIP-712 Envelope digest that is signed or MAC'd. */
  digest: Hex;
}

export interface HttpTransportOptions {
  /** The node's secp256k1 key (signs every envelope). */
  privateKey: Hex;
  /** Chain id of the `transport` EIP-712 domain. */
  chainId: number;
  /** Addresses allowed to send to this node. */
  peers: Iterable<Address>;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Largest accepted body, bytes; default 64 MiB. */
  maxBodyBytes?: number;
  /** Client timeout of one exchange, ms; default 10 s. */
  requestTimeoutMs?: number;
  /** How far below the highest seq seen from a sender a seq is still accepted (once); default 4096. */
  replayWindow?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Shared verifier (public keys learnt once); default a private one. */
  keyRing?: KeyRing;
  /** Extra fields of the `GET /health` reply (a daemon's role, epoch, progress…); called per request. */
  health?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** sha256 of the raw body, as bytes32 hex. */
export function bodyHash(body: Uint8Array): Hex {
  return `0x${createHash("sha256").update(body).digest("hex")}`;
}

class ReplayGuard {
  private highest = -1n;
  private readonly seen = new Set<bigint>();
  constructor(private readonly window: number) {}

  /** Records `seq`; false if it was seen or is older than the window. */
  accept(seq: bigint): boolean {
    const floor = this.highest - BigInt(this.window);
    if (seq <= floor || this.seen.has(seq)) return false;
    this.seen.add(seq);
    if (seq > this.highest) this.highest = seq;
    if (this.seen.size > 2 * this.window) {
      const newFloor = this.highest - BigInt(this.window);
      for (const s of this.seen) if (s <= newFloor) this.seen.delete(s);
    }
    return true;
  }
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class HttpTransport {
  readonly address: Address;
  private readonly app: FastifyInstance;
  private readonly agent: Agent;
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly peers = new Set<string>();
  private readonly guards = new Map<string, ReplayGuard>();
  private readonly keyRing: KeyRing;
  private readonly macs: PairwiseMacs;
  private readonly domain;
  private readonly maxBodyBytes: number;
  private readonly requestTimeoutMs: number;
  private readonly replayWindow: number;
  private readonly log?: Logger;
  private seq: bigint;
  private baseUrl: string | undefined;
  private readonly counters;

  constructor(private readonly options: HttpTransportOptions) {
    this.address = privateKeyToAddress(options.privateKey);
    this.domain = domainOf("transport", options.chainId);
    this.keyRing = options.keyRing ?? new KeyRing();
    this.macs = new PairwiseMacs(options.privateKey, this.keyRing);
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.replayWindow = options.replayWindow ?? 4096;
    this.log = options.logger;
    for (const p of options.peers) this.addPeer(p);
    // Fresh across restarts without persisting anything: microseconds since the epoch, then +1 per message.
    this.seq = BigInt(Date.now()) * 1000n;
    const metrics = options.metrics;
    this.counters = metrics
      ? {
          received: metrics.counter("transport_received_total", "Authenticated messages received", ["kind"]),
          rejected: metrics.counter("transport_rejected_total", "Requests rejected by the transport", ["code"]),
          sent: metrics.counter("transport_sent_total", "Messages posted", ["kind"]),
          sendErrors: metrics.counter("transport_send_errors_total", "Failed posts", ["code"]),
          bytesIn: metrics.counter("transport_received_bytes_total", "Body bytes received"),
        }
      : undefined;

    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 8,
      headersTimeout: this.requestTimeoutMs,
      bodyTimeout: this.requestTimeoutMs,
    });
    this.app = Fastify({ logger: false, bodyLimit: this.maxBodyBytes });
    this.app.removeContentTypeParser(["application/json", "text/plain"]);
    this.app.addContentTypeParser(
      "application/json",
      { parseAs: "buffer", bodyLimit: this.maxBodyBytes },
      (_req, body, done) => done(null, body),
    );
    this.app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _req, reply) => {
      let e: TransportError;
      if (err instanceof TransportError) e = err;
      else if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE")
        e = new TransportError("TRANSPORT_BODY_TOO_LARGE", 413, `body larger than ${this.maxBodyBytes} bytes`, {
          value: this.maxBodyBytes,
        });
      else if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || err.code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH")
        e = new TransportError("TRANSPORT_UNSUPPORTED_MEDIA_TYPE", 415, "expected content-type application/json", {
          value: err.message,
        });
      else if (err instanceof HmsError)
        e = new TransportError(err.code, err instanceof ValidationError ? 400 : 500, err.message, { value: err.value });
      else if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500)
        e = new TransportError("TRANSPORT_BAD_REQUEST", err.statusCode, err.message);
      else {
        this.log?.error({ err }, "transport handler failed");
        e = new TransportError("TRANSPORT_INTERNAL", 500, "internal error");
      }
      this.counters?.rejected.inc({ code: e.code });
      void reply.status(e.status).send({ ok: false, error: e.toJSON() });
    });
    this.app.get("/health", async () => ({
      ok: true,
      address: this.address,
      uptimeSeconds: process.uptime(),
      ...(options.health ? await options.health() : {}),
    }));
    if (options.metrics) registerMetricsRoute(this.app, options.metrics);
    this.app.post(MESSAGE_PATH, (req, reply) => this.receive(req, reply));
  }

  /** Registers the handler of a message kind; its return value is the reply's `result`. */
  handle(kind: string, handler: MessageHandler): this {
    if (!KIND_RE.test(kind))
      throw new ValidationError("TRANSPORT_BAD_KIND", `invalid message kind ${JSON.stringify(kind)}`, { value: kind });
    this.handlers.set(kind, handler);
    return this;
  }

  /**
   * Serves a read-only JSON route, `GET path` (fastify path syntax, e.g. `/v1/reports/:period`), before
   * {@link listen}. The handler's result is the reply body; an {@link HmsError} becomes an error reply with
   * its status (TransportError.status, 400 for ValidationError, 500 otherwise), `undefined` a 404.
   */
  get(
    path: string,
    handler: (params: Record<string, string>, query: Record<string, string>) => unknown | Promise<unknown>,
  ): this {
    this.app.get(path, async (req, reply) => {
      const result = await handler(req.params as Record<string, string>, req.query as Record<string, string>);
      if (result === undefined)
        throw new TransportError("TRANSPORT_NOT_FOUND", 404, `nothing at ${req.url}`, { value: req.url });
      return reply.send(result);
    });
    return this;
  }

  addPeer(address: Address): void {
    if (typeof address !== "string" || !ADDRESS_RE.test(address))
      throw new ValidationError("TRANSPORT_BAD_ADDRESS", "peer is not an address", { value: address });
    this.peers.add(address.toLowerCase());
  }

  removePeer(address: Address): void {
    this.peers.delete(address.toLowerCase());
  }

  /** Starts listening; resolves to the base URL (`http://127.0.0.1:<port>`). */
  async listen(): Promise<string> {
    const host = this.options.host ?? "127.0.0.1";
    const port = this.options.port ?? 0;
    try {
      await this.app.listen({ host, port });
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why =
        code === "EADDRINUSE" ? "the port is in use" : code === "EACCES" ? "not allowed" : (err as Error).message;
      throw new TransportError("TRANSPORT_LISTEN", undefined, `cannot listen on ${host}:${port}: ${why}`, {
        value: `${host}:${port}`,
        cause: err,
      });
    }
    const addr = this.app.server.address();
    if (addr === null || typeof addr === "string")
      throw new TransportError("TRANSPORT_LISTEN", 0, "server has no TCP address");
    this.baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
    return this.baseUrl;
  }

  /** Base URL once listening. */
  get url(): string {
    if (this.baseUrl === undefined)
      throw new TransportError("TRANSPORT_NOT_LISTENING", 0, "transport is not listening");
    return this.baseUrl;
  }

  /**
   * Seals `body` once as an envelope of `kind`. `sign: false` defers the signature until a post needs
   * it (a recipient whose public key is unknown): a broadcast to peers that all get a MAC signs nothing.
   */
  seal(kind: string, body: unknown, options: { sign?: boolean; attachment?: string } = {}): SignedEnvelope {
    if (!KIND_RE.test(kind))
      throw new ValidationError("TRANSPORT_BAD_KIND", `invalid message kind ${JSON.stringify(kind)}`, { value: kind });
    const text = JSON.stringify(body);
    if (text === undefined)
      throw new ValidationError("TRANSPORT_BAD_BODY", "body is not JSON-serialisable", { value: safeValue(body) });
    const attachment = options.attachment;
    let bytes: Buffer;
    if (attachment === undefined) bytes = Buffer.from(text, "utf8");
    else {
      const head = Buffer.byteLength(text, "utf8");
      bytes = Buffer.allocUnsafe(head + 1 + Buffer.byteLength(attachment, "utf8"));
      bytes.write(text, 0, "utf8");
      bytes[head] = 0x0a;
      bytes.write(attachment, head + 1, "utf8");
    }
    const seq = ++this.seq;
    const digest = fastTypedDigest(this.domain, "Envelope", {
      sender: this.address,
      kind,
      seq,
      bodyHash: bodyHash(bytes),
    });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      [ENVELOPE_HEADERS.sender]: this.address,
      [ENVELOPE_HEADERS.kind]: kind,
      [ENVELOPE_HEADERS.seq]: seq.toString(),
    };
    if (attachment !== undefined) headers[ENVELOPE_HEADERS.attachment] = "1";
    if (options.sign !== false) headers[ENVELOPE_HEADERS.signature] = signDigestSync(this.options.privateKey, digest);
    return { kind, seq, body: bytes, headers, digest };
  }

  /** The headers of `envelope` for recipient `to`: a MAC when its public key is known, else the signature. */
  private headersFor(envelope: SignedEnvelope, to: Address | undefined): Record<string, string> {
    if (to !== undefined && this.macs.canMac(to)) {
      const headers = { ...envelope.headers };
      delete headers[ENVELOPE_HEADERS.signature];
      headers[ENVELOPE_HEADERS.mac] = this.macs.mac(to, envelope.digest);
      headers[ENVELOPE_HEADERS.key] = this.macs.publicKey;
      return headers;
    }
    envelope.headers[ENVELOPE_HEADERS.signature] ??= signDigestSync(this.options.privateKey, envelope.digest);
    return envelope.headers;
  }

  /**
   * Posts a sealed envelope to a peer's base URL; resolves to the handler's result. Throws {@link TransportError}.
   * With `to` (the address of the peer at `url`) the envelope is MAC'd for it when its public key is known.
   */
  async post<T = unknown>(url: string, envelope: SignedEnvelope, to?: Address): Promise<T> {
    let res;
    try {
      res = await request(`${url}${MESSAGE_PATH}`, {
        method: "POST",
        headers: this.headersFor(envelope, to),
        body: envelope.body,
        dispatcher: this.agent,
        headersTimeout: this.requestTimeoutMs,
        bodyTimeout: this.requestTimeoutMs,
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? "TRANSPORT_UNREACHABLE";
      this.counters?.sendErrors.inc({ code: "TRANSPORT_UNREACHABLE" });
      throw new TransportError("TRANSPORT_UNREACHABLE", 0, `cannot reach ${url}: ${code} ${(err as Error).message}`, {
        value: url,
        cause: err,
      });
    }
    const text = await res.body.text();
    let parsed: { ok?: boolean; result?: unknown; error?: { code?: string; message?: string; value?: unknown } };
    try {
      parsed = JSON.parse(text);
    } catch {
      this.counters?.sendErrors.inc({ code: "TRANSPORT_BAD_REPLY" });
      throw new TransportError(
        "TRANSPORT_BAD_REPLY",
        res.statusCode,
        `non-JSON reply from ${url} (HTTP ${res.statusCode})`,
        {
          value: text.slice(0, 200),
        },
      );
    }
    if (res.statusCode >= 300 || parsed.ok !== true) {
      const code = relayedCode(parsed.error?.code, "TRANSPORT_HTTP_STATUS");
      this.counters?.sendErrors.inc({ code });
      throw new TransportError(code, res.statusCode, parsed.error?.message ?? `HTTP ${res.statusCode} from ${url}`, {
        value: parsed.error?.value,
        details: { status: res.statusCode },
      });
    }
    this.counters?.sent.inc({ kind: envelope.kind });
    return parsed.result as T;
  }

  /** Signs and posts one message. */
  send<T = unknown>(url: string, kind: string, body: unknown): Promise<T> {
    return this.post<T>(url, this.seal(kind, body));
  }

  /** Signs once and posts to every URL concurrently. */
  broadcast(urls: readonly string[], kind: string, body: unknown): Promise<PromiseSettledResult<unknown>[]> {
    const envelope = this.seal(kind, body);
    return Promise.allSettled(urls.map((u) => this.post(u, envelope)));
  }

  private reject(code: ErrorCode, status: number, message: string, value?: unknown): never {
    throw new TransportError(code, status, message, { value });
  }

  private async receive(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const raw = req.body;
    if (!Buffer.isBuffer(raw))
      this.reject("TRANSPORT_UNSUPPORTED_MEDIA_TYPE", 415, "expected content-type application/json");
    const sender = header(req, ENVELOPE_HEADERS.sender);
    const kind = header(req, ENVELOPE_HEADERS.kind);
    const seqText = header(req, ENVELOPE_HEADERS.seq);
    const signature = header(req, ENVELOPE_HEADERS.signature);
    const mac = header(req, ENVELOPE_HEADERS.mac);
    const publicKey = header(req, ENVELOPE_HEADERS.key);
    if (sender === undefined || !ADDRESS_RE.test(sender))
      this.reject("TRANSPORT_MALFORMED_ENVELOPE", 400, `missing or invalid ${ENVELOPE_HEADERS.sender}`, sender);
    if (kind === undefined || !KIND_RE.test(kind))
      this.reject("TRANSPORT_MALFORMED_ENVELOPE", 400, `missing or invalid ${ENVELOPE_HEADERS.kind}`, kind);
    if (seqText === undefined || !SEQ_RE.test(seqText) || BigInt(seqText) > UINT64_MAX)
      this.reject("TRANSPORT_MALFORMED_ENVELOPE", 400, `missing or invalid ${ENVELOPE_HEADERS.seq}`, seqText);
    if (mac !== undefined) {
      if (!MAC_RE.test(mac)) this.reject("TRANSPORT_MALFORMED_ENVELOPE", 400, `invalid ${ENVELOPE_HEADERS.mac}`, mac);
      if (publicKey !== undefined && !KEY_RE.test(publicKey))
        this.reject("TRANSPORT_MALFORMED_ENVELOPE", 400, `invalid ${ENVELOPE_HEADERS.key}`, publicKey);
    } else if (signature === undefined || !SIG_RE.test(signature))
      this.reject("TRANSPORT_MALFORMED_ENVELOPE", 400, `missing or invalid ${ENVELOPE_HEADERS.signature}`, signature);
    const senderKey = sender.toLowerCase();
    if (!this.peers.has(senderKey)) this.reject("TRANSPORT_UNKNOWN_SENDER", 403, `unknown sender ${sender}`, sender);
    const handler = this.handlers.get(kind);
    if (handler === undefined) this.reject("TRANSPORT_UNKNOWN_KIND", 404, `no handler for kind ${kind}`, kind);
    const seq = BigInt(seqText);
    const digest = fastTypedDigest(this.domain, "Envelope", {
      sender: sender as Address,
      kind,
      seq,
      bodyHash: bodyHash(raw),
    });
    if (mac !== undefined) this.checkMac(sender as Address, digest, mac as Hex, publicKey as Hex | undefined);
    else if (!this.keyRing.verifyDigest(sender as Address, digest, signature as Hex))
      this.reject("TRANSPORT_BAD_SIGNATURE", 401, `envelope not signed by ${sender}`, signature);
    let guard = this.guards.get(senderKey);
    if (guard === undefined) {
      guard = new ReplayGuard(this.replayWindow);
      this.guards.set(senderKey, guard);
    }
    if (!guard.accept(seq))
      this.reject("TRANSPORT_REPLAY", 409, `seq ${seq} from ${sender} already seen or too old`, seqText);
    let body: unknown;
    let attachment: string | undefined;
    try {
      let json = raw;
      if (header(req, ENVELOPE_HEADERS.attachment) === "1") {
        const nl = raw.indexOf(0x0a);
        if (nl < 0) throw new Error("no attachment separator");
        json = raw.subarray(0, nl);
        attachment = raw.toString("utf8", nl + 1);
      }
      body = JSON.parse(json.toString("utf8"));
    } catch (err) {
      this.reject(
        "TRANSPORT_MALFORMED_BODY",
        400,
        `body is not JSON: ${(err as Error).message}`,
        raw.subarray(0, 100).toString("utf8"),
      );
    }
    this.counters?.received.inc({ kind });
    this.counters?.bytesIn.inc(raw.length);
    const auth = mac !== undefined ? "mac" : "signature";
    const result = await handler({ sender: sender as Address, kind, seq, body, bytes: raw.length, auth, attachment });
    return reply.send({ ok: true, result: result ?? null });
  }

  /** Checks a MAC'd envelope of a (configured) peer; learns its public key from x-hms-key if need be. */
  private checkMac(sender: Address, digest: Hex, mac: Hex, publicKey: Hex | undefined): void {
    if (!this.keyRing.knows(sender)) {
      if (publicKey === undefined)
        this.reject("TRANSPORT_BAD_MAC", 401, `no public key of ${sender} known, and none sent`, sender);
      let owner: Address | undefined;
      try {
        owner = publicKeyAddress(publicKey);
      } catch {
        owner = undefined;
      }
      if (owner !== sender.toLowerCase())
        this.reject("TRANSPORT_BAD_MAC", 401, `${ENVELOPE_HEADERS.key} is not the key of ${sender}`, publicKey);
      this.keyRing.learnPublicKey(publicKey);
    }
    try {
      this.macs.check(sender, digest, mac);
    } catch (err) {
      if (!(err instanceof MacError)) throw err;
      this.reject("TRANSPORT_BAD_MAC", 401, `envelope MAC not made by ${sender}: ${err.message}`, mac);
    }
  }

  /** Stops the server and the client connections. */
  async close(): Promise<void> {
    await this.app.close();
    await this.agent.close();
  }
}
