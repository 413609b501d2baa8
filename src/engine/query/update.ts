/**
 * Update operators (`$set`, `$inc`, `$push`, ...), whole-document replacement and WiseJSON's
 * shallow patch. All functions are pure: they never mutate their inputs (which may be deep-frozen)
 * and return a new plain object.
 *
 * Copy-on-write: only the objects/arrays on the paths that change are copied; unchanged subtrees
 * of the result are shared with the input document (so if the input was frozen, those parts of the
 * result are frozen too). Values taken from the update itself are deep-copied, so the caller may
 * reuse or mutate its update object afterwards.
 *
 * System fields: `_id` and `createdAt` always keep their old values and `updatedAt` is always set
 * to `nowIso`.
 * - Replacement and patch: `_id`/`createdAt` (and `updatedAt`) in the new body are silently ignored.
 * - Operators: targeting `_id` or `createdAt` (or a path inside them) with anything that would
 *   change the value is a ValidationError; `$set` to the value it already has is allowed (a no-op,
 *   as in MongoDB, so `{ $set: { ...wholeDoc } }` works). Operators on `updatedAt` are allowed but
 *   pointless: it is overwritten with `nowIso` afterwards.
 */
import { ValidationError, safeJson } from '../errors';
import { cloneJson, compareValues, deepEqual, isPlainObject } from './values';
import { AdoptContainer, getPath, isArrayIndex, setPath, splitPath, unsetPath } from './path';
import { compileElementPredicate } from './match';
import { compileSort } from './sort';

/** A plain JSON document. */
export type Doc = Record<string, unknown>;

/** Every update operator (also offered by the query editor's completion). */
export const UPDATE_OPERATORS = [
  '$set', '$unset', '$inc', '$mul', '$min', '$max', '$rename', '$push', '$pull', '$pullAll', '$addToSet', '$pop', '$currentDate',
] as const;
type UpdateOperator = (typeof UPDATE_OPERATORS)[number];
const KNOWN = new Set<string>(UPDATE_OPERATORS);
const PROTECTED = new Set(['_id', 'createdAt']);

/**
 * True if `update` is an operator update (`{ $set: ... }`), false if it is a replacement body
 * (no key starts with `$`, including `{}`).
 * @throws ValidationError if `update` is not a plain object, or mixes `$operators` with plain
 *   fields (which could mean either, so it is refused rather than guessed).
 */
export function isOperatorUpdate(update: unknown): boolean {
  if (!isPlainObject(update)) {
    throw new ValidationError(`Invalid update ${safeJson(update)}: an update must be an object, either with operators ({ $set: { a: 1 } }) or a replacement document ({ a: 1 }).`);
  }
  const keys = Object.keys(update);
  const ops = keys.filter((k) => k.startsWith('$'));
  if (ops.length > 0 && ops.length !== keys.length) {
    throw new ValidationError(
      `Invalid update: it mixes operators (${ops.join(', ')}) with plain fields (${keys.filter((k) => !k.startsWith('$')).join(', ')}). Put the plain fields inside $set, e.g. { $set: { name: "x" }, $inc: { n: 1 } }, or pass a whole replacement document without operators.`,
    );
  }
  return ops.length > 0;
}

/**
 * Applies an operator update or, when `update` has no operators, merges its top-level fields
 * into the document (WiseJSON's semantics for `update`, `updateOne`, `updateMany` and
 * `findOneAndUpdate`: each field of `update` replaces that field; a field set to `undefined` is
 * removed; the other fields stay). Whole-document replacement is {@link replaceDocument}.
 *
 * Operators (all take `{ "dot.path": argument, ... }`):
 * `$set` (`undefined` as value = `$unset`), `$unset`, `$inc`/`$mul` (number argument; a missing
 * field starts at 0 — so `$mul` yields 0; a non-number field is an error), `$min`/`$max` (by the
 * `compareValues` order; a missing field takes the argument), `$rename` (`{ old: "new" }`; missing
 * source = no-op), `$push` (value, or `{ $each: [...], $position?: int, $slice?: int, $sort?: 1 | -1 | { field: 1 | -1 } }`),
 * `$addToSet` (value or `{ $each: [...] }`, skips deep-equal duplicates), `$pull` (removes elements
 * equal to a value, matching a RegExp, satisfying operators `{ $gte: 5 }`, or matching a sub-query
 * `{ sku: "A" }` for object elements), `$pullAll` (array of values to remove), `$pop` (1 = last, -1 = first), `$currentDate` (`true` or
 * `{ $type: "date" }`: sets `nowIso`). Array operators on a missing field create the array; on a
 * non-array field they are an error. Two operators touching the same path (or one inside the
 * other) are an error, as in MongoDB.
 *
 * @param doc the current document (never mutated; may be frozen).
 * @param update operators, or a replacement body.
 * @param nowIso the timestamp to store in `updatedAt` (and for `$currentDate`).
 * @returns a new document.
 * @throws ValidationError for unknown operators, malformed arguments, type mismatches, conflicting
 *   paths, or an operator that would change `_id`/`createdAt`.
 */
