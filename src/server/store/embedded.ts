/**
 * The embedded store (the default SyncStorage): datasets kept in the project's own engine (one database in
 * `<dataDir>/db`), a serialized writer per dataset, and an in-memory change index per dataset.
 *
 * Engine layout (all rows are ordinary engine documents):
 *   sync.datasets        {_id: dataset, epoch, head, horizon, epochStart, secret}
 *   sync.replicas        {_id: replicaId, keyHash, boundAt}         replica → key binding (global)
 *   ds.<h>.docs          {_id: rowKey(coll,id), coll, id, v, del, body, fs, hlc, origin, oseq, delAt}
 *   ds.<h>.replicas      {_id: replicaId, lastSeq, lastSeenAt}      per dataset
 * where <h> = first 24 hex digits of sha256(dataset). The docs collection holds the latest state
 * of every document (tombstones included) with its version: it is the compacted change log, and
 * the change index is rebuilt from it at start.
 *
 * Every push (documents, conflict records, the replica's lastSeq, the binding, the dataset head)
 * is one engine transaction — one fsynced log record — committed before the response is built.
 * Commits of one dataset are serialized, so commit order = version order.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { WiseJSON, WiseJSONError } from '../../engine';
import { HybridLogicalClock } from '../../sync/hlc';
import { ChangesQuery, CONFLICTS_COLLECTION, PushRequest, PushResponse } from '../../sync/protocol';
import { ChangeIndex } from './change-index';
import { SyncServerError } from '../errors';
import { DocRow, SERVER_ORIGIN } from '../merge';
import {
  changesPageBody, EpochState, mergePush, newEpoch, newSecret, pullCheckpointCheck, pushCheckpointCheck, replicaNotOwned, restoredAtPull, restoredAtPush, toChange,
} from './common';
import type { ChangesPage, DatasetCollections, StoreOptions, SyncStorage } from './storage';

export const DATASETS = 'sync.datasets';
export const BINDINGS = 'sync.replicas';

/** The engine collections of a dataset's rows and replicas (see the layout above). */
export function datasetCollections(name: string): { docs: string; replicas: string } {
  const h = createHash('sha256').update(name).digest('hex').slice(0, 24);
  return { docs: `ds.${h}.docs`, replicas: `ds.${h}.replicas` };
}

export interface DatasetMetaRow {
  _id: string;
  epoch: string;
  head: number;
  horizon: number;
  /** The head when the epoch began (absent in rows of older servers). */
  epochStart?: number;
  /** The key of the dataset's checkpoint proofs (absent in rows of older servers: added on load). */
  secret?: string;
}

export interface ReplicaRow {
  _id: string;
  lastSeq: number;
  lastSeenAt: number;
}

/** The state of one dataset held in memory (committed state only). */
export class Dataset implements EpochState {
  readonly docsName: string;
  readonly replicasName: string;
  epoch: string;
  head: number;
  horizon: number;
  /**
   * The head when the current epoch began (0 for a new dataset; the restored head after a
   * restore was detected); null when unknown (a dataset rotated by an older server).
   */
  epochStart: number | null;
  /** The key of checkpoint proofs (random, stored with the dataset, so a backup holds it too). */
  readonly secret: Buffer;
  readonly index = new ChangeIndex<DocRow>();
  /** Per collection: the highest version of a row held for it, and how many rows it has. */
  readonly collections = new CollectionHeads();
  readonly lastSeq = new Map<string, number>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly waiters = new Set<() => void>();

  constructor(readonly name: string, meta: { epoch: string; head: number; horizon: number; epochStart?: number | null; secret: string }) {
    const names = datasetCollections(name);
    this.docsName = names.docs;
    this.replicasName = names.replicas;
    this.epoch = meta.epoch;
    this.head = meta.head;
    this.horizon = meta.horizon;
    this.epochStart = meta.epochStart ?? null;
    this.secret = Buffer.from(meta.secret, 'hex');
  }

