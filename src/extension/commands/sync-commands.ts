/**
 * Sync commands: enable/disable sync for a workspace folder, set/clear the API key (kept only in
 * SecretStorage), sync now, and the status bar's menu. Untrusted workspaces cannot enable sync
 * or change its server.
 */
import * as vscode from 'vscode';
import type { DatabaseRegistry } from '../databases/database-registry';
import type { SyncController } from '../sync/sync-controller';
import { checkServerUrl, normalizeServerUrl, readSyncSettings, writeSyncSettings } from '../sync/sync-settings';
import type { CommandRegistrar } from './register-command';
import { CommandError, resolveFolder } from './targets';

export interface EnableSyncArgs {
  folder?: vscode.Uri | string;
  serverUrl?: string;
  dataset?: string;
  apiKey?: string;
}

function requireTrust(): void {
  if (!vscode.workspace.isTrusted) {
    throw new CommandError('untrusted', vscode.l10n.t('Sync cannot be enabled or its server changed in an untrusted workspace. Trust the workspace first (Workspaces: Manage Workspace Trust).'));
  }
}

export function registerSyncCommands(commands: CommandRegistrar, registry: DatabaseRegistry, sync: SyncController): void {
  const askKey = (serverUrl: string): Thenable<string | undefined> => vscode.window.showInputBox({
    title: vscode.l10n.t('API key for {0}', serverUrl),
    prompt: vscode.l10n.t('Kept in VS Code\'s secret storage, never in settings. A server prints a new key with: node dist/server.js keys create --data <dir> --dataset <name>'),
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? vscode.l10n.t('Paste the API key') : null),
  });

  commands.register('wisejson.enableSync', async (arg?: unknown) => {
    requireTrust();
    const args: EnableSyncArgs = typeof arg === 'object' && arg !== null && !(arg instanceof vscode.Uri) ? (arg as EnableSyncArgs) : {};
    const folder = await resolveFolder(args.folder ?? (arg instanceof vscode.Uri ? arg : undefined), vscode.l10n.t('Sync the databases of which folder?'));
    if (!folder) return false;
    const current = readSyncSettings(folder);
    let serverUrl = args.serverUrl;
    if (serverUrl === undefined) {
      serverUrl = await vscode.window.showInputBox({
        title: vscode.l10n.t('Enable Sync (1/3): server'),
        prompt: vscode.l10n.t('The WiseJSON sync server (start one with: npm start, or node dist/server.js --port 3000 --data ./sync-data)'),
        value: current.serverUrl || 'http://127.0.0.1:3000',
        ignoreFocusOut: true,
        validateInput: checkServerUrl,
      });
      if (serverUrl === undefined) return false;
    }
    const urlProblem = checkServerUrl(serverUrl);
    if (urlProblem) throw new CommandError('bad_url', urlProblem);
    serverUrl = normalizeServerUrl(serverUrl);
    let dataset = args.dataset;
    if (dataset === undefined) {
      dataset = await vscode.window.showInputBox({
        title: vscode.l10n.t('Enable Sync (2/3): dataset'),
        prompt: vscode.l10n.t('The dataset on the server; each collection syncs as the collection of the same name in it'),
        value: current.dataset,
        ignoreFocusOut: true,
        validateInput: (v) => (/^[A-Za-z0-9_.-]{1,64}$/.test(v.trim()) ? null : vscode.l10n.t('Letters, digits, _ . - (up to 64)')),
      });
      if (dataset === undefined) return false;
    }
    let apiKey = args.apiKey;
    if (apiKey === undefined && !(await sync.keys.get(serverUrl))) {
      apiKey = await askKey(serverUrl);
      if (apiKey === undefined) return false;
    }
    if (apiKey !== undefined) await sync.keys.set(serverUrl, apiKey.trim());
    // The user's own command is the consent settings-started sync would ask for.
    await sync.consent.set(folder, serverUrl, 'allowed');
    await writeSyncSettings(folder, { serverUrl, dataset: dataset.trim(), enabled: true });
    await sync.applyAll();
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Syncing with {0}…', serverUrl) },
      () => sync.syncNow(),
    );
    reportOutcome(registry, sync);
    return true;
  });

  commands.register('wisejson.disableSync', async (arg?: unknown) => {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => readSyncSettings(f).enabled);
    const folder = arg !== undefined ? await resolveFolder(typeof arg === 'object' && arg !== null && 'folder' in arg ? (arg as { folder: unknown }).folder : arg, '')
      : folders.length <= 1 ? folders[0] : await vscode.window.showWorkspaceFolderPick({ placeHolder: vscode.l10n.t('Stop syncing which folder?') });
    if (!folder) return false;
    await writeSyncSettings(folder, { enabled: false });
    await sync.applyAll();
    void vscode.window.showInformationMessage(vscode.l10n.t('Sync is off for {0}. Changes made now stay queued and are sent when sync is enabled again.', folder.name));
    return true;
  });

  /** The server URL a key command is about: the argument, the configured one(s), or asked. */
  const serverOf = async (arg: unknown, title: string): Promise<string | undefined> => {
    const given = typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null && typeof (arg as { serverUrl?: unknown }).serverUrl === 'string' ? (arg as { serverUrl: string }).serverUrl : undefined;
    if (given !== undefined) {
      const problem = checkServerUrl(given);
      if (problem) throw new CommandError('bad_url', problem);
      return normalizeServerUrl(given);
    }
    const configured = [...new Set((vscode.workspace.workspaceFolders ?? []).map((f) => readSyncSettings(f).serverUrl).filter((u) => u && !checkServerUrl(u)).map(normalizeServerUrl))];
    if (configured.length === 1) return configured[0];
    if (configured.length > 1) return vscode.window.showQuickPick(configured, { title });
    const typed = await vscode.window.showInputBox({ title, prompt: vscode.l10n.t('The sync server URL'), value: 'http://127.0.0.1:3000', validateInput: checkServerUrl, ignoreFocusOut: true });
    return typed === undefined ? undefined : normalizeServerUrl(typed);
  };

  commands.register('wisejson.setApiKey', async (arg?: unknown) => {
    requireTrust();
    const serverUrl = await serverOf(arg, vscode.l10n.t('Set the API key of which server?'));
    if (!serverUrl) return false;
    const given = typeof arg === 'object' && arg !== null ? (arg as { apiKey?: unknown }).apiKey : undefined;
    const apiKey = typeof given === 'string' ? given : await askKey(serverUrl);
    if (apiKey === undefined) return false;
    if (apiKey.trim() === '') throw new CommandError('empty_key', vscode.l10n.t('The API key is empty; paste the key the server printed.'));
    await sync.keys.set(serverUrl, apiKey.trim());
    await sync.applyAll();
    void vscode.window.showInformationMessage(vscode.l10n.t('API key for {0} saved in VS Code\'s secret storage.', serverUrl));
    return true;
  });

  commands.register('wisejson.clearApiKey', async (arg?: unknown) => {
    const serverUrl = await serverOf(arg, vscode.l10n.t('Clear the API key of which server?'));
    if (!serverUrl) return false;
    await sync.keys.clear(serverUrl);
    await sync.applyAll();
    void vscode.window.showInformationMessage(vscode.l10n.t('API key for {0} removed; sync with it stops until a key is set.', serverUrl));
    return true;
  });

  commands.register('wisejson.triggerSync', async () => {
    if (sync.syncing().length === 0) {
      const enable = vscode.l10n.t('Enable Sync');
      const answer = await vscode.window.showInformationMessage(vscode.l10n.t('Sync is off in this workspace.'), enable);
      if (answer === enable) await vscode.commands.executeCommand('wisejson.enableSync');
      return false;
    }
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t('WiseJSON: syncing') }, () => sync.syncNow());
    reportOutcome(registry, sync);
    return true;
  });

  commands.register('wisejson.showSyncMenu', async () => {
    const on = sync.syncing().length > 0;
    type Item = vscode.QuickPickItem & { command: string };
    const items: Item[] = [];
    if (on) items.push({ label: `$(sync) ${vscode.l10n.t('Sync Now')}`, command: 'wisejson.triggerSync' });
    if (vscode.workspace.isTrusted) items.push({ label: `$(cloud-upload) ${vscode.l10n.t('Enable Sync…')}`, command: 'wisejson.enableSync' });
    if (on) items.push({ label: `$(debug-disconnect) ${vscode.l10n.t('Disable Sync')}`, command: 'wisejson.disableSync' });
    if (vscode.workspace.isTrusted) items.push({ label: `$(key) ${vscode.l10n.t('Set API Key…')}`, command: 'wisejson.setApiKey' });
    items.push({ label: `$(history) ${vscode.l10n.t('Open Sync Timeline')}`, command: 'wisejson.openTimeline' });
    const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('WiseJSON Sync') });
    if (pick) await vscode.commands.executeCommand(pick.command);
  });
}

/** After a user-started sync: say so when something went wrong, with the way out. */
function reportOutcome(registry: DatabaseRegistry, sync: SyncController): void {
  for (const database of registry.list()) {
    const state = sync.state(database);
    if (state.kind === 'no-key') {
      const set = vscode.l10n.t('Set API Key');
      void vscode.window.showWarningMessage(vscode.l10n.t('{0}: no API key for {1}.', database.label, state.serverUrl), set).then((a) => {
        if (a === set) void vscode.commands.executeCommand('wisejson.setApiKey', state.serverUrl);
      });
    } else if (state.kind === 'on' && state.status.lastError && state.status.state !== 'idle') {
      const timeline = vscode.l10n.t('Open Timeline');
      void vscode.window.showWarningMessage(vscode.l10n.t('{0}: sync failed: {1}', database.label, state.status.lastError.message), timeline).then((a) => {
        if (a === timeline) void vscode.commands.executeCommand('wisejson.openTimeline');
      });
    }
  }
}
