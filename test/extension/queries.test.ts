import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CommandFailure } from '../../src/extension/commands/register-command';
import type { OpenDatabase } from '../../src/extension/databases/database-registry';
import type { QueryRun } from '../../src/extension/queries/query-workbench';
import { addDatabase, extensionApi, nextEvent, removeDatabase, waitFor, workspaceFolder } from './helpers';

const DB = '.wisejson-queries-test';

const FILE = `[
  // open tasks, newest first
  { "db": "${DB}", "collection": "tasks", "find": { "done": false },
    "sort": { "rank": -1 }, "projection": { "title": 1 }, "limit": 3 },
  { "db": "${DB}", "collection": "tasks", "count": { "done": true } },
  { "db": "${DB}", "collection": "tasks", "update": { "done": true },
    "with": { "$set": { "stale": true } } },
  { "db": "${DB}", "collection": "tasks", "delete": { "stale": true } },
  { "db": "${DB}", "collection": "tasks", "find": { "done": false }, "with": {} },
  { "db": "no-such-db", "collection": "tasks", "count": {} }
]
`;

describe('extension: query files (*.wjq)', function () {
  this.timeout(120_000);
  let database: OpenDatabase;
  let file: vscode.Uri;
  let failures: CommandFailure[] = [];
  let sub: vscode.Disposable;

  const offsetOf = (doc: vscode.TextDocument, text: string, nth = 0): number => {
    let at = -1;
    for (let i = 0; i <= nth; i++) at = doc.getText().indexOf(text, at + 1);
    assert.ok(at >= 0, `${text} is in the file`);
    return at;
  };
  const run = (offset: number, options?: { confirmed?: boolean }) => vscode.commands.executeCommand<QueryRun | undefined>('wisejson.runQuery', file, offset, options);

  before(async () => {
    const api = await extensionApi();
    sub = api._internals.commands.onDidFail((f) => failures.push(f));
    database = await addDatabase(DB);
    const tasks = await database.db.collection('tasks');
    await tasks.insertMany(Array.from({ length: 12 }, (_, i) => ({ _id: `t${i}`, title: `task ${i}`, done: i % 4 === 0, rank: i })));
    file = vscode.Uri.file(path.join(workspaceFolder().uri.fsPath, 'queries-test.wjq'));
    fs.writeFileSync(file.fsPath, FILE);
  });
  beforeEach(() => {
    failures = [];
  });
  after(async () => {
    sub.dispose();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(file.fsPath, { force: true });
    await removeDatabase(database);
  });

  it('opens *.wjq as the wisejson-query language, with a CodeLens above each query', async () => {
    const doc = await vscode.workspace.openTextDocument(file);
    assert.equal(doc.languageId, 'wisejson-query');
    await vscode.window.showTextDocument(doc);
    const lenses = await waitFor('the CodeLenses', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);
      return l && l.length >= 6 ? l : undefined;
    });
    const ours = lenses.filter((l) => l.command?.command === 'wisejson.runQuery' || /Fix the query/.test(l.command?.title ?? ''));
    assert.deepEqual(ours.map((l) => l.command!.title.replace(/^\$\([\w-]+\) /, '')), ['Run', 'Count', 'Update…', 'Delete…', 'Fix the query to run it', 'Count']);
    assert.deepEqual(ours.map((l) => l.range.start.line), [2, 4, 5, 7, 8, 9]);
  });

  it('shows the problems of a query as diagnostics where they are', async () => {
    const diagnostics = await waitFor('the diagnostics', () => {
      const d = vscode.languages.getDiagnostics(file).filter((x) => x.source === 'WiseJSON');
      return d.length > 0 ? d : undefined;
    });
    assert.deepEqual(diagnostics.map((d) => [d.range.start.line, d.message]), [[8, '"with" goes with "update" only.']]);
  });

  it('the contributed JSON schema applies: hover text for the keys, and comments and trailing commas allowed', async () => {
    const doc = await vscode.workspace.openTextDocument(file);
    const hovers = await waitFor('the schema\'s hover', async () => {
      const h = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, doc.positionAt(doc.getText().indexOf('"db"') + 2));
      return h && h.length > 0 ? h : undefined;
    });
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /database folder, relative to the workspace folder/);
    assert.deepEqual(vscode.languages.getDiagnostics(file).filter((x) => x.source !== 'WiseJSON').map((d) => d.message), []);
  });

  it('runs a find into the results grid beside the file: explain, columns, rows rendered by the real page, sort, open a document', async () => {
    const grid = (await extensionApi())._internals.queries.grid;
    const doc = await vscode.workspace.openTextDocument(file);
    const shown = nextEvent(grid.onDidPostMessage, (m) => m.type === 'show', 20_000, 'the grid\'s show');
    const rendered = nextEvent(grid.onDidReceiveMessage, (m) => m.type === 'rendered' && m.loaded === 3, 20_000, 'the page rendering the rows');
    const r = (await run(offsetOf(doc, '"sort"')))!;
    assert.equal(r.outcome.kind, 'find');
    assert.equal(r.database, database.id);
    const show = await shown;
    assert.ok(show.type === 'show');
    if (show.type !== 'show') return;
    assert.match(show.title, /^tasks — 3 documents in \d+(\.\d)? ms$/);
    assert.deepEqual({ ...show.explain, ms: 0 }, { plan: 'scan', index: null, keysExamined: 0, docsExamined: 12, returned: 3, indexable: ['done'], ms: 0 });
    assert.deepEqual(show.columns, ['_id', 'title']);
    assert.deepEqual(show.rows.map((x) => [x.id, x.cells[1].text]), [['t11', 'task 11'], ['t10', 'task 10'], ['t9', 'task 9']]);
    await rendered;
    assert.equal(r.results, undefined, 'a find\'s results are in the grid');
    assert.equal(r.outcome.kind === 'find' && r.outcome.count, 3);
    const panel = grid.openPanel!;
    assert.equal(panel.title, show.title);
    assert.ok(panel.visible && panel.viewColumn !== vscode.ViewColumn.One, 'the grid is beside the query file');
    assert.ok(vscode.window.visibleTextEditors.some((e) => e.document.uri.toString() === file.toString()), 'the query file stays visible');
    const html = panel.webview.html;
    assert.match(html, /script-src 'nonce-[^']+';/);
    assert.ok(!html.includes('unsafe-inline') && !html.includes('unsafe-eval'));

    // A click on a header sorts (ascending, descending), as the page would ask.
    const resorted = nextEvent(grid.onDidPostMessage, (m) => m.type === 'show' && m.sort?.column === 'title', 20_000, 'the sorted show');
    await grid.handle({ type: 'sort', column: 'title' });
    const sorted = await resorted;
    assert.ok(sorted.type === 'show' && sorted.view > show.view);
    if (sorted.type !== 'show') return;
    assert.deepEqual(sorted.rows.map((x) => x.id), ['t10', 't11', 't9']);
    const more = nextEvent(grid.onDidPostMessage, (m) => m.type === 'rows', 20_000, 'rows');
    await grid.handle({ type: 'rows', view: sorted.view, offset: 1, count: 5 });
    const rows = await more;
    assert.deepEqual(rows.type === 'rows' && rows.rows.map((x) => x.id), ['t11', 't9']);

    // A click on an _id opens the document.
    await grid.handle({ type: 'open', id: 't9' });
    await waitFor('the document editor', () => vscode.window.activeTextEditor?.document.uri.path === '/tasks/t9.json');
    assert.equal(JSON.parse(vscode.window.activeTextEditor!.document.getText()).title, 'task 9');
    assert.deepEqual(failures, []);
  });

  it('exports the grid\'s result, in its order, as CSV and JSON Lines', async () => {
    const grid = (await extensionApi())._internals.queries.grid;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-grid-export-'));
    try {
      assert.equal(await grid.exportTo('csv', path.join(dir, 'tasks.csv')), 3);
      assert.equal(fs.readFileSync(path.join(dir, 'tasks.csv'), 'utf8'), '_id,title\r\nt10,task 10\r\nt11,task 11\r\nt9,task 9\r\n', 'sorted by title, as the grid shows it');
      await grid.exportTo('jsonl', path.join(dir, 'tasks.jsonl'));
      assert.deepEqual(fs.readFileSync(path.join(dir, 'tasks.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)._id), ['t10', 't11', 't9']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the grid\'s Open as JSON: the results as JSON text, each _id a link to its document', async () => {
    const grid = (await extensionApi())._internals.queries.grid;
    const uri = (await grid.current!.openJson()) as vscode.Uri;
    const results = await vscode.workspace.openTextDocument(uri);
    assert.deepEqual(JSON.parse(results.getText()), [{ _id: 't11', title: 'task 11' }, { _id: 't10', title: 'task 10' }, { _id: 't9', title: 'task 9' }]);
    assert.match(path.posix.basename(uri.path), /^tasks — 3 documents in \d+(\.\d)? ms\.json$/);
    assert.equal(results.languageId, 'json');
    const links = await vscode.commands.executeCommand<vscode.DocumentLink[]>('vscode.executeLinkProvider', uri);
    assert.equal(links.length, 3);
    assert.equal(results.getText(links[0].range), '"t11"');
    const target = links[0].target!;
    assert.equal(target.scheme, 'wisejson');
    const opened = await vscode.workspace.openTextDocument(target);
    assert.equal(JSON.parse(opened.getText()).title, 'task 11');
  });

  it('a scan of many documents offers an index; creating it runs the query again and the explain shows the index', async () => {
    const grid = (await extensionApi())._internals.queries.grid;
    const big = await database.db.collection('big');
    await big.insertMany(Array.from({ length: 2000 }, (_, i) => ({ owner: `u${i % 20}`, n: i })));
    const bigFile = await vscode.workspace.openTextDocument({ language: 'wisejson-query', content: `{ "db": "${DB}", "collection": "big", "find": { "owner": "u7" } }` });
    const first = nextEvent(grid.onDidPostMessage, (m) => m.type === 'show' && m.title.startsWith('big'), 20_000, 'the scan\'s show');
    await vscode.commands.executeCommand('wisejson.runQuery', bigFile.uri, 5);
    const scan = await first;
    assert.ok(scan.type === 'show');
    if (scan.type !== 'show') return;
    assert.deepEqual([scan.explain.plan, scan.explain.docsExamined, scan.explain.returned, scan.explain.indexable], ['scan', 2000, 100, ['owner']]);
    const again = nextEvent(grid.onDidPostMessage, (m) => m.type === 'show' && m.title.startsWith('big') && m.view > scan.view, 20_000, 'the show after the index');
    await grid.handle({ type: 'createIndex', field: 'owner' });
    const indexed = await again;
    assert.ok(indexed.type === 'show');
    if (indexed.type !== 'show') return;
    assert.deepEqual([indexed.explain.plan, indexed.explain.index, indexed.explain.keysExamined, indexed.explain.docsExamined, indexed.explain.returned], ['index', 'owner', 100, 0, 100]);
    assert.deepEqual((await big.getIndexes()).map((i) => i.fieldName), ['owner']);
    await database.db.dropCollection('big');
    assert.deepEqual(failures, []);
  });

  it('runs the query under the cursor with Ctrl+Enter\'s command: a count', async () => {
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    const at = doc.positionAt(offsetOf(doc, '"count"'));
    editor.selection = new vscode.Selection(at, at);
    const r = (await vscode.commands.executeCommand<QueryRun>('wisejson.runQuery'))!;
    assert.deepEqual({ ...r.outcome, ms: 0 }, { kind: 'count', count: 3, ms: 0 });
    assert.deepEqual(JSON.parse((await vscode.workspace.openTextDocument(r.results as vscode.Uri)).getText()), { count: 3 });
  });

  it('an update and a delete, confirmed, each change every match in one commit', async () => {
    const doc = await vscode.workspace.openTextDocument(file);
    const tasks = await database.db.collection('tasks');
    const update = await run(offsetOf(doc, '"$set"'), { confirmed: true });
    assert.deepEqual({ ...update!.outcome, ms: 0 }, { kind: 'update', matched: 3, modified: 3, ms: 0 });
    assert.equal(await tasks.count({ stale: true }), 3);
    const del = await run(offsetOf(doc, '"delete"'), { confirmed: true });
    assert.deepEqual({ ...del!.outcome, ms: 0 }, { kind: 'delete', deleted: 3, ms: 0 });
    assert.equal(await tasks.count(), 9);
    assert.deepEqual(failures, []);
  });

  it('refuses a query with problems and a database that is not open, saying what to fix', async () => {
    const doc = await vscode.workspace.openTextDocument(file);
    assert.equal(await run(offsetOf(doc, '"with": {}')), undefined);
    assert.equal(await run(offsetOf(doc, 'no-such-db')), undefined);
    assert.deepEqual(failures.map((f) => f.code), ['bad_query', 'database_not_open']);
    assert.match(failures[0].message, /"with" goes with "update" only\. \(line 9\)/);
    assert.match(failures[1].message, /No open database "no-such-db".*Open databases: .*"\.wisejson-queries-test"/);
  });

  it('New Query on a collection opens an untitled query file for it that runs', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>('wisejson.newQuery', { database: database.id, collection: 'tasks' });
    const editor = vscode.window.activeTextEditor!;
    assert.equal(editor.document.uri.toString(), uri.toString());
    assert.equal(editor.document.languageId, 'wisejson-query');
    assert.equal(editor.document.uri.scheme, 'untitled');
    assert.equal(editor.document.getText().slice(editor.document.offsetAt(editor.selection.active) - 1, editor.document.offsetAt(editor.selection.active) + 1), '{}');
    const r = (await vscode.commands.executeCommand<QueryRun>('wisejson.runQuery'))!;
    assert.equal(r.outcome.kind === 'find' && r.outcome.count, 9);
    assert.deepEqual(failures, []);
  });

  it('keeps each run in the workspace\'s history: run one again, open one as a file, bounded by the setting', async () => {
    const api = await extensionApi();
    const history = api._internals.queries.history;
    const entries = history.list();
    assert.deepEqual(entries.map((e) => [e.query.kind, e.count]), [['find', 9], ['delete', 3], ['update', 3], ['count', 3], ['find', 100], ['find', 100], ['find', 3]]);
    assert.ok(entries.every((e) => e.database === database.id && e.at > Date.now() - 120_000 && e.ms >= 0));
    const again = (await vscode.commands.executeCommand<QueryRun>('wisejson.showQueryHistory', { index: 3, action: 'run' }))!;
    assert.deepEqual({ ...again.outcome, ms: 0 }, { kind: 'count', count: 0, ms: 0 }, 'the done tasks were deleted since');
    assert.equal(history.list()[0].query.kind, 'count', 'the re-run is the newest entry');
    const opened = await vscode.commands.executeCommand<vscode.Uri>('wisejson.showQueryHistory', { index: 7, action: 'open' });
    const doc = await vscode.workspace.openTextDocument(opened);
    assert.equal(doc.languageId, 'wisejson-query');
    assert.deepEqual(JSON.parse(doc.getText()), { db: DB, collection: 'tasks', find: { done: false }, sort: { rank: -1 }, projection: { title: 1 }, limit: 3 });
    const config = vscode.workspace.getConfiguration('wisejson');
    await config.update('queries.historySize', 2, vscode.ConfigurationTarget.Global);
    try {
      await waitFor('the history to shrink', () => history.list().length === 2);
    } finally {
      await config.update('queries.historySize', undefined, vscode.ConfigurationTarget.Global);
    }
    assert.deepEqual(failures, []);
  });

  describe('editing help from the engine itself', () => {
    /** An untitled query file with `|` as the cursor; resolves with it and the cursor's position. */
    async function untitled(textWithCursor: string): Promise<{ doc: vscode.TextDocument; at: vscode.Position }> {
      const offset = textWithCursor.indexOf('|');
      const doc = await vscode.workspace.openTextDocument({ language: 'wisejson-query', content: textWithCursor.replace('|', '') });
      return { doc, at: doc.positionAt(offset) };
    }
    async function complete(textWithCursor: string): Promise<Map<string, vscode.CompletionItem>> {
      const { doc, at } = await untitled(textWithCursor);
      const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, at);
      return new Map(list.items.map((i) => [typeof i.label === 'string' ? i.label : i.label.label, i]));
    }
    const text = (v: string | vscode.SnippetString | undefined) => (typeof v === 'string' ? v : v?.value);

    it('completes db and collection names as JSON strings', async () => {
      const dbs = await complete('{ "db": "|", "collection": "tasks", "find": {} }');
      assert.equal(text(dbs.get(DB)?.insertText), JSON.stringify(DB));
      const collections = await complete(`{ "db": "${DB}", "collection": |, "find": {} }`);
      assert.equal(text(collections.get('tasks')?.insertText), '"tasks"');
    });

    it('completes field paths from a sample of the collection (refreshed when it changes), and operators', async () => {
      const fields = await complete(`{ "db": "${DB}", "collection": "tasks", "find": { | } }`);
      for (const f of ['_id', 'title', 'rank', 'done', '$or']) assert.ok(fields.has(f), `${f} is offered: ${[...fields.keys()].join(', ')}`);
      assert.equal(fields.get('rank')!.detail, 'number');
      assert.equal(text(fields.get('rank')!.insertText), '"rank": ');
      assert.ok(!fields.has('priority'));
      const tasks = await database.db.collection('tasks');
      await tasks.insert({ title: 'new', priority: { level: 2 } });
      await waitFor('the new field in the completion', async () => (await complete(`{ "db": "${DB}", "collection": "tasks", "find": { | } }`)).has('priority.level'));
      const operators = await complete(`{ "db": "${DB}", "collection": "tasks", "find": { "rank": { "$|": 1 } } }`);
      assert.ok(operators.has('$gte') && operators.has('$elemMatch') && !operators.has('$set'));
      assert.equal(text(operators.get('$gte')!.insertText), '"$gte"', 'the colon is there already');
      const change = await complete(`{ "db": "${DB}", "collection": "tasks", "update": {}, "with": { | } }`);
      assert.ok(change.has('$set') && change.has('$currentDate') && !change.has('$gte'));
    });

    it('hover text for operators', async () => {
      const doc = await vscode.workspace.openTextDocument(file);
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, doc.positionAt(doc.getText().indexOf('"$set"') + 2));
      const all = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
      assert.match(all, /\*\*\$set\*\* — Sets fields/);
    });

    it('marks what the engine refuses, where it is, as you type', async () => {
      const { doc } = await untitled(`{ "db": "${DB}", "collection": "tasks", "find": { "rank": { "$gt": 1, "$in": 3 } } }|`);
      const [problem] = await waitFor('the diagnostic', () => {
        const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'WiseJSON');
        return d.length > 0 ? d : undefined;
      });
      assert.equal(doc.getText(problem.range), '"$in": 3');
      assert.match(problem.message, /"\$in" for "rank" needs an array of values/);
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, problem.range, '"$in": [3]');
      assert.ok(await vscode.workspace.applyEdit(edit));
      await waitFor('the diagnostic to go', () => vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'WiseJSON').length === 0);
    });
  });
});
