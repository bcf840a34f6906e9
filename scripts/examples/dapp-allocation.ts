/**
 * A plain viem dApp: reads the token supply and every allocation bucket from a local Hardhat node,
 * using nothing but `deployments/localhost.json`. Run after `npm run deploy:local`:
 *
 *   npx ts-node scripts/examples/dapp-allocation.ts [deployments/localhost.json]
 */
import fs from "node:fs";
import { createPublicClient, formatEther, http, type Abi, type Address } from "viem";

const file = process.argv[2] ?? "deployments/localhost.json";
const { contracts } = JSON.parse(fs.readFileSync(file, "utf8")) as {
  contracts: Record<string, { address: Address; abi: Abi }>;
};
const client = createPublicClient({ transport: http(process.env.HMS_RPC_URL ?? "http://127.0.0.1:8545") });
const read = <T>(name: string, functionName: string, args: unknown[] = []) =>
  client.readContract({ ...contracts[name], functionName, args }) as Promise<T>;

async function main() {
  console.log(`totalSupply ${formatEther(await read<bigint>("HMSToken", "totalSupply"))} HMS`);
  for (const [i, bucket] of ["IDO", "Technology", "Operation", "Foundation", "Mining"].entries()) {
    const [total, released, , releasable, beneficiary] = await read<[bigint, bigint, bigint, bigint, Address]>(
      "TokenAllocation",
      "bucketInfo",
      [i],
    );
    const holder = beneficiary === "0x0000000000000000000000000000000000000000" ? "(allocation)" : beneficiary;
    console.log(
      `${bucket} total=${formatEther(total)} released=${formatEther(released)} releasable=${formatEther(releasable)} beneficiary=${holder}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
