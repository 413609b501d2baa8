import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type { WiseJSON } from './database';
import {
  deepFreeze, Doc, isExpired, isPlainObject, prepareNewDocument, serialize, toJsonDocument, validateId,
} from './document';
import { SyncConfigError, UniqueConstraintError, ValidationError } from './errors';
import { toCsv } from './export/csv';
import { compileQuery, Query } from './query/match';
import { deepEqual } from './query/values';
import { Condition, indexableConditions, isEqCondition } from './query/plan';
import { FieldIndex } from './state/field-index';
import { compileProjection } from './query/projection';
import { compileSort } from './query/sort';
import { applyUpdate, replaceDocument } from './query/update';
import { writeFileAtomic } from './storage/fsutil';
import { CollectionState } from './state/collection-state';
import { ChangeEvent } from './state/database-state';
import { WriteContext } from './state/write-context';
import type { EnableSyncOptions, SyncStatus } from '../sync/sync-manager';

export interface FindOptions {
  sort?: Record<string, 1 | -1 | 'asc' | 'desc'>;
  skip?: number;
  limit?: number;
}

/** How `find` found its documents (from {@link Collection.explain}), measured where the plan is chosen. */
export interface QueryExplain {
  /** `id`: the `_id` lookup; `index`: an index gave the candidates; `scan`: every document was tested. */
  plan: 'id' | 'index' | 'scan';
  /** The indexed field used (plan `index`), else null. */
  index: string | null;
  /** Candidates the index gave (its entries read); 0 without an index. */
  keysExamined: number;
  /** Documents tested against the filter (0 when the index answered the query exactly). */
  docsExamined: number;
  /** Documents returned (after sort, skip and limit). */
  returned: number;
  /** Fields of the filter an index could serve (equality, `$in` or a range) that have none. */
  indexable: string[];
  /** Milliseconds, from the call to the documents (after sort, skip, limit and projection). */
  ms: number;
}

export interface PageOptions {
  /** The `next` of the previous page; null or absent for the first page. */
  after?: string | null;
  /** The most documents to return (a positive integer). */
  limit: number;
  /** Only documents matching this filter. */
  query?: Query<Doc>;
}

export interface Page {
  docs: Doc[];
  /** Pass as `after` for the next page; null when there is none. */
  next: string | null;
}

export interface UpdateResult {
  matchedCount: number;
  modifiedCount: number;
}

export interface DeleteResult {
  deletedCount: number;
}

export interface IndexInfo {
  fieldName: string;
  type: 'unique' | 'standard';
}

export interface CollectionStats {
  name: string;
  count: number;
  indexes: IndexInfo[];
  inserts: number;
  updates: number;
  removes: number;
  clears: number;
}

/**
 * A collection of JSON documents. Reads are served from memory and return deep-frozen documents
 * (copy them, e.g. `{ ...doc }` or `structuredClone(doc)`, to edit). Every write resolves once it
 * is durable on disk; writes that read first (`update`, `updateOne`, `$inc`, …) read and write in
 * one atomic step, even across processes.
 *
 * Events: `insert (doc)`, `update (doc, oldDoc)`, `remove (oldDoc)`, `clear ()`, and the
 * `sync:*` events; they fire for this process's writes and for writes read from other processes.
 */
export class Collection {
  /** Resolves once the collection exists (it already does when `db.collection()` resolved). */
  readonly initPromise: Promise<void>;
  private readonly emitter = new EventEmitter();
  private readonly counters = { inserts: 0, updates: 0, removes: 0, clears: 0 };

  constructor(private readonly db: WiseJSON, readonly name: string) {
    this.initPromise = db.init();
    this.emitter.setMaxListeners(0);
  }

  private get state(): CollectionState | undefined {
    return this.db._state.collection(this.name);
  }

  private target(ctx: WriteContext): CollectionState {
    return ctx.collection(this.name);
  }

  // --------------------------------------------------------------------------------------
  // Writes

