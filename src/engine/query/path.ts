/**
 * Dot-path helpers ("address.city", "items.0.sku", "items.sku").
 *
 * Two reading modes:
 * - {@link getPathValues} / {@link visitPath}: MongoDB query semantics. An array met in the middle
 *   of a path is traversed element by element ("items.sku" reaches the `sku` of every item); a
 *   numeric segment indexes an array ("items.0.sku"). Used by the matcher and by indexes.
 * - {@link getPath}: one plain value, no fan-out. Used by sort and projection-like code.
 *
 * Reads only ever see own properties, so a path like "constructor" or "__proto__" never reaches
 * `Object.prototype`. Writes define own data properties, so a "__proto__" segment is an ordinary
 * field and never changes a prototype (no prototype pollution).
 */
import { setOwn } from '../document';
import { ValidationError } from '../errors';

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;
const hasOwn = Object.prototype.hasOwnProperty;

/** True for a path segment that addresses an array position ("0", "12"; not "01" or "-1"). */
export function isArrayIndex(segment: string): boolean {
  return ARRAY_INDEX.test(segment);
}

/**
 * Splits a dot path into segments.
 * @throws ValidationError for a non-string or an empty path, or an empty segment ("a..b", ".a").
 */
export function splitPath(path: string): string[] {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ValidationError(`Invalid field path ${JSON.stringify(path)}: a field path must be a non-empty string such as "name" or "address.city".`);
  }
  const segments = path.split('.');
  for (const s of segments) {
    if (s.length === 0) {
      throw new ValidationError(`Invalid field path "${path}": it has an empty segment. Use dots only between field names, e.g. "address.city".`);
    }
  }
  return segments;
}

/** Reads an own property (or array element); `undefined` for anything else. */
function readOwn(container: object, segment: string): unknown {
  return hasOwn.call(container, segment) ? (container as Record<string, unknown>)[segment] : undefined;
}

/**
 * Calls `fn` on every value reachable at `segments` (MongoDB semantics) until it returns true.
 *
 * - A final value is passed as is, arrays included (the caller decides whether "array contains"
 *   applies); a path that leads nowhere passes `undefined` ("missing").
 * - An intermediate array is traversed: a numeric segment indexes it, any other segment is
 *   applied to each element that is an object. Elements that are scalars or nested arrays are
 *   skipped (nothing is reached through them), like MongoDB. An empty array reaches nothing, so
 *   `fn` may never be called: callers treat "no value reached" as missing.
 *
 * @returns true as soon as `fn` returns true (short-circuit), otherwise false.
 */
export function visitPath(root: unknown, segments: readonly string[], fn: (value: unknown) => boolean): boolean {
  return visit(root, segments, 0, fn);
}

function visit(value: unknown, segments: readonly string[], i: number, fn: (value: unknown) => boolean): boolean {
  if (i === segments.length) return fn(value);
  if (value === null || typeof value !== 'object') return fn(undefined);
  const seg = segments[i];
  if (Array.isArray(value)) {
    if (ARRAY_INDEX.test(seg)) return visit(readOwn(value, seg), segments, i + 1, fn);
    for (let k = 0; k < value.length; k++) {
      const el: unknown = value[k];
      if (el !== null && typeof el === 'object' && !Array.isArray(el) && visit(el, segments, i, fn)) return true;
    }
    return false;
  }
  return visit(readOwn(value, seg), segments, i + 1, fn);
}

/**
 * Every defined value reachable at a dot path, with MongoDB array semantics (see {@link visitPath}).
 * A reached array appears itself AND is followed by its elements, so one list serves both
 * "field equals the whole array" and "array contains the value" — this is the list a hash index
 * should file a document under (one key per distinct value). Missing values are not included;
 * a document with nothing at the path returns `[]`.
 */
export function getPathValues(doc: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  visit(doc, splitPath(path), 0, (v) => {
    if (v === undefined) return false;
    out.push(v);
    if (Array.isArray(v)) for (const el of v) out.push(el);
    return false;
  });
  return out;
}

/**
 * Every value reachable at a dot path without unwrapping final arrays (an array appears once, as
 * itself). `undefined` entries stand for branches where the path leads nowhere.
 */
export function getPathLeaves(doc: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  visit(doc, splitPath(path), 0, (v) => {
    out.push(v);
    return false;
  });
  return out;
}

/**
 * The single value at a dot path, without array fan-out: each segment reads an own property of an
 * object, or an element of an array when the segment is numeric. `undefined` when missing.
 * Accepts a pre-split path (from {@link splitPath}) to avoid re-splitting in hot loops.
 */
