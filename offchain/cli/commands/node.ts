/**
 * `hms node register|key|payout|show`: resource and meta nodes in the NodeRegistry. The node's signing key signs its
 * consent to the registration here (`--signing-key-file`, the daemon's key file, or `--signing-account`).
 */
import type { Command } from "commander";
import { HmsError } from "../../core/errors";
import { NodeKind, Tier, enumName } from "../../client";
import {
  action,
  confirm,
  daemonKey,
  emit,
  hms,
  parseAddress,
  parseBytes32,
  parseEnum,
  parseInteger,
  txText,
  withChainOptions,
  withSigningKeyOptions,
  type SigningKeyOptions,
} from "../runtime";

interface RegisterOptions extends SigningKeyOptions {
  kind: string;
  tier: string;
  region: string;
  capacity: string;
  endpoint: string;
  payout?: string;
  nodeId?: string;
}

/** Registers `hms node` on `program`. */
export function registerNodeCommand(program: Command): Command {
  const node = program.command("node").description("register and manage storage, container and meta nodes");
  withSigningKeyOptions(
    withChainOptions(
      node
        .command("register")
        .description("register a node with its signing key's proof; prints the node id")
        .requiredOption("--kind <kind>", "storage | container | meta")
        .requiredOption("--endpoint <url>", "where the node's daemon is reachable")
        .option("--capacity <n>", "GiB for storage, millicores for containers (0 for meta)", "0")
        .option("--tier <tier>", "lite | normal | super", "normal")
        .option("--region <code>", "region code (e.g. ISO 3166-1 numeric, 0 = unspecified)", "0")
        .option("--payout <address>", "where rewards and market payments go (default: your account)")
        .option("--node-id <id>", "node id (default: derived from the signing key)"),
      { signs: true },
    ),
    "the node's signing key (required)",
  ).action(
    action(async (ctx, opts: RegisterOptions) => {
      const kind = parseEnum(NodeKind, opts.kind === "compute" ? "container" : opts.kind, "kind");
      const tier = parseEnum(Tier, opts.tier, "tier");
      const capacity = parseInteger(opts.capacity, "capacity");
      const region = Number(parseInteger(opts.region, "region"));
      const signingKey = await daemonKey(ctx, opts);
      if (signingKey === undefined)
        throw new HmsError(
          "CLI_USAGE",
          "give the node's signing key: --signing-key-file <file> or --signing-account <name>",
        );
      const payout = opts.payout === undefined ? undefined : parseAddress(opts.payout, "payout");
      const nodeId = opts.nodeId === undefined ? undefined : parseBytes32(opts.nodeId, "node id");
      const client = await ctx.signer();
      await confirm(ctx, [
        `register a ${enumName(NodeKind, kind)} node (${enumName(Tier, tier)}, region ${region}, capacity ${capacity})`,
        `operator ${client.account.address}, signing key ${signingKey.address}, payout ${payout ?? client.account.address}`,
        `endpoint ${opts.endpoint}`,
      ]);
      const r = await client.registerNode({
        kind,
        tier,
        region,
        capacity,
        signingKey,
        payout,
        nodeId,
        endpoint: opts.endpoint,
      });
      emit(ctx, r, `registered node ${r.nodeId}\n${txText(r)}`);
    }),
  );
  withSigningKeyOptions(
    withChainOptions(node.command("key <nodeId>").description("rotate a node's signing key (operator only)"), {
      signs: true,
    }),
    "the new signing key (required)",
  ).action(
    action(async (ctx, id: string, opts: SigningKeyOptions) => {
      const nodeId = parseBytes32(id, "node id");
      const signingKey = await daemonKey(ctx, opts);
      if (signingKey === undefined)
        throw new HmsError("CLI_USAGE", "give the new key: --signing-key-file <file> or --signing-account <name>");
      const client = await ctx.signer();
      await confirm(ctx, [`set the signing key of node ${nodeId} to ${signingKey.address}`]);
      const r = await client.setNodeSigningKey({ nodeId, signingKey });
      emit(ctx, r, `node ${nodeId}: signing key ${r.previousKey} -> ${r.signingKey}\n${txText(r)}`);
    }),
  );
  withChainOptions(
    node.command("payout <nodeId> <address>").description("change where a node's rewards go (operator only)"),
    { signs: true },
  ).action(
    action(async (ctx, id: string, address: string) => {
      const nodeId = parseBytes32(id, "node id");
      const payout = parseAddress(address, "payout");
      const client = await ctx.signer();
      await confirm(ctx, [`pay node ${nodeId}'s rewards and market income to ${payout}`]);
      const r = await client.setNodePayout({ nodeId, payout });
      emit(ctx, r, `node ${nodeId}: payout ${r.previousPayout} -> ${r.payout}\n${txText(r)}`);
    }),
  );
  withChainOptions(node.command("show <nodeId>").description("a node's registry record")).action(
    action(async (ctx, id: string) => {
      const n = await ctx.reader().getNode({ nodeId: parseBytes32(id, "node id") });
      const balance = await ctx.reader().getTokenBalance({ address: n.payout });
      emit(
        ctx,
        { ...n, payoutBalance: balance.balance },
        [
          `node ${n.nodeId}: ${enumName(NodeKind, n.kind)}, ${enumName(Tier, n.tier)}, region ${n.region}, capacity ${n.capacity}`,
          `  ${n.active ? "active" : "inactive"}${n.retired ? ", retired" : ""}, registered at ${n.registeredAt}`,
          `  operator ${n.operator}\n  signing key ${n.signingKey}\n  payout ${n.payout} (${hms(balance.balance)})`,
          `  endpoint ${n.endpoint}`,
        ].join("\n"),
      );
    }),
  );
  return program;
}
