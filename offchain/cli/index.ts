/**
 * `hms` — the HMS Network command line (bin/hms.js runs it through ts-node, so `npx hms …` works from the
 * repository without a build step). One file per command under ./commands/, each exporting a `register…`
 * function; this file only registers them. A command's modules load when it runs, so `hms --help` stays fast.
 *
 *   hms validator [-c file]                      run a bookkeeper validator daemon
 *   hms validator export-protection [-c] [-o]     write the signing record as EIP-3076-like JSON
 *   hms validator import-protection -f file [-c]  merge a signing record into the data directory
 *   hms traffic-source [-c file]                  serve the deterministic traffic feed
 *   hms storage [-c file]                         run a storage worker
 *   hms put | get | ls | stat | rm | mkdir | mv   store and read files through the meta layer
 *   hms devnet up | status | down                 the whole network on 127.0.0.1
 *   hms audit <period>                           check a reported period's rewards against its report document
 *
 * Every failure goes through ./run.ts: printed once, exit code from the error registry (docs/ERRORS.md);
 * usage errors (unknown option, missing argument, bad `--log-level`) exit 2.
 */
import { Command, CommanderError } from "commander";
import { EXIT_CODES } from "../core/error-codes";
import { printFailure } from "./run";
import { registerValidatorCommand } from "./commands/validator";
import { registerTrafficSourceCommand } from "./commands/traffic-source";
import { registerStorageCommand } from "./commands/storage";
import { registerMetaCommand } from "./commands/meta";
import { registerComputeCommands } from "./commands/compute";
import { registerDashboardCommand } from "./commands/dashboard";
// chain-side commands, keys and init (issue 18)
import { version } from "../../package.json";
import { registerKeysCommand } from "./commands/keys";
import { registerInitCommand } from "./commands/init";
import { registerStatusCommand } from "./commands/status";
import { registerBalanceCommand } from "./commands/balance";
import { registerTransferCommand } from "./commands/transfer";
import { registerNodeCommand } from "./commands/node";
import { registerBookkeeperCommand } from "./commands/bookkeeper";
import { registerDelegateCommand } from "./commands/delegate";
import { registerVoteCommand } from "./commands/vote";
import { registerRewardsCommand } from "./commands/rewards";
import { registerAuditCommand } from "./commands/audit";
import { registerMarketCommand } from "./commands/market";
import { registerAllocationCommand } from "./commands/allocation";
import { registerCouncilCommand } from "./commands/council";
// storage user commands (issue 12 item 8)
import { registerPutCommand } from "./commands/put";
import { registerGetCommand } from "./commands/get";
import { registerLsCommand } from "./commands/ls";
import { registerStatCommand } from "./commands/stat";
import { registerRmCommand } from "./commands/rm";
import { registerMkdirCommand } from "./commands/mkdir";
import { registerMvCommand } from "./commands/mv";
import { registerDevnetCommand } from "./commands/devnet";

/** The `hms` program. */
export function program(): Command {
  const p = new Command("hms").description("HMS Network daemons and tools").enablePositionalOptions();
  // Usage errors: commander prints its message once, then throws instead of exiting (exit code below).
  p.exitOverride();
  registerValidatorCommand(p);
  registerTrafficSourceCommand(p);
  registerStorageCommand(p);
  registerMetaCommand(p);
  registerComputeCommands(p);
  registerDashboardCommand(p);
  p.version(version, "-V, --version", "print the hms version");
  for (const register of [
    registerKeysCommand,
    registerInitCommand,
    registerStatusCommand,
    registerBalanceCommand,
    registerTransferCommand,
    registerNodeCommand,
    registerBookkeeperCommand,
    registerDelegateCommand,
    registerVoteCommand,
    registerRewardsCommand,
    registerAuditCommand,
    registerMarketCommand,
    registerAllocationCommand,
    registerCouncilCommand,
    registerPutCommand,
    registerGetCommand,
    registerLsCommand,
    registerStatCommand,
    registerRmCommand,
    registerMkdirCommand,
    registerMvCommand,
    registerDevnetCommand,
  ])
    register(p);
  return p;
}

/** Entry point of bin/hms.js. */
export function main(argv: string[] = process.argv): void {
  const p = program();
  p.parseAsync(argv).catch((err: unknown) => {
    if (err instanceof CommanderError) {
      // Already printed by commander (help and version are not failures).
      process.exit(err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.config);
    }
    const command = argv.slice(2).find((a) => !a.startsWith("-")) ?? "hms";
    process.exit(printFailure(err, command));
  });
}
