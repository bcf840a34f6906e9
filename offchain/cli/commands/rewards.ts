/**
 * `hms rewards pending|claim --node <id>`: a node's Proof-of-Traffic rewards. Its claims (leaf index, traffic, Merkle
 * proof) come from report documents: a validator's `/v1/reports/:period` (`--validator <url>`, periods `--from`…`--to`,
 * default every reported period) or saved files (`--reports <file…>`: saved from there, or the published document
 * itself, whose proofs are recomputed from its rewards list). `claim` batches every unclaimed period into
 * `claimBatch` transactions (128 periods each).
 */
import fs from "node:fs";
import type { Command } from "commander";
import { getReportClaims, type PeriodClaim } from "../../client";
import { HmsError } from "../../core/errors";
import {
  action,
  confirm,
  emit,
  hms,
  parseBytes32,
  parseInteger,
  txText,
  withChainOptions,
  type ChainContext,
} from "../runtime";

interface RewardsOptions {
  node: string;
  validator?: string;
  reports?: string[];
  from?: string;
  to?: string;
}

async function claimsFor(
  ctx: ChainContext,
  opts: RewardsOptions,
): Promise<{ nodeId: `0x${string}`; claims: PeriodClaim[] }> {
  const nodeId = parseBytes32(opts.node, "node id");
  const documents = (opts.reports ?? []).flatMap((file) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
      throw new HmsError("CLI_BAD_VALUE", `cannot read report document ${file}`, { value: file, cause: err });
    }
    return Array.isArray(parsed) ? parsed : [parsed];
  });
  let periods: bigint[] = [];
  if (opts.validator !== undefined) {
    const s = await ctx.reader().getStatus();
    const last = opts.to !== undefined ? parseInteger(opts.to, "--to") : s.period.nextToReport - 1n;
    const first = opts.from !== undefined ? parseInteger(opts.from, "--from") : 0n;
    for (let p = first; p <= last; p++) periods.push(p);
    if (periods.length > 10_000)
      throw new HmsError("CLI_BAD_VALUE", "at most 10,000 periods at a time", { value: periods.length });
  } else if (documents.length === 0) {
    throw new HmsError(
      "CLI_USAGE",
      "give --validator <url> or --reports <file…> (the node's claims are in the report documents)",
    );
  } else periods = [];
  const claims = await getReportClaims({ nodeId, documents, validatorUrl: opts.validator, periods });
  return { nodeId, claims };
}

/** Registers `hms rewards` on `program`. */
export function registerRewardsCommand(program: Command): Command {
  const rewards = program.command("rewards").description("a node's Proof-of-Traffic rewards: pending and claim");
  const sources = (c: Command) =>
    c
      .requiredOption("--node <id>", "the node id")
      .option("--validator <url>", "a validator's base URL (serves /v1/reports/:period)")
      .option(
        "--reports <files...>",
        "report documents: the published ones (hms get of the period's dataCid) or saved from /v1/reports/:period",
      )
      .option("--from <period>", "first period to look at (with --validator; default 0)")
      .option("--to <period>", "last period (with --validator; default the last reported)");
  withChainOptions(sources(rewards.command("pending").description("what each reported period owes the node"))).action(
    action(async (ctx, opts: RewardsOptions) => {
      const { nodeId, claims } = await claimsFor(ctx, opts);
      const r = await ctx.reader().getPendingRewards({ nodeId, claims });
      emit(ctx, r, () =>
        [
          `node ${nodeId}: ${hms(r.total)} pending over ${r.rewards.filter((x) => x.amount > 0n).length} periods`,
          ...r.rewards.map(
            (x) =>
              `  period ${x.period}: traffic ${x.traffic}, ${x.claimed ? "claimed" : x.expired ? "expired" : hms(x.amount)}`,
          ),
        ].join("\n"),
      );
    }),
  );
  withChainOptions(
    sources(
      rewards
        .command("claim")
        .description("claim every unclaimed period, batched (paid to the node's payout address)")
        .option("--batch <n>", "periods per transaction (at most 128)", "128"),
    ),
    { signs: true },
  ).action(
    action(async (ctx, opts: RewardsOptions & { batch: string }) => {
      const { nodeId, claims } = await claimsFor(ctx, opts);
      const client = await ctx.signer();
      const pending = await client.getPendingRewards({ nodeId, claims });
      const open = pending.rewards.filter((x) => !x.claimed && !x.expired);
      const batch = Number(parseInteger(opts.batch, "--batch"));
      await confirm(ctx, [
        `claim ${hms(pending.total)} for node ${nodeId} over ${open.length} periods (${Math.ceil(open.length / Math.max(1, Math.min(batch, 128))) || 0} transactions)`,
        `paid to ${pending.rewards[0]?.payout ?? "its payout address"}`,
      ]);
      const r = await client.claimRewards({ nodeId, claims, batchSize: batch });
      emit(
        ctx,
        r,
        `claimed ${hms(r.total)} to ${r.payout} (${r.claimed.length} periods)\n${txText(...r.transactions)}`,
      );
    }),
  );
  return program;
}
