/**
 * Query files in the editor: the `wisejson-query` language (`*.wjq`), a CodeLens above each
 * query, Ctrl/Cmd+Enter for the query under the cursor, problems as diagnostics (./query-file,
 * ./query-check), completion and operator hovers (./query-assist), "New Query" on a collection,
 * and the workspace's query history (./query-history). Runs go to the local engine
 * (./query-runner), offline; a find's results open in the grid beside the file
 * (./results-grid), the others as JSON text (./query-results).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatabaseRegistry, OpenDatabase } from '../databases/database-registry';
import { CommandError, resolveCollection } from '../commands/targets';
import type { CommandRegistrar } from '../commands/register-command';
import { FIELD_OPERATORS, LOGICAL_OPERATORS } from '../../engine/query/match';
import { UPDATE_OPERATORS } from '../../engine/query/update';
import { FILTER_OPERATOR_DOCS, operatorHoverAt, suggestionAt, UPDATE_OPERATOR_DOCS, type SuggestionPlace } from './query-assist';
import type { FieldSample } from '../schema/field-sample';
import type { FieldSamples } from '../schema/field-samples';
import { entryAt, parseQueryFile, queryText, type FileQuery, type QueryFile } from './query-file';
import { QueryHistory, type HistoryEntry } from './query-history';
import { QueryResults } from './query-results';
import { ResultSet } from './result-set';
import { ResultsGrid } from './results-grid';
import { countTouched, describeOutcome, runQuery, type QueryOutcome } from './query-runner';
import type { QueryExplain } from '../../engine';

export const QUERY_LANGUAGE = 'wisejson-query';
export const HISTORY_SIZE_SETTING = 'queries.historySize';

interface RunOptions {
  /** Answers the confirmation of an update or delete without asking (for other extensions and tests). */
  confirmed?: boolean;
}

/**
 * What `wisejson.runQuery` resolves with (undefined when the user declined a write). Small on
 * purpose: a command's result crosses to whoever ran it (the CodeLens runs it from the window),
 * so a find says how many documents it found, not the documents.
 */
export interface QueryRun {
  database: string;
  query: FileQuery;
  outcome: Exclude<QueryOutcome, { kind: 'find' }> | { kind: 'find'; count: number; explain: QueryExplain; ms: number };
  /** The JSON results document (counts and writes); a find's results are in the grid. */
  results: vscode.Uri | undefined;
}

export function registerQueryWorkbench(context: vscode.ExtensionContext, commands: CommandRegistrar, registry: DatabaseRegistry, samples: FieldSamples, log: vscode.LogOutputChannel): QueryWorkbench {
  const historySize = () => vscode.workspace.getConfiguration('wisejson').get<number>(HISTORY_SIZE_SETTING, 100);
  const history = new QueryHistory(context.workspaceState, historySize());
  const workbench = new QueryWorkbench(registry, samples, history, new ResultsGrid(context.extensionUri, log));
  context.subscriptions.push(workbench, vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(`wisejson.${HISTORY_SIZE_SETTING}`)) void history.setCapacity(historySize());
  }));
  commands.register('wisejson.runQuery', (uri?: unknown, offset?: unknown, options?: RunOptions) => workbench.run(uri, offset, options));
  commands.register('wisejson.newQuery', async (arg?: unknown) => {
    const target = await resolveCollection(registry, arg);
    if (!target) return undefined;
    // The cursor inside the filter, ready to type: placed as the editor opens, so nothing typed
    // at once lands before it is there.
    const text = newQueryText(target.database, target.name);
    const editor = await openQueryText(text, text.indexOf('{}') + 1);
    return editor.document.uri;
  });
  commands.register('wisejson.showQueryHistory', (pick?: HistoryPick, options?: RunOptions) => workbench.showHistory(pick, options));
  return workbench;
}

/** A choice in the history without asking (for other extensions and tests): the entry's place, newest first. */
interface HistoryPick {
  index: number;
  action: 'run' | 'open';
}

