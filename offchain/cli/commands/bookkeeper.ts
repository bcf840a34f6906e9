/** `hms bookkeeper register|stake|unbond|withdraw|show`: a bookkeeper's margin, key and unbonding locks. */
import type { Command } from "commander";
import { BookkeeperStatus, enumName } from "../../client";
import {
  action,
  confirm,
  daemonKey,
  emit,
  hms,
  namedAddress,
  parseAmount,
  parseInteger,
  signingAccount,
  txText,
  withChainOptions,
  withSigningKeyOptions,
  type SigningKeyOptions,
} from "../runtime";

/** Registers `hms bookkeeper` on `program`. */
export function registerBookkeeperCommand(program: Command): Command {
  const bk = program.command("bookkeeper").description("stake as a bookkeeper (validator) and manage the stake");
  withSigningKeyOptions(
    withChainOptions(
      bk
        .command("register <amount>")
        .description("become a candidate: set the validator's signing key, approve and deposit the margin")
        .option("--commission <bps>", "commission on delegators' rewards, in basis points", "1000"),
      { signs: true },
    ),
    "the validator daemon's signing key (needed unless already set)",
  ).action(
    action(async (ctx, amountText: string, opts: SigningKeyOptions & { commission: string }) => {
      const amount = parseAmount(amountText);
      const commissionBps = Number(parseInteger(opts.commission, "commission"));
      const signingKey = await daemonKey(ctx, opts);
      const client = await ctx.signer();
      await confirm(ctx, [
        `register ${client.account.address} as a bookkeeper with a margin of ${hms(amount)}, commission ${commissionBps} bps`,
        ...(signingKey ? [`set its signing key to ${signingKey.address}`] : []),
        "approve the staking contract for the margin if needed",
      ]);
      const r = await client.registerBookkeeper({ amount, commissionBps, signingKey });
      emit(
        ctx,
        r,
        `registered bookkeeper ${r.bookkeeper}: margin ${hms(r.margin)}, key ${r.signingKey}\n${txText(r.keyRegistration, r.approval, r)}`,
      );
    }),
  );
  withChainOptions(bk.command("stake <amount>").description("add to your margin"), { signs: true }).action(
    action(async (ctx, amountText: string) => {
      const amount = parseAmount(amountText);
      const client = await ctx.signer();
      await confirm(ctx, [`add ${hms(amount)} to the margin of ${client.account.address}`]);
      const r = await client.addStake({ amount });
      emit(ctx, r, `margin now ${hms(r.margin)}\n${txText(r.approval, r)}`);
    }),
  );
  withChainOptions(
    bk.command("unbond <amount>").description("start unbonding margin (all of it leaves the candidate list)"),
    { signs: true },
  ).action(
    action(async (ctx, amountText: string) => {
      const amount = parseAmount(amountText);
      const client = await ctx.signer();
      await confirm(ctx, [
        `unbond ${hms(amount)} of ${client.account.address}'s margin (withdrawable after the unbonding wait)`,
      ]);
      const r = await client.unbondStake({ amount });
      emit(
        ctx,
        r,
        `lock ${r.lockId}: ${hms(r.amount)} withdrawable from ${new Date(Number(r.releaseAt) * 1000).toISOString()}\n${txText(r)}`,
      );
    }),
  );
  withChainOptions(bk.command("withdraw").description("withdraw every matured unbonding lock"), {
    signs: true,
  }).action(
    action(async (ctx) => {
      const client = await ctx.signer();
      await confirm(ctx, [`withdraw the matured unbonding locks of ${client.account.address}`]);
      const r = await client.withdrawStake();
      emit(ctx, r, `withdrew ${hms(r.paid)} (locks ${r.lockIds.join(", ")})\n${txText(r)}`);
    }),
  );
  withChainOptions(
    bk
      .command("show [address]")
      .description("a bookkeeper's status, stake, key, weight and locks (default: your account)")
      .option("--account <name|address>", "keystore key to show (default $HMS_ACCOUNT)")
      .option("--keystore <dir>", "keystore directory"),
  ).action(
    action(async (ctx, addressText?: string) => {
      const address = namedAddress(ctx, addressText) ?? (await signingAccount(ctx.io, ctx.opts)).address;
      const b = await ctx.reader().getBookkeeper({ address });
      emit(ctx, b, () =>
        [
          `bookkeeper ${b.address}: ${enumName(BookkeeperStatus, b.status)}${b.inCommittee ? ", in the committee" : ""}`,
          `  margin ${hms(b.margin)}, delegated ${hms(b.delegated)}, commission ${b.commissionBps} bps, weight ${b.weight}`,
          `  signing key ${b.signingKey}, missed duties ${b.pendingMisses}`,
          ...b.locks.map(
            (l) =>
              `  lock ${l.id}: ${hms(l.amount)} (${l.own ? "margin" : `delegation to ${l.bookkeeper}`}) from ${new Date(Number(l.releaseAt) * 1000).toISOString()}`,
          ),
        ].join("\n"),
      );
    }),
  );
  return program;
}
