/**
 * The server's storage: datasets kept in the project's own engine (one database in
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
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as path from 'node:path';
import { WiseJSON, WiseJSONError } from '../engine';
import { clampHlc, HybridLogicalClock } from '../sync/hlc';
import {
  Change, ChangesQuery, CONFLICTS_COLLECTION, formatCheckpoint, Limits, OpResult, parseCheckpoint, PushRequest, PushResponse,
} from '../sync/protocol';
import { ChangeIndex } from './change-index';
import { SyncServerError } from './errors';
import { DocRow, mergeOp, MergeContext, rowKey, SERVER_ORIGIN } from './merge';

const DATASETS = 'sync.datasets';
const BINDINGS = 'sync.replicas';

interface DatasetMetaRow {
  _id: string;
  epoch: string;
  head: number;
  horizon: number;
  /** The head when the epoch began (absent in rows of older servers). */
  epochStart?: number;
  /** The key of the dataset's checkpoint proofs (absent in rows of older servers: added on load). */
  secret?: string;
}

interface ReplicaRow {
  _id: string;
  lastSeq: number;
  lastSeenAt: number;
}

/** The state of one dataset held in memory (committed state only). */
export class Dataset {
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
    const h = createHash('sha256').update(name).digest('hex').slice(0, 24);
    this.docsName = `ds.${h}.docs`;
    this.replicasName = `ds.${h}.replicas`;
    this.epoch = meta.epoch;
    this.head = meta.head;
    this.horizon = meta.horizon;
    this.epochStart = meta.epochStart ?? null;
    this.secret = Buffer.from(meta.secret, 'hex');
  }

  /**
   * The proof that this server issued `checkpoint` (an HMAC under the dataset's secret). A client
   * cannot make one up, so a checkpoint ahead of the head that carries a valid proof is evidence
   * of a restore from an older copy, not of a client's claim.
   */
  proofOf(checkpoint: string): string {
    return createHmac('sha256', this.secret).update(this.name).update('\n').update(checkpoint).digest('base64url').slice(0, 32);
  }

  /** Whether `proof` is this server's proof of `checkpoint`. */
  issued(checkpoint: string, proof: string | undefined): boolean {
    if (proof === undefined) return false;
    const want = Buffer.from(this.proofOf(checkpoint));
    const got = Buffer.from(proof);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** Extra members of a 409 problem: the current epoch, and where it began when known. */
  epochExtra(): Record<string, unknown> {
    return this.epochStart === null ? { epoch: this.epoch } : { epoch: this.epoch, epochStart: this.epochStart };
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

export interface StoreOptions {
  limits: Limits;
  now: () => number;
}

export interface ChangesPage {
  /** The serialized response body. */
  body: string;
  changes: number;
  hasMore: boolean;
}

export class SyncStore {
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

  static async open(dataDir: string, opts: StoreOptions): Promise<SyncStore> {
    const db = new WiseJSON(path.join(dataDir, 'db'), { ttlCleanupIntervalMs: 0, followIntervalMs: 5000 });
    await db.init();
    const store = new SyncStore(db, opts);
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

  /** The dataset if it exists (never creates it). */
  existing(name: string): Dataset | undefined {
    return this.datasets.get(name);
  }

  /** The dataset, created (durably, with a new random epoch) on first use. */
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
    if (bound !== undefined && bound !== keyHash) {
      throw new SyncServerError(403, 'replica_not_owned', 'This replicaId was first pushed with another API key; a replica can only push with that key.');
    }
    if (req.checkpointEpoch !== null && req.checkpointEpoch !== ds.epoch) {
      throw new SyncServerError(409, 'epoch_mismatch', 'The dataset was reset or restored since the client\'s checkpoint: reconcile (pull from since=0) before pushing again.', { extra: ds.epochExtra() });
    }
    const cp = req.checkpoint ? parseCheckpoint(req.checkpoint) : null;
    if (cp && cp.epoch === ds.epoch && cp.v > ds.head) {
      // The client has pulled versions this server does not have. With this server's proof that
      // it issued that checkpoint, its data was restored from an older copy (which keeps its
      // epoch): same rule as a pull with that checkpoint, a new epoch (once: every later
      // checkpoint of the old epoch is simply of another epoch), then 409. Without a valid proof
      // it is only the client's claim: 400 invalid_checkpoint, nothing changes here.
      if (ds.issued(req.checkpoint!, req.checkpointProof)) {
        await this.rotateNow(ds, cp.v);
        throw new SyncServerError(409, 'epoch_mismatch', 'The client\'s checkpoint is ahead of the server (its data was restored from a backup): a new epoch was started; reconcile from since=0 before pushing again.', { extra: ds.epochExtra() });
      }
      throw aheadUnproven(ds);
    }
    const now = this.opts.now();
    const stored = ds.lastSeq.get(req.replicaId) ?? 0;
    let running = stored;
    let head = ds.head;
    const results: OpResult[] = [];
    const warnings = new Set<string>();
    const pending = new Map<string, DocRow>();
    const conflicts: DocRow[] = [];
    const ctx: MergeContext = {
      replicaId: req.replicaId, now, horizon: ds.horizon, maxDocBytes: this.opts.limits.maxDocBytes,
      nextV: () => ++head, serverHlc: () => this.clock.tick(),
    };
    for (const op of req.ops) {
      if (op.seq <= stored) {
        results.push({ seq: op.seq, status: 'duplicate' });
        continue;
      }
      if (op.seq > running + 1) warnings.add('seq_gap');
      running = op.seq;
      const { hlc, clamped } = clampHlc(op.hlc, this.clock, now, this.opts.limits.maxClockDriftMs);
      const key = rowKey(op.coll, op.id);
      const cur = pending.get(key) ?? ds.index.get(key)?.row;
      const out = mergeOp(cur, op, hlc, ctx, clamped ? ['clock_skew'] : []);
      if (out.row) pending.set(key, out.row);
      if (out.conflict) conflicts.push(out.conflict);
      results.push(out.result);
    }
    const response = (): PushResponse => {
      const r: PushResponse = { epoch: ds.epoch, serverTime: this.opts.now(), ackSeq: Math.max(stored, running), results };
      if (warnings.size > 0) r.warnings = [...warnings];
      return r;
    };
    if (running === stored) return response(); // only duplicates (or no ops): nothing to write

    // One transaction: rows, conflict records, lastSeq, binding, head.
    const t = this.db.beginTransaction();
    const docs = t.collection(ds.docsName);
    const written: { row: DocRow; step: number }[] = [];
    let step = 0;
    for (const [key, row] of pending) {
      const existed = ds.index.get(key) !== undefined;
      if (existed) {
        const { _id: _ignored, ...patch } = row;
        await docs.update(key, patch as unknown as Record<string, unknown>);
      } else {
        await docs.insert(row as unknown as Record<string, unknown>);
      }
      written.push({ row, step: step++ });
    }
    for (const row of conflicts) {
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
      if (again !== undefined && again !== keyHash) {
        throw new SyncServerError(403, 'replica_not_owned', 'This replicaId was first pushed with another API key; a replica can only push with that key.');
      }
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
    return response();
  }

  // ---------------------------------------------------------------------------------------
  // Pull

  /**
   * One page of changes after `q.since`, or null when it would be empty and the caller may
   * long-poll. Throws 409 (`epoch_mismatch`) for a cursor of another epoch, 410
   * (`checkpoint_expired`) for one older than the purge horizon.
   */
  async changesPage(ds: Dataset, q: ChangesQuery, allowEmpty: boolean): Promise<ChangesPage | null> {
    const since = q.since;
    if (since && since.epoch !== ds.epoch) {
      throw new SyncServerError(409, 'epoch_mismatch', 'The checkpoint belongs to another epoch of this dataset (it was reset or restored): reconcile from since=0.', { extra: ds.epochExtra() });
    }
    if (since && since.v > ds.head) {
      // The client has seen versions this server does not have. When this server issued that
      // checkpoint (its proof says so), the data was restored from an older backup: start a new
      // epoch so that every client reconciles (and re-uploads). A checkpoint without a valid
      // proof is only a claim: 400 invalid_checkpoint, nothing changes.
      if (!ds.issued(formatCheckpoint(since.epoch, since.v), q.proof)) throw aheadUnproven(ds);
      await this.rotateEpoch(ds, since.v);
      throw new SyncServerError(409, 'epoch_mismatch', 'The checkpoint is ahead of the server (its data was restored from a backup): a new epoch was started; reconcile from since=0.', { extra: ds.epochExtra() });
    }
    const from = since ? since.v : 0;
    if (since && from < ds.horizon) {
      throw new SyncServerError(410, 'checkpoint_expired', `The checkpoint (version ${from}) is older than the purge horizon (${ds.horizon}): deletions since then are gone; reconcile from since=0.`, { extra: { epoch: ds.epoch, horizon: ds.horizon } });
    }
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
      const text = JSON.stringify(toChange(row));
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
    const cpV = hasMore ? lastV : Math.max(ds.head, from);
    const checkpoint = formatCheckpoint(ds.epoch, cpV);
    const body =
      `{"epoch":${JSON.stringify(ds.epoch)},"serverTime":${this.opts.now()},"head":${ds.head},"horizon":${ds.horizon},` +
      `"changes":[${parts.join(',')}],"checkpoint":${JSON.stringify(checkpoint)},"hasMore":${hasMore}` +
      `${ds.epochStart === null ? '' : `,"epochStart":${ds.epochStart}`},"checkpointProof":${JSON.stringify(ds.proofOf(checkpoint))}}`;
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

function newSecret(): string {
  return randomBytes(32).toString('hex');
}

/**
 * A checkpoint ahead of the head that this server cannot confirm it issued (no proof, or a proof
 * that is not this dataset's): only a restore proven by the server's own proof may start a new
 * epoch, so nobody can make every client of a dataset re-sync at will.
 */
function aheadUnproven(ds: Dataset): SyncServerError {
  return new SyncServerError(400, 'invalid_checkpoint', 'The checkpoint is ahead of the server and carries no valid proof that this server issued it (a made-up checkpoint, or one from a client of an older version or of a server restored from a copy older than its proof key): nothing was changed. Pull again from since=0.', { extra: ds.epochExtra() });
}

function newEpoch(): string {
  return 'e_' + randomBytes(8).toString('hex');
}

export function toChange(row: DocRow): Change {
  const c: Change = row.del
    ? { v: row.v, coll: row.coll, id: row.id, deleted: true, hlc: row.hlc, origin: row.origin, originSeq: row.oseq }
    : { v: row.v, coll: row.coll, id: row.id, doc: row.body ?? { _id: row.id }, hlc: row.hlc, origin: row.origin, originSeq: row.oseq };
  return c;
}
