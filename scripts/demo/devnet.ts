/**
 * Demo chapter: the whole network as processes, driven only through the `hms` CLI (issue 15 item 1).
 * `hms devnet up` starts a `hardhat node`, deploys, and runs 3 meta nodes, 5 storage workers in 3 regions, 2
 * compute workers and 4 validators, each its own process with its own log. A user (Hardhat #16) then puts a file
 * with `hms put` and reads it back twice with `hms get`, gets HMS with `hms transfer` and runs a workload with
 * `hms run`. The chain's clock moves past the period's end; the validators agree on the period's report from the
 * receipts of exactly those transfers, post it, and `hms audit` recomputes it from the network. Each node's
 * operator claims with `hms rewards claim`; each payout is printed beside E × traffic / total recomputed here from
 * the receipts the chapter caused (read from the published report document). `hms devnet down` stops everything.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Address, Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { miningPoolAbi } from "../../offchain/chain/abis";
import { loadDeployment } from "../../offchain/chain/deployment";
import { HARDHAT_MNEMONIC, hardhatPrivateKey, localChain } from "../../offchain/chain/local";
import { runHms } from "../../offchain/devnet/cluster";
import type { DevnetState } from "../../offchain/devnet/devnet";
import { matchReceipts } from "../../offchain/protocol/ledger";
import { periodEnd } from "../../offchain/protocol/proposal";
import { heading, hms, table } from "./context";

const keyOf = hardhatPrivateKey;
const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;
const sha256 = (b: Uint8Array) => crypto.createHash("sha256").update(b).digest("hex");

async function cli(args: string[], env: Record<string, string>, timeoutMs = 180_000) {
  const r = await runHms(args, env, timeoutMs);
  if (r.code !== 0)
    throw new Error(`hms ${args.join(" ")} exited ${r.code}: ${r.stdout.slice(-800)} ${r.stderr.slice(-800)}`);
  return r;
}

const json = <T>(r: { stdout: string }): T => JSON.parse(r.stdout) as T;

async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface WireReceipt {
  taskId: Hex;
  nodeId: Hex;
  client: Address;
  bytesServed: string;
  period: string;
}

export async function devnetChapter(): Promise<void> {
  heading("The whole network as processes, through the CLI: hms devnet, put/get, run, report, audit, claim");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-demo-devnet-"));
  const started = Date.now();
  const up = await cli(["devnet", "up", "--dir", dir, "--json", "--log-level", "warn"], {}, 600_000);
  const state = json<DevnetState>(up);
  try {
    console.log(
      `  hms devnet up --dir ${dir}: ${state.processes.length} processes in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    const byRole = new Map<string, string[]>();
    for (const p of state.processes)
      byRole.set(p.role, [...(byRole.get(p.role) ?? []), `${p.name} (pid ${p.pid ?? "-"})`]);
    for (const [role, names] of byRole) console.log(`    ${role.padEnd(15)} ${names.join(", ")}`);
    const metaUrls = state.processes.filter((p) => p.role === "meta").map((p) => p.url);
    const validator = state.processes.find((p) => p.role === "validator")!;
    const base = { HMS_RPC_URL: state.rpcUrl, HMS_DEPLOYMENT: state.deployment, HMS_META_URLS: metaUrls.join(",") };
    const user = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: 16 }).address;
    const asUser = { ...base, HMS_PRIVATE_KEY: keyOf(16), HMS_USER_PRIVATE_KEY: keyOf(16) };

    // ── storage: hms put, hms get ×2 ──
    const file = path.join(dir, "photo.bin");
    const data = crypto.randomBytes(3 * 1024 * 1024 + 12_345);
    fs.writeFileSync(file, data);
    const put = json<{ rootCid: string; size: string; slices: number }>(
      await cli(["put", file, "--to", "/demo/photo.bin", "--json"], asUser),
    );
    console.log(`  hms put photo.bin → ${put.rootCid} (${put.slices} slices × 3 copies)`);
    for (const k of [1, 2]) {
      const out = path.join(dir, `photo.${k}.bin`);
      await cli(["get", "/demo/photo.bin", "-o", out], asUser);
      const back = fs.readFileSync(out);
      if (sha256(back) !== sha256(data)) throw new Error(`hms get #${k} returned other bytes`);
    }
    console.log(`  hms get /demo/photo.bin twice: ${data.length.toLocaleString("en-US")} bytes each, bit-identical`);

    // ── compute: the operator offers its node (hms market offer), the user gets HMS and runs a workload ──
    const init = JSON.parse(fs.readFileSync(state.init, "utf8")) as {
      nodes: { name: string; nodeId: Hex; kind: string }[];
    };
    const operator = ["--keystore", state.keystore, "--password-file", state.passwordFile, "-y", "--json"];
    const computeNode = init.nodes.find((n) => n.kind === "compute")!;
    const offer = json<{ offerId: string }>(
      await cli(
        [
          "market",
          "offer",
          "--node",
          computeNode.nodeId,
          "--kind",
          "compute",
          "--units",
          "2000",
          "--price",
          "1gwei",
          "--min-duration",
          "60",
          "--account",
          computeNode.name,
          ...operator,
        ],
        base,
      ),
    );
    console.log(
      `  hms market offer: ${computeNode.name.replace(/-[a-z0-9]+$/, "")} offers 2,000 millicores at 1 gwei/unit·s (offer ${offer.offerId})`,
    );
    await cli(["transfer", user, "100", "-y", "--json"], { ...base, HMS_PRIVATE_KEY: keyOf(2) });
    const run = await cli(
      [
        "run",
        "--cpu",
        "250",
        "--memory",
        "64",
        "--duration",
        "600",
        "--timeout",
        "180",
        "--rpc-url",
        state.rpcUrl,
        "--deployment",
        state.deployment,
        "--",
        "sh",
        "-c",
        "echo hello from a leased workload on the devnet; sleep 1",
      ],
      asUser,
      300_000,
    );
    console.log("  hms run -- sh -c 'echo …; sleep 1' (the cheapest offer, a permit-funded escrow):");
    for (const line of run.stderr.trim().split("\n")) console.log(`    ${line}`);
    for (const line of run.stdout.trim().split("\n")) console.log(`    output: ${line}`);

    // ── the period ends; the committee reports it ──
    const deployment = loadDeployment(state.deployment);
    const chain = localChain(state.rpcUrl);
    const pool = deployment.contracts.MiningPool.address;
    const read = (functionName: string, args: readonly unknown[] = []) =>
      chain.publicClient.readContract({
        address: pool,
        abi: miningPoolAbi,
        functionName: functionName as never,
        args: args as never,
      });
    const genesis = (await read("genesis")) as bigint;
    const length = BigInt((await read("periodLength")) as number);
    await new Promise((r) => setTimeout(r, 2_000)); // the workers' side of the last receipts reaches the meta nodes
    const block = await chain.publicClient.getBlock();
    const period = (block.timestamp - genesis) / length;
    const t0 = Date.now();
    await chain.testClient.setNextBlockTimestamp({ timestamp: periodEnd(genesis, length, period) + 1n });
    await chain.testClient.mine({ blocks: 1 });
    await poll(`period ${period} reported`, async () =>
      ((await read("periodRecord", [period])) as [boolean])[0] ? true : undefined,
    );
    console.log(
      `  period ${period} ended (clock moved); agreed by PBFT, signed and posted in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const audit = json<{ ok: boolean; receipts?: unknown; [k: string]: unknown }>(
      await cli(["audit", String(period), "--meta", metaUrls.join(","), "--json"], base),
    );
    console.log(
      `  hms audit ${period}: ${audit.ok ? "OK" : "MISMATCH"} (report document fetched by its dataCid, every receipt verified, ledger and roots recomputed)`,
    );

    // ── E × traffic / total from the receipts this chapter caused ──
    const served = (await (await fetch(`${validator.url}/v1/reports/${period}`)).json()) as {
      report: { fromPeriod: string; totalTraffic: string };
      document: { inputs: { traffic: { period: string; client: WireReceipt[]; node: WireReceipt[] }[] } };
      claims: { nodeId: Hex; traffic: string }[];
    };
    const byNode = new Map<string, bigint>();
    let total = 0n;
    for (const t of served.document.inputs.traffic) {
      const mine = (r: WireReceipt) => r.client.toLowerCase() === user.toLowerCase();
      const toMsg = (r: WireReceipt) => ({ ...r, bytesServed: BigInt(r.bytesServed), period: BigInt(r.period) });
      const { matched } = matchReceipts(
        BigInt(t.period),
        t.client.filter(mine).map(toMsg),
        t.node.filter(mine).map(toMsg),
      );
      for (const m of matched) {
        byNode.set(m.nodeId.toLowerCase(), (byNode.get(m.nodeId.toLowerCase()) ?? 0n) + m.bytes);
        total += m.bytes;
      }
    }
    if (total !== BigInt(served.report.totalTraffic))
      throw new Error(`the report counts ${served.report.totalTraffic} bytes, this chapter's receipts ${total}`);
    const events = await chain.publicClient.getContractEvents({
      address: pool,
      abi: miningPoolAbi,
      eventName: "PeriodReported",
      args: { period },
      fromBlock: 0n,
      strict: true,
    });
    const nodeEmission = (events[0].args as { terms: { nodeEmission: bigint } }).terms.nodeEmission;
    console.log(
      `  the report's ${total.toLocaleString("en-US")} bytes are exactly the matched receipts of this chapter's transfers (the put's 3 copies, the 2 gets); E = ${hms(nodeEmission)} HMS`,
    );

    // ── each operator claims with the CLI ──
    const rows: (string | bigint)[][] = [];
    for (const c of served.claims) {
      const node = init.nodes.find((n) => n.nodeId.toLowerCase() === c.nodeId.toLowerCase());
      if (node === undefined) throw new Error(`claim of unknown node ${c.nodeId}`);
      const claimed = json<{ total: string; payout: Address }>(
        await cli(
          ["rewards", "claim", "--node", c.nodeId, "--validator", validator.url, "--account", node.name, ...operator],
          base,
        ),
      );
      const traffic = byNode.get(c.nodeId.toLowerCase()) ?? 0n;
      const formula = (nodeEmission * traffic) / total;
      if (BigInt(claimed.total) !== formula)
        throw new Error(`${node.name} paid ${claimed.total}, E × traffic / total = ${formula}`);
      rows.push([
        node.name.replace(/-[a-z0-9]+$/, ""),
        short(c.nodeId),
        `${(Number(traffic) / 2 ** 20).toFixed(2)} MiB`,
        hms(BigInt(claimed.total)),
        hms(formula),
      ]);
    }
    table(["node", "id", "traffic (receipts)", "claimed (hms rewards claim)", "E × traffic / total"], rows);
  } finally {
    const down = await runHms(["devnet", "down", "--dir", dir, "--purge", "--json"], {}, 120_000);
    console.log(
      down.code === 0
        ? `  hms devnet down: ${json<{ stopped: string[] }>(down).stopped.length} processes stopped, no PID alive, every port free`
        : `  hms devnet down failed: ${down.stderr.slice(-400)}`,
    );
  }
}
