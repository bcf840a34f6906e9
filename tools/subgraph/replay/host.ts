/**
 * A minimal graph-node host for the subgraph's compiled mappings, so that they can run here without graph-node
 * (which cannot run on these machines) — for tests and for inspecting what the subgraph would index.
 *
 * It implements exactly the host functions the mappings import (the store, BigInt / BigDecimal arithmetic, type
 * conversions, keccak256, logging, `ethereum.call`) over the AssemblyScript 0.19 memory layout graph-cli compiles
 * for (`--runtime stub --exportRuntime`, apiVersion 0.0.9): objects are allocated with the module's `__new` and class
 * ids from graph-ts' `id_of_type`, exactly as graph-node does. Any other import fails loudly when called.
 *
 * It is NOT graph-node: there is no database, no GraphQL, no reorg handling, and `ethereum.call` is answered from
 * a pre-fetched cache (see {@link PendingCall}). The store checks every saved entity against the schema the way
 * graph-node does (fields, kinds, enum values, non-null fields, immutability), so a mapping that graph-node would
 * reject fails here too.
 */
import { keccak256, toHex, type Hex } from "viem";
import type { Schema } from "./schema";
import type { WasmImports, WasmMemory } from "./wasm";

// ------------------------------------------------------------------------------------------- class ids

/** graph-ts `TypeId` discriminants the host allocates (global.ts; mirrored by graph-node's IndexForAscTypeId). */
export enum TypeId {
  String = 0,
  ArrayBuffer = 1,
  Uint8Array = 6,
  BigDecimal = 12,
  ArrayEthereumValue = 15,
  ArrayStoreValue = 16,
  ArrayEventParam = 19,
  ArrayTypedMapEntryStringStoreValue = 21,
  EventParam = 23,
  EthereumTransaction = 24,
  EthereumBlock = 25,
  EthereumValue = 30,
  StoreValue = 31,
  EthereumEvent = 33,
  TypedMapEntryStringStoreValue = 34,
  TypedMapStringStoreValue = 36,
}

/** graph-ts `ethereum.ValueKind`. */
export enum EthKind {
  ADDRESS = 0,
  FIXED_BYTES = 1,
  BYTES = 2,
  INT = 3,
  UINT = 4,
  BOOL = 5,
  STRING = 6,
  FIXED_ARRAY = 7,
  ARRAY = 8,
  TUPLE = 9,
}

/** graph-ts store `ValueKind`. */
export enum StoreKind {
  STRING = 0,
  INT = 1,
  BIGDECIMAL = 2,
  BOOL = 3,
  ARRAY = 4,
  NULL = 5,
  BYTES = 6,
  BIGINT = 7,
  INT8 = 8,
  TIMESTAMP = 9,
}

// ------------------------------------------------------------------------------------------- values

export interface Decimal {
  digits: bigint;
  exp: bigint;
}

/** A store value as graph-node keeps it. */
export type StoreValue =
  | { kind: StoreKind.STRING; value: string }
  | { kind: StoreKind.INT; value: number }
  | { kind: StoreKind.BIGDECIMAL; value: Decimal }
  | { kind: StoreKind.BOOL; value: boolean }
  | { kind: StoreKind.ARRAY; value: StoreValue[] }
  | { kind: StoreKind.NULL }
  | { kind: StoreKind.BYTES; value: Hex }
  | { kind: StoreKind.BIGINT; value: bigint }
  | { kind: StoreKind.INT8; value: bigint }
  | { kind: StoreKind.TIMESTAMP; value: bigint };

export type EntityData = Map<string, StoreValue>;

/** Minimal signed little-endian two's complement (graph-node's BigInt byte encoding). */
export function toSignedLE(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(x & 0xffn);
    out.push(byte);
    x >>= 8n;
    if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out);
}

export function fromSignedLE(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) x -= 1n << BigInt(8 * b.length);
  return x;
}

/** Decimal arithmetic of graph-node's BigDecimal: 34 significant digits, trailing zeros stripped. */
export const DECIMAL_PRECISION = 34;

