/**
 * `hms init` on a fresh deployment (in-process chain): keys in the keystore and 0600 key files, nothing secret
 * printed, bookkeepers registered and elected, nodes registered with their keys, and configs that the daemons'
 * schemas accept; refused on a chain already initialised and on a non-local chain.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { EXIT_CODES } from "../../offchain/core/errors";
import { loadValidatorConfig, resolveKey } from "../../offchain/validator/config";
import { loadStorageConfig } from "../../offchain/storage/config";
import { loadMetaConfig } from "../../offchain/meta/config";
import { loadComputeConfig } from "../../offchain/compute/config";
import { loadDashboardConfig } from "../../offchain/dashboard/config";
import type { InitSummary } from "../../offchain/cli/commands/init";
import { cliSystem, json } from "./helpers";

describe("hms init (in-process)", function () {
  it("creates keys, funds, registers and elects, and writes configs the daemons accept", async () => {
    const sys = await loadFixture(cliSystem);
    // The fixture's HOME (and so its keystore) is shared with the other CLI tests, which import and create keys
    // of their own; init gets a home of its own so that the keystore holds exactly what init created.
    const home = fs.mkdtempSync(path.join(sys.dir, "home-"));
    const hms = (argv: string[]) => sys.hms(argv, { HOME: home });
    const pw = path.join(sys.dir, "pw");
    fs.writeFileSync(pw, "local devnet\n");
    const dir = path.join(sys.dir, "net");
    const args = ["init", "--dir", dir, "--password-file", pw, "--light-kdf", "--yes", "--json"];
    const run = await hms(args);
    expect(run.exitCode, run.stderr).to.equal(0);
    const s = json<InitSummary>(run);
    expect(s.bookkeepers).to.have.length(4);
    expect(s.nodes.map((x) => x.kind)).to.deep.equal(["storage", "storage", "compute", "meta"]);
    expect(s.transactions).to.be.greaterThan(20);

    // No private key is printed; key files are 0600.
    for (const b of [...s.bookkeepers, ...s.nodes]) {
      const key = fs.readFileSync(b.keyFile, "utf8").trim();
      expect(run.stdout + run.stderr).to.not.contain(key.slice(2));
      expect((fs.statSync(b.keyFile).mode & 0o777).toString(8)).to.equal("600");
    }
    const keys = json<{ keys: { name: string; address: string }[] }>(await hms(["keys", "list", "--json"]));
    expect(keys.keys.map((k) => k.address).sort()).to.deep.equal(
      [...s.bookkeepers.map((b) => b.account), ...s.nodes.map((x) => x.operator)].sort(),
    );

    // The committee is elected with the signing keys the validator configs use.
    const status = json<{ committee: { bookkeepers: string[]; signingKeys: string[] } }>(
      await hms(["status", "--json"]),
    );
    expect([...status.committee.bookkeepers].sort()).to.deep.equal(s.bookkeepers.map((b) => b.account).sort());
    for (const b of s.bookkeepers) {
      const cfg = loadValidatorConfig(b.config, {});
      expect(resolveKey(cfg).address).to.equal(b.signingKey);
      expect(status.committee.signingKeys).to.include(b.signingKey);
      expect(Object.keys(cfg.peers)).to.have.length(4);
    }
    for (const node of s.nodes.filter((x) => x.kind === "storage")) {
      const cfg = loadStorageConfig(node.config, {});
      expect(cfg.nodeId).to.equal(node.nodeId);
      const shown = json<{ signingKey: string; kind: number }>(await hms(["node", "show", node.nodeId, "--json"]));
      expect(shown.signingKey).to.equal(node.signingKey);
      expect(shown.kind).to.equal(0);
    }
    // The meta and compute configs are what their daemons' schemas accept.
    const meta = loadMetaConfig(path.join(dir, "meta.yaml"), {});
    expect(meta.peers.map((p) => p.address)).to.deep.equal([s.nodes[3].signingKey]);
    expect(meta.nodes.map((x) => x.nodeId)).to.deep.equal([s.nodes[0].nodeId, s.nodes[1].nodeId]);
    const compute = loadComputeConfig(path.join(dir, "compute.yaml"), {});
    expect(compute.nodeId).to.equal(s.nodes[2].nodeId);
    // compute supervision: the worker heartbeats to every meta node; the meta node verifies them on the chain
    expect(compute.metaUrls).to.deep.equal([s.nodes[3].url]);
    expect(meta.compute?.rpcUrl).to.be.a("string");
    expect(meta.compute?.oracleKeyFile, "no --oracle-key-file: observe only").to.equal(undefined);
    // The dashboard watches every daemon init configured, and lists the files of Hardhat's first accounts.
    const dash = loadDashboardConfig(s.dashboard.config, {});
    expect(dash.validators).to.deep.equal(s.bookkeepers.map((b) => b.url));
    expect(dash.storage).to.deep.equal(s.nodes.filter((x) => x.kind === "storage").map((x) => x.url));
    expect(dash.compute).to.deep.equal([s.nodes[2].url]);
    expect(dash.meta).to.deep.equal([s.nodes[3].url]);
    expect(dash.listen.port).to.equal(8090);
    expect(dash.owners).to.have.length(10);
    const bk = json<{ margin: string; status: number }>(
      await hms(["bookkeeper", "show", s.bookkeepers[0].account, "--json"]),
    );
    expect([bk.status, bk.margin]).to.deep.equal([1, (20_000n * 10n ** 18n).toString()]);

    // Once is enough: a second run is refused (exit 2, CLI_INIT).
    const again = await hms(args);
    expect(again.exitCode).to.equal(EXIT_CODES.config);
    expect(again.stdout).to.contain("CLI_INIT");
  });

  it("refuses a chain other than Hardhat's local one", async () => {
    const sys = await loadFixture(cliSystem);
    const other = path.join(sys.dir, "mainnet.json");
    fs.writeFileSync(other, JSON.stringify({ ...sys.deployment, chainId: 1 }));
    const run = await sys.hms(["init", "--deployment", other, "--yes", "--dir", path.join(sys.dir, "x")]);
    expect(run.exitCode).to.equal(EXIT_CODES.config);
    expect(run.stderr).to.contain("CLI_INIT");
  });
});