async function openQueryText(content: string, cursor = 0): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument({ language: QUERY_LANGUAGE, content });
  const at = doc.positionAt(cursor);
  return vscode.window.showTextDocument(doc, { selection: new vscode.Range(at, at) });
}

export class QueryWorkbench implements vscode.CodeLensProvider, vscode.CompletionItemProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly results = new QueryResults();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection(QUERY_LANGUAGE);
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[];
  private readonly parsed = new WeakMap<vscode.TextDocument, { version: number; file: QueryFile }>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;

  constructor(private readonly registry: DatabaseRegistry, private readonly samples: FieldSamples, readonly history: QueryHistory, readonly grid: ResultsGrid) {
    const selector: vscode.DocumentSelector = { language: QUERY_LANGUAGE };
    this.disposables = [
      this.results, this.grid, this.diagnostics, this.lensesChanged,
      vscode.languages.registerCodeLensProvider(selector, this),
      vscode.languages.registerCompletionItemProvider(selector, this, '"', '$', '.'),
      vscode.languages.registerHoverProvider(selector, this),
      vscode.workspace.onDidOpenTextDocument((d) => this.check(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.check(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => this.diagnostics.delete(d.uri)),
      registry.onDidChangeDatabases(() => this.lensesChanged.fire()),
    ];
    for (const d of vscode.workspace.textDocuments) this.check(d);
  }

  /** The parsed query file of `doc` (cached per version). */
  file(doc: vscode.TextDocument): QueryFile {
    const cached = this.parsed.get(doc);
    if (cached && cached.version === doc.version) return cached.file;
    const file = parseQueryFile(doc.getText());
    this.parsed.set(doc, { version: doc.version, file });
    return file;
  }

  private check(doc: vscode.TextDocument): void {
    if (doc.languageId !== QUERY_LANGUAGE) return;
    const file = this.file(doc);
    const problems = [...file.problems, ...file.entries.flatMap((e) => e.problems)];
    this.diagnostics.set(doc.uri, problems.map((p) => {
      const d = new vscode.Diagnostic(new vscode.Range(doc.positionAt(p.offset), doc.positionAt(p.offset + p.length)), p.message, vscode.DiagnosticSeverity.Error);
      d.source = 'WiseJSON';
      return d;
    }));
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    return this.file(doc).entries.map((e) => {
      const range = new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset));
      if (!e.query) return new vscode.CodeLens(range, { title: vscode.l10n.t('$(warning) Fix the query to run it'), command: 'workbench.actions.view.problems' });
      const title = e.query.kind === 'find' ? vscode.l10n.t('$(play) Run') : e.query.kind === 'count' ? vscode.l10n.t('$(play) Count') : e.query.kind === 'update' ? vscode.l10n.t('$(play) Update…') : vscode.l10n.t('$(play) Delete…');
      return new vscode.CodeLens(range, { title, command: 'wisejson.runQuery', arguments: [doc.uri, e.offset], tooltip: vscode.l10n.t('Run this query against {0} (Ctrl+Enter)', e.query.db) });
    });
  }

  async provideCompletionItems(doc: vscode.TextDocument, position: vscode.Position): Promise<vscode.CompletionItem[]> {
    const text = doc.getText();
    const place = suggestionAt(text, doc.offsetAt(position));
    if (!place) return [];
    const s = place.suggestion;
    const items: vscode.CompletionItem[] = [];
    const add = (label: string, kind: vscode.CompletionItemKind, detail?: string, documentation?: string, sortText?: string): void => {
      const item = new vscode.CompletionItem(label, kind);
      item.detail = detail;
      if (documentation) item.documentation = new vscode.MarkdownString(documentation);
      item.sortText = sortText;
      items.push(item);
    };
    if (s.what === 'db') {
      const own = vscode.workspace.getWorkspaceFolder(doc.uri);
      for (const d of this.registry.list()) if (!own || d.folder === own) add(d.setting, vscode.CompletionItemKind.Folder, d.folder.name);
    } else if (s.what === 'collection') {
      const database = s.db === undefined ? undefined : this.tryDatabaseOf(doc.uri, s.db);
      for (const name of database ? await database.db.getCollectionNames() : []) add(name, vscode.CompletionItemKind.Class, database!.label);
    } else if (s.what === 'filter-operator') {
      for (const op of FIELD_OPERATORS) add(op, vscode.CompletionItemKind.Operator, undefined, FILTER_OPERATOR_DOCS[op]);
    } else {
      if (s.what === 'update-operator') for (const op of UPDATE_OPERATORS) add(op, vscode.CompletionItemKind.Operator, undefined, UPDATE_OPERATOR_DOCS[op], `0${op}`);
      const sample = await this.fieldsOf(doc.uri, s.db, s.collection);
      sample?.fields.forEach((f, i) => add(f.path, vscode.CompletionItemKind.Field, f.types.join(' | '), vscode.l10n.t('In {0} of {1} sampled documents.', f.count, sample.sampled), `1${String(i).padStart(5, '0')}`));
      if (s.what === 'field' && s.logical) for (const op of LOGICAL_OPERATORS) add(op, vscode.CompletionItemKind.Operator, undefined, FILTER_OPERATOR_DOCS[op], `2${op}`);
    }
    for (const item of items) quote(item, place, doc, text);
    return items;
  }

  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const hover = operatorHoverAt(doc.getText(), doc.offsetAt(position));
    return hover && new vscode.Hover(new vscode.MarkdownString(hover.text), new vscode.Range(doc.positionAt(hover.offset), doc.positionAt(hover.offset + hover.length)));
  }

  /** The field paths of a sample of the query's collection (cached until the collection changes). */
  private async fieldsOf(uri: vscode.Uri, db: string | undefined, collection: string | undefined): Promise<FieldSample | undefined> {
    const database = db === undefined ? undefined : this.tryDatabaseOf(uri, db);
    if (!database || collection === undefined || !(await database.db.getCollectionNames()).includes(collection)) return undefined;
    return this.samples.of(database, collection);
  }

  private tryDatabaseOf(uri: vscode.Uri, db: string): OpenDatabase | undefined {
    try {
      return this.databaseOf(uri, db);
    } catch {
      return undefined;
    }
  }

  /**
   * Runs the query at `offset` of the query file `uri` (default: the active editor's, at its
   * cursor). An update or delete says how many documents it will touch and asks first.
   */
  async run(uriArg?: unknown, offsetArg?: unknown, options: RunOptions = {}): Promise<QueryRun | undefined> {
    const editor = vscode.window.activeTextEditor;
    let doc: vscode.TextDocument;
    if (uriArg instanceof vscode.Uri) doc = await vscode.workspace.openTextDocument(uriArg);
    else if (editor && editor.document.languageId === QUERY_LANGUAGE) doc = editor.document;
    else throw new CommandError('no_query_file', vscode.l10n.t('Open a query file (*.wjq) and put the cursor in a query to run it; WiseJSON: New Query on a collection makes one.'));
    const offset = typeof offsetArg === 'number' ? offsetArg : editor?.document === doc ? doc.offsetAt(editor.selection.active) : 0;
    const file = this.file(doc);
    const entry = entryAt(file, offset) ?? file.entries[0];
    if (!entry) throw new CommandError('no_query', vscode.l10n.t('This file has no query yet: write one like { "db": ".wisejson", "collection": "tasks", "find": {} }.'));
    if (!entry.query) {
      const first = entry.problems[0] ?? file.problems[0];
      throw new CommandError('bad_query', vscode.l10n.t('This query cannot run: {0} (line {1})', first?.message ?? '', doc.positionAt(first?.offset ?? entry.offset).line + 1));
    }
    return this.execute(this.databaseOf(doc.uri, entry.query.db), entry.query, options);
  }

  /** Runs `query` against `database`, asking first for an update or delete; keeps it in the history. */
  private async execute(database: OpenDatabase, query: FileQuery, options: RunOptions): Promise<QueryRun | undefined> {
    if (query.kind === 'update' || query.kind === 'delete') {
      if (database.readOnly) throw new CommandError('read_only', vscode.l10n.t('{0} is open read-only in this untrusted workspace: trust the workspace to change it.', database.label));
      const touched = await countTouched(database.db, query);
      if (!options.confirmed) {
        const verb = query.kind === 'update' ? vscode.l10n.t('Update') : vscode.l10n.t('Delete');
        const answer = await vscode.window.showWarningMessage(
          query.kind === 'update'
            ? vscode.l10n.t('Update {0} document(s) of {1} in {2}?', touched, query.collection, database.label)
            : vscode.l10n.t('Delete {0} document(s) of {1} in {2}?', touched, query.collection, database.label),
          { modal: true, detail: vscode.l10n.t('All of them change in one transaction; with sync on, the change reaches the server and the other replicas. This cannot be undone here.') },
          verb,
        );
        if (answer !== verb) return undefined;
      }
    }
    const outcome = await runQuery(database.db, query);
    const results = outcome.kind === 'find'
      ? void this.grid.show({
        databaseId: database.id, collection: query.collection, title: `${query.collection} — ${describeOutcome(outcome)}`,
        explain: outcome.explain, results: new ResultSet(outcome.documents),
        rerun: () => this.execute(database, query, options),
        openJson: () => this.results.show(database.id, query.collection, outcome),
      })
      : await this.results.show(database.id, query.collection, outcome);
    vscode.window.setStatusBarMessage(`WiseJSON: ${query.collection} — ${describeOutcome(outcome)}`, 5000);
    await this.history.record({ query, database: database.id, at: Date.now(), count: outcomeCount(outcome), ms: outcome.ms });
    return { database: database.id, query, outcome: outcome.kind === 'find' ? { kind: 'find', count: outcome.documents.length, explain: outcome.explain, ms: outcome.ms } : outcome, results };
  }

  /**
   * The history in a quick pick, newest first: choosing an entry runs it again (an update or
   * delete asks again), its button opens it as a new query file.
   */
  async showHistory(pick?: HistoryPick, options: RunOptions = {}): Promise<QueryRun | vscode.Uri | undefined> {
    const entries = this.history.list();
    if (entries.length === 0) {
      void vscode.window.showInformationMessage(vscode.l10n.t('No query has run in this workspace yet (or wisejson.queries.historySize is 0). Run one from a query file (*.wjq).'));
      return undefined;
    }
    const chosen = pick ?? (await this.pickFromHistory(entries));
    if (!chosen) return undefined;
    const entry = entries[chosen.index];
    if (!entry) throw new CommandError('no_history_entry', vscode.l10n.t('The history has {0} entries; there is none at {1}.', entries.length, chosen.index));
    if (chosen.action === 'open') return (await openQueryText(queryText(entry.query))).document.uri;
    const database = this.registry.get(entry.database);
    if (!database) throw new CommandError('database_not_open', vscode.l10n.t('The database {0} this query ran against is not open. Open it (WiseJSON: Open Folder as Database), or open the query as a file and change its "db".', entry.database));
    return this.execute(database, entry.query, options);
  }

  private pickFromHistory(entries: HistoryEntry[]): Promise<HistoryPick | undefined> {
    const open: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('go-to-file'), tooltip: vscode.l10n.t('Open as Query File') };
    const clear: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('clear-all'), tooltip: vscode.l10n.t('Clear History') };
    const quickPick = vscode.window.createQuickPick<vscode.QuickPickItem & { index: number }>();
    quickPick.title = vscode.l10n.t('Query History');
    quickPick.placeholder = vscode.l10n.t('Choose a query to run it again; the button opens it as a file');
    quickPick.buttons = [clear];
    quickPick.matchOnDescription = true;
    quickPick.items = entries.map((e, index) => ({
      index,
      label: `${e.query.kind} ${e.query.collection} ${truncate(JSON.stringify(e.query.filter), 80)}`,
      description: this.registry.get(e.database)?.label ?? e.database,
      detail: `${outcomeWord(e)} · ${e.ms} ms · ${new Date(e.at).toLocaleString()}`,
      buttons: [open],
    }));
    return new Promise((resolve) => {
      let done = false;
      const finish = (value: HistoryPick | undefined) => {
        if (done) return;
        done = true;
        resolve(value);
        quickPick.dispose();
      };
      quickPick.onDidAccept(() => finish(quickPick.selectedItems[0] && { index: quickPick.selectedItems[0].index, action: 'run' }));
      quickPick.onDidTriggerItemButton((e) => finish({ index: e.item.index, action: 'open' }));
      quickPick.onDidTriggerButton(() => void this.history.clear().then(() => finish(undefined)));
      quickPick.onDidHide(() => finish(undefined));
      quickPick.show();
    });
  }

  /**
   * The open database a query's `db` names: a folder relative to the workspace folder holding
   * the file (or, for an untitled file, to any workspace folder that has it open).
   */
  private databaseOf(uri: vscode.Uri, db: string): OpenDatabase {
    const own = vscode.workspace.getWorkspaceFolder(uri);
    const folders = own ? [own] : vscode.workspace.workspaceFolders ?? [];
    for (const f of folders) {
      const d = this.registry.get(path.resolve(f.uri.fsPath, db));
      if (d) return d;
    }
    const open = this.registry.list().filter((d) => !own || d.folder === own).map((d) => `"${d.setting}"`);
    throw new CommandError('database_not_open', vscode.l10n.t(
      'No open database "{0}" in {1}: "db" is a database folder relative to the workspace folder, as in the wisejson.databases setting. Open databases: {2}.',
      db, own?.name ?? vscode.l10n.t('this workspace'), open.length > 0 ? open.join(', ') : vscode.l10n.t('none'),
    ));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** The number a run is about: documents found, counted, updated or deleted. */
function outcomeCount(o: QueryOutcome): number {
  return o.kind === 'find' ? o.documents.length : o.kind === 'count' ? o.count : o.kind === 'update' ? o.modified : o.deleted;
}

function outcomeWord(e: HistoryEntry): string {
  const kind = e.query.kind;
  return kind === 'find' ? vscode.l10n.t('{0} document(s)', e.count) : kind === 'count' ? vscode.l10n.t('count {0}', e.count) : kind === 'update' ? vscode.l10n.t('{0} updated', e.count) : vscode.l10n.t('{0} deleted', e.count);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A completion's text as JSON: `"label"` for a value, `"label": ` for a new key (only the quoted
 * name when the key's colon is already there), replacing the string being typed.
 */
function quote(item: vscode.CompletionItem, place: SuggestionPlace, doc: vscode.TextDocument, text: string): void {
  const label = typeof item.label === 'string' ? item.label : item.label.label;
  const end = place.replace ? place.replace.offset + place.replace.length : undefined;
  const colon = end !== undefined && /^\s*:/.test(text.slice(end));
  item.insertText = JSON.stringify(label) + (place.isKey && !colon ? ': ' : '');
  item.filterText = JSON.stringify(label);
  if (place.replace) item.range = new vscode.Range(doc.positionAt(place.replace.offset), doc.positionAt(place.replace.offset + place.replace.length));
}

/**
 * The text of a new query file for `collection`: a find with an empty filter. No comment in it:
 * VS Code's JSON checks allow comments in a query file by its name (*.wjq), which an untitled
 * file has not.
 */
function newQueryText(database: OpenDatabase, collection: string): string {
  return `[\n  {\n    "db": ${JSON.stringify(database.setting)},\n    "collection": ${JSON.stringify(collection)},\n    "find": {},\n    "limit": 50\n  }\n]\n`;
}
