/**
 * Demo chapter: compute (PROTOCOL §9, docs/COMPUTE.md). Operator #13 registers a Container node and runs a compute
 * worker in-process — OCI containers through Podman when `podman` is installed, otherwise the embedded runtime
 * (saying so); user #17 leases a small workload with a permit-funded escrow, the workload runs, its output, its
 * signed usage and its cost with the 1 % fee are printed, and closing the lease refunds the rest.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import {
  keccak256,
  toHex,
  type Address,
  type Hash,
  type WalletClient as ViemWallet,
  type PublicClient as ViemPublic,
} from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { registryKeyProof } from "../../offchain/chain/staking";
import { silentLogger } from "../../offchain/core/logger";
import { Metrics } from "../../offchain/core/metrics";
import {
  closeLease,
  getLogs,
  getUsage,
  getWorkload,
  leaseWorkload,
  submitWorkload,
  type ComputeClient,
} from "../../offchain/client/compute";
import { parseWorkloadSpec } from "../../offchain/protocol/compute";
import { EmbeddedRuntime } from "../../offchain/compute/runtime/embedded";
import { OciRuntime } from "../../offchain/compute/runtime/oci";
import type { WorkloadRuntime } from "../../offchain/compute/runtime/types";
import { ComputeWorker } from "../../offchain/compute/worker";
import { type DemoContext, heading, hms, table } from "./context";

const OPERATOR = 13;
const USER = 17;
const IMAGE = "localhost/hms-busybox:test";
const MNEMONIC = "test test test test test test test test test test test junk";

async function podmanRuntime(nodeId: string): Promise<{ runtime: WorkloadRuntime; stop: () => void } | string> {
  try {
    execFileSync("podman", ["image", "exists", IMAGE], { stdio: "ignore" });
  } catch {
    return `podman (or the image ${IMAGE}) is not installed`;
  }
  const socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hms-demo-podman-")), "podman.sock");
  const child = spawn("podman", ["system", "service", "--time=0", `unix://${socketPath}`], { stdio: "ignore" });
  for (let i = 0; i < 300; i++) {
    if (
      await new Docker({ socketPath }).ping().then(
        () => true,
        () => false,
      )
    )
      return { runtime: new OciRuntime({ socketPath, nodeId }), stop: () => child.kill("SIGTERM") };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  return "podman system service did not answer";
}

export async function computeChapter(ctx: DemoContext): Promise<void> {
  heading("Compute: a leased workload run, metered, signed and paid (PROTOCOL §9)");
  const wait = async (hash: Hash) => {
    const r = await ctx.publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`transaction ${hash} failed`);
    return r;
  };
  const w = ctx.wallets;
  const by = (i: number) => ({ account: w[i].account!, chain: w[i].chain });
  const chainId = await ctx.publicClient.getChainId();
  const nodeId = keccak256(toHex("hms-demo/compute-node/0"));
  const nodeKeyHex = keccak256(toHex("hms-demo/compute-node-key/0"));
  const nodeKey = privateKeyToAccount(nodeKeyHex);
  const operator = w[OPERATOR].account!.address as Address;
  const port = 7_480;
  await wait(
    await ctx.as(w[OPERATOR]).NodeRegistry.write.registerNode(
      [
        {
          nodeId,
          kind: 1,
          tier: 1,
          region: 276,
          capacity: 64n,
          signingKey: nodeKey.address,
          payout: operator,
          endpoint: `http://127.0.0.1:${port}`,
        },
        await registryKeyProof(ctx.hms.NodeRegistry, nodeKey, { chainId, registrant: operator, subject: nodeId }),
      ],
      by(OPERATOR),
    ),
  );
  const { TokenAllocation } = ctx.hms;
  if ((await TokenAllocation.read.releasable([0])) > 0n) await wait(await TokenAllocation.write.release([0], by(0)));
  await wait(await ctx.as(w[2]).HMSToken.write.transfer([w[USER].account!.address, 100n * 10n ** 18n], by(2)));

  const podman = await podmanRuntime(nodeId);
  let runtime: WorkloadRuntime;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-demo-compute-"));
  if (typeof podman === "string") {
    console.log(`  ${podman}: using the embedded runtime (a supervised process — not an isolation boundary)`);
    runtime = new EmbeddedRuntime({ root: path.join(dataDir, "workloads") });
  } else {
    console.log("  runtime: OCI containers through Podman's Docker Engine API (cgroup limits, no network)");
    runtime = podman.runtime;
  }
  const worker = await ComputeWorker.start({
    nodeId,
    privateKey: nodeKeyHex,
    dataDir,
    host: "127.0.0.1",
    port,
    chainId,
    nodeRegistry: ctx.deployment.contracts.NodeRegistry.address,
    market: ctx.deployment.contracts.ResourceMarket.address,
    publicClient: ctx.publicClient as unknown as ViemPublic,
    operator: w[OPERATOR] as unknown as ViemWallet,
    offer: { units: 16n, pricePerUnitSecond: 10n ** 12n, minDuration: 60n, maxDuration: 86_400n },
    runtime,
    pollMs: 250,
    sampleMs: 250,
    periodMs: 1_000,
    stopGraceMs: 1_000,
    logger: silentLogger(),
    metrics: new Metrics(),
  });
  let runtimeId: string | undefined;
  try {
    const offerId = (await worker.state.offerId())!;
    console.log(
      `  worker ${worker.url}: offer ${offerId}, 16 units (¼ CPU + 256 MiB each) at 1,000 gwei HMS per unit-second`,
    );
    const user: ComputeClient = {
      public: ctx.publicClient as unknown as ViemPublic,
      wallet: w[USER] as unknown as ViemWallet,
      account: mnemonicToAccount(MNEMONIC, { addressIndex: USER }),
      chainId,
      contracts: {
        token: ctx.deployment.contracts.HMSToken.address,
        market: ctx.deployment.contracts.ResourceMarket.address,
        nodeRegistry: ctx.deployment.contracts.NodeRegistry.address,
      },
    };
    const spec = parseWorkloadSpec({
      image: typeof podman === "string" ? undefined : IMAGE,
      command: [
        "sh",
        "-c",
        "echo hello from a leased workload; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo counted to $i",
      ],
      limits: { cpuMillis: 500, memoryMiB: 64 },
      restart: { policy: "never" },
    });
    const lease = await leaseWorkload(user, { spec, offerId, duration: 3_600n });
    console.log(
      `  user #${USER} leased ${lease.units} units for 1 h (escrow ${hms(lease.escrow, 6)} HMS): lease ${lease.leaseId}`,
    );
    runtimeId = (await submitWorkload(user, { endpoint: lease.endpoint, leaseId: lease.leaseId, spec }))
      .runtimeId as string;
    const deadline = Date.now() + 120_000;
    while ((await getWorkload(lease.endpoint, lease.leaseId)).phase !== "exited" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    const status = await getWorkload(lease.endpoint, lease.leaseId);
    for (const line of (await getLogs(user, lease.endpoint, lease.leaseId)).trim().split("\n"))
      console.log(`  | ${line}`);
    const usage = await getUsage(user, lease.endpoint, lease.leaseId, nodeKey.address);
    table(
      ["period", "ms", "CPU-ms", "MiB·s", "state"],
      usage.reports.map((r) => [
        r.message.period,
        r.message.end - r.message.start,
        r.message.cpuMs,
        r.message.memoryMiBs,
        ["running", "exited", "failed", "stopped"][r.message.state],
      ]),
    );
    const cost = await closeLease(user, lease.leaseId);
    console.log(
      `  exit ${status.exitCode}; ${usage.reports.length} usage report(s) signed by the node key ${nodeKey.address.slice(0, 10)}…; ` +
        `lease ran ${cost.ranSeconds} s: cost ${hms(cost.cost, 9)} HMS (1 % fee ${hms(cost.fee, 9)}), refunded ${hms(cost.refund, 6)} HMS`,
    );
    if (status.exitCode !== 0 || cost.fee !== cost.cost / 100n) throw new Error("compute chapter: unexpected outcome");
  } finally {
    await worker.stop();
    if (runtimeId) await runtime.remove(runtimeId).catch(() => undefined);
    if (typeof podman !== "string") podman.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
