import { UniqueConstraintError } from '../errors';
import { Doc } from '../document';
import { getPathValues } from '../query/path';
import { compareValues, sameTypeClass, valueKey } from '../query/values';

export interface IndexDefinition {
  field: string;
  unique: boolean;
}

/** Bounds of a range condition; each bound is inclusive or exclusive. */
export interface RangeBounds {
  gt?: unknown;
  gte?: unknown;
  lt?: unknown;
  lte?: unknown;
}

/**
 * An index on one field (a dot path): value → the documents holding it. Array fields are indexed by the
 * array and by each element (multikey), as the matcher's "array contains" needs. Documents
 * without the field are not indexed, so a unique index allows any number of them.
 * Range lookups use a sorted array of distinct values, built on the first range query and kept
 * up to date incrementally afterwards.
 */
export class FieldIndex {
  /** Value key → the value and the documents holding it (by id). */
  private readonly byKey = new Map<string, { value: unknown; docs: Map<string, Doc> }>();
  private sorted: { value: unknown; key: string }[] | null = null;
  /** Documents whose value at the field is (or passes through) an array. */
  private arrayValued = 0;

  /** The field is a plain top-level name (no dots). */
  private readonly topLevel: boolean;

  constructor(readonly collection: string, readonly field: string, readonly unique: boolean) {
    this.topLevel = !field.includes('.');
  }

  get definition(): IndexDefinition {
    return { field: this.field, unique: this.unique };
  }

  keysOf(doc: Doc): Map<string, unknown> {
    const keys = new Map<string, unknown>();
    if (this.topLevel) {
      // The common case, a top-level field holding a scalar: no path walk.
      const v = doc[this.field];
      if (v === null || v === undefined) return keys;
      if (typeof v !== 'object') {
        keys.set(valueKey(v), v);
        return keys;
      }
    }
    for (const v of getPathValues(doc, this.field)) {
      if (v === null || v === undefined) continue;
      keys.set(valueKey(v), v);
    }
    return keys;
  }

  /** Throws UniqueConstraintError if `doc` would collide with another document. */
  check(doc: Doc): void {
    if (!this.unique) return;
    for (const [key, value] of this.keysOf(doc)) {
      const entry = this.byKey.get(key);
      if (entry) {
        for (const id of entry.docs.keys()) if (id !== doc._id) throw new UniqueConstraintError(this.collection, this.field, value);
      }
    }
  }

  /**
   * True when some document holds several values at the field (an array, or a path through an
   * array of objects): then the two sides of a range may be met
   * by different elements, and a lookup must use one side only (the matcher re-checks).
   */
  get multikey(): boolean {
    return this.arrayValued > 0;
  }

  /** Ids of other documents filed under any of `doc`'s values. */
  holders(doc: Doc): string[] {
    const out: string[] = [];
    for (const key of this.keysOf(doc).keys()) {
      const entry = this.byKey.get(key);
      if (entry) for (const id of entry.docs.keys()) if (id !== doc._id) out.push(id);
    }
    return out;
  }

  /** Files `doc` under its values; with `checkUnique`, first throws on a collision (adding nothing). */
  add(doc: Doc, checkUnique = false): void {
    const single = this.scalarOf(doc);
    if (single !== NOT_SCALAR) {
      if (single === undefined) return;
      const key = valueKey(single);
      if (checkUnique && this.unique) this.assertFree(key, single, doc._id);
      this.file(key, single, doc);
      return;
    }
    const keys = this.keysOf(doc);
    if (checkUnique && this.unique) for (const [key, value] of keys) this.assertFree(key, value, doc._id);
    if (keys.size > 1 || hasArray(keys)) this.arrayValued++;
    for (const [key, value] of keys) this.file(key, value, doc);
  }

  remove(doc: Doc): void {
    const single = this.scalarOf(doc);
    if (single !== NOT_SCALAR) {
      if (single !== undefined) this.unfile(valueKey(single), doc._id);
      return;
    }
    const keys = this.keysOf(doc);
    if (keys.size > 1 || hasArray(keys)) this.arrayValued--;
    for (const key of keys.keys()) this.unfile(key, doc._id);
  }

  /** The field's value when it is a top-level scalar (undefined when absent), else NOT_SCALAR. */
  private scalarOf(doc: Doc): unknown {
    if (!this.topLevel) return NOT_SCALAR;
    const v = doc[this.field];
    if (v === null || v === undefined) return undefined;
    return typeof v === 'object' ? NOT_SCALAR : v;
  }

