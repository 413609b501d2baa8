import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Collection } from './collection';
import { DatabaseClosedError, ReadOnlyError, StorageError, SyncConfigError, UpgradeNeededError, WiseJSONError } from './errors';
import { ResolvedOptions, resolveOptions, validateCollectionName, WiseJSONOptions } from './options';
import { listCheckpoints, readCheckpoint, writeCheckpoint, CheckpointCollection } from './storage/checkpoint';
import { isNotFound } from './storage/fsutil';
import { WriteLock } from './storage/lock';
import { encodeRecord, LogRecord } from './storage/records';
import { listSegments, WriteAheadLog } from './storage/wal';
import { CollectionState } from './state/collection-state';
import { deletedKey, PulledChange, rebase, SyncState, versionOf } from './state/sync-state';
import { ChangeEvent, DatabaseState } from './state/database-state';
import { deepFreeze, Doc, isExpired, serialize, toJsonDocument } from './document';
import { WriteContext } from './state/write-context';
import { Transaction } from './transaction';
import { DatabaseMeta, writeNewMeta } from './storage/meta';
import { needsUpgrade, upgradeWisejson6, UpgradeReport } from './upgrade/wisejson6-upgrade';
import { findWisejson6Collections } from './upgrade/wisejson6-reader';
import type { EnableSyncOptions, SyncManager, SyncStatus } from '../sync/sync-manager';

/** Keep the write lock this long after the last commit, in case another follows. */
const LEASE_IDLE_MS = 3;
/** Hand the lock over after holding it this long without a pause, if another process waits. */
const LEASE_MAX_MS = 100;
/** After handing over, wait this long before taking it again. */
const LEASE_YIELD_MS = 15;

/** close() writes a checkpoint when the log since the last one has this many records… */
const CLOSE_CHECKPOINT_RECORDS = 1000;
/** …or this many bytes. */
const CLOSE_CHECKPOINT_BYTES = 4 * 1024 * 1024;

interface PendingWrite {
  build: (ctx: WriteContext) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Snapshot {
  lsn: number;
  collections: CheckpointCollection[];
  /** The sync bookkeeping (outbox, cursors), copied at the snapshot's LSN. */
  sync: unknown;
}

export type { DatabaseMeta } from './storage/meta';

/**
 * A WiseJSON database: a folder holding one write-ahead log and its checkpoints.
 *
 * ```js
 * const db = new WiseJSON('./my-db');
 * await db.init();
 * const users = await db.collection('users');
 * await users.insert({ name: 'Ada' });
 * ```
 *
 * Every write resolves only once it is on disk (fsynced); concurrent writes share one fsync.
 * Several processes may open the same folder: they take turns writing under a file lock and
 * each applies the others' writes within `followIntervalMs`.
 */
export class WiseJSON extends EventEmitter {
  readonly dbPath: string;
  readonly options: ResolvedOptions;
  meta: DatabaseMeta | null = null;
  /**
   * Set when this open upgraded a WiseJSON 6 folder (also reported by the `upgraded` event):
   * what was carried over, what was not, and where the old files are.
   */
  upgradeReport: UpgradeReport | null = null;

  private state = new DatabaseState();
  private readonly handles = new Map<string, Collection>();
  private wal!: WriteAheadLog;
  private lock!: WriteLock;
  /** Read only: the last read failed part-way, so the next follow reloads everything. */
  private readOnlyReload = false;
  private initPromise: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  private queue: PendingWrite[] = [];
  private committing: Promise<void> | null = null;
  private walBusy = false;
  private checkpointWanted: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private checkpointRunning: Promise<void> | null = null;
  private failure: WiseJSONError | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** Server time minus local time, as the sync client last estimated it (for HLC stamps). */
  clockOffsetMs = 0;
  private leaseHeld = false;
  private leaseSince = 0;
  private leaseYieldUntil = 0;
  private leaseTimer: NodeJS.Timeout | null = null;
  private lastCommitAt = 0;

  constructor(dbPath: string, options?: WiseJSONOptions) {
    super();
    if (typeof dbPath !== 'string' || dbPath.length === 0) {
      throw new WiseJSONError('INVALID_OPTION', 'new WiseJSON(dbPath): dbPath must be the path of the database folder, e.g. "./my-db".');
    }
    this.dbPath = path.resolve(dbPath);
    this.options = resolveOptions(options);
  }

  /** Opens (creating if needed) the database folder and loads it. Safe to call more than once. */
  init(): Promise<void> {
    if (!this.initPromise) this.initPromise = this.open();
    return this.initPromise;
  }

  private get walDir(): string {
    return path.join(this.dbPath, 'wal');
  }

