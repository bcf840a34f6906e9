/**
 * The worker's signatures, all with its registered NodeRegistry signing key (offchain/core/signing.ts, fast
 * synchronous path): the `StorageAck` of every block it stores (domain `network`) and the node side of every
 * transfer's `TrafficReceipt` (domain `traffic`). It also checks owners' `UploadGrant`s.
 */
import type { Address, Hex, TypedDataDomain } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { HmsError } from "../core/errors";
import { domainOf, recoverTypedSync, signTypedSync, type TrafficReceiptMessage } from "../core/signing";
import type { SignedStorageAck } from "../protocol/network";
import type { SignedReceipt } from "../protocol/receipts";
import type { SignedUploadGrant } from "../protocol/storage-wire";

/** The chain and contracts the worker's signatures bind to. */
export interface SigningDomains {
  chainId: number;
  nodeRegistry: Address;
  miningPool: Address;
}

export class NodeSigner {
  readonly address: Address;
  readonly network: TypedDataDomain;
  readonly traffic: TypedDataDomain;
  private readonly grants = new Map<string, Address>();

  constructor(
    private readonly privateKey: Hex,
    readonly nodeId: Hex,
    domains: SigningDomains,
  ) {
    this.address = privateKeyToAddress(privateKey);
    this.network = domainOf("network", domains.chainId, domains.nodeRegistry);
    this.traffic = domainOf("traffic", domains.chainId, domains.miningPool);
  }

  /** This node's signed ack of block `slice` (sha2-256 digest) of `size` bytes stored for `owner`'s upload. */
  ack(slice: Hex, size: number, owner: Address, uploadId: Hex): SignedStorageAck {
    const message = {
      nodeId: this.nodeId.toLowerCase() as Hex,
      slice: slice.toLowerCase() as Hex,
      size: BigInt(size),
      owner: owner.toLowerCase() as Address,
      uploadId: uploadId.toLowerCase() as Hex,
    };
    return { ...message, signature: signTypedSync(this.privateKey, this.network, "StorageAck", message) };
  }

  /** The node side of a transfer's receipt. */
  receipt(receipt: TrafficReceiptMessage): SignedReceipt {
    return { receipt, signature: signTypedSync(this.privateKey, this.traffic, "TrafficReceipt", receipt) };
  }

  /**
   * Checks that `grant` is signed by its owner and has not expired at `nowSeconds`. Throws
   * `STORAGE_UNAUTHORIZED`. Recovered signers are cached per grant (message and signature: a grant covers every slice of an upload).
   */
  checkGrant(grant: SignedUploadGrant, nowSeconds: bigint): void {
    if (grant.deadline < nowSeconds)
      throw new HmsError("STORAGE_UNAUTHORIZED", `upload grant expired at ${grant.deadline}`, {
        value: grant.deadline,
      });
    const key = `${grant.owner}|${grant.uploadId}|${grant.maxBytes}|${grant.deadline}|${grant.signature}`.toLowerCase();
    let signer = this.grants.get(key);
    if (signer === undefined) {
      try {
        signer = recoverTypedSync(
          this.network,
          "UploadGrant",
          { owner: grant.owner, uploadId: grant.uploadId, maxBytes: grant.maxBytes, deadline: grant.deadline },
          grant.signature,
        );
      } catch {
        throw new HmsError("STORAGE_UNAUTHORIZED", "upload grant signature is malformed", { value: grant.signature });
      }
      if (this.grants.size > 10_000) this.grants.clear();
      this.grants.set(key, signer);
    }
    if (signer.toLowerCase() !== grant.owner.toLowerCase())
      throw new HmsError("STORAGE_UNAUTHORIZED", `upload grant is not signed by its owner ${grant.owner}`, {
        value: signer,
      });
  }
}
