/**
 * Compute as processes against a real `hardhat node`: two `hms compute` workers (Podman when available, else the
 * embedded runtime), `hms run --detach --json` leasing a workload on worker A, the worker SIGKILLed while it
 * runs — the scheduler migrates the workload to B, the oracle terminates A's lease where A's signed usage stops,
 * A's operator is paid exactly for that time, the user refunded the rest — A restarted (no duplicate container:
 * it stops the orphan of the terminated lease), `hms run` in the foreground of a command that exits at once
 * (runtime, cost and the 1 % fee printed as JSON), `hms ps --json` and `hms stop --json`.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import {
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { deploySystem, localDeployOptions, writeDeployment } from "../../offchain/chain";
import { hmsContracts } from "../../offchain/chain/contracts";
import { keyRegistrationProof } from "../../offchain/chain/staking";
import { resourceMarketAbi } from "../../offchain/chain/abis";
import { splitSettlement } from "../../offchain/chain/market";
import {
  getLogs,
  getUsage,
  getWorkload,
  leaseWorkload,
  submitWorkload,
  terminateDeadLease,
  type ComputeClient,
} from "../../offchain/client/compute";
import { parseWorkloadSpec } from "../../offchain/protocol/compute";
import { migrationDecision, seededRng, type SchedulerNode } from "../../offchain/meta/scheduler";
import { HMS } from "../helpers/fixtures";
import { freePort, run, spawnHardhatNode, type HardhatNode } from "../helpers/processes";
import { computeNodeId, computeNodeKey, computeNodePrivateKey, hardhatAccount, until } from "./helpers";
import { TEST_IMAGE, removeNodeContainers, startPodman, type Podman } from "./podman";

const keyOf = (i: number) => `0x${Buffer.from(hardhatAccount(i).getHdKey().privateKey!).toString("hex")}` as Hex;
const ROOT = path.join(__dirname, "..", "..");

describe("compute: processes (hms compute, hms run / ps / stop) against hardhat node", function () {
  this.timeout(600_000);
  let node: HardhatNode;
  let podman: Podman | undefined;
  let dir: string;
  const workers: ChildProcess[] = [];

  after(async function () {
    for (const w of workers) if (w.exitCode === null) w.kill("SIGKILL");
    if (podman) for (const i of [0, 1]) await removeNodeContainers(podman.socketPath, computeNodeId(i));
    await podman?.stop();
    await node?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("migrates a workload off a killed worker, pays the dead node for the time it ran, and restarts it without a duplicate", async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-compute-proc-"));
    const p = await startPodman();
    if ("skip" in p) console.log(`      Podman unavailable (${p.skip}): the workers use the embedded runtime`);
    else podman = p;
    const kind = podman ? "oci" : "embedded";
    node = await spawnHardhatNode();
    const chain = {
      id: 31337,
      name: "hardhat",
      nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [node.url] } },
    };
    const publicClient = createPublicClient({ chain, transport: http(node.url) }) as PublicClient;
    const wallet = (i: number) => createWalletClient({ account: hardhatAccount(i), chain, transport: http(node.url) });
    const deployment = await deploySystem(publicClient, wallet(0) as unknown as WalletClient, hre.artifacts, {
      ...localDeployOptions(Array.from({ length: 20 }, (_, i) => getAddress(hardhatAccount(i).address))),
      network: "localhost",
      marketOracle: getAddress(hardhatAccount(9).address),
    });
    const deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, deployment);
    const as = (i: number) => hmsContracts({ public: publicClient, wallet: wallet(i) }, deployment);
    const wait = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });
    await wait(await as(0).TokenAllocation.write.release([0]));
    await wait(await as(2).HMSToken.write.transfer([getAddress(hardhatAccount(16).address), HMS(1000)]));
    const ports = [await freePort(), await freePort()];
    for (const i of [0, 1]) {
      const proof = await keyRegistrationProof(computeNodeKey(i), {
        chainId: 31337,
        registry: deployment.contracts.NodeRegistry.address,
        registrant: getAddress(hardhatAccount(12 + i).address),
        subject: computeNodeId(i),
      });
      await wait(
        await as(12 + i).NodeRegistry.write.registerNode([
          {
            nodeId: computeNodeId(i),
            kind: 1,
            tier: 1,
            region: 276,
            capacity: 64n,
            signingKey: computeNodeKey(i).address,
            payout: getAddress(hardhatAccount(12 + i).address),
            endpoint: `http://127.0.0.1:${ports[i]}`,
          },
          proof,
        ]),
      );
    }
    const config = (i: number) => {
      const file = path.join(dir, `compute-${i}.json`);
      fs.writeFileSync(
        file,
        JSON.stringify({
          nodeId: computeNodeId(i),
          dataDir: path.join(dir, `data-${i}`),
          listen: { port: ports[i] },
          rpcUrl: node.url,
          deployment: deploymentFile,
          runtime: podman ? { kind: "oci", socketPath: podman.socketPath } : { kind: "embedded" },
          offer: { units: 16, pricePerUnitSecond: "1000000000", minDuration: 10, maxDuration: 86400 },
          pollMs: 300,
          sampleMs: 300,
          periodMs: 1000,
          stopGraceMs: 1000,
          log: { level: "warn" },
        }),
      );
      return file;
    };
    const startWorker = async (i: number): Promise<ChildProcess> => {
      const child = spawn(process.execPath, [path.join(ROOT, "bin/hms.js"), "compute", "-c", config(i)], {
        env: {
          ...process.env,
          HMS_COMPUTE_PRIVATE_KEY: computeNodePrivateKey(i),
          HMS_COMPUTE_OPERATOR_KEY: keyOf(12 + i),
        },
        stdio: ["ignore", "inherit", "inherit"],
      });
      workers.push(child);
      await until(
        `worker ${i} healthy`,
        async () => (await fetch(`http://127.0.0.1:${ports[i]}/health`).catch(() => undefined))?.ok,
        120_000,
      );
      return child;
    };
    let a = await startWorker(0);
    const b = await startWorker(1);
    const offers = await publicClient.readContract({
      address: deployment.contracts.ResourceMarket.address,
      abi: resourceMarketAbi,
      functionName: "offersOfKind",
      args: [1, 0n, 10n],
    });
    expect(offers).to.have.length(2);
    const offerOf = async (i: number) => {
      for (const id of offers) {
        const o = await publicClient.readContract({
          address: deployment.contracts.ResourceMarket.address,
          abi: resourceMarketAbi,
          functionName: "getOffer",
          args: [id],
        });
        if (o.nodeId === computeNodeId(i)) return id;
      }
      throw new Error(`no offer of node ${i}`);
    };

    // hms run --detach on worker A
    const cliEnv = {
      ...process.env,
      HMS_USER_PRIVATE_KEY: keyOf(16),
      HMS_RPC_URL: node.url,
      HMS_DEPLOYMENT: deploymentFile,
    };
    const hms = (args: string[]) => run(process.execPath, [path.join(ROOT, "bin/hms.js"), ...args], cliEnv);
    const image = podman ? ["--image", TEST_IMAGE] : [];
    const loop = ["sh", "-c", "echo hi from $NAME; i=0; while true; do i=$((i+1)); done"];
    const detached = JSON.parse(
      await hms([
        "run",
        ...image,
        "--cpu",
        "250",
        "--memory",
        "64",
        "--duration",
        "3600",
        "--offer",
        `${await offerOf(0)}`,
        "--env",
        "NAME=a",
        "--detach",
        "--json",
        "--",
        ...loop,
      ]),
    );
    const leaseA = BigInt(detached.leaseId);
    const user: ComputeClient = {
      public: publicClient,
      wallet: wallet(16) as unknown as WalletClient,
      account: hardhatAccount(16),
      chainId: 31337,
      contracts: {
        token: deployment.contracts.HMSToken.address,
        market: deployment.contracts.ResourceMarket.address,
        nodeRegistry: deployment.contracts.NodeRegistry.address,
      },
    };
    const urlA = `http://127.0.0.1:${ports[0]}`;
    const urlB = `http://127.0.0.1:${ports[1]}`;
    await until(
      "two signed periods on A",
      async () => (await getUsage(user, urlA, leaseA, computeNodeKey(0).address)).reports.length >= 2,
    );
    // keep mining so that chain time moves with the wall clock
    await wait(await as(3).HMSToken.write.transfer([getAddress(hardhatAccount(3).address), 0n]));

    // worker A is killed mid-run
    const reportsBeforeKill = (await getUsage(user, urlA, leaseA, computeNodeKey(0).address)).reports;
    a.kill("SIGKILL");
    await new Promise((r) => a.once("exit", r));
    const lastSeen = Date.now();
    await new Promise((r) => setTimeout(r, 1500));

    // the network sees A's heartbeats stop: the scheduler moves the workload to B
    const nodes: SchedulerNode[] = [0, 1].map((i) => ({
      nodeId: computeNodeId(i),
      region: "276",
      capacity: { cpuMillis: 4000, memoryMiB: 4096, diskMiB: 16384 },
      used: { cpuMillis: 0, memoryMiB: 0, diskMiB: 0 },
      workloadLabels: [],
      lastHeartbeatMs: i === 0 ? lastSeen - 60_000 : Date.now(),
    }));
    const spec = parseWorkloadSpec({
      image: podman ? TEST_IMAGE : undefined,
      command: loop,
      env: { NAME: "b" },
      limits: { cpuMillis: 250, memoryMiB: 64 },
      restart: { policy: "never" },
    });
    const decision = migrationDecision(
      { request: { limits: spec.limits }, nodeId: computeNodeId(0), failing: false, migrations: [], failedOn: [] },
      nodes,
      { maxMigrations: 3, windowMs: 600_000, backoffMs: 1000, maxBackoffMs: 8000 },
      { nowMs: Date.now(), heartbeatTimeoutMs: 10_000, randomFactor: 0.2, rng: seededRng(1) },
    );
    expect(decision).to.include({ action: "migrate", to: computeNodeId(1), reason: "node-dead" });

    // the oracle terminates A's lease where its signed usage stops; A is paid exactly for that time
    const oracle = {
      public: publicClient,
      wallet: wallet(9) as unknown as WalletClient,
      account: hardhatAccount(9),
      contracts: user.contracts,
    };
    const terminated = await terminateDeadLease(oracle, leaseA, reportsBeforeKill);
    const [leaseAfter] = await publicClient.readContract({
      address: user.contracts.market,
      abi: resourceMarketAbi,
      functionName: "getLease",
      args: [leaseA],
    });
    expect(leaseAfter.end).to.equal(terminated.failedAt);
    expect(leaseAfter.closeReason).to.equal(3); // Oracle
    const ran = terminated.failedAt - BigInt(leaseAfter.start);
    expect(ran > 0n).to.be.true;
    const payoutA = getAddress(hardhatAccount(12).address);
    const before = await as(12).HMSToken.read.balanceOf([payoutA]);
    await wait(await as(12).ResourceMarket.write.withdraw([leaseA]));
    const paid = (await as(12).HMSToken.read.balanceOf([payoutA])) - before;
    expect(paid).to.equal(splitSettlement(BigInt(leaseAfter.ratePerSecond) * ran, 100n).payout);
    expect(terminated.refund).to.equal(BigInt(leaseAfter.ratePerSecond) * (3600n - ran));

    // the user runs the workload on B
    const leaseB = await leaseWorkload(user, { spec, offerId: await offerOf(1), duration: 3600n });
    expect(leaseB.endpoint).to.equal(urlB);
    await submitWorkload(user, { endpoint: urlB, leaseId: leaseB.leaseId, spec });
    expect(await until("B's output", async () => (await getLogs(user, urlB, leaseB.leaseId)).includes("hi from b"))).to
      .be.true;

    // A restarts: it catches up the termination and stops its orphan; still one container/process for the lease
    a = await startWorker(0);
    await until("A ends the terminated lease", async () => (await getWorkload(urlA, leaseA)).phase === "ended");
    if (podman) {
      const Docker = (await import("dockerode")).default;
      const docker = new Docker({ socketPath: podman.socketPath });
      const mine = await docker.listContainers({ all: true, filters: { label: [`hms.node=${computeNodeId(0)}`] } });
      // No duplicate: at most the one container of the lease, and not running (a stopped one may be removed).
      expect(mine.length, "no duplicate container").to.be.at.most(1);
      for (const c of mine) expect(c.State).to.not.equal("running");
    }

    // ps and stop through the CLI
    const ps = JSON.parse(await hms(["ps", "--json"]));
    expect(ps.leases.map((l: { leaseId: string }) => l.leaseId)).to.include(`${leaseB.leaseId}`);
    const stopped = JSON.parse(await hms(["stop", `${leaseB.leaseId}`, "--json"]));
    expect(stopped.phase).to.equal("exited");
    expect(BigInt(stopped.cost.fee)).to.equal(BigInt(stopped.cost.cost) / 100n);

    // a command that exits at once, in the foreground: runtime and cost with the 1 % fee
    const once = JSON.parse(
      await hms([
        "run",
        ...image,
        "--memory",
        "32",
        "--duration",
        "600",
        "--json",
        "--",
        "sh",
        "-c",
        "echo bye; exit 0",
      ]),
    );
    expect(once.phase).to.equal("exited");
    expect(once.exitCode).to.equal(0);
    expect(BigInt(once.cost.fee)).to.equal(BigInt(once.cost.total) / 100n);
    expect(BigInt(once.cost.refund) > 0n).to.be.true;
    console.log(
      `      (${kind}) A ran ${ran} s before it was killed: paid ${paid} wei; refund ${terminated.refund} wei`,
    );
    a.kill("SIGTERM");
    b.kill("SIGTERM");
  });
});
