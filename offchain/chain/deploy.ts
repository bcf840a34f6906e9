/**
 * Deploys the whole HMS Network system with viem clients: to Hardhat's in-process chain (tests, the
 * demo), to `npx hardhat node` (`npm run deploy:local`), or to any JSON-RPC chain.
 *
 * Order and wiring:
 *   1. HMSToken, minting the whole supply to the TokenAllocation address predicted from the
 *      deployer's nonce (the allocation constructor re-checks that it holds exactly 800 M);
 *   2. HMSTimelock (governance), 3. TokenAllocation;
 *   … later contracts append their steps in `deploySystem`;
 *   last, every admin role moves from the deployer to the timelock and the deployer renounces it.
 */
import fs from "node:fs";
import path from "node:path";
import {
  getAddress,
  getContractAddress,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
  zeroAddress,
} from "viem";
import { DeploymentError, type Deployment, type DeployedContract } from "./deployment";
import { DEFAULT_STAKING_PARAMS, LOCAL_COUNCIL_ACCOUNTS, linkedArtifacts, type StakingParams } from "./staking";
import {
  DEFAULT_CONTRIBUTION_PARAMS,
  DEFAULT_MINING_POOL_PARAMS,
  LOCAL_SIGNATURE_WINDOW,
  type ContributionParams,
  type MiningPoolParams,
} from "./rewards";

/** Where compiled contracts come from: Hardhat's `hre.artifacts`, or {@link fsArtifacts}. */
export interface ArtifactSource {
  readArtifact(name: string): Promise<{ abi: Abi | readonly unknown[]; bytecode: string }>;
}

/** Reads Hardhat artifacts from `artifactsDir` without Hardhat (for daemons and plain scripts). */
export function fsArtifacts(artifactsDir = path.join(process.cwd(), "artifacts")): ArtifactSource {
  const index = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".json") && !entry.name.endsWith(".dbg.json"))
        index.set(entry.name.slice(0, -5), full);
    }
  };
  return {
    async readArtifact(name) {
      if (index.size === 0) walk(path.join(artifactsDir, "contracts"));
      const file = index.get(name);
      if (file === undefined)
        throw new Error(`artifact ${name} not found under ${artifactsDir} (run npx hardhat compile)`);
      return JSON.parse(fs.readFileSync(file, "utf8"));
    },
  };
}

export interface DeployOptions {
  /** Token generation event; default: the latest block's timestamp. */
  tge?: bigint;
  /** Holder of FOUNDATION_ROLE (Operation releases). Default: the deployer. */
  foundation?: Address;
  /** IDO, Technology and Foundation bucket beneficiaries. Default: the deployer. */
  beneficiaries?: { ido?: Address; technology?: Address; foundation?: Address };
  /** Timelock minimum delay in seconds. Default: 2 days. */
  timelockDelay?: bigint;
  /** Timelock proposers. Default: the deployer (a local chain has no multisig). */
  proposers?: Address[];
  /** Move admin roles from the deployer to the timelock at the end. Default: true. */
  handOverToGovernance?: boolean;
  /** Bookkeeper council (PPoV committee) members, fixed at deployment. Default: the deployer alone. */
  committee?: Address[];
  /** BookkeeperStaking parameters overriding `DEFAULT_STAKING_PARAMS`. */
  staking?: Partial<StakingParams>;
  /** Deploy MiningPool and ContributionRegistry. Default: true (unit tests that wire their own pool pass false). */
  rewards?: boolean;
  /** MiningPool parameters overriding `DEFAULT_MINING_POOL_PARAMS`. */
  miningPool?: Partial<MiningPoolParams>;
  /** ContributionRegistry parameters overriding `DEFAULT_CONTRIBUTION_PARAMS`. */
  contribution?: Partial<ContributionParams>;
  /** ResourceMarket fee receiver (1 % of every settled lease payment). Default: the HMSTimelock. */
  marketTreasury?: Address;
  /**
   * Account granted the market's ORACLE_ROLE (lease termination on reported failures) during set-up. Default: none —
   * governance grants it to the bookkeeper quorum's relayer.
   */
  marketOracle?: Address;
  /** Network name recorded in the deployment file. */
  network?: string;
  /** Progress output, one line per step. Default: silent. */
  log?: (line: string) => void;
}

/**
 * Hardhat's well-known local accounts in their HMS roles: #0 deployer and timelock proposer, #1 foundation
 * (FOUNDATION_ROLE), #2 IDO, #3 Technology and #4 Foundation bucket beneficiaries; #1, #18 and #19 form the
 * bookkeeper council (LOCAL_COUNCIL_ACCOUNTS). Used by `npm run deploy:local`, the demo and the tests, so the
 * three deploy the same system.
 */
