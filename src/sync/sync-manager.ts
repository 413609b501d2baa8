import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Collection } from '../engine/collection';
import type { WiseJSON } from '../engine/database';
import { WriteLock } from '../engine/storage/lock';
import { CollectionNameError, SyncConfigError } from '../engine/errors';
import { deletedKey, OutboxOp, PulledChange, versionOf } from '../engine/state/sync-state';
import { deepFreeze, Doc, toJsonDocument } from '../engine/document';
import { HttpSyncApiClient, isLoopbackHost, isRetryableStatus, SyncApiClient, SyncHttpError } from './api-client';
import {
  ChangesResponse, CollectionsResponse, CONFLICTS_COLLECTION, DEFAULT_LIMITS, formatCheckpoint, isValidName, Op, parseChangesResponse, parseCheckpoint,
  parseCollectionsResponse, parsePushResponse, ProtocolError,
} from './protocol';

/** `collection.enableSync(options)` / `db.enableSync(options)`. */
export interface EnableSyncOptions {
  /** The sync server, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Sent as `Authorization: Bearer`; kept in memory only, never written or logged. */
  apiKey: string;
  /** The server-side dataset; a collection syncs as the collection of the same name in it. */
  dataset?: string;
  /** Sync in the background this often (ms); 0 or absent = only on `triggerSync()`. */
  syncIntervalMs?: number;
  /** Replaces the HTTP client: `{ get(path), post(path, body) }` resolving parsed JSON. */
  apiClient?: SyncApiClient;
  /** Changes per pull page (the server caps it). Default 500: smaller pages leave less garbage to collect while a first sync keeps every document. */
  pullLimit?: number;
  /**
   * Push on write: a local write (or another process's write to this database) starts a sync
   * cycle at once; writes made while one runs go in the next (batching without a timer).
   * With the default HTTP client (no proxy), one long-poll also stays open for the server's
   * changes, which are applied as they arrive. Default true; `false` syncs only on the interval
   * and on `triggerSync()`.
   */
  live?: boolean;
}

export type SyncStateName = 'idle' | 'syncing' | 'offline' | 'error' | 'paused' | 'standby';

/** `collection.getSyncStatus()`. */
export interface SyncStatus {
  enabled: boolean;
  state: SyncStateName;
  url: string | null;
  dataset: string | null;
  /** Local changes not yet acknowledged by the server. */
  pending: number;
  lastSyncAt: string | null;
  lastError: { code: string; message: string } | null;
  nextRetryAt: string | null;
  cursor: string | null;
  /**
   * How changes move: `live` (push on write, one long-poll open), `push` (push on write, pull on
   * the interval: a proxy or a custom apiClient), `interval`, or `manual` (triggerSync only).
   */
  mode: 'live' | 'push' | 'interval' | 'manual';
  /** A standing warning about this sync's set-up (the API key sent over plain http:// to another host), or null. */
  warning: { code: string; message: string } | null;
}

/** Payload of `sync:error`. */
export interface SyncErrorEvent {
  code: string;
  message: string;
  retryable: boolean;
  attempt: number;
  nextRetryAt: string | null;
  status?: number | null;
  /** The document a per-document error is about (a change too large to push). */
  coll?: string;
  id?: string;
}

/** How long one live request waits for a change (the server caps it at its --max-wait-sec). */
const LIVE_WAIT_SEC = 25;
/** How often a live manager in standby tries the sync lock (another window may have closed). */
const STANDBY_RETRY_MS = 400;

/** URLs already warned about (sync:warning insecure_transport): once per URL per process. */
const warnedUrls = new Set<string>();

/**
 * The warning for a key sent over plain http:// to a host that is not this machine (anyone on
 * the network path can read it), or null. Custom API clients carry their own transport.
 */
export function transportWarning(url: string, customClient: boolean): { code: string; message: string } | null {
  if (customClient) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' || isLoopbackHost(u.hostname)) return null;
  return {
    code: 'insecure_transport',
    message: `The sync server ${u.origin} is reached over plain http://, so the API key and the documents travel unencrypted to a host that is not this machine. Use an https:// URL (put the server behind a TLS proxy), or a loopback address.`,
  };
}

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 5 * 60_000;
/** A push body above this size broken off by a connection reset is taken for "too large" (see resetByLargeUpload). */
const LARGE_UPLOAD_BYTES = 256 * 1024;

/**
 * Two-way sync of a database's collections with a docsync/1 server. One manager per database
 * and server dataset. A cycle pushes every pending local change (in `seq` order, batches within
 * the server's limits, halving on 413), then — when the database syncs as a whole
 * (db.enableSync) — creates the collections the server lists that it lacks (`discover`), then
 * pulls pages until the server has no more, applying
 * each page together with its cursor in one local commit. Failures never reject and never
 * throw: they arrive as `sync:error` with a code, and retry with exponential backoff and full
 * jitter (Retry-After honoured); 401 pauses until the key changes. Across processes, only the
 * process holding the database's `sync.lock` runs cycles (the others stand by: the outbox and
 * cursors are shared through the log, so nothing is lost either way).
 */
