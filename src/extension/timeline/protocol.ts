/**
 * The messages between the extension host and the sync timeline webview. Imported by both
 * sides (the webview imports types only), so it imports neither `vscode` nor the DOM.
 *
 * Handshake: the webview posts `ready` once its script runs (again after every reload of the
 * page); the host answers with `init` and posts nothing before it. After that the host posts
 * `append` (new entries, batched), `cleared`, and `init` again when the whole state changes.
 */
import type { SyncEventEntry } from './sync-event-log';

export type { SyncEventEntry };

/** What the timeline shows; `null` means "all". */
export interface TimelineFilter {
  /** A database id (absolute folder path). */
  database: string | null;
  collection: string | null;
  kind: string | null;
}

export const EMPTY_FILTER: TimelineFilter = Object.freeze({ database: null, collection: null, kind: null });

/** The webview's persisted state (`vscode.setState`), handed back to the panel serializer. */
export interface TimelineWebviewState {
  filter: TimelineFilter;
}

/** User-visible strings, localized by the host (the webview has no `vscode.l10n`). */
export interface TimelineStrings {
  allDatabases: string;
  allCollections: string;
  allKinds: string;
  database: string;
  collection: string;
  kind: string;
  clear: string;
  clearTitle: string;
  empty: string;
  noMatch: string;
  /** "{0} of {1} events": {0} shown, {1} kept. */
  showing: string;
  chartTitle: string;
  chartEmpty: string;
  pushed: string;
  pulled: string;
  /** Bar tooltip: "{0}: pushed {1}, pulled {2}" ({0} the time). */
  cycle: string;
  time: string;
  summary: string;
  details: string;
  /** The label of the strip that says how each database syncs now. */
  syncState: string;
  /** The link on a conflict row. */
  openConflict: string;
}

/**
 * How one database syncs now (the strip above the chart): `state` is one of live, polling,
 * manual (Sync Now only), syncing, offline, error, paused, standby (another window runs its
 * sync), off, attention (a key, a consent or the settings are needed); `text` says it in words,
 * with the reason and the next retry when there is one.
 */
export interface SyncStateLine {
  database: string;
  label: string;
  state: string;
  text: string;
}

// ------------------------------------------------------------------------------------------
// Host → webview

/** The whole state: sent in answer to every `ready`, and when the log's capacity changes. */
export interface InitMessage {
  type: 'init';
  /** Oldest first. */
  entries: SyncEventEntry[];
  filter: TimelineFilter;
  /** The webview keeps at most this many entries (the log's capacity). */
  maxEvents: number;
  strings: TimelineStrings;
}

/** Entries recorded since the last message, oldest first (a batch of ~50 ms). */
export interface AppendMessage {
  type: 'append';
  entries: SyncEventEntry[];
}

/** The log was cleared. */
export interface ClearedMessage {
  type: 'cleared';
}

/** How each database syncs now: after every `init`, and whenever it changes. */
export interface StatusMessage {
  type: 'status';
  lines: SyncStateLine[];
}

export type HostToWebviewMessage = InitMessage | AppendMessage | ClearedMessage | StatusMessage;

// ------------------------------------------------------------------------------------------
// Webview → host

/** The page's script runs and listens: the host may send `init`. */
export interface ReadyMessage {
  type: 'ready';
}

/** The user pressed Clear: the host clears the log (and answers `cleared`). */
export interface ClearMessage {
  type: 'clear';
}

/** The user changed the filter (already saved in the webview state). */
export interface SetFilterMessage {
  type: 'setFilter';
  filter: TimelineFilter;
}

/** Sent after every render: `count` entry rows shown after filtering, of `total` kept. */
export interface RenderedMessage {
  type: 'rendered';
  count: number;
  total: number;
}

/** A line for the extension's log (e.g. an uncaught error in the page). */
export interface LogMessage {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** The user clicked a conflict row's link: open that conflict record. */
export interface OpenConflictMessage {
  type: 'openConflict';
  /** The database's id (absolute folder path). */
  database: string;
  /** The `_id` of its `_conflicts` record. */
  conflictId: string;
}

export type WebviewToHostMessage = ReadyMessage | ClearMessage | SetFilterMessage | RenderedMessage | LogMessage | OpenConflictMessage;

// ------------------------------------------------------------------------------------------
// Validation (the host does not trust what a page posts)

function nullableString(v: unknown): v is string | null {
  return v === null || typeof v === 'string';
}

/** A filter from untrusted input, or null when it is not one. Missing fields mean "all". */
export function parseFilter(raw: unknown): TimelineFilter | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  const database = r.database ?? null;
  const collection = r.collection ?? null;
  const kind = r.kind ?? null;
  if (!nullableString(database) || !nullableString(collection) || !nullableString(kind)) return null;
  return { database, collection, kind };
}

/** A webview message from untrusted input, or undefined when it is not a valid one. */
export function parseWebviewMessage(raw: unknown): WebviewToHostMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  switch (r.type) {
    case 'ready':
      return { type: 'ready' };
    case 'clear':
      return { type: 'clear' };
    case 'setFilter': {
      const filter = parseFilter(r.filter);
      return filter ? { type: 'setFilter', filter } : undefined;
    }
    case 'rendered':
      return Number.isInteger(r.count) && Number.isInteger(r.total) ? { type: 'rendered', count: r.count as number, total: r.total as number } : undefined;
    case 'openConflict':
      return typeof r.database === 'string' && r.database !== '' && typeof r.conflictId === 'string' && r.conflictId !== '' && r.conflictId.length <= 1024
        ? { type: 'openConflict', database: r.database, conflictId: r.conflictId }
        : undefined;
    case 'log':
      return (r.level === 'info' || r.level === 'warn' || r.level === 'error') && typeof r.message === 'string'
        ? { type: 'log', level: r.level, message: r.message.slice(0, 4000) }
        : undefined;
    default:
      return undefined;
  }
}
