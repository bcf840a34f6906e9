/**
 * Index replication, pure part (issue 13 item 5). What the meta daemon (meta-net) may rely on:
 * - {@link ReplicationNode}: `new ReplicationNode(config, durableLog)`; the election drives `becomeLeader(term)` /
 *   `becomeFollower(term, leader)`; the master calls `propose(command)` (→ the entry and actions) and
 *   `heartbeat()` every heartbeat period; every peer message goes to `receive(from, message)`. Actions, in order:
 *   `persist` (truncate + append durably before the sends that follow), `send`, `send-snapshot` (attach the
 *   snapshot data), `install-snapshot`, `commit` (apply up to index; acknowledge writes at or below it), `term`
 *   (a newer term was seen: move the election there). `tip` feeds the election's `setLog`; `readState()` gives a
 *   follower's staleness; `compact(index)` after taking a snapshot of the applied state.
 * - {@link canServeRead} (read-your-writes by index), {@link majorityIndex}, {@link catchUpPlan}.
 * - The seeded simulator (sim.ts) is for tests.
 */
export * from "./node";
export * from "./types";
