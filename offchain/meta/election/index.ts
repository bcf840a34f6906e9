/**
 * PoA master election (issue 13 item 4). What the meta daemon (meta-net) may rely on:
 * - {@link ElectionMachine}: `new ElectionMachine(config, durableState, random)`, then `start(now)`,
 *   `receive(from, message, now)`, `tick(now)` (call it at `nextTimer`), `stepDown(now)` (graceful shutdown),
 *   `setLog(tip)` after every log change. Each returns actions to perform in order: `persist` (write the
 *   DurableElectionState before doing the sends that follow), `send`, `broadcast`, `role` (role/term/leader changed).
 *   Messages are plain objects with bigints (ElectionMessage); sign and encode them at the edge.
 * - {@link TermFence} / {@link assertCurrentTerm}: refuse writes of an older term (META_STALE_TERM).
 * - The seeded simulator (sim.ts) is for tests.
 */
export * from "./fencing";
export * from "./machine";
export * from "./types";
