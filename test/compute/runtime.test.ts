/**
 * The runtimes behind one interface, for real: the embedded child-process runtime, and OCI containers through
 * the Docker Engine API driven against a real Podman (create, start, logs, stats, stop, remove, adoption of an
 * existing workload, and the cgroup limits: a memory hog is OOM-killed, a CPU-bound loop is held to its quota).
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseWorkloadSpec, type WorkloadSpecInput } from "../../offchain/protocol/compute";
import { EmbeddedRuntime } from "../../offchain/compute/runtime/embedded";
import { OciRuntime } from "../../offchain/compute/runtime/oci";
import { LABELS, workloadId, type WorkloadRuntime } from "../../offchain/compute/runtime/types";
import { TEST_IMAGE, removeNodeContainers, startPodman, type Podman } from "./podman";

const NODE = `0x${"c0".repeat(32)}` as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function request(runtime: WorkloadRuntime, lease: bigint, spec: WorkloadSpecInput) {
  const parsed = parseWorkloadSpec(runtime.kind === "oci" ? { image: TEST_IMAGE, ...spec } : spec);
  return {
    id: workloadId(NODE, lease),
    leaseId: lease,
    spec: parsed,
    labels: { [LABELS.node]: NODE, [LABELS.lease]: `${lease}`, [LABELS.spec]: "test" },
  };
}

function contract(name: string, make: () => Promise<WorkloadRuntime | { skip: string }>, done: () => Promise<void>) {
  describe(`compute runtime: ${name}`, function () {
    this.timeout(180_000);
    let runtime: WorkloadRuntime;

    before(async function () {
      const made = await make();
      if ("skip" in made) {
        console.log(`      skipped: ${made.skip}`);
        this.skip();
      }
      runtime = made as WorkloadRuntime;
      await runtime.check();
    });
    after(async function () {
      await runtime?.close();
      await done();
    });

    it("starts a workload, serves its logs and exit code, lists it, and removes it", async function () {
      const req = request(runtime, 1n, {
        command: ["sh", "-c", "echo hello $WHO; echo oops >&2; exit 3"],
        env: { WHO: "hms" },
        limits: { cpuMillis: 250, memoryMiB: 64 },
        restart: { policy: "never" },
      });
      const started = await runtime.start(req);
      expect(started.id).to.equal(req.id);
      const exited = await until("exit", async () => {
        const s = await runtime.status(req.id);
        return s?.state === "exited" && s;
      });
      expect(exited.exitCode).to.equal(3);
      // Whole milliseconds (the usage report that closes at the exit takes them as uint64).
      expect(exited.finishedAtMs === undefined || Number.isInteger(exited.finishedAtMs)).to.equal(true);
      const logs = await runtime.logs(req.id);
      expect(logs).to.contain("hello hms");
      expect(logs).to.contain("oops");
      expect(await runtime.list()).to.include(req.id);
      await runtime.remove(req.id);
      expect(await runtime.status(req.id)).to.equal(undefined);
      expect(await runtime.list()).to.not.include(req.id);
      await runtime.remove(req.id); // idempotent
    });

    it("samples CPU and memory of a running workload, adopts it on a second start, and stops it", async function () {
      const req = request(runtime, 2n, {
        command: ["sh", "-c", "while true; do :; done"],
        limits: { cpuMillis: 1000, memoryMiB: 64 },
      });
      const first = await runtime.start(req);
      const a = await runtime.sample(req.id);
      await sleep(1500);
      const b = await runtime.sample(req.id);
      expect(b.cpuNs > a.cpuNs, "cpu advances").to.be.true;
      // A busy loop: its CPU-seconds grow (the share it gets depends on the machine's load, so the bound is low).
      expect(Number(b.cpuNs - a.cpuNs) / 1e9).to.be.greaterThan(0.05);
      expect(b.memoryBytes).to.be.greaterThan(0);
      expect(b.generation).to.equal(a.generation);
      const again = await runtime.start(req);
      expect(again.generation, "adopted, not restarted").to.equal(first.generation);
      expect((await runtime.list()).filter((id) => id === req.id)).to.have.length(1);
      const t0 = Date.now();
      await runtime.stop(req.id, 1000);
      expect(Date.now() - t0).to.be.lessThan(15_000);
      const s = await runtime.status(req.id);
      expect(s?.state).to.equal("exited");
      await runtime.remove(req.id);
    });

    it("holds a CPU-bound loop to its CPU limit (oci: cgroup quota) and kills a memory hog", async function () {
      const hog = request(runtime, 3n, {
        command: [
          "sh",
          "-c",
          'x=$(head -c 200000000 /dev/zero | /bin/busybox tr "\\0" x 2>/dev/null || head -c 200000000 /dev/zero | tr "\\0" x); echo survived',
        ],
        limits: { cpuMillis: 1000, memoryMiB: 32 },
        restart: { policy: "never" },
      });
      await runtime.start(hog);
      const dead = await until(
        "the memory hog to die",
        async () => {
          const s = await runtime.status(hog.id);
          return s?.state === "exited" && s;
        },
        60_000,
      );
      expect(dead.exitCode).to.not.equal(0);
      expect(await runtime.logs(hog.id)).to.not.contain("survived");
      if (runtime.kind === "oci") expect(dead.oomKilled || dead.exitCode === 137, `exit ${dead.exitCode}`).to.be.true;
      await runtime.remove(hog.id);
      if (runtime.kind !== "oci") return; // no CPU quota without cgroups (documented)
      const spin = request(runtime, 4n, {
        command: ["sh", "-c", "while true; do :; done"],
        limits: { cpuMillis: 250, memoryMiB: 32 },
      });
      await runtime.start(spin);
      const a = await runtime.sample(spin.id);
      await sleep(3000);
      const b = await runtime.sample(spin.id);
      const share = Number(b.cpuNs - a.cpuNs) / 1e6 / (b.atMs - a.atMs);
      expect(share, `cpu share ${share.toFixed(3)}`).to.be.lessThan(0.4);
      expect(share).to.be.greaterThan(0.1);
      await runtime.remove(spin.id);
    });

    it("rejects what it cannot run with a typed error", async function () {
      if (runtime.kind === "oci") {
        const bad = { ...request(runtime, 5n, { command: ["true"], limits: { cpuMillis: 250, memoryMiB: 32 } }) };
        bad.spec = { ...bad.spec, image: "localhost/no-such-image:1" };
        const err = await runtime.start(bad).catch((e) => e);
        expect(err).to.have.property("code", "COMPUTE_IMAGE_NOT_FOUND");
        expect(err).to.have.property("value", "localhost/no-such-image:1");
        const noImage = { ...bad, spec: { ...bad.spec, image: undefined } };
        expect(await runtime.start(noImage).catch((e) => e)).to.have.property("code", "COMPUTE_SPEC_INVALID");
      } else {
        const req = request(runtime, 5n, { image: TEST_IMAGE, limits: { cpuMillis: 250, memoryMiB: 32 } });
        const err = await runtime.start(req).catch((e) => e);
        expect(err).to.have.property("code", "COMPUTE_SPEC_INVALID");
        expect(err.message).to.match(/needs the oci runtime/);
      }
      expect(await runtime.sample("hms-00000000-lease-404").catch((e) => e)).to.have.property(
        "code",
        "COMPUTE_NOT_FOUND",
      );
      expect(await runtime.logs("hms-00000000-lease-404").catch((e) => e)).to.have.property(
        "code",
        "COMPUTE_NOT_FOUND",
      );
    });
  });
}

let embeddedRoot: string;
contract(
  "embedded",
  async () => {
    embeddedRoot = fs.mkdtempSync(path.join(os.tmpdir(), "hms-embedded-"));
    return new EmbeddedRuntime({ root: embeddedRoot, watchdogMs: 100 });
  },
  async () => fs.rmSync(embeddedRoot, { recursive: true, force: true }),
);

let podman: Podman | undefined;
contract(
  "oci (Podman through the Docker Engine API)",
  async () => {
    const p = await startPodman();
    if ("skip" in p) return p;
    podman = p;
    await removeNodeContainers(p.socketPath, NODE);
    return new OciRuntime({ socketPath: p.socketPath, nodeId: NODE });
  },
  async () => {
    if (podman) await removeNodeContainers(podman.socketPath, NODE);
    await podman?.stop();
  },
);

describe("compute runtime: oci without an engine", function () {
  it("says what to install, and that the embedded runtime needs none", async function () {
    const socketPath = path.join(os.tmpdir(), `hms-no-engine-${process.pid}.sock`);
    const err = await new OciRuntime({ socketPath, nodeId: NODE }).check().catch((e) => e);
    expect(err).to.have.property("code", "COMPUTE_RUNTIME_UNAVAILABLE");
    expect(err).to.have.property("value", socketPath);
    expect(err.message).to.match(/apt-get install podman runc/);
    expect(err.message).to.match(/embedded runtime/);
  });
});
