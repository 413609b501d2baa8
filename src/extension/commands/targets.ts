/**
 * What a command acts on: the tree node it was run on, a plain reference passed by another
 * extension or a test (`{ database, collection?, id? }`, database = the folder's absolute path),
 * or, from the palette, what the user picks.
 */
import * as vscode from 'vscode';
import type { DatabaseRegistry, OpenDatabase } from '../databases/database-registry';
import { CollectionNode, DatabaseNode, DocumentNode, IndexesNode, IndexNode, LoadMoreNode } from '../tree/database-tree-nodes';

export interface TargetRef {
  database?: string;
  collection?: string;
  id?: string;
}

export class CommandError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

function isRef(arg: unknown): arg is TargetRef {
  return typeof arg === 'object' && arg !== null && !(arg instanceof vscode.Uri) && ('database' in arg || 'collection' in arg || 'id' in arg);
}

/** The database a command acts on; asks when there are several and none was given. */
export async function resolveDatabase(registry: DatabaseRegistry, arg: unknown): Promise<OpenDatabase | undefined> {
  if (arg instanceof DatabaseNode) return arg.database;
  if (arg instanceof CollectionNode) return arg.database;
  if (arg instanceof DocumentNode || arg instanceof LoadMoreNode || arg instanceof IndexesNode) return arg.parent.database;
  if (arg instanceof IndexNode) return arg.parent.database;
  if (isRef(arg) && typeof arg.database === 'string') {
    const d = registry.get(arg.database);
    if (!d) throw new CommandError('database_not_open', vscode.l10n.t('No open database at {0}. Open it with WiseJSON: Open Folder as Database.', arg.database));
    return d;
  }
  const all = registry.list();
  if (all.length === 0) {
    throw new CommandError('no_database', vscode.l10n.t('This workspace has no WiseJSON database. Create one with WiseJSON: Create Database.'));
  }
  if (all.length === 1) return all[0];
  const pick = await vscode.window.showQuickPick(
    all.map((d) => ({ label: d.label, description: d.folder.name, detail: d.id, database: d })),
    { title: vscode.l10n.t('Which database?'), ignoreFocusOut: true },
  );
  return pick?.database;
}

/** The collection a command acts on; asks for the database and the collection when needed. */
export async function resolveCollection(registry: DatabaseRegistry, arg: unknown): Promise<{ database: OpenDatabase; name: string; node?: CollectionNode } | undefined> {
  if (arg instanceof CollectionNode) return { database: arg.database, name: arg.name, node: arg };
  if (arg instanceof DocumentNode || arg instanceof IndexesNode) return { database: arg.parent.database, name: arg.parent.name, node: arg.parent };
  if (arg instanceof IndexNode) return { database: arg.parent.database, name: arg.parent.parent.name, node: arg.parent.parent };
  const database = await resolveDatabase(registry, arg);
  if (!database) return undefined;
  if (isRef(arg) && typeof arg.collection === 'string') return { database, name: arg.collection };
  const names = (await database.db.getCollectionNames()).sort();
  if (names.length === 0) {
    throw new CommandError('no_collection', vscode.l10n.t('The database {0} has no collections. Create one with WiseJSON: Create Collection.', database.label));
  }
  const pick = await vscode.window.showQuickPick(names, { title: vscode.l10n.t('Which collection of {0}?', database.label), ignoreFocusOut: true });
  return pick === undefined ? undefined : { database, name: pick };
}

/** The document a command acts on (a tree node or a `{ database, collection, id }` reference). */
export function resolveDocument(registry: DatabaseRegistry, arg: unknown): { database: OpenDatabase; collection: string; id: string } {
  if (arg instanceof DocumentNode) return { database: arg.parent.database, collection: arg.parent.name, id: arg.documentId };
  if (isRef(arg) && typeof arg.database === 'string' && typeof arg.collection === 'string' && typeof arg.id === 'string') {
    const database = registry.get(arg.database);
    if (!database) throw new CommandError('database_not_open', vscode.l10n.t('No open database at {0}.', arg.database));
    return { database, collection: arg.collection, id: arg.id };
  }
  throw new CommandError('no_document', vscode.l10n.t('Run this command on a document in the WiseJSON view.'));
}

/** A workspace folder: the given one, the only one, or the user's pick. */
export async function resolveFolder(arg: unknown, title: string): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) throw new CommandError('no_folder', vscode.l10n.t('Open a folder first: a WiseJSON database lives in a workspace folder.'));
  const uri = arg instanceof vscode.Uri ? arg : typeof arg === 'string' ? vscode.Uri.file(arg) : undefined;
  if (uri) {
    const f = vscode.workspace.getWorkspaceFolder(uri);
    if (!f) throw new CommandError('not_in_workspace', vscode.l10n.t('{0} is not in this workspace.', uri.fsPath));
    return f;
  }
  if (folders.length === 1) return folders[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: title, ignoreFocusOut: true });
}
