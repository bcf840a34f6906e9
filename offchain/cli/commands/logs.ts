/** `hms logs <leaseId> [--tail n] [--follow]`: a workload's output, read with a request signed by the lease's user. */
import type { Command } from "commander";
import { findLease, getLogs, getWorkload } from "../../client/compute";
import { fail, printJson, userClient, userOptions, type UserOptions } from "./compute-user";

async function logs(leaseId: string, o: UserOptions & { tail?: string; follow?: boolean }): Promise<void> {
  try {
    const client = await userClient(o);
    const lease = await findLease(client, BigInt(leaseId));
    let text = await getLogs(client, lease.endpoint, lease.leaseId, o.tail === undefined ? undefined : Number(o.tail));
    if (o.json) return printJson({ ok: true, leaseId, logs: text });
    process.stdout.write(text);
    while (o.follow) {
      await new Promise((r) => setTimeout(r, 1000));
      const all = await getLogs(client, lease.endpoint, lease.leaseId);
      if (all.length > text.length) process.stdout.write(all.slice(text.length));
      text = all;
      if (["exited", "crash-loop", "ended"].includes((await getWorkload(lease.endpoint, lease.leaseId)).phase)) break;
    }
  } catch (err) {
    fail(o, "logs", err);
  }
}

export function registerLogsCommand(program: Command): Command {
  const cmd = program
    .command("logs")
    .description("print a compute workload's output")
    .argument("<leaseId>", "the lease")
    .option("--tail <lines>", "only the last lines")
    .option("-f, --follow", "keep printing until the workload stops");
  userOptions(cmd).action((id: string, o: UserOptions & { tail?: string; follow?: boolean }) => logs(id, o));
  return program;
}
