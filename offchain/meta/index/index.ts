/**
 * The meta index (issue 13 item 1). What the meta daemon (meta-net) may rely on:
 * - {@link MetaIndex}: `open(store)` (rebuilds the Bloom filter), `apply(entry)` / `applyAll(entries)` of
 *   replicated log entries (idempotent by log index, deterministic outcome, one atomic batch, optional `stage`
 *   hook to add another state machine's writes to the same batch), reads `stat` / `ls` / `locate` / `file` /
 *   `slice` / `allSlices` / `committed` / `lastNonce`, `position` (term + index applied: staleness), and
 *   `snapshot()` / `installSnapshot()` for catch-up. Entries whose command kind is not an index kind only
 *   advance the position (receipts and no-ops may share the log).
 * - {@link authorizeWrite} (owner signature, deadline, nonce, shape) then {@link commandOf} (the IndexCommand to
 *   append) on the master; the signed message itself is protocol/index-write.ts (shared with the client).
 * - Path rules (paths.ts), record and command types (types.ts), repositories (repositories.ts).
 * These names and shapes are stable; new fields are added as optional.
 */
export * from "./auth";
export * from "./meta-index";
export * from "./paths";
export * from "./repositories";
export * from "./types";
