/**
 * Running workloads, from each compute worker's public `GET /v1/workloads` (the lease's phase, runtime, restarts and
 * the metered CPU and memory: offchain/compute/worker.ts `view`). A worker that does not answer keeps its last rows,
 * marked `stale`, so the Market view does not blink while it restarts.
 */
import { z } from "zod";
import { WORKLOADS_PATH } from "../../protocol/compute";
import type { WorkloadRow } from "../snapshot";
import { fetchUpstream } from "./daemons";

const workloadSchema = z.object({
  leaseId: z.string().regex(/^\d+$/),
  user: z.string(),
  units: z.string(),
  end: z.string(),
  closed: z.boolean().optional(),
  phase: z.string(),
  runtime: z.string(),
  restarts: z.number().int().nonnegative(),
  exitCode: z.number().int().nullable().optional(),
  firstStartMs: z.number().nullable().optional(),
  stoppedAtMs: z.number().nullable().optional(),
  cpuMs: z.string().regex(/^\d+$/),
  memoryBytes: z.number().nullable().optional(),
});
const replySchema = z.object({ workloads: z.array(workloadSchema).max(10_000) });

/** Reads every worker's workloads; keeps the last rows of a worker that fails (as stale). */
export class WorkloadSource {
  private readonly last = new Map<string, WorkloadRow[]>();

  constructor(private readonly timeoutMs: number) {}

  async read(urls: readonly string[]): Promise<WorkloadRow[]> {
    const rows = await Promise.all(
      urls.map(async (worker) => {
        try {
          const parsed = replySchema.parse(await fetchUpstream(`${worker}${WORKLOADS_PATH}`, this.timeoutMs));
          const mine: WorkloadRow[] = parsed.workloads.map((w) => ({
            worker,
            leaseId: w.leaseId,
            user: w.user,
            units: w.units,
            end: w.end,
            phase: w.phase,
            runtime: w.runtime,
            restarts: w.restarts,
            exitCode: w.exitCode ?? null,
            startedAtMs: w.firstStartMs ?? null,
            stoppedAtMs: w.stoppedAtMs ?? null,
            cpuMs: w.cpuMs,
            memoryBytes: w.memoryBytes ?? null,
            stale: false,
          }));
          this.last.set(worker, mine);
          return mine;
        } catch {
          return (this.last.get(worker) ?? []).map((r) => ({ ...r, stale: true }));
        }
      }),
    );
    for (const k of [...this.last.keys()]) if (!urls.includes(k)) this.last.delete(k);
    return rows.flat().sort((a, b) => Number(BigInt(b.leaseId) - BigInt(a.leaseId)));
  }
}