  /** Runs `task` after every task queued before it (the dataset's single writer). */
  serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves on the next commit to this dataset, after `ms`, or when `signal` aborts. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiters.delete(finish);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, ms));
      this.waiters.add(finish);
      signal?.addEventListener('abort', finish);
      if (signal?.aborted) finish();
    });
  }

  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  get waiting(): number {
    return this.waiters.size;
  }
}

/**
 * The collections of one dataset with their heads, kept up to date with the change index (so
 * listing them costs O(collections), never a scan of the documents). A collection is listed while
 * the server holds any row of it, tombstones included; `head` is the highest version of a change
 * to it (it never goes down while the server runs; after a restart it is recomputed from the
 * rows, which only differs once tombstones were purged).
 */
export class CollectionHeads {
  private readonly map = new Map<string, { head: number; rows: number }>();

  /** A row stored for `coll` at version `v`; `added` when it is a new row (not an update). */
  stored(coll: string, v: number, added: boolean): void {
    const e = this.map.get(coll);
    if (!e) this.map.set(coll, { head: v, rows: added ? 1 : 0 });
    else {
      if (v > e.head) e.head = v;
      if (added) e.rows++;
    }
  }

  /** A row of `coll` was removed (tombstone purge). */
  removed(coll: string): void {
    const e = this.map.get(coll);
    if (!e) return;
    e.rows--;
    if (e.rows <= 0) this.map.delete(coll);
  }

