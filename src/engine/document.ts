import { ValidationError } from './errors';

/** A stored document: a JSON object with a string `_id` and ISO timestamps. */
export interface Doc {
  _id: string;
  createdAt?: string;
  updatedAt?: string;
  [field: string]: unknown;
}

/**
 * Documents inside the engine are deep-frozen and shared: a read hands out the stored object
 * itself, and nobody, inside or outside, can change it. A write always builds a new object.
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (Array.isArray(value)) {
      for (const v of value) deepFreeze(v);
    } else {
      for (const k in value) deepFreeze((value as Record<string, unknown>)[k]);
    }
  }
  return value;
}

/** Parses a stored JSON line into a frozen document. */
export function parseStored(text: string): Doc {
  return deepFreeze(JSON.parse(text) as Doc);
}

/**
 * Serialises a document with `_id` first (the checkpoint loader relies on that). Call it before
 * deepFreeze where possible: V8 stringifies unfrozen objects about twice as fast.
 */
export function serialize(doc: Doc): string {
  return JSON.stringify(doc);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Builds the stored form of a new document: `_id` first, then the user's fields, then the
 * timestamps. Values must be JSON (no functions, no undefined inside arrays, no cycles).
 */
export function prepareNewDocument(input: unknown, id: string, now: string, collection: string): Doc {
  if (!isPlainObject(input)) {
    throw new ValidationError(`Collection "${collection}": a document must be a plain object like { "name": "x" }, got ${describe(input)}.`);
  }
  const doc: Doc = { _id: id };
  for (const key of Object.keys(input)) {
    if (key === '_id') continue;
    setOwn(doc, key, input[key]);
  }
  if (typeof input.createdAt !== 'string') doc.createdAt = now;
  doc.updatedAt = now;
  return toJsonDocument(doc, collection);
}

/**
 * Copies a document the way JSON would store it (what is kept in memory is exactly what a
 * reload gives back): `toJSON` is honoured (Dates become ISO strings), undefined and function
 * fields disappear, non-finite numbers become null. Rejects cycles and BigInt.
 */
export function toJsonDocument(doc: Record<string, unknown>, collection: string): Doc {
  try {
    return jsonCopy(doc, 0) as Doc;
  } catch (err) {
    throw new ValidationError(`Collection "${collection}": the document cannot be stored as JSON (${(err as Error).message}). Remove cycles and BigInt values.`);
  }
}

const MAX_DEPTH = 200;

function jsonCopy(v: unknown, depth: number): unknown {
  if (v === null) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'bigint':
      throw new TypeError('BigInt values are not JSON');
    case 'object': {
      if (depth > MAX_DEPTH) throw new TypeError('nesting is too deep (a cycle?)');
      const withJson = v as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') return jsonCopy(withJson.toJSON(), depth + 1);
      if (Array.isArray(v)) {
        const out = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const c = jsonCopy(v[i], depth + 1);
          out[i] = c === undefined ? null : c;
        }
        return out;
      }
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v as object)) {
        const c = jsonCopy((v as Record<string, unknown>)[k], depth + 1);
        if (c !== undefined) setOwn(out, k, c);
      }
      return out;
    }
    default:
      return undefined; // functions, symbols, undefined
  }
}

/**
 * Sets an own property; a key named "__proto__" (legal in JSON) becomes a plain field instead of
 * changing the object's prototype.
 */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

export function validateId(id: unknown, collection: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 512) {
    throw new ValidationError(`Collection "${collection}": _id must be a non-empty string of at most 512 characters, got ${describe(id)}.`, 'INVALID_ID');
  }
  if (!isWellFormed(id)) {
    // Such an id cannot be written as UTF-8: stored or synced, "\ud800" and "\udbff" would become one id.
    throw new ValidationError(`Collection "${collection}": _id ${JSON.stringify(id)} contains an unpaired UTF-16 surrogate, which cannot be stored or synced faithfully. Nothing was written; use an id of whole characters.`, 'INVALID_ID');
  }
  return id;
}

/**
 * Whether `s` is well-formed UTF-16: no unpaired surrogate (String.prototype.isWellFormed, Node
 * 20+). A string with one cannot be written as UTF-8: hashing, storing or sending it turns each
 * lone surrogate into U+FFFD, so `"\ud800"` and `"\udbff"` would become one id. New ids and
 * collection names must be well-formed (here, and per op on the sync server).
 */
export function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `an instance of ${(v as object).constructor?.name ?? 'Object'}` : typeof v;
}

/** Time-to-live: a document with `expireAt` (ms or ISO string) or `ttl` (ms after createdAt). */
export function expiresAt(doc: Doc): number | null {
  const e = doc.expireAt;
  if (typeof e === 'number') return e;
  if (typeof e === 'string') {
    const t = Date.parse(e);
    if (!Number.isNaN(t)) return t;
  }
  if (typeof doc.ttl === 'number' && typeof doc.createdAt === 'string') {
    const c = Date.parse(doc.createdAt);
    if (!Number.isNaN(c)) return c + doc.ttl;
  }
  return null;
}

export function isExpired(doc: Doc, now: number): boolean {
  const t = expiresAt(doc);
  return t !== null && t <= now;
}
