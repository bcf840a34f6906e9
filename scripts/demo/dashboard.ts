/**
 * The dashboard beside the demo (issue 17): the in-process chain served over JSON-RPC on 127.0.0.1, `hms
 * dashboard`'s server watching it (and the validators the last chapter starts), its URL printed. With
 * `HMS_DEMO_DASHBOARD_WAIT=1` the demo keeps serving it after the last chapter until Ctrl-C. The SPA is built
 * first if `npm run dashboard:build` has not been run.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Deployment } from "../../offchain/chain";
import { silentLogger } from "../../offchain/core/logger";
import { ROOT, serveChain } from "../../offchain/devnet/cluster";
import { dashboardConfigSchema } from "../../offchain/dashboard/config";
import { DEFAULT_ASSETS_DIR, startDashboard, type DashboardServer } from "../../offchain/dashboard/server";

export interface DemoDashboard {
  url: string;
  server: DashboardServer;
  close(): Promise<void>;
}

export async function startDemoDashboard(
  hre: HardhatRuntimeEnvironment,
  deployment: Deployment,
): Promise<DemoDashboard> {
  if (!fs.existsSync(path.join(DEFAULT_ASSETS_DIR, "index.html")))
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, "node_modules", "vite", "bin", "vite.js"),
        "build",
        "--config",
        "offchain/dashboard/web/vite.config.mjs",
      ],
      { cwd: ROOT, stdio: "inherit" },
    );
  const chain = await serveChain(hre);
  const port = Number(process.env.HMS_DEMO_DASHBOARD_PORT ?? 0);
  const config = dashboardConfigSchema.parse({
    rpcUrl: chain.url,
    deployment: deployment.network,
    listen: { host: "127.0.0.1", port },
    chainPollMs: 1_000,
  });
  const server = await startDashboard(config, { logger: silentLogger(), deployment });
  console.log(
    `  dashboard: ${server.url} (live while the demo runs${process.env.HMS_DEMO_DASHBOARD_WAIT === "1" ? ", and after it until Ctrl-C" : "; HMS_DEMO_DASHBOARD_WAIT=1 keeps it after"})`,
  );
  return {
    url: server.url,
    server,
    async close() {
      if (process.env.HMS_DEMO_DASHBOARD_WAIT === "1") {
        console.log(`  dashboard still at ${server.url}: Ctrl-C to stop`);
        await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
      }
      await server.close();
      await chain.close();
    },
  };
}
