/**
 * `client.extend(hmsStorageActions)`: every storage action as a method of a {@link StorageClient}, viem's decorator
 * style (the storage counterpart of `hmsActions`).
 *
 * ```ts
 * const storage = createStorageClient({ metaUrls, owner: account }).extend(hmsStorageActions);
 * const { rootCid } = await storage.putFile({ source: "./a.bin", path: "/a.bin" });
 * for await (const chunk of await storage.getFile({ cid: rootCid })) process.stdout.write(chunk);
 * ```
 */
import type { StorageClient } from "../storage/actions/client";
import { getFile, type GetFileParameters, type GetFileReturnType } from "../storage/actions/getFile";
import { listFiles, type ListFilesParameters, type ListFilesReturnType } from "../storage/actions/listFiles";
import {
  makeDirectory,
  type MakeDirectoryParameters,
  type MakeDirectoryReturnType,
} from "../storage/actions/makeDirectory";
import { moveFile, type MoveFileParameters, type MoveFileReturnType } from "../storage/actions/moveFile";
import { putFile, type PutFileParameters, type PutFileReturnType } from "../storage/actions/putFile";
import { removeFile, type RemoveFileParameters, type RemoveFileReturnType } from "../storage/actions/removeFile";
import { statFile, type StatFileParameters, type StatFileReturnType } from "../storage/actions/statFile";

/** The methods `hmsStorageActions` adds. */
export type HmsStorageActions = {
  putFile: (parameters: PutFileParameters) => Promise<PutFileReturnType>;
  getFile: (parameters: GetFileParameters) => Promise<GetFileReturnType>;
  listFiles: (parameters?: ListFilesParameters) => Promise<ListFilesReturnType>;
  statFile: (parameters: StatFileParameters) => Promise<StatFileReturnType>;
  removeFile: (parameters: RemoveFileParameters) => Promise<RemoveFileReturnType>;
  makeDirectory: (parameters: MakeDirectoryParameters) => Promise<MakeDirectoryReturnType>;
  moveFile: (parameters: MoveFileParameters) => Promise<MoveFileReturnType>;
};

/** Decorator: `createStorageClient(…).extend(hmsStorageActions)`. */
export function hmsStorageActions(client: StorageClient): HmsStorageActions {
  return {
    putFile: (parameters) => putFile(client, parameters),
    getFile: (parameters) => getFile(client, parameters),
    listFiles: (parameters) => listFiles(client, parameters),
    statFile: (parameters) => statFile(client, parameters),
    removeFile: (parameters) => removeFile(client, parameters),
    makeDirectory: (parameters) => makeDirectory(client, parameters),
    moveFile: (parameters) => moveFile(client, parameters),
  };
}
