/** `hms mkdir <path> [--json]`: creates a directory (and its missing parents) in your namespace of the index. */
import type { Command } from "commander";
import { localAction, toJson, type CliIo } from "../runtime";
import { storageClient, withStorageOptions, type StorageUserOptions } from "./storage-user";

async function runMkdir(io: CliIo, opts: StorageUserOptions, dir: string): Promise<void> {
  const client = await storageClient(io, opts, "required");
  try {
    const commit = await client.makeDirectory({ path: dir });
    io.stdout(opts.json ? toJson({ path: dir, created: true, commit }) + "\n" : `created ${dir}\n`);
  } finally {
    await client.close();
  }
}

/** Registers `hms mkdir` on `program`. */
export function registerMkdirCommand(program: Command): Command {
  withStorageOptions(
    program
      .command("mkdir")
      .description("create a directory (with its parents) in your namespace in the index")
      .argument("<path>", "the directory"),
  ).action(localAction(async (io, opts, dir: string) => runMkdir(io, opts as StorageUserOptions, dir)));
  return program;
}
