/**
 * The VS Code extension's entry point: a thin adapter over the engine and sync layers. For now it
 * exposes the engine to other extensions; the sidebar tree, document editors, status bar and sync
 * timeline build on this (see the issues).
 */
import * as vscode from 'vscode';
import * as engine from '../engine';

/** What `vscode.extensions.getExtension('wisejson.wisejson-vscode').activate()` resolves with. */
export interface WiseJSONExtensionApi {
  /** The engine's WiseJSON class: `new api.WiseJSON(folder)`. */
  WiseJSON: typeof engine.WiseJSON;
  /** Opens (creating if needed) a database folder. */
  connect: typeof engine.connect;
}

export function activate(context: vscode.ExtensionContext): WiseJSONExtensionApi {
  const log = vscode.window.createOutputChannel('WiseJSON', { log: true });
  context.subscriptions.push(log);
  log.info(`WiseJSON ${context.extension.packageJSON.version as string} activated`);
  return { WiseJSON: engine.WiseJSON, connect: engine.connect };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
