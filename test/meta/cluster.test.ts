/**
 * Three `hms meta` processes on loopback (issue 13 item 10): a master is elected; owner-signed writes are
 * acknowledged after a majority persisted them; killing the master elects a new one within the bound with no
 * acknowledged write lost; the old master, back, refuses writes (it follows the newer term) and catches up; a
 * follower cut off from its peers catches up once healed; after all three restart the index is intact.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { request } from "undici";
import type { Address, Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { MetaClient } from "../../offchain/client/meta";
import { privateKeySigner } from "../../offchain/client/storage/signer";
import { domainOf } from "../../offchain/core/signing";
import { indexWriteMessage, type IndexWriteOp } from "../../offchain/protocol/index-write";
import { MetaProcessCluster } from "../../offchain/testing/meta-cluster";
import { TEST_DOMAINS } from "../../offchain/testing/storage-cluster";

const OWNER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as Hex;
const owner = privateKeySigner(OWNER_KEY);
const network = domainOf("network", TEST_DOMAINS.chainId, TEST_DOMAINS.nodeRegistry);
let nonce = BigInt(Date.now()) * 1000n;

async function mkdir(client: MetaClient, dir: string) {
  const op = { op: "mkdir" as const, owner: owner.address, path: dir };
  const n = ++nonce;
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
  const signature = await owner.signTyped(network, "IndexWrite", indexWriteMessage(op, n, deadline));
  return client.indexWrite(op, { nonce: n, deadline, signature });
}

async function postMkdir(url: string, dir: string): Promise<{ status: number; code?: string; leader?: string }> {
  const op = { op: "mkdir" as const, owner: owner.address, path: dir };
  const n = ++nonce;
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
  const signature = await owner.signTyped(network, "IndexWrite", indexWriteMessage(op, n, deadline));
  const res = await request(`${url}/v1/write`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...op, write: { nonce: n.toString(), deadline: deadline.toString(), signature } }),
  });
  const body = (await res.body.json()) as { error?: { code?: string; leader?: string } };
  return { status: res.statusCode, code: body.error?.code, leader: body.error?.leader };
}

/** One signed write, POSTed as often as asked (a client's retries): each reply's status, code and position. */
async function signedWrite(op: IndexWriteOp, n = ++nonce) {
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
  const signature = await owner.signTyped(network, "IndexWrite", indexWriteMessage(op, n, deadline));
  const body = JSON.stringify({ ...op, write: { nonce: n.toString(), deadline: deadline.toString(), signature } });
  return async (url: string) => {
    const res = await request(`${url}/v1/write`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const b = (await res.body.json()) as { index?: string; error?: { code?: string } };
    return { status: res.statusCode, code: b.error?.code, index: b.index };
  };
}

async function names(url: string, dir = "/"): Promise<string[]> {
  const res = await request(`${url}/v1/ls?owner=${owner.address}&path=${encodeURIComponent(dir)}`);
  const body = (await res.body.json()) as { entries?: Array<{ name: string }> };
  return (body.entries ?? []).map((e) => e.name).sort();
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("meta: three meta processes on loopback", function () {
  this.timeout(900_000);
  let dir: string;
  let cluster: MetaProcessCluster;
  let client: MetaClient;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-meta-"));
    cluster = await MetaProcessCluster.start({
      dir,
      count: 3,
      proxies: true,
      ...TEST_DOMAINS,
      clock: { genesis: BigInt(Math.floor(Date.now() / 1000) - 3600), periodLength: 600n },
      logLevel: "warn",
      // The CI machine is shared (load average 15–25 on 2 cores): the default 400–800 ms election timeout
      // live-locks there, so this test runs with longer ones; the < 2 s figure is the benchmark's (bench:meta).
      extra: { election: { heartbeatMs: 200, timeoutMinMs: 1_500, timeoutMaxMs: 3_000, rpcTimeoutMs: 3_000 } },
      echo: process.env.HMS_ECHO === "1",
    });
    client = new MetaClient({ urls: cluster.urls(), retryMs: 20_000 });
  });

  after(async () => {
    await client?.close();
    await cluster?.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const acked: string[] = [];

  it("elects one master and acknowledges writes once a majority persisted them", async () => {
    const { index: leader, term } = await cluster.waitForLeader(60_000);
    expect(term > 0n).to.equal(true);
    for (let i = 0; i < 5; i++) {
      const pos = await mkdir(client, `/a${i}`);
      expect(pos.term).to.equal(term);
      acked.push(`a${i}`);
    }
    // A follower refuses writes and names the master.
    const follower = (leader + 1) % 3;
    const r = await postMkdir(cluster.specs[follower].apiUrl, "/refused");
    expect(r.status).to.equal(421);
    expect(r.code).to.equal("META_NOT_LEADER");
    expect(r.leader).to.equal(cluster.specs[leader].apiUrl);
    // Followers serve reads stating their position; every node has every acknowledged write.
    for (const s of cluster.specs)
      await until(`node ${s.index} applied`, async () => (await names(s.apiUrl)).length === 5);
    const health = (await (await request(`${cluster.specs[follower].apiUrl}/health`)).body.json()) as Record<
      string,
      unknown
    >;
    expect(health.role).to.equal("follower");
    expect(health.term).to.equal(term.toString());
    const metrics = await (await request(`${cluster.specs[leader].apiUrl}/metrics`)).body.text();
    expect(metrics).to.match(/hms_meta_is_leader 1/);
  });

  it("kill -9 of the master: a new master accepts writes within the election bound, no acknowledged write lost, the old one refuses writes when back", async () => {
    const { index: old, term: oldTerm } = await cluster.waitForLeader();
    // Writes in flight while the master dies: those acknowledged must survive.
    const inflight = Array.from({ length: 10 }, (_, i) =>
      mkdir(client, `/b${i}`).then(
        () => acked.push(`b${i}`),
        () => undefined,
      ),
    );
    await new Promise((r) => setTimeout(r, 20));
    const killedAt = Date.now();
    await cluster.kill(old);
    await Promise.all(inflight);
    const { index: fresh, term } = await cluster.waitForLeader(30_000);
    expect(fresh).to.not.equal(old);
    expect(term > oldTerm).to.equal(true);
    const direct = new MetaClient({ urls: [cluster.specs[fresh].apiUrl], retryMs: 5_000 });
    await until("the new master accepts a write", async () => {
      try {
        await mkdir(direct, `/after-${Date.now()}`);
        return true;
      } catch {
        return false;
      }
    });
    const failoverMs = Date.now() - killedAt;
    await direct.close();
    console.log(`      master killed → new master accepting writes: ${failoverMs} ms`);
    // Bound: one election timeout to notice, one more term if the first splits, plus the slow machine's RPCs.
    expect(failoverMs).to.be.below(2 * 3_000 + 4_000);
    const have = await names(cluster.specs[fresh].apiUrl);
    for (const a of acked) expect(have, `acknowledged ${a}`).to.include(a);
    // The old master returns: it follows the newer term and refuses writes.
    await cluster.launch(old);
    await until("old master follows", async () => {
      const st = (await cluster.statuses())[old];
      return st?.role === "follower" && BigInt(st.term as string) >= term;
    });
    const r = await postMkdir(cluster.specs[old].apiUrl, "/from-the-old-master");
    expect(r.code).to.equal("META_NOT_LEADER");
    await until("old master caught up", async () => {
      const mine = await names(cluster.specs[old].apiUrl);
      return acked.every((a) => mine.includes(a));
    });
  });

  it("the same signed write sent again (a retry) gets the first answer; another write with its nonce is refused", async () => {
    const { index: leader } = await cluster.waitForLeader();
    const url = cluster.specs[leader].apiUrl;
    const n = ++nonce;
    const send = await signedWrite({ op: "mkdir", owner: owner.address, path: "/retried" }, n);
    const first = await send(url);
    expect(first.status).to.equal(200);
    const again = await send(url);
    expect(again).to.deep.equal(first);
    // Two at once (the retry while the first is being logged): one write, one answer.
    const [x, y] = await Promise.all([send(url), send(url)]);
    expect([x, y]).to.deep.equal([first, first]);
    const other = await (await signedWrite({ op: "mkdir", owner: owner.address, path: "/another" }, n))(url);
    expect([other.status, other.code]).to.deep.equal([409, "META_REPLAYED"]);
    // A refused write, retried, is refused the same way (not as a replay).
    const missing = await signedWrite({ op: "mv", owner: owner.address, path: "/no-such", target: "/x" });
    const r1 = await missing(url);
    const r2 = await missing(url);
    expect(r1.code).to.equal("META_NOT_FOUND");
    expect(r2).to.deep.equal(r1);
    acked.push("retried");
  });

  it("a follower cut off from its peers catches up once healed", async () => {
    const { index: leader } = await cluster.waitForLeader();
    const cut = (leader + 1) % 3;
    cluster.partition(cut, true);
    for (let i = 0; i < 5; i++) {
      await mkdir(client, `/c${i}`);
      acked.push(`c${i}`);
    }
    expect(await names(cluster.specs[cut].apiUrl)).to.not.include("c4");
    cluster.partition(cut, false);
    await until("healed follower caught up", async () => (await names(cluster.specs[cut].apiUrl)).includes("c4"));
    await cluster.waitForLeader(30_000);
  });

  it("after all three restart the index is intact", async () => {
    for (let i = 0; i < 3; i++) await cluster.kill(i, "SIGTERM");
    await Promise.all([0, 1, 2].map((i) => cluster.launch(i)));
    await cluster.waitForLeader(60_000);
    for (const s of cluster.specs) {
      const have = await names(s.apiUrl);
      for (const a of acked) expect(have, `node ${s.index} holds ${a}`).to.include(a);
    }
    await mkdir(client, "/after-restart");
  });
});

void privateKeyToAddress;
export type { Address };
