import { Doc, isExpired, serialize } from '../document';
import { Op } from '../storage/records';
import { CollectionState } from './collection-state';
import { ChangeEvent, DatabaseState } from './database-state';
import { IndexDefinition } from './field-index';

/**
 * One commit in the making: every change is applied to memory at once (so later steps of the
 * same transaction see it), recorded as a log op, and remembered with its undo. If any step
 * throws, `rollback()` puts memory back exactly; if the log write fails, the same.
 */
export class WriteContext {
  readonly ops: Op[] = [];
  readonly events: ChangeEvent[] = [];
  private readonly undo: (() => void)[] = [];

  constructor(readonly state: DatabaseState, readonly now: number) {}

  get nowIso(): string {
    return new Date(this.now).toISOString();
  }

  /** The collection, created (and logged) if it does not exist yet. */
  collection(name: string): CollectionState {
    let c = this.state.collections.get(name);
    if (!c) {
      c = new CollectionState(name);
      this.state.collections.set(name, c);
      this.ops.push({ o: 'coll', c: name });
      this.events.push({ coll: name, kind: 'collection-created' });
      this.undo.push(() => this.state.collections.delete(name));
    }
    return c;
  }

  /**
   * The live document with this id. An expired (TTL) one is invisible to every operation: it is
   * removed here, as part of this commit, and reported as absent.
   */
  live(c: CollectionState, id: string): Doc | undefined {
    const doc = c.get(id);
    if (doc && c.ttlIds.has(id) && isExpired(doc, this.now)) {
      this.remove(c, id, true);
      return undefined;
    }
    return doc;
  }

  /** Runs `fn` once this commit is durable (never if it fails). */
  afterCommit(fn: () => void): void {
    this.committed.push(fn);
  }

  /** @internal */
  readonly committed: (() => void)[] = [];

  /** Inserts or replaces `doc` (frozen; `text` is its serialised form). Throws on a unique violation. */
  put(c: CollectionState, doc: Doc, text: string = serialize(doc)): Doc | undefined {
    // An expired document holding a unique value is invisible: it goes, as part of this commit.
    if (c.ttlIds.size > 0) for (const id of c.uniqueHolders(doc)) this.live(c, id);
    c.checkUnique(doc);
    const old = c.put(doc);
    this.ops.push(c.ttlIds.has(doc._id) ? { o: 'put', c: c.name, id: doc._id, doc: text, ttl: true } : { o: 'put', c: c.name, id: doc._id, doc: text });
    this.events.push(old ? { coll: c.name, kind: 'update', doc, old } : { coll: c.name, kind: 'insert', doc });
    this.undo.push(old ? () => { c.put(old); } : () => { c.delete(doc._id); });
    return old;
  }

  remove(c: CollectionState, id: string, ttl = false): Doc | undefined {
    const old = c.delete(id);
    if (!old) return undefined;
    this.ops.push(ttl ? { o: 'del', c: c.name, id, ttl: true } : { o: 'del', c: c.name, id });
    this.events.push({ coll: c.name, kind: 'remove', old });
    this.undo.push(() => { c.put(old); });
    return old;
  }

  clear(c: CollectionState): number {
    const saved = [...c.values()];
    c.clear();
    this.ops.push({ o: 'clear', c: c.name });
    this.events.push({ coll: c.name, kind: 'clear' });
    this.undo.push(() => { for (const d of saved) c.put(d); });
    return saved.length;
  }

  createIndex(c: CollectionState, def: IndexDefinition): void {
    const previous = c.indexes.get(def.field);
    if (previous && previous.unique === def.unique) return;
    c.addIndex(def); // throws on a unique collision, changing nothing
    this.ops.push({ o: 'idx', c: c.name, f: def.field, u: def.unique });
    this.undo.push(() => {
      c.dropIndex(def.field);
      if (previous) c.addIndex(previous.definition);
    });
  }

  dropIndex(c: CollectionState, field: string): boolean {
    const previous = c.indexes.get(field);
    if (!previous) return false;
    c.dropIndex(field);
    this.ops.push({ o: 'unidx', c: c.name, f: field });
    this.undo.push(() => { c.addIndex(previous.definition); });
    return true;
  }

  dropCollection(name: string): boolean {
    const c = this.state.collections.get(name);
    if (!c) return false;
    this.state.collections.delete(name);
    this.ops.push({ o: 'drop', c: name });
    this.events.push({ coll: name, kind: 'collection-dropped' });
    this.undo.push(() => this.state.collections.set(name, c));
    return true;
  }

  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]();
    this.undo.length = 0;
    this.ops.length = 0;
    this.events.length = 0;
    this.committed.length = 0;
  }
}
