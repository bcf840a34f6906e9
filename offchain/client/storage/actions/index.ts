/** The storage SDK's actions (one per file) and their client. */
export * from "./client";
export * from "./types";
export * from "./putFile";
export * from "./getFile";
export * from "./listFiles";
export * from "./statFile";
export * from "./removeFile";
export * from "./makeDirectory";
export * from "./moveFile";