  /** Every collection with rows, by name. */
  list(): { name: string; head: number }[] {
    return [...this.map.entries()]
      .filter(([, e]) => e.rows > 0)
      .map(([name, e]) => ({ name, head: e.head }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

export class EmbeddedStore implements SyncStorage<Dataset> {
  private readonly datasets = new Map<string, Dataset>();
  private readonly creating = new Map<string, Promise<Dataset>>();
  /** replicaId → keyHash (committed, or reserved by a push being committed). */
  private readonly bindings = new Map<string, string>();
  /** The server's HLC: conflict records and clamped stamps. Continues after the highest stored stamp. */
  clock: HybridLogicalClock;
  private closed = false;
  /** Set when the engine reported a storage failure: every write will fail until a restart. */
  failed: WiseJSONError | null = null;

  private constructor(private readonly db: WiseJSON, private readonly opts: StoreOptions) {
    this.clock = new HybridLogicalClock(SERVER_ORIGIN, { now: opts.now });
  }

  static async open(dataDir: string, opts: StoreOptions): Promise<EmbeddedStore> {
    const db = new WiseJSON(path.join(dataDir, 'db'), { ttlCleanupIntervalMs: 0, followIntervalMs: 5000 });
    await db.init();
    const store = new EmbeddedStore(db, opts);
    try {
      await store.load();
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private async rows<T>(name: string, names: Set<string>): Promise<T[]> {
    if (!names.has(name)) return [];
    return (await (await this.db.collection(name)).find({})) as unknown as T[];
  }

  private async load(): Promise<void> {
    const names = new Set(await this.db.getCollectionNames());
    for (const b of await this.rows<{ _id: string; keyHash: string }>(BINDINGS, names)) this.bindings.set(b._id, b.keyHash);
    let highest: string | null = null;
    const withoutSecret: { name: string; secret: string }[] = [];
    for (const m of await this.rows<DatasetMetaRow>(DATASETS, names)) {
      let secret = m.secret;
      if (secret === undefined) {
        secret = newSecret();
        withoutSecret.push({ name: m._id, secret });
      }
      const ds = new Dataset(m._id, { ...m, secret });
      const docs = await this.rows<DocRow>(ds.docsName, names);
      for (const r of docs) if (highest === null || r.hlc > highest) highest = r.hlc;
      ds.index.load(docs.map((r) => ({ key: r._id, v: r.v, row: r })));
      for (const e of ds.index.values()) ds.collections.stored(e.row.coll, e.v, true);
      for (const r of await this.rows<ReplicaRow>(ds.replicasName, names)) ds.lastSeq.set(r._id, r.lastSeq);
      // The head is written in the same transaction as the rows; this only guards old data.
      if (ds.index.lastV > ds.head) ds.head = ds.index.lastV;
      this.datasets.set(ds.name, ds);
    }
    if (withoutSecret.length > 0) {
      // Data of an older server: give its datasets their proof keys, durably, before any proof.
      const t = this.db.beginTransaction();
      for (const { name, secret } of withoutSecret) await t.collection(DATASETS).update(name, { secret });
      await this.commit(t);
    }
    // Never issue a stamp below one already stored (stamps accepted within maxClockDriftMs may
    // be ahead of this machine's clock after a restart).
    if (highest !== null) this.clock = new HybridLogicalClock(SERVER_ORIGIN, { now: this.opts.now, last: highest });
  }

  get datasetNames(): string[] {
    return [...this.datasets.keys()].sort();
  }

  async existing(name: string): Promise<Dataset | undefined> {
    return this.datasets.get(name);
  }

  waitForChange(ds: Dataset, ms: number, signal?: AbortSignal): Promise<void> {
    return ds.waitForChange(ms, signal);
  }

  async collections(ds: Dataset): Promise<DatasetCollections> {
    return { epoch: ds.epoch, head: ds.head, collections: ds.collections.list() };
  }

  async dataset(name: string): Promise<Dataset> {
    const ds = this.datasets.get(name);
    if (ds) return ds;
    let p = this.creating.get(name);
    if (!p) {
      p = this.create(name).finally(() => this.creating.delete(name));
      this.creating.set(name, p);
    }
    return p;
  }

  private async create(name: string): Promise<Dataset> {
    this.assertWritable();
    const meta = { epoch: newEpoch(), head: 0, horizon: 0, epochStart: 0, secret: newSecret() };
    const t = this.db.beginTransaction();
    await t.collection(DATASETS).insert({ _id: name, ...meta });
    await this.commit(t);
    const ds = new Dataset(name, meta);
    this.datasets.set(name, ds);
    return ds;
  }

  private assertWritable(): void {
    if (this.closed) throw new SyncServerError(503, 'unavailable', 'The server is shutting down.', { headers: { 'Retry-After': '5' } });
    if (this.failed) throw new SyncServerError(503, 'unavailable', 'The storage failed; the server needs a restart.', { headers: { 'Retry-After': '30' } });
  }

  private async commit(t: ReturnType<WiseJSON['beginTransaction']>): Promise<unknown[]> {
    try {
      return await t.commit();
    } catch (err) {
      if (err instanceof WiseJSONError && err.code === 'STORAGE') this.failed = err;
      throw err;
    }
  }

  bindingOf(replicaId: string): string | undefined {
    return this.bindings.get(replicaId);
  }

  // ---------------------------------------------------------------------------------------
  // Push

  push(ds: Dataset, req: PushRequest, keyHash: string): Promise<PushResponse> {
    return ds.serialize(() => this.pushNow(ds, req, keyHash));
  }

  private async pushNow(ds: Dataset, req: PushRequest, keyHash: string): Promise<PushResponse> {
    this.assertWritable();
    const bound = this.bindings.get(req.replicaId);
    if (bound !== undefined && bound !== keyHash) throw replicaNotOwned();
    const rotateAt = pushCheckpointCheck(ds, req);
    if (rotateAt !== null) {
      await this.rotateNow(ds, rotateAt);
      throw restoredAtPush(ds);
    }
    const now = this.opts.now();
    const merged = mergePush(req, { stored: ds.lastSeq.get(req.replicaId) ?? 0, head: ds.head, horizon: ds.horizon }, (key) => ds.index.get(key)?.row, this.clock, this.opts.limits, now, this.opts.now);
    const { running, head } = merged;
    if (running === merged.stored) return merged.response(ds.epoch); // only duplicates (or no ops): nothing to write

    // One transaction: rows, conflict records, lastSeq, binding, head.
    const t = this.db.beginTransaction();
    const docs = t.collection(ds.docsName);
    const written: { row: DocRow; step: number }[] = [];
    let step = 0;
    for (const [key, row] of merged.rows) {
      const existed = ds.index.get(key) !== undefined;
      if (existed) {
        // An update merges fields: `sole` is given even when cleared (undefined removes it).
        const { _id: _ignored, ...patch } = row;
        await docs.update(key, { ...patch, sole: row.sole } as unknown as Record<string, unknown>);
      } else {
        await docs.insert(row as unknown as Record<string, unknown>);
      }
      written.push({ row, step: step++ });
    }
    for (const row of merged.conflicts) {
      await docs.insert(row as unknown as Record<string, unknown>);
      written.push({ row, step: step++ });
    }
    const replicas = t.collection(ds.replicasName);
    if (ds.lastSeq.has(req.replicaId)) await replicas.update(req.replicaId, { lastSeq: running, lastSeenAt: now });
    else await replicas.insert({ _id: req.replicaId, lastSeq: running, lastSeenAt: now });
    step++;
    let reserved = false;
    if (bound === undefined) {
      // Reserve at once: a concurrent push of the same replica to another dataset sees it.
      const again = this.bindings.get(req.replicaId);
      if (again !== undefined && again !== keyHash) throw replicaNotOwned();
      if (again === undefined) {
        this.bindings.set(req.replicaId, keyHash);
        reserved = true;
        await t.collection(BINDINGS).insert({ _id: req.replicaId, keyHash, boundAt: now });
        step++;
      }
    }
    await t.collection(DATASETS).update(ds.name, { head });
    let committed: unknown[];
    try {
      committed = await this.commit(t);
    } catch (err) {
      if (reserved) this.bindings.delete(req.replicaId);
      throw err;
    }
    // Committed and durable: publish to readers, in version order.
    const stored2 = written
      .map(({ row, step: s }) => ((committed[s] as DocRow | null) ?? row))
      .sort((a, b) => a.v - b.v);
    for (const row of stored2) {
      const added = ds.index.get(row._id) === undefined;
      ds.index.set(row._id, row.v, row);
      ds.collections.stored(row.coll, row.v, added);
    }
    ds.head = head;
    ds.lastSeq.set(req.replicaId, running);
    ds.notify();
    return merged.response(ds.epoch);
  }

  // ---------------------------------------------------------------------------------------
  // Pull

  /**
   * One page of changes after `q.since`, or null when it would be empty and the caller may
   * long-poll. Throws 409 (`epoch_mismatch`) for a cursor of another epoch, 410
   * (`checkpoint_expired`) for one older than the purge horizon.
   */
  async changesPage(ds: Dataset, q: ChangesQuery, allowEmpty: boolean): Promise<ChangesPage | null> {
    const rotateAt = pullCheckpointCheck(ds, q);
    if (rotateAt !== null) {
      await this.rotateEpoch(ds, rotateAt);
      throw restoredAtPull(ds);
    }
    const from = q.since ? q.since.v : 0;
    const limits = this.opts.limits;
    const limit = Math.min(q.limit ?? limits.maxPullLimit, limits.maxPullLimit);
    const maxBytes = Math.min(q.maxBytes ?? limits.maxPullBytes, limits.maxPullBytes);
    const colls = q.colls ? new Set(q.colls) : null;
    const scanBudget = colls ? Math.max(10_000, limit * 10) : Infinity;
    const parts: string[] = [];
    let bytes = 0;
    let lastV = from;
    let scanned = 0;
    let hasMore = false;
    for (const e of ds.index.after(from)) {
      const row = e.row;
      if (colls && !colls.has(row.coll) && row.coll !== CONFLICTS_COLLECTION) {
        if (++scanned > scanBudget) {
          hasMore = true;
          break;
        }
        lastV = e.v;
        continue;
      }
      if (parts.length >= limit) {
        hasMore = true;
        break;
      }
      const text = JSON.stringify(toChange(row, q.replica));
      const size = Buffer.byteLength(text, 'utf8') + 1;
      if (parts.length > 0 && bytes + size > maxBytes) {
        hasMore = true;
        break;
      }
      parts.push(text);
      bytes += size;
      lastV = e.v;
    }
    if (parts.length === 0 && !hasMore && !allowEmpty) return null;
    const body = changesPageBody(ds, this.opts.now(), parts, hasMore ? lastV : Math.max(ds.head, from), hasMore);
    return { body, changes: parts.length, hasMore };
  }

  /** A new epoch, from the dataset's writer (a pull). */
  private rotateEpoch(ds: Dataset, seen: number): Promise<void> {
    return ds.serialize(() => this.rotateNow(ds, seen));
  }

  /**
   * Starts a new epoch beginning at the current head, unless `seen` is no longer ahead of it (a
   * concurrent request rotated first, or pushes moved the head). Caller runs in the dataset's
   * writer (never `serialize` from inside it: that would wait for itself).
   */
  private async rotateNow(ds: Dataset, seen: number): Promise<void> {
    if (seen <= ds.head) return;
    this.assertWritable();
    const epoch = newEpoch();
    const t = this.db.beginTransaction();
    await t.collection(DATASETS).update(ds.name, { epoch, epochStart: ds.head });
    await this.commit(t);
    ds.epoch = epoch;
    ds.epochStart = ds.head;
    ds.notify();
  }

  // ---------------------------------------------------------------------------------------
  // Tombstone purge

  /**
   * Removes tombstones deleted more than the retention ago, in every dataset, raising each
   * dataset's horizon to the highest purged version. Returns how many were purged.
   */
  async purge(): Promise<number> {
    let total = 0;
    for (const ds of [...this.datasets.values()]) total += await ds.serialize(() => this.purgeNow(ds));
    return total;
  }

  private async purgeNow(ds: Dataset): Promise<number> {
    if (this.closed || this.failed) return 0;
    const cutoff = this.opts.now() - this.opts.limits.tombstoneRetentionDays * 86_400_000;
    const due: DocRow[] = [];
    for (const e of ds.index.values()) if (e.row.del && e.row.delAt !== null && e.row.delAt <= cutoff) due.push(e.row);
    if (due.length === 0) return 0;
    due.sort((a, b) => a.v - b.v);
    const CHUNK = 5000;
    for (let i = 0; i < due.length; i += CHUNK) {
      const chunk = due.slice(i, i + CHUNK);
      const horizon = Math.max(ds.horizon, chunk[chunk.length - 1].v);
      const t = this.db.beginTransaction();
      const docs = t.collection(ds.docsName);
      for (const r of chunk) await docs.remove(r._id);
      await t.collection(DATASETS).update(ds.name, { horizon });
      await this.commit(t);
      for (const r of chunk) {
        if (ds.index.get(r._id) === undefined) continue;
        ds.index.delete(r._id);
        ds.collections.removed(r.coll);
      }
      ds.horizon = horizon;
    }
    return due.length;
  }

  // ---------------------------------------------------------------------------------------

  /** Wakes every long-poll (shutdown). */
  async health(): Promise<void> {
    if (this.failed) throw new SyncServerError(503, 'unavailable', 'The storage failed; the server needs a restart.');
  }

  wakeAll(): void {
    for (const ds of this.datasets.values()) ds.notify();
  }

  /** Waits for queued writes, then closes the engine (final checkpoint). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeAll();
    for (const ds of this.datasets.values()) await ds.serialize(async () => undefined);
    await this.db.close();
  }
}
