/**
 * Builds the subgraph's mappings with graph-cli (offline): ABIs from the artifacts, `graph codegen`, `graph build`
 * into `outDir` without `--network` (so subgraph.yaml is left as it is). For the replay test and CLI; users run
 * `npm run subgraph:build`.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { subgraphDir, writeSubgraphAbis } from "./project";

function graph(args: string[], cwd: string, root: string): Promise<string> {
  const bin = path.join(root, "node_modules", ".bin", process.platform === "win32" ? "graph.cmd" : "graph");
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`graph ${args.join(" ")} exited ${code}:\n${out}`)),
    );
  });
}

/** Writes the ABIs, runs `graph codegen` and `graph build -o <outDir>`; returns the build directory. */
export async function buildMappings(hre: HardhatRuntimeEnvironment, outDir: string): Promise<string> {
  await writeSubgraphAbis(hre);
  const dir = subgraphDir(hre);
  const root = hre.config.paths.root;
  await graph(["codegen"], dir, root);
  await graph(["build", "--output-dir", outDir], dir, root);
  return outDir;
}
