/** `hms market offers|offer|order|take|close|withdraw|leases`: the resource market, from both sides. */
import type { Command } from "commander";
import { getBlock } from "viem/actions";
import { LeaseStatus, ResourceKind, Tier, enumName, type Offer } from "../../client";
import { HmsError } from "../../core/errors";
import {
  action,
  confirm,
  emit,
  hms,
  parseAddress,
  parseAmount,
  parseBytes32,
  parseEnum,
  parseInteger,
  signingAccount,
  txText,
  withChainOptions,
} from "../runtime";

const offerLine = (o: Offer) =>
  `offer ${o.offerId}: ${enumName(ResourceKind, o.kind)} ${o.units} units (${o.unitsInUse} in use) at ${o.pricePerUnitSecond} wei/unit·s, ` +
  `${o.minDuration}-${o.maxDuration} s, region ${o.region}, ${enumName(Tier, o.tier)}, node ${o.nodeId}${o.active ? "" : " (inactive)"}`;

/** Parses a price: HMS per unit-second as an amount ("0.000000001" or "1gwei" or "1000wei"). */
function parsePrice(text: string): bigint {
  const t = text.trim();
  if (t.endsWith("gwei")) return parseInteger(t.slice(0, -4), "price") * 10n ** 9n;
  return parseAmount(t, "price");
}

