/**
 * The query results grid page (bundled to dist/webview/grid.js, loaded by
 * src/extension/queries/results-grid.ts). A virtualized table: only the rows on screen (and a
 * few around them) are in the DOM, and rows are asked from the host a block at a time as they
 * come into view, so 100,000 results scroll like 100. Keyboard: arrows, Page Up/Down, Home/End
 * (Ctrl for the whole grid) move the active cell; Enter opens the document (on `_id`) or shows
 * a nested value; Ctrl+C copies the cell, Ctrl+Shift+C the row as JSON.
 */
import type { GridCell, GridRow, GridToHostMessage, HostToGridMessage, ShowMessage } from '../../extension/queries/grid-protocol';
import { el, fill } from '../shared/dom';

interface VsCodeApi {
  postMessage(message: GridToHostMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const ROW_HEIGHT = 24;
const BLOCK = 200;
/** Rows rendered beyond the visible ones, above and below. */
const OVERSCAN = 8;
/** A scan that examined at least this many documents offers to create an index. */
const SCAN_HINT = 1000;
const ID_WIDTH = 280;
const COLUMN_WIDTH = 180;

let show: ShowMessage | undefined;
const rows = new Map<number, GridRow>();
const requested = new Set<number>();
let active = { row: 0, col: 0 };
let scheduled = false;
/** The last `rendered` posted, so scrolling within the same rows posts nothing. */
let lastRendered = '';

const post = (m: GridToHostMessage): void => vscode.postMessage(m);

// ------------------------------------------------------------------------------------------
// The DOM, built once

const app = document.getElementById('app')!;
const toolbar = el('header', 'toolbar');
const explainLine = el('span', 'explain');
explainLine.setAttribute('role', 'status');
const createIndex = el('button', 'create-index');
createIndex.hidden = true;
const count = el('span', 'count');
const openJson = el('button', 'open-json');
const exportButton = el('button', 'export');
toolbar.append(explainLine, createIndex, el('span', 'gap'), count, openJson, exportButton);

const grid = el('div', 'grid');
grid.setAttribute('role', 'grid');
grid.tabIndex = 0;
const head = el('div', 'head');
head.setAttribute('role', 'row');
head.setAttribute('aria-rowindex', '1');
const body = el('div', 'body');
body.setAttribute('role', 'rowgroup');
grid.append(head, body);
const empty = el('p', 'empty');
empty.hidden = true;

const valuePane = el('section', 'value');
valuePane.hidden = true;
const valueTitle = el('h2');
const valueText = el('pre');
const valueButtons = el('div', 'value-buttons');
const copyCell = el('button');
const copyRow = el('button');
valueButtons.append(copyCell, copyRow);
valuePane.append(valueTitle, valueButtons, valueText);
app.append(toolbar, grid, empty, valuePane);
app.removeAttribute('aria-busy');

openJson.addEventListener('click', () => post({ type: 'openJson' }));
exportButton.addEventListener('click', () => post({ type: 'export' }));
createIndex.addEventListener('click', () => {
  const field = createIndex.dataset.field;
  if (field) post({ type: 'createIndex', field });
});
copyCell.addEventListener('click', () => copyActive(false));
copyRow.addEventListener('click', () => copyActive(true));

// ------------------------------------------------------------------------------------------
// Rendering

function widthOf(column: string): number {
  return column === '_id' ? ID_WIDTH : COLUMN_WIDTH;
}

function renderShow(m: ShowMessage): void {
  const s = m.strings;
  const e = m.explain;
  const ms = Math.round(e.ms * 10) / 10;
  explainLine.textContent = e.plan === 'scan' ? fill(s.explainScan, e.docsExamined, e.returned, ms)
    : e.plan === 'index' ? fill(s.explainIndex, e.index ?? '', e.keysExamined, e.docsExamined, e.returned, ms)
      : fill(s.explainId, e.returned, ms);
  explainLine.dataset.plan = e.plan;
  const field = e.indexable[0];
  createIndex.hidden = !(e.plan === 'scan' && field !== undefined && e.docsExamined >= SCAN_HINT);
  if (field !== undefined) {
    createIndex.textContent = fill(s.createIndex, field);
    createIndex.dataset.field = field;
  }
  count.textContent = fill(s.count, m.total);
  openJson.textContent = s.openJson;
  exportButton.textContent = s.export;
  copyCell.textContent = s.copyCell;
  copyRow.textContent = s.copyRow;
  empty.textContent = s.empty;
  empty.hidden = m.total > 0;

  grid.setAttribute('aria-label', m.title);
  grid.dataset.view = String(m.view);
  grid.setAttribute('aria-rowcount', String(m.total + 1));
  grid.setAttribute('aria-colcount', String(m.columns.length));
  const template = m.columns.map((c) => `${widthOf(c)}px`).join(' ');
  grid.style.setProperty('--columns', template);
  const width = m.columns.reduce((w, c) => w + widthOf(c), 0);
  head.style.width = `${width}px`;
  body.style.width = `${width}px`;
  body.style.height = `${m.total * ROW_HEIGHT}px`;
  head.replaceChildren(...m.columns.map((c, i) => {
    const h = el('div', 'cell header');
    h.setAttribute('role', 'columnheader');
    h.setAttribute('aria-colindex', String(i + 1));
    h.setAttribute('aria-sort', m.sort?.column === c ? (m.sort.dir === 1 ? 'ascending' : 'descending') : 'none');
    const b = el('button', 'sort', c);
    b.title = c;
    b.addEventListener('click', () => post({ type: 'sort', column: c }));
    h.append(b);
    return h;
  }));
  active = { row: Math.min(active.row, Math.max(0, m.total - 1)), col: Math.min(active.col, Math.max(0, m.columns.length - 1)) };
  render();
}

/** The row elements in the page, by row index; a row on screen is kept, not rebuilt, while it stays in view. */
const shown = new Map<number, HTMLElement>();

function render(): void {
  scheduled = false;
  const m = show;
  if (!m) return;
  const top = grid.scrollTop;
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(m.total, Math.ceil((top + grid.clientHeight) / ROW_HEIGHT) + OVERSCAN);
  for (const [i, e] of shown) {
    if (i < first || i >= last) {
      e.remove();
      shown.delete(i);
    }
  }
  let loaded = 0;
  const added: HTMLElement[] = [];
  for (let i = first; i < last; i++) {
    const row = rows.get(i);
    if (!row) request(i);
    const existing = shown.get(i);
    if (existing && (existing.hasAttribute('aria-busy') === !row)) {
      if (row) loaded++;
      continue;
    }
    const e = renderRow(m, i, row);
    if (row) loaded++;
    if (existing) existing.replaceWith(e);
    else added.push(e);
    shown.set(i, e);
  }
  if (added.length > 0) body.append(...added);
  const key = `${m.view}:${first}:${shown.size}:${loaded}`;
  if (key !== lastRendered) {
    lastRendered = key;
    post({ type: 'rendered', view: m.view, first, count: shown.size, loaded });
  }
  markActive();
}

/** The active cell's class and the grid's aria-activedescendant, on the rows in the page. */
function markActive(): void {
  const cellId = `cell-${active.row}-${active.col}`;
  const cell = document.getElementById(cellId);
  const previous = grid.querySelector('.cell.active');
  if (previous && previous !== cell) previous.classList.remove('active');
  if (cell) {
    cell.classList.add('active');
    grid.setAttribute('aria-activedescendant', cellId);
  } else {
    grid.removeAttribute('aria-activedescendant');
  }
}

/** Drops every row element (a new result or a new order). */
function clearRows(): void {
  for (const e of shown.values()) e.remove();
  shown.clear();
}

function renderRow(m: ShowMessage, index: number, row: GridRow | undefined): HTMLElement {
  const r = el('div', 'row');
  r.setAttribute('role', 'row');
  r.setAttribute('aria-rowindex', String(index + 2));
  r.style.top = `${index * ROW_HEIGHT}px`;
  if (!row) {
    r.append(el('div', 'cell loading', m.strings.loading));
    r.setAttribute('aria-busy', 'true');
    return r;
  }
  row.cells.forEach((cell, c) => r.append(renderCell(m, index, c, cell, row)));
  return r;
}

function renderCell(m: ShowMessage, index: number, c: number, cell: GridCell, row: GridRow): HTMLElement {
  const column = m.columns[c];
  const d = el('div', `cell ${cell.kind}`);
  d.id = `cell-${index}-${c}`;
  d.setAttribute('role', 'gridcell');
  d.setAttribute('aria-colindex', String(c + 1));
  if (index === active.row && c === active.col) d.classList.add('active');
  if (column === '_id' && row.id !== null) {
    const a = el('a', 'doc-link', cell.text);
    a.href = '#';
    a.tabIndex = -1;
    a.addEventListener('click', (e) => {
      e.preventDefault();
      post({ type: 'open', id: row.id! });
    });
    d.append(a);
  } else if (cell.kind === 'object' || cell.kind === 'array') {
    const n = summarize(cell);
    const b = el('button', 'nested', n);
    b.tabIndex = -1;
    b.title = cell.text.length > 200 ? `${cell.text.slice(0, 199)}…` : cell.text;
    b.addEventListener('click', () => showValue(index, c));
    d.append(b);
  } else {
    d.textContent = cell.text;
    d.title = cell.text;
  }
  d.addEventListener('mousedown', () => setActive(index, c, false));
  return d;
}

function summarize(cell: GridCell): string {
  const v = JSON.parse(cell.text) as unknown;
  if (Array.isArray(v)) return `[ ${v.length} ]`;
  const keys = Object.keys(v as object);
  return `{ ${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''} }`;
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(render);
}

function request(index: number): void {
  const offset = Math.floor(index / BLOCK) * BLOCK;
  if (requested.has(offset) || !show) return;
  requested.add(offset);
  post({ type: 'rows', view: show.view, offset, count: BLOCK });
}

// ------------------------------------------------------------------------------------------
// The active cell, values, copying

function setActive(row: number, col: number, scroll: boolean): void {
  const m = show;
  if (!m || m.total === 0) return;
  active = { row: Math.max(0, Math.min(m.total - 1, row)), col: Math.max(0, Math.min(m.columns.length - 1, col)) };
  if (!scroll) {
    markActive(); // in place: the element under the pointer must stay for its click
    return;
  }
  const top = active.row * ROW_HEIGHT;
  const headHeight = head.offsetHeight;
  if (top < grid.scrollTop) grid.scrollTop = top;
  else if (top + ROW_HEIGHT > grid.scrollTop + grid.clientHeight - headHeight) grid.scrollTop = top + ROW_HEIGHT - grid.clientHeight + headHeight;
  let left = 0;
  for (let i = 0; i < active.col; i++) left += widthOf(m.columns[i]);
  if (left < grid.scrollLeft) grid.scrollLeft = left;
  else if (left + widthOf(m.columns[active.col]) > grid.scrollLeft + grid.clientWidth) grid.scrollLeft = left + widthOf(m.columns[active.col]) - grid.clientWidth;
  render();
}

function activeCell(): { row: GridRow; cell: GridCell; column: string } | undefined {
  const row = rows.get(active.row);
  const column = show?.columns[active.col];
  return row && column !== undefined ? { row, cell: row.cells[active.col], column } : undefined;
}

function valueOf(cell: GridCell): unknown {
  switch (cell.kind) {
    case 'number':
      return Number(cell.text);
    case 'boolean':
      return cell.text === 'true';
    case 'null':
      return null;
    case 'object':
    case 'array':
      return JSON.parse(cell.text);
    default:
      return cell.text;
  }
}

function copyActive(wholeRow: boolean): void {
  const a = activeCell();
  if (!a || !show) return;
  if (wholeRow) {
    const doc: Record<string, unknown> = {};
    show.columns.forEach((c, i) => {
      if (a.row.cells[i].kind !== 'missing') doc[c] = valueOf(a.row.cells[i]);
    });
    post({ type: 'copy', text: JSON.stringify(doc, null, 2) });
  } else {
    post({ type: 'copy', text: a.cell.kind === 'object' || a.cell.kind === 'array' ? JSON.stringify(valueOf(a.cell), null, 2) : a.cell.text });
  }
}

function showValue(index: number, col: number): void {
  setActive(index, col, false);
  const a = activeCell();
  if (!a || !show) return;
  valueTitle.textContent = fill(show.strings.value, a.column, a.row.id ?? String(index + 1));
  valueText.textContent = a.cell.kind === 'object' || a.cell.kind === 'array' ? JSON.stringify(valueOf(a.cell), null, 2) : a.cell.text;
  valuePane.hidden = false;
}

grid.addEventListener('scroll', schedule);
new ResizeObserver(schedule).observe(grid);
grid.addEventListener('keydown', (e) => {
  const m = show;
  if (!m) return;
  const page = Math.max(1, Math.floor(grid.clientHeight / ROW_HEIGHT) - 1);
  const ctrl = e.ctrlKey || e.metaKey;
  let handled = true;
  switch (e.key) {
    case 'ArrowDown': setActive(active.row + 1, active.col, true); break;
    case 'ArrowUp': setActive(active.row - 1, active.col, true); break;
    case 'ArrowRight': setActive(active.row, active.col + 1, true); break;
    case 'ArrowLeft': setActive(active.row, active.col - 1, true); break;
    case 'PageDown': setActive(active.row + page, active.col, true); break;
    case 'PageUp': setActive(active.row - page, active.col, true); break;
    case 'Home': setActive(ctrl ? 0 : active.row, 0, true); break;
    case 'End': setActive(ctrl ? m.total - 1 : active.row, ctrl ? active.col : m.columns.length - 1, true); break;
    case 'Enter': {
      const a = activeCell();
      if (a?.column === '_id' && a.row.id !== null) post({ type: 'open', id: a.row.id });
      else showValue(active.row, active.col);
      break;
    }
    case 'Escape': valuePane.hidden = true; break;
    default:
      if (ctrl && (e.key === 'c' || e.key === 'C')) copyActive(e.shiftKey);
      else handled = false;
  }
  if (handled) e.preventDefault();
});

window.addEventListener('message', (event: MessageEvent<HostToGridMessage>) => {
  const m = event.data;
  if (m.type === 'show') {
    const fresh = show?.view !== m.view;
    show = m;
    if (fresh) {
      rows.clear();
      requested.clear();
      clearRows();
      grid.scrollTop = 0;
      valuePane.hidden = true;
    }
    m.rows.forEach((r, i) => rows.set(i, r));
    requested.add(0);
    renderShow(m);
  } else if (m.type === 'rows' && show && m.view === show.view) {
    m.rows.forEach((r, i) => rows.set(m.offset + i, r));
    schedule();
  }
});

post({ type: 'ready' });
