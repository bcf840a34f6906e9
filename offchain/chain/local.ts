/**
 * Clients for a local Hardhat node (`npm run node`: chain 31337 on 127.0.0.1:8545) and its well-known
 * accounts, for dApp examples and scripts:
 *
 * ```ts
 * const local = localChain();                                  // $HMS_RPC_URL or http://127.0.0.1:8545
 * const hms = hmsContracts(local.publicClient, loadDeployment("localhost"));
 * const asUser = hmsContracts(local.clients(16), deployment);   // typed writes as Hardhat account #16
 * await local.wait(await asUser.HMSToken.write.approve([spender, amount]));
 * ```
 */
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http,
  toHex,
  type Chain,
  type Hash,
  type Hex,
  type HttpTransport,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
  type WalletClient,
} from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import { HmsError } from "../core/errors";

/** The mnemonic behind Hardhat's default local accounts (never use it anywhere else). */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** The private key of Hardhat's default account #i (for local devnets, demos and tests only). */
export function hardhatPrivateKey(i: number): Hex {
  return toHex(mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i }).getHdKey().privateKey!);
}

/** Hardhat's chain id. */
export const HARDHAT_CHAIN_ID = 31337;

/** What {@link localChain} returns (spelled out: the SDK's declarations cannot carry viem's inferred types). */
export interface LocalChain {
  url: string;
  chain: Chain;
  transport: HttpTransport;
  publicClient: PublicClient<HttpTransport, Chain>;
  testClient: TestClient<"hardhat", HttpTransport, Chain>;
  /** Hardhat account #i. */
  account(i: number): HDAccount;
  /** A wallet client acting as account #i. */
  wallet(i: number): WalletClient<HttpTransport, Chain, HDAccount>;
  /** The `{ public, wallet }` pair `hmsContracts` takes for typed reads and writes as account #i. */
  clients(i: number): {
    public: PublicClient<HttpTransport, Chain>;
    wallet: WalletClient<HttpTransport, Chain, HDAccount>;
  };
  /** Waits for a transaction and returns its receipt; throws an HmsError (code TX_REVERTED) if it reverted. */
  wait(hash: Hash): Promise<TransactionReceipt>;
}

/** Public, test and per-account wallet clients for a local Hardhat node at `url`. */
export function localChain(url = process.env.HMS_RPC_URL ?? "http://127.0.0.1:8545"): LocalChain {
  const transport = http(url);
  const chain = defineChain({
    id: HARDHAT_CHAIN_ID,
    name: "Hardhat",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  });
  const publicClient = createPublicClient({ chain, transport });
  const testClient = createTestClient({ chain, mode: "hardhat", transport });
  /** Hardhat account #i. */
  const account = (i: number): HDAccount => mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i });
  /** A wallet client acting as account #i. */
  const wallet = (i: number) => createWalletClient({ chain, transport, account: account(i) });
  /** The `{ public, wallet }` pair `hmsContracts` takes for typed reads and writes as account #i. */
  const clients = (i: number) => ({ public: publicClient, wallet: wallet(i) });
  /** Waits for a transaction and returns its receipt; throws an HmsError (code TX_REVERTED) if it reverted. */
  async function wait(hash: Hash): Promise<TransactionReceipt> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw new HmsError("CHAIN_TX_REVERTED", `transaction ${hash} reverted`, { value: hash });
    return receipt;
  }
  return { url, chain, transport, publicClient, testClient, account, wallet, clients, wait };
}
