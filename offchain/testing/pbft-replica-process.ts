/**
 * One PBFT replica in its own process, configured like a daemon: `loadConfig(pbftReplicaConfigSchema)`
 * from PBFT_CONFIG_FILE and HMS_PBFT_* variables. Used by the multi-process test and the HTTP
 * benchmark. With an IPC channel (started by `fork`) it reports `ready` / `executed` / `evidence`
 * messages to the parent, takes `{type:"submit", request}` / `{type:"batch", …}` /
 * `{type:"peers", peers}` commands, and shuts down when the parent goes away. SIGINT/SIGTERM shut it down gracefully (exit 0).
 *
 * PBFT_VALIDATOR selects the request validator: `prefix` (requests start with `req|`, default) or
 * `traffic` (benchmark traffic-record batches).
 */
import type { Address } from "viem";
import { loadConfig, pbftReplicaConfigSchema } from "../core/config";
import { createLogger } from "../core/logger";
import { Shutdown } from "../core/shutdown";
import { startPbftReplica } from "../consensus/pbft/daemon";
import { makeBatch, validateBatch } from "./pbft-batch";

async function main(): Promise<void> {
  const config = loadConfig(pbftReplicaConfigSchema, { file: process.env.PBFT_CONFIG_FILE, envPrefix: "HMS_PBFT_" });
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty, name: process.env.PBFT_NAME });
  const validate = process.env.PBFT_VALIDATOR === "traffic" ? validateBatch : (r: string) => r.startsWith("req|");
  const reportSigned = process.env.PBFT_REPORT_SIGNED === "1";
  const send = (m: unknown) => {
    if (process.send && process.connected) process.send(m);
  };
  const running = await startPbftReplica(config, {
    validate,
    logger,
    persist: process.env.PBFT_PERSIST !== "0",
    onExecute: (e) =>
      send({
        type: "executed",
        seq: e.seq,
        view: e.view,
        digest: e.digest,
        duplicate: e.duplicate,
        t: Number(process.hrtime.bigint()) / 1e6,
      }),
    onEvidence: (e) => send({ type: "evidence", kind: e.kind, replica: e.replica, view: e.view, seq: e.seq }),
    onAction: (a) => {
      if (reportSigned && (a.type === "broadcast" || a.type === "send")) {
        const m = a.message;
        if (m.type === "pre-prepare" || m.type === "prepare" || m.type === "commit")
          send({ type: "signed", kind: m.type, view: m.view, seq: m.seq, digest: m.digest, replica: m.replica });
        if (m.type === "view-change")
          send({ type: "signed", kind: m.type, view: m.view, seq: 0, digest: m.sig, replica: m.replica });
        if (m.type === "new-view")
          for (const pp of m.prePrepares)
            send({
              type: "signed",
              kind: "pre-prepare",
              view: pp.view,
              seq: pp.seq,
              digest: pp.digest,
              replica: pp.replica,
            });
      }
      if (a.type === "broadcast" && a.message.type === "pre-prepare" && a.message.request !== null)
        send({ type: "proposed", seq: a.message.seq, view: a.message.view, t: Number(process.hrtime.bigint()) / 1e6 });
      if (a.type === "new-view") send({ type: "new-view", view: a.view });
    },
  });
  const pregenerated = new Map<number, string>();
  const batchFor = (records: number, period: number, seed: number) => {
    const ready = pregenerated.get(period);
    pregenerated.delete(period);
    return ready ?? makeBatch(records, period, seed);
  };
  const shutdown = new Shutdown({ logger, timeoutMs: 5000 }).add("replica", () => running.close()).install();
  process.on("disconnect", () => void shutdown.run("parent disconnected"));
  type Command = {
    type: string;
    request?: string;
    records?: number;
    period?: number;
    seed?: number;
    count?: number;
    peers?: Array<{ address: Address; url: string }>;
  };
  process.on("message", (m: Command) => {
    const records = m.records ?? 10_000;
    const period = m.period ?? 1;
    const seed = m.seed ?? 1;
    const count = m.count ?? 1;
    switch (m.type) {
      case "submit":
        if (typeof m.request === "string") running.node.submit(m.request);
        break;
      case "peers":
        // With `listen.port` 0 the parent learns every replica's URL from `ready` and hands them out.
        for (const p of m.peers ?? []) running.node.setPeerUrl(p.address, p.url);
        running.node.announce();
        break;
      case "pregenerate":
        // Benchmark batches built ahead of the measurement, by period (no multi-megabyte IPC).
        for (let i = 0; i < count; i++) pregenerated.set(period + i, makeBatch(records, period + i, seed + i));
        send({ type: "pregenerated" });
        break;
      case "batch": {
        // `count` batches for periods period, period+1, …: all ready first, then submitted together.
        const batches = Array.from({ length: count }, (_, i) => batchFor(records, period + i, seed + i));
        send({ type: "submitted", period, t: Number(process.hrtime.bigint()) / 1e6 });
        for (const b of batches) running.node.submit(b);
        break;
      }
      case "cpu": {
        const u = process.cpuUsage();
        send({ type: "cpu", micros: u.user + u.system });
        break;
      }
      case "status":
        send({
          type: "status",
          view: running.node.replica.view,
          lastExecuted: running.node.replica.lastExecuted,
          status: running.node.replica.status,
        });
        break;
    }
  });
  send({
    type: "ready",
    url: running.url,
    view: running.node.replica.view,
    lastExecuted: running.node.replica.lastExecuted,
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
