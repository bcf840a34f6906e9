/**
 * `hms keys new|import|list`: the encrypted keystore (Web3 Secret Storage JSON, readable by geth, Foundry and ethers).
 * Private keys are never taken as an argument nor printed: `import` reads one from `--private-key-file`, stdin or
 * `$HMS_PRIVATE_KEY`; passwords come from `--password-file`, `$HMS_PASSWORD` or a prompt.
 */
import fs from "node:fs";
import type { Command } from "commander";
import type { Hex } from "viem";
import { HmsError } from "../../core/errors";
import { keystoreDir, listKeys, newKey, saveKey } from "../keystore";
import { localAction, password, toJson, type CliIo } from "../runtime";

interface KeysOptions {
  keystore?: string;
  passwordFile?: string;
  lightKdf?: boolean;
  json?: boolean;
  privateKeyFile?: string;
}

function out(io: CliIo, opts: KeysOptions, value: unknown, text: string) {
  io.stdout((opts.json ? toJson(value) : text) + "\n");
}

async function readImportedKey(io: CliIo, opts: KeysOptions): Promise<Hex> {
  let text: string | undefined;
  if (opts.privateKeyFile !== undefined) {
    try {
      text = fs.readFileSync(opts.privateKeyFile === "-" ? 0 : opts.privateKeyFile, "utf8");
    } catch (err) {
      throw new HmsError("CLI_BAD_VALUE", `cannot read ${opts.privateKeyFile}`, {
        value: opts.privateKeyFile,
        cause: err,
      });
    }
  } else if (io.env.HMS_PRIVATE_KEY !== undefined) text = io.env.HMS_PRIVATE_KEY;
  else if (io.interactive && io.ask) text = await io.ask("Private key (0x…): ", true);
  const key = text?.trim();
  if (key === undefined || !/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new HmsError(
      "CLI_BAD_VALUE",
      "no private key to import: give --private-key-file <file|-> or HMS_PRIVATE_KEY (0x + 64 hex digits)",
      { value: "<redacted>" },
    );
  return key as Hex;
}

/** Registers `hms keys` on `program`. */
export function registerKeysCommand(program: Command): Command {
  const keys = program.command("keys").description("manage the encrypted keystore (Web3 Secret Storage JSON)");
  const common = (c: Command) =>
    c
      .option("--keystore <dir>", "keystore directory (default $HMS_KEYSTORE_DIR or ~/.hms/keystore)")
      .option("--json", "print the result as JSON");
  common(
    keys
      .command("new <name>")
      .description("create a random key, encrypted with a password, and print its address")
      .option("--password-file <file>", "file holding the password (default $HMS_PASSWORD, else a prompt)")
      .option("--light-kdf", "cheaper scrypt (N = 4096, like geth --lightkdf): local devnets only"),
  ).action(
    localAction(async (io, opts: KeysOptions, name: string) => {
      const dir = keystoreDir(opts.keystore, io.env);
      const pw = await password(io, opts.passwordFile, `Password for ${name}: `, true);
      const entry = newKey(dir, name, pw, { light: opts.lightKdf });
      out(io, opts, entry, `created ${entry.name}: ${entry.address}\n  ${entry.file}`);
    }),
  );
  common(
    keys
      .command("import <name>")
      .description("encrypt an existing private key into the keystore (read from a file, stdin or $HMS_PRIVATE_KEY)")
      .option("--private-key-file <file>", "file holding the key, or - for stdin")
      .option("--password-file <file>", "file holding the password (default $HMS_PASSWORD, else a prompt)")
      .option("--light-kdf", "cheaper scrypt (N = 4096, like geth --lightkdf): local devnets only"),
  ).action(
    localAction(async (io, opts: KeysOptions, name: string) => {
      const dir = keystoreDir(opts.keystore, io.env);
      const key = await readImportedKey(io, opts);
      const pw = await password(io, opts.passwordFile, `Password for ${name}: `, true);
      const entry = saveKey(dir, name, key, pw, { light: opts.lightKdf });
      out(io, opts, entry, `imported ${entry.name}: ${entry.address}\n  ${entry.file}`);
    }),
  );
  common(keys.command("list").description("list the keystore's keys (names and addresses)")).action(
    localAction(async (io, opts: KeysOptions) => {
      const dir = keystoreDir(opts.keystore, io.env);
      const entries = listKeys(dir);
      out(
        io,
        opts,
        { keystore: dir, keys: entries },
        entries.length === 0
          ? `no keys in ${dir} (hms keys new <name>)`
          : entries.map((e) => `${e.name.padEnd(24)} ${e.address}`).join("\n"),
      );
    }),
  );
  return program;
}
