/** `hms allocation show|release`: the token allocation buckets and their vesting. */
import type { Command } from "commander";
import { Bucket } from "../../client";
import { action, confirm, emit, hms, parseEnum, txText, withChainOptions } from "../runtime";

const date = (t: bigint) => new Date(Number(t) * 1000).toISOString().slice(0, 10);

/** Registers `hms allocation` on `program`. */
export function registerAllocationCommand(program: Command): Command {
  const allocation = program.command("allocation").description("the token allocation: buckets, vesting, releases");
  withChainOptions(
    allocation.command("show [bucket]").description("every bucket (or one): vested, released, releasable"),
  ).action(
    action(async (ctx, bucketText?: string) => {
      const bucket = bucketText === undefined ? undefined : parseEnum(Bucket, bucketText, "bucket");
      const buckets = await ctx.reader().getAllocation({ bucket });
      emit(
        ctx,
        buckets,
        buckets
          .map(
            (b) =>
              `${b.name.padEnd(11)} total ${hms(b.total)}, released ${hms(b.released)}, releasable ${hms(b.releasable)}` +
              `, unlocks ${date(b.start)}..${date(b.end)}, beneficiary ${b.beneficiary}`,
          )
          .join("\n"),
      );
    }),
  );
  withChainOptions(
    allocation
      .command("release [bucket]")
      .description("release what is vested to the beneficiary (default: every bucket); anyone may send it"),
    { signs: true },
  ).action(
    action(async (ctx, bucketText?: string) => {
      const bucket = bucketText === undefined ? undefined : parseEnum(Bucket, bucketText, "bucket");
      const client = await ctx.signer();
      const buckets = await client.getAllocation({ bucket });
      await confirm(
        ctx,
        buckets
          .filter((b) => b.releasable > 0n)
          .map((b) => `release ${hms(b.releasable)} of ${b.name} to ${b.beneficiary}`),
      );
      const r = await client.releaseAllocation({ bucket });
      emit(ctx, r, `released ${hms(r.total)}\n${txText(r)}`);
    }),
  );
  return program;
}
