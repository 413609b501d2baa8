/**
 * Sync configuration of a workspace folder: the server, dataset and interval live in settings
 * (resource-scoped, restricted in untrusted workspaces); the API key lives only in VS Code's
 * SecretStorage, keyed by the server URL, and is never written to settings or logs.
 */
import * as vscode from 'vscode';

export interface FolderSyncSettings {
  enabled: boolean;
  serverUrl: string;
  dataset: string;
  intervalMs: number;
  /** Live sync (push on write and one long-poll per database); on by default. */
  live: boolean;
}

export function readSyncSettings(folder: vscode.WorkspaceFolder): FolderSyncSettings {
  const c = vscode.workspace.getConfiguration('wisejson.sync', folder.uri);
  return {
    enabled: c.get<boolean>('enabled', false),
    serverUrl: c.get<string>('serverUrl', '').trim(),
    dataset: c.get<string>('dataset', 'default').trim() || 'default',
    intervalMs: Math.max(1000, c.get<number>('intervalMs', 30_000)),
    live: c.get<boolean>('live', true),
  };
}

export async function writeSyncSettings(folder: vscode.WorkspaceFolder, s: Partial<FolderSyncSettings>): Promise<void> {
  const c = vscode.workspace.getConfiguration('wisejson.sync', folder.uri);
  for (const [k, v] of Object.entries(s)) await c.update(k, v, vscode.ConfigurationTarget.WorkspaceFolder);
}

/** Checks a server URL typed by the user; returns what is wrong, or null. */
export function checkServerUrl(value: string): string | null {
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    return vscode.l10n.t('Not a URL. Type the sync server\'s address, e.g. http://127.0.0.1:3000');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return vscode.l10n.t('The URL must start with http:// or https://');
  if (u.username || u.password) return vscode.l10n.t('Put no credentials in the URL: the API key is asked for separately and kept in secret storage.');
  return null;
}

/** The server URL in one canonical form (the SecretStorage key and what settings hold). */
export function normalizeServerUrl(value: string): string {
  const u = new URL(value.trim());
  return u.toString().replace(/\/+$/, '');
}

/** API keys in VS Code's SecretStorage, one per server URL. */
export class ApiKeyStore {
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with the server URL whose key was set or cleared (here or in another window). */
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.subscription = secrets.onDidChange((e) => {
      if (e.key.startsWith(PREFIX)) this.changed.fire(e.key.slice(PREFIX.length));
    });
  }

  get(serverUrl: string): Thenable<string | undefined> {
    return this.secrets.get(PREFIX + normalizeServerUrl(serverUrl));
  }

  async set(serverUrl: string, apiKey: string): Promise<void> {
    await this.secrets.store(PREFIX + normalizeServerUrl(serverUrl), apiKey);
  }

  async clear(serverUrl: string): Promise<void> {
    await this.secrets.delete(PREFIX + normalizeServerUrl(serverUrl));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

const PREFIX = 'wisejson.apiKey:';
