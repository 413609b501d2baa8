/**
 * The history behind the sync timeline: a bounded, time-ordered log of the `sync:*` events of
 * every open database. It does not import `vscode` (it is tested in plain Node); the timeline
 * panel and anything else (status bar, tests) read it and subscribe to it.
 */

/** One recorded sync event. Entries are frozen: consumers share them. */
export interface SyncEventEntry {
  /** Increases by one per recorded event, never reused (not even after `clear()`). */
  seq: number;
  /** When the event happened, ms since the epoch. */
  at: number;
  /** The database folder's absolute path: the database's id. */
  database: string;
  /** The database's name as the user sees it (folder name, workspace-relative path). */
  databaseLabel: string;
  /** The collection the event is about, when it is about one. */
  collection: string | null;
  /**
   * The event name without its `sync:` prefix: start, success, error, push_success, pull_success,
   * conflict, quarantine, rejected, progress, reset, paused, resumed, warning (others are kept as named).
   */
  kind: string;
  /** One human line, e.g. "pushed 3, pulled 5, 0 conflicts in 120 ms". */
  summary: string;
  /** The event's payload, JSON-safe (no functions, cycles or `apiKey` fields). */
  details: Record<string, unknown>;
}

/** A subscription; `dispose()` ends it. Structurally compatible with `vscode.Disposable`. */
export interface Subscription {
  dispose(): void;
}

type Listener<T> = (value: T) => void;

/** Options of {@link SyncEventLog}. */
export interface SyncEventLogOptions {
  /** Called when a listener throws (the other listeners still run). Default: ignore. */
  onListenerError?: (err: unknown) => void;
}

/** The capacity used when the one given is not a number. */
export const DEFAULT_CAPACITY = 1000;

/** Bounds of the JSON-safe copy of a payload, so a huge conflict record cannot bloat the log. */
const MAX_DEPTH = 8;
const MAX_STRING = 10_000;
const MAX_ITEMS = 200;

/**
 * A bounded history of sync events, oldest first. Beyond its capacity the oldest entries are
 * dropped. Entries are kept ordered by `at` (then `seq`), so an event recorded late with an
 * earlier timestamp lands in its place.
 */
export class SyncEventLog {
  private items: SyncEventEntry[] = [];
  private nextSeq = 1;
  private max: number;
  private readonly recordListeners = new Set<Listener<SyncEventEntry>>();
  private readonly clearListeners = new Set<Listener<void>>();
  private readonly capacityListeners = new Set<Listener<number>>();
  private readonly onListenerError: (err: unknown) => void;

  /**
   * @param capacity the most entries kept. It usually comes from a user setting, so a bad value
   *   does not throw: fractions are rounded down, values below 1 become 1, and a non-number
   *   becomes {@link DEFAULT_CAPACITY}.
   */
  constructor(capacity: number, options: SyncEventLogOptions = {}) {
    this.max = normalizeCapacity(capacity, DEFAULT_CAPACITY);
    this.onListenerError = options.onListenerError ?? (() => undefined);
  }

  /** The most entries kept. */
  get capacity(): number {
    return this.max;
  }

  /** How many entries are kept now. */
  get size(): number {
    return this.items.length;
  }

  /**
   * Records one event and tells the listeners.
   * @param database the database folder's absolute path
   * @param databaseLabel the database's display name
   * @param event the event name, e.g. `sync:success` (the prefix is optional)
   * @param payload the event's payload as the sync manager emitted it
   * @param at when it happened (ms since the epoch); default now
   */
  record(database: string, databaseLabel: string, event: string, payload: unknown, at: number = Date.now()): SyncEventEntry {
    const kind = event.startsWith('sync:') ? event.slice('sync:'.length) : event;
    const details = toDetails(payload);
    const entry: SyncEventEntry = Object.freeze({
      seq: this.nextSeq++,
      at: Number.isFinite(at) ? at : Date.now(),
      database,
      databaseLabel,
      collection: collectionOf(details),
      kind,
      summary: summarize(kind, details),
      details,
    });
    this.insert(entry);
    this.trim();
    // A late event older than every kept one (log full) was dropped at once; still report it,
    // listeners that keep their own bounded copy drop it the same way.
    this.fire(this.recordListeners, entry);
    return entry;
  }

  /** Every kept entry, oldest first. The array is a snapshot. */
  entries(): readonly SyncEventEntry[] {
    return this.items.slice();
  }

