/**
 * `npm run subgraph:networks` — writes the subgraph's build inputs: `subgraph/abis/*.json` from the compiled
 * artifacts, and `subgraph/networks.json` from `deployments/<network>.json` (for `localhost` without a deployment
 * file: the addresses and blocks a fresh `hardhat node` gets from `npm run deploy:local`, derived by replaying that
 * deployment on Hardhat's in-process chain). `npm run subgraph:build` runs it before `graph codegen` / `graph build`.
 */
import hre from "hardhat";
import { LOCAL_NETWORK, writeNetworks, writeSubgraphAbis } from "../../tools/subgraph/project";

async function main() {
  const abis = await writeSubgraphAbis(hre);
  console.log(`subgraph/abis: ${abis.join(", ")}`);
  const { networks, origins } = await writeNetworks(hre);
  for (const [network, origin] of Object.entries(origins)) console.log(`subgraph/networks.json ${network}: ${origin}`);
  const local = networks[LOCAL_NETWORK];
  for (const [name, entry] of Object.entries(local)) {
    console.log(`  ${name.padEnd(22)} ${entry.address}  startBlock ${entry.startBlock}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