export function normalizeDecimal(d: Decimal): Decimal {
  const digits = d.digits;
  let exp = d.exp;
  if (digits === 0n) return { digits: 0n, exp: 0n };
  const negative = digits < 0n;
  let abs = negative ? -digits : digits;
  const len = abs.toString().length;
  if (len > DECIMAL_PRECISION) {
    const drop = BigInt(len - DECIMAL_PRECISION);
    const scale = 10n ** drop;
    const q = abs / scale;
    const r = abs % scale;
    // round half to even
    const twice = r * 2n;
    abs = twice > scale || (twice === scale && q % 2n === 1n) ? q + 1n : q;
    exp += drop;
  }
  while (abs !== 0n && abs % 10n === 0n) {
    abs /= 10n;
    exp += 1n;
  }
  return { digits: negative ? -abs : abs, exp };
}

export function decimalFromString(s: string): Decimal {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s.trim());
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) throw new Error(`BigDecimal.fromString: "${s}"`);
  const frac = m[3] ?? "";
  const digits = BigInt((m[1] === "-" ? "-" : "") + ((m[2] || "0") + frac));
  return normalizeDecimal({ digits, exp: BigInt(m[4] ?? "0") - BigInt(frac.length) });
}

export function decimalToString(d: Decimal): string {
  const n = normalizeDecimal(d);
  if (n.exp >= 0n) return (n.digits * 10n ** n.exp).toString();
  const negative = n.digits < 0n;
  const s = (negative ? -n.digits : n.digits).toString().padStart(Number(-n.exp) + 1, "0");
  const cut = s.length + Number(n.exp);
  return `${negative ? "-" : ""}${s.slice(0, cut)}.${s.slice(cut)}`;
}

export function decimalDivide(a: Decimal, b: Decimal): Decimal {
  if (b.digits === 0n) throw new Error("BigDecimal division by zero");
  const k = BigInt(DECIMAL_PRECISION + b.digits.toString().length + 2);
  return normalizeDecimal({ digits: (a.digits * 10n ** k) / b.digits, exp: a.exp - b.exp - k });
}

// ------------------------------------------------------------------------------------------- memory

/** The exports graph-cli's compiled mappings have. */
export interface MappingExports {
  memory: WasmMemory;
  __new(size: number, id: number): number;
  id_of_type(typeId: number): number;
  _start?: () => void;
}

/** Reads and writes AssemblyScript 0.19 objects in a mapping instance's memory. */
export class AscMemory {
  private ids = new Map<number, number>();

  constructor(readonly exports: MappingExports) {}

  private get view(): DataView {
    return new DataView(this.exports.memory.buffer);
  }

