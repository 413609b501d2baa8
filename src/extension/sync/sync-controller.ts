/**
 * Applies each workspace folder's sync settings and its API key (from SecretStorage) to the
 * databases of that folder, and tells the status bar and the Sync view where sync stands.
 * Untrusted workspaces never sync.
 */
import * as vscode from 'vscode';
import type { SyncStatus } from '../../sync/sync-manager';
import type { DatabaseRegistry, OpenDatabase } from '../databases/database-registry';
import { SyncConsent } from './sync-consent';
import { ApiKeyStore, normalizeServerUrl, readSyncSettings } from './sync-settings';

/** Where sync stands for one database, as the UI shows it. */
export type DatabaseSyncState =
  | { kind: 'off' }
  | { kind: 'untrusted' }
  | { kind: 'no-key'; serverUrl: string }
  | { kind: 'bad-config'; message: string }
  /** Settings turn sync on, and the user has not (yet) said yes for this folder and server. */
  | { kind: 'needs-consent'; serverUrl: string; declined: boolean }
  | { kind: 'on'; status: SyncStatus; running: boolean };

export class SyncController implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Sync state may have changed (settings, keys, a sync event, a write). */
  readonly onDidChangeState = this.changed.event;
  private readonly applied = new Map<string, string>();
  private readonly problems = new Map<string, DatabaseSyncState>();
  /** Databases with a cycle under way (between sync:start and sync:success/error). */
  private readonly running = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  private applying: Promise<void> = Promise.resolve();
  private fireTimer: NodeJS.Timeout | undefined;

  /** Folder + URL pairs asked about in this window (one question each, however often settings apply). */
  private readonly asked = new Set<string>();

  constructor(private readonly registry: DatabaseRegistry, readonly keys: ApiKeyStore, private readonly log: vscode.LogOutputChannel, readonly consent: SyncConsent) {
    this.disposables.push(
      this.changed,
      registry.onDidChangeDatabases(() => void this.applyAll()),
      keys.onDidChange(() => void this.applyAll()),
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('wisejson.sync')) void this.applyAll(); }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.applyAll()),
      registry.onDidSyncEvent((e) => {
        // A cycle's start and end are shown at once (a fast cycle still shows as syncing).
        if (e.event === 'sync:warning') this.log.warn(`${e.database.id}: ${(e.payload as { message: string }).message}`);
        if (e.event === 'sync:start') this.running.add(e.database.id);
        if (e.event === 'sync:success' || e.event === 'sync:error') this.running.delete(e.database.id);
        if (e.event === 'sync:start' || e.event === 'sync:success' || e.event === 'sync:error') this.changed.fire();
        else this.fireSoon();
      }),
      registry.onDidChangeData(() => this.fireSoon()),
    );
  }

  /** Applies settings and keys to every open database. Calls are serialized. */
  applyAll(): Promise<void> {
    this.applying = this.applying.then(async () => {
      for (const database of this.registry.list()) await this.apply(database);
      for (const id of [...this.applied.keys()]) if (!this.registry.get(id)) this.applied.delete(id);
      const anyOn = this.registry.list().some((d) => d.db.getSyncStatus() !== null);
      await vscode.commands.executeCommand('setContext', 'wisejson.syncEnabled', anyOn);
      this.changed.fire();
    }).catch((err) => this.log.error(`applying sync settings failed: ${String(err)}`));
    return this.applying;
  }

  private async apply(database: OpenDatabase): Promise<void> {
    const s = readSyncSettings(database.folder);
    this.problems.delete(database.id);
    let key: string | undefined;
    let problem: DatabaseSyncState | null = null;
    if (!s.enabled || !s.serverUrl) problem = { kind: 'off' };
    else if (!vscode.workspace.isTrusted) problem = { kind: 'untrusted' };
    else {
      try {
        key = await this.keys.get(s.serverUrl);
        if (!key) problem = { kind: 'no-key', serverUrl: normalizeServerUrl(s.serverUrl) };
      } catch {
        problem = { kind: 'bad-config', message: vscode.l10n.t('The sync server URL "{0}" is not a URL; fix wisejson.sync.serverUrl.', s.serverUrl) };
      }
    }
    if (!problem) {
      const answer = this.consent.get(database.folder, s.serverUrl);
      if (answer !== 'allowed') {
        problem = { kind: 'needs-consent', serverUrl: normalizeServerUrl(s.serverUrl), declined: answer === 'declined' };
        if (answer === undefined) this.askConsent(database.folder, normalizeServerUrl(s.serverUrl));
      }
    }
    const signature = problem ? null : `${normalizeServerUrl(s.serverUrl)}|${s.dataset}|${s.intervalMs}|${s.live}`;
    const current = this.applied.get(database.id) ?? null;
    if (current !== null && current !== signature) {
      await database.db.disableSync();
      this.applied.delete(database.id);
      this.running.delete(database.id);
      this.log.info(`sync off for ${database.id}`);
    }
    if (problem) {
      if (problem.kind !== 'off') this.problems.set(database.id, problem);
      return;
    }
    try {
      // Again with the same settings only refreshes the key (a new key resumes a paused sync).
      await database.db.enableSync({ url: normalizeServerUrl(s.serverUrl), apiKey: key!, dataset: s.dataset, syncIntervalMs: s.intervalMs, live: s.live });
      if (current !== signature) this.log.info(`sync on for ${database.id}: ${normalizeServerUrl(s.serverUrl)} dataset ${s.dataset}`);
      this.applied.set(database.id, signature!);
    } catch (err) {
      this.problems.set(database.id, { kind: 'bad-config', message: (err as Error).message });
      this.log.error(`enabling sync for ${database.id} failed: ${(err as Error).message}`);
    }
  }

  /**
   * Asks once per window whether the workspace settings may start sync of `folder` with
   * `serverUrl` (the key the user holds for it would be sent there). The answer is kept.
   */
  private askConsent(folder: vscode.WorkspaceFolder, serverUrl: string): void {
    const key = `${folder.uri.toString()}\u0000${serverUrl}`;
    if (this.asked.has(key)) return;
    this.asked.add(key);
    this.log.info(`waiting for consent: the settings of ${folder.name} turn on sync with ${serverUrl}`);
    const allow = vscode.l10n.t('Allow');
    const decline = vscode.l10n.t('Don\'t Allow');
    void vscode.window
      .showWarningMessage(
        vscode.l10n.t('The workspace settings of "{0}" turn on WiseJSON sync with {1}: its databases and your API key for that server would be sent there. Allow it?', folder.name, serverUrl),
        allow,
        decline,
      )
      .then(async (answer) => {
        if (answer === undefined) return; // dismissed: asked again in the next window, or run Enable Sync
        await this.consent.set(folder, serverUrl, answer === allow ? 'allowed' : 'declined');
        this.log.info(`sync with ${serverUrl} for ${folder.name}: ${answer === allow ? 'allowed' : 'declined'}`);
        await this.applyAll();
      });
  }

  state(database: OpenDatabase): DatabaseSyncState {
    const problem = this.problems.get(database.id);
    if (problem) return problem;
    const status = database.db.getSyncStatus();
    if (!status) return { kind: 'off' };
    return { kind: 'on', status, running: this.running.has(database.id) || status.state === 'syncing' };
  }

  /** Databases whose sync is on. */
  syncing(): OpenDatabase[] {
    return this.registry.list().filter((d) => d.db.getSyncStatus() !== null);
  }

  /** Runs a sync cycle of every syncing database; resolves when they finished (never rejects). */
  async syncNow(): Promise<void> {
    await Promise.all(this.syncing().map((d) => d.db.triggerSync()));
  }

  private fireSoon(): void {
    this.fireTimer ??= setTimeout(() => {
      this.fireTimer = undefined;
      this.changed.fire();
    }, 100);
  }

  dispose(): void {
    if (this.fireTimer) clearTimeout(this.fireTimer);
    for (const d of this.disposables) d.dispose();
  }
}
