import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { CommandFailure } from '../../src/extension/commands/register-command';
import type { OpenDatabase } from '../../src/extension/databases/database-registry';
import { CONFLICTS_COLLECTION, parseConflictRecord } from '../../src/sync/protocol';
import { addDatabase, extensionApi, removeDatabase, waitFor } from './helpers';

describe('extension: resolving sync conflicts', function () {
  this.timeout(120_000);
  let database: OpenDatabase;
  let failures: CommandFailure[] = [];
  let sub: vscode.Disposable;
  const ref = (conflictId: string) => ({ database: database.id, conflictId });

  before(async () => {
    const api = await extensionApi();
    sub = api._internals.commands.onDidFail((f) => failures.push(f));
    database = await addDatabase('.wisejson-conflicts-test');
    const notes = await database.db.collection('notes');
    await notes.insertMany([{ _id: 'n1', title: 'ours', body: 'kept' }, { _id: 'n2', title: 'mine' }]);
    const records = [
      { _id: 'c_1', coll: 'notes', docId: 'n1', kind: 'field', fields: { title: { winner: { value: 'ours' }, loser: { value: 'theirs' } } }, serverTime: 1_700_000_000_000 },
      { _id: 'c_2', coll: 'notes', docId: 'n2', kind: 'field', fields: { title: { winner: { value: 'mine' }, loser: { value: 'yours' } } }, serverTime: 1_700_000_100_000 },
    ];
    for (const r of records) parseConflictRecord(r); // the records sync writes
    await (await database.db.collection(CONFLICTS_COLLECTION)).insertMany(records);
  });
  beforeEach(() => {
    failures = [];
  });
  after(async () => {
    sub.dispose();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await removeDatabase(database);
  });

  it('opens a field conflict in the diff editor: the value that lost (left) and the current document (right)', async () => {
    const left = await vscode.commands.executeCommand<vscode.Uri>('wisejson.openConflict', ref('c_1'));
    const tab = await waitFor('the diff editor', () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputTextDiff ? input : undefined;
    });
    assert.equal(tab.original.toString(), left.toString());
    assert.equal(tab.modified.scheme, 'wisejson');
    assert.equal(tab.modified.path, '/notes/n1.json');
    const lost = JSON.parse((await vscode.workspace.openTextDocument(tab.original)).getText());
    const now = JSON.parse((await vscode.workspace.openTextDocument(tab.modified)).getText());
    assert.deepEqual([lost.title, lost.body, now.title, now.body], ['theirs', 'kept', 'ours', 'kept']);
    assert.match(vscode.window.tabGroups.activeTabGroup.activeTab!.label, /^n1: the value that lost ↔ now \(title\)$/);
    assert.deepEqual(failures, []);
  });

  it('Take the value that lost: the document gets it and the record goes, in one transaction', async () => {
    const notes = await database.db.collection('notes');
    const conflicts = await database.db.collection(CONFLICTS_COLLECTION);
    const events: string[] = [];
    const onUpdate = () => events.push('update');
    const onRemove = () => events.push('remove');
    notes.on('update', onUpdate);
    conflicts.on('remove', onRemove);
    try {
      assert.equal(await vscode.commands.executeCommand('wisejson.resolveConflict', ref('c_1'), 'take'), 'take');
    } finally {
      notes.off('update', onUpdate);
      conflicts.off('remove', onRemove);
    }
    const n1 = await notes.getById('n1');
    assert.deepEqual([n1?.title, n1?.body, n1?.createdAt !== undefined], ['theirs', 'kept', true]);
    assert.equal(await conflicts.getById('c_1'), null);
    assert.deepEqual(events.sort(), ['remove', 'update']);
    assert.deepEqual(failures, []);
  });

  it('Keep the current value: the record goes, the document stays; a resolved conflict cannot be resolved again', async () => {
    const notes = await database.db.collection('notes');
    assert.equal(await vscode.commands.executeCommand('wisejson.resolveConflict', ref('c_2'), 'keep'), 'keep');
    assert.equal((await notes.getById('n2'))?.title, 'mine');
    assert.equal(await (await database.db.collection(CONFLICTS_COLLECTION)).count(), 0);
    await vscode.commands.executeCommand('wisejson.resolveConflict', ref('c_2'), 'keep');
    assert.deepEqual(failures.map((f) => f.code), ['conflict_gone']);
    assert.match(failures[0].message, /no longer open: it was resolved here or on another replica/);
  });
});
