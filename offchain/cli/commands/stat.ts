/**
 * `hms stat <cid|/path> [--owner address] [--json]`: what the index records of a file (owner, path, size, root
 * CID, slice size and count, the upload, the log position and time of the write) or of a directory (its number
 * of entries). A CID is looked up anywhere, a path in your namespace (or `--owner`'s).
 */
import type { Command } from "commander";
import type { StorageStat } from "../../client/storage/actions/types";
import { localAction, toJson, type CliIo } from "../runtime";
import { formatBytes } from "../progress";
import {
  isIndexPath,
  parseCidArg,
  readOwner,
  storageClient,
  withStorageOptions,
  type StorageUserOptions,
} from "./storage-user";

/** The human text of a stat. */
export function statText(s: StorageStat): string {
  const time = (t: bigint) => (t > 0n ? new Date(Number(t) * 1000).toISOString() : "-");
  if (s.kind === "dir")
    return [
      `path:     ${s.dir.path}`,
      "kind:     directory",
      `owner:    ${s.dir.owner}`,
      `entries:  ${s.children}`,
      `written:  ${time(s.dir.time)} (log ${s.dir.term}/${s.dir.index})`,
    ].join("\n");
  const f = s.file;
  return [
    `path:     ${f.path}`,
    "kind:     file",
    `owner:    ${f.owner}`,
    `size:     ${f.size} bytes (${formatBytes(f.size)})`,
    `cid:      ${f.rootCid}`,
    `slices:   ${f.slices.length} × ${f.sliceSize} bytes, ${f.dagBlocks.length} DAG block(s)`,
    `upload:   ${f.uploadId}`,
    `written:  ${time(f.time)} (log ${f.term}/${f.index})`,
  ].join("\n");
}

async function runStat(io: CliIo, opts: StorageUserOptions, what: string): Promise<void> {
  const cid = isIndexPath(what) ? undefined : await parseCidArg(what);
  const client = await storageClient(io, opts, "optional");
  try {
    const s = await client.statFile(cid !== undefined ? { cid } : { path: what, owner: readOwner(client, opts) });
    io.stdout((opts.json ? toJson(s) : statText(s)) + "\n");
  } finally {
    await client.close();
  }
}

/** Registers `hms stat` on `program`. */
export function registerStatCommand(program: Command): Command {
  withStorageOptions(
    program
      .command("stat")
      .description("show what the index records of a stored file or directory")
      .argument("<cid|/path>", "a root CID, or a path in your namespace (or --owner's)"),
    { owner: true },
  ).action(localAction(async (io, opts, what: string) => runStat(io, opts as StorageUserOptions, what)));
  return program;
}
