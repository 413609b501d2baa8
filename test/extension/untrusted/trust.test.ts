/**
 * Restricted Mode: the workspace's `.vscode/settings.json` names the workspace's own `.wisejson`,
 * an absolute folder outside, a `../` folder outside, a symlink that points outside and a
 * WiseJSON 6 folder inside (which opening would upgrade). Only the first opens, read-only; the
 * others are listed as needing trust, with the reason; nothing can be created. (That nothing was written is checked by run.mjs, which compares every file.)
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DatabaseNode, FolderNode, MessageNode, TreeNode } from '../../../src/extension/tree/database-tree-nodes';
import { extensionApi, invokeTool, waitFor, workspaceFolder } from '../helpers';

describe('extension: an untrusted workspace', () => {
  it('is not trusted (the suite runs in Restricted Mode)', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('opens the workspace\'s own database read-only: readable, every write refused', async () => {
    const api = await extensionApi();
    const db = await waitFor('the workspace database to open', () => api._internals.registry.list().find((d) => d.setting === '.wisejson'));
    assert.equal(db.readOnly, true);
    const notes = await db.db.collection('notes');
    assert.equal((await notes.getById('seeded'))?.text, 'written before VS Code opened');
    await assert.rejects(notes.insert({ _id: 'x' }), (e: unknown) => (e as { code?: string }).code === 'READ_ONLY');
    assert.equal(api._internals.registry.list().length, 1, 'no other database is open');
  });

  it('refuses the chat agent\'s write tool before asking anything; the read tools still answer', async () => {
    const api = await extensionApi();
    const db = await waitFor('the workspace database to open', () => api._internals.registry.list().find((d) => d.setting === '.wisejson'));
    const database = `${workspaceFolder().name}/.wisejson`;
    await assert.rejects(invokeTool('wisejson_write', { database, collection: 'notes', action: 'delete', filter: {} }), /refused in an untrusted workspace/);
    assert.equal(await (await db.db.collection('notes')).count(), 1, 'nothing deleted');
    assert.match(await invokeTool('wisejson_listDatabases', {}), /\[read-only: the workspace is not trusted\]: notes \(1\)/);
  });

  it('lists every folder outside the workspace as needing trust, with the reason, in the tree too', async () => {
    const api = await extensionApi();
    const folder = workspaceFolder();
    const failures = await waitFor('the outside folders and the WiseJSON 6 folder to be listed', () => {
      const f = api._internals.registry.failures(folder);
      return f.length === 4 ? f : undefined;
    }).catch((err: Error) => {
      const setting = vscode.workspace.getConfiguration('wisejson', folder.uri).inspect('databases');
      throw new Error(`${err.message}; listed: ${JSON.stringify(api._internals.registry.failures(folder))}; the setting: ${JSON.stringify(setting)}`);
    });
    for (const f of failures) {
      assert.equal(f.kind, 'needs-trust', f.setting);
      if (f.setting === 'legacy6') assert.match(f.reason, /WiseJSON 6 database.*only in a trusted workspace/, f.setting);
      else assert.match(f.reason, /outside the workspace folder.*Trust the workspace/, f.setting);
    }
    assert.match(failures.find((f) => f.setting === 'link-out')!.reason, /resolves to /);
    const tree = api._internals.tree;
    const [root] = (await tree.getChildren()) as FolderNode[];
    const children = (await tree.getChildren(root)) as TreeNode[];
    const db = children.find((n) => n.kind === 'database') as DatabaseNode;
    assert.equal((await tree.getTreeItem(db)).description, 'read-only (workspace not trusted)');
    const messages = children.filter((n) => n.kind === 'message') as MessageNode[];
    assert.deepEqual(messages.map((m) => m.text).sort(), failures.map((f) => `${f.setting}: needs workspace trust`).sort());
  });

  it('creates no database and adds none', async () => {
    const api = await extensionApi();
    await assert.rejects(api._internals.registry.add(workspaceFolder(), 'new-db'), /not trusted/);
  });
});
