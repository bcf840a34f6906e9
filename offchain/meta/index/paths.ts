/** Index paths: the rule lives in protocol/index-paths.ts (the storage client checks paths with it too). */
export * from "../../protocol/index-paths";
