/**
 * `hms devnet up | status | restart | down` against real processes (bin/hms.js, a `hardhat node`, every daemon): up →
 * status shows every role healthy (the dashboard too, watching every daemon), a meta master and every compute
 * worker heard by every meta node (compute supervision, with the oracle key) → restart of one
 * daemon → down leaves no PID alive and every port free; the refusals (up on a
 * dir that holds a running devnet; status on an empty dir) and the idempotent down (nothing running: exit 0).
 *
 * Smaller counts than the defaults keep it short on a loaded machine (1 bookkeeper, 2 storage workers in 2 regions,
 * 1 compute worker, 3 meta nodes: every role, and a meta election); HMS_DEVNET_FULL=1 also runs the defaults
 * (4 bookkeepers, 5 storage workers in 3 regions, 2 compute workers, 3 meta nodes).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { EXIT_CODES } from "../../offchain/core/errors";
import { runHms } from "../../offchain/devnet/cluster";
import {
  DEVNET_BLOCK_SECONDS,
  devnetDown,
  pidAlive,
  portFree,
  type DevnetState,
  type DevnetStatus,
  type DownResult,
} from "../../offchain/devnet/devnet";
import type { Snapshot } from "../../offchain/dashboard/snapshot";

const parse = <T>(r: { stdout: string; stderr: string }): T => {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON: ${r.stdout}\n${r.stderr}`);
  }
};

async function cycle(dir: string, upArgs: string[], roles: Record<string, number>): Promise<void> {
  const up = await runHms(["devnet", "up", "--dir", dir, "--json", ...upArgs], {}, 400_000);
  expect(up.code, up.stderr).to.equal(0);
  const state = parse<DevnetState>(up);
  const count = (role: string) => state.processes.filter((p) => p.role === role).length;
  for (const [role, n] of Object.entries(roles)) expect(count(role), role).to.equal(n);
  // devnet.json names files, never secrets.
  const record = fs.readFileSync(path.join(dir, "devnet.json"), "utf8");
  for (const p of state.processes.filter((x) => x.keyFile))
    expect(record).to.not.contain(fs.readFileSync(p.keyFile!, "utf8").trim().slice(2));

  // A second up on the same dir is refused while it runs.
  const again = await runHms(["devnet", "up", "--dir", dir, "--json"]);
  expect(again.code).to.equal(EXIT_CODES.conflict);
  expect(again.stdout).to.contain("CLI_DEVNET_RUNNING");

  const st = await runHms(["devnet", "status", "--dir", dir, "--json"]);
  expect(st.code, st.stderr).to.equal(0);
  const status = parse<DevnetStatus>(st);
  for (const p of status.processes) expect([p.name, p.alive, p.healthy]).to.deep.equal([p.name, true, true]);
  expect(status.healthy).to.equal(true);
  expect(status.meta.master).to.match(/^meta-\d$/);
  expect(Number(status.meta.term)).to.be.greaterThan(0);
  expect(Number(status.chain.blockNumber)).to.be.greaterThan(0);
  expect(status.chain.period).to.not.equal(null);
  // The devnet's own chain mines by itself (interval mining), so its clock — and the periods — move while idle.
  await new Promise((r) => setTimeout(r, (DEVNET_BLOCK_SECONDS * 2 + 1) * 1000));
  const later = parse<DevnetStatus>(await runHms(["devnet", "status", "--dir", dir, "--json"]));
  expect(Number(later.chain.blockNumber)).to.be.greaterThan(Number(status.chain.blockNumber));
  // The dashboard (healthy above, like every process) watches every daemon of the devnet and sees the master.
  expect(status.dashboard).to.equal(state.processes.find((p) => p.role === "dashboard")!.url);
  const snap = (await (await fetch(`${status.dashboard}/api/snapshot`)).json()) as Snapshot;
  const urls = (role: string) => state.processes.filter((p) => p.role === role).map((p) => p.url);
  expect(snap.storage.map((w) => w.url)).to.deep.equal(urls("storage"));
  expect(snap.validators.map((v) => v.url)).to.deep.equal(urls("validator"));
  expect(snap.compute.map((c) => c.url)).to.deep.equal(urls("compute"));
  expect(snap.meta.nodes.map((m) => m.url)).to.deep.equal(urls("meta"));
  expect(snap.chain?.chainId).to.equal(state.chainId);
  // Compute supervision is wired: every meta node hears every compute worker's signed heartbeats, and holds the
  // ORACLE_ROLE key (Hardhat #9, granted at deploy) that the master moves dead workers' leases with.
  for (const m of urls("meta")) {
    const heard = (await (await fetch(`${m}/v1/compute/nodes`)).json()) as { nodes: Array<{ url: string }> };
    expect(heard.nodes.map((n) => n.url).sort(), m).to.deep.equal(urls("compute").sort());
  }
  expect(fs.statSync(path.join(dir, "oracle.key")).mode & 0o777).to.equal(0o600);
  for (const cfg of fs.readdirSync(dir).filter((f) => /^meta(-\d+)?\.yaml$/.test(f)))
    expect(fs.readFileSync(path.join(dir, cfg), "utf8"), cfg).to.contain("oracleKeyFile");
  const storage = status.processes.filter((p) => p.role === "storage");
  expect(storage.every((p) => p.storage !== undefined && Number(p.storage.capacity) > 0)).to.equal(true);

  // One daemon restarted (a crash: SIGKILL): a new PID in devnet.json, healthy, same node; an unknown name refused.
  const worker = state.processes.find((p) => p.role === "storage")!;
  const restarted = await runHms(["devnet", "restart", worker.name, "--dir", dir, "--kill", "--json"], {}, 120_000);
  expect(restarted.code, restarted.stderr).to.equal(0);
  const again2 = parse<DevnetState["processes"][number]>(restarted);
  expect(again2.pid).to.not.equal(worker.pid);
  expect(pidAlive(worker.pid, worker.marker)).to.equal(false);
  expect(pidAlive(again2.pid, again2.marker)).to.equal(true);
  expect(again2.id).to.equal(worker.id);
  const after = parse<DevnetStatus>(await runHms(["devnet", "status", "--dir", dir, "--json"]));
  expect(after.processes.find((p) => p.name === worker.name)).to.include({ pid: again2.pid, healthy: true });
  const nobody = await runHms(["devnet", "restart", "storage-99", "--dir", dir]);
  expect(nobody.code).to.equal(EXIT_CODES.notFound);
  expect(nobody.stdout + nobody.stderr).to.contain("CLI_DEVNET_NONE");
  state.processes = state.processes.map((p) => (p.name === worker.name ? again2 : p));

  const down = await runHms(["devnet", "down", "--dir", dir, "--json"]);
  expect(down.code, down.stderr).to.equal(0);
  expect(parse<DownResult>(down).stopped).to.have.length(state.processes.length);
  for (const p of state.processes) expect(pidAlive(p.pid, p.marker), p.name).to.equal(false);
  for (const port of state.processes.flatMap((p) => p.ports))
    expect(await portFree(port), `port ${port}`).to.equal(true);

  // Idempotent: nothing is running, exit 0; --purge removes the directory.
  const twice = await runHms(["devnet", "down", "--dir", dir]);
  expect(twice.code).to.equal(0);
  expect(twice.stdout).to.contain("nothing is running");
  const purge = await runHms(["devnet", "down", "--dir", dir, "--purge"]);
  expect(purge.code, purge.stderr).to.equal(0);
  expect(fs.existsSync(dir)).to.equal(false);
}

describe("hms devnet (real processes)", function () {
  this.timeout(600_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "hms-devnet-"));
  after(async () => {
    // Whatever a failed assertion left running is stopped.
    for (const d of fs.existsSync(root) ? fs.readdirSync(root) : [])
      await devnetDown(path.join(root, d), { graceMs: 2_000 }).catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("down and status on a dir without a devnet: nothing running (exit 0), CLI_DEVNET_NONE", async () => {
    const dir = path.join(root, "empty");
    const down = await runHms(["devnet", "down", "--dir", dir]);
    expect(down.code, down.stderr).to.equal(0);
    expect(down.stdout).to.contain("nothing is running");
    const status = await runHms(["devnet", "status", "--dir", dir, "--json"]);
    expect(status.code).to.equal(EXIT_CODES.notFound);
    expect(status.stdout).to.contain("CLI_DEVNET_NONE");
  });

  it("up → status (every role healthy, a meta master) → down (no PID alive, ports free)", async () => {
    await cycle(
      path.join(root, "small"),
      ["--bookkeepers", "1", "--storage", "2", "--compute", "1", "--meta", "3", "--regions", "276,840"],
      { chain: 1, "traffic-source": 1, validator: 1, storage: 2, compute: 1, meta: 3, dashboard: 1 },
    );
  });

  (process.env.HMS_DEVNET_FULL === "1" ? it : it.skip)("the defaults: 4 + 5 (3 regions) + 2 + 3", async () => {
    await cycle(path.join(root, "full"), [], {
      chain: 1,
      "traffic-source": 1,
      validator: 4,
      storage: 5,
      compute: 2,
      meta: 3,
      dashboard: 1,
    });
  });
});
