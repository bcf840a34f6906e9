/**
 * A real dynamic `import()` that TypeScript does not rewrite to `require()`: for the few ESM-only packages whose
 * exports have no `require`/`module-sync` condition (@ipld/car, @ipld/dag-pb, blockstore-fs, ipfs-http-client),
 * which Node 20's `require(esm)` cannot load (see /work/shared/TOOLCHAIN.md). Modules are cached by Node.
 */
const dynamicImport = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>;

/** `import(specifier)`, typed by the caller (`importEsm<typeof import("@ipld/car")>("@ipld/car")`). */
export function importEsm<T>(specifier: string): Promise<T> {
  return dynamicImport(specifier) as Promise<T>;
}
