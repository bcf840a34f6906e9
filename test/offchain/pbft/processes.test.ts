import { expect } from "chai";
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import type { Hex } from "viem";

/**
 * Four replicas in four processes over the signed HTTP transport on 127.0.0.1, each persisting to its
 * own LevelDB: requests commit; SIGKILL of the primary forces a view change and commits continue; a
 * killed replica restarted from its store rejoins and catches up; nobody ever executes two values at
 * one sequence number or signs two different messages for the same (kind, view, seq).
 */
describe("pbft over HTTP — four replica processes", function () {
  this.timeout(120_000);
  const N = 4;
  const ENTRY = path.join(__dirname, "..", "..", "..", "offchain", "testing", "pbft-replica-process.ts");
  const keys = Array.from({ length: N }, () => generatePrivateKey());
  const addresses = keys.map((k) => privateKeyToAddress(k));
  let dir: string;
  const urls: Array<string | undefined> = [];
  const children: Array<ChildProcess | undefined> = [];
  const ready: Array<{ lastExecuted: number } | undefined> = [];
  /** Per replica: seq → digest executed (kept across restarts). */
  const executed: Array<Map<number, Hex>> = addresses.map(() => new Map());
  const lastSeq: number[] = addresses.map(() => 0);
  const violations: string[] = [];
  const decided = new Map<number, Hex>();
  const signed = new Map<string, string>();
  const views: number[] = addresses.map(() => 0);
  const exits: Array<{ code: number | null; signal: NodeJS.Signals | null } | undefined> = [];

  function start(i: number): void {
    ready[i] = undefined;
    exits[i] = undefined;
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      TS_NODE_TRANSPILE_ONLY: "1",
      PBFT_NAME: `replica-${i}`,
      PBFT_REPORT_SIGNED: "1",
      HMS_PBFT_PRIVATE_KEY: keys[i],
      HMS_PBFT_CONFIG_ID: "11",
      HMS_PBFT_CHAIN_ID: "31337",
      HMS_PBFT_STAKING_CONTRACT: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      // Ephemeral ports; URLs are handed out over IPC once a replica listens (no port race).
      HMS_PBFT_REPLICAS: JSON.stringify(addresses.map((a) => ({ address: a, url: "http://127.0.0.1:9" }))),
      HMS_PBFT_LISTEN__PORT: "0",
      HMS_PBFT_DATA_DIR: path.join(dir, `replica-${i}`),
      HMS_PBFT_PBFT__CHECKPOINT_INTERVAL: "4",
      HMS_PBFT_PBFT__WATERMARK_WINDOW: "16",
      HMS_PBFT_PBFT__VIEW_CHANGE_TIMEOUT_MS: "1500",
      HMS_PBFT_PBFT__RETRANSMIT_MS: "300",
      HMS_PBFT_LOG__LEVEL: "warn",
      HMS_PBFT_LOG__PRETTY: "false",
    };
    const child = fork(ENTRY, [], {
      execArgv: ["-r", "ts-node/register/transpile-only"],
      env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    children[i] = child;
    child.on("exit", (code, signal) => {
      exits[i] = { code, signal };
      if (children[i] === child) children[i] = undefined;
    });
    child.on(
      "message",
      (m: {
        type: string;
        seq: number;
        digest: Hex;
        view: number;
        kind: string;
        replica: string;
        lastExecuted: number;
        url: string;
      }) => {
        if (m.type === "ready") {
          ready[i] = { lastExecuted: m.lastExecuted };
          urls[i] = m.url;
          const peers = addresses.map((address, j) => ({ address, url: urls[j] ?? "http://127.0.0.1:9" }));
          for (const c of children) c?.send({ type: "peers", peers });
        }
        if (m.type === "new-view") views[i] = Math.max(views[i], m.view);
        if (m.type === "executed") {
          if (m.seq !== lastSeq[i] + 1) violations.push(`replica ${i} executed ${m.seq} after ${lastSeq[i]}`);
          lastSeq[i] = m.seq;
          const prev = executed[i].get(m.seq);
          if (prev !== undefined && prev !== m.digest)
            violations.push(`replica ${i} re-executed seq ${m.seq} differently`);
          executed[i].set(m.seq, m.digest);
          const d = decided.get(m.seq);
          if (d === undefined) decided.set(m.seq, m.digest);
          else if (d !== m.digest) violations.push(`SAFETY: seq ${m.seq} = ${d} and ${m.digest}`);
        }
        if (m.type === "signed") {
          const key = `${m.replica}|${m.kind}|${m.view}|${m.seq}`;
          const prev = signed.get(key);
          if (prev === undefined) signed.set(key, m.digest);
          else if (prev !== m.digest)
            violations.push(`replica ${i} signed conflicting ${m.kind} at view ${m.view} seq ${m.seq}`);
        }
      },
    );
  }

  async function waitFor(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; executed: ${lastSeq.join(",")} views: ${views.join(",")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const submit = (request: string, to: number[]) => {
    for (const i of to) children[i]?.send({ type: "submit", request });
  };
  const up = () => [...Array(N).keys()].filter((i) => children[i] !== undefined);

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-pbft-procs-"));
    for (let i = 0; i < N; i++) start(i);
    await waitFor("all replicas ready", () => ready.every((r) => r !== undefined), 60_000);
  });

  after(async function () {
    for (const c of children) c?.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("commits a series of requests at every replica", async function () {
    for (let r = 1; r <= 5; r++) submit(`req|${r}`, up());
    await waitFor("seqs 1-5 everywhere", () => lastSeq.every((s) => s >= 5));
    expect(violations).to.deep.equal([]);
    expect([...decided.keys()].sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it("keeps committing after the primary is SIGKILLed (view change)", async function () {
    children[0]!.kill("SIGKILL");
    await waitFor("primary exit", () => exits[0] !== undefined);
    expect(exits[0]!.signal).to.equal("SIGKILL");
    for (let r = 6; r <= 8; r++) submit(`req|${r}`, up());
    await waitFor("seqs 6-8 at the three survivors", () => [1, 2, 3].every((i) => lastSeq[i] >= 8), 45_000);
    expect(Math.min(views[1], views[2], views[3])).to.be.at.least(1);
    expect(violations).to.deep.equal([]);
  });

  it("restarts the old primary from LevelDB: it rejoins and catches up without conflicts", async function () {
    start(0);
    await waitFor("replica 0 ready", () => ready[0] !== undefined, 60_000);
    expect(ready[0]!.lastExecuted).to.equal(5); // what it had persisted before being killed
    await waitFor("replica 0 caught up", () => lastSeq[0] >= 8);
    for (let r = 9; r <= 10; r++) submit(`req|${r}`, up());
    await waitFor("seqs 9-10 everywhere", () => lastSeq.every((s) => s >= 10));
    for (let s = 1; s <= 10; s++) expect(new Set(executed.map((m) => m.get(s))).size, `seq ${s}`).to.equal(1);
    expect(violations).to.deep.equal([]);
  });

  it("a backup killed mid-stream and restarted never executes or signs differently", async function () {
    submit("req|11", up());
    children[2]!.kill("SIGKILL");
    await waitFor("replica 2 exit", () => exits[2] !== undefined);
    submit("req|12", up());
    await waitFor("seq 12 at the others", () => [0, 1, 3].every((i) => lastSeq[i] >= 12));
    start(2);
    await waitFor("replica 2 ready", () => ready[2] !== undefined, 60_000);
    await waitFor("replica 2 caught up", () => lastSeq[2] >= 12);
    expect(violations).to.deep.equal([]);
    expect(signed.size).to.be.greaterThan(50);
  });

  it("shuts down gracefully on SIGTERM (exit code 0)", async function () {
    const alive = up();
    for (const i of alive) children[i]!.kill("SIGTERM");
    await waitFor("graceful exits", () => alive.every((i) => exits[i] !== undefined), 15_000);
    for (const i of alive) expect(exits[i], `replica ${i}`).to.deep.equal({ code: 0, signal: null });
  });
});