  private get bytesView(): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer);
  }

  classId(t: TypeId): number {
    let id = this.ids.get(t);
    if (id === undefined) {
      id = this.exports.id_of_type(t);
      this.ids.set(t, id);
    }
    return id;
  }

  /** Allocates an object of `size` bytes of class `t` (zeroed by the runtime's fresh memory). */
  object(size: number, t: TypeId): number {
    const ptr = this.exports.__new(size, this.classId(t));
    this.bytesView.fill(0, ptr, ptr + size);
    return ptr;
  }

  setU32(ptr: number, offset: number, value: number): void {
    this.view.setUint32(ptr + offset, value >>> 0, true);
  }

  setU64(ptr: number, offset: number, value: bigint): void {
    this.view.setBigUint64(ptr + offset, BigInt.asUintN(64, value), true);
  }

  u32(ptr: number, offset = 0): number {
    return this.view.getUint32(ptr + offset, true);
  }

  i32(ptr: number, offset = 0): number {
    return this.view.getInt32(ptr + offset, true);
  }

  u64(ptr: number, offset = 0): bigint {
    return this.view.getBigUint64(ptr + offset, true);
  }

  string(s: string): number {
    const ptr = this.exports.__new(s.length * 2, this.classId(TypeId.String));
    const view = this.view;
    for (let i = 0; i < s.length; i++) view.setUint16(ptr + 2 * i, s.charCodeAt(i), true);
    return ptr;
  }

  readString(ptr: number): string {
    if (ptr === 0) throw new Error("null string");
    const length = this.u32(ptr - 4);
    const view = this.view;
    let out = "";
    for (let i = 0; i < length; i += 2) out += String.fromCharCode(view.getUint16(ptr + i, true));
    return out;
  }

  private buffer(bytes: Uint8Array): number {
    const ptr = this.exports.__new(bytes.length, this.classId(TypeId.ArrayBuffer));
    this.bytesView.set(bytes, ptr);
    return ptr;
  }

  /** A Uint8Array (graph-ts Bytes, Address, BigInt). */
  bytes(bytes: Uint8Array): number {
    const buffer = this.buffer(bytes);
    const obj = this.object(12, TypeId.Uint8Array);
    this.setU32(obj, 0, buffer);
    this.setU32(obj, 4, buffer);
    this.setU32(obj, 8, bytes.length);
    return obj;
  }

  readBytes(ptr: number): Uint8Array {
    if (ptr === 0) throw new Error("null bytes");
    const start = this.u32(ptr, 4);
    const length = this.u32(ptr, 8);
    return this.bytesView.slice(start, start + length);
  }

  bigInt(v: bigint): number {
    return this.bytes(toSignedLE(v));
  }

  readBigInt(ptr: number): bigint {
    return fromSignedLE(this.readBytes(ptr));
  }

  decimal(d: Decimal): number {
    const digits = this.bigInt(d.digits);
    const exp = this.bigInt(d.exp);
    const obj = this.object(8, TypeId.BigDecimal);
    this.setU32(obj, 0, digits);
    this.setU32(obj, 4, exp);
    return obj;
  }

  readDecimal(ptr: number): Decimal {
    return { digits: this.readBigInt(this.u32(ptr, 0)), exp: this.readBigInt(this.u32(ptr, 4)) };
  }

  /** An Array<T> of references. */
  array(pointers: number[], t: TypeId): number {
    const buffer = this.exports.__new(pointers.length * 4, this.classId(TypeId.ArrayBuffer));
    const view = this.view;
    pointers.forEach((p, i) => view.setUint32(buffer + 4 * i, p, true));
    const obj = this.object(16, t);
    this.setU32(obj, 0, buffer);
    this.setU32(obj, 4, buffer);
    this.setU32(obj, 8, pointers.length * 4);
    this.setU32(obj, 12, pointers.length);
    return obj;
  }

  readArray(ptr: number): number[] {
    const start = this.u32(ptr, 4);
    const length = this.u32(ptr, 12);
    const out: number[] = [];
    for (let i = 0; i < length; i++) out.push(this.u32(start + 4 * i));
    return out;
  }

  // ---------------------------------------------------------------- store values and entities

  storeValue(v: StoreValue): number {
    let data = 0n;
    switch (v.kind) {
      case StoreKind.STRING:
        data = BigInt(this.string(v.value));
        break;
      case StoreKind.INT:
        data = BigInt.asUintN(32, BigInt(v.value));
        break;
      case StoreKind.BIGDECIMAL:
        data = BigInt(this.decimal(v.value));
        break;
      case StoreKind.BOOL:
        data = v.value ? 1n : 0n;
        break;
      case StoreKind.ARRAY:
        data = BigInt(
          this.array(
            v.value.map((x) => this.storeValue(x)),
            TypeId.ArrayStoreValue,
          ),
        );
        break;
      case StoreKind.NULL:
        break;
      case StoreKind.BYTES:
        data = BigInt(this.bytes(hexBytes(v.value)));
        break;
      case StoreKind.BIGINT:
        data = BigInt(this.bigInt(v.value));
        break;
      case StoreKind.INT8:
      case StoreKind.TIMESTAMP:
        data = BigInt.asUintN(64, v.value);
        break;
    }
    const obj = this.object(16, TypeId.StoreValue);
    this.setU32(obj, 0, v.kind);
    this.setU64(obj, 8, data);
    return obj;
  }

  readStoreValue(ptr: number): StoreValue {
    const kind = this.i32(ptr, 0) as StoreKind;
    const data = this.u64(ptr, 8);
    const p = Number(data & 0xffffffffn);
    switch (kind) {
      case StoreKind.STRING:
        return { kind, value: this.readString(p) };
      case StoreKind.INT:
        return { kind, value: Number(BigInt.asIntN(32, data)) };
      case StoreKind.BIGDECIMAL:
        return { kind, value: normalizeDecimal(this.readDecimal(p)) };
      case StoreKind.BOOL:
        return { kind, value: data !== 0n };
      case StoreKind.ARRAY:
        return { kind, value: this.readArray(p).map((x) => this.readStoreValue(x)) };
      case StoreKind.NULL:
        return { kind };
      case StoreKind.BYTES:
        return { kind, value: toHex(this.readBytes(p)) };
      case StoreKind.BIGINT:
        return { kind, value: this.readBigInt(p) };
      case StoreKind.INT8:
      case StoreKind.TIMESTAMP:
        return { kind, value: BigInt.asIntN(64, data) };
      default:
        throw new Error(`unknown store value kind ${kind}`);
    }
  }

  /** An Entity (TypedMap<string, Value>). */
  entity(data: EntityData): number {
    const entries: number[] = [];
    for (const [key, value] of data) {
      const k = this.string(key);
      const v = this.storeValue(value);
      const entry = this.object(8, TypeId.TypedMapEntryStringStoreValue);
      this.setU32(entry, 0, k);
      this.setU32(entry, 4, v);
      entries.push(entry);
    }
    const list = this.array(entries, TypeId.ArrayTypedMapEntryStringStoreValue);
    const obj = this.object(4, TypeId.TypedMapStringStoreValue);
    this.setU32(obj, 0, list);
    return obj;
  }

  readEntity(ptr: number): EntityData {
    const data: EntityData = new Map();
    for (const entry of this.readArray(this.u32(ptr, 0))) {
      data.set(this.readString(this.u32(entry, 0)), this.readStoreValue(this.u32(entry, 4)));
    }
    return data;
  }
}

