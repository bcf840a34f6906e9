/** `hms status [address]`: deployment, epoch, committee, period, pool, and an account's balances and stake. */
import type { Command } from "commander";
import { formatEther } from "viem";
import { BookkeeperStatus, enumName } from "../../client";
import { action, emit, hms, namedAddress, withChainOptions } from "../runtime";

/** Registers `hms status` on `program`. */
export function registerStatusCommand(program: Command): Command {
  withChainOptions(
    program
      .command("status [address]")
      .description("the network at a glance, and your balances and stake (address or --account)")
      .option("--account <name|address>", "keystore key whose holdings to show (default $HMS_ACCOUNT)")
      .option("--keystore <dir>", "keystore directory"),
  ).action(
    action(async (ctx, addressText?: string) => {
      const address = namedAddress(ctx, addressText);
      const s = await ctx.reader().getStatus({ address });
      emit(ctx, s, () => {
        const lines = [
          `network   ${s.network} (chain ${s.chainId}), block ${s.blockNumber} at ${new Date(Number(s.timestamp) * 1000).toISOString()}`,
          `epoch     ${s.epoch.current} (length ${s.epoch.length} s), last elected ${s.epoch.lastElected ?? "never"}`,
          `committee ${s.committee.bookkeepers.length} members, quorum ${s.committee.quorum}; ${s.candidates} candidates`,
          ...s.committee.bookkeepers.map((b, i) => `            ${b} key ${s.committee.signingKeys[i]}`),
          `period    ${s.period.current} (length ${s.period.length} s), next to report ${s.period.nextToReport}`,
          `pool      reserve ${hms(s.pool.reserve)}, released ${hms(s.pool.released)}, bookkeepers ${s.pool.bookkeeperShareBps} bps`,
        ];
        if (s.account)
          lines.push(
            `account   ${s.account.address}`,
            `            ${hms(s.account.balance)}, ${formatEther(s.account.eth)} ETH, votes ${hms(s.account.votes)}`,
            `            bookkeeper ${enumName(BookkeeperStatus, s.account.stake.status)}, margin ${hms(s.account.stake.margin)}, ` +
              `delegated ${hms(s.account.stake.delegated)}, ${s.account.stake.locks.length} unbonding locks`,
          );
        return lines.join("\n");
      });
    }),
  );
  return program;
}
