/**
 * The sync timeline page (bundled to dist/webview/timeline.js, loaded by
 * src/extension/timeline/timeline-panel.ts). No framework: the DOM is built once and its parts
 * re-rendered from a {@link TimelineModel} on each message from the host.
 */
import type {
  HostToWebviewMessage,
  SyncEventEntry,
  SyncStateLine,
  TimelineFilter,
  TimelineStrings,
  TimelineWebviewState,
  WebviewToHostMessage,
} from '../../extension/timeline/protocol';
import { renderChart } from './chart';
import { el, fill } from '../shared/dom';
import { formatTime, TimelineModel, toneOf } from './model';

interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  getState(): TimelineWebviewState | undefined;
  setState(state: TimelineWebviewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** Bar pairs in the chart. */
const CHART_CYCLES = 30;

const vscode = acquireVsCodeApi();
const model = new TimelineModel();
/** Details the user opened, kept open across renders. */
const open = new Set<number>();
let strings: TimelineStrings | undefined;
let view: View | undefined;
/** How each database syncs now (the host's last `status`). */
let syncStates: SyncStateLine[] = [];

interface View {
  states: HTMLUListElement;
  database: HTMLSelectElement;
  collection: HTMLSelectElement;
  kind: HTMLSelectElement;
  count: HTMLElement;
  chart: HTMLElement;
  header: HTMLElement;
  list: HTMLOListElement;
  empty: HTMLElement;
}

function post(message: WebviewToHostMessage): void {
  vscode.postMessage(message);
}

function buildView(s: TimelineStrings): View {
  const app = document.getElementById('app') ?? document.body;
  app.replaceChildren();

  const toolbar = el('div', 'toolbar');
  toolbar.setAttribute('role', 'toolbar');
  const select = (label: string, field: keyof TimelineFilter): HTMLSelectElement => {
    const wrap = el('label', 'filter');
    const sel = el('select');
    sel.setAttribute('aria-label', label);
    sel.addEventListener('change', () => changeFilter(field, sel.value === '' ? null : sel.value));
    wrap.append(el('span', 'filter-label', label), sel);
    toolbar.append(wrap);
    return sel;
  };
  const database = select(s.database, 'database');
  const collection = select(s.collection, 'collection');
  const kind = select(s.kind, 'kind');
  const count = el('span', 'count');
  count.setAttribute('role', 'status');
  const clear = el('button', 'clear', s.clear);
  clear.type = 'button';
  clear.title = s.clearTitle;
  clear.addEventListener('click', () => post({ type: 'clear' }));
  toolbar.append(el('span', 'spacer'), count, clear);

  const states = el('ul', 'sync-states');
  states.setAttribute('aria-label', s.syncState);
  states.setAttribute('aria-live', 'polite');

  const chart = el('section', 'chart');
  chart.setAttribute('aria-label', s.chartTitle);

  const empty = el('p', 'empty');
  const header = el('div', 'columns header');
  header.setAttribute('aria-hidden', 'true');
  header.append(el('span', undefined, s.time), el('span', undefined, s.database), el('span', undefined, s.collection), el('span', undefined, s.kind), el('span', undefined, s.summary));
  const list = el('ol', 'entries');
  list.setAttribute('aria-label', s.summary);

  app.append(toolbar, states, chart, empty, header, list);
  app.removeAttribute('aria-busy');
  return { states, database, collection, kind, count, chart, header, list, empty };
}

function changeFilter(field: keyof TimelineFilter, value: string | null): void {
  model.filter = { ...model.filter, [field]: value };
  saveFilter();
  post({ type: 'setFilter', filter: model.filter });
  render();
}

function saveFilter(): void {
  vscode.setState({ filter: model.filter });
}

/** Rebuilds a select's options only when they changed (an open dropdown stays open). */
function fillSelect(sel: HTMLSelectElement, all: string, options: ReadonlyArray<{ value: string; label: string; title?: string }>, selected: string | null): void {
  const key = JSON.stringify([all, options]);
  if (sel.dataset.options === key) {
    sel.value = selected ?? '';
    return;
  }
  sel.dataset.options = key;
  const first = el('option', undefined, all);
  first.value = '';
  const items = options.map((o) => {
    const opt = el('option', undefined, o.label);
    opt.value = o.value;
    if (o.title) opt.title = o.title;
    return opt;
  });
  sel.replaceChildren(first, ...items);
  sel.value = selected ?? '';
}

function renderEntry(e: SyncEventEntry, s: TimelineStrings): HTMLLIElement {
  const tone = toneOf(e.kind);
  const li = el('li', `entry tone-${tone}`);
  const details = el('details');
  details.open = open.has(e.seq);
  details.addEventListener('toggle', () => {
    if (details.open) open.add(e.seq);
    else open.delete(e.seq);
  });
  const row = el('summary', 'columns row');
  const time = el('time', 'time', formatTime(e.at));
  time.dateTime = new Date(e.at).toISOString();
  time.title = new Date(e.at).toLocaleString();
  const db = el('span', 'db', e.databaseLabel);
  db.title = e.database;
  const coll = el('span', 'coll', e.collection ?? '');
  const badge = el('span', `badge tone-${tone}`, e.kind);
  const summary = el('span', 'summary', e.summary);
  summary.title = e.summary;
  row.append(time, db, coll, badge, summary);
  const conflictId = e.kind === 'conflict' ? e.details.conflictId : undefined;
  if (typeof conflictId === 'string' && conflictId !== '') {
    // A link to the record, at the end of the summary (clicking it does not toggle the row).
    const link = el('a', 'open-conflict', s.openConflict);
    link.href = '#';
    link.addEventListener('click', (ev) => {
      ev.preventDefault();
      ev.stopPropagation();
      post({ type: 'openConflict', database: e.database, conflictId });
    });
    summary.append(' · ', link);
  }
  const json = el('pre', 'json', JSON.stringify(e.details, null, 2));
  json.setAttribute('aria-label', s.details);
  details.append(row, json);
  li.append(details);
  return li;
}

/** The strip: one line per database, its state as a badge, the words beside it. */
function renderStates(): void {
  if (!view) return;
  const items = syncStates.map((line) => {
    const li = el('li', `sync-state state-${line.state.replace(/[^a-z-]/g, '')}`);
    li.dataset.database = line.database;
    li.dataset.state = line.state;
    const db = el('span', 'db', line.label);
    db.title = line.database;
    li.append(el('span', 'badge', line.state), db, el('span', 'text', line.text));
    return li;
  });
  view.states.replaceChildren(...items);
  view.states.hidden = items.length === 0;
}

function render(): void {
  if (!strings || !view) return;
  renderStates();
  const s = strings;
  const options = model.options();
  fillSelect(view.database, s.allDatabases, options.databases.map((d) => ({ value: d.value, label: d.label, title: d.value })), model.filter.database);
  fillSelect(view.collection, s.allCollections, options.collections.map((c) => ({ value: c, label: c })), model.filter.collection);
  fillSelect(view.kind, s.allKinds, options.kinds.map((k) => ({ value: k, label: k })), model.filter.kind);

  renderChart(view.chart, model.cycles(CHART_CYCLES), CHART_CYCLES, s);

  const rows = model.visible();
  const live = new Set(rows.map((e) => e.seq));
  for (const seq of open) if (!live.has(seq)) open.delete(seq);
  const fragment = document.createDocumentFragment();
  for (const e of rows) fragment.append(renderEntry(e, s));
  view.list.replaceChildren(fragment);
  view.count.textContent = fill(s.showing, rows.length, model.size);
  view.empty.textContent = model.size === 0 ? s.empty : rows.length === 0 ? s.noMatch : '';
  view.empty.hidden = rows.length > 0;
  view.header.hidden = rows.length === 0;
  post({ type: 'rendered', count: rows.length, total: model.size });
}

function receive(message: HostToWebviewMessage): void {
  switch (message.type) {
    case 'init':
      strings = message.strings;
      view ??= buildView(message.strings);
      model.reset(message.entries, message.maxEvents, message.filter);
      saveFilter();
      break;
    case 'append':
      model.append(message.entries);
      break;
    case 'cleared':
      model.clear();
      open.clear();
      break;
    case 'status':
      syncStates = message.lines;
      renderStates();
      return;
    default:
      return;
  }
  render();
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  try {
    receive(event.data);
  } catch (err) {
    post({ type: 'log', level: 'error', message: `Could not handle ${String(event.data?.type)}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` });
  }
});
window.addEventListener('error', (event) => {
  post({ type: 'log', level: 'error', message: `${event.message} (${event.filename}:${event.lineno})` });
});

post({ type: 'ready' });
