/**
 * Replays a chain's protocol events through the subgraph's compiled mappings (`graph build` output), in graph-node's
 * order — block by block, log index within a block, each data source from its start block — and returns the
 * resulting entity store. Used by test/subgraph/replay.test.ts and `npm run subgraph:replay`.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import {
  decodeEventLog,
  decodeFunctionResult,
  encodeFunctionData,
  keccak256,
  toBytes,
  type Abi,
  type Block,
  type Hex,
  type Log,
  type PublicClient,
  type Transaction,
} from "viem";
import { eventSignature, type AbiEntry, type Manifest } from "../manifest";
import {
  AscMemory,
  EntityStore,
  PendingCall,
  TypeId,
  findFunction,
  hexBytes,
  hostImports,
  writeEthValue,
  type AbiEntryLike,
  type AbiParam,
  type CallCache,
  type EthCallRequest,
  type HostContext,
  type MappingExports,
} from "./host";
import type { Schema } from "./schema";
import { Wasm, type WasmModule } from "./wasm";

export interface ReplayInput {
  client: PublicClient;
  /** `graph build` output directory (holds subgraph.yaml and the data sources' .wasm files). */
  buildDir: string;
  /** Address and start block of every data source (e.g. from the deployment file). */
  addresses: Record<string, { address: Hex; startBlock: number | bigint }>;
  /** Compiled ABIs by contract name. */
  abis: Record<string, Abi>;
  schema: Schema;
  /** Last block to replay; default: the latest. */
  toBlock?: bigint;
}

export interface ReplayResult {
  store: EntityStore;
  /** Handler invocations by `DataSource.handler`. */
  handled: Map<string, number>;
  /** Logs of the data sources' addresses that no handler takes (deliberately ignored events). */
  ignored: number;
  /** Distinct eth_calls answered. */
  ethCalls: number;
  /** Mapping log output (level 1 error, 2 warning, 3 info, 4 debug). */
  logs: { level: number; message: string }[];
}

interface HandlerSpec {
  handler: string;
  event: AbiEntry & { inputs: readonly AbiParam[] };
}

interface DataSourceSpec {
  name: string;
  contract: string;
  address: Hex;
  startBlock: bigint;
  module: WasmModule;
  handlers: Map<Hex, HandlerSpec>;
}

/** keccak256 of the canonical signature of a manifest event (`indexed ` dropped): the log's topic 0. */
export function topicOf(manifestEvent: string): Hex {
  return keccak256(toBytes(manifestEvent.replace(/indexed /g, "")));
}

function loadDataSources(input: ReplayInput): DataSourceSpec[] {
  const manifest = YAML.parse(fs.readFileSync(path.join(input.buildDir, "subgraph.yaml"), "utf8")) as Manifest;
  const modules = new Map<string, WasmModule>();
  return (manifest.dataSources ?? []).map((ds) => {
    const name = ds.name!;
    const contract = ds.source!.abi!;
    const wasmFile = path.join(input.buildDir, ds.mapping!.file!);
    let module = modules.get(wasmFile);
    if (module === undefined) modules.set(wasmFile, (module = new Wasm.Module(fs.readFileSync(wasmFile))));
    const abi = input.abis[contract] as readonly AbiEntry[] | undefined;
    if (abi === undefined) throw new Error(`replay: no ABI for ${contract}`);
    const handlers = new Map<Hex, HandlerSpec>();
    for (const h of ds.mapping?.eventHandlers ?? []) {
      const event = abi.find((e) => e.type === "event" && eventSignature(e) === h.event);
      if (event === undefined) throw new Error(`replay: ${name} handles ${h.event}, which ${contract} does not emit`);
      handlers.set(topicOf(h.event!), { handler: h.handler!, event: event as HandlerSpec["event"] });
    }
    const at = input.addresses[name];
    if (at === undefined) throw new Error(`replay: no address for data source ${name}`);
    return {
      name,
      contract,
      address: at.address.toLowerCase() as Hex,
      startBlock: BigInt(at.startBlock),
      module,
      handlers,
    };
  });
}

