/**
 * Demo chapter: the five allocation buckets at TGE and after 4, 5, 6 and 12 years, releasing what is
 * due at each point. Runs inside an EVM snapshot and reverts, so later chapters start at TGE.
 */
import { type DemoContext, heading, hms, table } from "./context";

const BUCKETS = ["IDO", "Technology", "Operation", "Foundation", "Mining"] as const;
const YEAR = 365n * 24n * 3600n;

export async function allocationChapter(ctx: DemoContext): Promise<void> {
  heading("Token allocation (PROTOCOL §3)");
  const snapshot = await ctx.testClient.snapshot();
  try {
    const { TokenAllocation, HMSToken } = ctx.hms;
    const tge = await TokenAllocation.read.tge();
    console.log(
      `  total supply ${hms(await HMSToken.read.totalSupply())} HMS, TGE at ${new Date(Number(tge) * 1000).toISOString()}`,
    );
    for (const years of [0n, 4n, 5n, 6n, 12n]) {
      const at = years === 0n ? (await ctx.publicClient.getBlock()).timestamp + 1n : tge + years * YEAR;
      const before: bigint[] = [];
      for (const [i] of BUCKETS.entries()) {
        before.push((await TokenAllocation.read.vestedAmount([i, at])) - (await TokenAllocation.read.released([i])));
      }
      // Anyone may release what is due; the demo does it for every scheduled bucket, exactly at `at`.
      await ctx.testClient.setNextBlockTimestamp({ timestamp: at });
      await ctx.publicClient.waitForTransactionReceipt({ hash: await TokenAllocation.write.releaseAll() });
      const rows = [];
      for (const [i, name] of BUCKETS.entries()) {
        const [total, released, , releasable] = await TokenAllocation.read.bucketInfo([i]);
        rows.push([name, hms(total), hms(before[i]), hms(released), hms(releasable)]);
      }
      console.log(`\n  TGE + ${years} years`);
      table(["bucket", "amount", "releasable before", "released", "releasable after"], rows);
    }
  } finally {
    await ctx.testClient.revert({ id: snapshot });
  }
}
