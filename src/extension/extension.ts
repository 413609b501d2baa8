/**
 * The extension's entry point and composition root: builds every service once, registers the
 * views and commands, and hands everything to `context.subscriptions` for disposal. The engine,
 * sync and server code it uses never imports `vscode`.
 */
import * as vscode from 'vscode';
import * as engine from '../engine';
import { registerDatabaseCommands, revealIfVisible } from './commands/database-commands';
import { registerDocumentCommands } from './commands/document-commands';
import { CommandRegistrar } from './commands/register-command';
import { registerSyncCommands } from './commands/sync-commands';
import { DatabaseRegistry } from './databases/database-registry';
import { registerDocuments } from './documents/document-editors';
import { registerConflicts } from './conflicts/conflict-commands';
import { registerAgentTools } from './agent/agent-tools';
import { registerQueryWorkbench } from './queries/query-workbench';
import { FieldSamples } from './schema/field-samples';
import { connectDevServer, grantDevServerConsent } from './sync/dev-server';
import { SyncConsent } from './sync/sync-consent';
import { SyncController } from './sync/sync-controller';
import { ApiKeyStore } from './sync/sync-settings';
import { describe, SyncStatusBar, syncStateName } from './sync/sync-status-bar';
import { SyncTreeProvider } from './sync/sync-tree-provider';
import { SyncEventLog } from './timeline/sync-event-log';
import { registerTimeline } from './timeline/timeline-panel';
import { DatabaseTreeProvider } from './tree/database-tree-provider';

/** What `vscode.extensions.getExtension('wisejson.wisejson-vscode').activate()` resolves with. */
export interface WiseJSONExtensionApi {
  /** The engine's WiseJSON class: `new api.WiseJSON(folder)`. */
  WiseJSON: typeof engine.WiseJSON;
  /** Opens (creating if needed) a database folder. */
  connect: typeof engine.connect;
  /** The databases open in this window (their `db` is the live engine instance). */
  databases(): { id: string; folder: string; label: string; db: engine.WiseJSON }[];
  /** @internal The services, for the extension's own tests; not a stable API. */
  _internals: ReturnType<typeof compose>;
}

function compose(context: vscode.ExtensionContext) {
  const log = vscode.window.createOutputChannel('WiseJSON', { log: true });
  context.subscriptions.push(log);
  const registry = new DatabaseRegistry(log);
  context.subscriptions.push(registry);
  const keys = new ApiKeyStore(context.secrets);
  const sync = new SyncController(registry, keys, log, new SyncConsent(context.workspaceState));
  context.subscriptions.push(keys, sync);

  // Field samples, shared by the tree's Schema nodes and query completion.
  const samples = new FieldSamples(registry);
  const tree = new DatabaseTreeProvider(registry, samples);
  const view = vscode.window.createTreeView('wisejson.databases', { treeDataProvider: tree, showCollapseAll: true });
  const syncTree = new SyncTreeProvider(registry, sync);
  const syncView = vscode.window.createTreeView('wisejson.sync', { treeDataProvider: syncTree });
  const statusBar = new SyncStatusBar(registry, sync);
  context.subscriptions.push(samples, tree, view, syncTree, syncView, statusBar);
  // The view's badge and the status bar's tooltip: open sync conflict records in every database.
  const showConflicts = async (): Promise<void> => {
    const n = await tree.conflictCount();
    view.badge = n > 0 ? { value: n, tooltip: n === 1 ? vscode.l10n.t('1 open sync conflict') : vscode.l10n.t('{0} open sync conflicts', n) } : undefined;
    statusBar.setConflicts(n);
  };
  context.subscriptions.push(tree.onDidChangeConflicts(() => void showConflicts().catch((err) => log.warn(`conflict count: ${String(err)}`))));

  const syncEventLog = new SyncEventLog(vscode.workspace.getConfiguration('wisejson').get<number>('timeline.maxEvents', 1000));
  context.subscriptions.push(
    registry.onDidSyncEvent((e) => syncEventLog.record(e.database.id, `${e.database.folder.name}/${e.database.label}`, e.event, e.payload, e.at)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('wisejson.timeline.maxEvents')) syncEventLog.setCapacity(vscode.workspace.getConfiguration('wisejson').get<number>('timeline.maxEvents', 1000));
    }),
  );
  const timeline = registerTimeline(context, syncEventLog, log, {
    lines: () => registry.list().map((d) => {
      const state = sync.state(d);
      return { database: d.id, label: `${d.folder.name}/${d.label}`, state: syncStateName(state), text: describe(state) };
    }),
    onDidChange: (listener) => vscode.Disposable.from(sync.onDidChangeState(listener), registry.onDidChangeDatabases(() => listener())),
  });
  const documents = registerDocuments(context, registry, log);
  context.subscriptions.push(documents.onDidInsert((e) => {
    const database = registry.get(e.databaseId);
    if (database) void revealIfVisible(view as vscode.TreeView<unknown>, () => tree.findDocument(database, e.collection, e.id));
  }));

  const commands = new CommandRegistrar(context, log);
  registerDatabaseCommands(commands, registry, tree, view as vscode.TreeView<unknown>);
  registerDocumentCommands(commands, registry, documents);
  registerSyncCommands(commands, registry, sync);
  const queries = registerQueryWorkbench(context, commands, registry, samples, log);
  registerConflicts(context, commands, registry, documents);
  registerAgentTools(context, registry);

  const storagePaths = { logs: context.logUri.fsPath, global: context.globalStorageUri.fsPath, workspace: context.storageUri?.fsPath };
  return { log, registry, keys, sync, tree, view, syncTree, syncView, statusBar, syncEventLog, timeline, documents, commands, queries, storagePaths };
}

export async function activate(context: vscode.ExtensionContext): Promise<WiseJSONExtensionApi> {
  const started = performance.now();
  const internals = compose(context);
  // Opening the databases reads their files: done after activation so the window is not held up.
  void grantDevServerConsent(internals.sync.consent).catch((err) => internals.log.warn(`npm start's sync consent: ${String(err)}`)).then(() => internals.registry.refresh()).then(async () => {
    internals.log.info(`WiseJSON ${context.extension.packageJSON.version as string}: ${internals.registry.list().length} database(s) open`);
    await connectDevServer(internals.log);
  });
  internals.log.info(`activated in ${(performance.now() - started).toFixed(1)} ms`);
  return {
    WiseJSON: engine.WiseJSON,
    connect: engine.connect,
    databases: () => internals.registry.list().map((d) => ({ id: d.id, folder: d.folder.uri.fsPath, label: d.label, db: d.db })),
    _internals: internals,
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions (the registry closes its databases).
}
