/**
 * A find's result as the grid shows it: the documents, a column per top-level field (`_id`
 * first, then in the order first seen), rows by offset, and a sort by one column (the engine's
 * own comparator). Holds the documents the engine returned (frozen, shared: no copy).
 */
import type { Doc } from '../../engine';
import { compileSort } from '../../engine/query/sort';
import type { GridCell, GridRow, GridSort } from './grid-protocol';

export class ResultSet {
  readonly columns: string[];
  private sorted: Doc[];
  private currentSort: GridSort | null = null;

  constructor(private readonly docs: readonly Doc[]) {
    const seen = new Set<string>();
    for (const d of docs) for (const k of Object.keys(d)) seen.add(k);
    this.columns = seen.has('_id') ? ['_id', ...[...seen].filter((k) => k !== '_id')] : [...seen];
    this.sorted = [...docs];
  }

  get total(): number {
    return this.docs.length;
  }

  get sort(): GridSort | null {
    return this.currentSort;
  }

  /**
   * Sorts by `column`: ascending, then descending on the next call for the same column, then
   * back to the query's own order.
   */
  toggleSort(column: string): GridSort | null {
    const prev = this.currentSort;
    const next: GridSort | null = prev?.column !== column ? { column, dir: 1 } : prev.dir === 1 ? { column, dir: -1 } : null;
    this.currentSort = next;
    this.sorted = next ? [...this.docs].sort(compileSort({ [next.column]: next.dir })) : [...this.docs];
    return next;
  }

  /** The documents in the grid's order (for export). */
  documents(): readonly Doc[] {
    return this.sorted;
  }

  rows(offset: number, count: number): GridRow[] {
    return this.sorted.slice(offset, offset + count).map((d) => ({
      id: typeof d._id === 'string' ? d._id : null,
      cells: this.columns.map((c) => cellOf(Object.prototype.hasOwnProperty.call(d, c) ? d[c] : undefined)),
    }));
  }
}

export function cellOf(v: unknown): GridCell {
  if (v === undefined) return { kind: 'missing', text: '' };
  if (v === null) return { kind: 'null', text: 'null' };
  if (Array.isArray(v)) return { kind: 'array', text: JSON.stringify(v) };
  switch (typeof v) {
    case 'string':
      return { kind: 'string', text: v };
    case 'number':
      return { kind: 'number', text: String(v) };
    case 'boolean':
      return { kind: 'boolean', text: String(v) };
    default:
      return { kind: 'object', text: JSON.stringify(v) };
  }
}
