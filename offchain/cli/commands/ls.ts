/**
 * `hms ls [/path] [--owner address] [--json]`: the entries of a directory in your namespace (or `--owner`'s):
 * kind, size, root CID and name; `--json` prints `{ owner, path, entries }`.
 */
import type { Command } from "commander";
import { localAction, toJson, type CliIo } from "../runtime";
import { formatBytes } from "../progress";
import { readOwner, storageClient, withStorageOptions, type StorageUserOptions } from "./storage-user";

async function runLs(io: CliIo, opts: StorageUserOptions, dir: string | undefined): Promise<void> {
  const client = await storageClient(io, opts, "optional");
  try {
    const owner = readOwner(client, opts);
    const path = dir ?? "/";
    const entries = await client.listFiles({ path, owner });
    if (opts.json) {
      io.stdout(toJson({ owner, path, entries }) + "\n");
      return;
    }
    if (entries.length === 0) {
      io.stdout(`(empty: ${path})\n`);
      return;
    }
    for (const e of entries)
      io.stdout(
        e.kind === "dir"
          ? `${"dir".padEnd(5)}${"-".padStart(11)}  ${"-".padEnd(59)}  ${e.name}/\n`
          : `${"file".padEnd(5)}${formatBytes(e.size).padStart(11)}  ${e.rootCid.padEnd(59)}  ${e.name}\n`,
      );
  } finally {
    await client.close();
  }
}

/** Registers `hms ls` on `program`. */
export function registerLsCommand(program: Command): Command {
  withStorageOptions(
    program
      .command("ls")
      .description("list a directory of your namespace in the index (files with size and root CID)")
      .argument("[path]", "directory (default /)"),
    { owner: true },
  ).action(localAction(async (io, opts, dir: string | undefined) => runLs(io, opts as StorageUserOptions, dir)));
  return program;
}
