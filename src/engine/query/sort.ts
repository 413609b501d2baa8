/**
 * Sort specifications (`{ age: -1, "address.city": 1 }`) compiled into comparators.
 */
import { ValidationError, safeJson } from '../errors';
import { compareValues, isPlainObject } from './values';
import { getPath, splitPath } from './path';

/** `{ field: direction }`; direction is 1 / -1, or "asc" / "desc" (also "ascending" / "descending"). */
export type SortSpec = Record<string, 1 | -1 | 'asc' | 'desc' | 'ascending' | 'descending'>;

function direction(field: string, v: unknown): 1 | -1 {
  if (v === 1 || v === 'asc' || v === 'ascending') return 1;
  if (v === -1 || v === 'desc' || v === 'descending') return -1;
  throw new ValidationError(`Invalid sort direction ${safeJson(v)} for "${field}": use 1 (ascending) or -1 (descending).`);
}

/**
 * Compiles a sort specification into a comparator for `Array.prototype.sort`.
 *
 * Fields are compared in the order given, each by `compareValues` on the plain value at the dot
 * path (`getPath`: no array fan-out — an array-valued field sorts as a whole array, after all
 * objects). Missing values sort first ascending (last descending), then `null`, numbers, strings,
 * objects, arrays, booleans. Ties return 0, so with the (stable) built-in sort, equal documents
 * keep their input order. `undefined`/`{}` give a comparator that always returns 0.
 *
 * @throws ValidationError if `sort` is not an object, a path is empty, or a direction is not 1/-1.
 */
export function compileSort<D = unknown>(sort?: SortSpec | Record<string, unknown> | null): (a: D, b: D) => number {
  if (sort === undefined || sort === null) return () => 0;
  if (!isPlainObject(sort)) {
    throw new ValidationError(`Invalid sort ${safeJson(sort)}: use an object such as { age: -1, name: 1 }.`);
  }
  const keys = Object.keys(sort).map((field) => ({ segments: splitPath(field), dir: direction(field, sort[field]) }));
  if (keys.length === 0) return () => 0;
  if (keys.length === 1 && keys[0].segments.length === 1 && !(keys[0].segments[0] in Object.prototype)) {
    // Fast path for the common single top-level field.
    const [{ segments: [field], dir }] = keys;
    return (a, b) => {
      const x = a !== null && typeof a === 'object' ? (a as Record<string, unknown>)[field] : undefined;
      const y = b !== null && typeof b === 'object' ? (b as Record<string, unknown>)[field] : undefined;
      return dir * compareValues(x, y) || 0; // `|| 0` turns -0 into 0
    };
  }
  return (a, b) => {
    for (const { segments, dir } of keys) {
      const c = compareValues(getPath(a, segments), getPath(b, segments));
      if (c !== 0) return dir * c;
    }
    return 0;
  };
}
