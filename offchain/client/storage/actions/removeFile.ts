/**
 * `removeFile`: removes a file or an empty directory from the owner's namespace (`recursive`: a directory and
 * everything below). An owner-signed `IndexWrite` "rm"; the slices no other file uses are collected by the
 * storage nodes' GC later.
 */
import type { Address } from "viem";
import { parsePath } from "../../../protocol/index-paths";
import { authorize, requireOwner, type IndexPosition, type StorageClient } from "./client";

export interface RemoveFileParameters {
  path: string;
  recursive?: boolean;
  /** Namespace (default and only allowed value: the client's owner; another one is refused with META_NOT_OWNER). */
  owner?: Address;
}

export type RemoveFileReturnType = IndexPosition;

/** Codes `removeFile` throws. */
export type RemoveFileErrorType =
  "META_NOT_FOUND" | "META_DIR_NOT_EMPTY" | "META_BAD_PATH" | "META_NOT_OWNER" | "SDK_NO_ACCOUNT";

export async function removeFile(
  client: StorageClient,
  parameters: RemoveFileParameters,
): Promise<RemoveFileReturnType> {
  const signer = requireOwner(client, "removeFile");
  parsePath(parameters.path);
  const op = {
    op: "rm" as const,
    owner: parameters.owner ?? signer.address,
    path: parameters.path,
    recursive: parameters.recursive === true,
  };
  return client.meta.indexWrite(op, await authorize(client, signer, op));
}
