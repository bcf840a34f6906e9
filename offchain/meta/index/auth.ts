/**
 * Admission of owner writes to the index, on the master before it logs them: the EIP-712 `IndexWrite` must be
 * signed by the namespace's owner, within its deadline, with a nonce above the owner's last accepted one; paths
 * and the file record must be well formed. Then {@link commandOf} turns the write into the {@link IndexCommand}
 * that is replicated. Pure: no I/O (the caller passes the clock, the last nonce and how to resolve node ids).
 */
import type { Address, Hex, TypedDataDomain } from "viem";
import { HmsError } from "../../core/errors";
import { recoverTypedSync, type IndexWriteMessage } from "../../core/signing";
import type { NodeEndpoint, SignedStorageAck } from "../../protocol/network";
import { indexWriteMessage, ownerOf, type IndexWriteOp, type WriteAuthorization } from "../../protocol/index-write";
import { parseStorableCid } from "../../protocol/slicing";
import { parsePath } from "./paths";
import type { IndexCommand, LeaseRef, PutSlice } from "./types";

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** What the master knows when it admits a write. */
export interface AdmissionContext {
  /** EIP-712 domain `network` (chain id + NodeRegistry). */
  domain: TypedDataDomain;
  /** The master's clock, unix seconds. */
  now: bigint;
  /** The owner's highest nonce accepted so far, counting writes logged but not yet applied; undefined if none. */
  lastNonce: bigint | undefined;
}

/** Checks the shape of `op` (paths, file record); throws `META_BAD_PATH` / `META_BAD_WRITE`. */
export function checkWriteShape(op: IndexWriteOp): void {
  const owner = op.op === "put" ? op.file.owner : op.owner;
  if (typeof owner !== "string" || !ADDRESS_RE.test(owner))
    throw new HmsError("META_BAD_WRITE", "owner is not an address", { value: owner });
  switch (op.op) {
    case "put": {
      const f = op.file;
      if (parsePath(f.path).trailingSlash)
        throw new HmsError("META_BAD_PATH", "a file path cannot end with / (or be the root)", { value: f.path });
      if (!Number.isInteger(f.sliceSize) || f.sliceSize <= 0)
        throw new HmsError("META_BAD_WRITE", "sliceSize must be a positive integer", { value: f.sliceSize });
      if (typeof f.size !== "bigint" || f.size < 0n)
        throw new HmsError("META_BAD_WRITE", "size must be a non-negative bigint", { value: f.size });
      let total = 0n;
      for (const s of f.slices) {
        if (!Number.isInteger(s.size) || s.size < 0 || s.size > f.sliceSize)
          throw new HmsError("META_BAD_WRITE", `slice ${s.cid} has size ${s.size} outside [0, sliceSize]`, {
            value: s.size,
          });
        total += BigInt(s.size);
      }
      if (total !== f.size)
        throw new HmsError("META_BAD_WRITE", `slice sizes add up to ${total}, the file has ${f.size}`, {
          value: total,
        });
      for (const s of [...f.slices, ...f.dagBlocks]) parseCid(s.cid);
      parseCid(f.rootCid);
      return;
    }
    case "mkdir":
    case "rm":
      parsePath(op.path);
      return;
    case "mv":
      parsePath(op.path);
      parsePath(op.target);
      return;
  }
}

function parseCid(cid: string) {
  try {
    return parseStorableCid(cid);
  } catch (err) {
    throw new HmsError("META_BAD_WRITE", `not a storable CID: ${(err as Error).message}`, { value: cid, cause: err });
  }
}

/**
 * Admits an owner's write: shape, deadline, nonce, signature. Returns the verified message. Throws
 * `META_BAD_PATH`, `META_BAD_WRITE`, `META_WRITE_EXPIRED`, `META_REPLAYED` or `META_NOT_OWNER`.
 */
