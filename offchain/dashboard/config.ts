/**
 * Configuration of `hms dashboard` (core/config: a YAML/JSON file, then `HMS_DASHBOARD_*` variables, then flags).
 * Every source is public: a JSON-RPC endpoint with the deployment file, and the base URLs of daemons whose
 * `/health` and `/metrics` (and, for meta nodes, the public API) are read. No key is ever configured here.
 */
import { z } from "zod";
import { loadConfig, logConfigSchema, portSchema } from "../core/config";

const httpUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ""));

export const dashboardConfigSchema = z.strictObject({
  /** JSON-RPC endpoint of the chain. */
  rpcUrl: httpUrl,
  /** Deployment file (path or network name, as for every daemon). */
  deployment: z.string().min(1),
  listen: z.strictObject({ host: z.string().min(1).default("127.0.0.1"), port: portSchema.default(8090) }).prefault({}),
  /** Chain poll: new blocks' events and contract reads, ms. */
  chainPollMs: z.number().int().min(100).default(2_000),
  /** Daemon poll (`/health`, `/metrics`, meta status), ms: a daemon that stops answering turns red within one. */
  healthPollMs: z.number().int().min(100).default(1_000),
  /** Per-request timeout of a daemon poll, ms. */
  requestTimeoutMs: z.number().int().min(50).default(800),
  /** First block whose events are read (0: from genesis; the deployment's first block is used when larger). */
  fromBlock: z.number().int().nonnegative().default(0),
  /** Base URLs of the daemons to watch. */
  validators: z.array(httpUrl).max(64).default([]),
  storage: z.array(httpUrl).max(256).default([]),
  compute: z.array(httpUrl).max(256).default([]),
  meta: z.array(httpUrl).max(16).default([]),
  /** Owners whose files the Data view lists (the meta API lists directories per owner). */
  owners: z
    .array(z.string().regex(/^0x[0-9a-fA-F]{40}$/))
    .max(64)
    .default([]),
  /** Directory of the built SPA (default: dist/dashboard under the repository). */
  assetsDir: z.string().min(1).optional(),
  log: logConfigSchema.prefault({}),
});

export type DashboardConfig = z.output<typeof dashboardConfigSchema>;
export type DashboardConfigInput = z.input<typeof dashboardConfigSchema>;

/** Loads the dashboard configuration (file, `HMS_DASHBOARD_*` variables, overrides). */
export function loadDashboardConfig(
  file: string | undefined,
  env: Record<string, string | undefined> = process.env,
  overrides?: Record<string, unknown>,
): DashboardConfig {
  return loadConfig(dashboardConfigSchema, { file, env, envPrefix: "HMS_DASHBOARD_", overrides });
}
