import type { WiseJSON } from './database';
import { deepFreeze, Doc, isPlainObject, prepareNewDocument, toJsonDocument, validateId } from './document';
import { TransactionError, UniqueConstraintError, ValidationError } from './errors';
import { validateCollectionName } from './options';
import { compileQuery, Query } from './query/match';
import { applyUpdate, replaceDocument } from './query/update';
import { CollectionState } from './state/collection-state';
import { WriteContext } from './state/write-context';

type Step = (ctx: WriteContext) => unknown;

/**
 * Changes to any collections of one database, committed as one log record: after a crash
 * either all of them are there or none. Steps are recorded by `txn.collection(name).insert/
 * update/remove/clear` and run, in order, by `commit()`; `rollback()` discards them.
 *
 * ```js
 * const txn = db.beginTransaction();
 * txn.collection('accounts').update('a', { balance: 50 });
 * txn.collection('ledger').insert({ from: 'a', amount: 50 });
 * await txn.commit();
 * ```
 */
export class Transaction {
  private steps: Step[] = [];
  private state: 'open' | 'committed' | 'rolledBack' = 'open';

  constructor(readonly db: WiseJSON) {}

  collection(name: string): TransactionCollection {
    validateCollectionName(name);
    return new TransactionCollection(this, name);
  }

  /** @internal */
  _add(step: Step): void {
    if (this.state !== 'open') throw new TransactionError(`This transaction was already ${this.state === 'committed' ? 'committed' : 'rolled back'}; start a new one with db.beginTransaction().`, 'TRANSACTION_FINISHED');
    this.steps.push(step);
  }

  /** Applies every step atomically and durably. Resolves with each step's result, in order. */
  async commit(): Promise<unknown[]> {
    if (this.state !== 'open') throw new TransactionError(`This transaction was already ${this.state === 'committed' ? 'committed' : 'rolled back'}.`, 'TRANSACTION_FINISHED');
    this.state = 'committed';
    const steps = this.steps;
    this.steps = [];
    return this.db.write((ctx) => steps.map((s) => s(ctx)));
  }

  /** Discards the recorded steps; nothing was written. */
  async rollback(): Promise<void> {
    if (this.state === 'committed') throw new TransactionError('This transaction was already committed; it cannot be rolled back.', 'TRANSACTION_FINISHED');
    this.state = 'rolledBack';
    this.steps = [];
  }
}

/** The write operations of one collection inside a transaction (recorded, run at commit). */
export class TransactionCollection {
  constructor(private readonly txn: Transaction, readonly name: string) {}

  insert(doc: Record<string, unknown>): Promise<void> {
    return this.record((ctx) => {
      const c = ctx.collection(this.name);
      const id = isPlainObject(doc) && doc._id !== undefined ? validateId(doc._id, this.name) : this.newId();
      const prepared = deepFreeze(prepareNewDocument(doc, id, ctx.nowIso, this.name));
      if (ctx.live(c, id)) throw new UniqueConstraintError(this.name, '_id', id);
      ctx.put(c, prepared);
      return prepared;
    });
  }

  /** Merges `patch` into the document `id` (or applies its `$operators`), as `collection.update`. */
  update(id: string, patch: Record<string, unknown>): Promise<void> {
    if (!isPlainObject(patch)) return Promise.reject(new ValidationError(`Transaction: update(id, patch) on "${this.name}" expects patch to be an object.`));
    return this.record((ctx) => {
      const c = ctx.collection(this.name);
      const old = ctx.live(c, id);
      return old ? this.store(ctx, c, old, applyUpdate(old, patch, ctx.nowIso)) : null;
    });
  }

  /** Replaces the first document matching `filter` by `body` (`_id` and `createdAt` stay), as `collection.replaceOne`. */
  replaceOne(filter: Query<Doc>, body: Record<string, unknown>): Promise<void> {
    let match: (d: Doc) => boolean;
    try {
      match = compileQuery(filter);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.record((ctx) => {
      const c = ctx.collection(this.name);
      for (const d of c.values()) {
        const old = ctx.live(c, d._id);
        if (old && match(old)) return this.store(ctx, c, old, replaceDocument(old, body, ctx.nowIso));
      }
      return null;
    });
  }

  /** Stores the new version of `old` (its `_id` and sync version `_v` kept). */
  private store(ctx: WriteContext, c: CollectionState, old: Doc, updated: Record<string, unknown>): Doc {
    const next: Record<string, unknown> = { ...updated, _id: old._id };
    if (old._v !== undefined) next._v = old._v;
    else delete next._v;
    const doc = deepFreeze(toJsonDocument(next, this.name));
    ctx.put(c, doc);
    return doc;
  }

  remove(id: string): Promise<void> {
    return this.record((ctx) => {
      const c = ctx.collection(this.name);
      return ctx.live(c, id) !== undefined && ctx.remove(c, id) !== undefined;
    });
  }

  clear(): Promise<void> {
    return this.record((ctx) => {
      ctx.clear(ctx.collection(this.name));
      return true;
    });
  }

  private newId(): string {
    return validateId(this.txn.db.options.idGenerator(), this.name);
  }

  private record(step: Step): Promise<void> {
    try {
      this.txn._add(step);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

export type { Doc };
