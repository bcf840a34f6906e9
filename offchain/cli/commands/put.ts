/**
 * `hms put <file|dir> [--to /path] [--slice-size bytes] [--copies n] [--json]`: stores a file — or a directory,
 * file by file, under the target path — in the network (every slice in `copies` copies down pipelined chains of
 * storage nodes, each copy's signed ack verified) and records it in the owner's namespace of the index. Prints
 * the root CID (a directory: one `CID  path` line per file); progress on stderr (a bar with bytes/s and ETA on a
 * terminal, a plain line every few seconds otherwise, nothing with `--json`).
 *
 * The target: `--to /x/name` stores the file as /x/name — or, when /x/name is an existing directory, as
 * /x/name/<file's name> (as `cp file dir` does); `--to /x/` (trailing slash) or no `--to` keeps the file's name
 * (under /x/ or /); a directory goes to `--to` (default `/<its name>`), its files at their relative paths, empty
 * sub-directories created. A target the index would refuse (a file where a directory is needed, or the reverse)
 * fails before any byte is uploaded.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import type { PutFileReturnType } from "../../client/storage/actions/putFile";
import { HmsError, isHmsError } from "../../core/errors";
import { localAction, parseInteger, toJson, type CliIo } from "../runtime";
import { doneLine } from "../progress";
import { progressFor, storageClient, withStorageOptions, type StorageUserOptions } from "./storage-user";

interface PutOptions extends StorageUserOptions {
  to?: string;
  sliceSize?: string;
  copies?: string;
}

/** One file to store: where it is and where it goes. */
export interface PutItem {
  local: string;
  target: string;
  size: number;
}

function statOf(file: string): fs.Stats {
  try {
    return fs.statSync(file);
  } catch (err) {
    throw new HmsError(
      "CLI_FILE",
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        value: file,
        cause: err,
      },
    );
  }
}

function join(dir: string, rel: string): string {
  return `${dir.replace(/\/+$/, "")}/${rel}`;
}

/**
 * What `hms put <source> [--to]` stores: the files (sorted, by relative path) with their targets, and the empty
 * directories to create. Symbolic links are followed; anything but regular files and directories is refused.
 */
export function planPut(source: string, to: string | undefined): { items: PutItem[]; dirs: string[]; root: string } {
  const st = statOf(source);
  const name = path.basename(path.resolve(source));
  if (st.isFile()) {
    const target = to === undefined ? `/${name}` : to.endsWith("/") ? join(to, name) : to;
    return { items: [{ local: source, target, size: st.size }], dirs: [], root: target };
  }
  if (!st.isDirectory())
    throw new HmsError("CLI_FILE", `${source} is neither a regular file nor a directory`, { value: source });
  const root = (to ?? `/${name}`).replace(/(.)\/+$/, "$1");
  const items: PutItem[] = [];
  const dirs: string[] = [];
  const walk = (dir: string, rel: string) => {
    const names = fs.readdirSync(dir).sort();
    if (names.length === 0) dirs.push(rel === "" ? root : join(root, rel));
    for (const n of names) {
      const full = path.join(dir, n);
      const r = rel === "" ? n : `${rel}/${n}`;
      const s = statOf(full);
      if (s.isDirectory()) walk(full, r);
      else if (s.isFile()) items.push({ local: full, target: join(root, r), size: s.size });
      else throw new HmsError("CLI_FILE", `${full} is neither a regular file nor a directory`, { value: full });
    }
  };
  walk(source, "");
  return { items, dirs, root };
}

async function runPut(io: CliIo, opts: PutOptions, source: string): Promise<void> {
  const sliceSize = opts.sliceSize === undefined ? undefined : Number(parseInteger(opts.sliceSize, "--slice-size"));
  const copies = opts.copies === undefined ? undefined : Number(parseInteger(opts.copies, "--copies"));
  const plan = planPut(source, opts.to);
  const client = await storageClient(io, opts, "required");
  try {
    const total = plan.items.reduce((a, i) => a + i.size, 0);
    const single = plan.items.length === 1 && plan.dirs.length === 0 && fs.statSync(source).isFile();
    if (single && opts.to !== undefined && !opts.to.endsWith("/")) {
      // `cp file dir`: an existing directory at the target receives the file under its own name.
      const at = await client.statFile({ path: opts.to }).catch((err: unknown) => {
        if (isHmsError(err) && err.code === "META_NOT_FOUND") return undefined;
        throw err;
      });
      if (at?.kind === "dir") {
        plan.items[0].target = join(opts.to, path.basename(path.resolve(source)));
        plan.root = plan.items[0].target;
      }
    }
    const label = `put ${single ? path.basename(source) : `${source} (${plan.items.length} files)`}`;
    const progress = progressFor(io, opts, label, total);
    const started = Date.now();
    const files: Array<PutFileReturnType & { copies: number; local: string }> = [];
    let before = 0;
    try {
      for (const d of plan.dirs) await client.makeDirectory({ path: d });
      for (const item of plan.items) {
        const base = before;
        const r = await client.putFile({
          source: { file: item.local },
          path: item.target,
          sliceSize,
          copies,
          onProgress: (p) => progress.update(base + Number(p.bytes)),
        });
        before += item.size;
        progress.update(before);
        files.push({ ...r, copies: copies ?? 3, local: item.local });
        if (!opts.json && !single) io.stdout(`${r.rootCid}  ${r.path}\n`);
      }
    } catch (err) {
      progress.abort();
      throw err;
    }
    const seconds = (Date.now() - started) / 1000;
    progress.finish(
      `${doneLine(label, total, Date.now() - started)}${single ? ` → ${files[0].path}` : ` → ${plan.root}`}`,
    );
    if (opts.json) {
      const out = (f: (typeof files)[number]) => ({
        path: f.path,
        rootCid: f.rootCid,
        size: f.size,
        sliceSize: f.sliceSize,
        slices: f.slices,
        copies: f.copies,
        uploadId: f.uploadId,
        commit: f.commit,
        replaced: f.replaced,
        local: f.local,
      });
      io.stdout(
        toJson(
          single
            ? { ...out(files[0]), seconds }
            : { path: plan.root, files: files.map(out), directories: plan.dirs, size: total, seconds },
        ) + "\n",
      );
    } else if (single) io.stdout(`${files[0].rootCid}\n`);
    else if (files.length === 0) io.stdout(`(no files; created ${plan.dirs.join(", ")})\n`);
  } finally {
    await client.close();
  }
}

/** Registers `hms put` on `program`. */
export function registerPutCommand(program: Command): Command {
  withStorageOptions(
    program
      .command("put")
      .description("store a file or a directory in the network (3 verified copies) and record it in your namespace")
      .argument("<file|dir>", "what to store (a directory: file by file, under the target path)")
      .option("--to <path>", "target path in your namespace (default /<name>; a trailing / keeps the name)")
      .option("--slice-size <bytes>", "slice size in bytes (default 1048576)")
      .option("--copies <n>", "copies of every slice (default 3)"),
  ).action(localAction(async (io, opts, source: string) => runPut(io, opts as PutOptions, source)));
  return program;
}