  private assertFree(key: string, value: unknown, id: string): void {
    const entry = this.byKey.get(key);
    if (entry) for (const other of entry.docs.keys()) if (other !== id) throw new UniqueConstraintError(this.collection, this.field, value);
  }

  private file(key: string, value: unknown, doc: Doc): void {
    let entry = this.byKey.get(key);
    if (!entry) {
      entry = { value, docs: new Map() };
      this.byKey.set(key, entry);
      if (this.sorted) this.sortedInsert(value, key);
    }
    entry.docs.set(doc._id, doc);
  }

  private unfile(key: string, id: string): void {
    const entry = this.byKey.get(key);
    if (!entry) return;
    entry.docs.delete(id);
    if (entry.docs.size === 0) {
      this.byKey.delete(key);
      if (this.sorted) this.sortedRemove(entry.value);
    }
  }

  clear(): void {
    this.byKey.clear();
    this.arrayValued = 0;
    this.sorted = null;
  }

  /** Documents holding any of `values` (exactly, or as an array element). */
  docsEqual(values: unknown[]): Doc[] {
    const entries = [];
    for (const v of values) {
      const entry = this.byKey.get(valueKey(v));
      if (entry) entries.push(entry.docs);
    }
    return collect(entries, this.multikey);
  }

  /** How many documents `docsEqual(values)` returns at most (cheap, for choosing an index). */
  countEqual(values: unknown[]): number {
    let n = 0;
    for (const v of values) n += this.byKey.get(valueKey(v))?.docs.size ?? 0;
    return n;
  }

  /** Documents with a value in the range (compared within the bound's type class). */
  docsInRange(bounds: RangeBounds): Doc[] {
    return collect(this.rangeEntries(bounds), this.multikey);
  }

  countInRange(bounds: RangeBounds): number {
    let n = 0;
    for (const m of this.rangeEntries(bounds)) n += m.size;
    return n;
  }

  private rangeEntries(bounds: RangeBounds): Map<string, Doc>[] {
    const b: RangeBounds = this.multikey && (bounds.gt !== undefined || bounds.gte !== undefined)
      ? { gt: bounds.gt, gte: bounds.gte }
      : bounds;
    const sorted = this.ensureSorted();
    const probe = b.gt ?? b.gte ?? b.lt ?? b.lte;
    let lo = 0;
    if (b.gt !== undefined || b.gte !== undefined) {
      lo = lowerBound(sorted, b.gt !== undefined ? b.gt : b.gte, b.gt !== undefined);
    }
    let hi = sorted.length;
    if (b.lt !== undefined || b.lte !== undefined) {
      hi = lowerBound(sorted, b.lt !== undefined ? b.lt : b.lte, b.lte !== undefined);
    }
    const out: Map<string, Doc>[] = [];
    for (let i = lo; i < hi; i++) {
      const { value, key } = sorted[i];
      if (sameTypeClass(value, probe)) out.push(this.byKey.get(key)!.docs);
    }
    return out;
  }

  get size(): number {
    return this.byKey.size;
  }

  private ensureSorted(): { value: unknown; key: string }[] {
    if (!this.sorted) {
      this.sorted = [...this.byKey.entries()].map(([key, e]) => ({ value: e.value, key }));
      this.sorted.sort((a, b) => compareValues(a.value, b.value));
    }
    return this.sorted;
  }

  private sortedInsert(value: unknown, key: string): void {
    const s = this.sorted!;
    s.splice(lowerBound(s, value, false), 0, { value, key });
  }

  private sortedRemove(value: unknown): void {
    const s = this.sorted!;
    const i = lowerBound(s, value, false);
    if (i < s.length && compareValues(s[i].value, value) === 0) s.splice(i, 1);
  }
}

/** First position whose value is >= bound (or > bound when `after`). */
function lowerBound(s: { value: unknown }[], bound: unknown, after: boolean): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareValues(s[mid].value, bound);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The documents of several index entries; deduplicated when one document can be in several. */
function collect(entries: Map<string, Doc>[], mayRepeat: boolean): Doc[] {
  const out: Doc[] = [];
  if (mayRepeat && entries.length > 1) {
    const seen = new Set<string>();
    for (const m of entries) {
      for (const [id, doc] of m) {
        if (!seen.has(id)) {
          seen.add(id);
          out.push(doc);
        }
      }
    }
    return out;
  }
  for (const m of entries) for (const doc of m.values()) out.push(doc);
  return out;
}

const NOT_SCALAR = Symbol('not a scalar');

function hasArray(keys: Map<string, unknown>): boolean {
  for (const v of keys.values()) if (Array.isArray(v)) return true;
  return false;
}
