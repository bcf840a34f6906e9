/**
 * Typed viem contract instances for a deployment: the entry point for dApps and daemons.
 *
 * ```ts
 * const client = createPublicClient({ chain: hardhat, transport: http("http://127.0.0.1:8545") });
 * const hms = hmsContracts(client, loadDeployment("localhost"));
 * const supply = await hms.HMSToken.read.totalSupply(); // bigint, typed from the ABI
 * ```
 *
 * ABIs come from `./abis` (generated `as const` after every compile), addresses from the deployment
 * file, so argument and return types are inferred by viem.
 */
import { getContract, type Client, type GetContractReturnType, type PublicClient, type WalletClient } from "viem";
import { abis, type ContractName } from "./abis";
import { contractAddress, type Deployment } from "./deployment";

/** A client pair: read with `public`, write with `wallet`. Either alone works for its half. */
export type HmsClient =
  Client | { public: PublicClient; wallet?: WalletClient } | { public?: PublicClient; wallet: WalletClient };

export type HmsContract<N extends ContractName, C extends HmsClient = HmsClient> = GetContractReturnType<
  (typeof abis)[N],
  C
>;

export type HmsContracts<C extends HmsClient = HmsClient> = { [N in ContractName]: HmsContract<N, C> };

/** One typed contract of the deployment. Throws a DeploymentError if it is not deployed there. */
export function hmsContract<N extends ContractName, C extends HmsClient>(
  client: C,
  deployment: Deployment,
  name: N,
): HmsContract<N, C> {
  return getContract({ address: contractAddress(deployment, name), abi: abis[name], client }) as HmsContract<N, C>;
}

/**
 * Every exported contract that the deployment contains, typed. Accessing one that the deployment
 * lacks throws a DeploymentError naming it (so an old deployment file fails clearly, not with
 * `undefined`).
 */
export function hmsContracts<C extends HmsClient>(client: C, deployment: Deployment): HmsContracts<C> {
  const cache = new Map<string, unknown>();
  return new Proxy({} as HmsContracts<C>, {
    get(_target, prop) {
      if (typeof prop !== "string" || !(prop in abis)) return undefined;
      if (!cache.has(prop)) cache.set(prop, hmsContract(client, deployment, prop as ContractName));
      return cache.get(prop);
    },
    has(_target, prop) {
      return typeof prop === "string" && prop in abis && prop in deployment.contracts;
    },
    ownKeys() {
      return Object.keys(abis).filter((n) => n in deployment.contracts);
    },
    getOwnPropertyDescriptor(_target, prop) {
      return typeof prop === "string" && prop in abis && prop in deployment.contracts
        ? { enumerable: true, configurable: true }
        : undefined;
    },
  });
}
