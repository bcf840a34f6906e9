/**
 * The few WebAssembly JS API types the replay host uses. The project's TypeScript setup (lib es2023, @types/node 20)
 * declares no `WebAssembly` namespace, so the runtime global is typed here instead of widening the shared tsconfig.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** A compiled module (opaque). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

export type WasmImports = Record<string, Record<string, unknown>>;

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance;
}

export const Wasm: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