export function applyUpdate(doc: object, update: object, nowIso: string): Doc {
  if (!isOperatorUpdate(update)) return mergeFields(doc as Doc, update as Doc, nowIso);
  const spec = update as Record<string, unknown>;
  const current = doc as Doc;
  for (const op of Object.keys(spec)) {
    if (!KNOWN.has(op)) {
      throw new ValidationError(`Unknown update operator "${op}". Supported: ${UPDATE_OPERATORS.join(', ')}. To replace the whole document, pass it without operators.`);
    }
    if (!isPlainObject(spec[op])) {
      throw new ValidationError(`"${op}" needs an object of { "field.path": value }, e.g. { ${op}: { count: 1 } }; got ${safeJson(spec[op])}.`);
    }
  }
  checkConflicts(spec);

  const draft = new Draft(current);
  for (const op of Object.keys(spec) as UpdateOperator[]) {
    const args = spec[op] as Record<string, unknown>;
    for (const path of Object.keys(args)) applyOperator(draft, op, path, args[path], nowIso);
  }
  return finish(draft.root, current, nowIso);
}

/**
 * `replaceOne(filter, body)`: the document becomes `body` (MongoDB's replacement). `_id` and
 * `createdAt` keep their old values and `updatedAt` becomes `nowIso`; those fields in `body` are
 * ignored, and `undefined` fields are dropped.
 * @throws ValidationError if `body` is not a plain object or has a top-level `$` name (which would
 *   read as an operator).
 */
export function replaceDocument(doc: object, body: object, nowIso: string): Doc {
  if (!isPlainObject(body)) throw new ValidationError(`Invalid replacement ${safeJson(body)}: a replacement must be a document like { "name": "x" }.`);
  const ops = Object.keys(body).filter((k) => k.startsWith('$'));
  if (ops.length > 0) {
    throw new ValidationError(`Invalid replacement: it has operator-like fields (${ops.join(', ')}). A replacement is a whole document without operators; to apply operators use updateOne.`);
  }
  return replaceBody(doc as Doc, body as Doc, nowIso);
}

/** The no-operator update: a shallow merge of `patch`'s top-level fields (see {@link applyUpdate}). */
function mergeFields(doc: Doc, patch: Doc, nowIso: string): Doc {
  const out: Doc = { ...doc };
  const src = patch as Record<string, unknown>;
  for (const key of Object.keys(src)) {
    if (PROTECTED.has(key) || key === 'updatedAt') continue;
    const v = src[key];
    if (v === undefined) delete out[key];
    else defineField(out, key, cloneJson(v));
  }
  return finish(out, doc, nowIso);
}

// ---------------------------------------------------------------------------------------------

function replaceBody(doc: Doc, body: Doc, nowIso: string): Doc {
  const out: Doc = {};
  if (doc._id !== undefined) out._id = doc._id;
  for (const key of Object.keys(body)) {
    if (PROTECTED.has(key) || key === 'updatedAt') continue;
    const v = body[key];
    if (v !== undefined) defineField(out, key, cloneJson(v));
  }
  return finish(out, doc, nowIso);
}

/** Restores the system fields on a result. */
function finish(out: Doc, old: Doc, nowIso: string): Doc {
  if (old._id !== undefined) out._id = old._id;
  else delete out._id;
  if (old.createdAt !== undefined) out.createdAt = old.createdAt;
  else delete out.createdAt;
  out.updatedAt = nowIso;
  return out;
}

