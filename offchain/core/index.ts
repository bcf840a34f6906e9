/** Off-chain core: one of each, shared by every daemon. */
export * from "./errors";
export * from "./config";
export * from "./logger";
export * from "./metrics";
export * from "./signing";
export * from "./store";
export * from "./shutdown";
export * from "./transport";