  /** Inserts a document; `_id` is generated when absent. Resolves with the stored document. */
  insert(doc: Record<string, unknown>): Promise<Doc> {
    let prepared: Doc;
    let text: string;
    try {
      [prepared, text] = this.prepareInsert(doc, new Date().toISOString());
    } catch (err) {
      return Promise.reject(err);
    }
    return this.db.write((ctx) => {
      const c = this.target(ctx);
      if (ctx.live(c, prepared._id)) throw new UniqueConstraintError(this.name, '_id', prepared._id);
      ctx.put(c, prepared, text);
      return prepared;
    }).then((doc) => {
      this.counters.inserts++;
      return doc;
    });
  }

  /** Inserts all documents as one durable record: all of them, or (on any error) none. */
  insertMany(docs: Record<string, unknown>[]): Promise<Doc[]> {
    if (!Array.isArray(docs)) return Promise.reject(new ValidationError(`Collection "${this.name}": insertMany expects an array of documents.`));
    if (docs.length === 0) return Promise.resolve([]);
    let prepared: Doc[];
    let texts: string[];
    try {
      const now = new Date().toISOString();
      prepared = new Array(docs.length);
      texts = new Array(docs.length);
      for (let i = 0; i < docs.length; i++) [prepared[i], texts[i]] = this.prepareInsert(docs[i], now);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.db.write((ctx) => {
      const c = this.target(ctx);
      for (let i = 0; i < prepared.length; i++) {
        if (ctx.live(c, prepared[i]._id)) throw new UniqueConstraintError(this.name, '_id', prepared[i]._id);
        ctx.put(c, prepared[i], texts[i]);
      }
      return prepared;
    }).then((docs) => {
      this.counters.inserts += docs.length;
      return docs;
    });
  }

  /** The stored form of a new document and its JSON text (serialised before it is frozen: faster). */
  private prepareInsert(doc: unknown, now: string): [Doc, string] {
    const id = isPlainObject(doc) && doc._id !== undefined ? validateId(doc._id, this.name) : this.newId();
    const prepared = prepareNewDocument(doc, id, now, this.name);
    const text = serialize(prepared);
    return [deepFreeze(prepared), text];
  }

  private newId(): string {
    return validateId(this.db.options.idGenerator(), this.name);
  }

  /**
   * Updates the document with `_id` = `id`. `patch` is merged into it (top-level fields replace),
   * or, when it uses operators (`$set`, `$inc`, …), applied as a MongoDB update. `_id` and
   * `createdAt` never change. Resolves with the new document, or null if there is none.
   */
  update(id: string, patch: Record<string, unknown>): Promise<Doc | null> {
    if (!isPlainObject(patch)) return Promise.reject(new ValidationError(`Collection "${this.name}": update(id, patch) expects patch to be an object like { "name": "x" }.`));
    return this.db.write((ctx) => {
      const c = this.target(ctx);
      const old = ctx.live(c, id);
      if (!old) return null;
      return this.replaceWith(ctx, c, old, applyUpdate(old, patch, ctx.nowIso));
    }).then((doc) => {
      if (doc) this.counters.updates++;
      return doc;
    });
  }

  /** Removes the document with `_id` = `id`. Resolves true if it existed. */
  remove(id: string): Promise<boolean> {
    return this.db.write((ctx) => {
      const c = this.target(ctx);
      if (!ctx.live(c, id)) return false;
      ctx.remove(c, id);
      return true;
    }).then((removed) => {
      if (removed) this.counters.removes++;
      return removed;
    });
  }

  /** Removes every document (indexes stay defined). */
  clear(): Promise<boolean> {
    return this.db.write((ctx) => {
      ctx.clear(this.target(ctx));
      return true;
    }).then((done) => {
      this.counters.clears++;
      return done;
    });
  }

  /**
   * Replaces the first document matching `filter` by `body` (MongoDB's replaceOne): fields not in
   * `body` are gone; `_id` and `createdAt` stay, `updatedAt` is set. `body` has no operators.
   */
  replaceOne(filter: Query<Doc>, body: Record<string, unknown>): Promise<UpdateResult> {
    return this.filteredWrite(filter, body, (ctx, match) => {
      const c = this.target(ctx);
      const [old] = this.select(c, filter, match, ctx.now, 1);
      if (!old) return { matchedCount: 0, modifiedCount: 0 };
      const next = this.replaceWith(ctx, c, old, replaceDocument(old, body, ctx.nowIso));
      return { matchedCount: 1, modifiedCount: next !== old ? 1 : 0 };
    }).then((r) => {
      this.counters.updates += r.modifiedCount;
      return r;
    });
  }

  /**
   * Applies `update` to the first document matching `filter`: its `$operators`, or without
   * operators a merge of its top-level fields (WiseJSON's semantics; replacement is replaceOne).
   */
  updateOne(filter: Query<Doc>, update: Record<string, unknown>): Promise<UpdateResult> {
    return this.updateWhere(filter, update, 1);
  }

  /** Applies `update` (operators, or a merge of fields) to every document matching `filter`, atomically. */
  updateMany(filter: Query<Doc>, update: Record<string, unknown>): Promise<UpdateResult> {
    return this.updateWhere(filter, update, Infinity);
  }

  private updateWhere(filter: Query<Doc>, update: Record<string, unknown>, max: number): Promise<UpdateResult> {
    return this.filteredWrite(filter, update, (ctx, match) => {
      const c = this.target(ctx);
      const hits = this.select(c, filter, match, ctx.now, max);
      let modified = 0;
      for (const old of hits) {
        const next = this.replaceWith(ctx, c, old, applyUpdate(old, update, ctx.nowIso));
        if (next !== old) modified++;
      }
      return { matchedCount: hits.length, modifiedCount: modified };
    }).then((r) => {
      this.counters.updates += r.modifiedCount;
      return r;
    });
  }

  /**
   * Atomically finds the first document matching `filter`, updates it, and resolves with the new
   * version (or the old one with `{ returnOriginal: true }`); null when nothing matches.
   */
  findOneAndUpdate(filter: Query<Doc>, update: Record<string, unknown>, options: { returnOriginal?: boolean } = {}): Promise<Doc | null> {
    return this.filteredWrite(filter, update, (ctx, match) => {
      const c = this.target(ctx);
      const [old] = this.select(c, filter, match, ctx.now, 1);
      if (!old) return null;
      const next = this.replaceWith(ctx, c, old, applyUpdate(old, update, ctx.nowIso));
      if (next !== old) ctx.afterCommit(() => this.counters.updates++);
      return options.returnOriginal ? old : next;
    });
  }

  /**
   * WiseJSON's `removeMany(predicate)`: removes every document for which `predicate(doc)` is
   * true, atomically; resolves with how many were removed.
   */
  removeMany(predicate: (doc: Doc) => boolean): Promise<number> {
    if (typeof predicate !== 'function') {
      return Promise.reject(new ValidationError(`Collection "${this.name}": removeMany(predicate) expects a function, e.g. removeMany((doc) => doc.done === true); for a query object use deleteMany.`));
    }
    return this.deleteMany(predicate as Query<Doc>).then((r) => r.deletedCount);
  }

  /** Removes the first document matching `filter`. */
  deleteOne(filter: Query<Doc>): Promise<DeleteResult> {
    return this.deleteWhere(filter, 1);
  }

  /** Removes every document matching `filter`, atomically. */
  deleteMany(filter: Query<Doc>): Promise<DeleteResult> {
    return this.deleteWhere(filter, Infinity);
  }

  private deleteWhere(filter: Query<Doc>, max: number): Promise<DeleteResult> {
    return this.filteredWrite(filter, null, (ctx, match) => {
      const c = this.target(ctx);
      const hits = this.select(c, filter, match, ctx.now, max);
      for (const d of hits) ctx.remove(c, d._id);
      return { deletedCount: hits.length };
    }).then((r) => {
      this.counters.removes += r.deletedCount;
      return r;
    });
  }

  /**
   * A write over the documents matching `filter`: checks the arguments first (a bad update or
   * filter rejects with a ValidationError, writing nothing), then runs `build` as one commit.
   */
  private filteredWrite<T>(filter: Query<Doc>, update: Record<string, unknown> | null, build: (ctx: WriteContext, match: (d: Doc) => boolean) => T): Promise<T> {
    let match: (d: Doc) => boolean;
    try {
      if (update !== null && !isPlainObject(update)) {
        throw new ValidationError(`Collection "${this.name}": the update must be an object like { "$set": { "name": "x" } }.`);
      }
      match = isIdQuery(filter) ? matchAll : compileQuery(filter);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.db.write((ctx) => build(ctx, match));
  }

  /** Normalises, freezes and stores `next` in place of `old`; returns `old` if nothing changed. */
  private replaceWith(ctx: WriteContext, c: CollectionState, old: Doc, next: Record<string, unknown>): Doc {
    const doc = toJsonDocument(keepSystemFields(old, next), this.name);
    if (sameContent(old, doc)) return old;
    const text = serialize(doc); // before freezing: JSON.stringify is faster on unfrozen objects
    ctx.put(c, deepFreeze(doc), text);
    return doc;
  }

  // --------------------------------------------------------------------------------------
  // Reads

  /** The document with `_id` = `id`, or null. */
  async getById(id: string): Promise<Doc | null> {
    await this.db.init();
    const c = this.state;
    return (c && this.live(c, id, Date.now())) || null;
  }

  /** Every document. */
  async getAll(): Promise<Doc[]> {
    return this.find({});
  }

  /** Number of documents matching `query` (all when omitted). */
  async count(query?: Query<Doc>): Promise<number> {
    await this.db.init();
    const c = this.state;
    if (!c) return 0;
    if (query === undefined || (isPlainObject(query) && Object.keys(query).length === 0)) {
      if (c.ttlIds.size === 0) return c.size;
    }
    return this.select(c, query, compileQuery(query), Date.now(), Infinity).length;
  }

  /**
   * Documents matching `query` (a MongoDB-style filter or a predicate function), optionally
   * projected, sorted, skipped and limited. Uses an index when one covers a condition.
   */
  async find(query?: Query<Doc>, projection?: Record<string, unknown> | null, options: FindOptions = {}): Promise<Doc[]> {
    return (await this.findExplained(query, projection, options, null)).docs;
  }

  /**
   * Runs `find` and says how it found the documents: by `_id`, through which index (how many
   * candidates it gave) or by a scan, how many documents were tested and returned, how long it
   * took, and which fields of the filter an index could serve but have none.
   */
  async explain(query?: Query<Doc>, projection?: Record<string, unknown> | null, options: FindOptions = {}): Promise<{ docs: Doc[]; explain: QueryExplain }> {
    const started = performance.now();
    const stats: SelectStats = { plan: 'scan', index: null, keysExamined: 0, docsExamined: 0 };
    const { docs, state } = await this.findExplained(query, projection, options, stats);
    const indexable = [...indexableConditions(query).keys()].filter((f) => f !== '_id' && !state?.indexes.has(f));
    return { docs, explain: { ...stats, returned: docs.length, indexable, ms: performance.now() - started } };
  }

  private async findExplained(query: Query<Doc> | undefined, projection: Record<string, unknown> | null | undefined, options: FindOptions, stats: SelectStats | null): Promise<{ docs: Doc[]; state: CollectionState | undefined }> {
    await this.db.init();
    const match = compileQuery(query);
    const project = projection && Object.keys(projection).length > 0 ? compileProjection(projection) : null;
    const c = this.state;
    if (!c) return { docs: [], state: c };
    const skip = options.skip ?? 0;
    const limit = options.limit ?? Infinity;
    if (!Number.isInteger(skip) || skip < 0) throw new ValidationError(`find: skip must be a non-negative integer, got ${String(options.skip)}.`);
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw new ValidationError(`find: limit must be a non-negative integer, got ${String(options.limit)}.`);
    let docs: Doc[];
    if (options.sort && Object.keys(options.sort).length > 0) {
      docs = this.select(c, query, match, Date.now(), Infinity, stats);
      docs.sort(compileSort(options.sort));
      docs = docs.slice(skip, skip + limit);
    } else {
      docs = this.select(c, query, match, Date.now(), skip + limit, stats);
      if (skip > 0) docs = docs.slice(skip);
    }
    return { docs: project ? docs.map((d) => project(d) as Doc) : docs, state: c };
  }

  /**
   * One page of documents in `_id` order: up to `limit` documents matching `query` whose `_id`
   * sorts after `after` (the previous page's `next`). `next` is null after the last page. Reads
   * only the documents it returns (and, with a query, those it tests), so a UI can page through
   * a large collection without loading it whole.
   */
  async page(options: PageOptions): Promise<Page> {
    await this.db.init();
    const limit = options.limit;
    if (!Number.isInteger(limit) || limit <= 0) throw new ValidationError(`page: limit must be a positive integer, got ${String(limit)}.`);
    const after = options.after ?? null;
    if (after !== null && typeof after !== 'string') throw new ValidationError(`page: after must be a document id (a string) or null, got ${typeof after}.`);
    const c = this.state;
    if (!c) return { docs: [], next: null };
    const match = options.query === undefined ? null : compileQuery(options.query);
    const now = Date.now();
    const docs: Doc[] = [];
    let last: string | null = null;
    for (const id of c.idsAfter(after)) {
      if (docs.length === limit) return { docs, next: last };
      const doc = c.get(id);
      if (!doc || (c.ttlIds.has(id) && isExpired(doc, now))) continue;
      if (match && !match(doc)) continue;
      docs.push(doc);
      last = id;
    }
    return { docs, next: null };
  }

  /** The first document matching `query`, or null. */
  async findOne(query?: Query<Doc>, projection?: Record<string, unknown> | null): Promise<Doc | null> {
    const [doc] = await this.find(query, projection, { limit: 1 });
    return doc ?? null;
  }

  /** Documents whose indexed `field` equals `value`. */
  async findByIndexedValue(field: string, value: unknown): Promise<Doc[]> {
    return this.find({ [field]: value });
  }

  async findOneByIndexedValue(field: string, value: unknown): Promise<Doc | null> {
    return this.findOne({ [field]: value });
  }

  /** A live (not expired) document, scheduling the removal of an expired one. */
  private live(c: CollectionState, id: string, now: number): Doc | undefined {
    const doc = c.get(id);
    if (doc && c.ttlIds.has(id) && isExpired(doc, now)) {
      this.scheduleExpiry();
      return undefined;
    }
    return doc;
  }

  private expiryScheduled = false;

  /** Expired documents are invisible at once and removed (logged, with events) right after. */
  private scheduleExpiry(): void {
    if (this.expiryScheduled) return;
    this.expiryScheduled = true;
    setImmediate(() => {
      this.expiryScheduled = false;
      this.db.expire(this.name).catch(() => undefined);
    });
  }

  /** Candidate documents via the most selective usable index, else a scan. */
  /**
   * The live documents matching `query`, at most `max`, through the `_id`, an index or a scan.
   * With `stats`, says which and counts what it read (for {@link explain}).
   */
  private select(c: CollectionState, query: Query<Doc>, match: (d: Doc) => boolean, now: number, max: number, stats: SelectStats | null = null): Doc[] {
    const out: Doc[] = [];
    if (max <= 0) return out;
    let source: Iterable<Doc>;
    if (isPlainObject(query) && typeof query._id === 'string') {
      const doc = c.get(query._id); // `_id` equality needs no index
      source = doc ? [doc] : [];
      if (stats) stats.plan = 'id';
    } else {
      const indexed = this.indexedCandidates(c, query);
      if (stats && indexed) Object.assign(stats, { plan: 'index', index: indexed.field, keysExamined: indexed.docs.length });
      // The index answered the whole query exactly: its result is the answer.
      if (indexed && indexed.exact && c.ttlIds.size === 0) return indexed.docs.length > max ? indexed.docs.slice(0, max) : indexed.docs;
      source = indexed?.docs ?? c.values();
    }
    const ttl = c.ttlIds.size > 0 ? c.ttlIds : null;
    let examined = 0;
    for (const doc of source) {
      if (ttl !== null && ttl.has(doc._id) && isExpired(doc, now)) {
        this.scheduleExpiry();
        continue;
      }
      examined++;
      if (match(doc) && out.push(doc) >= max) break;
    }
    if (stats) stats.docsExamined = examined;
    return out;
  }

  /**
   * The documents an index says may match (the smallest such set), or null for a scan. `exact`
   * when the query is one condition on one field that the index answers precisely (a range or
   * equality on scalars, the field never holding several values), so no document needs checking.
   */
  private indexedCandidates(c: CollectionState, query: Query<Doc>): { docs: Doc[]; exact: boolean; field: string } | null {
    if (c.indexes.size === 0 || !isPlainObject(query)) return null;
    const conditions = indexableConditions(query);
    if (conditions.size === 0) return null;
    c.ensureIndexes();
    let best: { n: number; field: string; idx: FieldIndex; cond: Condition } | null = null;
    for (const [field, cond] of conditions) {
      const idx = c.indexes.get(field);
      if (!idx) continue;
      const n = isEqCondition(cond) ? idx.countEqual(cond.eq) : idx.countInRange(cond);
      if (!best || n < best.n) best = { n, field, idx, cond };
    }
    if (!best) return null;
    const { field, idx, cond } = best;
    const docs = isEqCondition(cond) ? idx.docsEqual(cond.eq) : idx.docsInRange(cond);
    return { docs, exact: !idx.multikey && isSoleCondition(query, field, cond), field };
  }

  // --------------------------------------------------------------------------------------
  // Indexes

  /** Creates an index on `field` (a dot path). A unique index fails if values already repeat. */
  async createIndex(field: string, options: { unique?: boolean } = {}): Promise<void> {
    if (typeof field !== 'string' || field.length === 0) throw new ValidationError(`createIndex: field must be a non-empty field name or dot path.`);
    await this.db.write((ctx) => ctx.createIndex(this.target(ctx), { field, unique: options.unique === true }));
  }

  /** Removes the index on `field`. Resolves true if there was one. */
  async dropIndex(field: string): Promise<boolean> {
    return this.db.write((ctx) => ctx.dropIndex(this.target(ctx), field));
  }

  async getIndexes(): Promise<IndexInfo[]> {
    await this.db.init();
    return (this.state?.indexDefinitions() ?? []).map((d) => ({ fieldName: d.field, type: d.unique ? 'unique' : 'standard' }));
  }

  // --------------------------------------------------------------------------------------
  // Import / export

  /** Writes every document to `file` atomically, as a JSON array (or JSON Lines). */
  async exportJson(file: string, options: { format?: 'json' | 'jsonl' } = {}): Promise<number> {
    const docs = await this.getAll();
    const text = options.format === 'jsonl'
      ? docs.map((d) => JSON.stringify(d)).join('\n') + (docs.length ? '\n' : '')
      : JSON.stringify(docs, null, 2) + '\n';
    await writeFileAtomic(file, text);
    return docs.length;
  }

  /** Writes every document to `file` atomically as CSV (RFC 4180). */
  async exportCsv(file: string, options: { fields?: string[] } = {}): Promise<number> {
    const docs = await this.getAll();
    await writeFileAtomic(file, toCsv(docs, options.fields));
    return docs.length;
  }

  /**
   * Reads documents from a JSON array (or JSON Lines) file and writes them in one durable record:
   * `append` inserts them (an existing `_id` fails the import), `replace` empties the collection
   * first. Any error leaves the collection exactly as it was.
   */
  async importJson(file: string, options: { mode?: 'append' | 'replace' } = {}): Promise<number> {
    const mode = options.mode ?? 'append';
    if (mode !== 'append' && mode !== 'replace') throw new ValidationError(`importJson: mode must be 'append' or 'replace', got ${JSON.stringify(mode)}.`);
    const docs = parseImport(await fs.promises.readFile(file, 'utf8'), file);
    const now = new Date().toISOString();
    const prepared = docs.map((d) => this.prepareImported(d, now));
    return this.db.write((ctx) => {
      const c = this.target(ctx);
      if (mode === 'replace') ctx.clear(c);
      for (const d of prepared) {
        if (ctx.live(c, d._id)) throw new UniqueConstraintError(this.name, '_id', d._id);
        ctx.put(c, d);
      }
      return prepared.length;
    }).then((n) => {
      this.counters.inserts += n;
      return n;
    });
  }

  /** Imported documents keep their own timestamps when they have them. */
  private prepareImported(d: Record<string, unknown>, now: string): Doc {
    const [doc] = this.prepareInsert(d, now);
    if (typeof d.updatedAt === 'string') return deepFreeze({ ...doc, updatedAt: d.updatedAt });
    return doc;
  }

  // --------------------------------------------------------------------------------------
  // Sync

  /**
   * Starts two-way sync of this collection with a docsync/1 server (`url`, `apiKey`, optional
   * `dataset` (default "default"), `syncIntervalMs`, `apiClient`). Every write from now on is
   * queued for the server durably with the write itself. Failures never throw: listen for
   * `sync:error`. Call again with a new key to change it; `disableSync()` first to change server.
   */
  enableSync(options: EnableSyncOptions): void {
    const current = this.db._syncManagerOf(this.name);
    const next = this.db._syncManager(options);
    if (current && current !== next) throw new SyncConfigError(`Collection "${this.name}" already syncs with ${current.url} (dataset ${current.datasetName}); call disableSync() first.`);
    if (!current) next.add(this);
  }

  /** Stops syncing this collection; its pending changes stay queued for a later enableSync(). */
  async disableSync(): Promise<void> {
    const m = this.db._syncManagerOf(this.name);
    if (!m) return;
    await m.remove(this.name);
    await this.db._dropSyncManager(m);
  }

  /**
   * Syncs now. Resolves once a cycle that started after this call has finished; never rejects
   * (failures arrive as `sync:error`). Resolves at once when sync is not enabled.
   */
  triggerSync(): Promise<void> {
    return this.db._syncManagerOf(this.name)?.triggerSync() ?? Promise.resolve();
  }

  /** Where sync stands for this collection. */
  getSyncStatus(): SyncStatus {
    const m = this.db._syncManagerOf(this.name);
    if (m) return m.status(this.name);
    return { enabled: false, state: 'idle', url: null, dataset: null, pending: this.db._sync.outbox.filter((o) => o.coll === this.name).length, lastSyncAt: null, lastError: null, nextRetryAt: null, cursor: this.db._sync.collections.get(this.name)?.cursor ?? null, warning: null, mode: 'manual' };
  }

  // --------------------------------------------------------------------------------------
  // Misc

  async stats(): Promise<CollectionStats> {
    return { name: this.name, count: await this.count(), indexes: await this.getIndexes(), ...this.counters };
  }

  /** Writes a checkpoint of the whole database now. */
  flushToDisk(): Promise<void> {
    return this.db.flushToDisk();
  }

  on(event: string, listener: (...args: unknown[]) => void): this {
    this.emitter.on(event, listener);
    return this;
  }

  off(event: string, listener?: (...args: unknown[]) => void): this {
    if (listener) this.emitter.off(event, listener);
    else this.emitter.removeAllListeners(event);
    return this;
  }

  once(event: string, listener: (...args: unknown[]) => void): this {
    this.emitter.once(event, listener);
    return this;
  }

  /** @internal Emits to listeners; a throwing listener never disturbs the engine. */
  _emit(event: string, ...args: unknown[]): void {
    for (const l of this.emitter.rawListeners(event)) {
      try {
        const r = (l as (...a: unknown[]) => unknown)(...args);
        if (r instanceof Promise) r.catch((err) => process.emitWarning(`WiseJSON "${this.name}" ${event} listener failed: ${String(err)}`));
      } catch (err) {
        process.emitWarning(`WiseJSON "${this.name}" ${event} listener failed: ${String(err)}`);
      }
    }
  }

  /** @internal */
  _emitChange(e: ChangeEvent): void {
    switch (e.kind) {
      case 'insert': return this._emit('insert', e.doc);
      case 'update': return this._emit('update', e.doc, e.old);
      case 'remove': return this._emit('remove', e.old);
      case 'clear': return this._emit('clear');
      default: return;
    }
  }

  /** @internal */
  _emitClosed(): void {
    this._emit('closed');
  }
}

/** `{ _id: "x" }` alone: answered by a map lookup, nothing to match. */
function isIdQuery(q: unknown): boolean {
  if (!isPlainObject(q) || typeof q._id !== 'string') return false;
  for (const k in q) if (k !== '_id') return false;
  return true;
}

const matchAll = (): boolean => true;

const RANGE_OPS = new Set(['$gt', '$gte', '$lt', '$lte']);

/** True when `query` is exactly `cond` on `field` and nothing else (see indexedCandidates). */
/** What {@link Collection.select} reports to `explain`. */
type SelectStats = Pick<QueryExplain, 'plan' | 'index' | 'keysExamined' | 'docsExamined'>;

function isSoleCondition(query: Record<string, unknown>, field: string, cond: Condition): boolean {
  const keys = Object.keys(query);
  if (keys.length !== 1 || keys[0] !== field) return false;
  const q = query[field];
  if (isEqCondition(cond)) {
    if (q === null || typeof q !== 'object') return cond.eq.length === 1 && cond.eq[0] === q;
    const ops = Object.keys(q);
    if (ops.length !== 1) return false;
    const v = (q as Record<string, unknown>)[ops[0]];
    if (ops[0] === '$eq') return cond.eq.length === 1 && cond.eq[0] === v;
    if (ops[0] === '$in') return Array.isArray(v) && v.length === cond.eq.length && v.every((x, i) => x === cond.eq[i]);
    return false;
  }
  if (q === null || typeof q !== 'object' || Array.isArray(q) || q instanceof RegExp) return false;
  const r = cond as Record<string, unknown>;
  for (const op of Object.keys(q)) {
    if (!RANGE_OPS.has(op)) return false;
    if (r[op.slice(1)] !== (q as Record<string, unknown>)[op]) return false; // a bound the plan dropped
  }
  return true;
}

/** A local update keeps `_id` and the synced version `_v` of the document it replaces. */
function keepSystemFields(old: Doc, next: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...next, _id: old._id };
  if (old._v !== undefined) out._v = old._v;
  else delete out._v;
  return out;
}

/** Equal apart from `updatedAt`: such an update changes nothing and writes nothing. */
function sameContent(a: Doc, b: Doc): boolean {
  const keys = Object.keys(b);
  if (keys.length !== Object.keys(a).length) return false;
  for (const k of keys) {
    if (k !== 'updatedAt' && !deepEqual(a[k], b[k])) return false;
  }
  return true;
}

function parseImport(text: string, file: string): Record<string, unknown>[] {
  const trimmed = text.trim();
  let docs: unknown[];
  try {
    docs = trimmed.startsWith('[')
      ? (JSON.parse(trimmed) as unknown[])
      : trimmed.split(/\r?\n/).filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new ValidationError(`importJson: ${file} is neither a JSON array nor JSON Lines (${(err as Error).message}). Nothing was imported.`);
  }
  docs.forEach((d, i) => {
    if (!isPlainObject(d)) throw new ValidationError(`importJson: item ${i} of ${file} is not an object. Nothing was imported.`);
  });
  return docs as Record<string, unknown>[];
}
