/**
 * CSV export (RFC 4180).
 */

/** Fields containing any of these must be quoted. */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Renders documents as RFC 4180 CSV.
 *
 * - Columns: `fields` if given, otherwise the union of the documents' top-level keys in
 *   first-seen order. A field name with a dot ("address.city") that is not itself a top-level key
 *   is read as a dot path into nested objects (array elements by numeric segment).
 * - Cells: strings as is; numbers, booleans and bigints via `String`; `null`/`undefined` empty;
 *   objects and arrays as JSON. A cell (or header) containing `,` `"` CR or LF is wrapped in
 *   double quotes with inner quotes doubled.
 * - Lines are joined with CRLF; there is no trailing line break. No documents and no `fields`
 *   gives `""`; no documents with `fields` gives just the header.
 *
 * Spreadsheet formula injection: cells starting with `=`, `+`, `-` or `@` are deliberately NOT
 * altered (no leading quote or space is added) so the export round-trips the data exactly.
 * Warn users before opening exports of untrusted data in a spreadsheet application.
 */
export function toCsv(docs: readonly object[], fields?: readonly string[]): string {
  const columns = fields ? [...fields] : unionOfKeys(docs);
  if (columns.length === 0) return '';
  return [csvHeader(columns), ...csvRows(docs, columns)].join('\r\n');
}

/** The header line of {@link toCsv} for `columns` (no line break). */
export function csvHeader(columns: readonly string[]): string {
  return columns.map(escapeCell).join(',');
}

/** The lines of {@link toCsv} for `docs` under `columns`, one per document (no line breaks): for writing a CSV in parts. */
export function csvRows(docs: readonly object[], columns: readonly string[]): string[] {
  return docs.map((doc) => columns.map((c) => escapeCell(cellText(read(doc as Record<string, unknown>, c)))).join(','));
}

function unionOfKeys(docs: readonly object[]): string[] {
  const seen = new Set<string>();
  for (const doc of docs) {
    if (doc === null || typeof doc !== 'object') continue;
    for (const k of Object.keys(doc)) seen.add(k);
  }
  return [...seen];
}

function read(doc: Record<string, unknown>, field: string): unknown {
  if (doc === null || typeof doc !== 'object') return undefined;
  if (Object.prototype.hasOwnProperty.call(doc, field)) return doc[field];
  if (!field.includes('.')) return undefined;
  let cur: unknown = doc;
  for (const seg of field.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'object':
      if (v instanceof Date) return v.toISOString();
      try {
        return JSON.stringify(v) ?? '';
      } catch {
        return String(v); // not JSON-serialisable (a cycle or a bigint inside): still export something
      }
    default:
      return '';
  }
}

function escapeCell(text: string): string {
  return NEEDS_QUOTES.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}
