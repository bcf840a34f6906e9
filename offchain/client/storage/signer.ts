/**
 * Who signs a storage client's messages (upload grants, index writes, its side of traffic receipts): a raw
 * private key (core/signing.ts' synchronous native path, ≈ 0.1 ms per signature — an upload signs one receipt
 * per slice and copy) or any viem `LocalAccount` (a wallet, ≈ 2 ms per signature).
 */
import type { Address, Hex, LocalAccount, TypedDataDomain } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { signTyped, signTypedSync, type MessageOf, type TypeName } from "../../core/signing";

export interface ClientSigner {
  readonly address: Address;
  signTyped<T extends TypeName>(domain: TypedDataDomain, name: T, message: MessageOf[T]): Promise<Hex>;
}

/** A signer over a raw private key (never logged, never sent). */
export function privateKeySigner(privateKey: Hex): ClientSigner {
  const address = privateKeyToAddress(privateKey);
  return {
    address,
    async signTyped(domain, name, message) {
      return signTypedSync(privateKey, domain, name, message);
    },
  };
}

/** A signer over a viem local account. */
export function accountSigner(account: LocalAccount): ClientSigner {
  return {
    address: account.address,
    signTyped: (domain, name, message) => signTyped(account, domain, name, message),
  };
}
