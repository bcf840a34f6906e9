/**
 * The network migrates a workload off a dead compute worker by itself (issue 14 items 4 and 9): a real `hardhat
 * node`, one `hms meta` process with compute supervision and the oracle key (ORACLE_ROLE), two `hms compute`
 * workers heartbeating to it (embedded runtime). The user runs a workload on A; A is SIGKILLed; with no test
 * intervention the meta master sees A's heartbeats stop, moves the lease to B's offer (`moveLease`) and forwards
 * the user's signed request, which B accepts because the chain shows the move; the workload runs on B. A is paid
 * exactly until its last signed heartbeat, the user refunded the unserved gap, the escrow conserved, and A restarted stops its orphan
 * (one process of the workload left). Forwarded requests that are forged, for a lease not moved, or for another
 * spec than the one A ran are refused with typed errors.
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
import { signTyped } from "../../offchain/core/signing";
import {
  getLogs,
  getUsage,
  getWorkload,
  leaseWorkload,
  listWorkloads,
  submitWorkload,
  type ComputeClient,
} from "../../offchain/client/compute";
import { networkDomain } from "../../offchain/client/compute/client";
import { WORKLOADS_PATH, parseWorkloadSpec, provenSeconds, specHash } from "../../offchain/protocol/compute";
import { MetaProcessCluster } from "../../offchain/testing/meta-cluster";
import { HMS } from "../helpers/fixtures";
import { freePort, spawnHardhatNode, type HardhatNode } from "../helpers/processes";
import { computeNodeId, computeNodeKey, computeNodePrivateKey, hardhatAccount, until } from "./helpers";

const keyOf = (i: number) => `0x${Buffer.from(hardhatAccount(i).getHdKey().privateKey!).toString("hex")}` as Hex;
const ROOT = path.join(__dirname, "..", "..");

/**
 * The process groups of live processes whose command line contains `marker`: one per running copy of the
 * workload (the embedded runtime runs each in a group of its own).
 */
function processesWith(marker: string): number[] {
  const groups = new Set<number>();
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (cmd.includes(marker) && state !== "Z") groups.add(Number(pgrp));
    } catch {
      // gone meanwhile
    }
  }
  return [...groups];
}