  /** Calls `listener` after each `record()`. */
  onDidRecord(listener: (e: SyncEventEntry) => void): Subscription {
    return subscribe(this.recordListeners, listener);
  }

  /** Calls `listener` after each `clear()`. */
  onDidClear(listener: () => void): Subscription {
    return subscribe(this.clearListeners, listener);
  }

  /** Calls `listener` with the new capacity after each `setCapacity()` that changed it. */
  onDidChangeCapacity(listener: (capacity: number) => void): Subscription {
    return subscribe(this.capacityListeners, listener);
  }

  /**
   * Changes the capacity (normalized like the constructor's; a non-number keeps the current
   * one); when it shrinks, the oldest entries beyond it are dropped.
   */
  setCapacity(n: number): void {
    const next = normalizeCapacity(n, this.max);
    if (next === this.max) return;
    this.max = next;
    this.trim();
    this.fire(this.capacityListeners, next);
  }

  /** Drops every entry (sequence numbers continue). */
  clear(): void {
    this.items = [];
    this.fire(this.clearListeners, undefined);
  }

  private insert(entry: SyncEventEntry): void {
    const last = this.items[this.items.length - 1];
    if (!last || last.at <= entry.at) {
      this.items.push(entry);
      return;
    }
    // Binary search for the first entry later than this one; equal times keep arrival order.
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid].at <= entry.at) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, entry);
  }

  private trim(): void {
    const excess = this.items.length - this.max;
    if (excess > 0) this.items.splice(0, excess);
  }

  private fire<T>(listeners: Set<Listener<T>>, value: T): void {
    for (const l of [...listeners]) {
      try {
        l(value);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

function normalizeCapacity(n: unknown, fallback: number): number {
  if (typeof n !== 'number' || Number.isNaN(n)) return fallback;
  if (n === Infinity) return Number.MAX_SAFE_INTEGER;
  return Math.max(1, Math.floor(n));
}

function subscribe<T>(set: Set<Listener<T>>, listener: Listener<T>): Subscription {
  set.add(listener);
  return { dispose: () => void set.delete(listener) };
}

// ------------------------------------------------------------------------------------------
// Payload → details, collection, summary

/** The JSON-safe copy of a payload, as an object (a non-object payload becomes `{ value }`). */
function toDetails(payload: unknown): Record<string, unknown> {
  if (payload === undefined || payload === null) return {};
  const safe = jsonSafe(payload, 0, new WeakSet());
  if (safe !== null && typeof safe === 'object' && !Array.isArray(safe)) return safe as Record<string, unknown>;
  return { value: safe };
}

/**
 * A deep copy that `JSON.stringify` round-trips: `apiKey` fields (any case) dropped, Dates as ISO
 * strings, Errors as `{ name, message, code? }`, bigints as strings, cycles and depth beyond
 * {@link MAX_DEPTH} as markers, functions/symbols/undefined omitted, non-finite numbers as null.
 */
function jsonSafe(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case 'string':
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} characters)` : value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const obj = value as object;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  if (seen.has(obj)) return '[circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(obj) ? '[array]' : '[object]';
  seen.add(obj);
  try {
    if (obj instanceof Error) {
      const code = (obj as { code?: unknown }).code;
      return { name: obj.name, message: obj.message, ...(typeof code === 'string' ? { code } : {}) };
    }
    if (Array.isArray(obj)) {
      const out = obj.slice(0, MAX_ITEMS).map((v) => jsonSafe(v, depth + 1, seen) ?? null);
      if (obj.length > MAX_ITEMS) out.push(`… ${obj.length - MAX_ITEMS} more`);
      return out;
    }
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, v] of Object.entries(obj)) {
      if (isSecretKey(k)) continue;
      if (n++ >= MAX_ITEMS) {
        out['…'] = `${Object.keys(obj).length - MAX_ITEMS} more fields`;
        break;
      }
      const safe = jsonSafe(v, depth + 1, seen);
      if (safe !== undefined) out[k] = safe;
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

/** `apiKey`, `api_key`, `APIKEY`, …: never kept, whatever the payload. */
function isSecretKey(key: string): boolean {
  return key.replace(/[-_]/g, '').toLowerCase() === 'apikey';
}

function collectionOf(d: Record<string, unknown>): string | null {
  if (typeof d.collection === 'string') return d.collection;
  if (typeof d.coll === 'string') return d.coll;
  return null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "another_process" → "another process". */
function words(reason: unknown): string | null {
  const s = str(reason);
  return s === null ? null : s.replace(/_/g, ' ');
}

/** "users/abc" from a collection and a document id, whichever are known. */
function docRef(coll: unknown, id: unknown): string | null {
  const c = str(coll);
  const i = str(id) ?? (typeof id === 'number' ? String(id) : null);
  if (c && i) return `${c}/${i}`;
  return c ?? i;
}

function withReason(text: string, reason: unknown): string {
  const r = words(reason);
  return r ? `${text}: ${r}` : text;
}

/** One human line for an event. Unknown kinds and odd payloads still get a readable line. */
function summarize(kind: string, d: Record<string, unknown>): string {
  switch (kind) {
    case 'start': {
      const colls = Array.isArray(d.collections) ? d.collections.filter((c): c is string => typeof c === 'string') : [];
      const dataset = str(d.dataset);
      const what = colls.length > 0 ? `${count(colls.length, 'collection', 'collections')} (${colls.join(', ')})` : 'sync started';
      const head = colls.length > 0 ? `syncing ${what}` : what;
      return dataset ? `${head} with dataset ${dataset}` : head;
    }
    case 'success': {
      const parts = [`pushed ${num(d.pushed) ?? 0}`, `pulled ${num(d.pulled) ?? 0}`, count(num(d.conflicts) ?? 0, 'conflict', 'conflicts')];
      const ms = num(d.durationMs);
      return ms === null ? parts.join(', ') : `${parts.join(', ')} in ${Math.round(ms)} ms`;
    }
    case 'error': {
      const code = str(d.code) ?? 'unknown';
      const message = str(d.message);
      let line = message ? `error ${code}: ${message}` : `error ${code}`;
      if (d.retryable === true) {
        const attempt = num(d.attempt);
        line += attempt !== null && attempt > 0 ? ` (will retry, attempt ${attempt})` : ' (will retry)';
      }
      return line;
    }
    case 'push_success': {
      const ack = num(d.ackSeq);
      const line = `pushed ${count(num(d.pushed) ?? 0, 'change', 'changes')}`;
      return ack === null ? line : `${line} (acknowledged up to seq ${ack})`;
    }
    case 'pull_success':
      return `pulled ${count(num(d.pulled) ?? 0, 'change', 'changes')}${str(d.collection) ? ` into ${str(d.collection)}` : ''}`;
    case 'conflict': {
      const ref = docRef(d.coll, d.id);
      const id = str(d.conflictId);
      if (ref) return `conflict on ${ref}${id ? ` (conflict ${id})` : ''}`;
      return id ? `conflict ${id} recorded` : 'conflict';
    }
    case 'rejected': {
      const ref = docRef(d.coll, d.id);
      const seq = num(d.seq);
      const code = str(d.code);
      const detail = str(d.detail);
      let line = `rejected ${ref ?? 'change'}${seq !== null ? ` (seq ${seq})` : ''}`;
      if (code) line += `: ${code}`;
      if (detail) line += code ? ` — ${detail}` : `: ${detail}`;
      return line;
    }
    case 'progress': {
      const phase = str(d.phase) ?? 'sync';
      const done = num(d.done) ?? 0;
      const total = num(d.total);
      const coll = str(d.collection);
      const verb = phase === 'push' ? 'pushing' : phase === 'pull' ? 'pulling' : phase;
      const target = coll ? ` ${coll}` : '';
      return total !== null ? `${verb}${target}: ${done} of ${total}` : `${verb}${target}: ${done} so far`;
    }
    case 'reset':
      return withReason(`cursor reset${str(d.collection) ? ` for ${str(d.collection)}` : ''}`, d.reason);
    case 'paused':
      return withReason('sync paused', d.reason);
    case 'resumed':
      return withReason('sync resumed', d.reason);
    case 'warning': {
      const message = str(d.message);
      return message ? `warning ${str(d.code) ?? ''}: ${message}`.replace(' :', ':') : `warning ${str(d.code) ?? ''}`.trim();
    }
    case 'quarantine': {
      const reason = str(d.reason);
      const file = str(d.file);
      let line = 'malformed server response quarantined';
      if (reason) line += `: ${reason}`;
      if (file) line += ` (saved in ${file})`;
      return line;
    }
    default: {
      const keys = Object.keys(d);
      return keys.length === 0 ? kind : `${kind}: ${keys.slice(0, 4).map((k) => `${k}=${brief(d[k])}`).join(', ')}`;
    }
  }
}

function brief(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}
