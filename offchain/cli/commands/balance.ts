/** `hms balance [address]`: HMS and gas balance, voting power and vote delegatee (default: the signing account). */
import type { Command } from "commander";
import { action, emit, hms, namedAddress, signingAccount, withChainOptions } from "../runtime";
import { formatEther } from "viem";

/** Registers `hms balance` on `program`. */
export function registerBalanceCommand(program: Command): Command {
  withChainOptions(
    program
      .command("balance [address]")
      .description("HMS and ETH balance, voting power and delegatee of an address (default: your account)")
      .option("--account <name|address>", "keystore key whose address to show (default $HMS_ACCOUNT)")
      .option("--keystore <dir>", "keystore directory"),
  ).action(
    action(async (ctx, address?: string) => {
      const who = namedAddress(ctx, address) ?? (await signingAccount(ctx.io, ctx.opts)).address;
      const b = await ctx.reader().getTokenBalance({ address: who });
      emit(
        ctx,
        b,
        `${b.address}\n  HMS    ${hms(b.balance)}\n  ETH    ${formatEther(b.eth)}\n  votes  ${hms(b.votes)}` +
          `  (delegates to ${b.delegatee})`,
      );
    }),
  );
  return program;
}