/** Assignment that keeps a key named "__proto__" an ordinary data property. */
function defineField(obj: Doc, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Copy-on-write state: the result root plus the containers already copied (safe to mutate). */
class Draft {
  readonly root: Doc;
  private readonly owned = new Set<object>();
  readonly adopt: AdoptContainer = (c) => {
    if (this.owned.has(c)) return c;
    const copy: object = Array.isArray(c) ? c.slice() : { ...(c as Doc) };
    this.owned.add(copy);
    return copy;
  };
  constructor(doc: Doc) {
    this.root = { ...doc };
    this.owned.add(this.root);
  }
  get(segments: readonly string[]): unknown {
    return getPath(this.root, segments);
  }
  /**
   * Stores `value` (which must not be mutated afterwards: the conflict check guarantees no later
   * operator of the same update writes below a path written earlier).
   */
  set(segments: readonly string[], value: unknown): void {
    setPath(this.root, segments, value, this.adopt);
  }
  unset(segments: readonly string[]): void {
    unsetPath(this.root, segments, this.adopt);
  }
}

/** Rejects two operators (or one `$rename`) touching the same path or a path inside another. */
function checkConflicts(spec: Record<string, unknown>): void {
  const seen: { path: string; segments: string[] }[] = [];
  const add = (path: string): void => {
    const segments = splitPath(path);
    for (const other of seen) {
      const n = Math.min(segments.length, other.segments.length);
      let prefix = true;
      for (let i = 0; i < n && prefix; i++) prefix = segments[i] === other.segments[i];
      if (prefix) {
        throw new ValidationError(`Update conflict: "${path}" and "${other.path}" are both modified by one update. Split it into two updates.`);
      }
    }
    seen.push({ path, segments });
  };
  for (const op of Object.keys(spec)) {
    const args = spec[op] as Record<string, unknown>;
    for (const path of Object.keys(args)) {
      add(path);
      if (op === '$rename') {
        const target = args[path];
        if (typeof target !== 'string') {
          throw new ValidationError(`"$rename" needs a new field name (string) for "${path}", e.g. { $rename: { "${path}": "newName" } }; got ${safeJson(target)}.`);
        }
        add(target);
      }
    }
  }
}

function guardProtected(op: string, path: string, segments: readonly string[], draft: Draft, newValue?: { value: unknown }): void {
  if (!PROTECTED.has(segments[0])) return;
  // $set to the same value is a harmless no-op (lets callers $set a whole copy of the document).
  if (newValue && deepEqual(draft.get(segments), newValue.value)) return;
  throw new ValidationError(`"${op}" cannot modify "${path}": "${segments[0]}" is managed by the database and never changes. Remove it from the update.`);
}

function requireNumber(op: string, path: string, arg: unknown): number {
  if (typeof arg !== 'number' || Number.isNaN(arg)) {
    throw new ValidationError(`"${op}" needs a number for "${path}"; got ${safeJson(arg)}.`);
  }
  return arg;
}

/** The array at `segments` as a fresh copy; `[]` if missing; error if something else is there. */
function arrayAt(op: string, path: string, draft: Draft, segments: readonly string[], allowMissing: boolean): unknown[] | undefined {
  const current = draft.get(segments);
  if (current === undefined) return allowMissing ? [] : undefined;
  if (!Array.isArray(current)) {
    throw new ValidationError(`"${op}" needs an array at "${path}", but it holds ${safeJson(current)}. Use $set to replace the value.`);
  }
  return current.slice();
}

/** `{ $each: [...] , ...modifiers }` → its items; any other value → `[value]`. */
function eachItems(op: string, path: string, arg: unknown, allowed: readonly string[]): { items: unknown[]; mods: Record<string, unknown> } {
  if (isPlainObject(arg) && '$each' in arg) {
    for (const k of Object.keys(arg)) {
      if (!allowed.includes(k)) {
        throw new ValidationError(`"${op}" for "${path}" does not support the modifier "${k}". Supported: ${allowed.join(', ')}.`);
      }
    }
    if (!Array.isArray(arg.$each)) {
      throw new ValidationError(`"$each" in "${op}" for "${path}" needs an array; got ${safeJson(arg.$each)}.`);
    }
    return { items: arg.$each.map(cloneJson), mods: arg };
  }
  if (isPlainObject(arg) && Object.keys(arg).some((k) => k.startsWith('$'))) {
    throw new ValidationError(`"${op}" for "${path}": modifiers such as $slice/$position need "$each", e.g. { ${op}: { "${path}": { $each: [1, 2], $slice: -5 } } }.`);
  }
  return { items: [cloneJson(arg)], mods: {} };
}

function optionalInt(op: string, path: string, name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ValidationError(`"${name}" in "${op}" for "${path}" needs an integer; got ${safeJson(v)}.`);
  }
  return v;
}

