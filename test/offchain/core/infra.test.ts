import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { EventEmitter } from "node:events";
import { Store, decodeValue, encodeValue } from "../../../offchain/core/store";
import { Shutdown, type ShutdownProcess } from "../../../offchain/core/shutdown";
import { Metrics } from "../../../offchain/core/metrics";
import { createLogger, moduleLogger } from "../../../offchain/core/logger";
import { HmsError, StoreError, isHmsError } from "../../../offchain/core/errors";

describe("core/errors, logger, metrics", function () {
  it("HmsError carries a stable code and the offending value, JSON-safe", function () {
    const err = new HmsError("STORE_IO", "bad thing", { value: 10n, details: { key: "a.b" } });
    expect(err).to.be.instanceOf(Error);
    expect(err.name).to.equal("HmsError");
    expect(isHmsError(err, "STORE_IO")).to.equal(true);
    expect(isHmsError(new Error("x"))).to.equal(false);
    expect(JSON.parse(JSON.stringify(err))).to.deep.equal({
      name: "HmsError",
      code: "STORE_IO",
      message: "bad thing",
      value: "10",
      key: "a.b",
    });
  });

  it("logger writes JSON lines with a module field per child and redacts private keys", function () {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const root = createLogger({ level: "debug", pretty: false, destination: sink, name: "test" });
    const log = moduleLogger(root, "pbft", { replica: 2 });
    log.debug({ privateKey: "0xsecret", view: 3 }, "entered view");
    log.trace("not at this level");
    expect(lines).to.have.length(1);
    const line = JSON.parse(lines[0]);
    expect(line).to.include({
      module: "pbft",
      replica: 2,
      view: 3,
      msg: "entered view",
      name: "test",
      privateKey: "[redacted]",
    });
  });

  it("metrics: prefixed names, idempotent creation, text exposition, typed errors", async function () {
    const m = new Metrics();
    const c = m.counter("pbft_commits_total", "Commits", ["replica"]);
    expect(m.counter("hms_pbft_commits_total", "Commits", ["replica"])).to.equal(c);
    c.inc({ replica: "a" }, 3);
    m.histogram("round_seconds", "Round time").observe(0.12);
    m.gauge("view", "Current view").set(4);
    const text = await m.render();
    expect(text).to.contain('hms_pbft_commits_total{replica="a"} 3');
    expect(text).to.contain("hms_round_seconds_count 1");
    expect(text).to.contain("hms_view 4");
    expect(() => m.gauge("pbft_commits_total", "x"))
      .to.throw(HmsError)
      .with.property("code", "METRICS_TYPE_CONFLICT");
    expect(() => m.counter("bad name", "x"))
      .to.throw(HmsError)
      .with.property("value", "bad name");
  });
});

