/**
 * The subset of The Graph's schema language subgraph/schema.graphql uses (entity types with scalar, enum, entity
 * and list fields, `@entity(immutable: …)`, `@derivedFrom`, enums), parsed so that the replay store can check every
 * entity the mappings save the way graph-node does: known fields, value kinds, enum values, non-null fields,
 * immutable entities never updated, derived fields never written.
 */

export const SCALARS = ["ID", "String", "Bytes", "BigInt", "BigDecimal", "Int", "Int8", "Boolean", "Timestamp"];

export interface FieldType {
  /** Scalar, enum or entity name. */
  base: string;
  list: boolean;
  /** The field (or, for a list, the list itself) is non-null. */
  nonNull: boolean;
  /** List items are non-null. */
  itemNonNull: boolean;
}

export interface FieldDef {
  name: string;
  type: FieldType;
  derived: boolean;
}

export interface EntityDef {
  name: string;
  immutable: boolean;
  fields: Map<string, FieldDef>;
}

export interface Schema {
  entities: Map<string, EntityDef>;
  enums: Map<string, Set<string>>;
}

/** Strips comments (`# …`) and descriptions (`"…"`, `"""…"""`). */
function stripNoise(text: string): string {
  return text
    .replace(/"""[\s\S]*?"""/g, "")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, "")
    .replace(/#[^\n]*/g, "");
}

function parseType(spec: string): FieldType {
  const t = spec.replace(/\s+/g, "");
  const m = /^\[(\w+)(!?)\](!?)$/.exec(t);
  if (m) return { base: m[1], list: true, itemNonNull: m[2] === "!", nonNull: m[3] === "!" };
  const s = /^(\w+)(!?)$/.exec(t);
  if (!s) throw new Error(`schema: cannot parse type "${spec}"`);
  return { base: s[1], list: false, nonNull: s[2] === "!", itemNonNull: false };
}

export function parseSchema(text: string): Schema {
  const src = stripNoise(text);
  const entities = new Map<string, EntityDef>();
  const enums = new Map<string, Set<string>>();
  for (const m of src.matchAll(/enum\s+(\w+)\s*\{([^}]*)\}/g)) {
    enums.set(m[1], new Set(m[2].split(/\s+/).filter((v) => v !== "")));
  }
  for (const m of src.matchAll(/type\s+(\w+)\s+@entity(?:\(([^)]*)\))?\s*\{([^}]*)\}/g)) {
    const immutable = /immutable\s*:\s*true/.test(m[2] ?? "");
    const fields = new Map<string, FieldDef>();
    for (const line of m[3].split("\n")) {
      const f = /^\s*(\w+)\s*:\s*([^@]+?)\s*(@derivedFrom\([^)]*\))?\s*$/.exec(line);
      if (!f) {
        if (line.trim() !== "") throw new Error(`schema: cannot parse field "${line.trim()}" of ${m[1]}`);
        continue;
      }
      fields.set(f[1], { name: f[1], type: parseType(f[2]), derived: f[3] !== undefined });
    }
    entities.set(m[1], { name: m[1], immutable, fields });
  }
  for (const e of entities.values()) {
    for (const f of e.fields.values()) {
      const b = f.type.base;
      if (!SCALARS.includes(b) && !enums.has(b) && !entities.has(b)) {
        throw new Error(`schema: ${e.name}.${f.name} has unknown type ${b}`);
      }
    }
    if (!e.fields.has("id")) throw new Error(`schema: ${e.name} has no id`);
  }
  return { entities, enums };
}
