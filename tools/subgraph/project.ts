/**
 * The subgraph's build inputs, from the Hardhat project: ABIs (`subgraph/abis/*.json`, from the compiled
 * artifacts) and `subgraph/networks.json` (addresses and start blocks, from `deployments/<network>.json`), plus the
 * consistency check of `subgraph/subgraph.yaml` against the artifacts. Used by scripts/subgraph/prepare.ts
 * (`npm run subgraph:networks`), scripts/subgraph/check.ts (`npm run subgraph:check`) and test/subgraph.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { EXPORTED_CONTRACTS } from "../abis";
import {
  deploySystem,
  deploymentsDir,
  loadDeployment,
  localDeployOptions,
  type Deployment,
} from "../../offchain/chain";
import { checkSubgraph, readSubgraphDir, type ContractAbi, type Manifest, type NetworksFile } from "./manifest";

/** The network `npm run subgraph:build` builds for: a Hardhat node on 127.0.0.1:8545. */
export const LOCAL_NETWORK = "localhost";

/** Deployment files that describe no chain a graph-node could index (Hardhat's in-process chain dies with its process). */
const EPHEMERAL_NETWORKS = new Set(["hardhat"]);

export function subgraphDir(hre: HardhatRuntimeEnvironment): string {
  return path.join(hre.config.paths.root, "subgraph");
}

/** The parsed subgraph.yaml. */
export function readManifest(hre: HardhatRuntimeEnvironment): Manifest {
  return YAML.parse(fs.readFileSync(path.join(subgraphDir(hre), "subgraph.yaml"), "utf8")) as Manifest;
}

/** Data source names of the manifest (each one is a contract name and a deployment entry). */
export function dataSourceNames(manifest: Manifest): string[] {
  return (manifest.dataSources ?? []).map((ds) => ds.name ?? "").filter((n) => n !== "");
}

/** Contract names whose ABI the subgraph reads (each data source's `mapping.abis`). */
export function manifestAbiNames(manifest: Manifest): string[] {
  const names = new Set<string>();
  for (const ds of [...(manifest.dataSources ?? []), ...(manifest.templates ?? [])]) {
    for (const abi of ds.mapping?.abis ?? []) if (abi.name) names.add(abi.name);
  }
  return [...names].sort();
}

/** Writes `subgraph/abis/<Contract>.json` (the compiled ABI) for every ABI the manifest lists. */
export async function writeSubgraphAbis(hre: HardhatRuntimeEnvironment): Promise<string[]> {
  const dir = path.join(subgraphDir(hre), "abis");
  fs.mkdirSync(dir, { recursive: true });
  const names = manifestAbiNames(readManifest(hre));
  for (const name of names) {
    const artifact = await hre.artifacts.readArtifact(name);
    const file = path.join(dir, `${name}.json`);
    const text = JSON.stringify(artifact.abi, null, 2) + "\n";
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) fs.writeFileSync(file, text);
  }
  return names;
}

/** The networks.json entry of one deployment: every data source's address and deployment block. */
export function networkEntry(
  deployment: Deployment,
  dataSources: readonly string[],
  source: string,
): Record<string, { address: string; startBlock: number }> {
  const entry: Record<string, { address: string; startBlock: number }> = {};
  for (const name of dataSources) {
    const contract = deployment.contracts[name];
    if (contract === undefined) {
      throw new Error(`${source} has no ${name}: deploy the whole system (npm run deploy:local) for the subgraph`);
    }
    entry[name] = { address: contract.address, startBlock: contract.blockNumber };
  }
  return entry;
}

/**
 * Deploys the system to Hardhat's in-process chain exactly as `npm run deploy:local` deploys it to a fresh
 * `hardhat node` (same accounts, same transaction sequence), so the addresses and blocks are those of the node.
 */
export async function deployLikeDeployLocal(hre: HardhatRuntimeEnvironment): Promise<Deployment> {
  if (hre.network.name !== "hardhat") {
    throw new Error(`refusing to deploy to ${hre.network.name}: derive addresses on the in-process network only`);
  }
  const publicClient = await hre.viem.getPublicClient();
  const wallets = await hre.viem.getWalletClients();
  // Same options as scripts/deploy.ts (`npm run deploy:local`).
  return deploySystem(publicClient, wallets[0], hre.artifacts, {
    ...localDeployOptions(wallets.map((w) => w.account.address)),
    network: LOCAL_NETWORK,
  });
}

