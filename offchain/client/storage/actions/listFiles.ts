/** `listFiles`: the entries of a directory in an owner's namespace (`ls`), files with their size and root CID. */
import type { Address } from "viem";
import { indexPath, namespaceOf, type StorageClient } from "./client";
import { entryFromWire, type StorageEntry } from "./types";

export interface ListFilesParameters {
  /** Directory (default `/`). */
  path?: string;
  /** Whose namespace (default: the client's owner). */
  owner?: Address;
}

export type ListFilesReturnType = StorageEntry[];

/** Codes `listFiles` throws. */
export type ListFilesErrorType = "META_NOT_FOUND" | "META_NOT_DIRECTORY" | "META_BAD_PATH" | "SDK_INVALID_INPUT";

export async function listFiles(
  client: StorageClient,
  parameters: ListFilesParameters = {},
): Promise<ListFilesReturnType> {
  const owner = namespaceOf(client, parameters.owner, "listFiles");
  const entries = await client.meta.ls(owner, indexPath(parameters.path ?? "/"));
  return entries.map(entryFromWire);
}