export function getPath(doc: unknown, path: string | readonly string[]): unknown {
  const segments = typeof path === 'string' ? splitPath(path) : path;
  let cur: unknown = doc;
  for (let i = 0; i < segments.length; i++) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const seg = segments[i];
    if (Array.isArray(cur) && !ARRAY_INDEX.test(seg)) return undefined;
    cur = readOwn(cur, seg);
  }
  return cur;
}

/**
 * Called on every existing container (object or array) a write passes through, before it is
 * modified; returns the container to modify instead. The default keeps the container (plain
 * mutation). Copy-on-write callers return a shallow copy the first time they see a container,
 * which is then linked into its (already mutable) parent.
 */
export type AdoptContainer = (container: object) => object;

const keep: AdoptContainer = (c) => c;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Stores `value` under `seg` of an (already mutable) container. */
function writeInto(container: object, seg: string, value: unknown, path: string): void {
  if (Array.isArray(container)) {
    if (!ARRAY_INDEX.test(seg)) {
      throw new ValidationError(
        seg === '$'
          ? `Cannot write "${path}": the positional operator "$" is not supported. Use the element's index, e.g. "items.0.qty".`
          : `Cannot write "${path}": "${seg}" is not an array index, but the value there is an array. Use a numeric index such as "0".`,
      );
    }
    const index = Number(seg);
    // Pad with null, not holes: holes become null in JSON anyway, and explicit nulls keep the
    // in-memory document identical to what is persisted.
    while (container.length < index) container.push(null);
    container[index] = value;
    return;
  }
  setOwn(container as Record<string, unknown>, seg, value);
}

/**
 * Sets the value at a dot path, creating intermediate objects as needed.
 * A numeric segment on an array sets that element (padding with `null` if it is past the end).
 *
 * @param obj the root; must be mutable (or already a copy-on-write copy).
 * @param adopt see {@link AdoptContainer}; omit for plain in-place mutation.
 * @throws ValidationError when the path passes through a scalar or `null` ("cannot create field
 *   'b' in a number"), or uses a non-numeric segment on an array.
 */
export function setPath(obj: object, path: string | readonly string[], value: unknown, adopt: AdoptContainer = keep): void {
  const segments = typeof path === 'string' ? splitPath(path) : path;
  const shown = segments.join('.');
  let cur: object = obj;
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i];
    if (Array.isArray(cur) && !ARRAY_INDEX.test(seg)) writeInto(cur, seg, undefined, shown); // throws
    const next = readOwn(cur, seg);
    let child: object;
    if (next === undefined) {
      child = {};
      writeInto(cur, seg, child, shown);
    } else if (next !== null && typeof next === 'object') {
      child = adopt(next);
      if (child !== next) writeInto(cur, seg, child, shown);
    } else {
      throw new ValidationError(
        `Cannot set "${shown}": "${segments.slice(0, i + 1).join('.')}" holds ${describe(next)}, which cannot contain the field "${segments[i + 1]}". Set "${segments.slice(0, i + 1).join('.')}" to an object first.`,
      );
    }
    cur = child;
  }
  const last = segments[segments.length - 1];
  writeInto(cur, last, value, shown);
}

/**
 * Removes the value at a dot path. Missing paths (or paths through scalars) are a no-op.
 * Removing an array element by index sets it to `null` instead, so the positions of the other
 * elements do not shift (MongoDB `$unset` semantics).
 *
 * @param adopt see {@link AdoptContainer}; containers are only adopted when something is removed.
 * @returns true if something was removed.
 */
export function unsetPath(obj: object, path: string | readonly string[], adopt: AdoptContainer = keep): boolean {
  const segments = typeof path === 'string' ? splitPath(path) : path;
  const shown = segments.join('.');
  // Check first, so a no-op never copies anything.
  const parent = getPath(obj, segments.slice(0, -1));
  const last = segments[segments.length - 1];
  if (parent === null || typeof parent !== 'object' || !hasOwn.call(parent, last)) return false;
  if (Array.isArray(parent) && !ARRAY_INDEX.test(last)) return false;

  let cur: object = obj;
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i];
    const next = readOwn(cur, seg) as object; // exists: checked above
    const child = adopt(next);
    if (child !== next) writeInto(cur, seg, child, shown);
    cur = child;
  }
  if (Array.isArray(cur)) cur[Number(last)] = null;
  else delete (cur as Record<string, unknown>)[last];
  return true;
}
