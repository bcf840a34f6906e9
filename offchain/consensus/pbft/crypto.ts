/**
 * The production {@link PbftCrypto}: EIP-712 signatures (signing.ts) in the staking domain
 * (chain id + BookkeeperStaking address), secp256k1 via the synchronous fast path, SHA-256 for
 * request digests and content hashes.
 *
 * A pre-prepare is signed as `Proposal{epoch: configId, period: seq, round: view, digest}`: two of
 * them from one primary for the same (view, seq) with different digests are exactly the equivocation
 * evidence BookkeeperStaking checks on chain. Other PBFT messages use the Pbft* types of signing.ts.
 */
import { createHash } from "node:crypto";
import type { Address, Hex, TypedDataDomain } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { KeyRing, domainOf, fastTypedDigest, signDigestSync, type MessageOf, type TypeName } from "../../core/signing";
import type { PbftCrypto, Signable } from "./types";

export interface Eip712CryptoOptions {
  privateKey: Hex;
  chainId: number | bigint;
  stakingContract: Address;
  /** Shared verifier (public keys are learnt once per address). */
  keyRing?: KeyRing;
}

/** sha256 of a UTF-8 string as bytes32 hex: request digests and content hashes. */
export function sha256Hex(text: string): Hex {
  return `0x${createHash("sha256").update(text, "utf8").digest("hex")}`;
}

/** The EIP-712 digest a {@link Signable} is signed over, in `domain`. */
export function signableDigest(domain: TypedDataDomain, item: Signable): Hex {
  return fastTypedDigest(domain, item.type as TypeName, item.message as MessageOf[TypeName]);
}

export class Eip712Crypto implements PbftCrypto {
  readonly address: Address;
  readonly domain: TypedDataDomain;
  readonly keyRing: KeyRing;
  private readonly privateKey: Hex;

  constructor(options: Eip712CryptoOptions) {
    this.privateKey = options.privateKey;
    this.address = privateKeyToAddress(options.privateKey);
    this.domain = domainOf("staking", options.chainId, options.stakingContract);
    this.keyRing = options.keyRing ?? new KeyRing();
  }

  sign(item: Signable): Hex {
    return signDigestSync(this.privateKey, signableDigest(this.domain, item));
  }

  verify(item: Signable, signature: Hex, signer: Address): boolean {
    let digest: Hex;
    try {
      digest = signableDigest(this.domain, item);
    } catch {
      return false;
    }
    return this.keyRing.verifyDigest(signer, digest, signature);
  }

  digest(request: string): Hex {
    return sha256Hex(request);
  }

  hash(text: string): Hex {
    return sha256Hex(text);
  }
}

/** The production crypto provider of a replica. */
export function createEip712Crypto(options: Eip712CryptoOptions): Eip712Crypto {
  return new Eip712Crypto(options);
}
