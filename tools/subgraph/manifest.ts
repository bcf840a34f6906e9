/**
 * The subgraph's consistency checker: does `subgraph/subgraph.yaml` still match the compiled contracts?
 *
 * Pure functions over plain data (a parsed manifest, contract ABIs, the reviewed list of ignored events, the
 * mapping sources), so that `test/subgraph/consistency.test.ts` can run them on the real subgraph and on broken
 * fixtures alike. A problem is one human-readable line; an empty list means consistent.
 *
 * Rules:
 *   1. every data source names an ABI it lists, whose file is `./abis/<Contract>.json`, of a compiled contract;
 *   2. every event handler names an event that exists, with the same signature (types, `indexed`, tuples), in
 *      that contract's compiled ABI, at most once per data source, and the handler is exported by the mapping;
 *   3. every event of every protocol contract is handled by its data source or listed as deliberately ignored,
 *      with a reason; an ignored entry must exist in the ABI and must not also be handled (no stale entries);
 *   4. a linked library's events surface at the contract that links it, so they must be in that contract's ABI;
 *   5. every entity a data source declares exists in the schema; every network in networks.json configures
 *      every data source.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

/** The part of a Solidity ABI entry the checker reads. */
export interface AbiParameter {
  name?: string;
  type: string;
  indexed?: boolean;
  components?: readonly AbiParameter[];
}
export interface AbiEntry {
  type: string;
  name?: string;
  inputs?: readonly AbiParameter[];
}
export type ContractAbi = readonly AbiEntry[];

/** The part of a The Graph manifest the checker reads. */
export interface ManifestEventHandler {
  event?: string;
  handler?: string;
}
export interface ManifestDataSource {
  kind?: string;
  name?: string;
  network?: string;
  source?: { abi?: string; address?: string; startBlock?: number };
  mapping?: {
    entities?: string[];
    abis?: { name?: string; file?: string }[];
    eventHandlers?: ManifestEventHandler[];
    file?: string;
  };
}
export interface Manifest {
  specVersion?: string;
  schema?: { file?: string };
  dataSources?: ManifestDataSource[];
  templates?: ManifestDataSource[];
}

/** contract -> event signature -> reason. */
export type IgnoreList = Record<string, Record<string, string>>;

/** networks.json: network -> data source -> { address, startBlock }. */
export type NetworksFile = Record<string, Record<string, { address?: string; startBlock?: number }>>;

export interface CheckInput {
  manifest: Manifest;
  /** Compiled ABIs by contract name (every protocol contract and every contract a data source names). */
  abis: Record<string, ContractAbi | undefined>;
  ignored: IgnoreList;
  /** Contracts whose every event must be handled or ignored (the protocol's exported contracts). */
  protocolContracts: readonly string[];
  /** Mapping file (as written in the manifest, e.g. `./src/staking.ts`) -> its source text; absent = missing file. */
  mappingSources: Record<string, string | undefined>;
  /** Linked libraries by contract: their events are emitted from the contract's address. */
  linkedLibraries?: Record<string, readonly string[]>;
  /** Entity type names declared in schema.graphql. */
  schemaEntities?: readonly string[];
  /** Parsed networks.json, when there is one. */
  networks?: NetworksFile;
}

/** Shortest reason accepted for an ignored event: a reviewed list says why, not just "ignored". */
export const MIN_REASON_LENGTH = 20;

/**
 * An event's signature as The Graph writes it in a manifest (graph-cli's `eventSignature`): the name, then each
 * input's type prefixed with `indexed ` when indexed, tuples spelled out as `(t1,t2)` with their array suffix.
 */
export function eventSignature(event: AbiEntry): string {
  return `${event.name}(${(event.inputs ?? []).map(signatureParameter).join(",")})`;
}

function signatureParameter(input: AbiParameter): string {
  const indexed = input.indexed ? "indexed " : "";
  if (input.type.startsWith("tuple")) {
    const suffix = input.type.slice("tuple".length);
    return `(${indexed}${(input.components ?? []).map(signatureParameter).join(",")})${suffix}`;
  }
  return `${indexed}${input.type}`;
}

/** Event signatures of an ABI (events only), in ABI order. */
export function eventSignatures(abi: ContractAbi): string[] {
  return abi.filter((e) => e.type === "event").map(eventSignature);
}

/** The name part of a signature: `Slashed(indexed address,…)` -> `Slashed`. */
export function eventName(signature: string): string {
  const i = signature.indexOf("(");
  return i < 0 ? signature : signature.slice(0, i);
}

