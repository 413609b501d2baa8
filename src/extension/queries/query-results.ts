/**
 * Query results as read-only JSON documents (`wisejson-results:/<run>/<collection> — <summary>.json`),
 * opened beside the query file with the count and time in the tab's title. Each top-level
 * `"_id"` of a `find`'s results is a link that opens the document in its editor.
 */
import * as vscode from 'vscode';
import { documentUri, escapeSegment } from '../documents/document-uri';
import { outcomeJson, type QueryOutcome } from './query-runner';

export const RESULTS_SCHEME = 'wisejson-results';

interface Results {
  databaseId: string;
  collection: string;
  text: string;
}

/** How many result documents stay readable (older runs' tabs then show a note to run again). */
const KEPT_RUNS = 50;

export class QueryResults implements vscode.TextDocumentContentProvider, vscode.DocumentLinkProvider, vscode.Disposable {
  private readonly runs = new Map<string, Results>();
  private run = 0;
  private readonly disposables: vscode.Disposable[];

  constructor() {
    this.disposables = [
      vscode.workspace.registerTextDocumentContentProvider(RESULTS_SCHEME, this),
      vscode.languages.registerDocumentLinkProvider({ scheme: RESULTS_SCHEME }, this),
    ];
  }

  /** Opens the outcome of a run beside the active editor; resolves with the results document's URI. */
  async show(databaseId: string, collection: string, outcome: QueryOutcome): Promise<vscode.Uri> {
    const n = ++this.run;
    const { text, summary } = outcomeJson(outcome);
    const uri = vscode.Uri.from({ scheme: RESULTS_SCHEME, path: `/${n}/${escapeSegment(collection)} — ${summary}.json` });
    this.runs.set(uri.path, { databaseId, collection, text });
    for (const key of this.runs.keys()) {
      if (this.runs.size <= KEPT_RUNS) break;
      this.runs.delete(key);
    }
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.runs.get(uri.path)?.text ?? '// These results are no longer kept: run the query again.\n';
  }

  provideDocumentLinks(doc: vscode.TextDocument): vscode.DocumentLink[] {
    const results = this.runs.get(doc.uri.path);
    if (!results) return [];
    const links: vscode.DocumentLink[] = [];
    // A find's results are an array of documents printed with two spaces: their own fields are
    // indented by four.
    const ID = /^ {4}"_id": ("(?:[^"\\]|\\.)*")/;
    for (let line = 0; line < doc.lineCount; line++) {
      const m = ID.exec(doc.lineAt(line).text);
      if (!m) continue;
      const id = JSON.parse(m[1]) as string;
      const start = m[0].length - m[1].length;
      const link = new vscode.DocumentLink(new vscode.Range(line, start, line, m[0].length), vscode.Uri.from(documentUri(results.databaseId, results.collection, id)));
      link.tooltip = vscode.l10n.t('Open the document {0}', id);
      links.push(link);
    }
    return links;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
