/**
 * PBFT: the pure replica state machine and what drives it. The validator daemon uses
 * `startPbftReplica` (config → running replica) or `PbftNode` + `createReplica` directly.
 */
export * from "./types";
export * from "./quorum";
export * from "./replica";
export * from "./crypto";
export * from "./codec";
export * from "./node";
export * from "./daemon";
