/** `makeDirectory`: creates a directory (and its missing parents) in the owner's namespace (`IndexWrite` "mkdir"). */
import { authorize, indexPath, requireOwner, type IndexPosition, type StorageClient } from "./client";

export interface MakeDirectoryParameters {
  path: string;
}

export type MakeDirectoryReturnType = IndexPosition;

/** Codes `makeDirectory` throws. */
export type MakeDirectoryErrorType = "META_EXISTS" | "META_NOT_DIRECTORY" | "META_BAD_PATH" | "SDK_NO_ACCOUNT";

export async function makeDirectory(
  client: StorageClient,
  parameters: MakeDirectoryParameters,
): Promise<MakeDirectoryReturnType> {
  const signer = requireOwner(client, "makeDirectory");
  const op = { op: "mkdir" as const, owner: signer.address, path: indexPath(parameters.path) };
  return client.meta.indexWrite(op, await authorize(client, signer, op));
}