/** Names of the functions a mapping file exports (`export function handleX(`). */
export function exportedFunctions(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(/^\s*export\s+function\s+([A-Za-z_$][\w$]*)\s*\(/gm)) names.add(m[1]);
  return names;
}

/** Entity type names of a GraphQL schema (`type X @entity`). */
export function schemaEntityNames(schema: string): string[] {
  return [...schema.matchAll(/^\s*type\s+([A-Za-z_]\w*)\s+@entity\b/gm)].map((m) => m[1]);
}

/** Runs every rule; returns the problems found (empty when the subgraph is consistent with the contracts). */
export function checkSubgraph(input: CheckInput): string[] {
  const problems: string[] = [];
  const { manifest, abis, ignored } = input;
  const sources = [...(manifest.dataSources ?? []), ...(manifest.templates ?? [])];
  if (sources.length === 0) problems.push("manifest: no dataSources");
  const handledBy = new Map<string, Set<string>>(); // contract -> handled signatures
  const seenNames = new Set<string>();

  for (const [i, ds] of sources.entries()) {
    const label = ds.name ?? `dataSources[${i}]`;
    if (!ds.name) problems.push(`${label}: has no name`);
    else if (seenNames.has(ds.name)) problems.push(`${label}: duplicate data source name`);
    if (ds.name) seenNames.add(ds.name);
    const contract = ds.source?.abi;
    if (!contract) {
      problems.push(`${label}: source.abi is missing`);
      continue;
    }
    const listed = (ds.mapping?.abis ?? []).find((a) => a.name === contract);
    if (listed === undefined) problems.push(`${label}: source.abi "${contract}" is not listed in mapping.abis`);
    else if (listed.file !== `./abis/${contract}.json`) {
      problems.push(`${label}: ABI "${contract}" should be read from ./abis/${contract}.json, not ${listed.file}`);
    }
    const abi = abis[contract];
    if (abi === undefined) {
      problems.push(`${label}: no compiled contract named "${contract}" (source.abi)`);
      continue;
    }
    const signatures = eventSignatures(abi);
    const byName = new Map<string, string[]>();
    for (const s of signatures) byName.set(eventName(s), [...(byName.get(eventName(s)) ?? []), s]);

    const mappingFile = ds.mapping?.file;
    const mappingSource = mappingFile === undefined ? undefined : input.mappingSources[mappingFile];
    if (mappingFile === undefined) problems.push(`${label}: mapping.file is missing`);
    else if (mappingSource === undefined) problems.push(`${label}: mapping file ${mappingFile} does not exist`);
    const exported = mappingSource === undefined ? undefined : exportedFunctions(mappingSource);

    const handled = handledBy.get(contract) ?? new Set<string>();
    handledBy.set(contract, handled);
    const handlers = ds.mapping?.eventHandlers ?? [];
    if (handlers.length === 0) problems.push(`${label}: no eventHandlers`);
    for (const h of handlers) {
      if (!h.event || !h.handler) {
        problems.push(`${label}: an event handler lacks "event" or "handler"`);
        continue;
      }
      if (!signatures.includes(h.event)) {
        const candidates = byName.get(eventName(h.event));
        problems.push(
          candidates === undefined
            ? `${label}: handler ${h.handler} names ${h.event}, but ${contract} emits no event ${eventName(h.event)}`
            : `${label}: handler ${h.handler} names ${h.event}, but ${contract}'s ABI has ${candidates.join(" | ")}`,
        );
      } else if (handled.has(h.event)) {
        problems.push(`${label}: ${h.event} is handled twice`);
      }
      handled.add(h.event);
      if (exported !== undefined && !exported.has(h.handler)) {
        problems.push(`${label}: handler ${h.handler} is not exported by ${mappingFile}`);
      }
    }

    if (input.schemaEntities !== undefined) {
      for (const entity of ds.mapping?.entities ?? []) {
        if (!input.schemaEntities.includes(entity)) {
          problems.push(`${label}: entity ${entity} is not defined in the schema`);
        }
      }
    }
  }

  // Coverage: every event of every protocol contract (and of every indexed contract) is handled or ignored.
  const contracts = new Set<string>([...input.protocolContracts, ...handledBy.keys(), ...Object.keys(ignored)]);
  for (const contract of [...contracts].sort()) {
    const abi = abis[contract];
    const ignoredHere = ignored[contract] ?? {};
    if (abi === undefined) {
      problems.push(
        input.protocolContracts.includes(contract)
          ? `${contract}: protocol contract has no compiled ABI`
          : `ignored events: no compiled contract named "${contract}"`,
      );
      continue;
    }
    const signatures = eventSignatures(abi);
    const handled = handledBy.get(contract) ?? new Set<string>();
    for (const s of signatures) {
      if (!handled.has(s) && !(s in ignoredHere)) {
        problems.push(
          `${contract}: event ${s} is neither handled in subgraph.yaml nor listed in subgraph/ignored-events.yaml`,
        );
      }
    }
    for (const [s, reason] of Object.entries(ignoredHere)) {
      if (!signatures.includes(s)) {
        const candidates = signatures.filter((x) => eventName(x) === eventName(s));
        problems.push(
          candidates.length === 0
            ? `${contract}: ignored event ${s} is not in the ABI (stale entry)`
            : `${contract}: ignored event ${s} is not in the ABI, which has ${candidates.join(" | ")} (review it again)`,
        );
      }
      if (handled.has(s)) problems.push(`${contract}: ${s} is both handled and ignored`);
      if (typeof reason !== "string" || reason.trim().length < MIN_REASON_LENGTH) {
        problems.push(`${contract}: ignored event ${s} needs a reason (at least ${MIN_REASON_LENGTH} characters)`);
      }
    }
  }

  // Linked libraries emit from the linking contract's address: their events must be in its ABI to be seen.
  for (const [contract, libraries] of Object.entries(input.linkedLibraries ?? {})) {
    const host = abis[contract];
    if (host === undefined) continue;
    const hostSignatures = new Set(eventSignatures(host));
    for (const library of libraries) {
      const abi = abis[library];
      if (abi === undefined) {
        problems.push(`${contract}: linked library ${library} has no compiled ABI`);
        continue;
      }
      for (const s of eventSignatures(abi)) {
        if (!hostSignatures.has(s)) {
          problems.push(`${contract}: linked library ${library} emits ${s}, which is not in ${contract}'s ABI`);
        }
      }
    }
  }

  if (input.networks !== undefined) {
    for (const [network, config] of Object.entries(input.networks)) {
      for (const ds of manifest.dataSources ?? []) {
        if (!ds.name) continue;
        const entry = config[ds.name];
        if (entry === undefined) problems.push(`networks.json: ${network} does not configure ${ds.name}`);
        else if (!/^0x[0-9a-fA-F]{40}$/.test(entry.address ?? "") || !Number.isInteger(entry.startBlock)) {
          problems.push(`networks.json: ${network}.${ds.name} needs an address and an integer startBlock`);
        }
      }
    }
  }
  return problems;
}

