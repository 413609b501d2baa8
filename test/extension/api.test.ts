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
});
