/**
 * The storage benchmark's memory probe (child process of scripts/bench/storage.ts): a client process that does
 * only this — upload a file through the given workers with 3 copies, download it verified — and prints its
 * own peak RSS, so that the client's memory is measured apart from the benchmark's harness.
 *
 *   storage-client.ts <file> <workers JSON> <network JSON>
 */
import { generatePrivateKey } from "viem/accounts";
import { download, privateKeySigner, upload } from "../../offchain/client/storage";
import type { NetworkParams } from "../../offchain/client/storage/upload";
import type { NodeEndpoint } from "../../offchain/protocol/network";
import { FixtureStorageNetwork } from "../../offchain/testing/storage-network";

async function main(): Promise<void> {
  const [file, workersJson, paramsJson] = process.argv.slice(2);
  const nodes = JSON.parse(workersJson) as NodeEndpoint[];
  const raw = JSON.parse(paramsJson) as Omit<NetworkParams, "clock"> & {
    clock: { genesis: string; periodLength: string };
  };
  const params: NetworkParams = {
    ...raw,
    clock: { genesis: BigInt(raw.clock.genesis), periodLength: BigInt(raw.clock.periodLength) },
  };
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const net = new FixtureStorageNetwork(nodes, params);
  const owner = privateKeySigner(generatePrivateKey());
  const idle = process.memoryUsage().rss;
  const stored = await upload(net, { file }, { owner, network: params, path: "/big" });
  let n = 0;
  for await (const chunk of await download(net, stored.rootCid, { client: owner, network: params })) n += chunk.length;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  process.stdout.write(`${JSON.stringify({ idle, peak, bytes: n, cid: stored.rootCid })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