  private get checkpointDir(): string {
    return path.join(this.dbPath, 'checkpoints');
  }

  /** The log object (read only when the database is: then a damaged log is never moved aside). */
  private newLog(): WriteAheadLog {
    const o = this.options;
    return new WriteAheadLog(this.walDir, o.walSegmentBytes, o.readOnly ? 'throw' : o.recoverCorruptLog, o.readOnly);
  }

  /** `readOnly`: loads an existing database and follows other processes' writes; writes nothing. */
  private async openReadOnly(): Promise<void> {
    this.lock = new WriteLock(this.dbPath, this.options.lockStaleMs); // never taken
    this.wal = this.newLog();
    const meta = await this.readMeta();
    if (!meta) {
      if (await needsUpgrade(this.dbPath)) throw new UpgradeNeededError(this.dbPath);
      throw new StorageError(`${this.dbPath} is not a WiseJSON database (it has no meta.json), and a read-only open creates nothing. Open it without { readOnly: true } to create it.`);
    }
    this.meta = meta;
    await this.loadFromDisk();
    const follow = setInterval(() => void this.follow(), this.options.followIntervalMs);
    follow.unref();
    this.timers.push(follow);
    this.emit('initialized');
  }

  private async open(): Promise<void> {
    if (this.options.readOnly) return this.openReadOnly();
    await fs.promises.mkdir(this.dbPath, { recursive: true });
    this.lock = new WriteLock(this.dbPath, this.options.lockStaleMs);
    this.wal = this.newLog();
    await this.lock.acquire();
    try {
      // Under the lock: a second process opening an old folder waits here, then finds it upgraded.
      const upgrade = (replaceEmpty: boolean): Promise<UpgradeReport | null> =>
        upgradeWisejson6(this.dbPath, {
          recover: this.options.recoverCorruptLog === 'truncate',
          idGenerator: this.options.idGenerator,
          assertLockHeld: () => this.lock.assertHeld(),
          replaceEmpty,
        });
      this.upgradeReport = await upgrade(false);
      await fs.promises.mkdir(this.walDir, { recursive: true });
      await fs.promises.mkdir(this.checkpointDir, { recursive: true });
      this.meta = await this.loadOrCreateMeta();
      await this.loadFromDisk();
      if (!this.upgradeReport && this.holdsNothing() && (await findWisejson6Collections(this.dbPath)).length > 0) {
        // An earlier version opened the WiseJSON 6 folder without upgrading it and wrote an empty
        // database of ours beside the old data: that empty database gives way to the upgrade.
        this.upgradeReport = await upgrade(true);
        this.meta = await this.loadOrCreateMeta();
        await this.loadFromDisk();
      }
      await this.removeStaleTempFiles();
    } finally {
      await this.lock.releaseLock();
    }
    const follow = setInterval(() => void this.follow(), this.options.followIntervalMs);
    follow.unref();
    this.timers.push(follow);
    if (this.options.ttlCleanupIntervalMs > 0) {
      const ttl = setInterval(() => void this.expireAll().catch(() => undefined), this.options.ttlCleanupIntervalMs);
      ttl.unref();
      this.timers.push(ttl);
    }
    if (this.options.checkpointIntervalMs > 0) {
      const cp = setInterval(() => {
        if (this.wal.recordsSinceCheckpoint > 0) void this.flushToDisk().catch(() => undefined);
      }, this.options.checkpointIntervalMs);
      cp.unref();
      this.timers.push(cp);
    }
    if (this.upgradeReport) this.emit('upgraded', this.upgradeReport);
    this.emit('initialized');
  }

  /** No document in any collection and nothing waiting to sync. */
  private holdsNothing(): boolean {
    if (this.state.sync.outbox.length > 0 || this.state.sync.collections.size > 0) return false;
    for (const c of this.state.collections.values()) if (c.size > 0) return false;
    return true;
  }

  /** meta.json, or null when there is none (a new database). */
  private async readMeta(): Promise<DatabaseMeta | null> {
    const file = path.join(this.dbPath, 'meta.json');
    try {
      return JSON.parse(await fs.promises.readFile(file, 'utf8')) as DatabaseMeta;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw new StorageError(`Cannot read ${file}: ${(err as Error).message}. Restore it from a backup, or delete it to give this database a new replica id.`, err);
    }
  }

  private async loadOrCreateMeta(): Promise<DatabaseMeta> {
    const existing = await this.readMeta();
    if (existing) return existing;
    return writeNewMeta(this.dbPath);
  }

