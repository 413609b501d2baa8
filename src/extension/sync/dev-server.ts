/**
 * `npm start` runs a local sync server with a fresh development key and hands it to the VS Code
 * server's environment (`WISEJSON_DEV_SERVER_URL`, `WISEJSON_DEV_API_KEY`, optional
 * `WISEJSON_DEV_DATASET`). On activation the extension connects every workspace folder to it
 * through its own commands, so the key lands in SecretStorage like a key typed by a user, and no
 * file of the workspace ever holds it. Without those variables this does nothing.
 */
import * as vscode from 'vscode';
import type { SyncConsent } from './sync-consent';
import { readSyncSettings } from './sync-settings';

/**
 * npm start's connection is the user's consent to sync with its server: recorded for every
 * workspace folder before the databases open, so that settings a previous npm start wrote never
 * raise the settings-started-sync question (sync-consent.ts) for it.
 */
export async function grantDevServerConsent(consent: SyncConsent, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const serverUrl = env.WISEJSON_DEV_SERVER_URL;
  if (!serverUrl || !env.WISEJSON_DEV_API_KEY || !vscode.workspace.isTrusted) return;
  for (const folder of vscode.workspace.workspaceFolders ?? []) await consent.set(folder, serverUrl, 'allowed');
}

export async function connectDevServer(log: vscode.LogOutputChannel, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const serverUrl = env.WISEJSON_DEV_SERVER_URL;
  const apiKey = env.WISEJSON_DEV_API_KEY;
  if (!serverUrl || !apiKey) return;
  if (!vscode.workspace.isTrusted) {
    log.warn('npm start\'s sync server is not connected: the workspace is not trusted');
    return;
  }
  const dataset = env.WISEJSON_DEV_DATASET || 'demo';
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const s = readSyncSettings(folder);
    if (s.enabled && s.serverUrl.replace(/\/+$/, '') === serverUrl.replace(/\/+$/, '')) {
      await vscode.commands.executeCommand('wisejson.setApiKey', { serverUrl, apiKey });
    } else {
      await vscode.commands.executeCommand('wisejson.enableSync', { folder: folder.uri, serverUrl, dataset: s.enabled ? s.dataset : dataset, apiKey });
    }
    log.info(`connected ${folder.name} to npm start's sync server ${serverUrl}`);
  }
}
