/**
 * `npm run subgraph:check` — checks subgraph/subgraph.yaml against the compiled contracts (the same check as
 * test/subgraph/consistency.test.ts): handlers name existing events with their exact signatures, every event is
 * handled or deliberately ignored (subgraph/ignored-events.yaml). Exits 1 and lists the problems otherwise.
 */
import hre from "hardhat";
import { checkProjectSubgraph } from "../../tools/subgraph/project";

async function main() {
  const problems = await checkProjectSubgraph(hre);
  if (problems.length === 0) {
    console.log("subgraph: consistent with the compiled contracts");
    return;
  }
  for (const p of problems) console.error(`  - ${p}`);
  console.error(`subgraph: ${problems.length} problem(s)`);
  process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