describe("compute: the meta master migrates a workload off a dead worker by itself (processes)", function () {
  this.timeout(600_000);
  let node: HardhatNode;
  let meta: MetaProcessCluster | undefined;
  let dir: string;
  const workers: ChildProcess[] = [];
  let marker = "";

  afterEach(async function () {
    for (const w of workers.splice(0)) if (w.exitCode === null) w.kill("SIGKILL");
    await meta?.stopAll();
    meta = undefined;
    await node?.stop();
    for (const pid of processesWith(marker)) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The scenario with `metaCount` meta nodes; `killMaster`: the meta master is SIGKILLed together with worker A,
   * so a newly elected master — which heard the same heartbeats — does the move.
   */
  async function scenario(metaCount: number, killMaster: boolean): Promise<void> {
    marker = `hms-supervise-${process.pid}-${Date.now()}`;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-compute-supervise-"));
    // chain time = wall time (blocks may share a second), so A's last heartbeat is a chain time as it is
    node = await spawnHardhatNode({ wallClock: true });
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
    const market = deployment.contracts.ResourceMarket.address;
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

    // one meta node supervising compute with the oracle key (account 9 holds ORACLE_ROLE)
    fs.writeFileSync(path.join(dir, "oracle.key"), `${keyOf(9)}\n`, { mode: 0o600 });
    meta = await MetaProcessCluster.start({
      dir: path.join(dir, "meta"),
      count: metaCount,
      chainId: 31337,
      nodeRegistry: deployment.contracts.NodeRegistry.address,
      miningPool: deployment.contracts.MiningPool.address,
      clock: { genesis: 0n, periodLength: 600n },
      logLevel: "info",
      extra: {
        compute: {
          rpcUrl: node.url,
          resourceMarket: market,
          oracleKeyFile: path.join(dir, "oracle.key"),
          downAfterMs: 3_000,
          intervalMs: 500,
        },
      },
    });
    const leader = await meta.waitForLeader();
    const metaUrls = meta.specs.map((x) => x.apiUrl);
    // a node the test reads the compute table from (one that stays up)
    let metaUrl = metaUrls[killMaster ? (leader.index + 1) % metaCount : leader.index];
    const computeNodes = async () =>
      ((await (await fetch(`${metaUrl}/v1/compute/nodes`)).json()) as { nodes: Array<Record<string, unknown>> }).nodes;

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
          runtime: { kind: "embedded" },
          offer: { units: 16, pricePerUnitSecond: "1000000000", minDuration: 10, maxDuration: 86400 },
          pollMs: 300,
          sampleMs: 300,
          periodMs: 1000,
          stopGraceMs: 1000,
          metaUrls,
          heartbeatMs: 500,
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
    await until("both compute nodes heard by meta", async () => (await computeNodes()).length === 2, 60_000);
    const offers = await publicClient.readContract({
      address: market,
      abi: resourceMarketAbi,
      functionName: "offersOfKind",
      args: [1, 0n, 10n],
    });
    const offerOf = async (i: number) => {
      for (const id of offers) {
        const o = await publicClient.readContract({
          address: market,
          abi: resourceMarketAbi,
          functionName: "getOffer",
          args: [id],
        });
        if (o.nodeId === computeNodeId(i)) return id;
      }
      throw new Error(`no offer of node ${i}`);
    };
    const user: ComputeClient = {
      public: publicClient,
      wallet: wallet(16) as unknown as WalletClient,
      account: hardhatAccount(16),
      chainId: 31337,
      contracts: {
        token: deployment.contracts.HMSToken.address,
        market,
        nodeRegistry: deployment.contracts.NodeRegistry.address,
      },
    };
    const getLease = async (id: bigint) =>
      (
        await publicClient.readContract({
          address: market,
          abi: resourceMarketAbi,
          functionName: "getLease",
          args: [id],
        })
      )[0];
    const urlA = `http://127.0.0.1:${ports[0]}`;
    const urlB = `http://127.0.0.1:${ports[1]}`;

    // the user runs a workload on A
    const spec = parseWorkloadSpec({
      command: ["sh", "-c", "echo hi from the workload; i=0; while true; do i=$((i+1)); sleep 0.05; done", marker],
      limits: { cpuMillis: 250, memoryMiB: 64 },
      restart: { policy: "never" },
      labels: { app: "supervised" },
    });
    const userBalance = () => as(16).HMSToken.read.balanceOf([getAddress(hardhatAccount(16).address)]);
    const balance0 = await userBalance();
    const leaseA = (await leaseWorkload(user, { spec, offerId: await offerOf(0), duration: 3600n })).leaseId;
    const escrow = balance0 - (await userBalance());
    await submitWorkload(user, { endpoint: urlA, leaseId: leaseA, spec });
    await until(
      "meta hears A running the lease",
      async () =>
        (await computeNodes()).some(
          (n) =>
            n.nodeId === computeNodeId(0).toLowerCase() &&
            (n.workloads as Array<{ leaseId: string; phase: string }>).some(
              (w) => w.leaseId === `${leaseA}` && w.phase === "running",
            ),
        ),
      30_000,
    );
    await until(
      "two signed periods on A",
      async () => (await getUsage(user, urlA, leaseA, computeNodeKey(0).address)).reports.length >= 2,
    );
    expect(processesWith(marker)).to.have.length.at.least(1);
    const reports = (await getUsage(user, urlA, leaseA, computeNodeKey(0).address)).reports;
    const balanceBeforeMove = await userBalance();

    // A is killed; from here on the test only watches
    const aExited = new Promise((r) => a.once("exit", r));
    a.kill("SIGKILL");
    if (killMaster) await meta.kill(leader.index);
    await aExited;
    const killedAt = Date.now();
    const leadAtKill = BigInt(
      Math.max(0, Number((await publicClient.getBlock()).timestamp) - Math.floor(killedAt / 1000)),
    );
    const moved = await until(
      "the workload running on B",
      async () => {
        const w = (await listWorkloads(urlB).catch(() => [])).find((x) => x.phase === "running");
        return w;
      },
      60_000,
    );
    const onB = Date.now() - killedAt;
    if (killMaster) {
      // the move was made by a newly elected master: read A's last heartbeat as that node saw it
      const now = await meta.waitForLeader(
        30_000,
        [0, 1, 2].filter((x) => x !== leader.index),
      );
      expect(now.term > leader.term, "a new master, of a later term").to.be.true;
      metaUrl = metaUrls[now.index];
    }
    const leaseB = BigInt(moved.leaseId);
    expect(leaseB).to.not.equal(leaseA);
    expect(moved.specHash).to.equal(specHash(spec));
    expect(await until("B's output", async () => (await getLogs(user, urlB, leaseB)).includes("hi from the workload")))
      .to.be.true;

    // on chain: A's lease closed by the oracle, moved into B's lease, same user, same end
    const events = await publicClient.getContractEvents({
      address: market,
      abi: resourceMarketAbi,
      eventName: "LeaseMoved",
      fromBlock: 0n,
    });
    expect(events.map((e) => [e.args.leaseId, e.args.newLeaseId, e.args.offerId])).to.deep.equal([
      [leaseA, leaseB, await offerOf(1)],
    ]);
    const la = await getLease(leaseA);
    const lb = await getLease(leaseB);
    expect(la.closeReason).to.equal(3); // Oracle
    expect(lb.user).to.equal(getAddress(hardhatAccount(16).address));
    expect(lb.offerId).to.equal(await offerOf(1));
    expect(lb.end).to.equal(BigInt(la.start) + 3600n);
    expect(lb.start > la.end, "B's lease starts at the move, after A's end (its last heartbeat)").to.be.true;

    // A is paid exactly until its last signed heartbeat (its last proof of life, which the meta node kept); the
    // unserved gap up to the move is refunded to the user; the escrow is conserved to the wei
    const lastBeatA = BigInt(
      (await computeNodes()).find((n) => n.nodeId === computeNodeId(0).toLowerCase())!.lastBeatTime as string,
    );
    expect(leadAtKill, "the chain's clock is the wall's").to.equal(0n);
    expect(BigInt(la.end)).to.equal(lastBeatA);
    const ranA = BigInt(la.end) - BigInt(la.start);
    const proven = provenSeconds(reports.map((r) => r.message));
    expect(ranA >= proven, `A's paid time ${ranA} s covers its proven ${proven} s`).to.be.true;
    const gap = BigInt(la.ratePerSecond) * (BigInt(lb.start) - BigInt(la.end));
    expect((await userBalance()) - balanceBeforeMove).to.equal(gap);
    expect(
      BigInt(la.ratePerSecond) * ranA + BigInt(lb.ratePerSecond) * (BigInt(lb.end) - BigInt(lb.start)) + gap,
    ).to.equal(escrow);
    const payoutA = getAddress(hardhatAccount(12).address);
    const before = await as(12).HMSToken.read.balanceOf([payoutA]);
    await wait(await as(12).ResourceMarket.write.withdraw([leaseA]));
    const paid = (await as(12).HMSToken.read.balanceOf([payoutA])) - before;
    expect(paid).to.equal(splitSettlement(BigInt(la.ratePerSecond) * ranA, 100n).payout);

    // the meta layer does not move it twice: a few more passes, still one move
    await new Promise((r) => setTimeout(r, 2_000));
    expect(
      await publicClient.getContractEvents({
        address: market,
        abi: resourceMarketAbi,
        eventName: "LeaseMoved",
        fromBlock: 0n,
      }),
    ).to.have.length(1);

    // reject paths of the forwarded request, against B
    const forward = async (body: Record<string, unknown>) => {
      const res = await fetch(`${urlB}${WORKLOADS_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code };
    };
    const signRun = async (account: typeof user.account, leaseId: bigint, hash: Hex, deadline: bigint) =>
      signTyped(account, networkDomain(user), "WorkloadRequest", { leaseId, action: "run", specHash: hash, deadline });
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 300);
    // forged: signed by someone else than the lease's user
    const forged = await signRun(hardhatAccount(17), leaseA, specHash(spec), deadline);
    expect(
      await forward({ leaseId: `${leaseB}`, spec, deadline: `${deadline}`, signature: forged, movedFrom: `${leaseA}` }),
    ).to.deep.equal({ status: 403, code: "COMPUTE_NO_LEASE" });
    // a lease on B that was not moved from A's lease
    const other = (await leaseWorkload(user, { spec, offerId: await offerOf(1), duration: 600n })).leaseId;
    const overA = await signRun(user.account, leaseA, specHash(spec), deadline);
    expect(
      await forward({ leaseId: `${other}`, spec, deadline: `${deadline}`, signature: overA, movedFrom: `${leaseA}` }),
    ).to.deep.equal({ status: 403, code: "COMPUTE_NOT_MOVED" });
    // the user's signature over A's lease, but for another spec than the one A ran (recorded on chain)
    const spec2 = parseWorkloadSpec({ ...spec, env: { X: "1" } });
    const overA2 = await signRun(user.account, leaseA, specHash(spec2), deadline);
    expect(
      await forward({
        leaseId: `${leaseB}`,
        spec: spec2,
        deadline: `${deadline}`,
        signature: overA2,
        movedFrom: `${leaseA}`,
      }),
    ).to.deep.equal({ status: 409, code: "COMPUTE_CONFLICT" });

    // A restarts: it catches up the move (its lease closed) and stops its orphan — one workload process is left
    expect(processesWith(marker).length, "A's orphan and B's workload while A is down").to.equal(2);
    a = await startWorker(0);
    await until("A ends the moved lease", async () => (await getWorkload(urlA, leaseA)).phase === "ended");
    await until("one process of the workload", async () => processesWith(marker).length === 1, 20_000);
    expect((await getWorkload(urlB, leaseB)).phase).to.equal("running");
    // and A's heartbeats no longer list it: the master has nothing to do
    await until(
      "A heard again without the lease",
      async () =>
        (await computeNodes()).some(
          (n) =>
            n.nodeId === computeNodeId(0).toLowerCase() && n.online === true && (n.workloads as unknown[]).length === 0,
        ),
      30_000,
    );
    console.log(
      `      (${metaCount} meta${killMaster ? ", master killed with A" : ""}) SIGKILL → running on B: ${onB} ms; A paid for ${ranA} s to its last heartbeat (its usage reports read before the kill prove ${proven} s): ${paid} wei; gap refunded ${gap} wei`,
    );
    a.kill("SIGTERM");
    b.kill("SIGTERM");
  }

  it("SIGKILL of worker A: the workload runs on B with no test intervention, A paid to its last heartbeat, escrow conserved, no duplicate after A's restart", async function () {
    await scenario(1, false);
  });

  it("SIGKILL of worker A and of the meta master at once: the new master moves it, once", async function () {
    await scenario(3, true);
  });
});