  /**
   * Newest complete checkpoint + every log record after it. Caller holds the lock. Returns what
   * changed compared with the state held before (for a reload while open).
   */
  private async loadFromDisk(): Promise<ChangeEvent[]> {
    const state = new DatabaseState();
    let lsn = 0;
    for (const { file } of await listCheckpoints(this.checkpointDir)) {
      try {
        let targets: CollectionState[] = [];
        let ttl: Set<string>[] = [];
        const cp = await readCheckpoint(
          file,
          (header, text) => {
            targets = header.collections.map((c) => {
              const cs = new CollectionState(c.name);
              cs.setBase(text);
              state.collections.set(c.name, cs);
              for (const def of c.indexes) cs.declareIndex(def);
              return cs;
            });
            ttl = header.collections.map((c) => new Set(c.ttl));
          },
          (ci, id, offset) => targets[ci].putBase(id, offset, ttl[ci].size > 0 && ttl[ci].has(id)),
        );
        state.sync = SyncState.fromJSON(cp.extra.sync as Parameters<typeof SyncState.fromJSON>[0]);
        lsn = cp.lsn;
        break;
      } catch (err) {
        // An incomplete or damaged checkpoint is skipped; an older one plus the log may still
        // cover everything (segments are kept back to the oldest kept checkpoint).
        this.emit('warning', err);
        state.collections.clear();
      }
    }
    await this.wal.close();
    this.wal = this.newLog();
    await this.wal.recover(lsn, (rec) => state.applyRecord(rec, null));
    const previous = this.state;
    this.state = state;
    return this.meta && previous.collections.size > 0 ? diffStates(previous, state) : [];
  }

