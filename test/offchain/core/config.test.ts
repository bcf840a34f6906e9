import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { ConfigError } from "../../../offchain/core/errors";
import {
  envKey,
  envVariables,
  loadConfig,
  pbftParamsSchema,
  pbftReplicaConfigSchema,
} from "../../../offchain/core/config";
import { DEFAULT_PBFT_PARAMS } from "../../../offchain/consensus/pbft/types";

describe("core/config", function () {
  let dir: string;
  const key = generatePrivateKey();
  const self = privateKeyToAddress(key);
  const other = privateKeyToAddress(generatePrivateKey());
  const base = {
    privateKey: key,
    configId: 7,
    chainId: 31337,
    stakingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    replicas: [
      { address: self, url: "http://127.0.0.1:9001" },
      { address: other, url: "http://127.0.0.1:9002" },
    ],
    dataDir: "/tmp/x",
  };

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-config-"));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  function configError(fn: () => unknown): ConfigError {
    try {
      fn();
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error("expected a ConfigError");
  }

  it("maps camelCase keys to UPPER_SNAKE variables with __ between levels", function () {
    expect(envKey("viewChangeTimeoutMs")).to.equal("VIEW_CHANGE_TIMEOUT_MS");
    expect(envKey("chainId")).to.equal("CHAIN_ID");
    const names = envVariables(pbftReplicaConfigSchema, "HMS_PBFT_").map((v) => v.name);
    expect(names).to.include.members([
      "HMS_PBFT_LISTEN__PORT",
      "HMS_PBFT_PBFT__VIEW_CHANGE_TIMEOUT_MS",
      "HMS_PBFT_PRIVATE_KEY",
    ]);
  });

  it("loads YAML with defaults, and environment variables override the file", function () {
    const file = write(
      "replica.yaml",
      `# a replica\n${Object.entries(base)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join("\n")}\nlisten:\n  port: 9001\n`,
    );
    const cfg = loadConfig(pbftReplicaConfigSchema, {
      file,
      envPrefix: "HMS_PBFT_",
      env: {
        HMS_PBFT_LISTEN__PORT: "9100",
        HMS_PBFT_PBFT__CHECKPOINT_INTERVAL: "5",
        HMS_PBFT_PBFT__WATERMARK_WINDOW: "20",
        PATH: "/bin",
      },
    });
    expect(cfg.listen).to.deep.equal({ host: "127.0.0.1", port: 9100 });
    expect(cfg.configId).to.equal(7n);
    expect(cfg.pbft.checkpointInterval).to.equal(5);
    expect(cfg.pbft.viewChangeTimeoutMs).to.equal(4000);
    expect(cfg.log.level).to.equal("info");
    expect(cfg.transport.maxBodyBytes).to.equal(64 * 1024 * 1024);
    expect(cfg.role).to.equal("pbft-replica");
  });

  it("loads JSON and takes structured values (arrays) from variables as JSON", function () {
    const file = write("replica.json", JSON.stringify({ ...base, replicas: undefined }));
    const cfg = loadConfig(pbftReplicaConfigSchema, {
      file,
      envPrefix: "HMS_PBFT_",
      env: { HMS_PBFT_REPLICAS: JSON.stringify(base.replicas), HMS_PBFT_CONFIG_ID: "18446744073709551615" },
    });
    expect(cfg.replicas.map((r) => r.address)).to.deep.equal([self, other]);
    expect(cfg.configId).to.equal(18446744073709551615n);
  });

  it("names the bad key, value and source of a schema violation", function () {
    const file = write(
      "bad-port.yaml",
      `${Object.entries(base)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join("\n")}\n`,
    );
    const err = configError(() =>
      loadConfig(pbftReplicaConfigSchema, { file, envPrefix: "HMS_PBFT_", env: { HMS_PBFT_LISTEN__PORT: "70000" } }),
    );
    expect(err.code).to.equal("CONFIG_INVALID");
    expect(err.key).to.equal("listen.port");
    expect(err.value).to.equal(70000);
    expect(err.details.source).to.equal("HMS_PBFT_LISTEN__PORT");
    expect(err.message).to.contain("listen.port");
  });

  it("reports unknown keys in a file (typos) and unknown variables", function () {
    const file = write(
      "typo.yaml",
      `${Object.entries(base)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join("\n")}\ncheckpointIntervall: 3\n`,
    );
    const err = configError(() => loadConfig(pbftReplicaConfigSchema, { file, envPrefix: "HMS_PBFT_", env: {} }));
    expect(err.code).to.equal("CONFIG_INVALID");
    expect(err.key).to.equal("checkpointIntervall");
    expect(err.value).to.equal(3);
    const envErr = configError(() =>
      loadConfig(pbftReplicaConfigSchema, { file, envPrefix: "HMS_PBFT_", env: { HMS_PBFT_LISTEN_PORT: "1" } }),
    );
    expect(envErr.code).to.equal("CONFIG_ENV");
    expect(envErr.key).to.equal("HMS_PBFT_LISTEN_PORT");
    expect(envErr.value).to.equal("1");
  });

  it("rejects non-JSON values for non-string keys, unreadable and malformed files", function () {
    const file = write("ok.json", JSON.stringify(base));
    const err = configError(() =>
      loadConfig(pbftReplicaConfigSchema, { file, envPrefix: "HMS_PBFT_", env: { HMS_PBFT_CHAIN_ID: "one" } }),
    );
    expect(err.code).to.equal("CONFIG_ENV");
    expect(err.value).to.equal("one");
    const missing = configError(() =>
      loadConfig(pbftReplicaConfigSchema, { file: path.join(dir, "nope.yaml"), envPrefix: "X_", env: {} }),
    );
    expect(missing.code).to.equal("CONFIG_FILE");
    expect(missing.value).to.equal(path.join(dir, "nope.yaml"));
    const broken = write("broken.json", "{ nope");
    expect(
      configError(() => loadConfig(pbftReplicaConfigSchema, { file: broken, envPrefix: "X_", env: {} })).code,
    ).to.equal("CONFIG_FILE");
    const list = write("list.yaml", "- 1\n- 2\n");
    expect(
      configError(() => loadConfig(pbftReplicaConfigSchema, { file: list, envPrefix: "X_", env: {} })).code,
    ).to.equal("CONFIG_FILE");
  });

  it("checks cross-field rules: own key among replicas, unique replicas, watermark multiple of k", function () {
    const stranger = generatePrivateKey();
    const notMember = configError(() =>
      loadConfig(pbftReplicaConfigSchema, { envPrefix: "X_", env: {}, overrides: { ...base, privateKey: stranger } }),
    );
    expect(notMember.key).to.equal("privateKey");
    expect(notMember.value).to.equal("<redacted>");
    expect(notMember.message).to.not.contain(stranger.slice(2));
    const dup = configError(() =>
      loadConfig(pbftReplicaConfigSchema, {
        envPrefix: "X_",
        env: {},
        overrides: { ...base, replicas: [base.replicas[0], base.replicas[0]] },
      }),
    );
    expect(dup.key).to.equal("replicas.1.address");
    const window = configError(() =>
      loadConfig(pbftReplicaConfigSchema, {
        envPrefix: "X_",
        env: {},
        overrides: { ...base, pbft: { checkpointInterval: 4, watermarkWindow: 10 } },
      }),
    );
    expect(window.key).to.equal("pbft.watermarkWindow");
    expect(window.value).to.equal(10);
  });

  it("PBFT parameter defaults equal the replica's DEFAULT_PBFT_PARAMS", function () {
    expect(pbftParamsSchema.parse({})).to.deep.equal(DEFAULT_PBFT_PARAMS);
  });

  it("works with any role schema (generic loadConfig)", function () {
    const schema = z.strictObject({
      name: z.string(),
      workers: z.number().int().default(2),
      tags: z.array(z.string()).default([]),
    });
    const cfg = loadConfig(schema, {
      envPrefix: "HMS_META_",
      env: { HMS_META_NAME: "123", HMS_META_TAGS: '["a","b"]' },
    });
    // A string key takes the variable verbatim, even when it looks like a number.
    expect(cfg).to.deep.equal({ name: "123", workers: 2, tags: ["a", "b"] });
  });
});