export class SyncManager {
  private readonly collections = new Map<string, Collection>();
  private client: SyncApiClient;
  private apiKey: string;
  private readonly dataset: string;
  private readonly pullLimit: number;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private state: SyncStateName = 'idle';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private intervalTimer: NodeJS.Timeout | null = null;
  private nextRetryAt: number | null = null;
  private lastSyncAt: number | null = null;
  private lastError: { code: string; message: string } | null = null;
  private maxOpsPerPush = DEFAULT_LIMITS.maxOpsPerPush;
  private stopped = false;
  private readonly syncLock: WriteLock;
  private standbyReported = false;
  /** Writes that must be durable before a cycle starts (sync configuration). */
  private ready: Promise<unknown> = Promise.resolve();
  /** The server has no collections endpoint (an older server, or a custom apiClient without it). */
  private discoveryUnsupported = false;
  /** Listed collection names this database cannot use (warned about once). */
  private readonly unusableNames = new Set<string>();

  /** See {@link SyncStatus.warning}. */
  private readonly warning: { code: string; message: string } | null;
  /** See {@link EnableSyncOptions.live}. */
  private readonly live: boolean;
  /** When the live request last came back with an answer (null: none yet, or it failed since). */
  private liveAnsweredAt: number | null = null;
  /** The live pull's loop (see startLive), and how to wake it from a sleep. */
  private liveLoop: Promise<void> | null = null;
  private wakeLive: (() => void) | null = null;

  constructor(private readonly db: WiseJSON, readonly url: string, options: EnableSyncOptions) {
    this.apiKey = options.apiKey;
    this.dataset = options.dataset ?? 'default';
    this.pullLimit = options.pullLimit ?? 500;
    this.client = options.apiClient ?? new HttpSyncApiClient(url, options.apiKey);
    this.live = options.live !== false;
    this.warning = transportWarning(url, options.apiClient !== undefined);
    this.syncLock = new WriteLock(db.dbPath, 10_000, 'sync.lock');
    if (options.syncIntervalMs && options.syncIntervalMs > 0) {
      const every = options.syncIntervalMs;
      this.intervalTimer = setInterval(() => {
        // Background ticks honour the backoff and Retry-After (only triggerSync() bypasses them).
        if (this.running || (this.nextRetryAt !== null && Date.now() < this.nextRetryAt)) return;
        // Under a live request that answered within the interval, a tick would be an empty cycle.
        if (this.liveAnsweredAt !== null && Date.now() - this.liveAnsweredAt < every) return;
        void this.triggerSync();
      }, every);
      this.intervalTimer.unref();
    }
  }

  get datasetName(): string {
    return this.dataset;
  }

  /** Adds a collection; its writes from now on are captured (the setting is persisted). */
  add(collection: Collection): void {
    if (!isValidName(this.dataset)) {
      throw new SyncConfigError(`Dataset name ${JSON.stringify(this.dataset)} is not valid: use 1-128 letters, digits, "_", "-" or ".".`);
    }
    this.collections.set(collection.name, collection);
    this.startLive();
    if (this.warning && !warnedUrls.has(this.url)) {
      warnedUrls.add(this.url);
      this.emit('sync:warning', this.warning);
    }
    // Conflict records travel in their own system collection; pull them with the data.
    const names = [collection.name, CONFLICTS_COLLECTION];
    this.ready = Promise.all([this.ready, ...names.map((n) => this.db._configureSync(n, this.dataset))]).catch((err) => {
      this.emit('sync:error', this.errorEvent('config', (err as Error).message, false));
    });
  }

  /** Removes a collection (its pending changes stay in the outbox for a later enableSync). */
  async remove(name: string): Promise<void> {
    this.collections.delete(name);
    await this.db._configureSync(name, null);
  }

  get size(): number {
    return this.collections.size;
  }

  has(name: string): boolean {
    return this.collections.has(name);
  }

  /** Uses a new API key (a paused manager resumes). */
  setApiKey(key: string): void {
    this.apiKey = key;
    if (this.client instanceof HttpSyncApiClient) this.client.setApiKey(key);
    if (this.state === 'paused') {
      this.state = 'idle';
      this.emit('sync:resumed', { reason: 'api_key_changed' });
    }
  }

  keyMatches(key: string): boolean {
    return this.apiKey === key;
  }