export async function replay(input: ReplayInput): Promise<ReplayResult> {
  const sources = loadDataSources(input);
  const byAddress = new Map(sources.map((s) => [s.address, s]));
  const store = new EntityStore(input.schema);
  const calls: CallCache = new Map();
  const result: ReplayResult = { store, handled: new Map(), ignored: 0, ethCalls: 0, logs: [] };
  const toBlock = input.toBlock ?? (await input.client.getBlockNumber());
  const fromBlock = sources.reduce((min, s) => (s.startBlock < min ? s.startBlock : min), toBlock);

  const logs = await input.client.getLogs({
    address: sources.map((s) => s.address),
    fromBlock,
    toBlock,
  });
  logs.sort((a, b) =>
    a.blockNumber === b.blockNumber ? Number(a.logIndex! - b.logIndex!) : a.blockNumber! < b.blockNumber! ? -1 : 1,
  );

  const blocks = new Map<bigint, Block>();
  const txs = new Map<Hex, Transaction>();
  const txLogStart = new Map<Hex, number>();
  for (const log of logs) {
    const source = byAddress.get(log.address.toLowerCase() as Hex);
    if (source === undefined || log.blockNumber! < source.startBlock) continue;
    const spec = source.handlers.get(log.topics[0]!);
    if (spec === undefined) {
      result.ignored++;
      continue;
    }
    let block = blocks.get(log.blockNumber!);
    if (block === undefined)
      blocks.set(log.blockNumber!, (block = await input.client.getBlock({ blockNumber: log.blockNumber! })));
    let tx = txs.get(log.transactionHash!);
    if (tx === undefined) {
      txs.set(log.transactionHash!, (tx = await input.client.getTransaction({ hash: log.transactionHash! })));
      const receipt = await input.client.getTransactionReceipt({ hash: log.transactionHash! });
      txLogStart.set(log.transactionHash!, Math.min(...receipt.logs.map((l) => l.logIndex)));
    }
    const decoded = decodeEventLog({ abi: [spec.event] as Abi, data: log.data, topics: log.topics, strict: true });
    const named = decoded.args as unknown as Record<string, unknown>;
    const args = spec.event.inputs.map((input, i) =>
      Array.isArray(decoded.args) ? (decoded.args as unknown[])[i] : named[input.name ?? ""],
    );
    await runTrigger(input, source, spec, log, block, tx, args, log.logIndex! - txLogStart.get(log.transactionHash!)!, {
      store,
      calls,
      result,
    });
    const key = `${source.name}.${spec.handler}`;
    result.handled.set(key, (result.handled.get(key) ?? 0) + 1);
  }
  result.ethCalls = calls.size;
  return result;
}

async function runTrigger(
  input: ReplayInput,
  source: DataSourceSpec,
  spec: HandlerSpec,
  log: Log,
  block: Block,
  tx: Transaction,
  args: unknown[],
  transactionLogIndex: number,
  state: { store: EntityStore; calls: CallCache; result: ReplayResult },
): Promise<void> {
  const where = `${source.name}.${spec.handler} (block ${log.blockNumber}, log ${log.logIndex}, tx ${log.transactionHash})`;
  for (let attempt = 0; attempt < 16; attempt++) {
    const ctx: HostContext = {
      store: state.store,
      calls: state.calls,
      blockNumber: log.blockNumber!,
      abis: input.abis as unknown as Record<string, readonly AbiEntryLike[]>,
      logs: [],
    };
    // The imports reach the instance's memory through `holder`, filled once the instance exists.
    const holder: { memory?: AscMemory } = {};
    const instance = new Wasm.Instance(
      source.module,
      hostImports(ctx, () => holder.memory!),
    );
    const exports = instance.exports as unknown as MappingExports & Record<string, unknown>;
    const memory = new AscMemory(exports);
    holder.memory = memory;
    try {
      exports._start?.();
      const event = writeEvent(memory, log, block, tx, spec.event, args, transactionLogIndex);
      const handler = exports[spec.handler];
      if (typeof handler !== "function") throw new Error(`the wasm module does not export ${spec.handler}`);
      (handler as (event: number) => void)(event);
      state.store.commit();
      state.result.logs.push(...ctx.logs);
      return;
    } catch (err) {
      state.store.rollback();
      if (err instanceof PendingCall) {
        state.calls.set(err.key, await ethCall(input, err.request, log.blockNumber!));
        continue;
      }
      throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
    }
  }
  throw new Error(`${where}: too many eth_calls`);
}

