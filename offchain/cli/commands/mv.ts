/**
 * `hms mv <path> <target> [--json]`: renames a file or a directory in your namespace (onto an existing directory,
 * or a target ending in `/`: moves into it). Only the index changes; no bytes move.
 */
import type { Command } from "commander";
import { localAction, toJson, type CliIo } from "../runtime";
import { storageClient, withStorageOptions, type StorageUserOptions } from "./storage-user";

async function runMv(io: CliIo, opts: StorageUserOptions, from: string, to: string): Promise<void> {
  const client = await storageClient(io, opts, "required");
  try {
    const commit = await client.moveFile({ path: from, target: to });
    io.stdout(opts.json ? toJson({ path: from, target: to, moved: true, commit }) + "\n" : `moved ${from} → ${to}\n`);
  } finally {
    await client.close();
  }
}

/** Registers `hms mv` on `program`. */
export function registerMvCommand(program: Command): Command {
  withStorageOptions(
    program
      .command("mv")
      .description("rename or move a file or directory in your namespace in the index")
      .argument("<path>", "what to move")
      .argument("<target>", "where to (a trailing / or an existing directory: into it)"),
  ).action(localAction(async (io, opts, from: string, to: string) => runMv(io, opts as StorageUserOptions, from, to)));
  return program;
}