function applyOperator(draft: Draft, op: UpdateOperator, path: string, arg: unknown, nowIso: string): void {
  const segments = splitPath(path);
  switch (op) {
    case '$set': {
      if (arg === undefined) {
        guardProtected(op, path, segments, draft);
        draft.unset(segments);
        return;
      }
      const value = cloneJson(arg);
      guardProtected(op, path, segments, draft, { value });
      draft.set(segments, value);
      return;
    }
    case '$unset':
      guardProtected(op, path, segments, draft);
      draft.unset(segments);
      return;
    case '$inc':
    case '$mul': {
      guardProtected(op, path, segments, draft);
      const n = requireNumber(op, path, arg);
      const current = draft.get(segments);
      if (current !== undefined && typeof current !== 'number') {
        throw new ValidationError(`"${op}" cannot change "${path}": it holds ${safeJson(current)}, not a number. Use $set to replace it.`);
      }
      const base = current ?? 0;
      draft.set(segments, op === '$inc' ? base + n : base * n);
      return;
    }
    case '$min':
    case '$max': {
      guardProtected(op, path, segments, draft);
      const value = cloneJson(arg);
      const current = draft.get(segments);
      const c = compareValues(value, current);
      if (current === undefined || (op === '$min' ? c < 0 : c > 0)) draft.set(segments, value);
      return;
    }
    case '$rename': {
      const target = arg as string; // type checked in checkConflicts
      const to = splitPath(target);
      guardProtected(op, path, segments, draft);
      guardProtected(op, target, to, draft);
      if (segments.some(isArrayIndex) || to.some(isArrayIndex)) {
        throw new ValidationError(`"$rename" works on object fields only; "${path}" → "${target}" goes through an array index.`);
      }
      const value = draft.get(segments);
      if (value === undefined) return;
      draft.unset(segments);
      draft.set(to, value);
      return;
    }
    case '$push': {
      guardProtected(op, path, segments, draft);
      const arr = arrayAt(op, path, draft, segments, true) as unknown[];
      const { items, mods } = eachItems(op, path, arg, ['$each', '$position', '$slice', '$sort']);
      const position = optionalInt(op, path, '$position', mods.$position);
      const slice = optionalInt(op, path, '$slice', mods.$slice);
      if (position === undefined) arr.push(...items);
      else arr.splice(position < 0 ? Math.max(0, arr.length + position) : Math.min(position, arr.length), 0, ...items);
      let result = arr;
      if (mods.$sort !== undefined) result = sortArray(path, result, mods.$sort);
      if (slice !== undefined) result = slice >= 0 ? result.slice(0, slice) : result.slice(slice);
      draft.set(segments, result);
      return;
    }
    case '$addToSet': {
      guardProtected(op, path, segments, draft);
      const arr = arrayAt(op, path, draft, segments, true) as unknown[];
      const { items } = eachItems(op, path, arg, ['$each']);
      for (const item of items) if (!arr.some((x) => deepEqual(x, item))) arr.push(item);
      draft.set(segments, arr);
      return;
    }
    case '$pull': {
      guardProtected(op, path, segments, draft);
      const arr = arrayAt(op, path, draft, segments, false);
      if (!arr) return;
      const matches = compileElementPredicate(arg);
      const kept = arr.filter((x) => !matches(x));
      if (kept.length !== arr.length) draft.set(segments, kept);
      return;
    }
    case '$pullAll': {
      guardProtected(op, path, segments, draft);
      if (!Array.isArray(arg)) {
        throw new ValidationError(`"$pullAll" for "${path}" needs an array of values to remove, e.g. { $pullAll: { "${path}": [1, 2] } }; got ${safeJson(arg)}.`);
      }
      const arr = arrayAt(op, path, draft, segments, false);
      if (!arr) return;
      const kept = arr.filter((x) => !arg.some((v) => deepEqual(x, v)));
      if (kept.length !== arr.length) draft.set(segments, kept);
      return;
    }
    case '$pop': {
      guardProtected(op, path, segments, draft);
      if (arg !== 1 && arg !== -1) {
        throw new ValidationError(`"$pop" for "${path}" needs 1 (remove the last element) or -1 (remove the first); got ${safeJson(arg)}.`);
      }
      const arr = arrayAt(op, path, draft, segments, false);
      if (!arr || arr.length === 0) return;
      if (arg === 1) arr.pop();
      else arr.shift();
      draft.set(segments, arr);
      return;
    }
    case '$currentDate': {
      guardProtected(op, path, segments, draft);
      const ok = arg === true || (isPlainObject(arg) && Object.keys(arg).length === 1 && arg.$type === 'date');
      if (!ok) {
        throw new ValidationError(`"$currentDate" for "${path}" needs true or { $type: "date" } (the date is stored as an ISO string); got ${safeJson(arg)}.`);
      }
      draft.set(segments, nowIso);
      return;
    }
  }
}

function sortArray(path: string, arr: unknown[], spec: unknown): unknown[] {
  if (spec === 1 || spec === -1) {
    const dir = spec;
    return arr.slice().sort((a, b) => dir * compareValues(a, b));
  }
  if (isPlainObject(spec)) {
    const cmp = compileSort(spec);
    return arr.slice().sort((a, b) => cmp(a, b));
  }
  throw new ValidationError(`"$sort" in "$push" for "${path}" needs 1, -1 or { field: 1 | -1 }; got ${safeJson(spec)}.`);
}
