/**
 * The compute rules of offchain/protocol/compute.ts: the workload spec schema and every way it rejects, the
 * check against the lease's units, the canonical spec hash, the restart policy, and the metering maths.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  COMPUTE_UNIT,
  ZERO_USAGE,
  accumulate,
  checkWithinLease,
  computeContribution,
  leaseCovers,
  meteringPeriod,
  parseWorkloadSpec,
  restartDecision,
  specHash,
  unitsFor,
  usageFromWire,
  usageReport,
  usageToWire,
  type UsageSample,
} from "../../offchain/protocol/compute";

const base = {
  image: "localhost/hms-busybox:test",
  command: ["echo", "hi"],
  limits: { cpuMillis: 250, memoryMiB: 64 },
};

function rejected(input: unknown, key: string, message: RegExp): void {
  let err: unknown;
  try {
    parseWorkloadSpec(input);
  } catch (e) {
    err = e;
  }
  expect(err, JSON.stringify(input)).to.have.property("code", "COMPUTE_SPEC_INVALID");
  expect((err as { details: { key: string } }).details.key).to.equal(key);
  expect((err as Error).message).to.match(message);
}

describe("compute: workload spec", function () {
  it("parses a minimal spec with its defaults", function () {
    const spec = parseWorkloadSpec(base);
    expect(spec.restart).to.deep.equal({
      policy: "on-failure",
      maxRestarts: 5,
      backoffMs: 1000,
      maxBackoffMs: 60_000,
      windowMs: 600_000,
    });
    expect(spec.limits.diskMiB).to.equal(0);
    expect(spec.env).to.deep.equal({});
    expect(spec.placement).to.deep.equal({ affinity: {}, antiAffinity: {} });
    expect(parseWorkloadSpec({ command: ["sleep", "1"], limits: base.limits }).image).to.equal(undefined);
  });

  it("rejects each malformed field, naming it and holding the offending value", function () {
    rejected({ limits: base.limits }, "command", /give an image or a command/);
    rejected({ ...base, image: "Not An Image!" }, "image", /OCI image/);
    rejected({ ...base, env: { "1BAD": "x" } }, "env.1BAD", /key/);
    rejected({ ...base, limits: { cpuMillis: 5, memoryMiB: 64 } }, "limits.cpuMillis", /10/);
    rejected({ ...base, limits: { cpuMillis: 250 } }, "limits.memoryMiB", /./);
    rejected({ ...base, ports: [{ port: 80 }, { port: 80 }] }, "ports.1", /listed twice/);
    rejected({ ...base, ports: [{ port: 0 }] }, "ports.0.port", /./);
    rejected({ ...base, restart: { policy: "sometimes" } }, "restart.policy", /./);
    rejected({ ...base, restart: { backoffMs: 5000, maxBackoffMs: 10 } }, "restart.maxBackoffMs", /below/);
    rejected({ ...base, labels: { "Bad Key": "x" } }, "labels.Bad Key", /key/);
    rejected({ ...base, extra: 1 }, "", /extra/);
    let err: unknown;
    try {
      parseWorkloadSpec({ ...base, limits: { cpuMillis: 5, memoryMiB: 64 } });
    } catch (e) {
      err = e;
    }
    expect(err).to.have.property("value", 5);
  });

  it("rejects a spec over the lease with the resource, what was asked and what the lease covers", function () {
    expect(leaseCovers(2)).to.deep.equal({ cpuMillis: 500, memoryMiB: 512, diskMiB: 2048 });
    const spec = parseWorkloadSpec({ ...base, limits: { cpuMillis: 500, memoryMiB: 300 } });
    expect(unitsFor(spec.limits)).to.equal(2);
    checkWithinLease(spec, 2n);
    for (const [limits, key] of [
      [{ cpuMillis: 750, memoryMiB: 64 }, "limits.cpuMillis"],
      [{ cpuMillis: 250, memoryMiB: 1024 }, "limits.memoryMiB"],
      [{ cpuMillis: 250, memoryMiB: 64, diskMiB: 5000 }, "limits.diskMiB"],
    ] as const) {
      const over = parseWorkloadSpec({ ...base, limits });
      const err = (() => {
        try {
          checkWithinLease(over, 2n);
        } catch (e) {
          return e as { code: string; details: { key: string; covers: number }; message: string };
        }
      })();
      expect(err?.code).to.equal("COMPUTE_SPEC_OVER_LEASE");
      expect(err?.details.key).to.equal(key);
      expect(err?.message).to.match(/units needed/);
    }
    expect(() => leaseCovers(0)).to.throw(/positive integer/);
  });

  it("hashes equal specs equally whatever their key order, and different specs differently", function () {
    const a = parseWorkloadSpec({ ...base, env: { A: "1", B: "2" } });
    const b = parseWorkloadSpec({
      env: { B: "2", A: "1" },
      limits: { memoryMiB: 64, cpuMillis: 250 },
      command: ["echo", "hi"],
      image: base.image,
    });
    expect(specHash(a)).to.equal(specHash(b));
    expect(specHash(a)).to.not.equal(specHash(parseWorkloadSpec({ ...base, env: { A: "2", B: "2" } })));
  });
});

describe("compute: restart policy", function () {
  const policy = parseWorkloadSpec(base).restart;
  it("follows the policy, backs off exponentially and cuts a crash loop", function () {
    expect(restartDecision({ ...policy, policy: "never" }, 1, [], 0)).to.deep.equal({
      action: "done",
      reason: "policy",
    });
    expect(restartDecision(policy, 0, [], 0)).to.deep.equal({ action: "done", reason: "succeeded" });
    expect(restartDecision({ ...policy, policy: "always" }, 0, [], 0)).to.deep.equal({
      action: "restart",
      delayMs: 1000,
    });
    expect(restartDecision(policy, 1, [100, 200], 300)).to.deep.equal({ action: "restart", delayMs: 4000 });
    expect(restartDecision({ ...policy, maxBackoffMs: 3000 }, 1, [100, 200], 300)).to.deep.equal({
      action: "restart",
      delayMs: 3000,
    });
    const five = [1, 2, 3, 4, 5];
    expect(restartDecision(policy, 137, five, 10)).to.deep.equal({ action: "crash-loop", restarts: 5 });
    // restarts older than the window no longer count
    expect(restartDecision(policy, 137, five, 10 + policy.windowMs).action).to.equal("restart");
  });

  it("never restarts more than maxRestarts times in a window (property)", function () {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: 30 }),
        (max, exits) => {
          const p = { ...policy, policy: "always" as const, maxRestarts: max, backoffMs: 1, maxBackoffMs: 1 };
          const restarts: number[] = [];
          let now = 0;
          for (const code of exits) {
            const d = restartDecision(p, code, restarts, now);
            if (d.action !== "restart") break;
            now += d.delayMs;
            restarts.push(now);
          }
          return restarts.length <= max;
        },
      ),
    );
  });
});

describe("compute: metering", function () {
  const s = (atMs: number, cpuMs: number, memMiB: number, gen = 0, rx = 0n): UsageSample => ({
    atMs,
    cpuNs: BigInt(cpuMs) * 1_000_000n,
    memoryBytes: memMiB * 1024 * 1024,
    netRxBytes: rx,
    netTxBytes: 0n,
    diskBytes: 10,
    generation: gen,
  });

  it("integrates CPU deltas and memory by trapezoid; a restart counts from zero", function () {
    let u = accumulate(ZERO_USAGE, undefined, s(0, 100, 10));
    u = accumulate(u, s(0, 100, 10), s(1000, 600, 30, 0, 500n));
    expect(u.cpuNs).to.equal(600_000_000n);
    expect(u.memoryByteMs).to.equal(20n * 1024n * 1024n * 1000n);
    expect(u.netRxBytes).to.equal(500n);
    u = accumulate(u, s(1000, 600, 30, 0, 500n), s(2000, 50, 10, 1, 7n));
    expect(u.cpuNs).to.equal(650_000_000n);
    expect(u.netRxBytes).to.equal(507n);
    const report = usageReport({
      leaseId: 1n,
      nodeId: `0x${"11".repeat(32)}`,
      period: 3n,
      startMs: 0,
      endMs: 2000,
      usage: u,
      totalCpuNs: u.cpuNs,
      restarts: 1,
      state: 0,
      specHash: `0x${"22".repeat(32)}`,
    });
    expect(report.cpuMs).to.equal(650n);
    expect(report.memoryMiBs).to.equal(30n);
    expect(usageFromWire(usageToWire(report))).to.deep.equal(report);
    expect(computeContribution([report, report])).to.equal(1n);
  });

  it("refuses samples that go back in time or hold negative counters", function () {
    expect(() => accumulate(ZERO_USAGE, s(1000, 1, 1), s(999, 2, 1))).to.throw(/back in time/);
    expect(() => accumulate(ZERO_USAGE, undefined, { ...s(0, 1, 1), cpuNs: -1n })).to.throw(/negative/);
    expect(() => meteringPeriod(5, 10, 1000)).to.throw(/no metering period/);
    expect(meteringPeriod(2500, 0, 1000)).to.equal(2n);
    expect(() => usageFromWire({ leaseId: "x" })).to.throw(/malformed usage report/);
  });

  it("CPU never decreases and memory·time is bounded by the peak (property)", function () {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 5000 }),
            dcpu: fc.integer({ min: 0, max: 5000 }),
            mem: fc.integer({ min: 0, max: 512 }),
          }),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        (steps) => {
          let prev: UsageSample | undefined;
          let u = ZERO_USAGE;
          let t = 0;
          let cpu = 0;
          let peak = 0;
          for (const st of steps) {
            t += st.dt;
            cpu += st.dcpu;
            peak = Math.max(peak, st.mem);
            const next = s(t, cpu, st.mem);
            const before = u.cpuNs;
            u = accumulate(u, prev, next);
            if (u.cpuNs < before) return false;
            prev = next;
          }
          return u.cpuNs === BigInt(cpu) * 1_000_000n && u.memoryByteMs <= BigInt(peak * 1024 * 1024) * BigInt(t);
        },
      ),
    );
  });

  it("a compute unit is a quarter CPU, 256 MiB and 1 GiB", function () {
    expect(COMPUTE_UNIT).to.deep.equal({ cpuMillis: 250, memoryMiB: 256, diskMiB: 1024 });
  });
});
