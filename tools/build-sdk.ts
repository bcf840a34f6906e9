/**
 * Builds packages/sdk (`@hms-network/sdk`) with tsc: CommonJS + declarations (dist/cjs) and ES modules (dist/esm).
 * tsc leaves ESM import specifiers as written (`./abis`), which Node's ESM loader does not resolve, so this adds the
 * `.js` / `/index.js` each relative specifier needs, and marks each tree's module type with a package.json.
 *
 *   npx ts-node --transpile-only tools/build-sdk.ts
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const SDK_DIR = path.join(__dirname, "..", "packages", "sdk");

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Rewrites the relative specifiers of every .js file under `dir` to explicit files. */
export function fixEsmSpecifiers(dir: string): number {
  let fixed = 0;
  for (const file of walk(dir).filter((f) => f.endsWith(".js"))) {
    const text = fs.readFileSync(file, "utf8");
    const out = text.replace(
      /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']*)\2/g,
      (m, pre, q, spec) => {
        const base = path.resolve(path.dirname(file), spec);
        if (fs.existsSync(`${base}.js`)) return (fixed++, `${pre}${q}${spec}.js${q}`);
        if (fs.existsSync(path.join(base, "index.js"))) return (fixed++, `${pre}${q}${spec}/index.js${q}`);
        return m;
      },
    );
    if (out !== text) fs.writeFileSync(file, out);
  }
  return fixed;
}

export function buildSdk(): void {
  fs.rmSync(path.join(SDK_DIR, "dist"), { recursive: true, force: true });
  const tsc = path.join(__dirname, "..", "node_modules", "typescript", "bin", "tsc");
  for (const config of ["tsconfig.cjs.json", "tsconfig.esm.json"])
    execFileSync(process.execPath, [tsc, "-p", path.join(SDK_DIR, config)], { stdio: "inherit" });
  const fixed = fixEsmSpecifiers(path.join(SDK_DIR, "dist", "esm"));
  fs.writeFileSync(path.join(SDK_DIR, "dist", "esm", "package.json"), '{ "type": "module" }\n');
  fs.writeFileSync(path.join(SDK_DIR, "dist", "cjs", "package.json"), '{ "type": "commonjs" }\n');
  console.log(`built ${SDK_DIR}/dist (cjs + d.ts, esm: ${fixed} specifiers made explicit)`);
}

if (require.main === module) buildSdk();
