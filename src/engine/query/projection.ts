/**
 * Projections (`{ name: 1, "address.city": 1 }` or `{ password: 0 }`) compiled into functions
 * that build new plain objects.
 */
import { ValidationError, safeJson } from '../errors';
import { cloneJson, isPlainObject } from './values';
import { splitPath } from './path';

/** `{ path: 1 | 0 | true | false }`. */
export type ProjectionSpec = Record<string, 0 | 1 | boolean>;

/** A projection tree: `true` marks a selected path end; a Map holds deeper paths. */
type Tree = Map<string, Tree | true>;

/**
 * Compiles a projection into a function returning a NEW plain object (a deep copy: the result
 * never shares structure with the input document, so callers may mutate it).
 *
 * - Inclusion `{ a: 1, "b.c": 1 }`: only those paths, plus `_id` unless `_id: 0` (`{ _id: 1 }`
 *   alone gives just `_id`).
 * - Exclusion `{ a: 0, "b.c": 0 }`: everything except those paths (`_id: 0` alone is exclusion).
 * - `undefined`/`null`/`{}`: the whole document (copied).
 *
 * Dot paths through arrays apply to every object element, as in MongoDB:
 * `{ "items.sku": 1 }` turns `{ items: [{ sku, qty }, 5] }` into `{ items: [{ sku }] }` (scalars in
 * the array are dropped on inclusion and kept on exclusion). Output keys keep the document's order.
 *
 * @throws ValidationError for mixing inclusion and exclusion (other than `_id: 0`), a value other
 *   than 0/1/true/false (projection operators such as `$slice` are not supported), or two paths
 *   where one contains the other ("a" and "a.b").
 */
export function compileProjection<D = unknown>(projection?: ProjectionSpec | Record<string, unknown> | null): (doc: D) => Record<string, unknown> {
  if (projection === undefined || projection === null || (isPlainObject(projection) && Object.keys(projection).length === 0)) {
    return (doc) => cloneJson(doc) as Record<string, unknown>;
  }
  if (!isPlainObject(projection)) {
    throw new ValidationError(`Invalid projection ${safeJson(projection)}: use an object such as { name: 1, email: 1 } or { password: 0 }.`);
  }
  let includeId = true;
  const include: string[] = [];
  const exclude: string[] = [];
  for (const path of Object.keys(projection)) {
    const v = projection[path];
    if (v !== 0 && v !== 1 && v !== true && v !== false) {
      throw new ValidationError(`Invalid projection value ${safeJson(v)} for "${path}": use 1 (include) or 0 (exclude). Projection operators such as $slice are not supported.`);
    }
    const on = v === 1 || v === true;
    if (path === '_id') includeId = on;
    else (on ? include : exclude).push(path);
  }
  if (include.length > 0 && exclude.length > 0) {
    throw new ValidationError(
      `A projection cannot mix included fields (${include.join(', ')}) with excluded fields (${exclude.join(', ')}); only "_id: 0" may be combined with inclusions. Use either { a: 1, b: 1 } or { c: 0 }.`,
    );
  }
  if (include.length > 0) {
    const tree = buildTree(include);
    return (doc) => {
      const out = isPlainObject(doc) ? includeObject(doc, tree) : {};
      if (includeId && isPlainObject(doc) && doc._id !== undefined) return { _id: cloneJson(doc._id), ...withoutId(out) };
      return out;
    };
  }
  if (exclude.length === 0 && includeId) {
    // `{ _id: 1 }` alone is an inclusion of nothing but _id.
    return (doc) => (isPlainObject(doc) && doc._id !== undefined ? { _id: cloneJson(doc._id) } : {});
  }
  if (!includeId) exclude.push('_id');
  const tree = buildTree(exclude);
  return (doc) => (isPlainObject(doc) ? excludeObject(doc, tree) : {});
}

function withoutId(o: Record<string, unknown>): Record<string, unknown> {
  delete o._id;
  return o;
}

function buildTree(paths: string[]): Tree {
  const root: Tree = new Map();
  for (const path of paths) {
    const segments = splitPath(path);
    let node = root;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      const existing = node.get(seg);
      const last = i === segments.length - 1;
      if (existing === true || (last && existing !== undefined)) {
        throw new ValidationError(`Projection path collision: "${path}" overlaps another projected path. Project either the parent or its sub-fields, not both.`);
      }
      if (last) node.set(seg, true);
      else {
        const next: Tree = existing ?? new Map();
        node.set(seg, next);
        node = next;
      }
    }
  }
  return root;
}

function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function includeObject(doc: Record<string, unknown>, tree: Tree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(doc)) {
    const sub = tree.get(key);
    if (sub === undefined) continue;
    const value = doc[key];
    if (value === undefined) continue;
    if (sub === true) setOwn(out, key, cloneJson(value));
    else {
      const projected = includeValue(value, sub);
      if (projected !== undefined) setOwn(out, key, projected);
    }
  }
  return out;
}

/** Inclusion below a value: objects recurse, arrays map over their object elements, scalars vanish. */
function includeValue(value: unknown, tree: Tree): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const el of value) {
      const p = includeValue(el, tree);
      if (p !== undefined) out.push(p);
    }
    return out;
  }
  if (isPlainObject(value)) return includeObject(value, tree);
  return undefined;
}

function excludeObject(doc: Record<string, unknown>, tree: Tree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(doc)) {
    const value = doc[key];
    if (value === undefined) continue;
    const sub = tree.get(key);
    if (sub === true) continue;
    setOwn(out, key, sub === undefined ? cloneJson(value) : excludeValue(value, sub));
  }
  return out;
}

function excludeValue(value: unknown, tree: Tree): unknown {
  if (Array.isArray(value)) return value.map((el) => excludeValue(el, tree));
  if (isPlainObject(value)) return excludeObject(value, tree);
  return cloneJson(value);
}
