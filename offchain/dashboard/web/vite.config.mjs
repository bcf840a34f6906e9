// Vite build of the dashboard SPA (`npm run dashboard:build`): offchain/dashboard/web → dist/dashboard.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: "./",
  logLevel: "warn",
  build: {
    outDir: path.join(here, "..", "..", "..", "dist", "dashboard"),
    emptyOutDir: true,
    sourcemap: true,
    target: "es2022",
  },
});
