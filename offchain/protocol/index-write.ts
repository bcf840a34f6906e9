/**
 * The owner-signed writes of the meta index (EIP-712 `IndexWrite`, domain `network`): which operations exist,
 * what each one puts in the signed fields, and the message a client signs and a meta node verifies. One rule,
 * imported by the client that signs and the meta node that checks. Pure: no I/O.
 *
 * Fields per op (`op`, `path`, `target`, `contentHash`):
 * - `put`:   the file's path, `""`, {@link fileCommitHash} of the {@link FileCommit}.
 * - `mkdir`: the directory's path, `""`, zero.
 * - `rm`:    the path, `""` (a file or an empty directory) or `"-r"` (a directory and everything below), zero.
 * - `mv`:    the source path, the destination path, zero.
 * `nonce` is strictly increasing per owner (a write with a nonce ≤ the last accepted one is a replay);
 * `deadline` is a unix time in seconds after which the write is refused.
 */
import type { Address, Hex } from "viem";
import type { IndexWriteMessage } from "../core/signing";
import type { FileCommit } from "./network";
import { fileCommitHash } from "./storage-wire";

export const ZERO_HASH: Hex = `0x${"00".repeat(32)}`;

/** `target` of a recursive rm. */
export const RM_RECURSIVE = "-r";

/** An index write as its owner asks for it (before signing). */
export type IndexWriteOp =
  | { op: "put"; file: FileCommit }
  | { op: "mkdir"; owner: Address; path: string }
  | { op: "rm"; owner: Address; path: string; recursive?: boolean }
  | { op: "mv"; owner: Address; path: string; target: string };

export type IndexOpName = IndexWriteOp["op"];

/** The signature and replay guard that go with an {@link IndexWriteOp}. */
export interface WriteAuthorization {
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

/** The owner of the namespace an op writes in (lower case). */
export function ownerOf(op: IndexWriteOp): Address {
  return (op.op === "put" ? op.file.owner : op.owner).toLowerCase() as Address;
}

/** The EIP-712 `IndexWrite` message of `op` with `nonce` and `deadline` (what the owner signs). */
export function indexWriteMessage(op: IndexWriteOp, nonce: bigint, deadline: bigint): IndexWriteMessage {
  const owner = ownerOf(op);
  switch (op.op) {
    case "put":
      return {
        owner,
        op: "put",
        path: op.file.path,
        target: "",
        contentHash: fileCommitHash(op.file),
        nonce,
        deadline,
      };
    case "mkdir":
      return { owner, op: "mkdir", path: op.path, target: "", contentHash: ZERO_HASH, nonce, deadline };
    case "rm":
      return {
        owner,
        op: "rm",
        path: op.path,
        target: op.recursive === true ? RM_RECURSIVE : "",
        contentHash: ZERO_HASH,
        nonce,
        deadline,
      };
    case "mv":
      return { owner, op: "mv", path: op.path, target: op.target, contentHash: ZERO_HASH, nonce, deadline };
  }
}