/** Parses an ignored-events file: `{ Contract: { "Event(sig)": "reason" } }`. */
export function parseIgnoreList(text: string, source = "ignored-events.yaml"): IgnoreList {
  const raw: unknown = YAML.parse(text) ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${source}: expected a mapping of contracts`);
  const list: IgnoreList = {};
  for (const [contract, events] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof events !== "object" || events === null || Array.isArray(events)) {
      throw new Error(`${source}: ${contract} must map event signatures to reasons`);
    }
    list[contract] = {};
    for (const [signature, reason] of Object.entries(events as Record<string, unknown>)) {
      list[contract][signature] = typeof reason === "string" ? reason : "";
    }
  }
  return list;
}

/** Everything the checker reads from a subgraph directory (manifest, ignore list, mappings, schema, networks). */
export function readSubgraphDir(dir: string): Omit<CheckInput, "abis" | "protocolContracts" | "linkedLibraries"> {
  const manifest = YAML.parse(fs.readFileSync(path.join(dir, "subgraph.yaml"), "utf8")) as Manifest;
  const ignoreFile = path.join(dir, "ignored-events.yaml");
  const ignored = fs.existsSync(ignoreFile) ? parseIgnoreList(fs.readFileSync(ignoreFile, "utf8"), ignoreFile) : {};
  const mappingSources: Record<string, string | undefined> = {};
  for (const ds of [...(manifest.dataSources ?? []), ...(manifest.templates ?? [])]) {
    const file = ds.mapping?.file;
    if (file === undefined) continue;
    const full = path.join(dir, file);
    mappingSources[file] = fs.existsSync(full) ? fs.readFileSync(full, "utf8") : undefined;
  }
  const schemaFile = path.join(dir, manifest.schema?.file ?? "schema.graphql");
  const schemaEntities = fs.existsSync(schemaFile) ? schemaEntityNames(fs.readFileSync(schemaFile, "utf8")) : [];
  const networksFile = path.join(dir, "networks.json");
  const networks = fs.existsSync(networksFile)
    ? (JSON.parse(fs.readFileSync(networksFile, "utf8")) as NetworksFile)
    : undefined;
  return { manifest, ignored, mappingSources, schemaEntities, networks };
}
