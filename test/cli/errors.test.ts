/**
 * `hms` as a user runs it, failing: every failure goes through one path (offchain/cli/run.ts) — printed once on
 * stderr as `hms <command>: CODE: message (exit N)` (plus one `fatal` JSON log line), with the exit code the
 * registry documents (docs/ERRORS.md) — and a private key never reaches stdout or stderr, whatever setting it
 * is fed to (C.2: a key file passed to `-c` by mistake, with or without 0x, a key in an env variable, a key as
 * a setting's value or as a deployment file). Real `bin/hms.js` processes.
 */
import { expect } from "chai";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pino from "pino";
import { ERROR_CODES, EXIT_CODES } from "../../offchain/core/error-codes";
import { loadDeployment } from "../../offchain/chain/deployment";
import { printFailure } from "../../offchain/cli/run";
import { loadStorageConfig, resolveNodeKey } from "../../offchain/storage/config";
import { loadTrafficSourceConfig } from "../../offchain/testing/traffic/service";
import { loadValidatorConfig, resolveKey } from "../../offchain/validator/config";
import { freePort, runHms } from "../../offchain/devnet/cluster";

type Run = { code: number | null; stdout: string; stderr: string };

/** Every 12-character window of the key's hex, and the leading digits of the key read as a number. */
function leaks(output: string, keyHex: string): string[] {
  const found: string[] = [];
  const text = output.toLowerCase();
  for (let i = 0; i + 12 <= keyHex.length; i++)
    if (text.includes(keyHex.slice(i, i + 12))) found.push(keyHex.slice(i, i + 12));
  const decimal = BigInt(`0x${keyHex}`).toString();
  if (text.includes(decimal.slice(0, 12))) found.push(`decimal ${decimal.slice(0, 12)}`);
  const float = Number(BigInt(`0x${keyHex}`))
    .toPrecision(12)
    .replace(/e.*$/, "")
    .replace(".", "");
  if (text.replace(/\./g, "").includes(float.slice(0, 12))) found.push(`float ${float}`);
  return found;
}

/** The failure was printed once: one stderr line with the code, at most one fatal JSON line naming it. */
function printedOnce(r: Run, code: string): void {
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.include(`: ${code}: `);
  const fatal = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { level: number; error?: { code?: string } });
  expect(fatal.filter((l) => l.level === 60).length, r.stdout).to.be.at.most(1);
  expect(
    fatal.filter((l) => l.level !== 60 && JSON.stringify(l).includes(code)),
    r.stdout,
  ).to.deep.equal([]);
}

