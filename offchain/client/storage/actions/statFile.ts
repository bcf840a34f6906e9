/**
 * `statFile`: what the index records of a path in an owner's namespace (a file: size, root CID, slices, the
 * write that recorded it; a directory: its number of entries) — or of a root CID (the file that holds it).
 */
import type { Address } from "viem";
import { indexPath, namespaceOf, type StorageClient } from "./client";
import { statFromWire, type StorageStat } from "./types";

export type StatFileParameters = { cid: string } | { path: string; owner?: Address };

export type StatFileReturnType = StorageStat;

/** Codes `statFile` throws. */
export type StatFileErrorType = "META_NOT_FOUND" | "META_BAD_PATH" | "SDK_INVALID_INPUT";

export async function statFile(client: StorageClient, parameters: StatFileParameters): Promise<StatFileReturnType> {
  if ("cid" in parameters) {
    const file = await client.meta.locate({ cid: parameters.cid });
    return statFromWire(await client.meta.stat(file.owner, file.path));
  }
  const owner = namespaceOf(client, parameters.owner, "statFile");
  return statFromWire(await client.meta.stat(owner, indexPath(parameters.path)));
}
