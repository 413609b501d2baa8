import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WiseJSONExtensionApi } from '../../src/extension/extension';

describe('extension: activation', () => {
  it('activates and returns the engine API, which opens a real database', async () => {
    const ext = vscode.extensions.getExtension<WiseJSONExtensionApi>('wisejson.wisejson-vscode');
    assert.ok(ext, 'the extension is installed');
    const api = await ext.activate();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-ext-'));
    const db = await api.connect(path.join(dir, 'db'));
    const notes = await db.collection('notes');
    await notes.insert({ _id: 'n1', text: 'from the extension host' });
    assert.equal((await notes.getById('n1'))?.text, 'from the extension host');
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
