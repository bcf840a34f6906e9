/**
 * `hms rm <path> [-r] [--json]`: removes a file or an empty directory (`-r`: a directory and everything below)
 * from your namespace — an owner-signed index write; the slices no other file uses are collected by the storage
 * nodes' GC afterwards.
 */
import type { Command } from "commander";
import { localAction, parseAddress, toJson, type CliIo } from "../runtime";
import { storageClient, withStorageOptions, type StorageUserOptions } from "./storage-user";

async function runRm(io: CliIo, opts: StorageUserOptions & { recursive?: boolean }, target: string): Promise<void> {
  const client = await storageClient(io, opts, "required");
  try {
    const owner = opts.owner === undefined ? undefined : parseAddress(opts.owner, "--owner");
    const commit = await client.removeFile({ path: target, recursive: opts.recursive === true, owner });
    io.stdout(opts.json ? toJson({ path: target, removed: true, commit }) + "\n" : `removed ${target}\n`);
  } finally {
    await client.close();
  }
}

/** Registers `hms rm` on `program`. */
export function registerRmCommand(program: Command): Command {
  withStorageOptions(
    program
      .command("rm")
      .description("remove a file or directory from your namespace in the index")
      .argument("<path>", "the path to remove")
      .option("-r, --recursive", "remove a directory and everything below it"),
    { owner: true },
  ).action(localAction(async (io, opts, target: string) => runRm(io, opts as StorageUserOptions, target)));
  return program;
}
