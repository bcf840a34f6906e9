/**
 * What every chain-side `hms` command shares: its common options (`--json`, `--yes`, `--rpc`, `--deployment`,
 * `--account`, `--keystore`, `--password-file`), the I/O it writes to (the process, or a buffer when
 * {@link runCli} runs a command in-process), the signer (keystore or `HMS_PRIVATE_KEY`, never an argument), the
 * confirmation of a transaction, output as text or JSON, and errors ending the command with the registry's exit code.
 */
import fs from "node:fs";
import readline from "node:readline";
import { Command, CommanderError, Option } from "commander";
import {
  formatEther,
  getAddress,
  http,
  isAddress,
  isHex,
  parseEther,
  type Address,
  type Hex,
  type Transport,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { loadDeployment, type Deployment } from "../chain/deployment";
import { createHmsClient, hmsActions, hmsChain, type TransactionResult } from "../client";
import { EXIT_CODES, HmsError, exitCodeOf, isHmsError, safeValue } from "../core/errors";
import { findKey, keystoreDir, unlockFile } from "./keystore";

/** Where a command reads and writes. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Raw bytes on stdout (`hms get` without `-o`), resolved once they are written (back-pressure). */
  stdoutBytes?(chunk: Uint8Array): Promise<void>;
  /** stderr is a terminal (progress bars redraw in place; otherwise progress is periodic plain lines). */
  stderrTty?: boolean;
  env: Record<string, string | undefined>;
  /** A terminal to ask for confirmation and passwords; without one, `--yes` and password files are required. */
  interactive: boolean;
  /** Asks a question on the terminal (`secret`: no echo). */
  ask?(question: string, secret?: boolean): Promise<string>;
  /** Test hook: the viem transport to use instead of `http(--rpc)`. */
  transport?: Transport;
  /** The exit code the command set (in-process runs). */
  exitCode?: number;
}

/** The process's terminal I/O. */
export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdoutBytes: (chunk) =>
      new Promise<void>((resolve, reject) => {
        // A closed pipe (EPIPE) fails the write; without a listener it would also crash the process.
        if (process.stdout.listenerCount("error") === 0) process.stdout.on("error", () => undefined);
        process.stdout.write(chunk, (err) => (err ? reject(err) : resolve()));
      }),
    stderrTty: Boolean(process.stderr.isTTY),
    env: process.env,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    ask: (question, secret) =>
      new Promise((resolve) => {
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
        if (secret) {
          const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
          (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) =>
            s.startsWith(question) ? write.call(rl, s) : undefined;
        }
        rl.question(question, (answer) => {
          rl.close();
          if (secret) process.stderr.write("\n");
          resolve(answer);
        });
      }),
  };
}

const ios = new WeakMap<Command, CliIo>();

/** Attaches `io` to a program (its commands find it through {@link ioOf}). */
export function attachIo(program: Command, io: CliIo): void {
  ios.set(program, io);
}

/** The I/O of the program `cmd` belongs to. */
export function ioOf(cmd: Command): CliIo {
  let c: Command | null = cmd;
  while (c !== null) {
    const io = ios.get(c);
    if (io !== undefined) return io;
    c = c.parent;
  }
  const io = processIo();
  ios.set(cmd, io);
  return io;
}

/** Options every chain-side command takes. */
export interface ChainOptions {
  json?: boolean;
  yes?: boolean;
  rpc?: string;
  deployment?: string;
  account?: string;
  keystore?: string;
  passwordFile?: string;
}

/** Adds the common options to a command. */
export function withChainOptions(cmd: Command, { signs = false }: { signs?: boolean } = {}): Command {
  cmd
    .option("--json", "print the result as JSON")
    .option("--rpc <url>", "JSON-RPC endpoint (default $HMS_RPC_URL or http://127.0.0.1:8545)")
    .option("--deployment <file|network>", "deployment file or network name (default $HMS_DEPLOYMENT or localhost)");
  if (signs)
    cmd
      .option("-y, --yes", "send without asking for confirmation")
      .option("--account <name|address>", "keystore key to sign with (default $HMS_ACCOUNT; else $HMS_PRIVATE_KEY)")
      .option("--keystore <dir>", "keystore directory (default $HMS_KEYSTORE_DIR or ~/.hms/keystore)")
      .option("--password-file <file>", "file holding the keystore password (default $HMS_PASSWORD, else a prompt)");
  return cmd;
}

/** The command's context: deployment, RPC and (for transactions) a client with its signer. */
export interface ChainContext {
  io: CliIo;
  opts: ChainOptions;
  deployment: Deployment;
  rpcUrl: string;
  /** A read-only client. */
  reader(): ReturnType<typeof makeClient>;
  /** A client that signs with the configured key (unlocked on first use). */
  signer(): Promise<ReturnType<typeof makeClient> & { account: PrivateKeyAccount }>;
}