export function authorizeWrite(op: IndexWriteOp, auth: WriteAuthorization, ctx: AdmissionContext): IndexWriteMessage {
  checkWriteShape(op);
  if (auth.deadline < ctx.now)
    throw new HmsError("META_WRITE_EXPIRED", `write deadline ${auth.deadline} is before now (${ctx.now})`, {
      value: auth.deadline,
    });
  if (ctx.lastNonce !== undefined && auth.nonce <= ctx.lastNonce)
    throw new HmsError("META_REPLAYED", `nonce ${auth.nonce} is not above the last accepted ${ctx.lastNonce}`, {
      value: auth.nonce,
      details: { lastNonce: ctx.lastNonce.toString() },
    });
  const message = indexWriteMessage(op, auth.nonce, auth.deadline);
  let signer: Address;
  try {
    signer = recoverTypedSync(ctx.domain, "IndexWrite", message, auth.signature);
  } catch (err) {
    throw new HmsError("META_NOT_OWNER", `cannot recover the signer: ${(err as Error).message}`, {
      value: auth.signature,
      cause: err,
    });
  }
  if (signer.toLowerCase() !== message.owner)
    throw new HmsError("META_NOT_OWNER", `write in ${message.owner}'s namespace is signed by ${signer}`, {
      value: signer,
      details: { owner: message.owner },
    });
  return message;
}

/** How the master turns an ack's node id into the endpoint it records (its node table); undefined = unknown. */
export type ResolveNode = (nodeId: Hex) => NodeEndpoint | undefined;

/** Options of {@link commandOf}. */
export interface CommandOptions {
  /** Master's clock, unix seconds (recorded in the entry, so every replica stores the same time). */
  time: bigint;
  resolve: ResolveNode;
  /** Verifies an ack's signature (NodeRegistry key); every ack passes when absent. */
  verifyAck?: (ack: SignedStorageAck) => boolean;
  leases?: LeaseRef[];
  /** EIP-712 digest of the signed write (recorded, so that a retry of it is answered like the first attempt). */
  digest?: Hex;
}

/**
 * The {@link IndexCommand} of an admitted write. For a put, each slice's replicas are the distinct nodes whose
 * acks match it (digest of its CID, size, owner, upload id, signature); an ack that does not match, or from an
 * unknown node, throws `META_BAD_WRITE`.
 */
export function commandOf(op: IndexWriteOp, nonce: bigint, options: CommandOptions): IndexCommand {
  const owner = ownerOf(op);
  const time = options.time;
  const digest = options.digest === undefined ? {} : { digest: options.digest };
  switch (op.op) {
    case "mkdir":
      return { kind: "mkdir", owner, path: op.path, nonce, time, ...digest };
    case "rm":
      return { kind: "rm", owner, path: op.path, recursive: op.recursive === true, nonce, time, ...digest };
    case "mv":
      return { kind: "mv", owner, path: op.path, target: op.target, nonce, time, ...digest };
    case "put": {
      const f = op.file;
      const toPut = (s: { cid: string; size: number; acks: SignedStorageAck[] }): PutSlice => {
        const digest = parseCid(s.cid).digest.toLowerCase();
        const seen = new Map<string, NodeEndpoint>();
        for (const ack of s.acks) {
          const why =
            ack.slice.toLowerCase() !== digest
              ? "its slice digest is not the CID's"
              : ack.size !== BigInt(s.size)
                ? `its size ${ack.size} is not ${s.size}`
                : ack.owner.toLowerCase() !== owner
                  ? `its owner ${ack.owner} is not ${owner}`
                  : ack.uploadId.toLowerCase() !== f.uploadId.toLowerCase()
                    ? "its upload id differs"
                    : options.verifyAck !== undefined && !options.verifyAck(ack)
                      ? "its signature does not verify"
                      : undefined;
          if (why !== undefined)
            throw new HmsError("META_BAD_WRITE", `ack of ${ack.nodeId} for ${s.cid}: ${why}`, { value: ack.nodeId });
          const node = options.resolve(ack.nodeId.toLowerCase() as Hex);
          if (node === undefined)
            throw new HmsError("META_BAD_WRITE", `ack from unknown node ${ack.nodeId}`, { value: ack.nodeId });
          seen.set(node.nodeId.toLowerCase(), { ...node, nodeId: node.nodeId.toLowerCase() as Hex });
        }
        return { cid: s.cid, size: s.size, replicas: [...seen.values()] };
      };
      return {
        kind: "put",
        owner,
        path: f.path,
        rootCid: f.rootCid,
        size: f.size,
        sliceSize: f.sliceSize,
        uploadId: f.uploadId.toLowerCase() as Hex,
        slices: f.slices.map(toPut),
        dagBlocks: f.dagBlocks.map(toPut),
        leases: options.leases ?? [],
        nonce,
        time,
        ...digest,
      };
    }
  }
}
