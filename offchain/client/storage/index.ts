/** The storage client SDK: upload and download through a `StorageNetwork`, and the workers' HTTP client. */
export * from "./upload";
export * from "./download";
export * from "./signer";
export * from "./replicas";
export * from "./worker-client";
export * from "./actions";
export * from "../decorators/storage";
