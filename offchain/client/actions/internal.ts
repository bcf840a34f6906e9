/**
 * Shared machinery of the actions (not exported from the package): the chain check, contract reads and the
 * simulate → send → wait path of every write, with failures classified by {@link toSdkError}.
 */
import { parseEventLogs, type Abi, type Account, type Address, type Log, type TransactionReceipt } from "viem";
import { getChainId, readContract, simulateContract, waitForTransactionReceipt, writeContract } from "viem/actions";
import { abis, type ContractName } from "../../chain/abis";
import { contractAddress } from "../../chain/deployment";
import { HmsSdkError, toSdkError } from "../errors";
import type { HmsClient } from "../client";
import type { TransactionResult } from "../types";

const checked = new WeakMap<object, Promise<number>>();

/** Throws SDK_WRONG_CHAIN unless the client's RPC serves the deployment's chain (asked once per client). */
export async function assertChain(client: HmsClient): Promise<void> {
  let served = checked.get(client);
  if (served === undefined) {
    served = getChainId(client).catch((err) => {
      checked.delete(client);
      throw toSdkError(err, "eth_chainId");
    });
    checked.set(client, served);
  }
  const id = await served;
  if (id !== client.deployment.chainId)
    throw new HmsSdkError(
      "SDK_WRONG_CHAIN",
      `the RPC serves chain ${id}, the ${client.deployment.network} deployment is on chain ${client.deployment.chainId}`,
      { value: id },
    );
}

/** Address of a contract of the client's deployment. */
export function addressOf(client: HmsClient, name: ContractName): Address {
  return contractAddress(client.deployment, name);
}

/** A typed-enough read of `name.functionName(args)`; failures become SDK errors. */
export async function read<R>(
  client: HmsClient,
  name: ContractName,
  functionName: string,
  args: readonly unknown[] = [],
): Promise<R> {
  await assertChain(client);
  try {
    return (await readContract(client, {
      address: addressOf(client, name),
      abi: abis[name] as Abi,
      functionName,
      args,
    })) as R;
  } catch (err) {
    throw toSdkError(err, `${name}.${functionName}`);
  }
}

/** The account a write uses: the parameter's, else the client's; SDK_NO_ACCOUNT without either. */
export function accountOf(client: HmsClient, account?: Account | Address): Account | Address {
  const a = account ?? client.account;
  if (a === undefined)
    throw new HmsSdkError("SDK_NO_ACCOUNT", "this action sends a transaction: give the client or the call an account");
  return a;
}

/** The address of an account or address. */
export const addressOfAccount = (a: Account | Address): Address => (typeof a === "string" ? a : a.address);

/** Common parameters of every write action. */
export interface WriteParameters {
  /** Sender; default: the client's account. */
  account?: Account | Address;
}

/** The result of {@link write}: the receipt's logs for decoding and the transaction summary. */
export interface Written {
  receipt: TransactionReceipt;
  logs: Log[];
  tx: TransactionResult;
  /** The function's return value as simulated just before sending. */
  result: unknown;
}

/**
 * Simulates `name.functionName(args)` (so a revert is reported with its custom error before anything is sent),
 * sends it, waits for the receipt and returns it; a revert at any stage becomes a classified SDK error.
 */
export async function write(
  client: HmsClient,
  name: ContractName,
  functionName: string,
  args: readonly unknown[],
  account?: Account | Address,
): Promise<Written> {
  const from = accountOf(client, account);
  await assertChain(client);
  const what = `${name}.${functionName}`;
  const address = addressOf(client, name);
  const abi = abis[name] as Abi;
  let request: unknown;
  let result: unknown;
  try {
    ({ request, result } = await simulateContract(client, { address, abi, functionName, args, account: from }));
  } catch (err) {
    throw toSdkError(err, what);
  }
  let receipt: TransactionReceipt;
  try {
    const hash = await writeContract(client, request as Parameters<typeof writeContract>[1]);
    receipt = await waitForTransactionReceipt(client, { hash });
  } catch (err) {
    throw toSdkError(err, what);
  }
  if (receipt.status !== "success")
    throw new HmsSdkError("SDK_REVERTED", `${what}: transaction ${receipt.transactionHash} reverted`, {
      value: receipt.transactionHash,
    });
  return {
    receipt,
    logs: receipt.logs,
    result,
    tx: {
      hash: receipt.transactionHash,
      gasUsed: receipt.gasUsed,
      effectiveGasPrice: receipt.effectiveGasPrice,
      blockNumber: receipt.blockNumber,
    },
  };
}

/** Throws SDK_INVALID_INPUT when `ok` is false. */
export function check(ok: boolean, message: string, value?: unknown): asserts ok {
  if (!ok) throw new HmsSdkError("SDK_INVALID_INPUT", message, { value });
}

/**
 * Makes sure `spender` may pull `amount` of the owner's HMS: checks the balance first (SDK_INSUFFICIENT_BALANCE before
 * anything is sent) and approves exactly `amount` when the allowance is short. Returns the approval, if one was sent.
 */
export async function ensureAllowance(
  client: HmsClient,
  owner: Account | Address,
  spender: ContractName,
  amount: bigint,
): Promise<TransactionResult | undefined> {
  const who = addressOfAccount(owner);
  const balance = await read<bigint>(client, "HMSToken", "balanceOf", [who]);
  if (balance < amount)
    throw new HmsSdkError("SDK_INSUFFICIENT_BALANCE", `${who} holds ${balance} HMS wei, needs ${amount}`, {
      value: { balance, amount },
      errorName: "ERC20InsufficientBalance",
    });
  const to = addressOf(client, spender);
  const allowance = await read<bigint>(client, "HMSToken", "allowance", [who, to]);
  if (allowance >= amount) return undefined;
  return (await write(client, "HMSToken", "approve", [to, amount], owner)).tx;
}

/** Decoded args of the events `eventName` of contract `name` in `logs` (other contracts' logs ignored). */
export function eventsOf<T = Record<string, unknown>>(
  client: HmsClient,
  logs: Log[],
  name: ContractName,
  eventName: string,
): T[] {
  const address = addressOf(client, name).toLowerCase();
  return parseEventLogs({ abi: abis[name] as Abi, logs: logs.filter((l) => l.address.toLowerCase() === address) })
    .filter((l) => (l as { eventName?: string }).eventName === eventName)
    .map((l) => (l as unknown as { args: T }).args);
}
