/**
 * Where `hms dashboard` finds the built single-page app, and its build (`npm run dashboard:build`: Vite,
 * offchain/dashboard/web → dist/dashboard) for the callers that start a dashboard themselves (`hms devnet up`).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { HmsError } from "../core/errors";

const ROOT = path.join(__dirname, "..", "..");

/** Where `npm run dashboard:build` writes the SPA. */
export const DEFAULT_ASSETS_DIR = path.join(ROOT, "dist", "dashboard");

/** The assets directory a dashboard started with `env` uses unless its config says otherwise. */
export function assetsDirOf(env: Record<string, string | undefined> = process.env): string {
  return path.resolve(env.HMS_DASHBOARD_ASSETS_DIR ?? DEFAULT_ASSETS_DIR);
}

/** True when `dir` holds a build (its index.html). */
export function assetsBuilt(dir: string): boolean {
  return fs.existsSync(path.join(dir, "index.html"));
}

/**
 * Builds the SPA into `outDir` (default dist/dashboard) with the repository's Vite. Throws `DASHBOARD_NOT_BUILT`
 * when Vite is not installed (a production install) or the build fails.
 */
export function buildAssets(outDir = DEFAULT_ASSETS_DIR): string {
  const vite = path.join(ROOT, "node_modules", "vite", "bin", "vite.js");
  if (!fs.existsSync(vite))
    throw new HmsError(
      "DASHBOARD_NOT_BUILT",
      `no ${outDir}/index.html and no Vite to build it: npm run dashboard:build`,
      {
        value: outDir,
      },
    );
  try {
    execFileSync(
      process.execPath,
      [
        vite,
        "build",
        "--config",
        path.join(ROOT, "offchain", "dashboard", "web", "vite.config.mjs"),
        "--outDir",
        outDir,
        "--emptyOutDir",
      ],
      { cwd: ROOT, stdio: "pipe" },
    );
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
    throw new HmsError("DASHBOARD_NOT_BUILT", `the dashboard's build failed: ${stderr || (err as Error).message}`, {
      value: outDir,
      cause: err,
    });
  }
  return outDir;
}
