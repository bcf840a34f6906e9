/**
 * Bad input to a worker gets a clear typed error — the HTTP status of the code's registry entry and a JSON body
 * `{ ok: false, error: { code, message, value } }` naming the offending value — and stores nothing: an unknown
 * or malformed CID, a write without a length or over the size limit, without a valid grant or past its budget,
 * from an older term, with a period far from the worker's clock, or that does not fit on its disk.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { generatePrivateKey } from "viem/accounts";
import { STORAGE_HEADERS } from "../../offchain/protocol/storage-wire";
import type { StorageWorker } from "../../offchain/storage/worker";
import { getRaw, health, ownerGrant, putRaw, sliceCid, startWorker } from "./helpers";

describe("storage: bad input is refused with a typed error and stores nothing", function () {
  this.timeout(120_000);
  let w: StorageWorker;
  const bytes = randomBytes(10_000);
  const cid = sliceCid(bytes).toString();

  before(async function () {
    w = await startWorker(7, { capacityBytes: 200_000, maxBlockBytes: 100_000 });
  });
  after(async function () {
    await w?.stop();
  });

  const expectError = (res: { status: number; json: Record<string, unknown> }, status: number, code: string) => {
    expect(res.status, JSON.stringify(res.json)).to.equal(status);
    expect(res.json.ok).to.equal(false);
    expect((res.json.error as Record<string, unknown>).code).to.equal(code);
    return res.json.error as Record<string, unknown>;
  };

  afterEach(async function () {
    expect((await health(w.url)).reserved, "no capacity left reserved").to.equal(0);
  });

  it("404 with a JSON error for a CID not stored here, 400 for one that is not a storable CID", async function () {
    const missing = sliceCid(randomBytes(8)).toString();
    const res = await getRaw(w.url, `/v1/slices/${missing}`);
    expect(res.status).to.equal(404);
    expect(res.headers["content-type"]).to.match(/application\/json/);
    expect(JSON.parse(res.body.toString()).error).to.include({ code: "STORAGE_NOT_FOUND", value: missing });
    const garbage = await getRaw(w.url, "/v1/slices/not-a-cid");
    expect(JSON.parse(garbage.body.toString()).error).to.include({ code: "STORAGE_BAD_CID", value: "not-a-cid" });
    const sha512 = CID.createV1(0x55, Digest.create(0x13, randomBytes(64))).toString();
    expectError(await putRaw(w.url, sha512, bytes), 400, "STORAGE_BAD_CID");
  });

  it("411 without a Content-Length, 413 over the block limit (before the body is read)", async function () {
    const chunked = (async function* () {
      yield bytes;
    })();
    expectError(await putRaw(w.url, cid, chunked, { length: null }), 411, "STORAGE_LENGTH_REQUIRED");
    const big = randomBytes(150_000);
    const e = expectError(await putRaw(w.url, sliceCid(big).toString(), big), 413, "STORAGE_TOO_LARGE");
    expect(e.value).to.equal(150_000);
  });

  it("403 for a write without a grant, with a malformed one, signed by someone else, or expired", async function () {
    expectError(await putRaw(w.url, cid, bytes, { grant: null }), 403, "STORAGE_UNAUTHORIZED");
    expectError(
      await putRaw(w.url, cid, bytes, { grant: null, headers: { [STORAGE_HEADERS.grant]: "{not json" } }),
      400,
      "STORAGE_BAD_REQUEST",
    );
    const forged = ownerGrant({ signer: generatePrivateKey() });
    const e = expectError(await putRaw(w.url, cid, bytes, { grant: forged.grant }), 403, "STORAGE_UNAUTHORIZED");
    expect(e.message).to.match(/not signed by its owner/);
    const expired = ownerGrant({ deadline: BigInt(Math.floor(Date.now() / 1000) - 10) });
    expectError(await putRaw(w.url, cid, bytes, { grant: expired.grant }), 403, "STORAGE_UNAUTHORIZED");
    expect((await getRaw(w.url, `/v1/slices/${cid}`)).status).to.equal(404);
  });

  it("403 past the grant's byte budget; the same block twice costs nothing more", async function () {
    const { grant } = ownerGrant({ maxBytes: 25_000n });
    const a = randomBytes(10_000);
    const b = randomBytes(10_000);
    const c = randomBytes(10_000);
    expect((await putRaw(w.url, sliceCid(a).toString(), a, { grant })).status).to.equal(201);
    expect((await putRaw(w.url, sliceCid(a).toString(), a, { grant })).status).to.equal(201);
    expect((await putRaw(w.url, sliceCid(b).toString(), b, { grant })).status).to.equal(201);
    const e = expectError(await putRaw(w.url, sliceCid(c).toString(), c, { grant }), 403, "STORAGE_GRANT_EXCEEDED");
    expect(e.value).to.equal(grant.uploadId);
    expect((await getRaw(w.url, `/v1/slices/${sliceCid(c)}`)).status).to.equal(404);
  });

  it("409 for an older term than one already seen (fencing), 400 for a period far from the clock", async function () {
    expect((await putRaw(w.url, cid, bytes, { headers: { [STORAGE_HEADERS.term]: "5" } })).status).to.equal(201);
    const other = randomBytes(1000);
    const e = expectError(
      await putRaw(w.url, sliceCid(other).toString(), other, { headers: { [STORAGE_HEADERS.term]: "4" } }),
      409,
      "STORAGE_STALE_TERM",
    );
    expect(e.value).to.equal("4");
    const p = expectError(
      await putRaw(w.url, sliceCid(other).toString(), other, {
        headers: { [STORAGE_HEADERS.term]: "5", [STORAGE_HEADERS.period]: "99999999" },
      }),
      400,
      "STORAGE_BAD_PERIOD",
    );
    expect(p.value).to.equal("99999999");
  });

  it("507 when the write does not fit in the capacity, and nothing is stored", async function () {
    const before = (await health(w.url)).bytes as number;
    const fits = randomBytes(90_000);
    const term = { [STORAGE_HEADERS.term]: "5" };
    expect((await putRaw(w.url, sliceCid(fits).toString(), fits, { headers: term })).status).to.equal(201);
    const free = (await health(w.url)).free as number;
    const more = randomBytes(Math.min(99_000, free + 1));
    const e = expectError(await putRaw(w.url, sliceCid(more).toString(), more, { headers: term }), 507, "STORAGE_FULL");
    expect(e.needed).to.equal(more.length);
    expect((await health(w.url)).bytes).to.equal(before + 90_000);
    expect((await getRaw(w.url, `/v1/slices/${sliceCid(more)}`)).status).to.equal(404);
  });

  it("416 for a range outside the block, 206 with Content-Range inside it", async function () {
    const inside = await getRaw(w.url, `/v1/slices/${cid}`, { range: "bytes=100-199" });
    expect(inside.status).to.equal(206);
    expect(inside.headers["content-range"]).to.equal(`bytes 100-199/${bytes.length}`);
    expect(inside.body.equals(bytes.subarray(100, 200))).to.equal(true);
    const outside = await getRaw(w.url, `/v1/slices/${cid}`, { range: "bytes=20000-" });
    expect(outside.status).to.equal(416);
    expect(JSON.parse(outside.body.toString()).error.code).to.equal("STORAGE_RANGE");
  });
});