describe("core/store", function () {
  let dir: string;
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-store-"));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("encodes bigints and bytes losslessly", function () {
    const v = { a: 2n ** 70n, b: [1n, "x"], c: Uint8Array.from([1, 2, 255]), d: { $bigintish: "no" } };
    const back = decodeValue<typeof v>(encodeValue(v));
    expect(back.a).to.equal(2n ** 70n);
    expect(back.b).to.deep.equal([1n, "x"]);
    expect(Array.from(back.c)).to.deep.equal([1, 2, 255]);
    expect(back.d).to.deep.equal({ $bigintish: "no" });
    for (const str of ["", "plain", '"quoted"', "\u0001marker-first", "x".repeat(100_000)])
      expect(decodeValue(encodeValue(str))).to.equal(str);
    expect(decodeValue('"legacy JSON string"')).to.equal("legacy JSON string");
    expect(() => decodeValue("{oops"))
      .to.throw(StoreError)
      .with.property("code", "STORE_DECODE");
  });

  it("persists across reopen, applies batches atomically, iterates by prefix", async function () {
    const loc = path.join(dir, "db1");
    const s = await Store.open(loc);
    await s.put("meta", { view: 3, id: 99n });
    await s.batch().put("slot/0001", { d: "a" }).put("slot/0002", { d: "b" }).put("other", 1).del("meta").write();
    await s.close();
    const again = await Store.open(loc);
    expect(await again.get("meta")).to.equal(undefined);
    const entries: Array<[string, unknown]> = [];
    for await (const e of again.entries("slot/")) entries.push(e);
    expect(entries).to.deep.equal([
      ["slot/0001", { d: "a" }],
      ["slot/0002", { d: "b" }],
    ]);
    expect(await again.keys("o")).to.deep.equal(["other"]);
    await again.put("id", 2n ** 64n);
    expect(await again.get("id")).to.equal(2n ** 64n);
    await again.close();
  });

  it("stores blobs as whole files, listed, deleted, kept across reopen; names are checked", async function () {
    const loc = path.join(dir, "db3");
    const s = await Store.open(loc);
    await s.putBlob("req-0xabc", "x".repeat(1_000_000));
    await s.putBlob("other", "y");
    expect(await s.listBlobs()).to.deep.equal(["other", "req-0xabc"]);
    await s.deleteBlob("other");
    await s.deleteBlob("never-was");
    fs.writeFileSync(path.join(s.blobDir, "req-0xdead.123.1.tmp"), "partial"); // a crash mid-write
    await s.close();
    const again = await Store.open(loc);
    expect(await again.listBlobs()).to.deep.equal(["req-0xabc"]);
    expect((await again.getBlob("req-0xabc"))?.length).to.equal(1_000_000);
    expect(await again.getBlob("missing")).to.equal(undefined);
    for (const bad of ["../escape", "", "a/b", ".hidden"])
      try {
        await again.putBlob(bad, "z");
        expect.fail(`accepted ${bad}`);
      } catch (err) {
        expect(err).to.be.instanceOf(StoreError);
        expect((err as StoreError).code).to.equal("STORE_BLOB_NAME");
        expect((err as StoreError).value).to.equal(bad);
      }
    await again.close();
  });

  it("refuses a second opener of the same database with STORE_LOCKED, naming the directory, not LevelDB's LOCK", async function () {
    const loc = path.join(dir, "db2");
    const s = await Store.open(loc);
    try {
      await Store.open(loc);
      expect.fail("second open should fail");
    } catch (err) {
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal("STORE_LOCKED");
      expect((err as StoreError).value).to.equal(loc);
      expect((err as Error).message)
        .to.contain(loc)
        .and.not.match(/LOCK:/);
    } finally {
      await s.close();
    }
  });
});

describe("core/shutdown", function () {
  class FakeProcess extends EventEmitter implements ShutdownProcess {
    exits: number[] = [];
    exit(code: number) {
      this.exits.push(code);
    }
  }

  it("runs hooks in reverse registration order on SIGTERM and exits 0", async function () {
    const proc = new FakeProcess();
    const order: string[] = [];
    const sd = new Shutdown({ process: proc, timeoutMs: 1000 })
      .add("store", async () => {
        order.push("store");
      })
      .add("server", () => {
        order.push("server");
      })
      .install();
    proc.emit("SIGTERM", "SIGTERM");
    const result = await sd.run("again", { exit: false }); // same run
    expect(order).to.deep.equal(["server", "store"]);
    expect(result.exitCode).to.equal(0);
    expect(proc.exits).to.deep.equal([0]);
    expect(proc.listenerCount("SIGTERM")).to.equal(0);
  });

  it("keeps going after a failing hook, and exits 1", async function () {
    const proc = new FakeProcess();
    const order: string[] = [];
    const sd = new Shutdown({ process: proc, timeoutMs: 1000 })
      .add("last", () => void order.push("last"))
      .add("boom", () => {
        throw new Error("boom");
      });
    const result = await sd.run("test");
    expect(order).to.deep.equal(["last"]);
    expect(result.exitCode).to.equal(1);
    expect(result.ran).to.deep.equal([
      { name: "boom", ok: false, error: "boom" },
      { name: "last", ok: true },
    ]);
    expect(proc.exits).to.deep.equal([1]);
  });

  it("bounds the hooks by the timeout, and a second signal exits 130 at once", async function () {
    const proc = new FakeProcess();
    let release: () => void = () => undefined;
    const sd = new Shutdown({ process: proc, timeoutMs: 50 })
      .add("never", () => new Promise<void>((r) => (release = r)))
      .install();
    proc.emit("SIGINT", "SIGINT");
    proc.emit("SIGINT", "SIGINT");
    expect(proc.exits).to.deep.equal([130]);
    const result = await sd.run("x");
    release();
    expect(result.timedOut).to.equal(true);
    expect(result.exitCode).to.equal(1);
    expect(proc.exits).to.deep.equal([130, 1]);
  });
});
