/**
 * The validator's chain edge (viem): reads with retry and exponential backoff on transient RPC failures,
 * transactions sent one at a time from the validator's key (simulated first, so a revert is named before any
 * gas is spent), receipts confirmed. Time is the chain's: the latest block's timestamp.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  HttpRequestError,
  TimeoutError,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeAbiParameters,
  http,
  keccak256,
  type Address,
  type Hash,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Logger } from "pino";
import { hmsContracts, type HmsContracts } from "../chain/contracts";
import type { Deployment } from "../chain/deployment";
import { readPeriod, type ReportedPeriod } from "../chain/rewards";
import type { Metrics } from "../core/metrics";
import { ValidatorError } from "./errors";

export interface RetryOptions {
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
}

export interface ValidatorChainOptions {
  rpcUrl: string;
  chainId: number;
  deployment: Deployment;
  privateKey: Hex;
  rpc: RetryOptions;
  receiptPollMs: number;
  receiptTimeoutMs: number;
  logger?: Logger;
  metrics?: Metrics;
}

/** The elected committee of an epoch as the daemon needs it. */
export interface EpochInfo {
  epoch: bigint;
  /** Signing keys in leader order as elected (the PBFT replica set; removed members keep their place). */
  order: Address[];
  bookkeepers: Address[];
  electedAt: bigint;
  epochStart: bigint;
  /** Signatures needed on chain. */
  quorum: number;
  /**
   * The epoch of the committee that served before this one was elected (`committeeInfo.previousElected`, across
   * skipped epochs), null when there was none: it may still submit during the election grace.
   */
  previousElected: bigint | null;
}

/** Transaction outcome. */
export interface Sent {
  hash: Hash;
  receipt: TransactionReceipt;
  gasUsed: bigint;
}

/** True for failures worth retrying: the RPC did not answer, timed out, or returned a server error. */
export function isTransient(err: unknown): boolean {
  if (err instanceof BaseError) {
    const found = err.walk(
      (e) =>
        e instanceof HttpRequestError ||
        e instanceof TimeoutError ||
        (e as { name?: string }).name === "SocketClosedError",
    );
    if (found) return true;
    if (err.walk((e) => e instanceof ContractFunctionRevertedError)) return false;
  }
  const text = `${(err as Error)?.message ?? ""} ${(err as { cause?: Error })?.cause?.message ?? ""}`;
  return /ECONNREFUSED|ECONNRESET|fetch failed|socket hang up|EPIPE|ETIMEDOUT|other side closed/i.test(text);
}

/** The custom error a contract call reverted with (e.g. `StalePeriod`), if any. */
export function revertName(err: unknown): string | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (reverted === null) return undefined;
  return reverted.data?.errorName ?? reverted.reason ?? reverted.shortMessage;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `keccak256(abi.encode(epoch, period, round, signer))`: BookkeeperStaking's evidence id. */
export function evidenceId(epoch: bigint, period: bigint, round: number, signer: Address): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "uint64" }, { type: "uint64" }, { type: "uint32" }, { type: "address" }],
      [epoch, period, round, signer],
    ),
  );
}

type Clients = { public: PublicClient; wallet: WalletClient };

export class ValidatorChain {
  readonly account: PrivateKeyAccount;
  readonly publicClient: PublicClient;
  readonly walletClient: WalletClient;
  readonly hms: HmsContracts<Clients>;
  private txQueue: Promise<unknown> = Promise.resolve();
  private readonly m;
  private readonly periods = new Map<string, ReportedPeriod>();
  private readonly epochs = new Map<string, EpochInfo>();

