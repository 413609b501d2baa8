/**
 * Ordering, equality and hashing of JSON values, shared by the matcher, the sorter, the update
 * operators and the indexes. Everything here must agree with everything else:
 * `compareValues(a, b) === 0` ⇔ `deepEqual(a, b)` ⇔ `valueKey(a) === valueKey(b)` for JSON values,
 * so an index keyed by `valueKey` finds exactly what the matcher would find.
 *
 * Dates: the database stores JSON, where a date is an ISO-8601 string. A `Date` object appearing
 * in a query or an update is therefore treated as its `toISOString()` string everywhere here.
 */

/**
 * Rank of a value's type class, MongoDB-like:
 * missing (`undefined`) 0 < `null` 1 < number 2 < string (and `Date`, as its ISO string) 3 <
 * object 4 < array 5 < boolean 6 < anything non-JSON (bigint, function, symbol) 7.
 */
export function typeRank(v: unknown): number {
  if (v === undefined) return 0;
  if (v === null) return 1;
  switch (typeof v) {
    case 'number':
      return 2;
    case 'string':
      return 3;
    case 'boolean':
      return 6;
    case 'object':
      if (Array.isArray(v)) return 5;
      if (v instanceof Date) return 3;
      return 4;
    default:
      return 7;
  }
}

/**
 * True when `a` and `b` may be compared by a range operator (`$gt` and friends).
 * Ranges never cross type classes (a string is never `$gt` a number), and — like MongoDB — `null`
 * and missing count as the same class, so `{ $gte: null }` matches both.
 */
export function sameTypeClass(a: unknown, b: unknown): boolean {
  const ra = typeRank(a);
  const rb = typeRank(b);
  return ra === rb || (ra <= 1 && rb <= 1);
}

/** A plain object: not null, not an array, not a `Date` or `RegExp`. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof RegExp);
}

/** `Date` → its ISO string (the stored form of a date); every other value unchanged. */
export function normalizeValue(v: unknown): unknown {
  return v instanceof Date ? dateToIso(v) : v;
}

function dateToIso(d: Date): string {
  // An invalid Date has no ISO form; comparing against "Invalid Date" would silently match nothing
  // useful, so use a string that sorts before every real date instead of throwing mid-scan.
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** Own enumerable keys whose value is not `undefined` (JSON drops those), sorted. */
function definedKeys(o: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const k of Object.keys(o)) if (o[k] !== undefined) keys.push(k);
  return keys.sort();
}

/**
 * A total order over JSON values (for sorting and for `$min`/`$max`/range checks within a type
 * class). Values of different type classes order by {@link typeRank}; numbers numerically (NaN
 * first), strings by UTF-16 code units (not locale, so the order is stable across machines),
 * arrays element by element then by length, objects by their sorted keys then values (key order
 * inside an object does not matter, matching {@link deepEqual}), `false < true`.
 *
 * @returns a negative number, zero, or a positive number.
 */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
    case 1:
      return 0;
    case 2: {
      const x = a as number;
      const y = b as number;
      // NaN breaks `<`; give it a fixed place (before all numbers) to keep the order total.
      if (x !== x) return y !== y ? 0 : -1;
      if (y !== y) return 1;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 3: {
      const x = a instanceof Date ? dateToIso(a) : (a as string);
      const y = b instanceof Date ? dateToIso(b) : (b as string);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 4:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
    case 5: {
      const x = a as unknown[];
      const y = b as unknown[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length < 0 ? -1 : x.length > y.length ? 1 : 0;
    }
    case 6:
      return a ? 1 : -1; // a !== b here, so exactly one of them is true
    default: {
      const x = String(a);
      const y = String(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
  }
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  if (a instanceof RegExp || b instanceof RegExp) {
    return compareValues(String(a), String(b));
  }
  const ka = definedKeys(a);
  const kb = definedKeys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    const c = compareValues(a[ka[i]], b[kb[i]]);
    if (c !== 0) return c;
  }
  return ka.length < kb.length ? -1 : ka.length > kb.length ? 1 : 0;
}

/**
 * Structural equality of JSON values. Object key order is ignored and properties whose value is
 * `undefined` count as absent (as after a JSON round trip). `1` and `"1"` differ. A `Date` equals
 * its ISO string.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return a !== a && b !== b; // NaN equals NaN
  if (a instanceof Date) return deepEqual(dateToIso(a), b);
  if (b instanceof Date) return deepEqual(a, dateToIso(b));
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (a instanceof RegExp || b instanceof RegExp) {
    return a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  }
  const oa = a as Record<string, unknown>;
  const ob = b as Record<string, unknown>;
  let countA = 0;
  for (const k of Object.keys(oa)) {
    const va = oa[k];
    if (va === undefined) continue;
    countA++;
    if (!Object.prototype.hasOwnProperty.call(ob, k) || !deepEqual(va, ob[k])) return false;
  }
  let countB = 0;
  for (const k of Object.keys(ob)) if (ob[k] !== undefined) countB++;
  return countA === countB;
}

/**
 * A canonical string for a JSON value, for use as a `Map` key (hash indexes, `$in` sets, distinct).
 * Two values get the same key exactly when {@link deepEqual} says they are equal: the type is part
 * of the key (`1` → `n1`, `"1"` → `s1`), `-0` keys like `0`, object keys are sorted.
 */
export function valueKey(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return 's' + v;
    case 'number':
      return 'n' + (v === 0 ? '0' : String(v)); // folds -0 into 0
    case 'boolean':
      return v ? 'b1' : 'b0';
    case 'undefined':
      return 'u';
    case 'object':
      if (v === null) return 'z';
      if (v instanceof Date) return 's' + dateToIso(v);
      return 'j' + canonicalJson(v);
    default:
      return 'x' + String(v);
  }
}

/** JSON with sorted object keys; `undefined` properties dropped, `undefined` array items kept distinct. */
function canonicalJson(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return v === 0 ? '0' : String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'object': {
      if (v === null) return 'null';
      if (v instanceof Date) return JSON.stringify(dateToIso(v));
      if (v instanceof RegExp) return '/' + v.source + '/' + v.flags;
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + canonicalJson(v[i]);
        return s + ']';
      }
      const o = v as Record<string, unknown>;
      let s = '{';
      let first = true;
      for (const k of definedKeys(o)) {
        s += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalJson(o[k]);
        first = false;
      }
      return s + '}';
    }
    default:
      return '#' + String(v);
  }
}

/**
 * A deep copy as plain JSON-shaped data: `Date` → ISO string, `undefined` object properties
 * dropped, `undefined` array items → `null`, other objects copied by their own enumerable
 * properties. Used so stored documents never share mutable structure with caller-owned input.
 */
export function cloneJson(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date) return dateToIso(v);
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      out[i] = item === undefined ? null : cloneJson(item);
    }
    return out;
  }
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src)) {
    const item = src[k];
    if (item === undefined) continue;
    // defineProperty, not assignment: a key named "__proto__" must stay a plain data property.
    if (k === '__proto__') Object.defineProperty(out, k, { value: cloneJson(item), enumerable: true, writable: true, configurable: true });
    else out[k] = cloneJson(item);
  }
  return out;
}
