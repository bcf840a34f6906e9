/** `hms delegate <bookkeeper> <amount>`: lend stake to a bookkeeper's pool (shares its rewards and its slashing risk). */
import type { Command } from "commander";
import { action, confirm, emit, hms, parseAddress, parseAmount, txText, withChainOptions } from "../runtime";

/** Registers `hms delegate` on `program`. */
export function registerDelegateCommand(program: Command): Command {
  withChainOptions(
    program
      .command("delegate <bookkeeper> <amount>")
      .description("lend HMS to a registered bookkeeper's stake (Lb); approves the staking contract if needed"),
    { signs: true },
  ).action(
    action(async (ctx, bookkeeperText: string, amountText: string) => {
      const bookkeeper = parseAddress(bookkeeperText, "bookkeeper");
      const amount = parseAmount(amountText);
      const client = await ctx.signer();
      await confirm(ctx, [`delegate ${hms(amount)} from ${client.account.address} to bookkeeper ${bookkeeper}`]);
      const r = await client.delegateStake({ bookkeeper, amount });
      emit(ctx, r, `delegated ${hms(amount)} to ${bookkeeper}: ${r.shares} shares\n${txText(r.approval, r)}`);
    }),
  );
  return program;
}
