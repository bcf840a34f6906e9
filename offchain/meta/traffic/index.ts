/**
 * The traffic feed (what the meta layer gives validators each period), its deterministic stand-in and the
 * HTTP service / client.
 */
export * from "./feed";
export * from "./generator";
export * from "./http";
export * from "./service";
