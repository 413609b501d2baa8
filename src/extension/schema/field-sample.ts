/**
 * The fields of a sample of a collection's documents: each field path (dotted, into objects, not
 * into arrays), in how many sampled documents it occurs, and with which JSON types how often.
 * Shared by query completion, the tree's Schema node and the chat agent's tools. No VS Code
 * dependency.
 */
import type { Collection, Doc } from '../../engine';

/** A field path seen in a sample: how many sampled documents have it, and its types. */
export interface SampledField {
  path: string;
  /** Sampled documents that have the field. */
  count: number;
  /** Its JSON types (`string`, `number`, `boolean`, `null`, `object`, `array`), sorted. */
  types: string[];
  /** How many of those documents hold each type. */
  typeCounts: Record<string, number>;
}

export interface FieldSample {
  fields: SampledField[];
  /** How many documents were read. */
  sampled: number;
}

/** How many documents a field sample reads. */
export const SAMPLE_SIZE = 200;
const MAX_DEPTH = 4;

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** The fields of `documents`, most frequent first (then by path). */
export function describeFields(documents: readonly Record<string, unknown>[]): SampledField[] {
  const seen = new Map<string, { count: number; typeCounts: Map<string, number> }>();
  const walk = (value: Record<string, unknown>, prefix: string, depth: number): void => {
    for (const [key, v] of Object.entries(value)) {
      const path = prefix + key;
      let f = seen.get(path);
      if (!f) seen.set(path, (f = { count: 0, typeCounts: new Map() }));
      f.count++;
      const t = typeOf(v);
      f.typeCounts.set(t, (f.typeCounts.get(t) ?? 0) + 1);
      if (t === 'object' && depth < MAX_DEPTH) walk(v as Record<string, unknown>, `${path}.`, depth + 1);
    }
  };
  for (const d of documents) walk(d, '', 1);
  const fields = [...seen].map(([path, f]) => ({
    path, count: f.count, types: [...f.typeCounts.keys()].sort(), typeCounts: Object.fromEntries([...f.typeCounts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
  }));
  fields.sort((a, b) => b.count - a.count || a.path.localeCompare(b.path));
  return fields;
}

/** The fields of the first `size` documents of `coll` (in `_id` order). */
export async function sampleFields(coll: Collection, size = SAMPLE_SIZE): Promise<FieldSample> {
  const { docs } = await coll.page({ limit: size });
  return { fields: describeFields(docs as Doc[]), sampled: docs.length };
}

/** The fields directly under `parent` (a dotted path; the top level when omitted), in sample order. */
export function childFields(fields: readonly SampledField[], parent?: string): SampledField[] {
  const prefix = parent === undefined ? '' : `${parent}.`;
  return fields.filter((f) => f.path.startsWith(prefix) && !f.path.slice(prefix.length).includes('.'));
}
