/**
 * Against a real `hardhat node` on a free port: `hms` as child processes (exit codes of the registry), and the packed
 * `@hms-network/sdk` installed into a temporary folder outside the repository, where an ESM and a CJS dApp use only
 * the package. The npm cache holds no registry metadata here, so the package's dependencies (viem, zod, ox,
 * multiformats and their closure) are copied from this repository's node_modules into the folder first; then
 * `npm install --offline --no-save <tarball>` installs the package itself.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { fsArtifacts, deploySystem, localChain, localDeployOptions, writeDeployment } from "../../offchain/chain";
import { EXIT_CODES } from "../../offchain/core/errors";
import { buildSdk, SDK_DIR } from "../../tools/build-sdk";
import { spawnHardhatNode, type HardhatNode } from "../helpers/processes";
import { hardhatAddress, hardhatKey } from "./helpers";

const ROOT = path.join(__dirname, "..", "..");

function hms(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "hms.js"), ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function copyClosure(names: string[], into: string): void {
  const seen = new Set<string>();
  const copy = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    const from = path.join(ROOT, "node_modules", n);
    if (!fs.existsSync(from)) return;
    const to = path.join(into, "node_modules", n);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.cpSync(from, to, { recursive: true, dereference: true });
    const pj = JSON.parse(fs.readFileSync(path.join(from, "package.json"), "utf8"));
    for (const d of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) copy(d);
  };
  names.forEach(copy);
}

describe("hms processes and the packed SDK against a hardhat node", function () {
  this.timeout(900_000);
  let node: HardhatNode;
  let dir: string;
  let deploymentFile: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    node = await spawnHardhatNode();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-pkg-"));
    const local = localChain(node.url);
    const accounts = Array.from({ length: 20 }, (_, i) => local.account(i).address);
    const deployment = await deploySystem(
      local.publicClient,
      local.wallet(0),
      fsArtifacts(path.join(ROOT, "artifacts")),
      {
        ...localDeployOptions(accounts),
        network: "localhost",
      },
    );
    deploymentFile = path.join(dir, "localhost.json");
    writeDeployment(deploymentFile, deployment);
    env = { PATH: process.env.PATH, HOME: dir, HMS_RPC_URL: node.url, HMS_DEPLOYMENT: deploymentFile };
  });
  after(async () => node?.stop());

  it("hms status / transfer / wrong RPC as child processes end with the registry's exit codes", async () => {
    const status = await hms(["status", "--json"], env);
    expect(status.code, status.stderr).to.equal(0);
    expect(JSON.parse(status.stdout).chainId).to.equal(31337);
    const poor = await hms(["transfer", hardhatAddress(1), "5", "--yes", "--json"], {
      ...env,
      HMS_PRIVATE_KEY: hardhatKey(14),
    });
    expect(poor.code).to.equal(EXIT_CODES.conflict);
    expect(JSON.parse(poor.stdout).error.code).to.equal("SDK_INSUFFICIENT_BALANCE");
    const down = await hms(["status", "--rpc", "http://127.0.0.1:1"], env);
    expect(down.code).to.equal(EXIT_CODES.unreachable);
    expect(down.stderr).to.contain("SDK_RPC");
    const version = await hms(["--version"], env);
    expect([version.code, version.stdout.trim()]).to.deep.equal([0, "0.1.0"]);
  });

  it("npm pack → npm install --offline in a temp folder → ESM and CJS dApps use only @hms-network/sdk", async () => {
    buildSdk();
    const app = fs.mkdtempSync(path.join(os.tmpdir(), "hms-dapp-"));
    execFileSync("npm", ["pack", "--pack-destination", app], { cwd: SDK_DIR, stdio: "ignore" });
    const tarball = fs.readdirSync(app).find((f) => f.endsWith(".tgz"))!;
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "dapp", version: "1.0.0", private: true }));
    copyClosure(["viem", "zod", "ox", "multiformats", "undici", "ipfs-unixfs-importer"], app);
    execFileSync("npm", ["install", "--offline", "--no-save", "--no-audit", "--no-fund", `./${tarball}`], {
      cwd: app,
      stdio: "ignore",
    });
    fs.writeFileSync(
      path.join(app, "dapp.mjs"),
      `import { http } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { Bucket, createHmsClient, hmsActions, loadDeployment } from "@hms-network/sdk";
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: 2 });
const hms = createHmsClient({ deployment: loadDeployment(process.argv[2]), transport: http(process.argv[3]), account }).extend(hmsActions);
const released = await hms.releaseAllocation({ bucket: Bucket.IDO });
const sent = await hms.transferTokens({ to: process.argv[4], amount: 7n * 10n ** 18n });
const { balance } = await hms.getTokenBalance({ address: process.argv[4] });
console.log(JSON.stringify({ released: released.total.toString(), gas: sent.gasUsed.toString(), balance: balance.toString() }));
`,
    );
    fs.writeFileSync(
      path.join(app, "dapp.cjs"),
      `const sdk = require("@hms-network/sdk");
console.log(JSON.stringify({ meta: sdk.NodeKind.Meta, kinds: Object.keys(sdk.ResourceKind), abi: sdk.resourceMarketAbi.length > 0 }));
`,
    );
    // The storage client's subpath, in both module systems (no network: the client is only built and decorated).
    fs.writeFileSync(
      path.join(app, "storage.mjs"),
      `import { createStorageClient, hmsStorageActions, putFile } from "@hms-network/sdk/storage";
const c = createStorageClient({ metaUrls: ["http://127.0.0.1:9"], owner: "0x${"11".repeat(32)}" }).extend(hmsStorageActions);
console.log(JSON.stringify({ owner: c.owner.address, putFile: typeof putFile, methods: ["putFile", "getFile", "listFiles", "statFile", "removeFile"].every((m) => typeof c[m] === "function") }));
await c.close();
`,
    );
    fs.writeFileSync(
      path.join(app, "storage.cjs"),
      `const s = require("@hms-network/sdk/storage");
console.log(JSON.stringify({ create: typeof s.createStorageClient, upload: typeof s.upload, meta: typeof s.MetaClient }));
`,
    );
    // The local-chain helpers and the shared protocol rules (what the repository's dApp examples import).
    fs.writeFileSync(
      path.join(app, "local.mjs"),
      `import { localChain, demoBookkeeperKey } from "@hms-network/sdk/local";
import { MerkleTree, claimAmount, quorumOf, auditReport } from "@hms-network/sdk/protocol";
const l = localChain("http://127.0.0.1:9");
console.log(JSON.stringify({ chain: l.chain.id, account: l.account(0).address, demo: demoBookkeeperKey(0).address === demoBookkeeperKey(0).address, claim: claimAmount(100n, 1n, 4n).toString(), quorum: quorumOf(4), tree: typeof MerkleTree, audit: typeof auditReport }));
`,
    );
    const local = JSON.parse(execFileSync(process.execPath, ["local.mjs"], { cwd: app }).toString());
    expect(local).to.deep.equal({
      chain: 31337,
      account: hardhatAddress(0),
      demo: true,
      claim: "25",
      quorum: 3,
      tree: "function",
      audit: "function",
    });
    const storageEsm = JSON.parse(execFileSync(process.execPath, ["storage.mjs"], { cwd: app }).toString());
    expect(storageEsm).to.deep.equal({
      owner: "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A",
      putFile: "function",
      methods: true,
    });
    const storageCjs = JSON.parse(execFileSync(process.execPath, ["storage.cjs"], { cwd: app }).toString());
    expect(storageCjs).to.deep.equal({ create: "function", upload: "function", meta: "function" });
    const esm = JSON.parse(
      execFileSync(process.execPath, ["dapp.mjs", deploymentFile, node.url, hardhatAddress(16)], {
        cwd: app,
      }).toString(),
    );
    expect(esm.released).to.equal((200_000_000n * 10n ** 18n).toString());
    expect(esm.balance).to.equal((7n * 10n ** 18n).toString());
    expect(Number(esm.gas)).to.be.greaterThan(21_000);
    const cjs = JSON.parse(execFileSync(process.execPath, ["dapp.cjs"], { cwd: app }).toString());
    expect(cjs).to.deep.equal({ meta: 2, kinds: ["Storage", "Compute", "Bandwidth"], abi: true });
    expect(
      fs.existsSync(
        path.join(app, "node_modules", "@hms-network", "sdk", "dist", "cjs", "packages", "sdk", "src", "index.d.ts"),
      ),
    ).to.equal(true);
  });
});