export function localDeployOptions(accounts: readonly Address[]): DeployOptions {
  if (accounts.length < 20)
    throw new DeploymentError(`local roles need 20 accounts, got ${accounts.length}`, accounts.length);
  return {
    foundation: accounts[1],
    beneficiaries: { ido: accounts[2], technology: accounts[3], foundation: accounts[4] },
    committee: LOCAL_COUNCIL_ACCOUNTS.map((i) => accounts[i]),
    // Local chains move time by hand: the shortest window the pool accepts keeps settlement close to the report.
    miningPool: { signatureWindow: LOCAL_SIGNATURE_WINDOW },
  };
}

/** Default governance delay: two days between scheduling and executing a parameter change. */
export const DEFAULT_TIMELOCK_DELAY = 2n * 24n * 3600n;

/** Contracts whose DEFAULT_ADMIN_ROLE moves from the deployer to the timelock at the end. */
export const ADMINISTERED = [
  "TokenAllocation",
  "NodeRegistry",
  "BookkeeperStaking",
  "MiningPool",
  "ContributionRegistry",
  "ResourceMarket",
];

const DEFAULT_ADMIN_ROLE: Hex = "0x0000000000000000000000000000000000000000000000000000000000000000";

interface Deployer {
  deploy(name: string, args: readonly unknown[]): Promise<DeployedContract>;
  send(target: DeployedContract, functionName: string, args: readonly unknown[]): Promise<void>;
  predictNext(offset: number): Promise<Address>;
}

