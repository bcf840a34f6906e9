/** `hms stop <leaseId>`: stops the workload (signed request) and closes the lease: prints runtime, cost, fee, refund. */
import type { Command } from "commander";
import { closeLease, findLease, stopWorkload } from "../../client/compute";
import { fail, hms, printJson, progress, userClient, userOptions, type UserOptions } from "./compute-user";

async function stop(leaseId: string, o: UserOptions): Promise<void> {
  try {
    const client = await userClient(o);
    const lease = await findLease(client, BigInt(leaseId));
    const view = await stopWorkload(client, lease.endpoint, lease.leaseId).catch((err: Error) => {
      progress(o, `worker did not stop the workload (${err.message}); closing the lease anyway`);
      return undefined;
    });
    const cost = lease.active ? await closeLease(client, lease.leaseId) : undefined;
    const result = { ok: true, leaseId, phase: view?.phase, cost };
    if (o.json) return printJson(result);
    process.stdout.write(
      cost
        ? `lease ${leaseId} closed after ${cost.ranSeconds} s: cost ${hms(cost.cost)} HMS (fee ${hms(cost.fee)}), refunded ${hms(cost.refund)} HMS\n`
        : `lease ${leaseId} was already closed\n`,
    );
  } catch (err) {
    fail(o, "stop", err);
  }
}

export function registerStopCommand(program: Command): Command {
  const cmd = program
    .command("stop")
    .description("stop a compute workload and close its lease (refunds the rest)")
    .argument("<leaseId>", "the lease");
  userOptions(cmd).action((id: string, o: UserOptions) => stop(id, o));
  return program;
}
