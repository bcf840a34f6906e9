/**
 * `@hms-network/sdk/storage` (Node.js): the storage client — `createStorageClient(…).extend(hmsStorageActions)` with
 * `putFile`, `getFile`, `listFiles`, `statFile`, `removeFile`, `makeDirectory`, `moveFile` — over the meta layer's
 * HTTP client, plus the lower-level `upload` / `download` and the storage workers' client. A subpath of its own so
 * the main entry stays free of the storage client's Node-only dependencies (undici, the UnixFS importer).
 */
export * from "../../../offchain/client/storage";
export { MetaClient, isMetaRetryable, type MetaClientOptions, type MetaStatus } from "../../../offchain/client/meta";