export function hexBytes(hex: Hex): Uint8Array {
  const s = hex.slice(2);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// ------------------------------------------------------------------------------------------- the store

const KIND_NAMES: Record<StoreKind, string> = {
  [StoreKind.STRING]: "String",
  [StoreKind.INT]: "Int",
  [StoreKind.BIGDECIMAL]: "BigDecimal",
  [StoreKind.BOOL]: "Boolean",
  [StoreKind.ARRAY]: "Array",
  [StoreKind.NULL]: "null",
  [StoreKind.BYTES]: "Bytes",
  [StoreKind.BIGINT]: "BigInt",
  [StoreKind.INT8]: "Int8",
  [StoreKind.TIMESTAMP]: "Timestamp",
};

/** Plain JS view of a store value: strings, numbers, bigints, booleans, 0x-hex bytes, decimal strings, arrays, null. */
export type Plain = string | number | bigint | boolean | null | Plain[];

export function plainValue(v: StoreValue): Plain {
  switch (v.kind) {
    case StoreKind.NULL:
      return null;
    case StoreKind.BIGDECIMAL:
      return decimalToString(v.value);
    case StoreKind.ARRAY:
      return v.value.map(plainValue);
    default:
      return v.value;
  }
}

/** Entities by type and id, checked against the schema on every write; writes of a handler commit together. */
export class EntityStore {
  private readonly committed = new Map<string, Map<string, EntityData>>();
  private pending = new Map<string, Map<string, EntityData | undefined>>();
  /** Immutable entities written in the pending handler run (graph-node allows no update after that). */
  readonly writes = new Map<string, number>();

  constructor(readonly schema: Schema) {}

  get(type: string, id: string): EntityData | undefined {
    const p = this.pending.get(type);
    if (p !== undefined && p.has(id)) return p.get(id);
    return this.committed.get(type)?.get(id);
  }

  set(type: string, id: string, data: EntityData): void {
    const def = this.schema.entities.get(type);
    if (def === undefined) throw new Error(`store.set: unknown entity type ${type}`);
    const existing = this.get(type, id);
    if (existing !== undefined && def.immutable) {
      throw new Error(`store.set: ${type}[${id}] is immutable and was already saved`);
    }
    const merged: EntityData = new Map(existing ?? []);
    for (const [field, value] of data) {
      const f = def.fields.get(field);
      if (f === undefined) throw new Error(`store.set: ${type} has no field ${field}`);
      if (f.derived) throw new Error(`store.set: ${type}.${field} is derived and cannot be set`);
      this.checkValue(`${type}[${id}].${field}`, f.type.base, f.type.list, f.type.nonNull, f.type.itemNonNull, value);
      if (value.kind === StoreKind.NULL) merged.delete(field);
      else merged.set(field, value);
    }
    for (const f of def.fields.values()) {
      if (!f.derived && f.type.nonNull && !merged.has(f.name)) {
        throw new Error(`store.set: ${type}[${id}] misses non-null field ${f.name}`);
      }
    }
    const idValue = merged.get("id");
    const idText =
      idValue === undefined ? undefined : idValue.kind === StoreKind.BYTES ? idValue.value : plainValue(idValue);
    if (String(idText).toLowerCase() !== id.toLowerCase()) {
      throw new Error(`store.set: ${type} id field ${String(idText)} differs from key ${id}`);
    }
    let p = this.pending.get(type);
    if (p === undefined) this.pending.set(type, (p = new Map()));
    p.set(id, merged);
    this.writes.set(type, (this.writes.get(type) ?? 0) + 1);
  }

  private checkValue(
    where: string,
    base: string,
    list: boolean,
    nonNull: boolean,
    itemNonNull: boolean,
    v: StoreValue,
  ): void {
    if (v.kind === StoreKind.NULL) {
      if (nonNull) throw new Error(`store.set: ${where} is non-null but set to null`);
      return;
    }
    if (list) {
      if (v.kind !== StoreKind.ARRAY) throw new Error(`store.set: ${where} expects a list, got ${KIND_NAMES[v.kind]}`);
      v.value.forEach((item, i) => this.checkValue(`${where}[${i}]`, base, false, itemNonNull, false, item));
      return;
    }
    const expected = this.expectedKind(base);
    if (v.kind !== expected) {
      throw new Error(`store.set: ${where} expects ${base} (${KIND_NAMES[expected]}), got ${KIND_NAMES[v.kind]}`);
    }
    const values = this.schema.enums.get(base);
    if (values !== undefined && !values.has((v as { value: string }).value)) {
      throw new Error(`store.set: ${where} = "${(v as { value: string }).value}" is not a ${base} value`);
    }
  }

  private expectedKind(base: string): StoreKind {
    switch (base) {
      case "ID":
      case "String":
        return StoreKind.STRING;
      case "Bytes":
        return StoreKind.BYTES;
      case "BigInt":
        return StoreKind.BIGINT;
      case "BigDecimal":
        return StoreKind.BIGDECIMAL;
      case "Int":
        return StoreKind.INT;
      case "Int8":
        return StoreKind.INT8;
      case "Boolean":
        return StoreKind.BOOL;
      case "Timestamp":
        return StoreKind.TIMESTAMP;
    }
    if (this.schema.enums.has(base)) return StoreKind.STRING;
    const target = this.schema.entities.get(base);
    if (target === undefined) throw new Error(`unknown type ${base}`);
    return this.expectedKind(target.fields.get("id")!.type.base);
  }

  /** Keeps the pending writes (a handler finished). */
  commit(): void {
    for (const [type, entries] of this.pending) {
      let c = this.committed.get(type);
      if (c === undefined) this.committed.set(type, (c = new Map()));
      for (const [id, data] of entries) if (data !== undefined) c.set(id, data);
    }
    this.pending = new Map();
  }

  /** Drops the pending writes (a handler failed or must run again). */
  rollback(): void {
    this.pending = new Map();
  }

  /** Committed entities of a type as plain objects, by id. */
  all(type: string): Map<string, Record<string, Plain>> {
    const out = new Map<string, Record<string, Plain>>();
    for (const [id, data] of this.committed.get(type) ?? []) out.set(id, toPlain(data));
    return out;
  }

  /** One committed entity as a plain object (Bytes ids: 0x-hex, any case). */
  entity(type: string, id: string): Record<string, Plain> | undefined {
    const byType = this.committed.get(type);
    const data = byType?.get(id) ?? byType?.get(id.toLowerCase());
    return data === undefined ? undefined : toPlain(data);
  }

  count(type: string): number {
    return this.committed.get(type)?.size ?? 0;
  }

  types(): string[] {
    return [...this.committed.keys()].sort();
  }
}

function toPlain(data: EntityData): Record<string, Plain> {
  const out: Record<string, Plain> = {};
  for (const [k, v] of data) out[k] = plainValue(v);
  return out;
}

// ------------------------------------------------------------------------------------------- host functions

/** Thrown by `ethereum.call` when the answer is not cached yet: the runner fetches it and runs the handler again. */
export class PendingCall extends Error {
  constructor(
    readonly key: string,
    readonly request: EthCallRequest,
  ) {
    super(`eth_call ${request.contractName}.${request.functionSignature} pending`);
  }
}

export interface EthCallRequest {
  contractName: string;
  address: Hex;
  functionName: string;
  functionSignature: string;
  /** Arguments as JS values (bigint, hex, boolean, string, arrays). */
  args: unknown[];
}

/** Cached call results: outputs as JS values, or null when the call reverted. */
export type CallCache = Map<string, unknown[] | null>;

export interface HostContext {
  store: EntityStore;
  calls: CallCache;
  /** Block of the trigger (calls are answered at it). */
  blockNumber: bigint;
  /** ABIs by contract name (for `ethereum.call` output types). */
  abis: Record<string, readonly AbiEntryLike[]>;
  logs: { level: number; message: string }[];
}

export interface AbiParam {
  name?: string;
  type: string;
  indexed?: boolean;
  components?: readonly AbiParam[];
}
export interface AbiEntryLike {
  type: string;
  name?: string;
  inputs?: readonly AbiParam[];
  outputs?: readonly AbiParam[];
}

export function callKey(blockNumber: bigint, r: EthCallRequest): string {
  return JSON.stringify([blockNumber.toString(), r.address.toLowerCase(), r.functionSignature, r.args], (_, v) =>
    typeof v === "bigint" ? v.toString() : v,
  );
}

/** Builds the import object of one mapping instance; `memory()` gives the instance's memory once it exists. */
export function hostImports(ctx: HostContext, memory: () => AscMemory): WasmImports {
  const m = () => memory();
  const str = (p: number) => m().readString(p);
  const big = (p: number) => m().readBigInt(p);
  const dec = (p: number) => m().readDecimal(p);
  const functions: Record<string, Record<string, (...args: number[]) => number | void>> = {
    env: {
      abort(msg: number, file: number, line: number, column: number) {
        const text = msg === 0 ? "abort" : str(msg);
        const where = file === 0 ? "" : ` (${str(file)}:${line}:${column})`;
        throw new Error(`mapping aborted: ${text}${where}`);
      },
    },
    index: {
      "store.get": (entity: number, id: number) => {
        const data = ctx.store.get(str(entity), str(id));
        return data === undefined ? 0 : m().entity(data);
      },
      "store.set": (entity: number, id: number, data: number) => {
        ctx.store.set(str(entity), str(id), m().readEntity(data));
      },
      "log.log": (level: number, msg: number) => {
        const message = str(msg);
        ctx.logs.push({ level, message });
        if (level === 0) throw new Error(`log.critical: ${message}`);
      },
      "crypto.keccak256": (bytes: number) => m().bytes(hexBytes(keccak256(m().readBytes(bytes)))),
    },
    conversion: {
      "typeConversion.bigIntToString": (p: number) => m().string(big(p).toString()),
      "typeConversion.bytesToHex": (p: number) => m().string(toHex(m().readBytes(p))),
      "typeConversion.bytesToString": (p: number) =>
        m().string(new TextDecoder().decode(m().readBytes(p)).split(String.fromCharCode(0)).join("")),
      "typeConversion.bigIntToHex": (p: number) => {
        const v = big(p);
        return m().string(v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);
      },
    },
    numbers: {
      "bigInt.plus": (a: number, b: number) => m().bigInt(big(a) + big(b)),
      "bigInt.minus": (a: number, b: number) => m().bigInt(big(a) - big(b)),
      "bigInt.times": (a: number, b: number) => m().bigInt(big(a) * big(b)),
      "bigInt.dividedBy": (a: number, b: number) => {
        const d = big(b);
        if (d === 0n) throw new Error("BigInt division by zero");
        return m().bigInt(big(a) / d);
      },
      "bigInt.mod": (a: number, b: number) => m().bigInt(big(a) % big(b)),
      "bigInt.pow": (a: number, exp: number) => m().bigInt(big(a) ** BigInt(exp & 0xff)),
      "bigInt.fromString": (s: number) => m().bigInt(BigInt(str(s))),
      "bigInt.bitOr": (a: number, b: number) => m().bigInt(big(a) | big(b)),
      "bigInt.bitAnd": (a: number, b: number) => m().bigInt(big(a) & big(b)),
      "bigInt.leftShift": (a: number, bits: number) => m().bigInt(big(a) << BigInt(bits & 0xff)),
      "bigInt.rightShift": (a: number, bits: number) => m().bigInt(big(a) >> BigInt(bits & 0xff)),
      "bigDecimal.fromString": (s: number) => m().decimal(decimalFromString(str(s))),
      "bigDecimal.toString": (d: number) => m().string(decimalToString(dec(d))),
      "bigDecimal.plus": (a: number, b: number) => m().decimal(addDecimals(dec(a), dec(b), 1n)),
      "bigDecimal.minus": (a: number, b: number) => m().decimal(addDecimals(dec(a), dec(b), -1n)),
      "bigDecimal.times": (a: number, b: number) => {
        const x = dec(a);
        const y = dec(b);
        return m().decimal(normalizeDecimal({ digits: x.digits * y.digits, exp: x.exp + y.exp }));
      },
      "bigDecimal.dividedBy": (a: number, b: number) => m().decimal(decimalDivide(dec(a), dec(b))),
      "bigDecimal.equals": (a: number, b: number) => {
        const x = normalizeDecimal(dec(a));
        const y = normalizeDecimal(dec(b));
        return x.digits === y.digits && x.exp === y.exp ? 1 : 0;
      },
    },
    ethereum: {
      "ethereum.call": (call: number) => {
        const mem = m();
        const request: EthCallRequest = {
          contractName: mem.readString(mem.u32(call, 0)),
          address: toHex(mem.readBytes(mem.u32(call, 4))),
          functionName: mem.readString(mem.u32(call, 8)),
          functionSignature: mem.readString(mem.u32(call, 12)),
          args: mem.readArray(mem.u32(call, 16)).map((p) => readEthValue(mem, p)),
        };
        const key = callKey(ctx.blockNumber, request);
        if (!ctx.calls.has(key)) throw new PendingCall(key, request);
        const result = ctx.calls.get(key)!;
        if (result === null) return 0;
        const fn = findFunction(ctx.abis[request.contractName] ?? [], request);
        const outputs = fn.outputs ?? [];
        return mem.array(
          outputs.map((o, i) => writeEthValue(mem, o, result[i])),
          TypeId.ArrayEthereumValue,
        );
      },
    },
  };
  const imports: WasmImports = {};
  for (const [module, fns] of Object.entries(functions)) {
    imports[module] = new Proxy(fns, {
      get(target, name: string) {
        if (name in target) return target[name];
        return () => {
          throw new Error(`host function ${module}.${name} is not implemented by the replay host`);
        };
      },
    });
  }
  return imports;
}

function addDecimals(a: Decimal, b: Decimal, sign: bigint): Decimal {
  const exp = a.exp < b.exp ? a.exp : b.exp;
  const x = a.digits * 10n ** (a.exp - exp);
  const y = b.digits * 10n ** (b.exp - exp);
  return normalizeDecimal({ digits: x + sign * y, exp });
}

/** The ABI function an `ethereum.call` names (name and input types of `name(types):(outputs)`). */
export function findFunction(abi: readonly AbiEntryLike[], r: EthCallRequest): AbiEntryLike {
  const inputs = r.functionSignature.slice(r.functionSignature.indexOf("(") + 1, r.functionSignature.indexOf(")"));
  const fn = abi.find(
    (e) =>
      e.type === "function" &&
      e.name === r.functionName &&
      (e.inputs ?? []).map((i) => canonicalType(i)).join(",") === inputs,
  );
  if (fn === undefined) throw new Error(`ethereum.call: ${r.contractName} has no ${r.functionSignature}`);
  return fn;
}

export function canonicalType(p: AbiParam): string {
  if (p.type.startsWith("tuple")) {
    return `(${(p.components ?? []).map(canonicalType).join(",")})${p.type.slice("tuple".length)}`;
  }
  return p.type;
}

/** An ethereum.Value for an ABI-typed JS value (as viem decodes it). */
export function writeEthValue(mem: AscMemory, param: AbiParam, value: unknown): number {
  const t = param.type;
  let kind: EthKind;
  let data: bigint;
  if (t.endsWith("]")) {
    const inner: AbiParam = { ...param, type: t.slice(0, t.lastIndexOf("[")) };
    kind = t.endsWith("[]") ? EthKind.ARRAY : EthKind.FIXED_ARRAY;
    const items = (value as unknown[]).map((v) => writeEthValue(mem, inner, v));
    data = BigInt(mem.array(items, TypeId.ArrayEthereumValue));
  } else if (t === "tuple") {
    kind = EthKind.TUPLE;
    const components = param.components ?? [];
    const values = Array.isArray(value)
      ? (value as unknown[])
      : components.map((c) => (value as Record<string, unknown>)[c.name ?? ""]);
    data = BigInt(
      mem.array(
        components.map((c, i) => writeEthValue(mem, c, values[i])),
        TypeId.ArrayEthereumValue,
      ),
    );
  } else if (t === "address") {
    kind = EthKind.ADDRESS;
    data = BigInt(mem.bytes(hexBytes(value as Hex)));
  } else if (t === "bool") {
    kind = EthKind.BOOL;
    data = value ? 1n : 0n;
  } else if (t === "string") {
    kind = EthKind.STRING;
    data = BigInt(mem.string(value as string));
  } else if (t === "bytes") {
    kind = EthKind.BYTES;
    data = BigInt(mem.bytes(hexBytes(value as Hex)));
  } else if (t.startsWith("bytes")) {
    kind = EthKind.FIXED_BYTES;
    data = BigInt(mem.bytes(hexBytes(value as Hex)));
  } else if (t.startsWith("uint") || t.startsWith("int")) {
    kind = t.startsWith("uint") ? EthKind.UINT : EthKind.INT;
    data = BigInt(mem.bigInt(BigInt(value as bigint | number)));
  } else {
    throw new Error(`unsupported ABI type ${t}`);
  }
  const obj = mem.object(16, TypeId.EthereumValue);
  mem.setU32(obj, 0, kind);
  mem.setU64(obj, 8, data);
  return obj;
}

export function readEthValue(mem: AscMemory, ptr: number): unknown {
  const kind = mem.i32(ptr, 0) as EthKind;
  const data = mem.u64(ptr, 8);
  const p = Number(data & 0xffffffffn);
  switch (kind) {
    case EthKind.ADDRESS:
    case EthKind.FIXED_BYTES:
    case EthKind.BYTES:
      return toHex(mem.readBytes(p));
    case EthKind.INT:
    case EthKind.UINT:
      return mem.readBigInt(p);
    case EthKind.BOOL:
      return data !== 0n;
    case EthKind.STRING:
      return mem.readString(p);
    case EthKind.FIXED_ARRAY:
    case EthKind.ARRAY:
    case EthKind.TUPLE:
      return mem.readArray(p).map((x) => readEthValue(mem, x));
    default:
      throw new Error(`unknown ethereum value kind ${kind}`);
  }
}
