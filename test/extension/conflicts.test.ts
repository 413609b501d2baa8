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
    await notes.insertMany([
      { _id: 'n1', title: 'ours', body: 'kept' }, { _id: 'n2', title: 'mine' }, { _id: 'n3', title: 't3', body: 'b3' }, { _id: 'n6', title: 'now6', body: 'b6' },
    ]);
    const T = 1_700_000_000_000;
    const deleted = { deleted: true as const };
    const records = [
      { _id: 'c_1', coll: 'notes', docId: 'n1', kind: 'field', fields: { title: { winner: { value: 'ours' }, loser: { value: 'theirs' } } }, serverTime: T },
      { _id: 'c_2', coll: 'notes', docId: 'n2', kind: 'field', fields: { title: { winner: { value: 'mine' }, loser: { value: 'yours' } } }, serverTime: T + 100_000 },
      // Two records of one document: the newer one's losing title is the one shown.
      { _id: 'c_10', coll: 'notes', docId: 'n3', kind: 'field', fields: { title: { winner: { value: 'a' }, loser: { value: 'older loser' } } }, serverTime: T + 200_000 },
      { _id: 'c_11', coll: 'notes', docId: 'n3', kind: 'field', fields: { title: { winner: { value: 't3' }, loser: { value: 'newer loser' } }, body: { winner: { value: 'b3' }, loser: { value: 'lost body' } } }, serverTime: T + 300_000 },
      // A delete won over an edit; an edit came after the document was purged.
      { _id: 'c_20', coll: 'notes', docId: 'n4', kind: 'delete_vs_update', fields: { title: { winner: deleted, loser: { value: 'edited' } }, body: { winner: deleted, loser: { value: 'edited body' } } }, serverTime: T + 400_000 },
      { _id: 'c_21', coll: 'notes', docId: 'n5', kind: 'update_of_purged', fields: { title: { winner: deleted, loser: { value: 'late' } } }, serverTime: T + 500_000 },
      // The document changed after the conflict (the winner's title is no longer there).
      { _id: 'c_30', coll: 'notes', docId: 'n6', kind: 'field', fields: { title: { winner: { value: 'earlier' }, loser: { value: 'x' } } }, serverTime: T + 600_000 },
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
    assert.equal(await (await database.db.collection(CONFLICTS_COLLECTION)).count({ docId: 'n2' }), 0);
    await vscode.commands.executeCommand('wisejson.resolveConflict', ref('c_2'), 'keep');
    assert.deepEqual(failures.map((f) => f.code), ['conflict_gone']);
    assert.match(failures[0].message, /no longer open: it was resolved here or on another replica/);
  });

  const activeDiff = () => waitFor('the diff editor', () => {
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    return tab?.input instanceof vscode.TabInputTextDiff ? { input: tab.input, label: tab.label } : undefined;
  });
  const text = async (uri: vscode.Uri) => (await vscode.workspace.openTextDocument(uri)).getText();
  const openRecords = async (docId: string) => (await (await database.db.collection(CONFLICTS_COLLECTION)).find({ docId })).map((r) => r._id).sort();

  it('opens every record of one document together, newest first; takes some fields, and all its records go', async () => {
    await vscode.commands.executeCommand('wisejson.openConflict', ref('c_10'));
    const diff = await activeDiff();
    assert.match(diff.label, /^n3: the value that lost ↔ now \(title, body\) · 2 conflicts, newest first$/);
    const lost = JSON.parse(await text(diff.input.original));
    assert.deepEqual([lost.title, lost.body], ['newer loser', 'lost body']);
    assert.equal(await vscode.commands.executeCommand('wisejson.resolveConflict', diff.input.original, { take: ['body'] }), 'take');
    const n3 = await (await database.db.collection('notes')).getById('n3');
    assert.deepEqual([n3?.title, n3?.body], ['t3', 'lost body']);
    assert.deepEqual(await openRecords('n3'), []);
    await waitFor('the resolved conflict\'s diff to close', () => !vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputTextDiff && t.input.original.scheme === 'wisejson-conflict')));
    assert.deepEqual(failures, []);
  });

  it('a delete that won shows as "deleted" beside the edit that lost; Restore brings the document back with the edit\'s values', async () => {
    await vscode.commands.executeCommand('wisejson.openConflict', ref('c_20'));
    const diff = await activeDiff();
    assert.equal(diff.label, 'n4: the edit that lost ↔ deleted');
    assert.deepEqual(JSON.parse(await text(diff.input.original)), { _id: 'n4', title: 'edited', body: 'edited body' });
    assert.equal(diff.input.modified.scheme, 'wisejson-conflict');
    assert.match(await text(diff.input.modified), /^\/\/ n4 was deleted on a replica that had not seen an edit made elsewhere: the delete won\.\n\/\/ Left: the values that edit wrote \(title, body\)\.\n\/\/ Resolve Conflict: Restore it/);
    assert.equal(await vscode.commands.executeCommand('wisejson.resolveConflict', diff.input.modified, 'take'), 'take');
    const n4 = await (await database.db.collection('notes')).getById('n4');
    assert.deepEqual([n4?.title, n4?.body, typeof n4?.createdAt], ['edited', 'edited body', 'string']);
    assert.deepEqual(await openRecords('n4'), []);
    assert.deepEqual(failures, []);
  });

  it('an edit of a purged document says so; Keep it purged drops the edit and the record', async () => {
    await vscode.commands.executeCommand('wisejson.openConflict', ref('c_21'));
    const diff = await activeDiff();
    assert.equal(diff.label, 'n5: the edit that lost ↔ purged');
    assert.match(await text(diff.input.modified), /n5 was deleted, and its deletion purged .* before an edit to it arrived/);
    assert.equal(await vscode.commands.executeCommand('wisejson.resolveConflict', ref('c_21'), 'keep'), 'keep');
    assert.equal(await (await database.db.collection('notes')).getById('n5'), null);
    assert.deepEqual(await openRecords('n5'), []);
    assert.deepEqual(failures, []);
  });

  it('says when the document changed after the conflict; saving a merge in the diff\'s right side resolves it in the same transaction', async () => {
    await vscode.commands.executeCommand('wisejson.openConflict', ref('c_30'));
    const diff = await activeDiff();
    assert.equal(diff.label, 'n6: the value that lost ↔ now (title) · changed since');
    await vscode.commands.executeCommand('wisejson.resolveConflict', ref('c_30'), { take: ['nope'] });
    assert.deepEqual(failures.map((f) => f.code), ['no_such_field']);
    failures = [];
    const doc = await vscode.workspace.openTextDocument(diff.input.modified);
    const merged = { ...JSON.parse(doc.getText()), title: 'merged by hand' };
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), JSON.stringify(merged, null, 2) + '\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const conflicts = await database.db.collection(CONFLICTS_COLLECTION);
    const notes = await database.db.collection('notes');
    const events: string[] = [];
    const onRemove = () => events.push('remove');
    const onUpdate = () => events.push('update notes');
    conflicts.on('remove', onRemove);
    notes.on('update', onUpdate);
    try {
      assert.ok(await doc.save());
    } finally {
      conflicts.off('remove', onRemove);
      notes.off('update', onUpdate);
    }
    assert.equal((await notes.getById('n6'))?.title, 'merged by hand');
    assert.deepEqual(await openRecords('n6'), []);
    assert.deepEqual(events.sort(), ['remove', 'update notes']);
    const after = await waitFor('the document\'s own editor in place of the diff', () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputText ? input : undefined;
    });
    assert.equal(after.uri.toString(), diff.input.modified.toString());
    assert.deepEqual(failures, []);
  });

  it('a save outside a conflict diff leaves the conflict open', async () => {
    const notes = await database.db.collection('notes');
    await (await database.db.collection(CONFLICTS_COLLECTION)).insert({ _id: 'c_40', coll: 'notes', docId: 'n2', kind: 'field', fields: { title: { winner: { value: 'mine' }, loser: { value: 'again' } } }, serverTime: 1_800_000_000_000 });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const doc = (await (await extensionApi())._internals.documents.open(database.id, 'notes', 'n2')).document;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), JSON.stringify({ ...JSON.parse(doc.getText()), body: 'plain save' }, null, 2) + '\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(await doc.save());
    assert.equal((await notes.getById('n2'))?.body, 'plain save');
    assert.deepEqual(await openRecords('n2'), ['c_40']);
    assert.deepEqual(failures, []);
  });

  it('a conflict resolved elsewhere (another replica, a script) closes its open diff', async () => {
    await (await database.db.collection('notes')).insert({ _id: 'n7', title: 'here' });
    const conflicts = await database.db.collection(CONFLICTS_COLLECTION);
    await conflicts.insert({ _id: 'c_50', coll: 'notes', docId: 'n7', kind: 'field', fields: { title: { winner: { value: 'here' }, loser: { value: 'there' } } }, serverTime: 1_800_000_100_000 });
    await vscode.commands.executeCommand('wisejson.openConflict', ref('c_50'));
    await activeDiff();
    await conflicts.remove('c_50'); // as a pulled resolution removes it
    await waitFor('the diff to close', () => !vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputTextDiff && t.input.original.scheme === 'wisejson-conflict')));
    assert.deepEqual(failures, []);
  });
});