export interface NetworksResult {
  networks: NetworksFile;
  /** Where each network's entry came from: a deployment file, or the in-process derivation. */
  origins: Record<string, string>;
}

/**
 * networks.json content: one entry per `deployments/<network>.json` (except in-process `hardhat`), and for
 * `localhost` without a deployment file, the addresses a fresh `hardhat node` gets from `npm run deploy:local`
 * (derived by deploying in-process). Networks already in `existing` that no deployment describes are kept.
 */
export async function buildNetworks(
  hre: HardhatRuntimeEnvironment,
  existing: NetworksFile = {},
): Promise<NetworksResult> {
  const names = dataSourceNames(readManifest(hre));
  const networks: NetworksFile = { ...existing };
  const origins: Record<string, string> = {};
  const dir = deploymentsDir(hre.config.paths.root);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
  for (const file of files.sort()) {
    const network = file.slice(0, -".json".length);
    if (EPHEMERAL_NETWORKS.has(network)) continue;
    const full = path.join(dir, file);
    networks[network] = networkEntry(loadDeployment(full), names, full);
    origins[network] = full;
  }
  if (origins[LOCAL_NETWORK] === undefined) {
    networks[LOCAL_NETWORK] = networkEntry(await deployLikeDeployLocal(hre), names, "the in-process deployment");
    origins[LOCAL_NETWORK] = "derived: npm run deploy:local on a fresh hardhat node (replayed in-process)";
  }
  const sorted: NetworksFile = {};
  for (const key of Object.keys(networks).sort()) sorted[key] = networks[key];
  return { networks: sorted, origins };
}

/** Writes subgraph/networks.json (merging networks it does not regenerate). */
export async function writeNetworks(hre: HardhatRuntimeEnvironment): Promise<NetworksResult> {
  const file = path.join(subgraphDir(hre), "networks.json");
  const existing = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as NetworksFile) : {};
  const result = await buildNetworks(hre, existing);
  const text = JSON.stringify(result.networks, null, 2) + "\n";
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) fs.writeFileSync(file, text);
  return result;
}

/** Compiled ABIs of the protocol contracts, of every contract the manifest names, and of linked libraries. */
export async function projectAbis(
  hre: HardhatRuntimeEnvironment,
  manifest: Manifest,
): Promise<{ abis: Record<string, ContractAbi | undefined>; linkedLibraries: Record<string, string[]> }> {
  const names = new Set<string>([...EXPORTED_CONTRACTS, ...manifestAbiNames(manifest)]);
  for (const ds of manifest.dataSources ?? []) if (ds.source?.abi) names.add(ds.source.abi);
  const abis: Record<string, ContractAbi | undefined> = {};
  const linkedLibraries: Record<string, string[]> = {};
  for (const name of names) {
    if (!(await hre.artifacts.artifactExists(name))) {
      abis[name] = undefined;
      continue;
    }
    const artifact = await hre.artifacts.readArtifact(name);
    abis[name] = artifact.abi as ContractAbi;
    const libraries = Object.values(artifact.linkReferences ?? {}).flatMap((byName) => Object.keys(byName));
    if (libraries.length > 0) linkedLibraries[name] = libraries;
    for (const library of libraries) {
      if (abis[library] === undefined) abis[library] = (await hre.artifacts.readArtifact(library)).abi as ContractAbi;
    }
  }
  return { abis, linkedLibraries };
}

/** Checks the project's subgraph against the compiled contracts; returns the problems (none = consistent). */
export async function checkProjectSubgraph(hre: HardhatRuntimeEnvironment): Promise<string[]> {
  const dir = readSubgraphDir(subgraphDir(hre));
  const { abis, linkedLibraries } = await projectAbis(hre, dir.manifest);
  return checkSubgraph({ ...dir, abis, linkedLibraries, protocolContracts: EXPORTED_CONTRACTS });
}
