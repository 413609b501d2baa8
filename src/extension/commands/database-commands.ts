/**
 * Commands on databases and collections: create/open/close a database, create/drop a
 * collection, create an index, export/import JSON, filter, page, refresh.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CollectionNameError } from '../../engine';
import { DEFAULT_DATABASE, type DatabaseRegistry } from '../databases/database-registry';
import type { DatabaseTreeProvider } from '../tree/database-tree-provider';
import { CollectionNode, IndexNode, LoadMoreNode } from '../tree/database-tree-nodes';
import type { CommandRegistrar } from './register-command';
import { CommandError, resolveCollection, resolveDatabase, resolveFolder } from './targets';

interface Options {
  /** Answers a confirmation without asking (for other extensions and tests). */
  confirmed?: boolean;
}

export function registerDatabaseCommands(commands: CommandRegistrar, registry: DatabaseRegistry, tree: DatabaseTreeProvider, view: vscode.TreeView<unknown>): void {
  commands.register('wisejson.createDatabase', async (arg?: unknown, relative?: unknown) => {
    const folder = await resolveFolder(arg, vscode.l10n.t('Create the database in which folder?'));
    if (!folder) return undefined;
    let setting = typeof relative === 'string' ? relative : undefined;
    if (setting === undefined) {
      const taken = registry.ofFolder(folder).some((d) => d.id === path.resolve(folder.uri.fsPath, DEFAULT_DATABASE));
      setting = await vscode.window.showInputBox({
        title: vscode.l10n.t('Create Database'),
        prompt: vscode.l10n.t('The database folder, relative to {0}', folder.name),
        value: taken ? 'data/.wisejson' : DEFAULT_DATABASE,
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() === '' ? vscode.l10n.t('Type a folder name, e.g. .wisejson') : null),
      });
      if (setting === undefined) return undefined;
    }
    const database = await registry.add(folder, setting.trim());
    return database.id;
  });

  commands.register('wisejson.openDatabase', async (arg?: unknown) => {
    let uri = arg instanceof vscode.Uri ? arg : typeof arg === 'string' ? vscode.Uri.file(arg) : undefined;
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
        title: vscode.l10n.t('Open Folder as Database'), openLabel: vscode.l10n.t('Open as Database'),
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      });
      uri = picked?.[0];
      if (!uri) return undefined;
    }
    const folder = vscode.workspace.getWorkspaceFolder(uri) ?? (await resolveFolder(undefined, vscode.l10n.t('List the database under which workspace folder?')));
    if (!folder) return undefined;
    const relative = path.relative(folder.uri.fsPath, uri.fsPath);
    const setting = relative === '' ? '.' : relative.startsWith('..') || path.isAbsolute(relative) ? uri.fsPath : relative;
    const database = await registry.add(folder, setting);
    return database.id;
  });

  commands.register('wisejson.closeDatabase', async (arg?: unknown) => {
    const database = await resolveDatabase(registry, arg);
    if (!database) return;
    await registry.remove(database);
  });

  commands.register('wisejson.createCollection', async (arg?: unknown, givenName?: unknown) => {
    const database = await resolveDatabase(registry, arg);
    if (!database) return undefined;
    const existing = new Set(await database.db.getCollectionNames());
    const name = typeof givenName === 'string' ? givenName : await vscode.window.showInputBox({
      title: vscode.l10n.t('Create Collection in {0}', database.label),
      prompt: vscode.l10n.t('Collection name'),
      ignoreFocusOut: true,
      validateInput: (v) => (existing.has(v) ? vscode.l10n.t('{0} already exists.', v) : v.trim() === '' ? vscode.l10n.t('Type a name, e.g. notes') : null),
    });
    if (name === undefined) return undefined;
    try {
      await database.db.collection(name);
    } catch (err) {
      if (err instanceof CollectionNameError) throw new CommandError(err.code, err.message);
      throw err;
    }
    await revealIfVisible(view, () => tree.findCollection(database, name));
    return name;
  });

  commands.register('wisejson.dropCollection', async (arg?: unknown, options?: Options) => {
    const target = await resolveCollection(registry, arg);
    if (!target) return false;
    const coll = await target.database.db.collection(target.name);
    const count = await coll.count();
    if (!options?.confirmed) {
      const drop = vscode.l10n.t('Drop Collection');
      const answer = await vscode.window.showWarningMessage(
        vscode.l10n.t('Drop the collection "{0}" and its {1} documents from {2}?', target.name, count, target.database.label),
        {
          modal: true,
          detail: target.database.db.getSyncStatus()
            ? vscode.l10n.t('This cannot be undone here. With sync on, the server keeps the collection and the next sync brings it back: delete its documents instead to remove them everywhere.')
            : vscode.l10n.t('This cannot be undone. Export it first to keep a copy.'),
        },
        drop,
      );
      if (answer !== drop) return false;
    }
    return target.database.db.dropCollection(target.name);
  });

  commands.register('wisejson.createIndex', async (arg?: unknown, spec?: { field?: string; unique?: boolean }) => {
    const target = await resolveCollection(registry, arg);
    if (!target) return undefined;
    const coll = await target.database.db.collection(target.name);
    const field = spec?.field ?? await vscode.window.showInputBox({
      title: vscode.l10n.t('Create Index on {0}', target.name),
      prompt: vscode.l10n.t('The field to index (a dot path such as address.city)'),
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? vscode.l10n.t('Type a field name') : null),
    });
    if (field === undefined) return undefined;
    let unique = spec?.unique;
    if (unique === undefined) {
      const pick = await vscode.window.showQuickPick([
        { label: vscode.l10n.t('Standard'), description: vscode.l10n.t('faster queries on this field'), unique: false },
        { label: vscode.l10n.t('Unique'), description: vscode.l10n.t('also refuses two documents with the same value'), unique: true },
      ], { title: vscode.l10n.t('Kind of index on {0}', field) });
      if (!pick) return undefined;
      unique = pick.unique;
    }
    await coll.createIndex(field.trim(), { unique });
    await tree.refreshIndexes(target.database, target.name);
    void vscode.window.showInformationMessage(vscode.l10n.t('Index on {0}.{1} created.', target.name, field.trim()));
    return field.trim();
  });

  commands.register('wisejson.dropIndex', async (arg?: unknown, field?: string) => {
    const target = await resolveCollection(registry, arg);
    if (!target) return undefined;
    const coll = await target.database.db.collection(target.name);
    const indexes = await coll.getIndexes();
    if (indexes.length === 0) {
      void vscode.window.showInformationMessage(vscode.l10n.t('{0} has no index.', target.name));
      return undefined;
    }
    let chosen = field ?? (arg instanceof IndexNode ? arg.fieldName : undefined);
    if (chosen === undefined) {
      const pick = await vscode.window.showQuickPick(
        indexes.map((i) => ({ label: i.fieldName, description: i.type === 'unique' ? vscode.l10n.t('unique') : vscode.l10n.t('standard') })),
        { title: vscode.l10n.t('Drop which index of {0}?', target.name) },
      );
      if (!pick) return undefined;
      chosen = pick.label;
    }
    if (!(await coll.dropIndex(chosen))) throw new CommandError('no_index', vscode.l10n.t('{0} has no index on {1}.', target.name, chosen));
    await tree.refreshIndexes(target.database, target.name);
    void vscode.window.showInformationMessage(vscode.l10n.t('Index on {0}.{1} dropped.', target.name, chosen));
    return chosen;
  });

  commands.register('wisejson.exportCollection', async (arg?: unknown, target?: unknown) => {
    const c = await resolveCollection(registry, arg);
    if (!c) return undefined;
    let uri = target instanceof vscode.Uri ? target : typeof target === 'string' ? vscode.Uri.file(target) : undefined;
    uri ??= await vscode.window.showSaveDialog({
      title: vscode.l10n.t('Export {0} as JSON', c.name),
      defaultUri: vscode.Uri.joinPath(c.database.folder.uri, `${c.name}.json`),
      filters: { JSON: ['json'] },
    });
    if (!uri) return undefined;
    const file = uri.fsPath;
    const coll = await c.database.db.collection(c.name);
    const n = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Exporting {0}…', c.name) },
      () => coll.exportJson(file),
    );
    void vscode.window.showInformationMessage(vscode.l10n.t('Exported {0} documents of {1} to {2}.', n, c.name, file));
    return n;
  });

  commands.register('wisejson.importCollection', async (arg?: unknown, source?: unknown, modeArg?: unknown) => {
    const c = await resolveCollection(registry, arg);
    if (!c) return undefined;
    let uri = source instanceof vscode.Uri ? source : typeof source === 'string' ? vscode.Uri.file(source) : undefined;
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({
        title: vscode.l10n.t('Import JSON into {0}', c.name), canSelectMany: false,
        filters: { JSON: ['json', 'jsonl'] }, defaultUri: c.database.folder.uri,
      });
      uri = picked?.[0];
      if (!uri) return undefined;
    }
    let mode: 'append' | 'replace' | undefined = modeArg === 'replace' || modeArg === 'append' ? modeArg : undefined;
    if (!mode) {
      const pick = await vscode.window.showQuickPick([
        { label: vscode.l10n.t('Append'), description: vscode.l10n.t('add the documents (an existing _id is an error)'), mode: 'append' as const },
        { label: vscode.l10n.t('Replace'), description: vscode.l10n.t('remove every document of {0} first', c.name), mode: 'replace' as const },
      ], { title: vscode.l10n.t('Import into {0}', c.name) });
      if (!pick) return undefined;
      mode = pick.mode;
    }
    const file = uri.fsPath;
    const coll = await c.database.db.collection(c.name);
    const n = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Importing into {0}…', c.name) },
      () => coll.importJson(file, { mode }),
    );
    void vscode.window.showInformationMessage(vscode.l10n.t('Imported {0} documents into {1}.', n, c.name));
    return n;
  });

  commands.register('wisejson.refresh', async (arg?: unknown) => {
    if (arg instanceof CollectionNode) return tree.refresh(arg);
    await registry.refresh();
    tree.refresh();
  });

  commands.register('wisejson.loadMore', async (arg?: unknown) => {
    const node = arg instanceof LoadMoreNode ? arg.parent : arg instanceof CollectionNode ? arg : undefined;
    if (!node) throw new CommandError('no_collection', vscode.l10n.t('Run Load More from a collection in the WiseJSON view.'));
    await tree.loadMore(node);
    return node.documents.length;
  });

  commands.register('wisejson.filterCollection', async (arg?: unknown, text?: unknown) => {
    if (!(arg instanceof CollectionNode)) throw new CommandError('no_collection', vscode.l10n.t('Run Filter Collection on a collection in the WiseJSON view.'));
    const coll = await arg.database.db.collection(arg.name);
    const check = async (v: string): Promise<string | null> => {
      const parsed = parseFilter(v);
      if (typeof parsed === 'string') return parsed;
      try {
        await coll.page({ limit: 1, query: parsed });
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    };
    const value = typeof text === 'string' ? text : await vscode.window.showInputBox({
      title: vscode.l10n.t('Filter {0}', arg.name),
      prompt: vscode.l10n.t('A MongoDB-style query as JSON, e.g. {"status": "open", "age": {"$gte": 18}}'),
      value: arg.filter?.text ?? '{}',
      ignoreFocusOut: true,
      validateInput: check,
    });
    if (value === undefined) return undefined;
    const problem = await check(value);
    if (problem) throw new CommandError('bad_filter', vscode.l10n.t('The filter is not valid: {0}', problem));
    const query = parseFilter(value) as Record<string, unknown>;
    tree.setFilter(arg, Object.keys(query).length === 0 ? null : { text: JSON.stringify(query), query });
    return arg.filter?.text ?? null;
  });

  commands.register('wisejson.clearFilter', (arg?: unknown) => {
    if (arg instanceof CollectionNode) tree.setFilter(arg, null);
  });
}

/** Shows a node in the view when the view is open; a nicety that never fails the command. */
export async function revealIfVisible(view: vscode.TreeView<unknown>, find: () => Promise<unknown>): Promise<void> {
  if (!view.visible) return;
  try {
    const node = await find();
    if (node) await view.reveal(node, { select: true, focus: false });
  } catch {
    // The view has not rendered the parents yet; the new item still shows on its next render.
  }
}

/** Parses a filter typed by the user: the query object, or what is wrong with it. */
export function parseFilter(text: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(text.trim() === '' ? '{}' : text);
  } catch (err) {
    return vscode.l10n.t('not JSON ({0}). Example: {"status": "open"}', (err as Error).message);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return vscode.l10n.t('a filter is a JSON object, e.g. {"status": "open"}');
  return v as Record<string, unknown>;
}
