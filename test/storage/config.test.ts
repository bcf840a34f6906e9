/**
 * `hms storage` as an operator runs it (offchain/storage/config.ts, daemon.ts, cli/commands/storage.ts): a
 * config file with HMS_STORAGE_* variables on top (typos are errors), the signing key from a file or the
 * environment — never on the command line, never in a log line or an error — `/health` and `/metrics`, exit
 * code 2 without a key, and a graceful stop on SIGTERM that keeps what was stored.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { request } from "undici";
import { HmsError } from "../../offchain/core/errors";
import { demoNodeId, demoNodePrivateKey } from "../../offchain/devnet/accounts";
import { HmsProcess, freePort } from "../../offchain/devnet/cluster";
import { saveKey } from "../../offchain/cli/keystore";
import { loadStorageConfig, resolveNodeKey } from "../../offchain/storage/config";
import { resolveKey } from "../../offchain/validator/config";
import { ValidatorError } from "../../offchain/validator/errors";
import { TEST_DOMAINS } from "../../offchain/testing/storage-cluster";
import { getRaw, health, putRaw, sliceCid, tempDir, waitFor } from "./helpers";

const KEY = demoNodePrivateKey(60);

function writeConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, "storage.yaml");
  const config = {
    nodeId: demoNodeId(60),
    dataDir: path.join(dir, "data"),
    capacityBytes: 1 << 30,
    chainId: TEST_DOMAINS.chainId,
    contracts: { nodeRegistry: TEST_DOMAINS.nodeRegistry, miningPool: TEST_DOMAINS.miningPool },
    period: { genesis: Math.floor(Date.now() / 1000) - 3600, length: 600 },
    log: { level: "info", pretty: false },
    ...extra,
  };
  fs.writeFileSync(
    file,
    Object.entries(config)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join("\n"),
  );
  return file;
}

describe("storage: the hms storage daemon's configuration, key and lifecycle", function () {
  this.timeout(180_000);

  it("reads the file, then HMS_STORAGE_* variables; rejects unknown variables and incomplete settings", function () {
    const dir = tempDir("storage-config");
    const file = writeConfig(dir);
    const cfg = loadStorageConfig(file, { HMS_STORAGE_LISTEN__PORT: "7399", HMS_STORAGE_REGION: "eu-1" });
    expect(cfg.listen).to.deep.equal({ host: "127.0.0.1", port: 7399 });
    expect(cfg.region).to.equal("eu-1");
    expect(cfg.store).to.include({ fsync: true, verifyOnRead: true, backend: "fs" });
    expect(cfg.maxBlockBytes).to.equal(2 * 1024 * 1024);
    expect(() => loadStorageConfig(file, { HMS_STORAGE_LISTEN_PORT: "1" }))
      .to.throw(HmsError)
      .with.property("code", "CONFIG_ENV");
    const bare = path.join(dir, "bare.json");
    fs.writeFileSync(bare, JSON.stringify({ nodeId: demoNodeId(60), dataDir: dir, capacityBytes: 10 }));
    const err = (() => {
      try {
        loadStorageConfig(bare, {});
      } catch (e) {
        return e as HmsError;
      }
    })();
    expect(err).to.have.property("code", "CONFIG_INVALID");
    expect(err!.message)
      .to.match(/contracts: give contracts or a deployment file/)
      .and.match(/period/);
  });

  it("takes the key from a file or the environment, and never shows it", function () {
    const dir = tempDir("storage-key");
    expect(() => resolveNodeKey({}))
      .to.throw(HmsError)
      .with.property("code", "STORAGE_NO_KEY");
    const keyFile = path.join(dir, "k");
    fs.writeFileSync(keyFile, `  ${KEY}\n`);
    expect(resolveNodeKey({ privateKeyFile: keyFile }).privateKey).to.equal(KEY);
    fs.writeFileSync(keyFile, `${KEY.slice(0, 40)}`);
    try {
      resolveNodeKey({ privateKeyFile: keyFile });
      expect.fail("malformed key file accepted");
    } catch (e) {
      expect(e).to.have.property("code", "SECRET_FILE");
      expect(JSON.stringify((e as HmsError).toJSON())).to.not.include(KEY.slice(2, 40));
    }
    try {
      loadStorageConfig(writeConfig(dir), { HMS_STORAGE_PRIVATE_KEY: `${KEY}00` });
      expect.fail("an over-long key accepted");
    } catch (e) {
      expect(e).to.have.property("code", "CONFIG_INVALID");
      expect((e as HmsError).value).to.equal("<redacted>");
      expect(JSON.stringify((e as HmsError).toJSON())).to.not.include(KEY.slice(2, 40));
    }
  });

  it("a keystore key file needs its password file; a wrong password is SECRET_FILE, and neither key nor password is shown", function () {
    const dir = tempDir("storage-keystore");
    const ks = saveKey(path.join(dir, "keystore"), "node", KEY, "s3cret pass", { light: true });
    const pw = path.join(dir, "pw");
    fs.writeFileSync(pw, "s3cret pass\n");
    expect(resolveNodeKey({ privateKeyFile: ks.file, privateKeyPasswordFile: pw }).privateKey).to.equal(KEY);
    const refused = (config: Parameters<typeof resolveNodeKey>[0], message: RegExp) => {
      try {
        resolveNodeKey(config);
        expect.fail("accepted");
      } catch (e) {
        expect(e).to.have.property("code", "SECRET_FILE");
        expect((e as Error).message).to.match(message);
        const json = JSON.stringify((e as HmsError).toJSON());
        expect(json).to.not.include(KEY.slice(2, 40)).and.not.include("s3cret");
      }
    };
    refused({ privateKeyFile: ks.file }, /is an encrypted keystore: set privateKeyPasswordFile/);
    fs.writeFileSync(pw, "wrong pass");
    refused({ privateKeyFile: ks.file, privateKeyPasswordFile: pw }, /cannot decrypt keystore .*wrong password/);
    refused({ privateKeyFile: ks.file, privateKeyPasswordFile: path.join(dir, "absent") }, /cannot read password file/);
    // The validator's resolver is the same one, with its own codes.
    try {
      resolveKey({ privateKeyFile: ks.file, privateKeyPasswordFile: pw });
      expect.fail("accepted");
    } catch (e) {
      expect(e).to.be.instanceOf(ValidatorError);
      expect(e).to.have.property("code", "VALIDATOR_KEY_FILE");
    }
    fs.writeFileSync(pw, "s3cret pass");
    expect(resolveKey({ privateKeyFile: ks.file, privateKeyPasswordFile: pw }).privateKey).to.equal(KEY);
  });

  it("runs as `hms storage`: exit 2 without a key; with one, /health and /metrics, no key in its logs, SIGTERM stops it cleanly", async function () {
    const dir = tempDir("storage-cli");
    const port = await freePort();
    const file = writeConfig(dir, { listen: { host: "127.0.0.1", port } });
    const keyless = new HmsProcess("storage-keyless", ["storage", "-c", file]);
    const exit = await keyless.exited;
    expect(exit.code).to.equal(2);
    expect(keyless.stderr.join("")).to.match(/STORAGE_NO_KEY/);

    const p = new HmsProcess("storage", ["storage", "-c", file], { HMS_STORAGE_PRIVATE_KEY: KEY });
    try {
      await p.waitForLog((l) => l.msg === "storage worker listening", 90_000);
      const url = `http://127.0.0.1:${port}`;
      const bytes = randomBytes(50_000);
      expect((await putRaw(url, sliceCid(bytes).toString(), bytes)).status).to.equal(201);
      const h = await health(url);
      expect(h).to.include({ ok: true, role: "storage", nodeId: demoNodeId(60), slices: 1, bytes: 50_000 });
      expect(h.free).to.equal((1 << 30) - 50_000);
      const metrics = await (await request(`${url}/metrics`)).body.text();
      expect(metrics)
        .to.match(/hms_storage_write_bytes_total 50000/)
        .and.match(/hms_storage_writes_total\{outcome="ok"\} 1/);
      p.kill("SIGTERM");
      expect((await p.exited).code).to.equal(0);
      await waitFor(() => p.lines.some((l) => l.msg === "storage worker stopped"), 10_000, "stopped log");
      const everything = p.stdout + p.stderr.join("");
      expect(everything).to.not.include(KEY.slice(2));
      // Restarted from an encrypted keystore file (`hms keys`' format) and its password file: the same node.
      const ks = saveKey(path.join(dir, "keystore"), "storage", KEY, "correct horse", { light: true });
      const pw = path.join(dir, "password");
      fs.writeFileSync(pw, "correct horse\n", { mode: 0o600 });
      const again = new HmsProcess("storage-again", ["storage", "-c", file], {
        HMS_STORAGE_PRIVATE_KEY_FILE: ks.file,
        HMS_STORAGE_PRIVATE_KEY_PASSWORD_FILE: pw,
      });
      try {
        await again.waitForLog((l) => l.msg === "storage worker listening", 90_000);
        expect((await getRaw(url, `/v1/slices/${sliceCid(bytes)}`)).body.equals(bytes)).to.equal(true);
        expect((await health(url)).address).to.equal(resolveNodeKey({ privateKey: KEY }).address);
      } finally {
        await again.stop();
      }
      expect(again.stdout + again.stderr.join("")).to.not.include("correct horse");
    } finally {
      await p.stop();
    }
  });
});