async function ethCall(input: ReplayInput, request: EthCallRequest, blockNumber: bigint): Promise<unknown[] | null> {
  const abi = (input.abis[request.contractName] ?? []) as unknown as readonly AbiEntryLike[];
  const fn = findFunction(abi, request);
  const data = encodeFunctionData({ abi: [fn] as Abi, functionName: fn.name!, args: request.args });
  try {
    const out = await input.client.call({ to: request.address, data, blockNumber });
    const decoded = decodeFunctionResult({ abi: [fn] as Abi, functionName: fn.name!, data: out.data ?? "0x" });
    return (fn.outputs ?? []).length === 1 ? [decoded] : (decoded as unknown[]);
  } catch {
    return null; // reverted: the mapping's try_ call sees `reverted`
  }
}

function writeEvent(
  mem: AscMemory,
  log: Log,
  block: Block,
  tx: Transaction,
  event: HandlerSpec["event"],
  args: unknown[],
  transactionLogIndex: number,
): number {
  const params = event.inputs.map((input, i) => {
    const name = mem.string(input.name ?? "");
    const value = writeEthValue(mem, input, args[i]);
    const p = mem.object(8, TypeId.EventParam);
    mem.setU32(p, 0, name);
    mem.setU32(p, 4, value);
    return p;
  });
  const parameters = mem.array(params, TypeId.ArrayEventParam);
  const b = writeBlock(mem, block);
  const t = writeTransaction(mem, tx);
  const address = mem.bytes(hexBytes(log.address));
  const logIndex = mem.bigInt(BigInt(log.logIndex!));
  const txLogIndex = mem.bigInt(BigInt(transactionLogIndex));
  const e = mem.object(32, TypeId.EthereumEvent);
  mem.setU32(e, 0, address);
  mem.setU32(e, 4, logIndex);
  mem.setU32(e, 8, txLogIndex);
  mem.setU32(e, 12, 0); // logType: null
  mem.setU32(e, 16, b);
  mem.setU32(e, 20, t);
  mem.setU32(e, 24, parameters);
  mem.setU32(e, 28, 0); // receipt: not requested by the manifest
  return e;
}

function writeBlock(mem: AscMemory, block: Block): number {
  const fields = [
    mem.bytes(hexBytes(block.hash!)),
    mem.bytes(hexBytes(block.parentHash)),
    mem.bytes(hexBytes(block.sha3Uncles)),
    mem.bytes(hexBytes(block.miner)),
    mem.bytes(hexBytes(block.stateRoot)),
    mem.bytes(hexBytes(block.transactionsRoot)),
    mem.bytes(hexBytes(block.receiptsRoot)),
    mem.bigInt(block.number!),
    mem.bigInt(block.gasUsed),
    mem.bigInt(block.gasLimit),
    mem.bigInt(block.timestamp),
    mem.bigInt(block.difficulty),
    mem.bigInt(block.totalDifficulty ?? 0n),
    mem.bigInt(block.size),
    block.baseFeePerGas === null ? 0 : mem.bigInt(block.baseFeePerGas),
  ];
  const obj = mem.object(fields.length * 4, TypeId.EthereumBlock);
  fields.forEach((f, i) => mem.setU32(obj, 4 * i, f));
  return obj;
}

function writeTransaction(mem: AscMemory, tx: Transaction): number {
  const fields = [
    mem.bytes(hexBytes(tx.hash)),
    mem.bigInt(BigInt(tx.transactionIndex ?? 0)),
    mem.bytes(hexBytes(tx.from)),
    tx.to ? mem.bytes(hexBytes(tx.to)) : 0,
    mem.bigInt(tx.value),
    mem.bigInt(tx.gas),
    mem.bigInt(tx.gasPrice ?? 0n),
    mem.bytes(hexBytes(tx.input)),
    mem.bigInt(BigInt(tx.nonce)),
  ];
  const obj = mem.object(fields.length * 4, TypeId.EthereumTransaction);
  fields.forEach((f, i) => mem.setU32(obj, 4 * i, f));
  return obj;
}
