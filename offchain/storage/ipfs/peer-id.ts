/**
 * The worker's libp2p peer ID, for `/api/v0/id`: the identity multihash of its secp256k1 signing key's protobuf
 * `PublicKey { Type: Secp256k1, Data: <33-byte compressed key> }`, base58btc — the ID a libp2p node with that key
 * would have (`16Uiu2…`). The worker speaks no libp2p; the ID names its key.
 */
import { base58btc } from "multiformats/bases/base58";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

/** Compressed (33-byte) secp256k1 public key of a private key. */
export function compressedPublicKey(privateKey: Hex): Buffer {
  const full = Buffer.from(privateKeyToAccount(privateKey).publicKey.slice(2), "hex");
  const x = full.subarray(1, 33);
  const yOdd = (full[64] & 1) === 1;
  return Buffer.concat([Buffer.from([yOdd ? 0x03 : 0x02]), x]);
}

/** The protobuf-encoded libp2p public key and the peer ID of a secp256k1 private key. */
export function peerIdOf(privateKey: Hex): { id: string; publicKey: string } {
  const key = compressedPublicKey(privateKey);
  const proto = Buffer.concat([Buffer.from([0x08, 0x02, 0x12, key.length]), key]);
  const multihash = Buffer.concat([Buffer.from([0x00, proto.length]), proto]);
  return { id: base58btc.encode(multihash).slice(1), publicKey: proto.toString("base64") };
}
