/**
 * Web3 Secret Storage (v3) files, as geth, Foundry's `cast wallet`, ethers and the `hms keys` keystore write them
 * (scrypt + AES-128-CTR): the one decryption both the CLI's keystore and the daemons' `privateKeyFile` use.
 */
import { decryptKeystoreJsonSync, isKeystoreJson } from "ethers";
import type { Hex } from "viem";

/** True if `text` is a Web3 Secret Storage JSON document. */
export function isKeystoreText(text: string): boolean {
  return isKeystoreJson(text);
}

/** The private key of a keystore document; throws (without the key) for a wrong password or a damaged file. */
export function decryptKeystoreText(text: string, password: string): Hex {
  return decryptKeystoreJsonSync(text, password).privateKey as Hex;
}