describe("hms: one error path, registry exit codes, no secret in any output", function () {
  this.timeout(600_000);
  let dir: string;
  const keyHex = randomBytes(32).toString("hex");
  const key = `0x${keyHex}`;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-cli-"));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  /** What the CLI prints for a failure (cli/run.ts), captured in-process: stderr line and fatal JSON line. */
  function printed(err: unknown, command: string): string {
    const chunks: string[] = [];
    const logger = pino({ level: "info" }, { write: (s: string) => void chunks.push(s) });
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => (chunks.push(String(s)), true)) as typeof process.stderr.write;
    try {
      printFailure(err, command, { logger, jsonLog: true });
    } finally {
      process.stderr.write = write;
    }
    return chunks.join("");
  }

  function failure(fn: () => unknown): unknown {
    try {
      fn();
    } catch (err) {
      return err;
    }
    throw new Error("expected a failure");
  }

  it("never prints a private key, whatever setting or file it is fed to (every loader, in-process)", function () {
    const keyFile = file("key.txt", `${key}\n`);
    const bareKeyFile = file("bare.key", `${keyHex}\n`);
    const keyJson = file("key.json", key);
    const bareJson = file("bare.json", keyHex);
    const valid = (extra: Record<string, unknown>) =>
      file(
        `cfg-${Math.random().toString(36).slice(2)}.json`,
        JSON.stringify({
          rpcUrl: "http://127.0.0.1:9",
          deployment: path.join(dir, "none.json"),
          dataDir: path.join(dir, "data"),
          trafficSource: { url: "http://127.0.0.1:9" },
          ...extra,
        }),
      );
    const yamlHexTopN = file("hex-topn.yaml", `topN: ${key}\nrpcUrl: http://127.0.0.1:9\n`);
    const loaders = {
      validator: (f?: string, env: Record<string, string> = {}) => loadValidatorConfig(f, env),
      "traffic-source": (f?: string, env: Record<string, string> = {}) => loadTrafficSourceConfig(f, env),
      storage: (f?: string, env: Record<string, string> = {}) => loadStorageConfig(f, env),
    };
    const cases: Array<{ name: string; command: string; run: () => unknown }> = [];
    for (const [command, load] of Object.entries(loaders))
      for (const f of [keyFile, bareKeyFile, keyJson, bareJson, yamlHexTopN])
        cases.push({ name: `${command} -c ${path.basename(f)}`, command, run: () => load(f) });
    const prefix = { validator: "HMS_VALIDATOR_", "traffic-source": "HMS_TRAFFIC_", storage: "HMS_STORAGE_" };
    for (const [command, load] of Object.entries(loaders))
      for (const variable of ["PRIVATE_KEY", "PEERS", "RPC_URL", "DATA_DIR", "LISTEN__PORT", "NODES", "SECRET"])
        for (const value of [key, keyHex])
          cases.push({
            name: `${command} ${variable}=<key${value === key ? "" : " without 0x"}>`,
            command,
            run: () => load(undefined, { [`${prefix[command as keyof typeof prefix]}${variable}`]: value }),
          });
    cases.push(
      { name: "rpcUrl: <key> (file)", command: "validator", run: () => loadValidatorConfig(valid({ rpcUrl: key })) },
      { name: "peers: <key> (file)", command: "validator", run: () => loadValidatorConfig(valid({ peers: key })) },
      {
        name: "privateKey without 0x (file)",
        command: "validator",
        run: () => loadValidatorConfig(valid({ privateKey: keyHex })),
      },
      {
        name: "privateKeyFile holding a bare key",
        command: "validator",
        run: () => resolveKey(loadValidatorConfig(valid({ privateKeyFile: bareKeyFile }))),
      },
      {
        name: "storage privateKeyFile holding a bare key",
        command: "storage",
        run: () => resolveNodeKey({ privateKeyFile: bareKeyFile }),
      },
      { name: "deployment: <key .json>", command: "validator", run: () => loadDeployment(keyJson) },
      { name: "deployment: <bare key .json>", command: "validator", run: () => loadDeployment(bareJson) },
      { name: "deployment: <key file>", command: "validator", run: () => loadDeployment(path.join(dir, "key.json")) },
    );
    const leaked = cases
      .map((c) => {
        const out = printed(failure(c.run), c.command);
        return { name: c.name, leaks: leaks(out, keyHex), out };
      })
      .filter((x) => x.leaks.length > 0);
    expect(cases.length).to.be.at.least(60);
    expect(leaked).to.deep.equal([]);
  });

  it("never prints a private key: real processes fed a key file as -c, with and without 0x, or a key variable", async function () {
    const keyFile = file("p-key.txt", `${key}\n`);
    const bareKeyFile = file("p-bare.key", `${keyHex}\n`);
    const cases: Array<{ args: string[]; env?: Record<string, string> }> = [
      { args: ["validator", "-c", keyFile] },
      { args: ["storage", "-c", bareKeyFile] },
      { args: ["traffic-source", "-c", bareKeyFile] },
      { args: ["validator"], env: { HMS_VALIDATOR_PEERS: keyHex } },
    ];
    const results = await Promise.all(cases.map((c) => runHms(c.args, c.env ?? {})));
    for (const [i, r] of results.entries()) {
      expect(r.code, `${cases[i].args.join(" ")}: ${r.stderr}`).to.equal(EXIT_CODES.config);
      printedOnce(r, r.stderr.split(": ")[1]);
      expect(leaks(r.stdout + r.stderr, keyHex), cases[i].args.join(" ")).to.deep.equal([]);
    }
  });

  it("a bad --log-level is a usage error (exit 2), printed once", async function () {
    const r = await runHms(["validator", "--log-level", "loud"]);
    expect(r.code).to.equal(EXIT_CODES.config);
    printedOnce(r, "CONFIG_USAGE");
    expect(r.stderr).to.include('"loud"').and.include("fatal, error, warn, info, debug, trace, silent");
  });

  it("an unknown option exits 2 with commander's message once; --help exits 0", async function () {
    const [bad, help] = await Promise.all([runHms(["validator", "--bogus"]), runHms(["--help"])]);
    expect(bad.code).to.equal(EXIT_CODES.config);
    expect(bad.stderr.trim().split("\n")).to.deep.equal(["error: unknown option '--bogus'"]);
    expect(help.code).to.equal(0);
    for (const command of ["validator", "traffic-source", "storage"]) expect(help.stdout).to.include(command);
  });

  it("a missing import file is named (CONFIG_USAGE, exit 2) before the data directory is touched", async function () {
    const missing = path.join(dir, "no-such-record.json");
    const r = await runHms(["validator", "import-protection", "-f", missing, "-c", path.join(dir, "absent.yaml")]);
    expect(r.code).to.equal(ERROR_CODES.CONFIG_USAGE.exit === "config" ? EXIT_CODES.config : -1);
    printedOnce(r, "CONFIG_USAGE");
    expect(r.stderr).to.include(`cannot read import file ${missing}`);
  });

  it("a port in use is TRANSPORT_LISTEN (exit 2) naming the address", async function () {
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    try {
      const cfg = file(
        "traffic-busy.json",
        JSON.stringify({
          chainId: 31337,
          pool: "0x00000000000000000000000000000000000000b2",
          listen: { host: "127.0.0.1", port },
          nodes: [{ nodeId: `0x${"11".repeat(32)}`, privateKey: `0x${"22".repeat(32)}` }],
          log: { level: "info", pretty: false },
        }),
      );
      const r = await runHms(["traffic-source", "-c", cfg]);
      expect(r.code).to.equal(EXIT_CODES.config);
      printedOnce(r, "TRANSPORT_LISTEN");
      expect(r.stderr).to.include(`cannot listen on 127.0.0.1:${port}: the port is in use`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
