/**
 * Query planning support: which parts of a filter an index can answer.
 *
 * The planner only narrows the candidate set; the caller always runs the full matcher
 * (`compileQuery`) on the candidates. So every condition returned here is *implied* by the query
 * (a document matching the query satisfies it), never the other way round.
 *
 * Index contract for the results to be correct: an index on `field` must file each document under
 * every value of `getPathValues(doc, field)` — i.e. under each element of an array, not only
 * under the array as a whole — because `{ tags: "x" }` matches `{ tags: ["x", "y"] }`.
 */
import { isPlainObject, normalizeValue, sameTypeClass, compareValues, deepEqual } from './values';

/** Candidates are documents having at least one of these (primitive, non-null) values at the field. */
export interface EqCondition {
  eq: unknown[];
}

/**
 * Candidates are documents having a value at the field within the bounds. All present bounds
 * share one type class (number or string), and only values of that class qualify: a range on
 * numbers never includes strings (use {@link rangeAccepts}).
 */
export interface RangeCondition {
  gt?: unknown;
  gte?: unknown;
  lt?: unknown;
  lte?: unknown;
}

export type Condition = EqCondition | RangeCondition;

/** Type guard distinguishing the two condition shapes. */
export function isEqCondition(c: Condition): c is EqCondition {
  return 'eq' in c;
}

/**
 * Extracts, from the top-level AND of a query (its fields and the items of a top-level `$and`,
 * recursively), the fields whose condition an index can answer:
 * - `{ eq: [...] }` from equality with a string/number/boolean (`{ f: v }`, `{ f: { $eq: v } }`)
 *   or from `$in` whose values are all such primitives. `null`, objects, arrays and regexes are
 *   never extracted (they match missing fields, or need structural/regex matching).
 * - `{ gt?, gte?, lt?, lte? }` from `$gt/$gte/$lt/$lte` with number or string bounds. Bounds of a
 *   different type class than the first bound in that operator object are dropped.
 *
 * `$or`, `$nor`, `$not`, `$elemMatch` and function queries contribute nothing. When a field is
 * constrained more than once, an equality wins over a range, otherwise the first one is kept;
 * separate conditions are never intersected (on array fields they may be met by different
 * elements).
 *
 * MULTIKEY CAVEAT: bounds taken from one operator object (`{ $gte: 10, $lt: 14 }`) may, on an
 * array field, be satisfied by *different* elements (`[5, 20]` matches, as in MongoDB). An index
 * that holds array-valued documents for the field must then use only one side of the range
 * (e.g. just the lower bounds) to stay correct. For single-valued fields both sides are safe.
 */
export function indexableConditions(query: unknown): Map<string, Condition> {
  const out = new Map<string, Condition>();
  if (isPlainObject(query)) collect(query, out);
  return out;
}

function collect(query: Record<string, unknown>, out: Map<string, Condition>): void {
  for (const key of Object.keys(query)) {
    const cond = query[key];
    if (key === '$and') {
      if (Array.isArray(cond)) for (const item of cond) if (isPlainObject(item)) collect(item, out);
      continue;
    }
    if (key.startsWith('$') || key.length === 0) continue;
    const found = conditionFor(cond);
    if (!found) continue;
    const existing = out.get(key);
    if (!existing || (!isEqCondition(existing) && isEqCondition(found))) out.set(key, found);
  }
}

function isIndexablePrimitive(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || (typeof v === 'number' && !Number.isNaN(v)) || typeof v === 'boolean';
}

function conditionFor(raw: unknown): Condition | undefined {
  const cond = normalizeValue(raw);
  if (isIndexablePrimitive(cond)) return { eq: [cond] };
  if (!isPlainObject(cond)) return undefined; // null, arrays, RegExp
  const keys = Object.keys(cond);
  // Only pure operator objects: a literal object is structural equality, a mix is an error the
  // matcher will report.
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return undefined;

  if ('$eq' in cond) {
    const v = normalizeValue(cond.$eq);
    if (isIndexablePrimitive(v)) return { eq: [v] };
  }
  if (Array.isArray(cond.$in)) {
    const values = cond.$in.map(normalizeValue);
    if (values.every(isIndexablePrimitive)) return { eq: dedupe(values) };
  }

  const range: RangeCondition = {};
  let sample: unknown;
  for (const op of ['$gt', '$gte', '$lt', '$lte'] as const) {
    if (!(op in cond)) continue;
    const bound = normalizeValue(cond[op]);
    if (!(typeof bound === 'string' || (typeof bound === 'number' && !Number.isNaN(bound)))) continue;
    if (sample !== undefined && !sameTypeClass(sample, bound)) continue;
    sample ??= bound;
    range[op.slice(1) as keyof RangeCondition] = bound;
  }
  return sample === undefined ? undefined : range;
}

function dedupe(values: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of values) if (!out.some((o) => deepEqual(o, v))) out.push(v);
  return out;
}

/**
 * True when a single (scalar) index value satisfies a condition: for `eq`, equal to one of the
 * values; for a range, of the bounds' type class and within every present bound.
 */
export function conditionAccepts(condition: Condition, value: unknown): boolean {
  if (isEqCondition(condition)) return condition.eq.some((v) => deepEqual(v, value));
  return rangeAccepts(condition, value);
}

/** Range check with the matcher's semantics (same type class only, compared by `compareValues`). */
export function rangeAccepts(range: RangeCondition, value: unknown): boolean {
  const check = (bound: unknown, ok: (c: number) => boolean): boolean =>
    bound === undefined || (sameTypeClass(value, bound) && ok(compareValues(value, bound)));
  return (
    check(range.gt, (c) => c > 0) && check(range.gte, (c) => c >= 0) && check(range.lt, (c) => c < 0) && check(range.lte, (c) => c <= 0)
  );
}
