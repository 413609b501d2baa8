import { Doc, expiresAt, isExpired, serialize } from '../document';
import { IndexConflictError } from '../errors';
import { HybridLogicalClock } from '../../sync/hlc';
import { deletedKey, describeChange, OutboxOp, setCursorOf, versionOf } from './sync-state';
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

  /**
   * True while applying changes pulled from the sync server: they are not local changes, so they
   * go to no outbox.
   */
  remote = false;

  constructor(readonly state: DatabaseState, readonly now: number, private readonly replicaId = '', private readonly clockOffsetMs = 0) {}

  /**
   * Records a local change of a sync-enabled collection in the outbox, in this same commit:
   * the next `seq`, a fresh HLC stamp, the version it was based on, and what changed.
   */
  private capture(c: CollectionState, id: string, old: Doc | undefined, doc: Doc | undefined): void {
    if (this.remote || !this.replicaId) return;
    const sync = this.state.sync;
    if (!sync.collections.has(c.name)) return;
    const change = describeChange(old, doc);
    if (!change) return;
    const prevSeq = sync.seq;
    const prevHlc = sync.hlc;
    const offset = this.clockOffsetMs;
    const hlc = new HybridLogicalClock(this.replicaId, { last: prevHlc || undefined, now: () => Date.now() + offset }).tick();
    // A document created again after a synced delete is based on the delete's version.
    const base = old ? versionOf(old) : doc ? sync.deleted.get(deletedKey(c.name, id)) ?? 0 : 0;
    const op: OutboxOp = { seq: prevSeq + 1, hlc, coll: c.name, id, base, ...change };
    sync.seq = op.seq;
    sync.hlc = hlc;
    sync.outbox.push(op);
    this.ops.push({ o: 'out', e: op });
    this.undo.push(() => {
      sync.outbox.pop();
      sync.seq = prevSeq;
      sync.hlc = prevHlc;
    });
  }

  /** Turns sync on for a collection (dataset) or off (null); persisted, never the key. */
  configureSync(name: string, dataset: string | null): void {
    const sync = this.state.sync;
    const previous = sync.collections.get(name);
    if ((previous?.dataset ?? null) === dataset) return;
    if (dataset === null) sync.collections.delete(name);
    else sync.collections.set(name, { dataset, cursor: null });
    this.ops.push({ o: 'synccfg', c: name, ds: dataset });
    this.undo.push(() => {
      if (previous) sync.collections.set(name, previous);
      else sync.collections.delete(name);
    });
    // Documents that never reached a server (no `_v`) are queued now, so enabling sync on a
    // collection that already has data sends that data too.
    const c = this.state.collections.get(name);
    if (dataset !== null && c) {
      const queued = new Set(sync.outbox.filter((o) => o.coll === name).map((o) => o.id));
      for (const doc of [...c.values()]) {
        if (versionOf(doc) === 0 && !queued.has(doc._id)) this.capture(c, doc._id, undefined, doc);
      }
    }
  }

  /** Drops acknowledged outbox ops. */
  ack(upTo: number, colls: string[] | null): void {
    const sync = this.state.sync;
    const removed = sync.ack(upTo, colls);
    if (removed.length === 0) return;
    this.ops.push({ o: 'ack', upTo, cs: colls });
    this.undo.push(() => sync.restore(removed));
  }

  /**
   * Remembers (v > 0) or forgets (v = 0) the server version at which a synced document was
   * deleted; see SyncState.deleted.
   */
  tombstone(coll: string, id: string, v: number): void {
    const sync = this.state.sync;
    const key = deletedKey(coll, id);
    const prev = sync.deleted.get(key);
    if ((prev ?? 0) === v) return;
    if (v > 0) sync.deleted.set(key, v);
    else sync.deleted.delete(key);
    this.ops.push({ o: 'tomb', c: coll, id, v });
    this.undo.push(() => {
      if (prev === undefined) sync.deleted.delete(key);
      else sync.deleted.set(key, prev);
    });
  }

  /**
   * Records the pull cursor reached by a page (in the same commit as the page's changes), with
   * the server's proof that it issued it when there is one.
   */
  setCursor(name: string, cursor: string | null, hlc: string, proof?: string): void {
    const sync = this.state.sync;
    const cfg = sync.collections.get(name);
    if (!cfg) return;
    const prevCursor = cfg.cursor;
    const prevProof = cfg.proof;
    const prevHlc = sync.hlc;
    setCursorOf(cfg, cursor, proof);
    if (hlc > sync.hlc) sync.hlc = hlc;
    this.ops.push(cfg.proof === undefined ? { o: 'cursor', c: name, cursor, hlc: sync.hlc } : { o: 'cursor', c: name, cursor, hlc: sync.hlc, p: cfg.proof });
    this.undo.push(() => {
      setCursorOf(cfg, prevCursor, prevProof);
      sync.hlc = prevHlc;
    });
  }

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
    this.capture(c, doc._id, old, doc);
    this.logPut(c, doc._id, text, c.ttlIds.has(doc._id));
    this.events.push(old ? { coll: c.name, kind: 'update', doc, old } : { coll: c.name, kind: 'insert', doc });
    this.undo.push(old ? () => { c.put(old); } : () => { c.delete(doc._id); });
    return old;
  }

  /**
   * A new document pulled from the server, kept as its JSON text until it is first read (as a
   * reopened database keeps its documents): for nested documents the text (in the collection's
   * text arena, outside the JS heap) takes about two thirds of the memory of the parsed objects,
   * which counts in a first sync of many documents.
   * A collection with indexes, a document already here, or a local write takes `put`.
   */
  putPulled(c: CollectionState, doc: Doc, text: string): void {
    if (!this.remote || c.indexes.size > 0 || c.has(doc._id)) {
      this.put(c, doc, text);
      return;
    }
    const ttl = expiresAt(doc) !== null;
    c.putText(doc._id, text, ttl);
    this.logPut(c, doc._id, text, ttl);
    this.events.push({ coll: c.name, kind: 'insert', doc });
    this.undo.push(() => { c.delete(doc._id); });
  }

  /** The log op of a stored document (`ttl`: it carries expireAt/ttl). */
  private logPut(c: CollectionState, id: string, text: string, ttl: boolean): void {
    this.ops.push(ttl ? { o: 'put', c: c.name, id, doc: text, ttl: true } : { o: 'put', c: c.name, id, doc: text });
  }

  remove(c: CollectionState, id: string, ttl = false): Doc | undefined {
    const old = c.delete(id);
    if (!old) return undefined;
    this.capture(c, id, old, undefined);
    this.ops.push(ttl ? { o: 'del', c: c.name, id, ttl: true } : { o: 'del', c: c.name, id });
    this.events.push({ coll: c.name, kind: 'remove', old });
    this.undo.push(() => { c.put(old); });
    return old;
  }

  clear(c: CollectionState): number {
    const saved = [...c.values()];
    c.clear();
    for (const d of saved) this.capture(c, d._id, d, undefined);
    this.ops.push({ o: 'clear', c: c.name });
    this.events.push({ coll: c.name, kind: 'clear' });
    this.undo.push(() => { for (const d of saved) c.put(d); });
    return saved.length;
  }

  createIndex(c: CollectionState, def: IndexDefinition): void {
    const previous = c.indexes.get(def.field);
    if (previous && previous.unique === def.unique) return;
    // As in WiseJSON: changing an index's type is an explicit drop, then a create.
    if (previous) throw new IndexConflictError(c.name, def.field, previous.unique ? 'unique' : 'standard');
    c.addIndex(def); // throws on a unique collision, changing nothing
    this.ops.push({ o: 'idx', c: c.name, f: def.field, u: def.unique });
    this.undo.push(() => c.dropIndex(def.field));
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
