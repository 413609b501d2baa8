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
 * An index on one field (a dot path): value → document ids. Array fields are indexed by the
 * array and by each element (multikey), as the matcher's "array contains" needs. Documents
 * without the field are not indexed, so a unique index allows any number of them.
 * Range lookups use a sorted array of distinct values, built on the first range query and kept
 * up to date incrementally afterwards.
 */
export class FieldIndex {
  private readonly byKey = new Map<string, { value: unknown; ids: Set<string> }>();
  private sorted: { value: unknown; key: string }[] | null = null;
  /** Documents whose value at the field is (or passes through) an array. */
  private arrayValued = 0;

  constructor(readonly collection: string, readonly field: string, readonly unique: boolean) {}

  get definition(): IndexDefinition {
    return { field: this.field, unique: this.unique };
  }

  keysOf(doc: Doc): Map<string, unknown> {
    const keys = new Map<string, unknown>();
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
        for (const id of entry.ids) if (id !== doc._id) throw new UniqueConstraintError(this.collection, this.field, value);
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

  /** Files `doc` under its values; with `checkUnique`, first throws on a collision (adding nothing). */
  add(doc: Doc, checkUnique = false): void {
    const keys = this.keysOf(doc);
    if (checkUnique && this.unique) {
      for (const [key, value] of keys) {
        const entry = this.byKey.get(key);
        if (entry) for (const id of entry.ids) if (id !== doc._id) throw new UniqueConstraintError(this.collection, this.field, value);
      }
    }
    if (keys.size > 1 || hasArray(keys)) this.arrayValued++;
    for (const [key, value] of keys) {
      let entry = this.byKey.get(key);
      if (!entry) {
        entry = { value, ids: new Set() };
        this.byKey.set(key, entry);
        if (this.sorted) this.sortedInsert(value, key);
      }
      entry.ids.add(doc._id);
    }
  }

  remove(doc: Doc): void {
    const keys = this.keysOf(doc);
    if (keys.size > 1 || hasArray(keys)) this.arrayValued--;
    for (const key of keys.keys()) {
      const entry = this.byKey.get(key);
      if (!entry) continue;
      entry.ids.delete(doc._id);
      if (entry.ids.size === 0) {
        this.byKey.delete(key);
        if (this.sorted) this.sortedRemove(entry.value);
      }
    }
  }

  clear(): void {
    this.byKey.clear();
    this.arrayValued = 0;
    this.sorted = null;
  }

  /** Ids of documents holding any of `values` (exactly, or as an array element). */
  idsEqual(values: unknown[]): Set<string> {
    const out = new Set<string>();
    for (const v of values) {
      const entry = this.byKey.get(valueKey(v));
      if (entry) for (const id of entry.ids) out.add(id);
    }
    return out;
  }

  /** Upper bound on `idsEqual(values).size`, cheap. */
  countEqual(values: unknown[]): number {
    let n = 0;
    for (const v of values) n += this.byKey.get(valueKey(v))?.ids.size ?? 0;
    return n;
  }

  /** Ids of documents with a value in the range (compared within the bound's type class). */
  idsInRange(bounds: RangeBounds): Set<string> {
    const b: RangeBounds = this.multikey && (bounds.gt !== undefined || bounds.gte !== undefined)
      ? { gt: bounds.gt, gte: bounds.gte }
      : bounds;
    const sorted = this.ensureSorted();
    const probe = b.gt ?? b.gte ?? b.lt ?? b.lte;
    let lo = 0;
    if (b.gt !== undefined || b.gte !== undefined) {
      const bound = b.gt !== undefined ? b.gt : b.gte;
      const strict = b.gt !== undefined;
      lo = lowerBound(sorted, bound, strict);
    }
    let hi = sorted.length;
    if (b.lt !== undefined || b.lte !== undefined) {
      const bound = b.lt !== undefined ? b.lt : b.lte;
      hi = lowerBound(sorted, bound, b.lte !== undefined);
    }
    const out = new Set<string>();
    for (let i = lo; i < hi; i++) {
      const { value, key } = sorted[i];
      if (!sameTypeClass(value, probe)) continue;
      for (const id of this.byKey.get(key)!.ids) out.add(id);
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

function hasArray(keys: Map<string, unknown>): boolean {
  for (const v of keys.values()) if (Array.isArray(v)) return true;
  return false;
}