/** Registers `hms market` on `program`. */
export function registerMarketCommand(program: Command): Command {
  const market = program.command("market").description("lease storage, compute and bandwidth; offer your node's");
  withChainOptions(
    market
      .command("offers")
      .description("active offers")
      .option("--kind <kind>", "storage | compute | bandwidth (default: all)")
      .option("--limit <n>", "most offers per kind", "100"),
  ).action(
    action(async (ctx, opts: { kind?: string; limit: string }) => {
      const kind = opts.kind === undefined ? undefined : parseEnum(ResourceKind, opts.kind, "kind");
      const offers = await ctx.reader().getOffers({ kind, limit: Number(parseInteger(opts.limit, "limit")) });
      emit(ctx, offers, offers.length === 0 ? "no active offers" : offers.map(offerLine).join("\n"));
    }),
  );
  withChainOptions(
    market
      .command("offer [offerId]")
      .description("show an offer, or post one with --node (provider)")
      .option("--node <id>", "post an offer for this node (you must be its operator)")
      .option("--kind <kind>", "storage | compute | bandwidth", "storage")
      .option("--units <n>", "capacity offered (GiB, millicores, Mbit/s)")
      .option("--price <price>", "HMS per unit-second, e.g. 1gwei or 0.000000001")
      .option("--min-duration <s>", "shortest lease (s)", "3600")
      .option("--max-duration <s>", "longest lease (s)", String(30 * 86_400)),
    { signs: true },
  ).action(
    action(
      async (
        ctx,
        offerIdText: string | undefined,
        opts: { node?: string; kind: string; units?: string; price?: string; minDuration: string; maxDuration: string },
      ) => {
        if (opts.node === undefined) {
          if (offerIdText === undefined)
            throw new HmsError("CLI_USAGE", "give an offer id to show, or --node to post one");
          const o = await ctx.reader().getOffer({ offerId: parseInteger(offerIdText, "offer id") });
          return emit(ctx, o, offerLine(o));
        }
        if (opts.units === undefined || opts.price === undefined)
          throw new HmsError("CLI_USAGE", "posting an offer needs --units and --price");
        const params = {
          nodeId: parseBytes32(opts.node, "node id"),
          kind: parseEnum(ResourceKind, opts.kind, "kind"),
          units: parseInteger(opts.units, "units"),
          pricePerUnitSecond: parsePrice(opts.price),
          minDuration: parseInteger(opts.minDuration, "min duration"),
          maxDuration: parseInteger(opts.maxDuration, "max duration"),
        };
        const client = await ctx.signer();
        await confirm(ctx, [
          `offer ${params.units} units of ${enumName(ResourceKind, params.kind)} from node ${params.nodeId}`,
          `at ${params.pricePerUnitSecond} wei per unit-second, leases of ${params.minDuration}-${params.maxDuration} s`,
        ]);
        const r = await client.postOffer(params);
        emit(ctx, r, `posted offer ${r.offerId}\n${txText(r)}`);
      },
    ),
  );
  withChainOptions(
    market
      .command("order")
      .description("create an order with its escrow (approves the market if needed); prints the order id")
      .option("--kind <kind>", "storage | compute | bandwidth", "storage")
      .requiredOption("--units <n>", "units wanted")
      .requiredOption("--max-price <price>", "highest HMS per unit-second, e.g. 2gwei")
      .requiredOption("--duration <s>", "lease duration (s)")
      .option("--region <code>", "required region, 0 = any", "0")
      .option("--min-tier <tier>", "lite | normal | super", "lite")
      .option("--expires-in <s>", "the order can be filled for this long", "3600"),
    { signs: true },
  ).action(
    action(
      async (
        ctx,
        opts: {
          kind: string;
          units: string;
          maxPrice: string;
          duration: string;
          region: string;
          minTier: string;
          expiresIn: string;
        },
      ) => {
        const client = await ctx.signer();
        const now = (await getBlock(client)).timestamp;
        const params = {
          kind: parseEnum(ResourceKind, opts.kind, "kind"),
          units: parseInteger(opts.units, "units"),
          maxPricePerUnitSecond: parsePrice(opts.maxPrice),
          duration: parseInteger(opts.duration, "duration"),
          region: Number(parseInteger(opts.region, "region")),
          minTier: parseEnum(Tier, opts.minTier, "min tier"),
          expiresAt: now + parseInteger(opts.expiresIn, "expires in"),
        };
        const escrow = params.maxPricePerUnitSecond * params.units * params.duration;
        await confirm(ctx, [
          `order ${params.units} units of ${enumName(ResourceKind, params.kind)} for ${params.duration} s at most ${params.maxPricePerUnitSecond} wei/unit·s`,
          `escrow ${hms(escrow)} from ${client.account.address} (the excess over the taken price comes back)`,
        ]);
        const r = await client.createOrder(params);
        emit(ctx, r, `created order ${r.orderId}, escrow ${hms(r.escrow)}\n${txText(r.approval, r)}`);
      },
    ),
  );
  withChainOptions(
    market
      .command("take <orderId> <offerId>")
      .description("fill your order from an offer; prints the lease id")
      .option("--max-price <price>", "highest price accepted (default: the offer's price now)"),
    { signs: true },
  ).action(
    action(async (ctx, orderText: string, offerText: string, opts: { maxPrice?: string }) => {
      const orderId = parseInteger(orderText, "order id");
      const offerId = parseInteger(offerText, "offer id");
      const client = await ctx.signer();
      const offer = await client.getOffer({ offerId });
      const limit = opts.maxPrice === undefined ? offer.pricePerUnitSecond : parsePrice(opts.maxPrice);
      await confirm(ctx, [
        `fill order ${orderId} from offer ${offerId} (node ${offer.nodeId}) at ≤ ${limit} wei/unit·s`,
      ]);
      const r = await client.takeOffer({ orderId, offerId, maxPricePerUnitSecond: limit });
      emit(
        ctx,
        r,
        `lease ${r.leaseId} on node ${r.nodeId}: escrow ${hms(r.escrow)}, refunded ${hms(r.excessRefund)}\n${txText(r)}`,
      );
    }),
  );
  withChainOptions(market.command("close <leaseId>").description("end a lease early (user: refund of the rest)"), {
    signs: true,
  }).action(
    action(async (ctx, leaseText: string) => {
      const leaseId = parseInteger(leaseText, "lease id");
      const client = await ctx.signer();
      await confirm(ctx, [`close lease ${leaseId} now`]);
      const r = await client.closeLease({ leaseId });
      emit(ctx, r, `closed lease ${leaseId}: refund ${hms(r.refund)}\n${txText(r)}`);
    }),
  );
  withChainOptions(
    market.command("withdraw <leaseIds...>").description("provider: settle what leases accrued (payout + 1 % fee)"),
    { signs: true },
  ).action(
    action(async (ctx, ids: string[]) => {
      const leaseIds = ids.map((t) => parseInteger(t, "lease id"));
      const client = await ctx.signer();
      await confirm(ctx, [`settle leases ${leaseIds.join(", ")} to their node's payout address`]);
      const r = await client.withdrawLease({ leaseIds });
      emit(ctx, r, `settled ${hms(r.total)} over ${r.settled.length} leases\n${txText(r)}`);
    }),
  );
  withChainOptions(
    market
      .command("leases")
      .description("leases you pay for (default), a user's (--user) or a node's (--node)")
      .option("--user <address>", "the paying user")
      .option("--node <id>", "the serving node")
      .option("--active", "only active leases")
      .option("--account <name|address>", "keystore key whose leases to show")
      .option("--keystore <dir>", "keystore directory"),
  ).action(
    action(async (ctx, opts: { user?: string; node?: string; active?: boolean }) => {
      const nodeId = opts.node === undefined ? undefined : parseBytes32(opts.node, "node id");
      const user =
        opts.user !== undefined
          ? parseAddress(opts.user, "user")
          : nodeId === undefined
            ? (await signingAccount(ctx.io, ctx.opts)).address
            : undefined;
      const leases = await ctx.reader().getLeases({ user, nodeId, activeOnly: opts.active });
      emit(
        ctx,
        leases,
        leases.length === 0
          ? "no leases"
          : leases
              .map(
                (l) =>
                  `lease ${l.leaseId}: ${enumName(LeaseStatus, l.status)}, node ${l.nodeId}, ${l.units} units, ${l.start}-${l.end}, ` +
                  `accrued ${hms(l.accrued)}, withdrawable ${hms(l.withdrawable)}, escrow ${hms(l.escrow)}`,
              )
              .join("\n"),
      );
    }),
  );
  return program;
}