  /**
   * Runs a sync cycle. Resolves once a cycle that started after this call has finished (a call
   * during a running cycle waits for the next one, which includes the newest writes). Never
   * rejects: failures are reported as `sync:error`.
   */
  triggerSync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.running) {
      this.running = this.cycle().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    if (!this.queued) {
      this.queued = this.running.then(() => {
        this.queued = null;
        return this.triggerSync();
      });
    }
    return this.queued;
  }

  /**
   * The live pull (with `live` and the default HTTP client without a proxy): one long-poll per
   * database for changes after our furthest cursor, on a socket that never keeps the process
   * alive. When it brings changes (or an error: the cycle sorts out restores, 401 and offline), a
   * sync cycle pulls them, so they are applied at once. Failures go through the usual backoff,
   * which the loop waits out; in standby (another process runs this database's sync loop) it
   * tries to take the sync lock every 0.4 s, so a closed window's sync is taken over within a second.
   */
  private startLive(): void {
    if (!this.live || this.liveLoop || !(this.client instanceof HttpSyncApiClient) || this.client.proxied) return;
    const client = this.client;
    this.liveLoop = (async () => {
      /** A version the request may start after: its change was the first after the lowest cursor, and already pulled. */
      let skipped: { epoch: string; v: number } | null = null;
      while (!this.stopped) {
        if (this.state === 'paused' || this.state === 'error') {
          // A 401 or a non-retryable error: nothing to poll for until a new key or a write.
          await this.sleepLive(1000);
          continue;
        }
        const retryIn = this.nextRetryAt === null ? 0 : this.nextRetryAt - Date.now();
        if (this.state === 'standby' || retryIn > 0) {
          await this.sleepLive(this.state === 'standby' ? STANDBY_RETRY_MS : retryIn);
          if (!this.stopped) await this.triggerSync();
          continue;
        }
        const names = this.names();
        const cursors = names.map((n) => this.db._sync.collections.get(n)?.cursor ?? null);
        if (names.length === 0 || cursors.includes(null)) {
          await this.triggerSync(); // a collection never pulled: a cycle first
          const now = this.state as SyncStateName; // changed by the cycle
          if (now !== 'idle' && now !== 'standby') await this.sleepLive(1000); // standby sleeps below
          continue;
        }
        // From the lowest cursor: a change after it, in any collection, wakes the request (from
        // the highest, a change that a collection pulled earlier in a cycle had not seen yet
        // could be passed over).
        const epoch = parseCheckpoint(cursors[0]!)?.epoch ?? null;
        const low = this.lowestCheckpoint(epoch);
        if (!low || epoch === null) {
          await this.triggerSync(); // cursors of different epochs: the cycle reconciles
          await this.sleepLive(1000);
          continue;
        }
        let since = low.checkpoint;
        let proofOf = low.checkpointProof;
        if (skipped && skipped.epoch === epoch && skipped.v > (parseCheckpoint(since)?.v ?? 0)) {
          since = formatCheckpoint(epoch, skipped.v); // at or below the head: needs no proof
          proofOf = undefined;
        }
        const proof = proofOf !== undefined ? `&proof=${encodeURIComponent(proofOf)}` : '';
        const q = `since=${encodeURIComponent(since)}${proof}&limit=1&wait=${LIVE_WAIT_SEC}&replica=${this.db.meta!.replicaId}&colls=${names.map(encodeURIComponent).join(',')}`;
        let changed = true;
        try {
          const r = await client.longPoll(`/v1/datasets/${encodeURIComponent(this.dataset)}/changes?${q}`, LIVE_WAIT_SEC);
          const page = r.body as { changes?: Array<{ v?: unknown; coll?: unknown }>; hasMore?: boolean } | null;
          this.liveAnsweredAt = r.status === 200 ? Date.now() : null;
          changed = r.status !== 200 || !page || (page.changes?.length ?? 0) > 0 || page.hasMore === true;
          const first = page?.changes?.[0];
          if (changed && r.status === 200 && page?.changes?.length === 1 && typeof first?.v === 'number' && typeof first.coll === 'string') {
            // Often a change a cycle of ours already pulled (our own push, seen by the request
            // open meanwhile): no cycle for it, so the timeline does not fill with empty ones.
            await this.running?.catch(() => undefined);
            const cursor = this.db._sync.collections.get(first.coll)?.cursor;
            const cp = cursor ? parseCheckpoint(cursor) : null;
            changed = !cp || cp.epoch !== epoch || cp.v < first.v;
            // Pulled already, and the first change after `since`: the next request starts after it.
            if (!changed) skipped = { epoch, v: first.v };
          }
          if (changed) skipped = null;
        } catch {
          this.liveAnsweredAt = null;
          if (this.stopped) return;
        }
        if (changed && !this.stopped) await this.triggerSync();
      }
    })();
  }

  /** Sleeps up to `ms` (unref'd); stop() wakes it. */
  private sleepLive(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      t.unref();
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wakeLive = done;
    });
  }

  /**
   * The database's outbox grew (a commit here, or another process's write read by this one).
   * With `live`, starts a cycle for our collections' changes at once; while one runs, the
   * coalescing of triggerSync puts every write that arrives meanwhile into the next one. A
   * backoff (offline, 503, Retry-After) or a 401 pause is honoured, as by the interval timer.
   */
  onOutboxGrew(): void {
    if (!this.live || this.stopped || this.state === 'paused') return;
    if (this.nextRetryAt !== null && Date.now() < this.nextRetryAt) return;
    const names = this.names();
    if (!this.db._sync.outbox.some((o) => names.includes(o.coll))) return;
    void this.triggerSync();
  }

  status(collection?: string): SyncStatus {
    const names = collection ? [collection] : [...this.collections.keys()];
    const sync = this.db._sync;
    return {
      enabled: !this.stopped,
      state: this.state,
      url: this.url,
      dataset: this.dataset,
      pending: sync.outbox.filter((o) => names.includes(o.coll)).length,
      lastSyncAt: this.lastSyncAt ? new Date(this.lastSyncAt).toISOString() : null,
      lastError: this.lastError,
      nextRetryAt: this.nextRetryAt ? new Date(this.nextRetryAt).toISOString() : null,
      cursor: collection ? sync.collections.get(collection)?.cursor ?? null : null,
      warning: this.warning,
      mode: this.liveLoop ? 'live' : this.live ? 'push' : this.intervalTimer ? 'interval' : 'manual',
    };
  }

  /** Stops background work; a running cycle finishes first. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.intervalTimer) clearInterval(this.intervalTimer);
    if (this.client instanceof HttpSyncApiClient) this.client.endLongPolls();
    this.wakeLive?.();
    await this.liveLoop?.catch(() => undefined);
    await this.running?.catch(() => undefined);
    await this.syncLock.releaseLock();
    if (this.client instanceof HttpSyncApiClient) await this.client.close();
  }

  // ------------------------------------------------------------------------------------------

  private emit(event: string, payload: unknown): void {
    for (const c of this.collections.values()) c._emit(event, payload);
    this.db.emit(event, payload);
  }

  private names(): string[] {
    return [...this.collections.keys(), CONFLICTS_COLLECTION];
  }

  private async cycle(): Promise<void> {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    await this.ready;
    if (this.state === 'paused') {
      this.emit('sync:error', this.errorEvent('unauthorized', 'Sync is paused: the server refused the API key. Set a new key to resume.', false));
      return;
    }
    let holder: boolean;
    try {
      holder = await this.syncLock.tryAcquire();
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!holder) {
      // Another process (another VS Code window) runs this database's sync loop.
      this.state = 'standby';
      if (!this.standbyReported) this.emit('sync:paused', { reason: 'another_process' });
      this.standbyReported = true;
      return;
    }
    if (this.standbyReported) {
      this.standbyReported = false;
      this.emit('sync:resumed', { reason: 'sync_lock_acquired' });
    }
    const started = Date.now();
    this.state = 'syncing';
    this.emit('sync:start', { dataset: this.dataset, collections: [...this.collections.keys()] });
    try {
      const pushed = await this.push();
      await this.discover();
      const pull = await this.pullAll();
      this.attempt = 0;
      this.nextRetryAt = null;
      this.lastError = null;
      this.lastSyncAt = Date.now();
      this.state = 'idle';
      this.emit('sync:success', { pushed, pulled: pull.pulled, conflicts: pull.conflicts, checkpoint: pull.checkpoint, durationMs: Date.now() - started });
    } catch (err) {
      this.fail(err);
    }
  }

  private async push(): Promise<number> {
    const names = this.names();
    let pushed = 0;
    const total = this.db._sync.outbox.filter((o) => names.includes(o.coll)).length;
    for (;;) {
      const pending = this.db._sync.outbox.filter((o) => names.includes(o.coll));
      if (pending.length === 0) return pushed;
      const batch = pending.slice(0, this.maxOpsPerPush);
      const cursor = this.db._sync.collections.get(batch[0].coll)?.cursor ?? null;
      const checkpointEpoch = cursor ? cursor.slice(0, cursor.lastIndexOf(':')) : null;
      const checkpoint = this.highestCheckpoint(checkpointEpoch);
      // `checkpoint` lets the server notice a restore from this push already (its head behind
      // what we pulled), before an offline batch moves its head past the other clients' cursors.
      const body = { replicaId: this.db.meta!.replicaId, checkpointEpoch, ...checkpoint, ops: batch.map(toWire) };
      let raw: unknown;
      try {
        raw = await this.client.post(`/v1/datasets/${encodeURIComponent(this.dataset)}/push`, body);
      } catch (err) {
        const status = statusOf(err);
        if ((status === 413 || this.resetByLargeUpload(err, batch.length, body)) && batch.length > 1) {
          this.maxOpsPerPush = Math.max(1, Math.floor(Math.min(this.maxOpsPerPush, batch.length) / 2));
          continue;
        }
        if (status === 413) {
          // One op alone is larger than the server takes: it can never be sent. Report it, drop
          // it from the outbox (as a server rejection would; the document stays as it is here)
          // and go on with the rest.
          await this.refuseTooLarge(batch[0], err, names);
          continue;
        }
        if (codeOf(err) === 'epoch_mismatch' || codeOf(err) === 'invalid_checkpoint') {
          await this.reconcileAll('epoch_mismatch');
          continue;
        }
        throw this.quarantineError(err);
      }
      const last = batch[batch.length - 1].seq;
      const res = this.validate(() => {
        const r = parsePushResponse(raw, body as never);
        // Acknowledging beyond what was sent would drop ops the server never saw.
        if (r.ackSeq > last) {
          throw new ProtocolError('bad_response', 'ackSeq', 'is beyond the last change sent: either the server is wrong, or this database was restored from a backup and reuses change numbers the server has already seen (then copy its documents into a fresh database folder and sync that)');
        }
        if (body.checkpointEpoch !== null && r.epoch !== body.checkpointEpoch) throw new ProtocolError('bad_response', 'epoch', 'differs from the checkpoint epoch the push was accepted for');
        return r;
      }, raw);
      this.db.clockOffsetMs = res.serverTime - Date.now();
      const deletes: { coll: string; id: string; v: number }[] = [];
      const own: { coll: string; id: string; v: number }[] = [];
      for (const r of res.results) {
        const op = batch.find((o) => o.seq === r.seq);
        if (op && r.own && r.v !== undefined) own.push({ coll: op.coll, id: op.id, v: r.v });
        if (r.status === 'rejected') this.emit('sync:rejected', { seq: r.seq, coll: op?.coll, id: op?.id, code: r.code, detail: r.detail });
        if (r.status === 'conflict') this.emit('sync:conflict', { seq: r.seq, coll: op?.coll, id: op?.id, conflictId: r.conflictId });
        if (op?.kind === 'del' && r.status === 'applied' && r.v !== undefined) deletes.push({ coll: op.coll, id: op.id, v: r.v });
      }
      // Acknowledged deletes are remembered with their version (as a pulled tombstone would be):
      // after a restore from an older copy, this is what lets us delete the document again.
      // Own results: the server's state at `v` is what we wrote, so our document is based on `v`
      // now, and the pull leaves its body out.
      await this.db._acknowledge(res.ackSeq, names, deletes, own);
      pushed += batch.filter((o) => o.seq <= res.ackSeq).length;
      this.emit('sync:push_success', { pushed: batch.length, ackSeq: res.ackSeq });
      this.emit('sync:progress', { phase: 'push', done: pushed, total });
      if (res.ackSeq < last) {
        throw new SyncHttpError('not_acknowledged', `The server acknowledged changes only up to ${res.ackSeq} of ${last}; the rest is retried.`, null, true);
      }
    }
  }

  /**
   * A single op the server refused as too large (413): a `sync:error` naming the document and
   * the limit, then the op is acknowledged locally so that the ops behind it are pushed. Only the
   * first pending op is ever sent alone, so acknowledging up to its seq drops exactly that op.
   */
  private async refuseTooLarge(op: OutboxOp, err: unknown, names: string[]): Promise<void> {
    const bytes = Buffer.byteLength(JSON.stringify(toWire(op)), 'utf8');
    // The server's 413 says which limit (e.g. "The request body exceeds 4194304 bytes (maxPushBytes)").
    const why = err instanceof Error ? ` (${err.message.replace(/^Sync server: /, '').replace(/\.$/, '')})` : '';
    const message =
      `The change to document ${JSON.stringify(op.id)} of "${op.coll}" is ${bytes} bytes, too large for the sync server to take in one push${why}. ` +
      'It is not synced; the document is kept here. Make it smaller, or raise the server\'s limit, and save it again.';
    this.emit('sync:error', { ...this.errorEvent('payload_too_large', message, false, 413), coll: op.coll, id: op.id });
    await this.db._acknowledge(op.seq, names);
  }

  /**
   * A connection broken while a large push was being sent is most likely a server (or a proxy in
   * front of it) refusing the body as too large and closing the connection before reading it:
   * treated like a 413, so the batch is halved and a big batch can never stall sync. Only for
   * bodies above {@link LARGE_UPLOAD_BYTES}: a real outage then shrinks the batch a few times at
   * most and goes on to the usual backoff.
   */
  private resetByLargeUpload(err: unknown, ops: number, body: unknown): boolean {
    if (ops <= 1 || statusOf(err) !== null || codeOf(err) !== 'network') return false;
    return Buffer.byteLength(JSON.stringify(body), 'utf8') > LARGE_UPLOAD_BYTES;
  }

  /**
   * Collection discovery, when this manager syncs the database as a whole (db.enableSync): asks
   * the server which collections the dataset has and creates the ones this database lacks, so
   * the pull that follows brings them from the beginning. Per-collection sync never discovers
   * (the user chose the collections). Discovery is best effort and never fails a cycle:
   *  - `404` other than `dataset_not_found` (an older server or a custom apiClient without the
   *    endpoint), or a malformed answer: unsupported, not asked again by this manager;
   *  - `dataset_not_found` (nothing pushed yet) or any other failure: skipped this cycle (the
   *    pull that follows reports a real problem);
   *  - a listed name this database cannot use: skipped, with a `warning` event (once per name).
   */
  private async discover(): Promise<void> {
    if (this.discoveryUnsupported || this.stopped || !this.db._syncsWholeDatabase(this)) return;
    let listed: CollectionsResponse;
    try {
      const raw = await this.client.get(`/v1/datasets/${encodeURIComponent(this.dataset)}/collections`);
      listed = parseCollectionsResponse(raw);
    } catch (err) {
      const status = statusOf(err);
      const code = codeOf(err);
      if (err instanceof ProtocolError || code === 'bad_response' || (status === 404 && code !== 'dataset_not_found') || status === 405 || status === 501) {
        this.discoveryUnsupported = true;
      }
      return;
    }
    const created: string[] = [];
    for (const { name } of listed.collections) {
      if (name === CONFLICTS_COLLECTION || name.startsWith('_')) continue; // system collections
      if (this.collections.has(name) || this.db._state.collections.has(name) || this.db._syncManagerOf(name)) continue;
      if (this.unusableNames.has(name)) continue;
      try {
        // With db.enableSync, a new collection syncs at once: it joins this manager.
        await this.db.collection(name);
      } catch (err) {
        if (!(err instanceof CollectionNameError)) break; // e.g. the database is closing
        this.unusableNames.add(name);
        const reason = err instanceof Error ? err.message : String(err);
        this.db.emit('warning', new Error(`Sync: dataset "${this.dataset}" on the server has a collection ${JSON.stringify(name.slice(0, 200))} that this database cannot create (${reason}); it is not synced here.`));
        continue;
      }
      if (this.collections.has(name)) created.push(name); // (unless sync was disabled meanwhile)
    }
    if (created.length === 0) return;
    await this.ready;
    // A collection dropped here keeps its sync cursor: pull a re-created one from the beginning.
    const stale = created.filter((n) => (this.db._sync.collections.get(n)?.cursor ?? null) !== null);
    if (stale.length > 0) await this.db._resetCursor(stale);
  }

  /** Our collections' cursors of `epoch` (with their proofs), and whether every collection has one. */
  private cursorsOf(epoch: string): { all: boolean; cursors: HeldCursor[] } {
    const cursors: HeldCursor[] = [];
    let all = true;
    for (const coll of this.names()) {
      const cfg = this.db._sync.collections.get(coll);
      const cp = cfg?.cursor ? parseCheckpoint(cfg.cursor) : null;
      if (!cfg?.cursor || !cp || cp.epoch !== epoch) {
        all = false;
        continue;
      }
      cursors.push(cfg.proof === undefined ? { checkpoint: cfg.cursor, v: cp.v } : { checkpoint: cfg.cursor, checkpointProof: cfg.proof, v: cp.v });
    }
    return { all, cursors };
  }

  /** The furthest cursor of `epoch` among our collections (null when none). */
  private highestCheckpoint(epoch: string | null): SentCursor | null {
    if (epoch === null) return null;
    return checkpointOnly(this.cursorsOf(epoch).cursors.reduce<HeldCursor | null>((b, c) => (!b || c.v > b.v ? c : b), null));
  }

  /** The lowest cursor among our collections, when every one is of `epoch`; else null. */
  private lowestCheckpoint(epoch: string | null): SentCursor | null {
    if (epoch === null) return null;
    const { all, cursors } = this.cursorsOf(epoch);
    if (!all) return null;
    return checkpointOnly(cursors.reduce<HeldCursor | null>((b, c) => (!b || c.v < b.v ? c : b), null));
  }


  private async pullAll(): Promise<{ pulled: number; conflicts: number; checkpoint: string | null }> {
    let pulled = 0;
    let conflicts = 0;
    let checkpoint: string | null = null;
    for (const coll of this.names()) {
      const r = await this.pull(coll, null);
      pulled += r.pulled;
      if (coll === CONFLICTS_COLLECTION) conflicts += r.pulled;
      checkpoint = r.checkpoint ?? checkpoint;
    }
    return { pulled, conflicts, checkpoint };
  }

  /** Pulls one collection until the server has no more. `seen` collects id → version (for a reconcile). */
  private async pull(coll: string, seen: Map<string, number> | null): Promise<{ pulled: number; checkpoint: string | null; epochStart?: number }> {
    let pulled = 0;
    let epochStart: number | undefined;
    /** A page request: `replica=` asks for our own changes without their bodies (see below). */
    const request = (cursor: string | null, proofValue: string | undefined): { cursor: string | null; path: string; raw: Promise<unknown> } => {
      // The proof goes back with the cursor (servers that do not know it ignore it).
      const proof = cursor && proofValue !== undefined ? `&proof=${encodeURIComponent(proofValue)}` : '';
      const q = `since=${encodeURIComponent(cursor ?? '0')}${proof}&limit=${this.pullLimit}&colls=${encodeURIComponent(coll)}`;
      const path = `/v1/datasets/${encodeURIComponent(this.dataset)}/changes?${q}`;
      return { cursor, path, raw: this.client.get(`${path}&replica=${this.db.meta!.replicaId}`) };
    };
    /** The next page, requested while this one is applied (pages stream in as they are applied). */
    let ahead: ReturnType<typeof request> | null = null;
    for (;;) {
      const cfg = this.db._sync.collections.get(coll);
      const cursor = cfg?.cursor ?? null;
      const req = ahead && ahead.cursor === cursor ? ahead : request(cursor, cfg?.proof);
      ahead = null;
      const path = req.path;
      let raw: unknown;
      try {
        raw = await req.raw;
      } catch (err) {
        const code = codeOf(err);
        if ((code === 'checkpoint_expired' || code === 'epoch_mismatch') && seen === null) {
          return this.reconcile(coll, code);
        }
        if (code === 'invalid_checkpoint' && seen === null) {
          // Our cursor is ahead of the server, which cannot confirm it issued it (restored from a
          // copy older than its proof key): pull again and make it hold what we had, as after a
          // restore, without making the other clients reconcile.
          return this.reconcile(coll, 'epoch_mismatch');
        }
        throw this.quarantineError(err);
      }
      const since = cursor ? parseCheckpoint(cursor) ?? null : null;
      const parse = (body: unknown): ChangesResponse => this.validate(() => {
        const p = parseChangesResponse(body, { since });
        if (since && p.epoch !== since.epoch) throw new ProtocolError('bad_response', 'epoch', 'is not the epoch of the requested checkpoint');
        return p;
      }, body);
      let page = parse(raw);
      if (page.own && !this.db._holdsOwn(page.own)) {
        // An own change we cannot confirm (our acknowledgement of that push was lost in a crash):
        // the same page again, with every body.
        page = parse(await this.client.get(path).catch((err: unknown) => { throw this.quarantineError(err); }));
      }
      if (page.hasMore) {
        // Ask for the next page now; it is used if this one is applied with its cursor (a failure
        // of it surfaces, as any request's, when it is awaited).
        ahead = request(page.checkpoint, page.checkpointProof);
        ahead.raw.catch(() => undefined);
      }
      for (const c of page.own ?? []) seen?.set(c.id, c.v);
      this.db.clockOffsetMs = page.serverTime - Date.now();
      if (page.epochStart !== undefined) epochStart = page.epochStart;
      const changes = page.changes.filter((c) => c.coll === coll) as PulledChange[];
      const hlc = changes.reduce((m, c) => (c.hlc > m ? c.hlc : m), this.db._sync.hlc);
      await this.db._applyPulled(changes, new Map([[coll, { cursor: page.checkpoint, proof: page.checkpointProof }]]), hlc);
      for (const c of changes) seen?.set(c.id, c.v);
      pulled += changes.length;
      if (coll === CONFLICTS_COLLECTION) for (const c of changes) if (!c.deleted) this.emit('sync:conflict', { conflictId: c.id, record: c.doc });
      this.emit('sync:progress', { phase: 'pull', collection: coll, done: pulled, head: page.head });
      this.emit('sync:pull_success', { collection: coll, pulled: changes.length, checkpoint: page.checkpoint });
      if (!page.hasMore) return { pulled, checkpoint: page.checkpoint, epochStart };
    }
  }

  /**
   * The server no longer has our history (410: tombstones purged past our cursor; 409: restored
   * from a backup, new epoch). Pull everything again; documents we had synced that did not come
   * back were deleted meanwhile. Pending local changes and never-synced documents stay.
   */
  private async reconcile(coll: string, reason: string): Promise<{ pulled: number; checkpoint: string | null }> {
    this.emit('sync:reset', { collection: coll, reason });
    // A new epoch means the server went back in time (restored from an older copy): what we had
    // synced, and what we know was deleted, may be newer than what it has now, so remember both
    // before pulling over them.
    const synced = reason === 'epoch_mismatch' ? this.syncedDocs(coll) : null;
    const deleted = reason === 'epoch_mismatch' ? this.deletedDocs(coll) : null;
    await this.db._resetCursor([coll]);
    const seen = new Map<string, number>();
    const r = await this.pull(coll, seen);
    if (synced && deleted) await this.uploadAgain(coll, synced, deleted, seen, r);
    else await this.db._forgetUnconfirmed(coll, new Set(seen.keys()));
    return r;
  }

  /** The local documents of `coll` that came from the server (`_v` > 0). */
  private syncedDocs(coll: string): Map<string, Doc> {
    const out = new Map<string, Doc>();
    for (const d of this.db._state.collections.get(coll)?.values() ?? []) if (versionOf(d) > 0) out.set(d._id, d);
    return out;
  }

  /** The documents of `coll` we know were deleted on the server: id → version of the delete. */
  private deletedDocs(coll: string): Map<string, number> {
    const out = new Map<string, number>();
    const prefix = deletedKey(coll, '');
    for (const [key, v] of this.db._sync.deleted) if (key.startsWith(prefix)) out.set(key.slice(prefix.length), v);
    return out;
  }

  /**
   * After an epoch change, makes the server hold again what we knew before it (as local
   * changes, pushed by the next push). With `epochStart` (the restored head), versions up to it
   * are the history both epochs share; later ones were written after the restore, by clients
   * that reconciled before us (the two epochs' version numbers overlap, so only epochStart
   * tells them apart). For each document:
   *  - we had it, the server does not: created again (base 0);
   *  - the server's copy is of the shared history and older than ours: ours is written back on
   *    top of it (based on its version: it wins);
   *  - the server's copy was written after the restore and ours holds changes from after the
   *    backup: ours is written back as a *concurrent* edit (based on epochStart), so the server
   *    merges field by field and keeps the losing values as conflict records;
   *  - we know it was deleted (our acknowledged delete, or a pulled tombstone) after the
   *    version the server has: deleted again (a delete concurrent with a later edit still wins).
   * Then the cursor goes back to epochStart, so the next pull brings the server's verdict on
   * every document written since the restore, ours included.
   */
  private async uploadAgain(
    coll: string, synced: Map<string, Doc>, deleted: Map<string, number>, seen: Map<string, number>,
    pulled: { checkpoint: string | null; epochStart?: number },
  ): Promise<void> {
    const start = pulled.epochStart;
    const cp = pulled.checkpoint ? parseCheckpoint(pulled.checkpoint) : null;
    const restored = (v: number): boolean => start !== undefined && v > start;
    /** The version a change of ours is based on, given the server's version v of the document. */
    const baseFor = (v: number): number => (restored(v) ? start! : v);
    const pending = new Set(this.db._sync.outbox.filter((o) => o.coll === coll).map((o) => o.id));
    const write: { doc: Doc; v: number | undefined }[] = [];
    for (const d of synced.values()) {
      const v = seen.get(d._id);
      const mine = versionOf(d);
      if (v === undefined) write.push({ doc: d, v });
      else if (start === undefined ? mine > v : restored(v) ? mine > start : mine > v) write.push({ doc: d, v });
    }
    const remove: { id: string; v: number }[] = [];
    for (const [id, at] of deleted) {
      const v = seen.get(id);
      const cur = this.db._state.collections.get(coll)?.get(id);
      if (v === undefined || !cur || pending.has(id) || synced.has(id)) continue;
      if (at > v && (!restored(v) || at > start!)) remove.push({ id, v });
    }
    if (write.length === 0 && remove.length === 0) return;
    await this.db.write((ctx) => {
      const c = ctx.collection(coll);
      for (const { doc: d, v } of write) {
        const cur = c.get(d._id);
        if (v !== undefined && cur) {
          // The server's state was pulled over ours: write ours back on top of it. (Setting
          // `_v` alone is no change to push; it only sets the base of the write that follows.)
          const base = baseFor(v);
          if (versionOf(cur) !== base) ctx.put(c, deepFreeze(toJsonDocument({ ...cur, _v: base }, coll)));
          ctx.put(c, deepFreeze(toJsonDocument({ ...d, _v: base }, coll)));
        } else {
          // Not live on the server: a new document again, based on the tombstone if there is one.
          if (cur) ctx.remove(c, d._id);
          if (v !== undefined) ctx.tombstone(coll, d._id, baseFor(v));
          const { _v, ...rest } = d;
          ctx.put(c, deepFreeze(toJsonDocument(rest, coll)));
        }
      }
      for (const { id, v } of remove) {
        const cur = c.get(id);
        if (!cur) continue;
        const base = baseFor(v);
        if (versionOf(cur) !== base) ctx.put(c, deepFreeze(toJsonDocument({ ...cur, _v: base }, coll)));
        ctx.remove(c, id);
      }
      if (start !== undefined && cp) ctx.setCursor(coll, formatCheckpoint(cp.epoch, Math.min(start, cp.v)), this.db._sync.hlc);
    });
  }

  private async reconcileAll(reason: string): Promise<void> {
    for (const coll of this.names()) await this.reconcile(coll, reason);
  }

  /** Validates a response; a malformed one is kept in a diagnostics file and changes nothing. */
  private validate<T>(parse: () => T, raw: unknown): T {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      const file = this.quarantine(raw);
      this.emit('sync:quarantine', { reason: err.message, file });
      throw new SyncHttpError('bad_response', `The sync server sent a malformed response (${err.message}); nothing was applied.${file ? ` The response is saved in ${file}.` : ''}`, null, true);
    }
  }

  /** A body the HTTP client found malformed (HTML, not JSON): kept in a diagnostics file too. */
  private quarantineError(err: unknown): unknown {
    if (!(err instanceof SyncHttpError) || err.code !== 'bad_response' || err.body === null) return err;
    const file = this.quarantine(err.body);
    this.emit('sync:quarantine', { reason: err.message, file });
    return new SyncHttpError(err.code, `${err.message}${file ? ` The response is saved in ${file}.` : ''}`, err.status, err.retryable);
  }

  private quarantine(raw: unknown): string | null {
    try {
      const dir = path.join(this.db.dbPath, 'diagnostics');
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `sync-response-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.json`);
      fs.writeFileSync(file, typeof raw === 'string' ? raw : JSON.stringify(raw, null, 2) ?? String(raw));
      return file;
    } catch {
      return null;
    }
  }

  private errorEvent(code: string, message: string, retryable: boolean, status?: number | null): SyncErrorEvent {
    return { code, message, retryable, attempt: this.attempt, nextRetryAt: this.nextRetryAt ? new Date(this.nextRetryAt).toISOString() : null, status };
  }

  /** Reports a failed cycle and decides what happens next. */
  private fail(err: unknown): void {
    const status = statusOf(err);
    const code = codeOf(err) ?? (status ? `http_${status}` : 'sync_failed');
    const message = messageOf(err, this.apiKey);
    const retryable = err instanceof SyncHttpError ? err.retryable : status === null || isRetryableStatus(status);
    this.lastError = { code, message };
    if (status === 401) {
      this.state = 'paused';
      this.nextRetryAt = null;
      this.emit('sync:error', this.errorEvent('unauthorized', message, false, status));
      this.emit('sync:paused', { reason: 'unauthorized' });
      return;
    }
    if (!retryable) {
      this.state = 'error';
      this.nextRetryAt = null;
      this.emit('sync:error', this.errorEvent(code, message, false, status));
      return;
    }
    this.attempt++;
    const retryAfter = err instanceof SyncHttpError ? err.retryAfterMs : null;
    const delay = retryAfter ?? Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (this.attempt - 1));
    this.nextRetryAt = Date.now() + delay;
    this.state = status === null && code === 'network' ? 'offline' : 'error';
    this.emit('sync:error', this.errorEvent(code, message, true, status));
    if (!this.stopped) {
      this.retryTimer = setTimeout(() => void this.triggerSync(), delay);
      this.retryTimer.unref();
    }
  }
}