function makeDeployer(
  publicClient: PublicClient,
  wallet: WalletClient,
  artifacts: ArtifactSource,
  log: (l: string) => void,
): Deployer {
  const account = wallet.account;
  if (account === undefined) throw new Error("deploySystem: the wallet client has no account");
  return {
    async deploy(name, args) {
      const artifact = await artifacts.readArtifact(name);
      const hash = await wallet.deployContract({
        abi: artifact.abi as Abi,
        bytecode: artifact.bytecode as Hex,
        args: args as unknown[],
        account,
        chain: wallet.chain,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success" || !receipt.contractAddress)
        throw new Error(`deploying ${name} failed (tx ${hash})`);
      log(`  ${name.padEnd(20)} ${receipt.contractAddress}  (gas ${receipt.gasUsed})`);
      return {
        address: getAddress(receipt.contractAddress),
        blockNumber: Number(receipt.blockNumber),
        abi: artifact.abi as Abi,
      };
    },
    async send(target, functionName, args) {
      const hash = await wallet.writeContract({
        address: target.address,
        abi: target.abi,
        functionName,
        args: args as unknown[],
        account,
        chain: wallet.chain,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`${functionName} on ${target.address} failed (tx ${hash})`);
    },
    async predictNext(offset) {
      const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: "pending" });
      return getContractAddress({ from: account.address, nonce: BigInt(nonce + offset) });
    },
  };
}

/**
 * Deploys and wires the system, returning the deployment (not yet written to disk: see
 * `writeDeployment`). The deployer is `wallet.account`.
 */
export async function deploySystem(
  publicClient: PublicClient,
  wallet: WalletClient,
  artifacts: ArtifactSource,
  options: DeployOptions = {},
): Promise<Deployment> {
  const log = options.log ?? (() => undefined);
  const d = makeDeployer(publicClient, wallet, artifacts, log);
  const deployer = wallet.account!.address;
  const chainId = await publicClient.getChainId();
  const tge = options.tge ?? (await publicClient.getBlock()).timestamp;
  const contracts: Record<string, DeployedContract> = {};

  // 1–3: token (minting to the predicted allocation address), governance, allocation.
  const allocationAddress = await d.predictNext(2);
  contracts.HMSToken = await d.deploy("HMSToken", [allocationAddress]);
  contracts.HMSTimelock = await d.deploy("HMSTimelock", [
    options.timelockDelay ?? DEFAULT_TIMELOCK_DELAY,
    options.proposers ?? [deployer],
    [zeroAddress], // anyone may execute a ready operation
    zeroAddress, // the timelock administers itself
  ]);
  const b = options.beneficiaries ?? {};
  contracts.TokenAllocation = await d.deploy("TokenAllocation", [
    contracts.HMSToken.address,
    tge,
    deployer, // admin during setup; handed to the timelock below
    options.foundation ?? deployer,
    {
      ido: b.ido ?? deployer,
      technology: b.technology ?? deployer,
      foundation: b.foundation ?? deployer,
      mining: zeroAddress,
    },
  ]);
  if (contracts.TokenAllocation.address !== allocationAddress) {
    throw new Error(`TokenAllocation landed at ${contracts.TokenAllocation.address}, expected ${allocationAddress}`);
  }

  // ---- staking (issue 3): NodeRegistry, BookkeeperStaking -------------------------------------
  // BookkeeperStaking links the BookkeeperLogic library (external functions: it keeps the contract under
  // 24 KB) and creates its BookkeeperCouncil in its constructor; the council's address goes in the file.
  contracts.NodeRegistry = await d.deploy("NodeRegistry", [deployer]);
  contracts.BookkeeperLogic = await d.deploy("BookkeeperLogic", []);
  const linked = linkedArtifacts(artifacts, { BookkeeperLogic: contracts.BookkeeperLogic.address });
  contracts.BookkeeperStaking = await makeDeployer(publicClient, wallet, linked, log).deploy("BookkeeperStaking", [
    contracts.HMSToken.address,
    contracts.NodeRegistry.address,
    deployer, // admin during setup; handed to the timelock below
    options.committee ?? [deployer],
    { ...DEFAULT_STAKING_PARAMS, ...options.staking },
  ]);
  const councilAddress = (await publicClient.readContract({
    address: contracts.BookkeeperStaking.address,
    abi: contracts.BookkeeperStaking.abi,
    functionName: "council",
  })) as Address;
  contracts.BookkeeperCouncil = {
    address: getAddress(councilAddress),
    blockNumber: contracts.BookkeeperStaking.blockNumber,
    abi: (await artifacts.readArtifact("BookkeeperCouncil")).abi as Abi,
  };
  log(`  ${"BookkeeperCouncil".padEnd(20)} ${councilAddress}  (created by BookkeeperStaking)`);

  // ---- rewards (issue 4): MiningPool, ContributionRegistry --------------------------------------
  // The pool receives the Mining bucket (296 M, counted by pullAllocation) and pays Proof-of-Traffic rewards from
  // committee-signed period reports; the registry scores nodes (Proof-of-Contribution). Both may credit bookkeepers
  // and record missed duty (REWARDER_ROLE); slashed stake returns to the pool (staking.setMiningPool).
  if (options.rewards ?? true) {
    const staking = contracts.BookkeeperStaking;
    contracts.MiningPool = await d.deploy("MiningPool", [
      contracts.HMSToken.address,
      staking.address,
      contracts.NodeRegistry.address,
      contracts.TokenAllocation.address,
      deployer, // admin during setup; handed to the timelock below
      { ...DEFAULT_MINING_POOL_PARAMS, ...options.miningPool },
    ]);
    contracts.ContributionRegistry = await d.deploy("ContributionRegistry", [
      staking.address,
      contracts.NodeRegistry.address,
      deployer,
      { ...DEFAULT_CONTRIBUTION_PARAMS, ...options.contribution },
    ]);
    await d.send(contracts.TokenAllocation, "setMiningPool", [contracts.MiningPool.address]);
    await d.send(contracts.MiningPool, "pullAllocation", []);
    const rewarder = (await publicClient.readContract({
      address: staking.address,
      abi: staking.abi,
      functionName: "REWARDER_ROLE",
    })) as Hex;
    await d.send(staking, "grantRole", [rewarder, contracts.MiningPool.address]);
    await d.send(staking, "grantRole", [rewarder, contracts.ContributionRegistry.address]);
    await d.send(staking, "setMiningPool", [contracts.MiningPool.address]);
    log(`  Mining bucket pulled into MiningPool; REWARDER_ROLE granted to MiningPool and ContributionRegistry`);
  }

  // ---- market (issue 5): ResourceMarket ---------------------------------------------------------
  // Reads operators, payout addresses and resource profiles from the NodeRegistry and matching weights from the
  // ContributionRegistry (so it needs the rewards contracts); the 1 % fee goes to `marketTreasury` (the timelock).
  if (contracts.ContributionRegistry !== undefined) {
    contracts.ResourceMarket = await d.deploy("ResourceMarket", [
      contracts.HMSToken.address,
      contracts.NodeRegistry.address,
      contracts.ContributionRegistry.address,
      options.marketTreasury ?? contracts.HMSTimelock.address,
      deployer, // admin during setup; handed to the timelock below
    ]);
    if (options.marketOracle !== undefined) {
      const oracleRole = (await publicClient.readContract({
        address: contracts.ResourceMarket.address,
        abi: contracts.ResourceMarket.abi,
        functionName: "ORACLE_ROLE",
      })) as Hex;
      await d.send(contracts.ResourceMarket, "grantRole", [oracleRole, options.marketOracle]);
      log(`  ResourceMarket ORACLE_ROLE granted to ${options.marketOracle}`);
    }
  }

  // ---- governance hand-over: the timelock becomes the only admin of every AccessControl contract.
  if (options.handOverToGovernance ?? true) {
    for (const name of ADMINISTERED.filter((n) => n in contracts)) {
      await d.send(contracts[name], "grantRole", [DEFAULT_ADMIN_ROLE, contracts.HMSTimelock.address]);
      await d.send(contracts[name], "renounceRole", [DEFAULT_ADMIN_ROLE, deployer]);
    }
    log(`  admin roles handed to HMSTimelock ${contracts.HMSTimelock.address}`);
  }

  return {
    network: options.network ?? "unknown",
    chainId,
    deployedAt: new Date().toISOString(),
    contracts,
  };
}