  constructor(private readonly options: ValidatorChainOptions) {
    const chain = defineChain({
      id: options.chainId,
      name: `hms-${options.chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [options.rpcUrl] } },
    });
    const transport = http(options.rpcUrl, { retryCount: 0, timeout: options.rpc.timeoutMs });
    this.account = privateKeyToAccount(options.privateKey);
    this.publicClient = createPublicClient({
      chain,
      transport,
      pollingInterval: options.receiptPollMs,
    }) as PublicClient;
    this.walletClient = createWalletClient({ chain, transport, account: this.account });
    this.hms = hmsContracts({ public: this.publicClient, wallet: this.walletClient }, options.deployment);
    const metrics = options.metrics;
    this.m = metrics
      ? {
          retries: metrics.counter("validator_rpc_retries_total", "RPC calls retried after a transient failure"),
          gas: metrics.histogram("validator_submission_gas", "Gas used per transaction", {
            labelNames: ["tx"],
            buckets: [25_000, 50_000, 100_000, 150_000, 200_000, 300_000, 500_000, 1_000_000, 3_000_000],
          }),
          gasTotal: metrics.counter("validator_gas_used_total", "Gas used by this validator's transactions", ["tx"]),
          txs: metrics.counter("validator_transactions_total", "Transactions sent", ["tx", "status"]),
        }
      : undefined;
  }

  get address(): Address {
    return this.account.address;
  }

  /** Runs a read, retrying transient failures with exponential backoff; rethrows anything else at once. */
  async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const { retries, backoffMs, maxBackoffMs } = this.options.rpc;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isTransient(err) || attempt >= retries) throw err;
        this.m?.retries.inc();
        const delay = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
        this.options.logger?.warn(
          { what, attempt, delayMs: delay, err: (err as Error).message.split("\n")[0] },
          "RPC failed, retrying",
        );
        await sleep(delay);
      }
    }
  }

  /**
   * Checks that the RPC answers (within the retries: else `VALIDATOR_RPC_UNREACHABLE`, exit 5) and serves the
   * expected chain (else `VALIDATOR_WRONG_CHAIN`, exit 3).
   */
  async connect(): Promise<void> {
    let chainId: number;
    try {
      chainId = await this.read("eth_chainId", () => this.publicClient.getChainId());
    } catch (err) {
      throw new ValidatorError(
        "VALIDATOR_RPC_UNREACHABLE",
        `RPC ${this.options.rpcUrl} unreachable after ${this.options.rpc.retries} attempts: ${(err as Error).message.split("\n")[0]}`,
        { value: this.options.rpcUrl, cause: err },
      );
    }
    if (chainId !== this.options.chainId)
      throw new ValidatorError(
        "VALIDATOR_WRONG_CHAIN",
        `RPC ${this.options.rpcUrl} serves chain ${chainId}, the deployment is on chain ${this.options.chainId}`,
        { value: chainId, details: { expected: this.options.chainId } },
      );
  }

  /** The validator account's balance (wei): what pays its transactions' gas. */
  async balance(): Promise<bigint> {
    return this.read("getBalance", () => this.publicClient.getBalance({ address: this.account.address }));
  }

  /** Latest block number and timestamp (chain time). */
  async head(): Promise<{ number: bigint; timestamp: bigint }> {
    const block = await this.read("getBlock", () => this.publicClient.getBlock());
    return { number: block.number, timestamp: block.timestamp };
  }

  /** The last elected epoch, or undefined if there was no election yet. */
  async lastElectedEpoch(): Promise<bigint | undefined> {
    try {
      return await this.read("lastElectedEpoch", () => this.hms.BookkeeperStaking.read.lastElectedEpoch());
    } catch (err) {
      if (revertName(err) === "NoElection") return undefined;
      throw err;
    }
  }

  /** The elected committee of `epoch` (cached: it never changes, removals aside, which PBFT ignores). */
  async epochInfo(epoch: bigint): Promise<EpochInfo> {
    const cached = this.epochs.get(epoch.toString());
    if (cached) return cached;
    const staking = this.hms.BookkeeperStaking;
    const [info, start, [, size, quorum]] = await Promise.all([
      this.read("committeeInfo", () => staking.read.committeeInfo([epoch])),
      this.read("epochStart", () => staking.read.epochStart([epoch])),
      this.read("committeeCommitment", () => staking.read.committeeCommitment([epoch])),
    ]);
    if (size === 0n)
      throw new ValidatorError("VALIDATOR_UNREGISTERED", `no committee elected for epoch ${epoch}`, { value: epoch });
    // The keys as elected (removed members' keys are zeroed in committee(); the event keeps them).
    const logs = await this.read("CommitteeElected", () =>
      this.publicClient.getContractEvents({
        address: staking.address,
        abi: staking.abi,
        eventName: "CommitteeElected",
        args: { epoch },
        fromBlock: BigInt(this.options.deployment.contracts.BookkeeperStaking?.blockNumber ?? 0),
        strict: true,
      }),
    );
    let order: Address[];
    let bookkeepers: Address[];
    if (logs.length > 0) {
      const args = logs[logs.length - 1].args;
      order = [...args.signingKeys];
      bookkeepers = [...args.bookkeepers];
    } else {
      const [members, keys] = await this.read("committee", () => staking.read.committee([epoch]));
      bookkeepers = [...members];
      // A removed member without the event: a placeholder address nobody holds keeps its position.
      order = keys.map((k, i) =>
        /^0x0{40}$/.test(k) ? (`0x${"0".repeat(38)}${(i + 1).toString(16).padStart(2, "0")}` as Address) : k,
      );
    }
    const result: EpochInfo = {
      epoch,
      order,
      bookkeepers,
      electedAt: info[0],
      epochStart: start,
      quorum: Number(quorum),
      previousElected: info[3] ? info[2] : null,
    };
    this.epochs.set(epoch.toString(), result);
    return result;
  }

  /** Live committee keys of `epoch` (zero for removed members): what a quorum argument must carry. */
  async liveKeys(epoch: bigint): Promise<Address[]> {
    const [, keys] = await this.read("committee", () => this.hms.BookkeeperStaking.read.committee([epoch]));
    return [...keys];
  }

  /** A reported period (event checked against the stored hash; cached once found). */
  async reportedPeriod(period: bigint): Promise<ReportedPeriod | undefined> {
    const cached = this.periods.get(period.toString());
    if (cached) return cached;
    const pool = this.hms.MiningPool;
    const [reported] = await this.read("periodRecord", () => pool.read.periodRecord([period]));
    if (!reported) return undefined;
    const found = await this.read("readPeriod", () =>
      readPeriod(
        this.publicClient,
        pool.address,
        period,
        BigInt(this.options.deployment.contracts.MiningPool?.blockNumber ?? 0),
      ),
    );
    this.periods.set(period.toString(), found);
    return found;
  }

  /**
   * Sends a transaction: simulates it (a revert throws before any gas is spent, `revertName` names it), sends
   * it from the validator's key, waits for the receipt and checks its status. One at a time (nonces).
   */
  send(label: string, simulate: () => Promise<{ request: unknown }>): Promise<Sent> {
    const run = async (): Promise<Sent> => {
      const { request } = await this.read(`simulate ${label}`, simulate);
      let hash: Hash;
      try {
        hash = await this.walletClient.writeContract(request as Parameters<WalletClient["writeContract"]>[0]);
      } catch (err) {
        this.m?.txs.inc({ tx: label, status: "error" });
        throw err;
      }
      const receipt = await this.read(`receipt ${label}`, () =>
        this.publicClient.waitForTransactionReceipt({ hash, timeout: this.options.receiptTimeoutMs }),
      );
      this.m?.txs.inc({ tx: label, status: receipt.status });
      if (receipt.status !== "success") throw new Error(`${label} transaction ${hash} reverted`);
      this.m?.gas.observe({ tx: label }, Number(receipt.gasUsed));
      this.m?.gasTotal.inc({ tx: label }, Number(receipt.gasUsed));
      return { hash, receipt, gasUsed: receipt.gasUsed };
    };
    const next = this.txQueue.then(run, run);
    this.txQueue = next.catch(() => undefined);
    return next;
  }
}
