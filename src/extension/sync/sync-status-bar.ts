/**
 * The status-bar item: sync off / live / synced / syncing (spinning) / N pending / offline /
 * error / key needed, with a tooltip per database (how changes move, the reason of an error or
 * of being offline, when it retries); a click offers Sync Now, Enable/Disable, Timeline.
 */
import * as vscode from 'vscode';
import type { DatabaseRegistry } from '../databases/database-registry';
import type { DatabaseSyncState, SyncController } from './sync-controller';
import type { SyncStatus } from '../../sync/sync-manager';

export type StatusBarState = 'hidden' | 'off' | 'live' | 'synced' | 'syncing' | 'pending' | 'offline' | 'error' | 'no-key' | 'needs-consent';

export class SyncStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  /** What the item shows now (for tests and the tooltip). */
  state: StatusBarState = 'hidden';
  /** Open sync conflict records in every database (a line of the tooltip). */
  private conflicts = 0;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly registry: DatabaseRegistry, private readonly sync: SyncController) {
    this.item = vscode.window.createStatusBarItem('wisejson.sync', vscode.StatusBarAlignment.Left, 50);
    this.item.name = vscode.l10n.t('WiseJSON Sync');
    this.item.command = 'wisejson.showSyncMenu';
    this.disposables.push(this.item, sync.onDidChangeState(() => this.update()), registry.onDidChangeDatabases(() => this.update()));
    this.update();
  }

  /** How many open conflict records the databases hold (the tree counts them). */
  setConflicts(count: number): void {
    if (count === this.conflicts) return;
    this.conflicts = count;
    this.update();
  }

  update(): void {
    const databases = this.registry.list();
    if (databases.length === 0) {
      this.state = 'hidden';
      this.item.hide();
      return;
    }
    const states = databases.map((d) => ({ database: d, state: this.sync.state(d) }));
    const on = states.filter((s): s is { database: typeof s.database; state: Extract<DatabaseSyncState, { kind: 'on' }> } => s.state.kind === 'on');
    const pending = on.reduce((n, s) => n + s.state.status.pending, 0);
    let text: string;
    let background: vscode.ThemeColor | undefined;
    if (states.some((s) => s.state.kind === 'no-key' || s.state.kind === 'bad-config')) {
      this.state = 'no-key';
      text = `$(key) ${vscode.l10n.t('WiseJSON: API key needed')}`;
      background = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else if (on.length === 0 && states.some((s) => s.state.kind === 'needs-consent' && !s.state.declined)) {
      this.state = 'needs-consent';
      text = `$(shield) ${vscode.l10n.t('WiseJSON: sync waits for your OK')}`;
      background = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else if (on.length === 0) {
      this.state = 'off';
      text = `$(circle-slash) ${vscode.l10n.t('WiseJSON: sync off')}`;
    } else if (on.some((s) => s.state.running)) {
      this.state = 'syncing';
      text = `$(sync~spin) ${vscode.l10n.t('WiseJSON: syncing')}`;
    } else if (on.some((s) => s.state.status.state === 'error' || s.state.status.state === 'paused')) {
      this.state = 'error';
      text = `$(error) ${vscode.l10n.t('WiseJSON: sync error')}`;
      background = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else if (on.some((s) => s.state.status.state === 'offline')) {
      this.state = 'offline';
      text = `$(debug-disconnect) ${vscode.l10n.t('WiseJSON: offline')}`;
    } else if (pending > 0) {
      this.state = 'pending';
      text = `$(cloud-upload) ${vscode.l10n.t('WiseJSON: {0} pending', pending)}`;
    } else if (on.every((s) => s.state.status.mode === 'live')) {
      // Up to date, and the live request brings other replicas' changes as they happen.
      this.state = 'live';
      text = `$(broadcast) ${vscode.l10n.t('WiseJSON: live')}`;
    } else {
      // Up to date as of the last cycle; changes come on the interval (or Sync Now).
      this.state = 'synced';
      text = `$(check) ${vscode.l10n.t('WiseJSON: synced')}`;
    }
    this.item.text = text;
    // Screen readers get the words, not the icon's name or the tooltip's markdown.
    this.item.accessibilityInformation = { label: text.replace(/^\$\([^)]*\)\s*/, ''), role: 'button' };
    this.item.backgroundColor = background;
    this.item.tooltip = tooltip(states, this.conflicts);
    this.item.show();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function tooltip(states: { database: { label: string; folder: vscode.WorkspaceFolder }; state: DatabaseSyncState }[], conflicts: number): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${vscode.l10n.t('WiseJSON sync')}**\n\n`);
  for (const { database, state } of states) {
    md.appendMarkdown(`$(database) **${escape(database.folder.name)} / ${escape(database.label)}**: `);
    md.appendMarkdown(`${escape(describe(state))}\n\n`);
  }
  if (conflicts > 0) {
    md.appendMarkdown(`$(warning) ${escape(conflicts === 1 ? vscode.l10n.t('1 open sync conflict: see Conflicts under its collection in the WiseJSON view.') : vscode.l10n.t('{0} open sync conflicts: see Conflicts under their collections in the WiseJSON view.', conflicts))}\n\n`);
  }
  md.appendMarkdown(vscode.l10n.t('Click for Sync Now, Enable/Disable Sync and the timeline.'));
  return md;
}

/** One line about a database's sync, for tooltips and the Sync view. */
export function describe(state: DatabaseSyncState): string {
  switch (state.kind) {
    case 'off': return vscode.l10n.t('sync off');
    case 'untrusted': return vscode.l10n.t('sync disabled in an untrusted workspace');
    case 'no-key': return vscode.l10n.t('no API key for {0}: run WiseJSON: Set API Key', state.serverUrl);
    case 'bad-config': return state.message;
    case 'needs-consent':
      return state.declined
        ? vscode.l10n.t('sync with {0} declined for this workspace: run WiseJSON: Enable Sync to allow it', state.serverUrl)
        : vscode.l10n.t('the workspace settings turn on sync with {0}: waiting for your OK (or run WiseJSON: Enable Sync)', state.serverUrl);
    case 'on': {
      const s = state.status;
      const parts = [`${s.url} (${s.dataset})`, state.running ? vscode.l10n.t('syncing') : s.state, describeMode(s.mode)];
      parts.push(vscode.l10n.t('{0} pending', s.pending));
      parts.push(s.lastSyncAt ? vscode.l10n.t('last sync {0}', new Date(s.lastSyncAt).toLocaleTimeString()) : vscode.l10n.t('not synced yet'));
      if (s.lastError) parts.push(vscode.l10n.t('last error: {0} ({1})', s.lastError.message, s.lastError.code));
      if (s.nextRetryAt && (s.state === 'offline' || s.state === 'error')) parts.push(vscode.l10n.t('retries at {0}', new Date(s.nextRetryAt).toLocaleTimeString()));
      return parts.join(' · ');
    }
  }
}

/** One word for how a database syncs now (the timeline's strip): see SyncStateLine. */
export function syncStateName(state: DatabaseSyncState): string {
  switch (state.kind) {
    case 'off':
    case 'untrusted':
      return 'off';
    case 'no-key':
    case 'bad-config':
    case 'needs-consent':
      return 'attention';
    case 'on': {
      const s = state.status;
      if (state.running) return 'syncing';
      if (s.state !== 'idle') return s.state; // offline, error, paused, standby
      return s.mode === 'live' ? 'live' : s.mode === 'manual' ? 'manual' : 'polling';
    }
  }
}

/** How changes move, for the Sync view and tooltips. */
export function describeMode(mode: SyncStatus['mode']): string {
  switch (mode) {
    case 'live': return vscode.l10n.t('live: writes pushed at once, one request open for changes');
    case 'push': return vscode.l10n.t('writes pushed at once, changes pulled on the interval (a proxy is in use)');
    case 'interval': return vscode.l10n.t('polling on the interval');
    case 'manual': return vscode.l10n.t('on Sync Now only');
  }
}

function escape(s: string): string {
  return s.replace(/[\\`*_[\]<>|]/g, '\\$&');
}
