/**
 * Consent for sync that settings turn on. A committed `.vscode/settings.json` can enable sync
 * with a server the user holds a key for; the first time settings (not the user's own Enable
 * Sync, nor npm start's connection) would start it for a workspace folder and server URL, the
 * user is asked once. The answer is kept in the workspace's state, per folder and URL.
 */
import * as vscode from 'vscode';
import { normalizeServerUrl } from './sync-settings';

export type ConsentAnswer = 'allowed' | 'declined';

export class SyncConsent {
  constructor(private readonly state: vscode.Memento) {}

  private key(folder: vscode.WorkspaceFolder, serverUrl: string): string {
    return `wisejson.syncConsent\u0000${folder.uri.toString()}\u0000${normalizeServerUrl(serverUrl)}`;
  }

  get(folder: vscode.WorkspaceFolder, serverUrl: string): ConsentAnswer | undefined {
    const v = this.state.get<unknown>(this.key(folder, serverUrl));
    return v === 'allowed' || v === 'declined' ? v : undefined;
  }

  async set(folder: vscode.WorkspaceFolder, serverUrl: string, answer: ConsentAnswer): Promise<void> {
    await this.state.update(this.key(folder, serverUrl), answer);
  }
}
