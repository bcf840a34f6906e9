/**
 * The compute worker end to end on Hardhat's chain, with each runtime for real (Podman through the Docker Engine
 * API, and the embedded one): it posts its offer; a user leases with a permit and submits a spec; the workload
 * runs, is metered in signed per-period reports the user verifies, serves its logs only to the lease's user; a
 * restart of the worker adopts the running workload (no duplicate) and catches up the lease events it missed;
 * closing the lease stops the workload within a period and refunds the rest; bad requests are refused with
 * their codes.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { getAddress } from "viem";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { resourceMarketAbi } from "../../offchain/chain/abis";
import {
  closeLease,
  getLogs,
  getUsage,
  getWorkload,
  leaseWorkload,
  submitWorkload,
} from "../../offchain/client/compute";
import { ACCESS_HEADERS, WORKLOADS_PATH, WorkloadState, parseWorkloadSpec } from "../../offchain/protocol/compute";
import { EmbeddedRuntime } from "../../offchain/compute/runtime/embedded";
import { OciRuntime } from "../../offchain/compute/runtime/oci";
import type { WorkloadRuntime } from "../../offchain/compute/runtime/types";
import {
  GWEI,
  computeNodeId,
  computeNodeKey,
  computeSystem,
  hardhatAccount,
  startComputeWorker,
  until,
} from "./helpers";
import { TEST_IMAGE, removeNodeContainers, startPodman, type Podman } from "./podman";

function suite(kind: "oci" | "embedded") {
  describe(`compute worker (${kind} runtime)`, function () {
    this.timeout(300_000);
    let podman: Podman | undefined;
    let roots: string[] = [];
    const makeRuntime = (): WorkloadRuntime => {
      if (kind === "oci") return new OciRuntime({ socketPath: podman!.socketPath, nodeId: computeNodeId(0) });
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "hms-embedded-w-"));
      roots.push(root);
      return new EmbeddedRuntime({ root, watchdogMs: 200 });
    };
    // The embedded runtime keeps workloads under one root across a worker restart: share it.
    let sharedRoot: string | undefined;
    const runtimeFor = (): WorkloadRuntime => {
      if (kind === "oci") return makeRuntime();
      sharedRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), "hms-embedded-w-"));
      return new EmbeddedRuntime({ root: sharedRoot, watchdogMs: 200 });
    };

    before(async function () {
      if (kind === "oci") {
        const p = await startPodman();
        if ("skip" in p) {
          console.log(`      skipped: ${p.skip}`);
          this.skip();
        }
        podman = p as Podman;
        await removeNodeContainers(podman.socketPath, computeNodeId(0));
      }
    });
    after(async function () {
      if (podman) await removeNodeContainers(podman.socketPath, computeNodeId(0));
      await podman?.stop();
      for (const r of [...roots, sharedRoot]) if (r) fs.rmSync(r, { recursive: true, force: true });
      roots = [];
    });

    const specInput = {
      ...(kind === "oci" ? { image: TEST_IMAGE } : {}),
      command: ["sh", "-c", "echo started $NAME; i=0; while true; do i=$((i+1)); done"],
      env: { NAME: "hms" },
      limits: { cpuMillis: 500, memoryMiB: 64 },
    };

    it("leases, runs, meters with signed reports, serves logs to the user only, survives a restart without a duplicate, and stops when the lease closes", async function () {
      const s = await loadFixture(computeSystem);
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-compute-w-"));
      roots.push(dataDir);
      let worker = await startComputeWorker(s, 0, runtimeFor(), { dataDir });
      try {
        const offerId = (await worker.state.offerId())!;
        const offer = await s.publicClient.readContract({
          address: s.user.contracts.market,
          abi: resourceMarketAbi,
          functionName: "getOffer",
          args: [offerId],
        });
        expect(offer.active).to.be.true;
        expect(offer.kind).to.equal(1);
        expect(offer.nodeId).to.equal(computeNodeId(0));

        const spec = parseWorkloadSpec(specInput);
        const lease = await leaseWorkload(s.user, { spec, offerId, duration: 3600n });
        expect(lease.units).to.equal(2n);
        expect(lease.endpoint).to.equal(worker.url);
        const view = await submitWorkload(s.user, { endpoint: lease.endpoint, leaseId: lease.leaseId, spec });
        expect(view.phase).to.equal("running");
        // the same spec again is idempotent; another one is a conflict
        expect(
          (await submitWorkload(s.user, { endpoint: lease.endpoint, leaseId: lease.leaseId, spec })).phase,
        ).to.equal("running");
        const other = parseWorkloadSpec({ ...specInput, env: { NAME: "other" } });
        const conflict = await submitWorkload(s.user, {
          endpoint: lease.endpoint,
          leaseId: lease.leaseId,
          spec: other,
        }).catch((e) => e);
        expect(conflict).to.have.property("code", "COMPUTE_CONFLICT");

        // metered: at least two signed periods, verified against the node's registered key
        const usage = await until("two usage reports", async () => {
          const u = await getUsage(s.user, lease.endpoint, lease.leaseId, computeNodeKey(0).address);
          return u.reports.length >= 2 && u;
        });
        const cpu = usage.reports.reduce((a, r) => a + r.message.cpuMs, 0n);
        expect(cpu > 0n, "cpu metered").to.be.true;
        expect(usage.reports.every((r) => r.message.state === WorkloadState.Running)).to.be.true;
        expect(usage.reports[0].message.memoryMiBs >= 0n).to.be.true;
        const wrongSigner = await getUsage(s.user, lease.endpoint, lease.leaseId, computeNodeKey(1).address).catch(
          (e) => e,
        );
        expect(wrongSigner).to.have.property("code", "COMPUTE_BAD_USAGE");

        // logs: the user's signed read only
        expect(
          await until("the first line", async () =>
            (await getLogs(s.user, lease.endpoint, lease.leaseId)).includes("started hms"),
          ),
        ).to.be.true;
        const anon = await fetch(`${lease.endpoint}${WORKLOADS_PATH}/${lease.leaseId}/logs`);
        expect(anon.status).to.equal(403);
        const stranger = { ...s.user, account: hardhatAccount(17) };
        expect(await getLogs(stranger, lease.endpoint, lease.leaseId).catch((e) => e)).to.have.property(
          "code",
          "COMPUTE_NO_LEASE",
        );
        const expired = await fetch(`${lease.endpoint}${WORKLOADS_PATH}/${lease.leaseId}/logs`, {
          headers: { [ACCESS_HEADERS.deadline]: "1", [ACCESS_HEADERS.signature]: `0x${"11".repeat(65)}` },
        });
        expect(expired.status).to.equal(403);

        // restart: the worker stops (the workload keeps running), a lease starts meanwhile, the worker comes back
        const before = await getWorkload(lease.endpoint, lease.leaseId);
        const runtimeBefore = runtimeFor();
        const idsBefore = await runtimeBefore.list();
        expect(idsBefore).to.have.length(1);
        const genBefore = (await runtimeBefore.status(idsBefore[0]))!.generation;
        await worker.stop();
        expect((await runtimeBefore.status(idsBefore[0]))!.state, "still running while the worker is down").to.equal(
          "running",
        );
        const second = await leaseWorkload(s.user, { spec, offerId, duration: 600n });
        worker = await startComputeWorker(s, 0, runtimeFor(), { dataDir });
        expect((await worker.state.workload(second.leaseId))?.phase, "caught up while down").to.equal("leased");
        const ids = await runtimeBefore.list();
        expect(ids, "no duplicate").to.deep.equal(idsBefore);
        await worker.tick();
        expect((await runtimeBefore.status(ids[0]))!.generation, "adopted, not restarted").to.equal(genBefore);
        const after = await getWorkload(lease.endpoint, lease.leaseId);
        expect(after.phase).to.equal("running");
        expect(BigInt(after.cpuMs as string) >= BigInt(before.cpuMs as string)).to.be.true;
        await runtimeBefore.close();

        // close: stopped within a period, a last Stopped report, the rest refunded
        const cost = await closeLease(s.user, lease.leaseId);
        expect(cost.refund > 0n).to.be.true;
        expect(cost.cost + cost.refund).to.equal(lease.escrow);
        expect(cost.fee).to.equal(cost.cost / 100n);
        const t0 = Date.now();
        await until(
          "the workload to stop",
          async () => (await getWorkload(lease.endpoint, lease.leaseId)).phase === "ended",
        );
        expect(Date.now() - t0).to.be.lessThan(1_000 + 5_000);
        const final = await getUsage(s.user, lease.endpoint, lease.leaseId, computeNodeKey(0).address);
        expect(final.reports.at(-1)!.message.state).to.equal(WorkloadState.Stopped);
        const st = await runtimeFor().status(ids[0]);
        expect(st?.state).to.equal("exited");
        // the provider is paid the time that ran, minus 1 %
        const op = s.as(12);
        const balance0 = await op.HMSToken.read.balanceOf([getAddress(s.wallets[12].account.address)]);
        await s.wait(await op.ResourceMarket.write.withdraw([lease.leaseId]));
        const paid = (await op.HMSToken.read.balanceOf([getAddress(s.wallets[12].account.address)])) - balance0;
        expect(paid).to.equal(cost.payout);
      } finally {
        await worker.stop().catch(() => undefined);
      }
    });

    it("refuses a spec over the lease, an unknown lease, a stranger's request and an ended lease", async function () {
      const s = await loadFixture(computeSystem);
      const worker = await startComputeWorker(s, 0, makeRuntime());
      try {
        const offerId = (await worker.state.offerId())!;
        const small = parseWorkloadSpec({ ...specInput, limits: { cpuMillis: 250, memoryMiB: 64 } });
        const lease = await leaseWorkload(s.user, { spec: small, offerId, duration: 120n });
        const big = parseWorkloadSpec({ ...specInput, limits: { cpuMillis: 1000, memoryMiB: 64 } });
        const over = await submitWorkload(s.user, { endpoint: worker.url, leaseId: lease.leaseId, spec: big }).catch(
          (e) => e,
        );
        expect(over).to.have.property("code", "COMPUTE_SPEC_OVER_LEASE");
        expect(over).to.have.property("value", 1000);
        const unknown = await submitWorkload(s.user, { endpoint: worker.url, leaseId: 999n, spec: small }).catch(
          (e) => e,
        );
        expect(unknown).to.have.property("code", "COMPUTE_NO_LEASE");
        const stranger = { ...s.user, account: hardhatAccount(17) };
        const theirs = await submitWorkload(stranger, {
          endpoint: worker.url,
          leaseId: lease.leaseId,
          spec: small,
        }).catch((e) => e);
        expect(theirs).to.have.property("code", "COMPUTE_NO_LEASE");
        expect(theirs.message).to.match(/belongs to/);
        const wrongRuntime = parseWorkloadSpec(
          kind === "oci" ? { command: ["true"], limits: small.limits } : { image: TEST_IMAGE, limits: small.limits },
        );
        const wr = await submitWorkload(s.user, {
          endpoint: worker.url,
          leaseId: lease.leaseId,
          spec: wrongRuntime,
        }).catch((e) => e);
        expect(wr).to.have.property("code", "COMPUTE_SPEC_INVALID");
        const malformed = await fetch(`${worker.url}${WORKLOADS_PATH}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ leaseId: "x" }),
        });
        expect(malformed.status).to.equal(400);
        expect((await fetch(`${worker.url}${WORKLOADS_PATH}/12345`)).status).to.equal(404);
        await closeLease(s.user, lease.leaseId);
        const ended = await submitWorkload(s.user, { endpoint: worker.url, leaseId: lease.leaseId, spec: small }).catch(
          (e) => e,
        );
        expect(ended).to.have.property("code", "COMPUTE_CONFLICT");
        const health = (await (await fetch(`${worker.url}/health`)).json()) as Record<string, unknown>;
        expect(health).to.include({ ok: true, role: "compute", runtime: kind, runtimeOk: true });
        const metrics = await (await fetch(`${worker.url}/metrics`)).text();
        expect(metrics).to.match(/hms_compute_rejected_total\{code="COMPUTE_SPEC_OVER_LEASE"\} 1/);
      } finally {
        await worker.stop();
      }
    });
  });
}

suite("oci");
suite("embedded");

export { GWEI };
