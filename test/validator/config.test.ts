import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { ConfigError, HmsError, StoreError } from "../../offchain/core/errors";
import { envVariables } from "../../offchain/core/config";
import {
  VALIDATOR_ENV_PREFIX,
  loadValidatorConfig,
  resolveKey,
  validatorConfigSchema,
} from "../../offchain/validator/config";
import { EXIT_CODES, ValidatorError, exitCodeOf } from "../../offchain/validator/errors";
import { SlashingProtectionError } from "../../offchain/validator/signing-record";

describe("validator/config and exit codes", function () {
  let dir: string;
  const key = generatePrivateKey();
  const minimal = {
    HMS_VALIDATOR_RPC_URL: "http://127.0.0.1:8545",
    HMS_VALIDATOR_DEPLOYMENT: "deployments/localhost.json",
    HMS_VALIDATOR_DATA_DIR: "/tmp/v",
    HMS_VALIDATOR_TRAFFIC_SOURCE__URL: "http://127.0.0.1:7300",
  };
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-validator-config-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads every setting from HMS_VALIDATOR_* variables, with defaults", function () {
    const peer = privateKeyToAddress(generatePrivateKey());
    const c = loadValidatorConfig(undefined, {
      ...minimal,
      HMS_VALIDATOR_PRIVATE_KEY: key,
      HMS_VALIDATOR_PEERS: JSON.stringify({ [peer]: "http://127.0.0.1:7401" }),
      HMS_VALIDATOR_TRANSMIT__STAGGER_MS: "250",
      HMS_VALIDATOR_PBFT__VIEW_CHANGE_TIMEOUT_MS: "1500",
      HMS_VALIDATOR_TOP_N: "7",
    });
    expect(c.privateKey).to.equal(key);
    expect(c.peers).to.deep.equal({ [peer]: "http://127.0.0.1:7401" });
    expect(c.transmit).to.deep.include({ staggerMs: 250, signatureWaitMs: 1_000 });
    expect(c.pbft.viewChangeTimeoutMs).to.equal(1_500);
    expect(c.topN).to.equal(7);
    expect(c.listen).to.deep.equal({ host: "127.0.0.1", port: 0 });
    expect(c.elect).to.equal(true);
    const names = envVariables(validatorConfigSchema, VALIDATOR_ENV_PREFIX).map((v) => v.name);
    expect(names).to.include.members([
      "HMS_VALIDATOR_PRIVATE_KEY_FILE",
      "HMS_VALIDATOR_RPC__RETRIES",
      "HMS_VALIDATOR_POLL__INTERVAL_MS",
      "HMS_VALIDATOR_TRAFFIC_SOURCE__URL",
    ]);
  });

  it("names the bad setting (keys redacted) and refuses both a key and a key file", function () {
    const err = (env: Record<string, string>) => {
      try {
        loadValidatorConfig(undefined, env);
      } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        return e as ConfigError;
      }
      throw new Error("expected a ConfigError");
    };
    const badKey = err({ ...minimal, HMS_VALIDATOR_PRIVATE_KEY: "0x1234" });
    expect(badKey.key).to.equal("privateKey");
    expect(badKey.value).to.equal("<redacted>");
    expect(err({ ...minimal, HMS_VALIDATOR_PRIVATE_KEY: key, HMS_VALIDATOR_PRIVATE_KEY_FILE: "/k" }).message).to.match(
      /not both/,
    );
    expect(err({ ...minimal, HMS_VALIDATOR_RPC_URL: "ftp://x" }).key).to.equal("rpcUrl");
    expect(err({ ...minimal, HMS_VALIDATOR_TOPN: "1" }).code).to.equal("CONFIG_ENV");
    expect(exitCodeOf(badKey)).to.equal(EXIT_CODES.config);
  });

  it("takes its traffic from one feed (url) or the meta layer (metaUrls), exactly one of them", function () {
    const { HMS_VALIDATOR_TRAFFIC_SOURCE__URL: _url, ...rest } = minimal;
    void _url;
    const withSource = (trafficSource: unknown) => loadValidatorConfig(undefined, rest, { trafficSource });
    expect(withSource({ url: "http://127.0.0.1:7300" }).trafficSource).to.deep.equal({
      url: "http://127.0.0.1:7300",
      timeoutMs: 10_000,
    });
    const metaUrls = ["http://127.0.0.1:7601", "http://127.0.0.1:7602", "http://127.0.0.1:7603"];
    expect(withSource({ metaUrls }).trafficSource).to.deep.equal({ metaUrls, timeoutMs: 10_000 });
    expect(
      loadValidatorConfig(undefined, { ...rest, HMS_VALIDATOR_TRAFFIC_SOURCE__META_URLS: JSON.stringify(metaUrls) })
        .trafficSource.metaUrls,
    ).to.deep.equal(metaUrls);
    const refused = (trafficSource: unknown): ConfigError => {
      try {
        withSource(trafficSource);
      } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        return e as ConfigError;
      }
      throw new Error("expected a ConfigError");
    };
    expect(refused({ metaUrls: [] }).message).to.match(/at least one meta node/);
    expect(refused({ url: "http://127.0.0.1:7300", metaUrls }).message).to.match(/not both/);
    expect(refused({}).message).to.match(/give url .* or metaUrls/);
    expect(refused({ metaUrls: [metaUrls[0], metaUrls[0]] }).message).to.match(/twice/);
    expect(refused({ metaUrls: ["ftp://x"] }).key).to.match(/^trafficSource\.metaUrls/);
  });

  it("loads the key from a file; a missing key or a bad file is a typed error with exit code 2", function () {
    const file = path.join(dir, "validator.key");
    fs.writeFileSync(file, `  ${key}\n`);
    expect(resolveKey({ privateKeyFile: file })).to.deep.equal({ privateKey: key, address: privateKeyToAddress(key) });
    const cases: Array<[Parameters<typeof resolveKey>[0], string]> = [
      [{}, "VALIDATOR_NO_KEY"],
      [{ privateKeyFile: path.join(dir, "absent.key") }, "VALIDATOR_KEY_FILE"],
    ];
    fs.writeFileSync(path.join(dir, "bad.key"), "not a key");
    cases.push([{ privateKeyFile: path.join(dir, "bad.key") }, "VALIDATOR_KEY_FILE"]);
    for (const [c, code] of cases) {
      let e: unknown;
      try {
        resolveKey(c);
      } catch (x) {
        e = x;
      }
      expect(e).to.be.instanceOf(ValidatorError);
      expect((e as ValidatorError).code).to.equal(code);
      expect(exitCodeOf(e)).to.equal(2);
    }
  });

  it("maps every failure to its documented exit code", function () {
    expect(exitCodeOf(new ValidatorError("VALIDATOR_WRONG_CHAIN", "x", { value: 1 }))).to.equal(3);
    expect(exitCodeOf(new ValidatorError("VALIDATOR_UNREGISTERED", "x"))).to.equal(4);
    expect(exitCodeOf(new ValidatorError("VALIDATOR_RPC_UNREACHABLE", "x"))).to.equal(5);
    expect(exitCodeOf(new SlashingProtectionError("x", {}, {}))).to.equal(6);
    expect(exitCodeOf(new HmsError("CHAIN_DEPLOYMENT", "x"))).to.equal(2);
    expect(exitCodeOf(new StoreError("STORE_OPEN", "locked"))).to.equal(2);
    expect(exitCodeOf(new Error("SOMETHING"))).to.equal(1);
    expect(exitCodeOf(new Error("boom"))).to.equal(1);
    expect(exitCodeOf("string")).to.equal(1);
  });
});
