/** A WiseJSON 6 folder in a trusted workspace: upgraded when it opens, its collections shown. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CollectionNode, DatabaseNode, FolderNode, TreeNode } from '../../src/extension/tree/database-tree-nodes';
import { EXTENSION_ID, extensionApi, removeDatabase, workspaceFolder } from './helpers';

describe('extension: a WiseJSON 6 database folder', () => {
  it('is upgraded once when it opens: its collections and documents show, the old files kept in the backup', async () => {
    const api = await extensionApi();
    const fixture = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'test', 'fixtures', 'wisejson6', 'notes');
    const dir = path.join(workspaceFolder().uri.fsPath, 'legacy-notes');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(fixture, dir, { recursive: true });
    const database = await api._internals.registry.add(workspaceFolder(), 'legacy-notes');
    try {
      const report = database.db.upgradeReport;
      assert.ok(report, 'upgraded');
      assert.equal(report.documents, 6);
      assert.equal(report.backup, path.join(dir, 'wisejson6-backup'));
      assert.ok(fs.existsSync(path.join(dir, 'wisejson6-backup', 'notes', 'wal_notes.log')));
      assert.equal((await (await database.db.collection('notes')).getById('n1'))?.title, 'first, edited after');

      const tree = api._internals.tree;
      const [root] = (await tree.getChildren()) as FolderNode[];
      const node = ((await tree.getChildren(root)) as TreeNode[]).find((n) => n.kind === 'database' && (n as DatabaseNode).database.id === dir) as DatabaseNode;
      assert.ok(node, 'the database is in the tree');
      const collections = ((await tree.getChildren(node)) as TreeNode[]).filter((n) => n.kind === 'collection') as CollectionNode[];
      assert.deepEqual(collections.map((c) => c.name), ['notes', 'users']);
    } finally {
      await removeDatabase(database);
    }
  });
});
