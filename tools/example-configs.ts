/**
 * examples/config/*.yaml from the daemons' zod schemas: every setting with its default (what the schema fills in
 * for a minimal valid config) and the schema's doc comment above it. `npm run examples:config` writes them;
 * test/cli/docs.test.ts fails when one is stale or no longer parses with its schema.
 */
import fs from "node:fs";
import path from "node:path";
import { Document, isMap, isPair, isScalar, type YAMLMap } from "yaml";
import type { z } from "zod";
import { validatorConfigSchema } from "../offchain/validator/config";
import { storageConfigSchema } from "../offchain/storage/config";
import { metaConfigSchema } from "../offchain/meta/config";
import { computeConfigSchema } from "../offchain/compute/config";
import { dashboardConfigSchema } from "../offchain/dashboard/config";
import { trafficSourceConfigSchema } from "../offchain/testing/traffic/service";

export const EXAMPLES_DIR = path.join(__dirname, "..", "examples", "config");
const root = path.join(__dirname, "..");

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // Hardhat #1: never a real key
const NODE = "0x" + "11".repeat(32);

/** The examples: schema, its source (for comments), the minimal settings it needs, and the command that reads it. */
export const EXAMPLES: {
  file: string;
  schema: z.ZodType;
  source: string;
  minimal: Record<string, unknown>;
  command: string;
}[] = [
  {
    file: "validator.yaml",
    schema: validatorConfigSchema,
    source: "offchain/validator/config.ts",
    command: "hms validator -c examples/config/validator.yaml",
    minimal: {
      privateKeyFile: ".hms-local/keys/validator-0.key",
      rpcUrl: "http://127.0.0.1:8545",
      deployment: "deployments/localhost.json",
      dataDir: ".data/validator-0",
      // The meta layer's receipts (a majority read of every meta node); `{ url }` reads one feed instead.
      trafficSource: { metaUrls: ["http://127.0.0.1:7400", "http://127.0.0.1:7402", "http://127.0.0.1:7404"] },
    },
  },
  {
    file: "storage.yaml",
    schema: storageConfigSchema,
    source: "offchain/storage/config.ts",
    command: "hms storage -c examples/config/storage.yaml",
    minimal: {
      nodeId: NODE,
      privateKeyFile: ".hms-local/keys/storage-0.key",
      dataDir: ".data/storage-0",
      capacityBytes: 107374182400,
      deployment: "deployments/localhost.json",
      rpcUrl: "http://127.0.0.1:8545",
    },
  },
  {
    file: "meta.yaml",
    schema: metaConfigSchema,
    source: "offchain/meta/config.ts",
    command: "hms meta -c examples/config/meta.yaml",
    minimal: {
      privateKeyFile: ".hms-local/keys/meta-0.key",
      dataDir: ".data/meta-0",
      listen: { host: "127.0.0.1", port: 7400 },
      peerListen: { host: "127.0.0.1", port: 7401 },
      peers: [0, 1, 2].map((i) => ({
        address: `0x${String(i + 1).repeat(40)}`,
        peerUrl: `http://127.0.0.1:${7401 + 2 * i}`,
        apiUrl: `http://127.0.0.1:${7400 + 2 * i}`,
      })),
      deployment: "deployments/localhost.json",
      period: { genesis: 1767225600, length: 600 },
      nodes: [{ nodeId: NODE, address: "0x" + "22".repeat(20) }],
    },
  },
  {
    file: "compute.yaml",
    schema: computeConfigSchema,
    source: "offchain/compute/config.ts",
    command: "hms compute -c examples/config/compute.yaml",
    minimal: {
      nodeId: NODE,
      privateKeyFile: ".hms-local/keys/compute-0.key",
      operatorKeyFile: ".hms-local/keys/compute-0-operator.key",
      dataDir: ".data/compute-0",
      rpcUrl: "http://127.0.0.1:8545",
      deployment: "deployments/localhost.json",
    },
  },
  {
    file: "dashboard.yaml",
    schema: dashboardConfigSchema,
    source: "offchain/dashboard/config.ts",
    command: "hms dashboard -c examples/config/dashboard.yaml",
    minimal: {
      rpcUrl: "http://127.0.0.1:8545",
      deployment: "deployments/localhost.json",
      meta: ["http://127.0.0.1:7400"],
    },
  },
  {
    file: "traffic-source.yaml",
    schema: trafficSourceConfigSchema,
    source: "offchain/testing/traffic/service.ts",
    command: "hms traffic-source -c examples/config/traffic-source.yaml",
    minimal: { deployment: "deployments/localhost.json", nodes: [{ nodeId: NODE, privateKey: KEY }] },
  },
];

/** `key → doc comment` of a schema source file (`/** … *\/` right above `key:`). */
function comments(source: string): Map<string, string> {
  const text = fs.readFileSync(path.join(root, source), "utf8");
  const out = new Map<string, string>();
  for (const m of text.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*?)\*\/\s*\n\s*(\w+)\s*:/g))
    if (!out.has(m[2]))
      out.set(
        m[2],
        m[1]
          .split("\n")
          .map((l) => l.replace(/^\s*\*?\s?/, "").trimEnd())
          .filter(Boolean)
          .join(" "),
      );
  return out;
}

function annotate(map: YAMLMap, notes: Map<string, string>): void {
  for (const item of map.items) {
    if (!isPair(item) || !isScalar(item.key)) continue;
    const note = notes.get(String(item.key.value));
    if (note) item.key.commentBefore = " " + note.replace(/\n/g, " ");
    if (isMap(item.value)) annotate(item.value, notes);
  }
}

/** The YAML text of one example. */
export function renderExample(example: (typeof EXAMPLES)[number]): string {
  const full = example.schema.parse(example.minimal) as Record<string, unknown>;
  const value = JSON.parse(JSON.stringify(full, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v)));
  const doc = new Document(value);
  doc.commentBefore =
    ` ${example.command}\n Generated from the zod schema in ${example.source} by \`npm run examples:config\`;` +
    ` every value is its default\n except the required ones, which \`hms init\` fills in for a local network.`;
  annotate(doc.contents as YAMLMap, comments(example.source));
  return doc.toString({ lineWidth: 120 });
}

if (require.main === module) {
  fs.mkdirSync(EXAMPLES_DIR, { recursive: true });
  for (const e of EXAMPLES) fs.writeFileSync(path.join(EXAMPLES_DIR, e.file), renderExample(e));
  console.log(`wrote ${EXAMPLES.map((e) => e.file).join(", ")} to ${EXAMPLES_DIR}`);
}