function toWire(o: OutboxOp): Op {
  const base = { seq: o.seq, hlc: o.hlc, coll: o.coll, id: o.id, base: o.base };
  if (o.kind === 'put') return { ...base, kind: 'put', doc: o.doc as never };
  if (o.kind === 'patch') return { ...base, kind: 'patch', ...(o.set ? { set: o.set as never } : {}), ...(o.unset ? { unset: o.unset } : {}) };
  return { ...base, kind: 'del' };
}

function statusOf(err: unknown): number | null {
  const e = err as { status?: unknown; statusCode?: unknown } | null;
  if (e && typeof e.status === 'number') return e.status;
  if (e && typeof e.statusCode === 'number') return e.statusCode;
  return null;
}

function codeOf(err: unknown): string | null {
  const e = err as { code?: unknown } | null;
  return e && typeof e.code === 'string' ? e.code : null;
}

/** An error's message with any occurrence of the API key removed. */
function messageOf(err: unknown, apiKey: string): string {
  const m = err instanceof Error ? err.message : String(err);
  return apiKey ? m.split(apiKey).join('[api key]') : m;
}

/** A pull cursor as it is sent: the checkpoint and, when there is one, its proof. */
type SentCursor = { checkpoint: string; checkpointProof?: string };
/** A cursor of ours with its version. */
type HeldCursor = SentCursor & { v: number };

/** The cursor without anything else. */
function checkpointOnly(c: SentCursor | null): SentCursor | null {
  if (!c) return null;
  return c.checkpointProof === undefined ? { checkpoint: c.checkpoint } : { checkpoint: c.checkpoint, checkpointProof: c.checkpointProof };
}
