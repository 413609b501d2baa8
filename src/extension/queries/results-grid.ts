/**
 * The query results grid: one webview panel beside the query file showing a find's result as a
 * table (src/webview/grid), with the explain line above it. The host keeps the result
 * (./result-set) and sends rows as the page scrolls to them; the page never holds more than it
 * shows. Messages are typed in ./grid-protocol.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { QueryExplain } from '../../engine';
import { EXPORT_FORMATS, exportResults, type ExportFormat } from './export-results';
import { parseGridMessage, type GridStrings, type GridToHostMessage, type HostToGridMessage } from './grid-protocol';
import type { ResultSet } from './result-set';
import { CommandError } from '../commands/targets';
import { pageHtml } from '../webview/page-html';

export const GRID_VIEW_TYPE = 'wisejson.queryResults';
/** Rows sent with `show`, before the page asks for more. */
export const FIRST_ROWS = 200;

/** A find's result, where it came from, and what the grid's buttons do with it. */
export interface GridResult {
  databaseId: string;
  collection: string;
  title: string;
  explain: QueryExplain;
  results: ResultSet;
  /** Runs the query again (after an index was created). */
  rerun(): Promise<unknown>;
  /** Opens the result as JSON text. */
  openJson(): Promise<unknown>;
}

export class ResultsGrid implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private result: GridResult | undefined;
  private view = 0;
  private ready = false;
  private readonly received = new vscode.EventEmitter<GridToHostMessage>();
  private readonly posted = new vscode.EventEmitter<HostToGridMessage>();
  /** Every valid message the page posts (the extension's tests listen). */
  readonly onDidReceiveMessage = this.received.event;
  /** Every message posted to the page. */
  readonly onDidPostMessage = this.posted.event;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

  get current(): GridResult | undefined {
    return this.result;
  }

  /** The grid's panel while it is open. */
  get openPanel(): vscode.WebviewPanel | undefined {
    return this.panel;
  }

  /** Shows `result` in the grid (opening it beside the active editor if it is closed). */
  show(result: GridResult): vscode.WebviewPanel {
    this.result = result;
    this.view++;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel(GRID_VIEW_TYPE, result.title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true,
        // Flipping between the query and its results must not reload the page (a second or more).
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media')],
      });
      this.ready = false;
      const panel = this.panel;
      const subscription = panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw));
      panel.onDidDispose(() => {
        subscription.dispose();
        if (this.panel === panel) this.panel = undefined;
      });
      panel.webview.html = this.html(panel.webview);
    } else {
      this.panel.title = result.title;
      // Beside the query file: moved out of the file's own group if it is there.
      const fileColumn = vscode.window.activeTextEditor?.viewColumn;
      this.panel.reveal(fileColumn !== undefined && this.panel.viewColumn === fileColumn ? vscode.ViewColumn.Beside : undefined, true);
      if (this.ready) this.sendShow();
    }
    return this.panel;
  }

  private receive(raw: unknown): void {
    const message = parseGridMessage(raw);
    if (!message) {
      this.log.warn('Query results: ignored an unexpected message from the page');
      return;
    }
    this.received.fire(message);
    void this.handle(message);
  }

  /** Does what a message of the page asks (public for the extension's tests, which act as the page's clicks). */
  async handle(message: GridToHostMessage): Promise<void> {
    const result = this.result;
    if (message.type === 'ready') {
      this.ready = true;
      this.sendShow();
    }
    if (!result) return;
    try {
      switch (message.type) {
        case 'ready':
          break;
        case 'rows':
          if (message.view === this.view) this.post({ type: 'rows', view: this.view, offset: message.offset, rows: result.results.rows(message.offset, message.count) });
          break;
        case 'sort':
          result.results.toggleSort(message.column);
          this.view++;
          this.sendShow();
          break;
        case 'open':
          await vscode.commands.executeCommand('wisejson.openDocument', { database: result.databaseId, collection: result.collection, id: message.id });
          break;
        case 'copy':
          await vscode.env.clipboard.writeText(message.text);
          vscode.window.setStatusBarMessage(vscode.l10n.t('Copied'), 2000);
          break;
        case 'createIndex': {
          const created = await vscode.commands.executeCommand('wisejson.createIndex', { database: result.databaseId, collection: result.collection }, { field: message.field, unique: false });
          if (created) await result.rerun();
          break;
        }
        case 'openJson':
          await result.openJson();
          break;
        case 'export':
          await this.exportWithDialogs();
          break;
        case 'rendered':
          break;
      }
    } catch (err) {
      void vscode.window.showErrorMessage(err instanceof Error ? err.message : String(err));
    }
  }

  /** Asks for a format and a file, then exports (see {@link exportTo}). */
  private async exportWithDialogs(): Promise<void> {
    const result = this.result;
    if (!result) return;
    const labels: Record<ExportFormat, string> = { json: 'JSON', jsonl: 'JSON Lines', csv: 'CSV' };
    const pick = await vscode.window.showQuickPick(EXPORT_FORMATS.map((f) => ({ label: labels[f], format: f })), { title: vscode.l10n.t('Export {0} documents as', result.results.total) });
    if (!pick) return;
    const target = await vscode.window.showSaveDialog({
      title: vscode.l10n.t('Export Query Results'),
      defaultUri: vscode.Uri.file(path.join(path.dirname(result.databaseId), `${result.collection}-results.${pick.format}`)),
      filters: { [labels[pick.format]]: [pick.format] },
    });
    if (!target) return;
    await this.exportTo(pick.format, target.fsPath);
  }

  /**
   * Exports the current result, in the grid's order, to `file` with a cancellable progress
   * notification; resolves with how many documents were written (undefined when cancelled).
   */
  async exportTo(format: ExportFormat, file: string): Promise<number | undefined> {
    const result = this.result;
    if (!result) throw new CommandError('no_results', vscode.l10n.t('There are no query results to export: run a find first.'));
    const docs = result.results.documents();
    const written = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Exporting {0} documents to {1}', docs.length, path.basename(file)), cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        const cancel = token.onCancellationRequested(() => abort.abort());
        let last = 0;
        try {
          return await exportResults(docs, result.results.columns, format, file, {
            signal: abort.signal,
            onProgress: (n, total) => {
              progress.report({ increment: ((n - last) / Math.max(1, total)) * 100, message: `${n} / ${total}` });
              last = n;
            },
          });
        } catch (err) {
          if ((err as { code?: string }).code === 'EXPORT_CANCELLED') return undefined;
          throw err;
        } finally {
          cancel.dispose();
        }
      },
    );
    if (written !== undefined) void vscode.window.showInformationMessage(vscode.l10n.t('Exported {0} documents to {1}.', written, file));
    return written;
  }

  private sendShow(): void {
    const r = this.result;
    if (!r) return;
    this.post({
      type: 'show', view: this.view, title: r.title, explain: r.explain, columns: r.results.columns, total: r.results.total,
      sort: r.results.sort, rows: r.results.rows(0, FIRST_ROWS), strings: strings(),
    });
  }

  private post(message: HostToGridMessage): void {
    this.posted.fire(message);
    void this.panel?.webview.postMessage(message);
  }

  private html(webview: vscode.Webview): string {
    return pageHtml(webview, {
      script: vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'grid.js'),
      style: vscode.Uri.joinPath(this.extensionUri, 'media', 'grid.css'),
      title: vscode.l10n.t('Query Results'),
    });
  }

  dispose(): void {
    this.panel?.dispose();
    this.received.dispose();
    this.posted.dispose();
  }
}

function strings(): GridStrings {
  return {
    explainScan: vscode.l10n.t('Full scan: {0} documents examined, {1} returned in {2} ms'),
    explainIndex: vscode.l10n.t('Index on {0}: {1} index entries and {2} documents examined, {3} returned in {4} ms'),
    explainId: vscode.l10n.t('By _id: {0} returned in {1} ms'),
    createIndex: vscode.l10n.t('Create index on {0}'),
    openJson: vscode.l10n.t('Open as JSON'),
    export: vscode.l10n.t('Export…'),
    loading: vscode.l10n.t('Loading…'),
    empty: vscode.l10n.t('No documents match.'),
    copyCell: vscode.l10n.t('Copy value (Ctrl+C)'),
    copyRow: vscode.l10n.t('Copy row as JSON (Ctrl+Shift+C)'),
    value: vscode.l10n.t('Value of {0} in {1}'),
    count: vscode.l10n.t('{0} documents'),
  };
}
