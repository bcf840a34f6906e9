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

describe("compute runtime: embedded metering", function () {
  this.timeout(120_000);
  // a fixed amount of CPU work in the shell itself (~0.1–0.5 s CPU here)
  const LIMITS = { cpuMillis: 1000, memoryMiB: 64 };
  const BURN = "burn() { i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; }";
  let root: string;
  let runtime: EmbeddedRuntime;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "hms-embedded-meter-"));
  });
  afterEach(async () => runtime?.close());
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const done = (id: string, marker: string) => fs.existsSync(path.join(root, id, "work", marker));
  async function cpuOnceDone(lease: bigint, script: string, marker: string): Promise<bigint> {
    const req = request(runtime, lease, { command: ["sh", "-c", `${BURN}; ${script}`], limits: LIMITS });
    await runtime.start(req);
    await until(marker, async () => done(req.id, marker), 60_000);
    await sleep(300); // the last burner has exited (a zombie, or reaped)
    const s = await runtime.sample(req.id);
    expect((await runtime.status(req.id))?.state).to.equal("running");
    await runtime.remove(req.id);
    return s.cpuNs;
  }

  for (const scanMs of [0, 60_000]) {
    it(`counts the CPU of the whole group: itself, reaped children, and an exited child not yet reaped (scanMs ${scanMs})`, async function () {
      runtime = new EmbeddedRuntime({ root, watchdogMs: 0, scanMs });
      const one = await cpuOnceDone(10n + BigInt(scanMs), "burn; : > m; exec sleep 30", "m");
      // one burn in a child the shell reaps, three in a child left a zombie (exec sleep never reaps it): ~4× one,
      // ~1× if the zombie were not counted (CPU time varies between runs on a loaded machine, hence the margin);
      // with scanMs 60 s the children are found only because the first sample comes after they started
      const three = await cpuOnceDone(
        20n + BigInt(scanMs),
        "(burn) & wait; (burn; burn; burn; : > m) & sleep 0.2; exec sleep 30",
        "m",
      );
      expect(one > 0n, "some CPU counted").to.equal(true);
      expect(Number(three) / Number(one), `${three} ns vs ${one} ns`).to.be.greaterThan(2);
    });
  }

  it("finds a process started after the last scan within scanMs, and never reports less CPU than before", async function () {
    runtime = new EmbeddedRuntime({ root, watchdogMs: 0, scanMs: 300 });
    // a daemon: the subshell exits at once, the burner is re-parented out of the group's reach (init reaps it)
    const req = request(runtime, 30n, {
      command: ["sh", "-c", `${BURN}; sleep 0.5; (burn; burn; : > m &) ; exec sleep 30`],
      limits: LIMITS,
    });
    await runtime.start(req);
    const first = await runtime.sample(req.id); // scans before the burner exists
    expect(first.cpuNs < 50_000_000n).to.equal(true);
    const seen = [first.cpuNs];
    while (!done(req.id, "m")) {
      seen.push((await runtime.sample(req.id)).cpuNs);
      await sleep(50);
    }
    await sleep(300);
    seen.push((await runtime.sample(req.id)).cpuNs);
    for (let i = 1; i < seen.length; i++) expect(seen[i] >= seen[i - 1], `sample ${i} went back`).to.equal(true);
    expect(seen[seen.length - 1] > 100_000_000n, "the late burner's CPU was counted").to.equal(true);
    await runtime.remove(req.id);
  });
});

/** Running (a zombie not yet reaped by this test process, its parent, is not running). */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

describe("compute runtime: embedded workloads left behind by a stopped worker", function () {
  this.timeout(60_000);
  it("stopAll (what hms devnet down runs for a retired worker) stops every workload still running under the root, and only those", async function () {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "hms-embedded-stopall-"));
    const first = new EmbeddedRuntime({ root, watchdogMs: 0 });
    const limits = { cpuMillis: 500, memoryMiB: 32 };
    const loop = request(first, 41n, { command: ["sh", "-c", "while true; do sleep 0.1; done"], limits });
    const done = request(first, 42n, { command: ["sh", "-c", "exit 3"], limits });
    try {
      await first.start(loop);
      await first.start(done);
      await until("the short one exits", async () => (await first.status(done.id))?.state === "exited", 10_000);
      const pid = (JSON.parse(fs.readFileSync(path.join(root, loop.id, "pid"), "utf8")) as { pid: number }).pid;
      await first.close(); // the worker stops; its workload keeps running, detached
      expect(isAlive(pid), "the workload outlives its worker").to.equal(true);
      const retire = new EmbeddedRuntime({ root, watchdogMs: 0 });
      expect(await retire.stopAll(1_000)).to.deep.equal([loop.id]);
      await until("the workload's process is gone", async () => !isAlive(pid), 10_000);
      expect(await retire.stopAll(1_000)).to.deep.equal([]);
      expect((await retire.status(done.id))?.exitCode).to.equal(3);
      await retire.close();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

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