  private async removeStaleTempFiles(): Promise<void> {
    const cutoff = Date.now() - 60_000;
    for (const dir of [this.checkpointDir, this.dbPath]) {
      for (const name of await fs.promises.readdir(dir)) {
        if (!name.endsWith('.tmp')) continue;
        const file = path.join(dir, name);
        try {
          if ((await fs.promises.stat(file)).mtimeMs < cutoff) await fs.promises.rm(file, { force: true });
        } catch {
          // another process removed it first
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Collections

  /** The collection named `name`, created if it does not exist. */
  async collection(name: string): Promise<Collection> {
    validateCollectionName(name);
    await this.init();
    this.assertOpen();
    let handle = this.handles.get(name);
    if (!handle) {
      handle = new Collection(this, name);
      this.handles.set(name, handle);
    }
    if (!this.state.collections.has(name)) {
      await this.write((ctx) => ctx.collection(name));
    }
    if (this.syncAll && name !== '_conflicts' && !this._syncManagerOf(name)) handle.enableSync(this.syncAll);
    return handle;
  }

  /** Same as {@link collection}. */
  getCollection(name: string): Promise<Collection> {
    return this.collection(name);
  }

  /** Names of the collections that exist (created by this or another process). */
  async getCollectionNames(): Promise<string[]> {
    await this.init();
    return [...this.state.collections.keys()].sort();
  }

  /** Deletes a collection with all its documents and indexes. Resolves true if it existed. */
  async dropCollection(name: string): Promise<boolean> {
    validateCollectionName(name);
    await this.init();
    return this.write((ctx) => ctx.dropCollection(name)) as Promise<boolean>;
  }

  /** A transaction over any collections of this database: one log record, all or nothing. */
  beginTransaction(): Transaction {
    this.assertOpen();
    return new Transaction(this);
  }

  // ---------------------------------------------------------------------------------------
  // The write pipeline (group commit)

  /** @internal The in-memory state, for Collection reads. */
  get _state(): DatabaseState {
    return this.state;
  }

  /**
   * @internal Runs `build` as one atomic, durable commit. `build` runs under the database's
   * write lock, after catching up with other processes, so it reads the latest state; what it
   * changes becomes one log record. Resolves with its result once that record is fsynced.
   */
  write<T>(build: (ctx: WriteContext) => T): Promise<T> {
    if (this.closed || this.closing) return Promise.reject(new DatabaseClosedError(`Database ${this.dbPath}`));
    if (this.options.readOnly) return Promise.reject(new ReadOnlyError(this.dbPath));
    // connect() returns the database before init (WiseJSON's lazy init): the first write opens it.
    if (!this.meta) return this.init().then(() => this.write(build));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ build, resolve: resolve as (v: unknown) => void, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (!this.committing) this.committing = this.commitLoop();
  }

  private async commitLoop(): Promise<void> {
    try {
      let lastBatch = 0;
      while (this.queue.length > 0 || this.checkpointWanted.length > 0) {
        // Under concurrency, let every writer whose previous write just resolved queue its next
        // one (a turn of the event loop) so they share the next fsync instead of the one after.
        if (lastBatch > 1 || this.walBusy) await new Promise((r) => setImmediate(r));
        while (this.walBusy) await new Promise((r) => setImmediate(r));
        this.walBusy = true;
        const batch = this.queue.splice(0, this.queue.length);
        lastBatch = batch.length;
        try {
          await this.commitBatch(batch);
        } finally {
          this.walBusy = false;
        }
      }
    } finally {
      this.committing = null;
    }
  }

  private async commitBatch(batch: PendingWrite[]): Promise<void> {
    const outboxBefore = this.state.sync.outbox.length;
    const wantCheckpoint = this.checkpointWanted.splice(0, this.checkpointWanted.length);
    let events: ChangeEvent[] = [];
    const done: { w: PendingWrite; ctx: WriteContext; result: unknown }[] = [];
    let snapshot: Snapshot | null = null;
    try {
      if (!this.leaseHeld) {
        await this.acquireLease();
        // Nobody else can append while we hold the lease, so catching up once is enough.
        events = await this.catchUpLocked();
      }
    } catch (err) {
      await this.releaseLease();
      for (const w of batch) w.reject(err);
      for (const c of wantCheckpoint) c.reject(err);
      return;
    }
    try {
      const now = Date.now();
      for (const w of batch) {
        const ctx = new WriteContext(this.state, now, this.meta?.replicaId ?? '', this.clockOffsetMs);
        try {
          const result = w.build(ctx);
          if (ctx.ops.length === 0) w.resolve(result);
          else done.push({ w, ctx, result });
        } catch (err) {
          ctx.rollback();
          w.reject(err);
        }
      }
      if (done.length > 0) {
        const first = this.wal.lastLsn + 1;
        const payloads = done.map(({ ctx }, i) => encodeRecord({ lsn: first + i, ops: ctx.ops }));
        this.lock.assertHeld();
        await this.wal.append(payloads);
        this.wal.lastLsn += done.length;
      }
      if (
        wantCheckpoint.length > 0 ||
        (!this.checkpointRunning &&
          (this.wal.recordsSinceCheckpoint >= this.options.maxWalEntriesBeforeCheckpoint ||
            this.wal.bytesSinceCheckpoint >= this.options.maxWalBytesBeforeCheckpoint))
      ) {
        snapshot = await this.snapshotAndRotate();
      } else if (this.wal.segmentFull) {
        await this.wal.rotate();
      }
    } catch (err) {
      for (let i = done.length - 1; i >= 0; i--) done[i].ctx.rollback();
      for (const d of done) d.w.reject(err);
      for (const c of wantCheckpoint) c.reject(err);
      done.length = 0;
      if (err instanceof StorageError) this.failure = err;
      await this.releaseLease();
    }
    if (this.leaseHeld) {
      if (Date.now() - this.leaseSince >= LEASE_MAX_MS) {
        if (await this.lock.othersWaiting()) {
          // Another process is waiting: hand the lock over and stay away for a moment.
          await this.releaseLease();
          this.leaseYieldUntil = Date.now() + LEASE_YIELD_MS;
        } else {
          this.leaseSince = Date.now();
          this.scheduleLeaseRelease();
        }
      } else {
        this.scheduleLeaseRelease();
      }
    }
    this.emitChanges(events);
    for (const d of done) {
      for (const fn of d.ctx.committed) fn();
      d.w.resolve(d.result);
      this.emitChanges(d.ctx.events);
    }
    if (this.state.sync.outbox.length > outboxBefore) this.outboxGrew();
    if (snapshot) {
      const running = this.writeSnapshot(snapshot);
      this.checkpointRunning = running;
      running.then(
        () => { for (const c of wantCheckpoint) c.resolve(); },
        (err) => { for (const c of wantCheckpoint) c.reject(err); this.emit('warning', err); },
      ).finally(() => { if (this.checkpointRunning === running) this.checkpointRunning = null; });
    }
  }

  /**
   * The write lock is held as a short lease: taken for a commit, kept while more commits follow
   * within LEASE_IDLE_MS (so a busy writer pays for no lock calls and no catch-up reads), and
   * handed over after LEASE_MAX_MS of continuous use so other processes get their turn.
   */
  private async acquireLease(): Promise<void> {
    const wait = this.leaseYieldUntil - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await this.lock.acquire();
    this.leaseHeld = true;
    this.leaseSince = Date.now();
  }

  private async releaseLease(): Promise<void> {
    if (this.leaseTimer) {
      clearTimeout(this.leaseTimer);
      this.leaseTimer = null;
    }
    if (!this.leaseHeld) return;
    this.leaseHeld = false;
    await this.lock.releaseLock();
  }

  /**
   * Releases the lease once no commit has happened for LEASE_IDLE_MS. One timer, re-armed from
   * the last commit's time, instead of a new timer per commit.
   */
  private scheduleLeaseRelease(): void {
    this.lastCommitAt = Date.now();
    if (this.leaseTimer) return;
    const arm = (delay: number): void => {
      this.leaseTimer = setTimeout(() => {
        this.leaseTimer = null;
        if (!this.leaseHeld) return;
        const idle = Date.now() - this.lastCommitAt;
        if (idle < LEASE_IDLE_MS || this.walBusy || this.queue.length > 0) {
          arm(Math.max(1, LEASE_IDLE_MS - idle));
          return;
        }
        this.walBusy = true;
        void this.releaseLease().finally(() => {
          this.walBusy = false;
          if (this.queue.length > 0 || this.checkpointWanted.length > 0) this.kick();
        });
      }, delay);
    };
    arm(LEASE_IDLE_MS);
  }

  /** Applies other processes' records. Caller holds the lock (and walBusy). */
  private async catchUpLocked(): Promise<ChangeEvent[]> {
    const events: ChangeEvent[] = [];
    const apply = (rec: LogRecord) => this.state.applyRecord(rec, events);
    if ((await this.wal.catchUp(apply, true)) === 'reload') {
      events.push(...(await this.loadFromDisk()));
      this.emit('reloaded');
    }
    return events;
  }

  /** Timer: picks up other processes' writes without taking the lock. */
  private async follow(): Promise<void> {
    if (this.walBusy || this.leaseHeld || this.closed || this.closing || !this.meta) return;
    this.walBusy = true;
    const events: ChangeEvent[] = [];
    const outboxBefore = this.state.sync.outbox.length;
    try {
      if (this.options.readOnly) {
        // No lock to take: a reload reads the newest checkpoint (written atomically) and the log.
        // A writer's checkpoint may remove segments while we read them: a reload that failed
        // (or any failed read) leaves the log position unrelated to the state, so the next tick
        // reloads again until one succeeds. A log with no segment yet is read once it has one.
        const r = this.readOnlyReload || !this.wal.isOpen ? 'reload' : await this.wal.catchUp((rec) => this.state.applyRecord(rec, events), false);
        if (r === 'reload' && (this.readOnlyReload || this.wal.isOpen || (await listSegments(this.walDir).catch(() => [])).length > 0)) {
          this.readOnlyReload = true;
          events.push(...(await this.loadFromDisk()));
          this.readOnlyReload = false;
          this.emit('reloaded');
        }
      } else if ((await this.wal.catchUp((rec) => this.state.applyRecord(rec, events), false)) === 'reload') {
        await this.lock.acquire();
        try {
          events.push(...(await this.loadFromDisk()));
        } finally {
          await this.lock.releaseLock();
        }
        this.emit('reloaded');
      }
    } catch (err) {
      if (this.options.readOnly) this.readOnlyReload = true;
      this.emit('warning', err);
    } finally {
      this.walBusy = false;
    }
    this.emitChanges(events);
    // Another process of this database wrote changes to sync; this one may run the sync loop.
    if (this.state.sync.outbox.length > outboxBefore) this.outboxGrew();
  }

  private emitChanges(events: ChangeEvent[]): void {
    for (const e of events) {
      const handle = this.handles.get(e.coll);
      if (handle) handle._emitChange(e);
      this.emit('change', e);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Sync support (used by src/sync/SyncManager)

  private readonly syncManagers = new Map<string, SyncManager>();

  /** New changes wait in the outbox: live sync managers push them at once. */
  private outboxGrew(): void {
    for (const m of this.syncManagers.values()) m.onOutboxGrew();
  }
  /** Set by db.enableSync: new collections sync too. */
  private syncAll: EnableSyncOptions | null = null;

  /** @internal The manager syncing `collection`, if any. */
  _syncManagerOf(collection: string): SyncManager | undefined {
    for (const m of this.syncManagers.values()) if (m.has(collection)) return m;
    return undefined;
  }

  /** @internal The manager for a server and dataset, created on first use. */
  _syncManager(options: EnableSyncOptions): SyncManager {
    if (this.options.readOnly) throw new ReadOnlyError(this.dbPath); // sync writes (outbox, cursors)
    if (!options || typeof options.url !== 'string' || typeof options.apiKey !== 'string') {
      throw new SyncConfigError('enableSync({ url, apiKey }) needs the server URL and an API key.');
    }
    try {
      new URL(options.url);
    } catch {
      throw new SyncConfigError(`enableSync: ${JSON.stringify(options.url)} is not a URL; use one like "http://127.0.0.1:3000".`);
    }
    const key = syncManagerKey(options);
    let m = this.syncManagers.get(key);
    if (m && !m.keyMatches(options.apiKey)) m.setApiKey(options.apiKey);
    if (!m) {
      // Loaded on first use: the sync layer (and its HTTP client) costs nothing until then.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { SyncManager: Manager } = require('../sync/sync-manager') as typeof import('../sync/sync-manager');
      m = new Manager(this, options.url, options);
      this.syncManagers.set(key, m);
    }
    return m;
  }

  /**
   * @internal Whether `m` syncs this database as a whole (db.enableSync): it then creates the
   * collections other replicas created (see SyncManager's collection discovery).
   */
  _syncsWholeDatabase(m: SyncManager): boolean {
    if (!this.syncAll || this.closed || this.closing) return false;
    return this.syncManagers.get(syncManagerKey(this.syncAll)) === m;
  }

  /** @internal */
  async _dropSyncManager(m: SyncManager): Promise<void> {
    if (m.size > 0) return;
    for (const [k, v] of this.syncManagers) if (v === m) this.syncManagers.delete(k);
    await m.stop();
  }

  /**
   * Enables sync for every collection of this database, including collections created later
   * (the seed's per-collection `collection.enableSync` works too).
   */
  async enableSync(options: EnableSyncOptions): Promise<void> {
    await this.init();
    this._syncManager(options); // validates the options before anything changes
    this.syncAll = options;
    for (const name of await this.getCollectionNames()) {
      if (name === '_conflicts') continue;
      const c = await this.collection(name);
      if (!this._syncManagerOf(name)) c.enableSync(options);
    }
  }

  /** Disables sync for every collection. Pending changes stay queued for a later enableSync. */
  async disableSync(): Promise<void> {
    this.syncAll = null;
    for (const h of this.handles.values()) await h.disableSync();
  }

  /**
   * Where sync stands for the whole database (every collection, every server): null when no
   * collection syncs. `pending` counts every change not yet acknowledged.
   */
  getSyncStatus(): SyncStatus | null {
    const [first, ...rest] = this.syncManagers.values();
    if (!first) return null;
    const status = first.status();
    const rank = ['idle', 'standby', 'syncing', 'paused', 'offline', 'error'];
    for (const m of rest) {
      const s = m.status();
      if (rank.indexOf(s.state) > rank.indexOf(status.state)) Object.assign(status, { state: s.state, lastError: s.lastError, url: s.url, dataset: s.dataset });
    }
    status.pending = this._sync.outbox.length;
    return status;
  }

  /** Runs a sync cycle of every enabled server; resolves when they finished (never rejects). */
  async triggerSync(): Promise<void> {
    await Promise.all([...this.syncManagers.values()].map((m) => m.triggerSync()));
  }

  /** @internal The sync bookkeeping: outbox, cursors, clock. */
  get _sync(): SyncState {
    return this.state.sync;
  }

  /** @internal Turns sync on (dataset) or off (null) for a collection, durably. */
  _configureSync(coll: string, dataset: string | null): Promise<void> {
    // Queued at once (no await first), so writes made right after enableSync() are captured.
    return this.write((ctx) => {
      if (dataset !== null) ctx.collection(coll);
      ctx.configureSync(coll, dataset);
    });
  }

  /**
   * @internal Drops outbox ops the server acknowledged; in the same commit, remembers the server
   * version of each acknowledged delete (as a pulled tombstone would), unless the document is
   * live here again or a newer delete version is already known.
   */
  async _acknowledge(upTo: number, colls: string[], deletes: { coll: string; id: string; v: number }[] = [], own: { coll: string; id: string; v: number }[] = []): Promise<void> {
    await this.write((ctx) => {
      ctx.ack(upTo, colls);
      for (const d of deletes) {
        if (this.state.collections.get(d.coll)?.has(d.id)) continue;
        if ((this.state.sync.deleted.get(deletedKey(d.coll, d.id)) ?? 0) >= d.v) continue;
        ctx.tombstone(d.coll, d.id, d.v);
      }
      // The server's state at `v` is exactly what we wrote (its result said own): our document
      // (with any change made since) is based on `v`. Not a local change: nothing to push.
      ctx.remote = true;
      for (const o of own) {
        const c = this.state.collections.get(o.coll);
        const doc = c?.get(o.id);
        // (`!==`, not `<`: after a restore the new epoch's versions restart below the old ones.)
        if (!c || !doc || versionOf(doc) === o.v) continue;
        ctx.put(c, deepFreeze({ ...doc, _v: o.v }));
      }
    });
  }

  /**
   * @internal Whether this database holds each of these own changes (pulled without body): its
   * document is there, based on exactly that version. Not so when the push's acknowledgement was
   * lost (a crash between the server's answer and our commit of it), when the document was
   * deleted here since, or when its version is of an epoch before a restore.
   */
  _holdsOwn(own: { coll: string; id: string; v: number }[]): boolean {
    return own.every((o) => versionOf(this.state.collections.get(o.coll)?.get(o.id)) === o.v);
  }

  /**
   * @internal Applies one pulled page and the cursor it reached, as one commit: every change
   * rebased under the pending local ops of its document, then the cursor of each collection.
   * Returns the documents that changed locally.
   */
  async _applyPulled(changes: PulledChange[], cursors: Map<string, { cursor: string | null; proof?: string }>, hlc: string): Promise<number> {
    return this.write((ctx) => {
      ctx.remote = true;
      let n = 0;
      for (const change of changes) {
        const c = ctx.collection(change.coll);
        const pending = this.state.sync.outbox.filter((o) => o.coll === change.coll && o.id === change.id);
        const next = rebase(change, pending);
        ctx.tombstone(change.coll, change.id, change.deleted ? change.v : 0);
        if (next) {
          // Pulled documents come from JSON.parse (already plain JSON): no deep copy needed
          // unless local ops were re-applied on top.
          const doc = (pending.length > 0 ? toJsonDocument(next, change.coll) : next) as Doc;
          const text = serialize(doc);
          ctx.putPulled(c, deepFreeze(doc), text);
          n++;
        } else if (c.has(change.id)) {
          ctx.remove(c, change.id);
          n++;
        }
      }
      for (const [coll, { cursor, proof }] of cursors) ctx.setCursor(coll, cursor, hlc, proof);
      return n;
    });
  }

  /**
   * @internal After the server lost history (410, new epoch): pull again from the start; local
   * documents that were synced before (`_v` > 0), have no pending change and did not come back
   * were deleted on the server meanwhile. Documents never synced, or with pending changes, stay.
   */
  async _forgetUnconfirmed(coll: string, confirmed: Set<string>): Promise<number> {
    return this.write((ctx) => {
      ctx.remote = true;
      const c = this.state.collections.get(coll);
      if (!c) return 0;
      const pending = new Set(this.state.sync.outbox.filter((o) => o.coll === coll).map((o) => o.id));
      let n = 0;
      for (const doc of [...c.values()]) {
        if (versionOf(doc) > 0 && !pending.has(doc._id) && !confirmed.has(doc._id)) {
          ctx.remove(c, doc._id);
          n++;
        }
      }
      return n;
    });
  }

  /** @internal Resets the pull cursor of collections (a reconcile after 410 or an epoch change). */
  async _resetCursor(colls: string[]): Promise<void> {
    await this.write((ctx) => {
      for (const coll of colls) ctx.setCursor(coll, null, this.state.sync.hlc);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Checkpoints

  /** Writes a checkpoint now (all data so far in one file) and trims the log. */
  flushToDisk(): Promise<void> {
    if (this.closed) return Promise.reject(new DatabaseClosedError(`Database ${this.dbPath}`));
    if (this.options.readOnly) return Promise.reject(new ReadOnlyError(this.dbPath));
    if (!this.meta) return this.init().then(() => this.flushToDisk());
    return new Promise<void>((resolve, reject) => {
      this.checkpointWanted.push({ resolve, reject });
      this.kick();
    }).then(() => this.checkpointRunning ?? undefined);
  }

  /** Caller holds the lock and is caught up. */
  private async snapshotAndRotate(): Promise<Snapshot> {
    const collections: CheckpointCollection[] = [];
    for (const c of this.state.collections.values()) {
      collections.push({ name: c.name, indexes: c.indexDefinitions(), docs: c.snapshot(), count: c.docs.size, ttl: [...c.ttlIds] });
    }
    const snapshot = { lsn: this.wal.lastLsn, collections, sync: JSON.parse(JSON.stringify(this.state.sync)) as unknown };
    await this.wal.rotate();
    this.wal.recordsSinceCheckpoint = 0;
    this.wal.bytesSinceCheckpoint = 0;
    return snapshot;
  }

  private async writeSnapshot(s: Snapshot): Promise<void> {
    if (this.checkpointRunning) await this.checkpointRunning.catch(() => undefined);
    await writeCheckpoint(this.checkpointDir, s.lsn, s.collections, { sync: s.sync });
    // Keep `checkpointsToKeep` checkpoints and the log back to the oldest of them.
    const all = await listCheckpoints(this.checkpointDir);
    const kept = all.slice(0, this.options.checkpointsToKeep);
    const oldestKept = kept[kept.length - 1].lsn;
    for (const old of all.slice(this.options.checkpointsToKeep)) await fs.promises.rm(old.file, { force: true });
    const segments = await listSegments(this.walDir);
    for (let i = 0; i + 1 < segments.length; i++) {
      if (segments[i + 1].startLsn <= oldestKept + 1) await fs.promises.rm(segments[i].file, { force: true });
    }
    this.emit('checkpoint', { lsn: s.lsn });
  }

  // ---------------------------------------------------------------------------------------
  // TTL

  /** @internal Removes expired documents of one collection (or all) as logged removes. */
  async expire(name?: string): Promise<number> {
    const now = Date.now();
    const due = (): boolean => {
      for (const c of this.state.collections.values()) {
        if (name !== undefined && c.name !== name) continue;
        for (const id of c.ttlIds) {
          const d = c.get(id);
          if (d && isDue(d, now)) return true;
        }
      }
      return false;
    };
    if (!due()) return 0;
    return this.write((ctx) => {
      let n = 0;
      const t = Date.now();
      for (const c of this.state.collections.values()) {
        if (name !== undefined && c.name !== name) continue;
        for (const id of [...c.ttlIds]) {
          const d = c.get(id);
          if (d && isDue(d, t)) {
            ctx.remove(c, id, true);
            n++;
          }
        }
      }
      return n;
    });
  }

  private expireAll(): Promise<number> {
    if (this.closed || this.closing) return Promise.resolve(0);
    return this.expire();
  }

  // ---------------------------------------------------------------------------------------
  // Lifecycle

  /** @internal */
  assertOpen(): void {
    if (this.closed || this.closing) throw new DatabaseClosedError(`Database ${this.dbPath}`);
  }

  /** Finishes pending writes, writes a checkpoint if the log has grown much, and releases the folder. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const m of this.syncManagers.values()) await m.stop();
    this.syncManagers.clear();
    this.timers = [];
    if (!this.initPromise) {
      this.closed = true;
      return;
    }
    try {
      await this.initPromise;
    } catch {
      this.closed = true;
      return;
    }
    while (this.committing) await this.committing;
    if (this.checkpointRunning) await this.checkpointRunning.catch(() => undefined);
    // A short log tail replays in milliseconds at the next open; rewriting every document for it
    // would not pay. Larger tails are folded into a checkpoint so the next open is fast.
    if (!this.failure && !this.options.readOnly && (this.wal.recordsSinceCheckpoint >= CLOSE_CHECKPOINT_RECORDS || this.wal.bytesSinceCheckpoint >= CLOSE_CHECKPOINT_BYTES)) {
      await new Promise<void>((resolve, reject) => {
        this.checkpointWanted.push({ resolve, reject });
        this.kick();
      }).catch((err) => this.emit('warning', err));
      while (this.committing) await this.committing;
      if (this.checkpointRunning) await this.checkpointRunning.catch(() => undefined);
    }
    while (this.walBusy) await new Promise((r) => setImmediate(r));
    await this.releaseLease();
    await this.wal.close();
    this.closed = true;
    for (const h of this.handles.values()) h._emitClosed();
    this.emit('closed');
  }
}

/**
 * The changes between two states, as events: used when a process fell so far behind another's
 * writes that it reloaded from a checkpoint instead of reading the log.
 */
function diffStates(before: DatabaseState, after: DatabaseState): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  for (const [name, b] of before.collections) {
    const a = after.collections.get(name);
    if (!a) {
      events.push({ coll: name, kind: 'collection-dropped' });
      continue;
    }
    for (const id of b.docs.keys()) {
      if (!a.docs.has(id)) events.push({ coll: name, kind: 'remove', old: b.get(id)! });
    }
  }
  for (const [name, a] of after.collections) {
    const b = before.collections.get(name);
    if (!b) events.push({ coll: name, kind: 'collection-created' });
    for (const id of a.docs.keys()) {
      if (!b?.has(id)) {
        events.push({ coll: name, kind: 'insert', doc: a.get(id)! });
        continue;
      }
      const before = b.stored(id)!;
      const after = a.stored(id)!;
      const oldText = typeof before === 'string' ? before : JSON.stringify(before);
      const newText = typeof after === 'string' ? after : JSON.stringify(after);
      if (oldText !== newText) events.push({ coll: name, kind: 'update', doc: a.get(id)!, old: b.get(id)! });
    }
  }
  return events;
}

function isDue(doc: Doc, now: number): boolean {
  return isExpired(doc, now);
}

/** One sync manager per server URL and dataset. */
function syncManagerKey(options: EnableSyncOptions): string {
  return `${options.url}|${options.dataset ?? 'default'}`;
}
