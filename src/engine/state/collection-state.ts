import { Doc, expiresAt, parseStored } from '../document';
import { FieldIndex, IndexDefinition } from './field-index';
import { TextArena } from './text-arena';

/**
 * A document as held in memory, until it is first read as JSON text (no object is made for it):
 *  - parsed and frozen (an object);
 *  - loaded from a checkpoint: the byte offset of its line in the checkpoint (a number ≥ 0);
 *  - pulled from the server or read from the log: its line in the collection's text arena
 *    (a number < 0: -1 - handle);
 *  - a JS string (a line too long for the arena).
 */
type Stored = Doc | string | number;

/**
 * The in-memory contents of one collection: documents by id and the field indexes. Documents
 * loaded from disk stay as text until first read; indexes are built on first need. Every
 * mutation goes through put/delete/clear so the indexes and the TTL set stay exact.
 */
export class CollectionState {
  readonly docs = new Map<string, Stored>();
  readonly indexes = new Map<string, FieldIndex>();
  /** Ids of documents that carry `expireAt` or `ttl`. */
  readonly ttlIds = new Set<string>();
  private indexesBuilt = true;
  /** The bytes of the checkpoint this collection was loaded from (see Stored). */
  private base: Buffer = Buffer.alloc(0);
  /** The text of documents stored since, not read yet (see Stored). */
  private arena = new TextArena();
  /** Every id in ascending order, built on the first `idsAfter` and kept up to date after. */
  private sortedIds: string[] | null = null;

  constructor(readonly name: string) {}

  /** Makes `data` the checkpoint bytes that numeric entries point into. */
  setBase(data: Buffer): void {
    this.base = data;
  }

  private text(s: string | number): string {
    if (typeof s === 'string') return s;
    return s >= 0 ? this.base.toString('utf8', s, this.base.indexOf(10, s)) : this.arena.text(-1 - s);
  }

  /** Parses a stored document (and lets its text go). */
  private parse(id: string, s: string | number): Doc {
    const doc = parseStored(this.text(s));
    this.docs.set(id, doc);
    this.release(s);
    return doc;
  }

  /** Lets the text of a document replaced or parsed go. */
  private release(s: Stored | undefined): void {
    if (typeof s !== 'number' || s >= 0) return;
    this.arena.free(-1 - s);
    if (this.arena.wasted) this.compact();
  }

  /** Moves the live lines into a new arena, so the dead ones' chunks go. */
  private compact(): void {
    const old = this.arena;
    this.arena = new TextArena();
    for (const [id, s] of this.docs) {
      if (typeof s === 'number' && s < 0) this.docs.set(id, -1 - this.arena.append(old.text(-1 - s))!);
    }
  }

  /** The stored JSON text of a document not parsed yet, or the parsed document. */
  stored(id: string): string | Doc | undefined {
    const s = this.docs.get(id);
    return typeof s === 'number' ? this.text(s) : s;
  }

  /**
   * Everything stored, for a checkpoint written after this returns, while the collection goes on:
   * parsed documents, or the bytes of their JSON text (no string is made for a document not read).
   */
  snapshot(): Iterable<string | Doc | Buffer> {
    const stored = [...this.docs.values()];
    const base = this.base;
    const arena = this.arena.view();
    return {
      *[Symbol.iterator]() {
        for (const s of stored) {
          if (typeof s !== 'number') yield s;
          else yield s >= 0 ? base.subarray(s, base.indexOf(10, s)) : arena(-1 - s);
        }
      },
    };
  }

  get size(): number {
    return this.docs.size;
  }

  has(id: string): boolean {
    return this.docs.has(id);
  }

  get(id: string): Doc | undefined {
    const s = this.docs.get(id);
    if (s === undefined || typeof s === 'object') return s;
    return this.parse(id, s);
  }

  /** Every document, parsed. */
  *values(): IterableIterator<Doc> {
    for (const [id, s] of this.docs) yield typeof s === 'object' ? s : this.parse(id, s);
  }

  /**
   * Ids in ascending order, strictly after `after` (from the start when null): keyset paging
   * that stays correct while documents come and go between pages.
   */
  *idsAfter(after: string | null): IterableIterator<string> {
    if (!this.sortedIds) this.sortedIds = [...this.docs.keys()].sort(compareIds);
    const ids = this.sortedIds;
    let i = after === null ? 0 : lowerBound(ids, after);
    if (after !== null && ids[i] === after) i++;
    // The array may change while the caller holds the iterator: re-find the position if so.
    for (; i < ids.length; i++) {
      const id = ids[i];
      yield id;
      if (this.sortedIds !== ids || ids[i] !== id) {
        yield* this.idsAfter(id);
        return;
      }
    }
  }

