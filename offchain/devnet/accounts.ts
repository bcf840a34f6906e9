/**
 * The well-known keys of a local devnet: the demo bookkeepers' and nodes' signing keys, derived from fixed
 * strings so that the demo, the tests and `hms devnet` agree without sharing files. Never use them on a
 * public chain.
 */
import { keccak256, toHex, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

/**
 * Private key of demo bookkeeper `i` (0–3, Hardhat accounts #5–#8): `keccak256(toHex("hms-demo/bookkeeper/<i>"))`.
 * Its address is the bookkeeper's committee signing key in the NodeRegistry; validator daemons load the
 * same keys to sign PBFT messages and period reports.
 */
export function demoBookkeeperPrivateKey(i: number): Hex {
  return keccak256(toHex(`hms-demo/bookkeeper/${i}`));
}

/** viem account of demo bookkeeper `i`'s signing key (see {@link demoBookkeeperPrivateKey}). */
export function demoBookkeeperKey(i: number): PrivateKeyAccount {
  return privateKeyToAccount(demoBookkeeperPrivateKey(i));
}

/** Node id of demo node `i` (0–3, operated by Hardhat accounts #12–#15): `keccak256(toHex("hms-demo/node/<i>"))`. */
export function demoNodeId(i: number): Hex {
  return keccak256(toHex(`hms-demo/node/${i}`));
}

/** Private key of demo node `i`'s signing key: `keccak256(toHex("hms-demo/node-key/<i>"))`. */
export function demoNodePrivateKey(i: number): Hex {
  return keccak256(toHex(`hms-demo/node-key/${i}`));
}

/** Signing key of demo node `i` (see {@link demoNodePrivateKey}). */
export function demoNodeKey(i: number): PrivateKeyAccount {
  return privateKeyToAccount(demoNodePrivateKey(i));
}
