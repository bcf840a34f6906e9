/**
 * `moveFile`: renames a file or a directory (with everything below) in the owner's namespace (`IndexWrite` "mv");
 * a trailing slash on `target` moves into that directory. No bytes move: only the index changes.
 */
import { parsePath } from "../../../protocol/index-paths";
import { authorize, requireOwner, type IndexPosition, type StorageClient } from "./client";

export interface MoveFileParameters {
  path: string;
  target: string;
}

export type MoveFileReturnType = IndexPosition;

/** Codes `moveFile` throws. */
export type MoveFileErrorType =
  "META_NOT_FOUND" | "META_EXISTS" | "META_MOVE_INTO_SELF" | "META_BAD_PATH" | "SDK_NO_ACCOUNT";

export async function moveFile(client: StorageClient, parameters: MoveFileParameters): Promise<MoveFileReturnType> {
  const signer = requireOwner(client, "moveFile");
  parsePath(parameters.path);
  parsePath(parameters.target);
  const op = { op: "mv" as const, owner: signer.address, path: parameters.path, target: parameters.target };
  return client.meta.indexWrite(op, await authorize(client, signer, op));
}