  private idAdded(id: string): void {
    if (this.sortedIds) this.sortedIds.splice(lowerBound(this.sortedIds, id), 0, id);
  }

  /** Builds indexes declared while loading (they are built lazily). */
  ensureIndexes(): void {
    if (this.indexesBuilt) return;
    this.indexesBuilt = true;
    if (this.indexes.size === 0) return;
    for (const idx of this.indexes.values()) idx.clear();
    for (const doc of this.values()) for (const idx of this.indexes.values()) idx.add(doc);
  }

  /** Throws UniqueConstraintError if `doc` collides with another document. */
  checkUnique(doc: Doc): void {
    if (this.indexes.size === 0) return;
    this.ensureIndexes();
    for (const idx of this.indexes.values()) idx.check(doc);
  }

  /** Ids of other documents holding one of `doc`'s values in a unique index. */
  uniqueHolders(doc: Doc): string[] {
    const out: string[] = [];
    if (this.indexes.size === 0) return out;
    this.ensureIndexes();
    for (const idx of this.indexes.values()) if (idx.unique) out.push(...idx.holders(doc));
    return out;
  }

  /** Stores `doc` (frozen) and returns the previous version. */
  put(doc: Doc): Doc | undefined {
    const old = this.docs.has(doc._id) ? this.get(doc._id) : undefined;
    if (old === undefined) this.idAdded(doc._id);
    this.docs.set(doc._id, doc);
    if (this.indexes.size > 0 && this.indexesBuilt) {
      for (const idx of this.indexes.values()) {
        if (old) idx.remove(old);
        idx.add(doc);
      }
    }
    if (expiresAt(doc) !== null) this.ttlIds.add(doc._id);
    else this.ttlIds.delete(doc._id);
    return old;
  }

  /**
   * Stores a document from the log or a checkpoint, without parsing it when nothing needs it.
   * `hasTtl` says whether it carries `expireAt`/`ttl` (the log and checkpoints record that).
   */
  putText(id: string, text: string, hasTtl: boolean): void {
    if (this.indexes.size > 0 && this.indexesBuilt) {
      this.put(parseStored(text));
      return;
    }
    const old = this.docs.get(id);
    if (old === undefined) this.idAdded(id);
    const handle = this.arena.append(text);
    this.docs.set(id, handle === null ? text : -1 - handle);
    this.release(old);
    if (hasTtl) this.ttlIds.add(id);
    else if (this.ttlIds.size > 0) this.ttlIds.delete(id);
  }

  /** Stores a document loaded from a checkpoint: its line starts at `offset` of the base text. */
  putBase(id: string, offset: number, hasTtl: boolean): void {
    if (!this.docs.has(id)) this.idAdded(id);
    this.docs.set(id, offset);
    if (hasTtl) this.ttlIds.add(id);
  }

  delete(id: string): Doc | undefined {
    if (!this.docs.has(id)) return undefined;
    const old = this.get(id)!;
    this.docs.delete(id);
    if (this.sortedIds) this.sortedIds.splice(lowerBound(this.sortedIds, id), 1);
    this.ttlIds.delete(id);
    if (this.indexesBuilt) for (const idx of this.indexes.values()) idx.remove(old);
    return old;
  }

  clear(): void {
    this.docs.clear();
    this.arena = new TextArena();
    this.sortedIds = null;
    this.ttlIds.clear();
    for (const idx of this.indexes.values()) idx.clear();
  }

  /** Adds an index and fills it; throws UniqueConstraintError (adding nothing) on a collision. */
  addIndex(def: IndexDefinition): FieldIndex {
    const idx = new FieldIndex(this.name, def.field, def.unique);
    this.ensureIndexes();
    for (const doc of this.values()) idx.add(doc, true);
    this.indexes.set(def.field, idx);
    return idx;
  }

  /** Declares an index without filling it (used while loading; filled on first need). */
  declareIndex(def: IndexDefinition): void {
    this.indexes.set(def.field, new FieldIndex(this.name, def.field, def.unique));
    this.indexesBuilt = false;
  }

  dropIndex(field: string): boolean {
    return this.indexes.delete(field);
  }

  indexDefinitions(): IndexDefinition[] {
    return [...this.indexes.values()].map((i) => i.definition);
  }
}

/** Ids compare by UTF-16 code units, like `<` on strings. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The first position in sorted `ids` whose id is not below `id`. */
function lowerBound(ids: string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