function makeClient(io: CliIo, deployment: Deployment, rpcUrl: string, account?: PrivateKeyAccount) {
  return createHmsClient({
    deployment,
    chain: hmsChain(deployment, rpcUrl),
    transport: io.transport ?? http(rpcUrl, { retryCount: 1, timeout: 20_000 }),
    account,
  }).extend(hmsActions);
}

/** Reads a password: `--password-file`, `$HMS_PASSWORD`, or the terminal. */
export async function password(io: CliIo, file: string | undefined, prompt: string, confirm = false): Promise<string> {
  if (file !== undefined) {
    try {
      return fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new HmsError("CLI_KEYSTORE", `cannot read the password file ${file}`, { value: file, cause: err });
    }
  }
  if (io.env.HMS_PASSWORD !== undefined) return io.env.HMS_PASSWORD;
  if (!io.interactive || io.ask === undefined)
    throw new HmsError(
      "CLI_KEYSTORE",
      "no keystore password: give --password-file or HMS_PASSWORD (no terminal to ask)",
    );
  const first = await io.ask(prompt, true);
  if (confirm && (await io.ask("Repeat the password: ", true)) !== first)
    throw new HmsError("CLI_KEYSTORE", "the passwords differ");
  return first;
}

/** The signing account: `--account`/`$HMS_ACCOUNT` from the keystore, else `$HMS_PRIVATE_KEY`. */
export async function signingAccount(io: CliIo, opts: ChainOptions): Promise<PrivateKeyAccount> {
  const name = opts.account ?? io.env.HMS_ACCOUNT;
  if (name !== undefined) {
    const dir = keystoreDir(opts.keystore, io.env);
    const entry = findKey(dir, name);
    if (entry === undefined)
      throw new HmsError("CLI_NO_KEY", `no key ${JSON.stringify(name)} in the keystore ${dir} (hms keys list)`, {
        value: name,
      });
    return unlockFile(entry.file, await password(io, opts.passwordFile, `Password of ${entry.name}: `));
  }
  const key = io.env.HMS_PRIVATE_KEY;
  if (key !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(key.trim()))
      throw new HmsError("CLI_NO_KEY", "HMS_PRIVATE_KEY does not hold 0x + 64 hex digits", { value: "<redacted>" });
    return privateKeyToAccount(key.trim() as Hex);
  }
  throw new HmsError(
    "CLI_NO_KEY",
    "no key to sign with: give --account <keystore name> (or HMS_ACCOUNT), or set HMS_PRIVATE_KEY",
  );
}

/** Builds the context of a command run. */
export function chainContext(cmd: Command): ChainContext {
  const io = ioOf(cmd);
  const opts = cmd.opts<ChainOptions>();
  const deployment = loadDeployment(opts.deployment ?? io.env.HMS_DEPLOYMENT ?? "localhost");
  const rpcUrl = opts.rpc ?? io.env.HMS_RPC_URL ?? "http://127.0.0.1:8545";
  return makeChainContext(io, opts, deployment, rpcUrl);
}

