/**
 * subgraph/networks.json: addresses and start blocks come from deployments/<network>.json; without a localhost
 * deployment file they are derived by replaying `npm run deploy:local` on the in-process chain, which must give
 * exactly what a fresh `hardhat node` gets.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { reset } from "@nomicfoundation/hardhat-network-helpers";
import { loadDeployment, writeDeployment } from "../../offchain/chain";
import {
  buildNetworks,
  dataSourceNames,
  deployLikeDeployLocal,
  networkEntry,
  readManifest,
} from "../../tools/subgraph/project";
import { systemFixture } from "../helpers/fixtures";

describe("subgraph: networks.json", () => {
  const saved = process.env.HMS_DEPLOYMENTS_DIR;
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-subgraph-networks-"));
    process.env.HMS_DEPLOYMENTS_DIR = dir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.HMS_DEPLOYMENTS_DIR;
    else process.env.HMS_DEPLOYMENTS_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("takes every data source's address and block from deployments/<network>.json, skips `hardhat`, keeps others", async () => {
    const { deployment } = await systemFixture();
    writeDeployment(path.join(dir, "localhost.json"), { ...deployment, network: "localhost" });
    writeDeployment(path.join(dir, "staging.json"), { ...deployment, network: "staging" });
    writeDeployment(path.join(dir, "hardhat.json"), { ...deployment, network: "hardhat" });
    const kept = { mainnet: { HMSToken: { address: "0x" + "11".repeat(20), startBlock: 7 } } };
    const { networks, origins } = await buildNetworks(hre, kept);
    expect(Object.keys(networks)).to.deep.equal(["localhost", "mainnet", "staging"]);
    expect(networks.mainnet).to.deep.equal(kept.mainnet);
    expect(origins.localhost).to.equal(path.join(dir, "localhost.json"));
    const names = dataSourceNames(readManifest(hre));
    expect(Object.keys(networks.localhost)).to.deep.equal(names);
    for (const name of names) {
      expect(networks.localhost[name]).to.deep.equal({
        address: deployment.contracts[name].address,
        startBlock: deployment.contracts[name].blockNumber,
      });
    }
    // The council is created by the staking constructor: same block.
    expect(networks.localhost.BookkeeperCouncil.startBlock).to.equal(networks.localhost.BookkeeperStaking.startBlock);
  });

  it("refuses a deployment that lacks a data source's contract, naming the file and the contract", async () => {
    const { deployment } = await systemFixture();
    const contracts = { ...deployment.contracts };
    delete contracts.BookkeeperCouncil;
    writeDeployment(path.join(dir, "localhost.json"), { ...deployment, contracts });
    await buildNetworks(hre).then(
      () => expect.fail("should have thrown"),
      (err: Error) => expect(err.message).to.match(/localhost\.json has no BookkeeperCouncil/),
    );
    expect(() => networkEntry({ ...deployment, contracts }, ["HMSToken"], "x")).to.not.throw();
  });

  it("a fresh `hardhat node` after `npm run deploy:local` has exactly the addresses and blocks derived in-process", async function () {
    this.timeout(180_000);
    const { spawnHardhatNode, run } = await import("../helpers/processes");
    const node = await spawnHardhatNode();
    try {
      const env = { ...process.env, HMS_RPC_URL: node.url, HMS_DEPLOYMENTS_DIR: dir };
      await run("npx", ["hardhat", "run", "scripts/deploy.ts", "--network", "localhost"], env);
    } finally {
      await node.stop();
    }
    const names = dataSourceNames(readManifest(hre));
    const deployed = networkEntry(loadDeployment(path.join(dir, "localhost.json")), names, "localhost.json");
    // What scripts/subgraph/prepare.ts does without a deployment file: replay the deployment on a fresh chain.
    await reset();
    const derived = networkEntry(await deployLikeDeployLocal(hre), names, "in-process");
    expect(derived).to.deep.equal(deployed);
    fs.rmSync(path.join(dir, "localhost.json"));
    await reset();
    const { networks, origins } = await buildNetworks(hre);
    expect(networks.localhost).to.deep.equal(deployed);
    expect(origins.localhost).to.match(/^derived/);
  });
});
