/** `hms council motions|vote`: the bookkeeper council (PPoV committee): its motions and a member's vote. */
import type { Command } from "commander";
import { CouncilAction, enumName } from "../../client";
import { action, confirm, emit, parseAddress, parseEnum, txText, withChainOptions } from "../runtime";

/** Registers `hms council` on `program`. */
export function registerCouncilCommand(program: Command): Command {
  const council = program.command("council").description("the bookkeeper council: motions and votes");
  withChainOptions(
    council.command("motions").description("the council's members and open motions").option("--all", "closed ones too"),
  ).action(
    action(async (ctx, opts: { all?: boolean }) => {
      const m = await ctx.reader().getMotions({ all: opts.all });
      emit(ctx, m, () =>
        [
          `members: ${m.members.join(", ")}`,
          ...(m.motions.length === 0 ? ["no open motions"] : []),
          ...m.motions.map(
            (x) =>
              `${enumName(CouncilAction, x.action)} ${x.target}: ${x.open ? `open, ${x.approvals}/${x.required}` : "closed"}` +
              ` (by ${x.proposer}${x.reason ? `: ${x.reason}` : ""}) ${x.motionId}`,
          ),
        ].join("\n"),
      );
    }),
  );
  withChainOptions(
    council
      .command("vote <action> <target>")
      .description("approve the motion on (action, target); with --reason, open it if none is open")
      .option("--reason <text>", "open the motion with this reason (URI of the report) if it is not open"),
    { signs: true },
  ).action(
    action(async (ctx, actionText: string, targetText: string, opts: { reason?: string }) => {
      const act = parseEnum(CouncilAction, actionText, "action");
      const target = parseAddress(targetText, "target");
      const client = await ctx.signer();
      await confirm(ctx, [
        `${opts.reason !== undefined ? "propose or approve" : "approve"} ${enumName(CouncilAction, act)} of ${target} as ${client.account.address}`,
      ]);
      const r = await client.voteMotion({ action: act, target, reason: opts.reason });
      emit(
        ctx,
        r,
        `${r.proposed ? "proposed" : "voted"} ${r.motionId}: ${r.approvals}/${r.required}${r.executed ? ", executed" : ""}\n${txText(r)}`,
      );
    }),
  );
  return program;
}
