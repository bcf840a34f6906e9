/** `hms vote <bookkeeper>`: vote for a bookkeeper candidate with your HMS (ERC20Votes delegation of voting power). */
import type { Command } from "commander";
import { action, confirm, emit, hms, parseAddress, txText, withChainOptions } from "../runtime";

/** Registers `hms vote` on `program`. */
export function registerVoteCommand(program: Command): Command {
  withChainOptions(
    program
      .command("vote <bookkeeper>")
      .description("give your voting power (all your HMS, St) to a bookkeeper candidate; tokens stay yours"),
    { signs: true },
  ).action(
    action(async (ctx, bookkeeperText: string) => {
      const delegatee = parseAddress(bookkeeperText, "bookkeeper");
      const client = await ctx.signer();
      await confirm(ctx, [`delegate the voting power of ${client.account.address} to ${delegatee}`]);
      const r = await client.delegateVotes({ delegatee });
      emit(ctx, r, `${delegatee} now has ${hms(r.votes)} of votes\n${txText(r)}`);
    }),
  );
  return program;
}
