/**
 * `createHmsClient`: a viem client that knows the HMS deployment. Every action takes it first, viem style:
 *
 * ```ts
 * const client = createHmsClient({ deployment: loadDeployment("localhost"), transport: http(url), account });
 * const { balance } = await getTokenBalance(client, { address: account.address });
 * const hms = client.extend(hmsActions);            // or as methods: await hms.getTokenBalance({ … })
 * ```
 */
import {
  createClient,
  defineChain,
  type Account,
  type Chain,
  type Client,
  type Transport,
  type ClientConfig,
} from "viem";
import type { Deployment } from "../chain/deployment";

/** What every action needs: a viem client (optionally with an account) and the deployment it talks to. */
export type HmsClient<
  transport extends Transport = Transport,
  chain extends Chain | undefined = Chain | undefined,
  account extends Account | undefined = Account | undefined,
> = Client<transport, chain, account> & { deployment: Deployment };

/** The viem chain of a deployment (its chain id; `rpcUrl` as default RPC). */
export function hmsChain(deployment: Pick<Deployment, "chainId" | "network">, rpcUrl = "http://127.0.0.1:8545"): Chain {
  return defineChain({
    id: deployment.chainId,
    name: deployment.network === "localhost" ? "HMS local (Hardhat)" : `HMS ${deployment.network}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export type CreateHmsClientParameters<
  transport extends Transport = Transport,
  account extends Account | undefined = Account | undefined,
> = Omit<ClientConfig<transport, Chain, account>, "chain"> & {
  deployment: Deployment;
  /** Default: {@link hmsChain} of the deployment. */
  chain?: Chain;
};

/** A viem client bound to `deployment` (its `chain` defaults to the deployment's chain id). */
export function createHmsClient<transport extends Transport, account extends Account | undefined = undefined>(
  parameters: CreateHmsClientParameters<transport, account>,
): HmsClient<transport, Chain, account> {
  const { deployment, chain, ...rest } = parameters;
  const client = createClient({ ...rest, chain: chain ?? hmsChain(deployment) } as ClientConfig<
    transport,
    Chain,
    account
  >);
  return client.extend(() => ({ deployment })) as unknown as HmsClient<transport, Chain, account>;
}