/** A context on a given deployment and RPC (`hms devnet up` runs init on the chain it just deployed). */
export function makeChainContext(io: CliIo, opts: ChainOptions, deployment: Deployment, rpcUrl: string): ChainContext {
  let signer: Promise<ReturnType<typeof makeClient> & { account: PrivateKeyAccount }> | undefined;
  return {
    io,
    opts,
    deployment,
    rpcUrl,
    reader: () => makeClient(io, deployment, rpcUrl),
    signer: () =>
      (signer ??= signingAccount(io, opts).then(
        (account) =>
          makeClient(io, deployment, rpcUrl, account) as ReturnType<typeof makeClient> & {
            account: PrivateKeyAccount;
          },
      )),
  };
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** Prints a result: JSON with `--json`, else the human text. */
export function emit(ctx: { io: CliIo; opts: ChainOptions }, value: unknown, text: string | (() => string)): void {
  if (ctx.opts.json) ctx.io.stdout(toJson(value) + "\n");
  else ctx.io.stdout((typeof text === "function" ? text() : text) + "\n");
}

/**
 * Shows what a transaction will do (on stderr, so `--json` output stays clean) and asks for confirmation unless
 * `--yes`. Without a terminal and without `--yes` it refuses (CLI_NOT_CONFIRMED) rather than send unasked.
 */
export async function confirm(ctx: ChainContext, summary: string[]): Promise<void> {
  const head = `On ${ctx.deployment.network} (chain ${ctx.deployment.chainId}) via ${ctx.io.transport ? "in-process" : ctx.rpcUrl}:`;
  ctx.io.stderr([head, ...summary.map((l) => `  ${l}`)].join("\n") + "\n");
  if (ctx.opts.yes) return;
  if (!ctx.io.interactive || ctx.io.ask === undefined)
    throw new HmsError("CLI_NOT_CONFIRMED", "not confirmed: pass --yes to send without a prompt");
  const answer = (await ctx.io.ask("Send? [y/N] ")).trim().toLowerCase();
  if (answer !== "y" && answer !== "yes") throw new HmsError("CLI_NOT_CONFIRMED", "declined");
}

/** "tx 0x… gas 51,234 block 12" lines of one or more transactions. */
export function txText(...txs: (TransactionResult | undefined)[]): string {
  return txs
    .filter((t): t is TransactionResult => t !== undefined)
    .map((t) => `  tx ${t.hash}  gas ${t.gasUsed.toLocaleString("en-US")}  block ${t.blockNumber}`)
    .join("\n");
}

/** "1,234.5 HMS". */
export function hms(wei: bigint): string {
  const [int, frac] = formatEther(wei).split(".");
  return `${BigInt(int).toLocaleString("en-US")}${frac && frac !== "0" ? `.${frac}` : ""} HMS`;
}

/** Parses an amount of HMS ("1.5", "1000") or of wei ("123wei"). */
export function parseAmount(text: string, what = "amount"): bigint {
  const t = text.trim().replace(/_/g, "");
  let v: bigint;
  try {
    v = t.endsWith("wei") ? BigInt(t.slice(0, -3)) : parseEther(t);
  } catch {
    throw new HmsError(
      "CLI_BAD_VALUE",
      `${what} ${JSON.stringify(text)} is not an amount of HMS (e.g. 1.5, or 10wei)`,
      {
        value: text,
      },
    );
  }
  if (!/^\d+(\.\d+)?(wei)?$/.test(t))
    throw new HmsError("CLI_BAD_VALUE", `${what} ${JSON.stringify(text)} is not a positive amount`, { value: text });
  return v;
}

/** Parses an address. */
export function parseAddress(text: string, what = "address"): Address {
  if (!isAddress(text, { strict: false }))
    throw new HmsError("CLI_BAD_VALUE", `${what} ${JSON.stringify(text)} is not an address`, { value: text });
  return getAddress(text);
}

/** Parses a 32-byte id (node id). */
/**
 * The address a read-only command is about: its `[address]` argument, else the `--account` / `$HMS_ACCOUNT` key's
 * address from the keystore (or that text itself when it is an address); undefined when neither is given.
 */
export function namedAddress(
  ctx: { io: CliIo; opts: ChainOptions & { keystore?: string } },
  addressText: string | undefined,
): Address | undefined {
  if (addressText !== undefined) return parseAddress(addressText);
  const name = ctx.opts.account ?? ctx.io.env.HMS_ACCOUNT;
  if (name === undefined) return undefined;
  return parseAddress(findKey(keystoreDir(ctx.opts.keystore, ctx.io.env), name)?.address ?? name, "account");
}

export function parseBytes32(text: string, what = "id"): Hex {
  if (!isHex(text) || text.length !== 66)
    throw new HmsError("CLI_BAD_VALUE", `${what} ${JSON.stringify(text)} is not 0x + 64 hex digits`, { value: text });
  return text.toLowerCase() as Hex;
}

/** Parses a non-negative integer. */
export function parseInteger(text: string, what: string): bigint {
  if (!/^\d+$/.test(text.trim()))
    throw new HmsError("CLI_BAD_VALUE", `${what} ${JSON.stringify(text)} is not a non-negative integer`, {
      value: text,
    });
  return BigInt(text.trim());
}

/** Parses an enum member by name (case-insensitive) or number. */
export function parseEnum<E extends Record<string, number>>(enumObject: E, text: string, what: string): E[keyof E] {
  const hit = /^\d+$/.test(text)
    ? Object.values(enumObject).find((v) => v === Number(text))
    : Object.entries(enumObject).find(([k]) => k.toLowerCase() === text.toLowerCase().replace(/[-_]/g, ""))?.[1];
  if (hit === undefined)
    throw new HmsError(
      "CLI_BAD_VALUE",
      `${what} ${JSON.stringify(text)} is not one of ${Object.keys(enumObject).join(", ")}`,
      { value: text },
    );
  return hit as E[keyof E];
}

/** Prints a failure and sets the exit code from the registry. */
export function fail(io: CliIo, json: boolean | undefined, name: string, err: unknown): void {
  const code = exitCodeOf(err);
  const label = isHmsError(err) ? err.code : "ERROR";
  const message = (err as Error)?.message ?? String(err);
  if (json)
    io.stdout(
      toJson({
        error: {
          code: label,
          message,
          exitCode: code,
          ...(isHmsError(err) ? { value: safeValue(err.value), ...err.details } : {}),
        },
      }) + "\n",
    );
  io.stderr(`hms ${name}: ${label}: ${message} (exit ${code})\n`);
  io.exitCode = code;
  if (ios.get(rootMarker) === undefined) process.exitCode = code;
}

const rootMarker = new Command();

/** The full name of a command ("market take"). */
export function commandName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * Wraps a command action: builds the context, runs it, and turns any error into the registry's exit code (printed,
 * never thrown, so one command's failure ends only that command).
 */
export function action<A extends unknown[]>(
  fn: (ctx: ChainContext, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const io = ioOf(cmd);
    const opts = cmd.opts<ChainOptions>();
    try {
      const ctx = chainContext(cmd);
      // Positional arguments, then the command's options (commander passes the command last).
      await fn(ctx, ...(args.slice(0, -1) as A));
      io.exitCode ??= EXIT_CODES.ok;
    } catch (err) {
      fail(io, opts.json, commandName(cmd), err);
    }
  };
}

/** The same wrapper for commands that need no chain (keys). */
export function localAction<A extends unknown[]>(
  fn: (io: CliIo, opts: Record<string, unknown>, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const io = ioOf(cmd);
    const opts = cmd.opts<Record<string, unknown> & { json?: boolean }>();
    try {
      await fn(io, opts, ...(args.slice(0, -2) as A));
      io.exitCode ??= EXIT_CODES.ok;
    } catch (err) {
      fail(io, opts.json, commandName(cmd), err);
    }
  };
}

/** The result of an in-process run. */
export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Raw bytes the command wrote through `stdoutBytes` (`hms get` to stdout). */
  stdoutBytes: Buffer;
}

