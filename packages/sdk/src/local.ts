/**
 * `@hms-network/sdk/local`: helpers for a local Hardhat chain only (chain id 31337) — `localChain()` (viem public,
 * test and wallet clients over Hardhat's well-known mnemonic) and the demo's deterministic bookkeeper and node keys.
 * These keys are public: never send real funds to them.
 */
export { localChain, HARDHAT_CHAIN_ID, HARDHAT_MNEMONIC, type LocalChain } from "../../../offchain/chain/local";
export {
  demoBookkeeperKey,
  demoBookkeeperPrivateKey,
  demoNodeId,
  demoNodeKey,
  demoNodePrivateKey,
} from "../../../offchain/devnet/accounts";
