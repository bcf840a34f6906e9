/**
 * What the storage user commands (`hms put`, `get`, `ls`, `stat`, `rm`, `mkdir`, `mv`) share: where the meta nodes
 * are (`--meta <url,…>`, else `$HMS_META_URLS`, comma-separated), the owner's key the same way the chain-side
 * commands get theirs (`--account` / `$HMS_ACCOUNT` from the keystore, else `$HMS_PRIVATE_KEY`; never an
 * argument), a storage client over them (its signing domains and period clock asked of the meta nodes), the
 * progress display on stderr, and one JSON document on stdout with `--json`. Errors end the command through
 * runtime.ts with the registry's exit codes (no key: CLI_NO_KEY; no meta: CLI_NO_META; meta unreachable:
 * TRANSPORT_UNREACHABLE; unknown CID or path: META_NOT_FOUND).
 *
 * The SDK and the meta client load only when a command runs (`hms --help` stays fast).
 */
import type { Command } from "commander";
import type { Address } from "viem";
import { HmsError, isHmsError } from "../../core/errors";
import type { StorageClient } from "../../client/storage/actions/client";
import type { HmsStorageActions } from "../../client/decorators/storage";
import { ProgressReporter } from "../progress";
import { parseAddress, parseInteger, signingAccount, type CliIo } from "../runtime";

export interface StorageUserOptions {
  json?: boolean;
  meta?: string;
  metaTimeout?: string;
  owner?: string;
  account?: string;
  keystore?: string;
  passwordFile?: string;
}

/** Adds the common options; `owner`: the command also takes `--owner` (whose namespace). */
export function withStorageOptions(cmd: Command, { owner = false }: { owner?: boolean } = {}): Command {
  cmd
    .option("--json", "print the result as one JSON document")
    .option("--meta <urls>", "meta node API URLs, comma-separated (default $HMS_META_URLS)")
    .option("--meta-timeout <ms>", "how long to keep trying the meta nodes before giving up (default 15000)");
  if (owner) cmd.option("--owner <address>", "whose namespace (default: your key's address)");
  return cmd
    .option("--account <name|address>", "keystore key of the owner (default $HMS_ACCOUNT; else $HMS_PRIVATE_KEY)")
    .option("--keystore <dir>", "keystore directory (default $HMS_KEYSTORE_DIR or ~/.hms/keystore)")
    .option("--password-file <file>", "file holding the keystore password (default $HMS_PASSWORD, else a prompt)");
}

/** The meta URLs of `--meta` or `$HMS_META_URLS` (CLI_NO_META without either, CLI_BAD_VALUE for a bad URL). */
export function metaUrls(io: CliIo, opts: StorageUserOptions): string[] {
  const raw = opts.meta ?? io.env.HMS_META_URLS ?? "";
  const urls = raw
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
  if (urls.length === 0)
    throw new HmsError("CLI_NO_META", "no meta node to talk to: give --meta <url,…> or set HMS_META_URLS", {
      value: raw,
    });
  for (const u of urls) {
    let ok: boolean;
    try {
      ok = ["http:", "https:"].includes(new URL(u).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new HmsError("CLI_BAD_VALUE", `meta URL ${JSON.stringify(u)} is not an http(s) URL`, { value: u });
  }
  return urls;
}

export type StorageCli = StorageClient & HmsStorageActions;

/**
 * A storage client for a command run. `key`: "required" (writes: CLI_NO_KEY without one), "optional" (reads: the
 * owner signs its side of the read receipts when a key is configured; anonymous otherwise).
 */
export async function storageClient(
  io: CliIo,
  opts: StorageUserOptions,
  key: "required" | "optional",
): Promise<StorageCli> {
  const urls = metaUrls(io, opts);
  const retryMs = opts.metaTimeout === undefined ? undefined : Number(parseInteger(opts.metaTimeout, "--meta-timeout"));
  let owner;
  try {
    owner = await signingAccount(io, opts);
  } catch (err) {
    const named = opts.account ?? io.env.HMS_ACCOUNT;
    if (key === "required" || !(isHmsError(err) && err.code === "CLI_NO_KEY" && named === undefined)) throw err;
  }
  const [{ createStorageClient }, { hmsStorageActions }] = await Promise.all([
    import("../../client/storage/actions/client"),
    import("../../client/decorators/storage"),
  ]);
  const client = createStorageClient({
    metaUrls: urls,
    owner,
    metaRetryMs: retryMs,
    metaTimeoutMs: retryMs === undefined ? undefined : Math.max(250, Math.min(5_000, retryMs)),
  }).extend(hmsStorageActions);
  // Each run is a new client: without this a read could miss the write of the run just before it.
  try {
    await client.meta.catchUp();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

/** Whose namespace a read is about: `--owner`, else the client's owner (CLI_NO_KEY without either). */
export function readOwner(client: StorageClient, opts: StorageUserOptions): Address {
  if (opts.owner !== undefined) return parseAddress(opts.owner, "--owner");
  if (client.owner !== undefined) return client.owner.address;
  throw new HmsError(
    "CLI_NO_KEY",
    "no owner to read: give --owner <address>, --account <keystore name> (or HMS_ACCOUNT), or set HMS_PRIVATE_KEY",
  );
}

/** True when the argument names an index path rather than a CID. */
export function isIndexPath(arg: string): boolean {
  return arg.startsWith("/");
}

/** Checks a CID argument (CLI_BAD_VALUE when it is not one). */
export async function parseCidArg(arg: string): Promise<string> {
  const { CID } = await import("multiformats/cid");
  try {
    return CID.parse(arg).toString();
  } catch {
    throw new HmsError("CLI_BAD_VALUE", `${JSON.stringify(arg)} is neither a CID nor an absolute path (/…)`, {
      value: arg,
    });
  }
}

/** A progress display for a transfer of `total` bytes: a bar on a terminal, plain lines otherwise, none with --json. */
export function progressFor(io: CliIo, opts: { json?: boolean }, label: string, total: number): ProgressReporter {
  return new ProgressReporter({
    label,
    total,
    mode: opts.json ? "silent" : io.stderrTty ? "tty" : "plain",
    write: (t) => io.stderr(t),
    plainIntervalMs: Number(io.env.HMS_PROGRESS_INTERVAL_MS ?? 2_000),
  });
}