/**
 * Runs `hms <argv…>` in this process (tests, scripts) and returns its exit code and output. `program` builds the
 * command tree (offchain/cli/index.ts `program`).
 */
export async function runCli(
  build: () => Command,
  argv: readonly string[],
  options: {
    env?: Record<string, string | undefined>;
    transport?: Transport;
    answers?: string[];
    /** Pretend stderr is a terminal (progress bars). */
    stderrTty?: boolean;
  } = {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const bytes: Buffer[] = [];
  const answers = [...(options.answers ?? [])];
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdoutBytes: async (chunk) => void bytes.push(Buffer.from(chunk)),
    stderrTty: options.stderrTty ?? false,
    env: options.env ?? {},
    interactive: options.answers !== undefined,
    ask: async (q) => {
      stderr += q;
      return answers.shift() ?? "";
    },
    transport: options.transport,
  };
  const program = build();
  ios.set(rootMarker, io);
  attachIo(program, io);
  program.exitOverride();
  program.configureOutput({ writeOut: (t) => io.stdout(t), writeErr: (t) => io.stderr(t) });
  for (const c of allCommands(program)) {
    c.exitOverride();
    c.configureOutput({ writeOut: (t) => io.stdout(t), writeErr: (t) => io.stderr(t) });
  }
  try {
    await program.parseAsync(["node", "hms", ...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      io.exitCode = err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.config;
    } else {
      fail(io, false, argv[0] ?? "", err);
    }
  } finally {
    ios.delete(rootMarker);
  }
  return { exitCode: io.exitCode ?? EXIT_CODES.ok, stdout, stderr, stdoutBytes: Buffer.concat(bytes) };
}

/** Every command of a tree, depth first. */
export function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap((c) => allCommands(c as Command))];
}

export { Option };

/** Options naming a daemon's signing key (its consent signs the registry's key proof). */
export interface SigningKeyOptions {
  signingKeyFile?: string;
  signingAccount?: string;
}

/** Adds `--signing-key-file` / `--signing-account` to a command. */
export function withSigningKeyOptions(cmd: Command, what: string): Command {
  return cmd
    .option("--signing-key-file <file>", `${what}: a file holding its private key (what the daemon's config points to)`)
    .option("--signing-account <name>", `${what}: a keystore key (same password source as --account)`);
}

/** The signing key of `--signing-key-file` / `--signing-account`, or undefined when neither is given. */
export async function daemonKey(ctx: ChainContext, opts: SigningKeyOptions): Promise<PrivateKeyAccount | undefined> {
  if (opts.signingKeyFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(opts.signingKeyFile, "utf8").trim();
    } catch (err) {
      throw new HmsError("CLI_BAD_VALUE", `cannot read ${opts.signingKeyFile}`, {
        value: opts.signingKeyFile,
        cause: err,
      });
    }
    if (!/^0x[0-9a-fA-F]{64}$/.test(text))
      throw new HmsError("CLI_BAD_VALUE", `${opts.signingKeyFile} does not hold 0x + 64 hex digits`, {
        value: opts.signingKeyFile,
      });
    return privateKeyToAccount(text as Hex);
  }
  if (opts.signingAccount !== undefined) return signingAccount(ctx.io, { ...ctx.opts, account: opts.signingAccount });
  return undefined;
}
