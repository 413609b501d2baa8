/**
 * The messages between the extension host and the query results grid webview. Imported by both
 * sides (the webview imports types only), so it imports neither `vscode` nor the DOM.
 *
 * Handshake: the page posts `ready` when its script runs (again after a reload); the host
 * answers with `show` (the current result: explain, columns, the first rows) and then answers
 * each `rows` request with `rows`. A new run, or a sort, is a new `show` with a new `view`
 * number; rows of an older view are dropped by the page.
 */
import type { QueryExplain } from '../../engine';

/** One cell: its JSON type and its text (compact JSON for objects and arrays). */
export interface GridCell {
  kind: 'missing' | 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';
  text: string;
}

export interface GridRow {
  /** The document's `_id` (null when the projection left it out). */
  id: string | null;
  cells: GridCell[];
}

export interface GridSort {
  column: string;
  dir: 1 | -1;
}

/** User-visible strings, localized by the host. */
export interface GridStrings {
  explainScan: string;
  explainIndex: string;
  explainId: string;
  createIndex: string;
  openJson: string;
  export: string;
  loading: string;
  empty: string;
  copyCell: string;
  copyRow: string;
  value: string;
  /** "{0} documents" */
  count: string;
}

export interface ShowMessage {
  type: 'show';
  view: number;
  title: string;
  explain: QueryExplain;
  columns: string[];
  total: number;
  sort: GridSort | null;
  /** The first rows (offset 0). */
  rows: GridRow[];
  strings: GridStrings;
}

export interface RowsMessage {
  type: 'rows';
  view: number;
  offset: number;
  rows: GridRow[];
}

export type HostToGridMessage = ShowMessage | RowsMessage;

export type GridToHostMessage =
  | { type: 'ready' }
  | { type: 'rows'; view: number; offset: number; count: number }
  | { type: 'sort'; column: string }
  | { type: 'open'; id: string }
  | { type: 'copy'; text: string }
  | { type: 'createIndex'; field: string }
  | { type: 'openJson' }
  | { type: 'export' }
  /** What the page shows now: rows `first`… (`count` of them in the DOM, `loaded` with their data). */
  | { type: 'rendered'; view: number; first: number; count: number; loaded: number };

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= 10_000_000;

/** The message, if it is one the page may send; anything else is null. */
export function parseGridMessage(raw: unknown): GridToHostMessage | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'openJson':
    case 'export':
      return { type: m.type };
    case 'rows':
      return isInt(m.view) && isInt(m.offset) && isInt(m.count) && m.count <= 10_000 ? { type: 'rows', view: m.view, offset: m.offset, count: m.count } : null;
    case 'rendered':
      return isInt(m.view) && isInt(m.first) && isInt(m.count) && isInt(m.loaded) ? { type: 'rendered', view: m.view, first: m.first, count: m.count, loaded: m.loaded } : null;
    case 'sort':
      return isText(m.column) ? { type: 'sort', column: m.column } : null;
    case 'open':
      return isText(m.id) ? { type: 'open', id: m.id } : null;
    case 'copy':
      return isText(m.text) ? { type: 'copy', text: m.text } : null;
    case 'createIndex':
      return isText(m.field) && m.field !== '' ? { type: 'createIndex', field: m.field } : null;
    default:
      return null;
  }
}
