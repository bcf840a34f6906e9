/** `hms ps [--json]`: the user's compute leases with their workload's phase, usage and remaining paid time. */
import type { Command } from "commander";
import { findLeases, getWorkload } from "../../client/compute";
import { fail, printJson, userClient, userOptions, type UserOptions } from "./compute-user";

async function ps(o: UserOptions & { all?: boolean }): Promise<void> {
  try {
    const client = await userClient(o);
    const leases = await findLeases(client, client.account.address);
    const rows = [];
    for (const l of leases) {
      if (!o.all && !l.active) continue;
      const w = await getWorkload(l.endpoint, l.leaseId).catch(
        (e: Error) => ({ phase: `unreachable (${e.message.slice(0, 40)})` }) as Record<string, unknown>,
      );
      rows.push({
        leaseId: l.leaseId,
        nodeId: l.nodeId,
        active: l.active,
        end: l.end,
        phase: w.phase,
        restarts: w.restarts,
        cpuMs: w.cpuMs,
        endpoint: l.endpoint,
      });
    }
    if (o.json) return printJson({ ok: true, leases: rows });
    process.stdout.write(`${"LEASE".padEnd(8)}${"NODE".padEnd(14)}${"PHASE".padEnd(12)}${"CPU-ms".padEnd(10)}ENDS\n`);
    for (const r of rows)
      process.stdout.write(
        `${String(r.leaseId).padEnd(8)}${(r.nodeId.slice(0, 10) + "…").padEnd(14)}${String(r.phase).padEnd(12)}${String(r.cpuMs ?? "-").padEnd(10)}${new Date(Number(r.end) * 1000).toISOString()}\n`,
      );
  } catch (err) {
    fail(o, "ps", err);
  }
}

export function registerPsCommand(program: Command): Command {
  const cmd = program
    .command("ps")
    .description("list your compute leases and their workloads")
    .option("--all", "include ended leases");
  userOptions(cmd).action((o: UserOptions & { all?: boolean }) => ps(o));
  return program;
}
