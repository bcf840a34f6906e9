/** `hms transfer <to> <amount>`: sends HMS (after a confirmation; `--yes` skips it). */
import type { Command } from "commander";
import { action, confirm, emit, hms, parseAddress, parseAmount, txText, withChainOptions } from "../runtime";

/** Registers `hms transfer` on `program`. */
export function registerTransferCommand(program: Command): Command {
  withChainOptions(
    program.command("transfer <to> <amount>").description("send HMS (amount in HMS, e.g. 12.5, or in wei: 10wei)"),
    { signs: true },
  ).action(
    action(async (ctx, toText: string, amountText: string) => {
      const to = parseAddress(toText, "recipient");
      const amount = parseAmount(amountText);
      const client = await ctx.signer();
      await confirm(ctx, [`transfer ${hms(amount)} from ${client.account.address} to ${to}`]);
      const r = await client.transferTokens({ to, amount });
      emit(ctx, r, `transferred ${hms(amount)} to ${to}\n${txText(r)}`);
    }),
  );
  return program;
}
