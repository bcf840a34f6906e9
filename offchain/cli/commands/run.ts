/**
 * `hms run [--image ref] [--cpu m] [--memory MiB] [--duration s] [--offer id] [--env K=V]… [--json] -- cmd args…`:
 * opens a compute lease (permit-funded escrow), submits the workload to the lease's worker, waits for it, streams
 * its logs, and when it exits (or on Ctrl-C, or with `--detach` at once) prints the lease id; on exit it closes
 * the lease and prints the runtime and the cost with the 1 % fee and the refund.
 */
import type { Command } from "commander";
import { resourceMarketAbi } from "../../chain/abis";
import { ResourceKind } from "../../chain/market";
import { HmsError } from "../../core/errors";
import {
  closeLease,
  findLease,
  getLogs,
  getUsage,
  getWorkload,
  leaseWorkload,
  submitWorkload,
  type ComputeClient,
} from "../../client/compute";
import { parseWorkloadSpec, unitsFor, type WorkloadSpec } from "../../protocol/compute";
import { fail, hms, printJson, progress, userClient, userOptions, type UserOptions } from "./compute-user";

interface RunOptions extends UserOptions {
  image?: string;
  cpu: string;
  memory: string;
  disk: string;
  duration: string;
  offer?: string;
  env: string[];
  restart: string;
  detach?: boolean;
  timeout: string;
}

/** The cheapest active compute offer with enough free units (the user may name one with --offer). */
export async function cheapestOffer(client: ComputeClient, units: bigint): Promise<bigint> {
  const ids = await client.public.readContract({
    address: client.contracts.market,
    abi: resourceMarketAbi,
    functionName: "offersOfKind",
    args: [ResourceKind.Compute, 0n, 64n],
  });
  let best: { id: bigint; price: bigint } | undefined;
  for (const id of ids) {
    const o = await client.public.readContract({
      address: client.contracts.market,
      abi: resourceMarketAbi,
      functionName: "getOffer",
      args: [id],
    });
    if (!o.active || BigInt(o.units) - BigInt(o.unitsInUse) < units) continue;
    if (best === undefined || BigInt(o.pricePerUnitSecond) < best.price)
      best = { id, price: BigInt(o.pricePerUnitSecond) };
  }
  if (best === undefined)
    throw new HmsError("COMPUTE_NO_PLACEMENT", `no active compute offer has ${units} free unit(s)`, { value: units });
  return best.id;
}

function specOf(o: RunOptions, command: string[]): WorkloadSpec {
  const env: Record<string, string> = {};
  for (const kv of o.env) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new HmsError("CONFIG_USAGE", `--env ${kv} is not NAME=value`, { value: kv });
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return parseWorkloadSpec({
    image: o.image,
    command,
    env,
    limits: { cpuMillis: Number(o.cpu), memoryMiB: Number(o.memory), diskMiB: Number(o.disk) },
    restart: { policy: o.restart },
  });
}

async function run(command: string[], o: RunOptions): Promise<void> {
  try {
    const client = await userClient(o);
    const spec = specOf(o, command);
    const units = BigInt(unitsFor(spec.limits));
    const offerId = o.offer !== undefined ? BigInt(o.offer) : await cheapestOffer(client, units);
    const t0 = Date.now();
    const lease = await leaseWorkload(client, {
      spec,
      offerId,
      duration: BigInt(o.duration),
      units,
      onStep: (s) => progress(o, `… ${s}`),
    });
    progress(o, `lease ${lease.leaseId} on node ${lease.nodeId.slice(0, 10)}… at ${lease.endpoint}`);
    await submitWorkload(client, { endpoint: lease.endpoint, leaseId: lease.leaseId, spec });
    progress(o, `workload submitted (${Date.now() - t0} ms since the order)`);
    if (o.detach) {
      if (o.json) printJson({ ok: true, leaseId: lease.leaseId, nodeId: lease.nodeId, endpoint: lease.endpoint });
      else process.stdout.write(`${lease.leaseId}\n`);
      return;
    }
    let shown = 0;
    let interrupted = false;
    process.once("SIGINT", () => (interrupted = true));
    const deadline = Date.now() + Number(o.timeout) * 1000;
    let view = await getWorkload(lease.endpoint, lease.leaseId);
    for (;;) {
      const logs = await getLogs(client, lease.endpoint, lease.leaseId).catch(() => "");
      if (logs.length > shown) {
        if (!o.json) process.stdout.write(logs.slice(shown));
        shown = logs.length;
      }
      view = await getWorkload(lease.endpoint, lease.leaseId);
      if (["exited", "crash-loop", "ended"].includes(view.phase) || interrupted || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const found = await findLease(client, lease.leaseId);
    const cost = found.active ? await closeLease(client, lease.leaseId) : undefined;
    const usage = await getUsage(client, lease.endpoint, lease.leaseId, found.signingKey);
    const cpuMs = usage.reports.reduce((a, r) => a + r.message.cpuMs, 0n);
    const memMiBs = usage.reports.reduce((a, r) => a + r.message.memoryMiBs, 0n);
    const result = {
      ok: true,
      leaseId: lease.leaseId,
      phase: view.phase,
      exitCode: view.exitCode,
      runtimeSeconds: cost?.ranSeconds,
      usage: { cpuMs, memoryMiBs: memMiBs, reports: usage.reports.length },
      cost: cost && { total: cost.cost, fee: cost.fee, payout: cost.payout, refund: cost.refund },
    };
    if (o.json) printJson(result);
    else
      process.stderr.write(
        `workload ${view.phase} (exit ${view.exitCode ?? "-"}); ran ${cost?.ranSeconds ?? "?"} s, ${cpuMs} CPU-ms, ${memMiBs} MiB·s in ${usage.reports.length} signed report(s)\n` +
          (cost
            ? `cost ${hms(cost.cost)} HMS (fee 1 %: ${hms(cost.fee)} HMS, provider ${hms(cost.payout)} HMS), refunded ${hms(cost.refund)} HMS\n`
            : ""),
      );
    if (view.phase === "crash-loop" || (view.exitCode ?? 0) !== 0) process.exitCode = 1;
  } catch (err) {
    fail(o, "run", err);
  }
}

export function registerRunCommand(program: Command): Command {
  const cmd = program
    .command("run")
    .description("lease compute, run a workload on it, stream its logs, then close the lease and print the cost")
    .argument("[command...]", "the program and its arguments (after --)")
    .option("--image <ref>", "OCI image (oci workers); without it the command runs as a process (embedded workers)")
    .option("--cpu <millicores>", "CPU limit", "250")
    .option("--memory <MiB>", "memory limit", "128")
    .option("--disk <MiB>", "disk limit", "0")
    .option("--duration <seconds>", "lease length", "3600")
    .option("--offer <id>", "the compute offer to take (default: the cheapest with room)")
    .option(
      "--env <NAME=value>",
      "environment variable (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--restart <policy>", "never | on-failure | always", "never")
    .option("--detach", "print the lease id and return once the workload is submitted")
    .option("--timeout <seconds>", "stop waiting after this long", "3600");
  userOptions(cmd).action((command: string[], o: RunOptions) => run(command, o));
  return program;
}
