import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { formatEther } from "viem";
import {
  DeploymentError,
  contractAddress,
  hmsContract,
  hmsContracts,
  loadDeployment,
  parseDeployment,
  writeDeployment,
} from "../../offchain/chain";
import { ABIS_FILE, renderAbis } from "../../tools/abis";
import { HMS, systemFixture } from "../helpers/fixtures";

describe("offchain/chain: deployment file and typed bindings", () => {
  it("the committed `as const` ABI module matches the compiled artifacts", async () => {
    const committed = fs.readFileSync(path.join(hre.config.paths.root, ABIS_FILE), "utf8");
    expect(committed === (await renderAbis(hre)), `${ABIS_FILE} is stale: run npx hardhat compile`).to.be.true;
  });

  it("round-trips through writeDeployment / loadDeployment", async () => {
    const { deployment } = await systemFixture();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-deploy-"));
    const file = path.join(dir, "test.json");
    writeDeployment(file, deployment);
    const loaded = loadDeployment(file);
    expect(loaded.chainId).to.equal(31337);
    expect(Object.keys(loaded.contracts)).to.include.members(["HMSToken", "TokenAllocation", "HMSTimelock"]);
    expect(loaded.contracts.HMSToken.address).to.equal(deployment.contracts.HMSToken.address);
    expect(loaded.contracts.HMSToken.blockNumber).to.be.a("number");
    fs.rmSync(dir, { recursive: true });
  });

  it("rejects a missing file, invalid JSON, a bad address and an absent contract with DeploymentError", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-deploy-"));
    expect(() => loadDeployment(path.join(dir, "nope.json"))).to.throw(DeploymentError, /not found/);
    fs.writeFileSync(path.join(dir, "bad.json"), "{ nope");
    expect(() => loadDeployment(path.join(dir, "bad.json"))).to.throw(DeploymentError, /not valid JSON/);
    const bad = { network: "x", chainId: 1, contracts: { HMSToken: { address: "0x1234", blockNumber: 0, abi: [] } } };
    expect(() => parseDeployment(bad)).to.throw(DeploymentError, /contracts\.HMSToken\.address/);
    const ok = parseDeployment({ ...bad, contracts: {} });
    expect(() => contractAddress(ok, "HMSToken")).to.throw(DeploymentError, /"HMSToken" is not in the x deployment/);
    fs.rmSync(dir, { recursive: true });
  });

  it("gives dApps typed viem contracts from a client and the deployment", async () => {
    const { deployment } = await systemFixture();
    const client = await hre.viem.getPublicClient();
    const hms = hmsContracts(client, deployment);
    expect(await hms.HMSToken.read.totalSupply()).to.equal(HMS(800_000_000));
    const [total, released] = await hms.TokenAllocation.read.bucketInfo([0]);
    expect(total).to.equal(HMS(200_000_000));
    expect(released).to.equal(0n);
    expect(Object.keys(hms)).to.include("TokenAllocation");
    const partial = parseDeployment({ network: "x", chainId: 31337, contracts: {} });
    expect(() => hmsContract(client, partial, "HMSToken")).to.throw(DeploymentError);
  });

  it("deploy:local against `hardhat node`, then a plain viem script reads it from the deployment file", async function () {
    this.timeout(180_000);
    const { spawnHardhatNode, run } = await import("../helpers/processes");
    const node = await spawnHardhatNode();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-deployments-"));
    try {
      const env = { ...process.env, HMS_RPC_URL: node.url, HMS_DEPLOYMENTS_DIR: dir };
      const deployOut = await run("npx", ["hardhat", "run", "scripts/deploy.ts", "--network", "localhost"], env);
      expect(deployOut).to.match(/Wrote .*localhost\.json/);
      const deployment = loadDeployment(path.join(dir, "localhost.json"));
      expect(deployment.network).to.equal("localhost");
      const out = await run(
        "npx",
        ["ts-node", "--transpile-only", "scripts/examples/dapp-allocation.ts", path.join(dir, "localhost.json")],
        env,
      );
      expect(out).to.include(`totalSupply ${formatEther(HMS(800_000_000))} HMS`);
      expect(out).to.match(/IDO total=200000000 released=0 releasable=200000000 beneficiary=0x/);
      expect(out).to.match(/Technology total=104000000 released=0 releasable=0 beneficiary=0x/);
      expect(out).to.match(/Operation total=80000000 released=0 releasable=80000000 beneficiary=\(allocation\)/);
      expect(out).to.match(/Foundation total=120000000 released=0 releasable=0 beneficiary=0x/);
      expect(out).to.match(/Mining total=296000000/);
    } finally {
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
