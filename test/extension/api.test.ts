import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, extensionApi } from './helpers';

describe('extension: activation and API', () => {
  it('activates and returns the engine API, which opens a real database', async () => {
    const api = await extensionApi();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-ext-'));
    const db = await api.connect(path.join(dir, 'db'));
    const notes = await db.collection('notes');
    await notes.insert({ _id: 'n1', text: 'from the extension host' });
    assert.equal((await notes.getById('n1'))?.text, 'from the extension host');
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('registers every command it contributes', async () => {
    await extensionApi();
    const contributed: { command: string }[] = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.commands;
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.map((c) => c.command).filter((c) => !registered.has(c));
    assert.deepEqual(missing, []);
  });

  it('the status bar menu offers the sync actions in a quick pick (closed without a choice)', async () => {
    const api = await extensionApi();
    const failures: string[] = [];
    const sub = api._internals.commands.onDidFail((f) => failures.push(f.message));
    const shown = vscode.commands.executeCommand('wisejson.showSyncMenu');
    await new Promise((r) => setTimeout(r, 500));
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    await shown;
    sub.dispose();
    assert.deepEqual(failures, []);
  });

  it('contributes a walkthrough that opens', async () => {
    const walkthroughs: { id: string; steps: unknown[] }[] = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.walkthroughs;
    assert.equal(walkthroughs[0].steps.length, 4);
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#${walkthroughs[0].id}`, false);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
