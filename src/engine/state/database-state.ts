import { Doc, parseStored } from '../document';
import { LogRecord, Op } from '../storage/records';
import { CollectionState } from './collection-state';
import { deletedKey, setCursorOf, SyncState } from './sync-state';

/** A change to report to listeners once it is durable (or, for another process's, once read). */
export type ChangeEvent =
  | { coll: string; kind: 'insert'; doc: Doc }
  | { coll: string; kind: 'update'; doc: Doc; old: Doc }
  | { coll: string; kind: 'remove'; old: Doc }
  | { coll: string; kind: 'clear' }
  | { coll: string; kind: 'collection-created' }
  | { coll: string; kind: 'collection-dropped' };

/** All collections of one database, in memory. */
export class DatabaseState {
  readonly collections = new Map<string, CollectionState>();
  sync = new SyncState();

  collection(name: string): CollectionState | undefined {
    return this.collections.get(name);
  }

  /**
   * Applies a record read from the log (written by this process before a restart, or by another
   * process). With `events`, returns what changed so listeners hear about it.
   */
  applyRecord(rec: LogRecord, events: ChangeEvent[] | null): void {
    for (const op of rec.ops) this.applyOp(op, events);
  }

  private applyOp(op: Op, events: ChangeEvent[] | null): void {
    switch (op.o) {
      case 'coll':
        if (!this.collections.has(op.c)) {
          this.collections.set(op.c, new CollectionState(op.c));
          events?.push({ coll: op.c, kind: 'collection-created' });
        }
        return;
      case 'drop':
        if (this.collections.delete(op.c)) events?.push({ coll: op.c, kind: 'collection-dropped' });
        return;
      case 'synccfg':
        if (op.ds === null) this.sync.collections.delete(op.c);
        else {
          const prev = this.sync.collections.get(op.c);
          this.sync.collections.set(op.c, prev?.dataset === op.ds ? { ...prev } : { dataset: op.ds, cursor: null });
        }
        return;
      case 'out':
        this.sync.outbox.push(op.e);
        if (op.e.seq > this.sync.seq) this.sync.seq = op.e.seq;
        if (op.e.hlc > this.sync.hlc) this.sync.hlc = op.e.hlc;
        return;
      case 'ack':
        this.sync.ack(op.upTo, op.cs);
        return;
      case 'tomb':
        if (op.v > 0) this.sync.deleted.set(deletedKey(op.c, op.id), op.v);
        else this.sync.deleted.delete(deletedKey(op.c, op.id));
        return;
      case 'cursor': {
        const cfg = this.sync.collections.get(op.c);
        if (cfg) setCursorOf(cfg, op.cursor, op.p);
        if (op.hlc > this.sync.hlc) this.sync.hlc = op.hlc;
        return;
      }
    }
    const c = this.ensure(op.c, events);
    switch (op.o) {
      case 'put':
        if (events) {
          const doc = parseStored(op.doc);
          const old = c.put(doc);
          events.push(old ? { coll: op.c, kind: 'update', doc, old } : { coll: op.c, kind: 'insert', doc });
        } else {
          c.putText(op.id, op.doc, op.ttl === true);
        }
        return;
      case 'del': {
        const old = c.delete(op.id);
        if (old && events) events.push({ coll: op.c, kind: 'remove', old });
        return;
      }
      case 'clear':
        c.clear();
        events?.push({ coll: op.c, kind: 'clear' });
        return;
      case 'idx':
        c.declareIndex({ field: op.f, unique: op.u });
        return;
      case 'unidx':
        c.dropIndex(op.f);
        return;
    }
  }

  private ensure(name: string, events: ChangeEvent[] | null): CollectionState {
    let c = this.collections.get(name);
    if (!c) {
      c = new CollectionState(name);
      this.collections.set(name, c);
      events?.push({ coll: name, kind: 'collection-created' });
    }
    return c;
  }
}
