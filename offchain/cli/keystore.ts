/**
 * The `hms` keystore: one Web3 Secret Storage (v3) JSON file per key, `<dir>/<name>.json`, as geth, Foundry's `cast
 * wallet` and ethers read and write them (scrypt + AES-128-CTR; ethers 6 encrypts and decrypts). The directory is
 * `--keystore`, `$HMS_KEYSTORE_DIR`, or `~/.hms/keystore`. Private keys never leave this module except as a viem
 * account; nothing here prints one.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { encryptKeystoreJsonSync } from "ethers";
import { getAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { HmsError } from "../core/errors";
import { decryptKeystoreText, isKeystoreText } from "../core/keystore";

/** geth's `--lightkdf` scrypt cost (N = 2^12): for local devnets and tests only; the default is N = 2^17. */
export const LIGHT_SCRYPT_N = 4096;
const DEFAULT_SCRYPT_N = 131072;

export interface KeystoreEntry {
  name: string;
  address: Address;
  file: string;
}

/** The keystore directory for `dir` / the environment. */
export function keystoreDir(dir: string | undefined, env: Record<string, string | undefined>): string {
  return dir ?? env.HMS_KEYSTORE_DIR ?? path.join(env.HOME ?? os.homedir(), ".hms", "keystore");
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Every key of the keystore, by name (the file name without `.json`). */
export function listKeys(dir: string): KeystoreEntry[] {
  if (!fs.existsSync(dir)) return [];
  const out: KeystoreEntry[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith(".json")) continue;
    const file = path.join(dir, f);
    try {
      const json = JSON.parse(fs.readFileSync(file, "utf8")) as { address?: string };
      if (typeof json.address !== "string") continue;
      out.push({ name: f.slice(0, -5), address: getAddress(`0x${json.address.replace(/^0x/, "")}`), file });
    } catch {
      /* not a keystore file */
    }
  }
  return out;
}

/** The entry named `nameOrAddress` (a name or an address). */
export function findKey(dir: string, nameOrAddress: string): KeystoreEntry | undefined {
  const lower = nameOrAddress.toLowerCase();
  return listKeys(dir).find((k) => k.name === nameOrAddress || k.address.toLowerCase() === lower);
}

/** Encrypts `privateKey` with `password` into `<dir>/<name>.json` (mode 0600). Refuses an existing name or address. */
export function saveKey(
  dir: string,
  name: string,
  privateKey: Hex,
  password: string,
  options: { light?: boolean } = {},
): KeystoreEntry {
  if (!NAME.test(name))
    throw new HmsError("CLI_BAD_VALUE", `key name ${JSON.stringify(name)} is not a safe file name`, { value: name });
  if (password.length === 0) throw new HmsError("CLI_KEYSTORE", "the keystore password must not be empty");
  const account = privateKeyToAccount(privateKey);
  const existing = listKeys(dir).find((k) => k.name === name || k.address === account.address);
  if (existing !== undefined)
    throw new HmsError("CLI_KEY_EXISTS", `the keystore already holds ${existing.name} (${existing.address})`, {
      value: existing.name,
    });
  const json = encryptKeystoreJsonSync({ address: account.address, privateKey }, password, {
    scrypt: { N: options.light ? LIGHT_SCRYPT_N : DEFAULT_SCRYPT_N },
  });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, json + "\n", { mode: 0o600, flag: "wx" });
  return { name, address: account.address, file };
}

/** A fresh random key, saved. */
export function newKey(dir: string, name: string, password: string, options: { light?: boolean } = {}): KeystoreEntry {
  return saveKey(dir, name, generatePrivateKey(), password, options);
}

/** Decrypts a keystore file into a viem account. CLI_KEYSTORE for a wrong password or a foreign file. */
export function unlockFile(file: string, password: string): PrivateKeyAccount {
  let json: string;
  try {
    json = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new HmsError("CLI_KEYSTORE", `cannot read keystore file ${file}`, { value: file, cause: err });
  }
  if (!isKeystoreText(json))
    throw new HmsError("CLI_KEYSTORE", `${file} is not a Web3 Secret Storage file`, { value: file });
  try {
    return privateKeyToAccount(decryptKeystoreText(json, password));
  } catch (err) {
    throw new HmsError("CLI_KEYSTORE", `cannot decrypt ${file}: wrong password?`, { value: file, cause: err });
  }
}
