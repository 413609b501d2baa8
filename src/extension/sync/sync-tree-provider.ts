/**
 * The Sync view: one item per database whose sync is on (or needs attention), with its server,
 * dataset, pending changes, last sync and last error as children. Empty (and showing the
 * "Sync is off" welcome) when nothing syncs.
 */
import * as vscode from 'vscode';
import type { DatabaseRegistry, OpenDatabase } from '../databases/database-registry';
import type { SyncController } from './sync-controller';
import { describe, describeMode } from './sync-status-bar';

type SyncNode = { database: OpenDatabase } | { database: OpenDatabase; label: string; value: string; icon: string };

export class SyncTreeProvider implements vscode.TreeDataProvider<SyncNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly registry: DatabaseRegistry, private readonly sync: SyncController) {
    this.subscription = sync.onDidChangeState(() => this.changed.fire());
  }

  getChildren(node?: SyncNode): SyncNode[] {
    if (!node) return this.registry.list().filter((d) => this.sync.state(d).kind !== 'off').map((database) => ({ database }));
    if ('label' in node) return [];
    const state = this.sync.state(node.database);
    if (state.kind !== 'on') return [{ database: node.database, label: vscode.l10n.t('Status'), value: describe(state), icon: 'warning' }];
    const s = state.status;
    const rows: SyncNode[] = [
      { database: node.database, label: vscode.l10n.t('Server'), value: s.url ?? '', icon: 'server' },
      { database: node.database, label: vscode.l10n.t('Dataset'), value: s.dataset ?? '', icon: 'package' },
      { database: node.database, label: vscode.l10n.t('Mode'), value: describeMode(s.mode), icon: s.mode === 'live' ? 'broadcast' : 'history' },
      { database: node.database, label: vscode.l10n.t('Pending changes'), value: String(s.pending), icon: 'cloud-upload' },
      { database: node.database, label: vscode.l10n.t('Last sync'), value: s.lastSyncAt ? new Date(s.lastSyncAt).toLocaleString() : vscode.l10n.t('never'), icon: 'history' },
    ];
    if (s.warning) rows.push({ database: node.database, label: vscode.l10n.t('Warning'), value: s.warning.message, icon: 'shield' });
    if (s.lastError) rows.push({ database: node.database, label: vscode.l10n.t('Last error'), value: `${s.lastError.code}: ${s.lastError.message}`, icon: 'error' });
    return rows;
  }

  getTreeItem(node: SyncNode): vscode.TreeItem {
    if ('label' in node) {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.id = `sync:${node.database.id}\u0000${node.label}`;
      item.description = node.value;
      item.tooltip = node.value;
      item.iconPath = new vscode.ThemeIcon(node.icon);
      return item;
    }
    const state = this.sync.state(node.database);
    const item = new vscode.TreeItem(`${node.database.folder.name} / ${node.database.label}`, vscode.TreeItemCollapsibleState.Expanded);
    item.id = `sync:${node.database.id}`;
    item.iconPath = new vscode.ThemeIcon(state.kind === 'on' ? (state.running ? 'sync~spin' : state.status.state === 'error' ? 'error' : 'cloud') : 'warning');
    item.description = state.kind === 'on' ? (state.running ? vscode.l10n.t('syncing') : state.status.state) : describe(state);
    item.contextValue = 'syncDatabase';
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
