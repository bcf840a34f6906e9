/**
 * `npm run subgraph:replay` — what the subgraph would index, without graph-node: builds the mappings (graph-cli,
 * offline), replays every protocol event of the chain Hardhat points at (default `--network localhost`, addresses
 * from deployments/<network>.json) through them with the replay host of tools/subgraph/replay, and prints the
 * entity counts and the Protocol entity. `HMS_SUBGRAPH_DUMP=<file>` also writes every entity as JSON.
 *
 * This is an emulation for development and tests (see replay/host.ts), not a substitute for graph-node.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import type { Abi, Hex } from "viem";
import { deploymentPath, loadDeployment } from "../../offchain/chain";
import { buildMappings } from "../../tools/subgraph/build";
import { readManifest, subgraphDir } from "../../tools/subgraph/project";
import { replay } from "../../tools/subgraph/replay/replay";
import { parseSchema } from "../../tools/subgraph/replay/schema";

async function main() {
  const deployment = loadDeployment(deploymentPath(hre.network.name, hre.config.paths.root));
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "hms-subgraph-"));
  try {
    await buildMappings(hre, buildDir);
    const manifest = readManifest(hre);
    const abis: Record<string, Abi> = {};
    const addresses: Record<string, { address: Hex; startBlock: number }> = {};
    for (const ds of manifest.dataSources ?? []) {
      abis[ds.source!.abi!] = (await hre.artifacts.readArtifact(ds.source!.abi!)).abi as Abi;
      const c = deployment.contracts[ds.name!];
      if (c === undefined) throw new Error(`the ${hre.network.name} deployment has no ${ds.name}`);
      addresses[ds.name!] = { address: c.address, startBlock: c.blockNumber };
    }
    const schema = parseSchema(fs.readFileSync(path.join(subgraphDir(hre), "schema.graphql"), "utf8"));
    const result = await replay({ client: await hre.viem.getPublicClient(), buildDir, addresses, abis, schema });
    const handled = [...result.handled.values()].reduce((a, b) => a + b, 0);
    console.log(`replayed ${handled} events (${result.ignored} ignored), ${result.ethCalls} eth_calls`);
    for (const type of result.store.types()) console.log(`  ${type.padEnd(22)} ${result.store.count(type)}`);
    const protocol = result.store.entity("Protocol", "hms");
    if (protocol !== undefined) {
      console.log(JSON.stringify(protocol, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2));
    }
    const dump = process.env.HMS_SUBGRAPH_DUMP;
    if (dump) {
      const out: Record<string, unknown> = {};
      for (const type of result.store.types()) out[type] = Object.fromEntries(result.store.all(type));
      fs.writeFileSync(
        dump,
        JSON.stringify(out, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2),
      );
      console.log(`wrote ${dump}`);
    }
  } finally {
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
