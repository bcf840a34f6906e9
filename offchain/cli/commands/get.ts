/**
 * `hms get <cid|/path> [-o file] [--offset n] [--length n] [--owner address] [--json]`: a verified read of a
 * stored file (every slice checked against its CID; a bad copy is reported and another replica tried), or of a
 * byte range of it. The bytes go to `-o file` (written to `file.part`, renamed once complete: never a partial
 * file under the name) or to stdout. Progress on stderr as for `hms put`. `--json` (with `-o`) prints what was
 * written. A path is looked up in your namespace (or `--owner`'s); a CID anywhere.
 */
import fs from "node:fs";
import type { Command } from "commander";
import { HmsError } from "../../core/errors";
import { localAction, parseInteger, toJson, type CliIo } from "../runtime";
import {
  isIndexPath,
  parseCidArg,
  progressFor,
  readOwner,
  storageClient,
  withStorageOptions,
  type StorageUserOptions,
} from "./storage-user";

interface GetOptions extends StorageUserOptions {
  output?: string;
  offset?: string;
  length?: string;
}

async function runGet(io: CliIo, opts: GetOptions, what: string): Promise<void> {
  const cid = isIndexPath(what) ? undefined : await parseCidArg(what);
  const offset = opts.offset === undefined ? undefined : parseInteger(opts.offset, "--offset");
  const length = opts.length === undefined ? undefined : parseInteger(opts.length, "--length");
  if (opts.json && opts.output === undefined)
    throw new HmsError("CLI_USAGE", "--json prints a summary: give -o <file> for the bytes", { value: "--json" });
  if (opts.output !== undefined) {
    const dir = fs.existsSync(opts.output) && fs.statSync(opts.output).isDirectory();
    if (dir) throw new HmsError("CLI_FILE", `${opts.output} is a directory`, { value: opts.output });
  }
  const client = await storageClient(io, opts, "optional");
  try {
    const read = await client.getFile(
      cid !== undefined ? { cid, offset, length } : { path: what, owner: readOwner(client, opts), offset, length },
    );
    const total = Number(read.length);
    const progress = progressFor(io, opts, `get ${read.file.path}`, total);
    const started = Date.now();
    let done = 0;
    const part = opts.output === undefined ? undefined : `${opts.output}.part`;
    let out: fs.WriteStream | undefined;
    try {
      if (part !== undefined) {
        try {
          out = fs.createWriteStream(part, { flags: "w" });
          await new Promise<void>((resolve, reject) => out!.once("open", () => resolve()).once("error", reject));
        } catch (err) {
          throw new HmsError("CLI_FILE", `cannot write ${part}: ${(err as Error).message}`, {
            value: part,
            cause: err,
          });
        }
      }
      for await (const chunk of read) {
        if (out !== undefined) {
          if (!out.write(chunk)) await new Promise<void>((resolve) => out!.once("drain", () => resolve()));
        } else await io.stdoutBytes!(chunk);
        done += chunk.length;
        progress.update(done);
      }
      if (out !== undefined) {
        await new Promise<void>((resolve, reject) => out!.end((err?: Error | null) => (err ? reject(err) : resolve())));
        fs.renameSync(part!, opts.output!);
      }
    } catch (err) {
      progress.abort();
      // The reader of stdout went away (`hms get … | head`): stop reading, like any Unix filter.
      if (out === undefined && (err as NodeJS.ErrnoException)?.code === "EPIPE") {
        await read.stream.cancel().catch(() => undefined);
        return;
      }
      if (out !== undefined) {
        out.destroy();
        fs.rmSync(part!, { force: true });
      }
      throw err;
    }
    progress.finish();
    if (opts.json)
      io.stdout(
        toJson({
          rootCid: read.file.rootCid,
          path: read.file.path,
          owner: read.file.owner,
          size: read.file.size,
          offset: read.offset,
          length: read.length,
          output: opts.output,
          seconds: (Date.now() - started) / 1000,
        }) + "\n",
      );
  } finally {
    await client.close();
  }
}

/** Registers `hms get` on `program`. */
export function registerGetCommand(program: Command): Command {
  withStorageOptions(
    program
      .command("get")
      .description("read a stored file (verified slice by slice) by CID or by path, to a file or stdout")
      .argument("<cid|/path>", "the file's root CID, or its path in your namespace (or --owner's)")
      .option("-o, --output <file>", "write to this file (default: stdout)")
      .option("--offset <bytes>", "first byte to read (default 0)")
      .option("--length <bytes>", "bytes to read (default: to the end)"),
    { owner: true },
  ).action(localAction(async (io, opts, what: string) => runGet(io, opts as GetOptions, what)));
  return program;
}
