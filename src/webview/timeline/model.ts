/**
 * What the timeline page shows, without the DOM: the kept entries (bounded), the filter, the
 * choices of the filter selects and the sync cycles of the chart. Tested in plain Node.
 */
import { EMPTY_FILTER, type SyncEventEntry, type TimelineFilter } from '../../extension/timeline/protocol';

/** One bar pair of the chart: a `sync:success`. */
export interface SyncCycle {
  seq: number;
  at: number;
  databaseLabel: string;
  pushed: number;
  pulled: number;
}

/** A choice of the database select. */
export interface DatabaseOption {
  value: string;
  label: string;
}

export interface FilterOptions {
  databases: DatabaseOption[];
  collections: string[];
  kinds: string[];
}

/** Kinds shown as failures (red). */
const ERROR_KINDS = new Set(['error', 'rejected', 'quarantine']);
/** Kinds shown as warnings. */
const WARNING_KINDS = new Set(['conflict', 'paused', 'reset']);
/** Kinds shown as successes. */
const SUCCESS_KINDS = new Set(['success', 'push_success', 'pull_success', 'resumed']);

/** The badge tone of a kind: a CSS class suffix. */
export function toneOf(kind: string): 'error' | 'warning' | 'success' | 'info' {
  if (ERROR_KINDS.has(kind)) return 'error';
  if (WARNING_KINDS.has(kind)) return 'warning';
  if (SUCCESS_KINDS.has(kind)) return 'success';
  return 'info';
}

/** Local time as HH:MM:SS.mmm. */
export function formatTime(at: number): string {
  const d = new Date(at);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function byTime(a: SyncEventEntry, b: SyncEventEntry): number {
  return a.at - b.at || a.seq - b.seq;
}

export class TimelineModel {
  /** Oldest first, at most `maxEvents`. */
  private items: SyncEventEntry[] = [];
  private seqs = new Set<number>();
  private max = 1000;
  filter: TimelineFilter = { ...EMPTY_FILTER };

  get maxEvents(): number {
    return this.max;
  }

  get size(): number {
    return this.items.length;
  }

  /** Replaces everything (an `init`). */
  reset(entries: readonly SyncEventEntry[], maxEvents: number, filter: TimelineFilter): void {
    this.max = Math.max(1, Math.floor(maxEvents) || 1);
    this.filter = { ...filter };
    this.items = [];
    this.seqs.clear();
    this.append(entries);
  }

  /** Adds entries (an `append`); duplicates are ignored, the oldest beyond `maxEvents` dropped. */
  append(entries: readonly SyncEventEntry[]): void {
    let sorted = true;
    for (const e of entries) {
      if (this.seqs.has(e.seq)) continue;
      const last = this.items[this.items.length - 1];
      if (last && byTime(last, e) > 0) sorted = false;
      this.items.push(e);
      this.seqs.add(e.seq);
    }
    if (!sorted) this.items.sort(byTime);
    const excess = this.items.length - this.max;
    if (excess > 0) for (const e of this.items.splice(0, excess)) this.seqs.delete(e.seq);
  }

  clear(): void {
    this.items = [];
    this.seqs.clear();
  }

  /** The entries the filter lets through, newest first. */
  visible(): SyncEventEntry[] {
    const { database, collection, kind } = this.filter;
    const out: SyncEventEntry[] = [];
    for (let i = this.items.length - 1; i >= 0; i--) {
      const e = this.items[i];
      if (database !== null && e.database !== database) continue;
      if (collection !== null && e.collection !== collection) continue;
      if (kind !== null && e.kind !== kind) continue;
      out.push(e);
    }
    return out;
  }

  /**
   * The choices of the selects, sorted. Collections are those of the selected database. A
   * selected value that no entry has any more (the log was cleared) stays a choice.
   */
  options(): FilterOptions {
    const labels = new Map<string, string>();
    const collections = new Set<string>();
    const kinds = new Set<string>();
    for (const e of this.items) {
      labels.set(e.database, e.databaseLabel);
      kinds.add(e.kind);
      if (e.collection !== null && (this.filter.database === null || e.database === this.filter.database)) collections.add(e.collection);
    }
    const { database, collection, kind } = this.filter;
    if (database !== null && !labels.has(database)) labels.set(database, database);
    if (collection !== null) collections.add(collection);
    if (kind !== null) kinds.add(kind);
    // Two databases with the same label (two folders named "db"): show their paths too.
    const counts = new Map<string, number>();
    for (const l of labels.values()) counts.set(l, (counts.get(l) ?? 0) + 1);
    const databases = [...labels].map(([value, label]) => ({ value, label: (counts.get(label) ?? 0) > 1 ? `${label} (${value})` : label }));
    const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
    return {
      databases: databases.sort((a, b) => collator.compare(a.label, b.label)),
      collections: [...collections].sort(collator.compare),
      kinds: [...kinds].sort(collator.compare),
    };
  }

  /** The last `limit` sync cycles (`sync:success`) of the selected database, oldest first. */
  cycles(limit = 30): SyncCycle[] {
    const out: SyncCycle[] = [];
    for (let i = this.items.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.items[i];
      if (e.kind !== 'success') continue;
      if (this.filter.database !== null && e.database !== this.filter.database) continue;
      out.push({ seq: e.seq, at: e.at, databaseLabel: e.databaseLabel, pushed: count(e.details.pushed), pulled: count(e.details.pulled) });
    }
    return out.reverse();
  }
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}
