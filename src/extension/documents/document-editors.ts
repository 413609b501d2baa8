/**
 * Opening documents in ordinary JSON editors, and inserting new ones (from an editor or from
 * JSON text). The editors read and write through the `wisejson:` file system
 * (./document-file-system), so saving, dirty state, "changed on disk" and save conflicts are
 * VS Code's own.
 */
import * as vscode from 'vscode';
import type { DatabaseRegistry, OpenDatabase } from '../databases/database-registry';
import { DOCUMENT_SCHEME, documentUri, newDocumentUri } from './document-uri';
import { DocumentFileSystem, InsertedFromEditor, parseDocumentText } from './document-file-system';
import { WiseJSONError } from '../../engine/errors';

/** A document inserted through a new-document editor. */
export interface InsertedDocument {
  readonly databaseId: string;
  readonly collection: string;
  readonly id: string;
}

export interface OpenDocumentOptions {
  /** Open as a preview editor (replaced by the next preview). Default: VS Code's setting. */
  readonly preview?: boolean;
  readonly viewColumn?: vscode.ViewColumn;
}

/** Registers the `wisejson:` file system and returns what the tree and the commands use. */
export function registerDocuments(context: vscode.ExtensionContext, registry: DatabaseRegistry, log: vscode.LogOutputChannel): DocumentEditors {
  const editors = new DocumentEditors(registry, log);
  context.subscriptions.push(
    editors,
    vscode.workspace.registerFileSystemProvider(DOCUMENT_SCHEME, editors.fileSystem, { isCaseSensitive: true }),
  );
  return editors;
}

export class DocumentEditors implements vscode.Disposable {
  /** The `wisejson:` file system provider. */
  readonly fileSystem: DocumentFileSystem;
  private readonly insertedEmitter = new vscode.EventEmitter<InsertedDocument>();
  private readonly disposables: vscode.Disposable[] = [];

  /** A new-document editor was saved: the document was inserted and now has its own editor. */
  readonly onDidInsert = this.insertedEmitter.event;

  constructor(private readonly registry: DatabaseRegistry, private readonly log: vscode.LogOutputChannel) {
    this.fileSystem = new DocumentFileSystem(registry, log);
    this.disposables.push(
      this.fileSystem,
      this.insertedEmitter,
      this.fileSystem.onDidInsertFromEditor((e) => void this.replaceNewEditor(e)),
    );
  }

  /** The URI of a document (`wisejson:/<collection>/<id>.json?db=…`). */
  uriOf(databaseId: string, collection: string, id: string): vscode.Uri {
    return vscode.Uri.from(documentUri(this.database(databaseId).id, collection, id));
  }

  /**
   * Opens a document in a JSON editor.
   * @throws Error when the database is not open or the document does not exist.
   */
  async open(databaseId: string, collection: string, id: string, options: OpenDocumentOptions = {}): Promise<vscode.TextEditor> {
    const uri = this.uriOf(databaseId, collection, id);
    await this.fileSystem.stat(uri); // a clear "not found" before VS Code wraps it in its own message
    const document = await this.openJson(uri);
    return vscode.window.showTextDocument(document, { preview: options.preview, viewColumn: options.viewColumn });
  }

  /**
   * Opens an editor for a new document of `collection`. Saving it inserts the document; its
   * editor is then replaced by the document's own and {@link onDidInsert} fires.
   */
  async insertNew(databaseId: string, collection: string): Promise<vscode.TextEditor> {
    const database = this.database(databaseId);
    let uri: vscode.Uri;
    do {
      uri = vscode.Uri.from(newDocumentUri(database.id, collection));
    } while (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())); // e.g. restored after a reload
    this.fileSystem.trackNewDocument(uri);
    const document = await this.openJson(uri);
    const editor = await vscode.window.showTextDocument(document, { preview: false });
    const inside = new vscode.Position(1, 2); // between the braces of the template
    if (document.lineCount > 1) editor.selection = new vscode.Selection(inside, inside);
    return editor;
  }

  /**
   * Inserts one document given as JSON text (an object). Resolves with its `_id`.
   * @throws Error saying what is wrong (JSON position, not an object, a unique index, …);
   *   nothing is inserted then.
   */
  async insertFromText(databaseId: string, collection: string, json: string): Promise<string> {
    const database = this.database(databaseId);
    const nothing = vscode.l10n.t('Nothing was inserted.');
    const body = parseDocumentText(json, nothing);
    try {
      const doc = await (await database.db.collection(collection)).insert(body);
      return doc._id;
    } catch (err) {
      if (err instanceof WiseJSONError) throw new Error(err.message.includes('Nothing was') ? err.message : `${err.message} ${nothing}`);
      throw err;
    }
  }

  private async openJson(uri: vscode.Uri): Promise<vscode.TextDocument> {
    const document = await vscode.workspace.openTextDocument(uri);
    return document.languageId === 'json' ? document : vscode.languages.setTextDocumentLanguage(document, 'json');
  }

  /** Closes a saved new-document editor and opens the inserted document in its place. */
  private async replaceNewEditor(e: InsertedFromEditor): Promise<void> {
    try {
      const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === e.uri.toString());
      if (tabs.length > 0) {
        const active = tabs.find((t) => t.isActive) ?? tabs[0];
        await this.open(e.databaseId, e.collection, e.id, { preview: false, viewColumn: active.group.viewColumn });
        await vscode.window.tabGroups.close(tabs);
      }
    } catch (err) {
      this.log.warn(`replacing the editor of the new document ${e.id} failed: ${String(err)}`);
    }
    this.insertedEmitter.fire({ databaseId: e.databaseId, collection: e.collection, id: e.id });
  }

  private database(databaseId: string): OpenDatabase {
    const database = this.registry.get(databaseId);
    if (!database) throw new Error(vscode.l10n.t('The WiseJSON database {0} is not open in this window: it may have been closed, or removed from the wisejson.databases setting.', databaseId));
    return database;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
