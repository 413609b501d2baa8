/**
 * The query history of a workspace: each run (the query, the database, when, how many
 * documents, how long), newest first, at most `capacity` of them. Kept in a key-value store
 * that survives restarts (VS Code's workspace state), so it has no VS Code dependency.
 */
import type { FileQuery } from './query-file';

/** VS Code's `Memento`, as far as the history uses it. */
export interface HistoryStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

export interface HistoryEntry {
  query: FileQuery;
  /** The database's folder (absolute path), where it ran. */
  database: string;
  /** When it ran (ms since the epoch). */
  at: number;
  /** Documents found, counted, updated or deleted. */
  count: number;
  ms: number;
}

export const HISTORY_KEY = 'wisejson.queryHistory';

export class QueryHistory {
  constructor(private readonly store: HistoryStore, private capacity: number) {}

  /** Newest first. */
  list(): HistoryEntry[] {
    const stored = this.store.get<HistoryEntry[]>(HISTORY_KEY);
    return Array.isArray(stored) ? stored.slice(0, this.capacity) : [];
  }

  async record(entry: HistoryEntry): Promise<void> {
    if (this.capacity === 0) return;
    await this.store.update(HISTORY_KEY, [plain(entry), ...this.list()].slice(0, this.capacity));
  }

  /** A new bound (the setting changed): older entries beyond it are dropped. */
  async setCapacity(capacity: number): Promise<void> {
    this.capacity = capacity;
    const stored = this.store.get<HistoryEntry[]>(HISTORY_KEY) ?? [];
    if (stored.length > capacity) await this.store.update(HISTORY_KEY, stored.slice(0, capacity));
  }

  async clear(): Promise<void> {
    await this.store.update(HISTORY_KEY, undefined);
  }
}

/** The entry as plain JSON (a parsed query's objects have no prototype). */
function plain(entry: HistoryEntry): HistoryEntry {
  return JSON.parse(JSON.stringify(entry)) as HistoryEntry;
}
