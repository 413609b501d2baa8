import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { OpenDatabase } from '../../src/extension/databases/database-registry';
import type { DocumentEditors } from '../../src/extension/documents/document-editors';
import { documentUri } from '../../src/extension/documents/document-uri';
import { addDatabase, extensionApi, removeDatabase, sleep, waitFor } from './helpers';

/** What an editor shows for a stored document. */
const pretty = (doc: unknown): string => JSON.stringify(doc, null, 2) + '\n';

/** Replaces the whole text of a document (it becomes dirty). */
async function replaceText(document: vscode.TextDocument, text: string): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(0, 0, document.lineCount, 0), text);
  assert.equal(await vscode.workspace.applyEdit(edit), true, 'the edit applies');
  assert.equal(document.getText(), text);
}

/** `document.save()` as a boolean: VS Code resolves false for a failed save (a rejection counts too). */
function trySave(document: vscode.TextDocument): Promise<boolean> {
  return Promise.resolve(document.save()).then((ok) => ok, () => false);
}

/** Reverts dirty editors (so closing them asks nothing), then closes every editor. */
async function closeEditors(): Promise<void> {
  for (const document of vscode.workspace.textDocuments) {
    if (!document.isDirty) continue;
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

const errorCode = (err: unknown): unknown => (err as { code?: unknown }).code;

describe('extension: documents as JSON editors', function () {
  this.timeout(120_000);
  let database: OpenDatabase;
  let documents: DocumentEditors;

  before(async () => {
    database = await addDatabase('.wisejson-docs-test');
    documents = (await extensionApi())._internals.documents;
  });
  afterEach(closeEditors);
  after(async () => {
    await closeEditors();
    await removeDatabase(database);
  });

  async function collection(name: string) {
    return database.db.collection(name);
  }

  it('opens a document as pretty JSON in a clean json editor', async () => {
    const notes = await collection('notes');
    const doc = await notes.insert({ _id: 'n1', title: 'hello', tags: ['a', 'b'], nested: { x: 1, y: null } });
    const editor = await documents.open(database.id, 'notes', 'n1');
    assert.equal(editor.document.uri.scheme, 'wisejson');
    assert.equal(editor.document.uri.path, '/notes/n1.json');
    assert.equal(editor.document.languageId, 'json');
    assert.equal(editor.document.getText(), pretty(doc));
    assert.equal(editor.document.isDirty, false);
    assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), editor.document.uri.toString());
  });

  it('opens documents whose ids contain "/", "%", spaces and other URI characters', async () => {
    const notes = await collection('notes');
    for (const id of ['a/b', '100% sure', '%2F', 'q?x#y', 'é ✓']) {
      const doc = await notes.insert({ _id: id, text: id });
      const editor = await documents.open(database.id, 'notes', id, { preview: false });
      assert.equal(editor.document.getText(), pretty(doc), `the document ${JSON.stringify(id)}`);
      // The URI survives VS Code's string form, as it does when editors are restored.
      assert.equal(vscode.Uri.parse(editor.document.uri.toString()).path, editor.document.uri.path);
    }
  });

  it('saving an edited document replaces it in the engine (updatedAt advances, createdAt stays)', async () => {
    const notes = await collection('notes');
    const before = await notes.insert({ _id: 'e1', title: 'old', keep: true });
    const editor = await documents.open(database.id, 'notes', 'e1');
    await sleep(5); // so updatedAt can advance
    const next = { ...JSON.parse(editor.document.getText()), title: 'new', added: [1, { deep: true }] };
    delete next.keep;
    await replaceText(editor.document, pretty(next));
    assert.equal(editor.document.isDirty, true);
    assert.equal(await trySave(editor.document), true, 'the save succeeds');
    const stored = await notes.getById('e1');
    assert.ok(stored);
    assert.equal(stored.title, 'new');
    assert.deepEqual(stored.added, [1, { deep: true }]);
    assert.equal('keep' in stored, false, 'a field removed in the editor is removed (a replace, not a merge)');
    assert.equal(stored.createdAt, before.createdAt);
    assert.ok(Date.parse(stored.updatedAt!) > Date.parse(before.updatedAt!), 'updatedAt advanced');
    // The editor then shows exactly what is stored (the new updatedAt), and stays clean.
    await waitFor('the editor to show the stored document', () => editor.document.getText() === pretty(stored));
    assert.equal(editor.document.isDirty, false);
  });

  it('a document saved without _id keeps its _id', async () => {
    const notes = await collection('notes');
    await notes.insert({ _id: 'k1', a: 1 });
    const editor = await documents.open(database.id, 'notes', 'k1');
    await replaceText(editor.document, '{ "a": 2 }\n');
    assert.equal(await trySave(editor.document), true);
    const stored = await notes.getById('k1');
    assert.equal(stored?.a, 2);
    await waitFor('the editor to show the stored document', () => editor.document.getText() === pretty(stored));
  });

  it('invalid JSON is not saved: the save fails, the editor stays dirty, the engine is unchanged', async () => {
    const notes = await collection('notes');
    const before = await notes.insert({ _id: 'bad1', title: 'intact' });
    const editor = await documents.open(database.id, 'notes', 'bad1');
    const broken = '{\n  "title": "broken",\n}\n';
    await replaceText(editor.document, broken);
    assert.equal(await trySave(editor.document), false, 'the save fails');
    assert.equal(editor.document.isDirty, true);
    assert.equal(editor.document.getText(), broken);
    assert.deepEqual(await notes.getById('bad1'), before);
    // What VS Code shows after "Failed to save": where the JSON is wrong, and that nothing was written.
    await assert.rejects(
      Promise.resolve(documents.fileSystem.writeFile(editor.document.uri, Buffer.from(broken), { create: true, overwrite: true })),
      /not valid JSON: line 3, column 1: .*Nothing was saved/,
    );
    await assert.rejects(
      Promise.resolve(documents.fileSystem.writeFile(editor.document.uri, Buffer.from('[1, 2]'), { create: true, overwrite: true })),
      /one JSON object .*not an array/,
    );
    assert.deepEqual(await notes.getById('bad1'), before);
  });

  it('a unique-index violation is not saved: the save fails with the engine\'s message, nothing changes', async () => {
    const users = await collection('users');
    await users.createIndex('email', { unique: true });
    await users.insert({ _id: 'u1', email: 'ada@example.com' });
    const before = await users.insert({ _id: 'u2', email: 'bob@example.com' });
    const editor = await documents.open(database.id, 'users', 'u2');
    const text = editor.document.getText().replace('bob@example.com', 'ada@example.com');
    await replaceText(editor.document, text);
    assert.equal(await trySave(editor.document), false);
    assert.equal(editor.document.isDirty, true);
    assert.deepEqual(await users.getById('u2'), before);
    await assert.rejects(
      Promise.resolve(documents.fileSystem.writeFile(editor.document.uri, Buffer.from(text), { create: true, overwrite: true })),
      /already has email = "ada@example.com".*Nothing was written/,
    );
  });

  it('a changed _id is refused', async () => {
    const notes = await collection('notes');
    const before = await notes.insert({ _id: 'id1', title: 'x' });
    const editor = await documents.open(database.id, 'notes', 'id1');
    const text = editor.document.getText().replace('"_id": "id1"', '"_id": "id2"');
    await replaceText(editor.document, text);
    assert.equal(await trySave(editor.document), false);
    assert.equal(editor.document.isDirty, true);
    assert.deepEqual(await notes.getById('id1'), before);
    assert.equal(await notes.getById('id2'), null);
    await assert.rejects(
      Promise.resolve(documents.fileSystem.writeFile(editor.document.uri, Buffer.from(text), { create: true, overwrite: true })),
      /_id was changed from "id1" to "id2"/,
    );
  });

  it('a write through the engine reloads a clean editor and leaves a dirty one to a save conflict', async () => {
    const notes = await collection('notes');
    await notes.insert({ _id: 'w1', title: 'first' });
    await notes.insert({ _id: 'w2', title: 'first' });
    const clean = await documents.open(database.id, 'notes', 'w1', { preview: false });
    const dirty = await documents.open(database.id, 'notes', 'w2', { preview: false });
    const typed = dirty.document.getText().replace('"first"', '"typed in the editor"');
    await replaceText(dirty.document, typed);

    await sleep(5);
    const w1 = await notes.update('w1', { title: 'changed through the engine' });
    await notes.update('w2', { title: 'changed through the engine, too' });
    await waitFor('the clean editor to reload', () => clean.document.getText() === pretty(w1));
    assert.equal(clean.document.isDirty, false);

    await sleep(500);
    assert.equal(dirty.document.getText(), typed, 'a dirty editor keeps what was typed');
    assert.equal(await trySave(dirty.document), false, 'saving over a newer document is a conflict');
    assert.equal((await notes.getById('w2'))?.title, 'changed through the engine, too');
  });

  it('insertNew: saving the new-document editor inserts it and opens the inserted document instead', async () => {
    const notes = await collection('notes');
    const count = await notes.count();
    const insertedEvents: { databaseId: string; collection: string; id: string }[] = [];
    const listener = documents.onDidInsert((e) => insertedEvents.push(e));
    try {
      const editor = await documents.insertNew(database.id, 'notes');
      const newUri = editor.document.uri;
      assert.match(newUri.query, /(^|&)new=1(&|$)/);
      assert.match(newUri.path, /^\/notes\/New Document \d+\.json$/);
      assert.equal(editor.document.languageId, 'json');
      assert.deepEqual(JSON.parse(editor.document.getText()), {});
      await replaceText(editor.document, '{\n  "title": "brand new"\n}\n');
      assert.equal(await trySave(editor.document), true);

      const event = await waitFor('onDidInsert', () => insertedEvents[0]);
      assert.equal(event.databaseId, database.id);
      assert.equal(event.collection, 'notes');
      const stored = await notes.getById(event.id);
      assert.equal(stored?.title, 'brand new');
      assert.equal(await notes.count(), count + 1, 'exactly one document inserted');

      const realUri = vscode.Uri.from(documentUri(database.id, 'notes', event.id)).toString();
      await waitFor('the inserted document\'s editor to be active', () => vscode.window.activeTextEditor?.document.uri.toString() === realUri);
      assert.equal(vscode.window.activeTextEditor?.document.getText(), pretty(stored));
      await waitFor('the new-document editor to close', () => !vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === newUri.toString())));
      assert.equal(insertedEvents.length, 1);
    } finally {
      listener.dispose();
    }
  });

  it('insertNew: content that cannot be inserted is refused and stays in the editor', async () => {
    const notes = await collection('notes');
    await notes.insert({ _id: 'taken', x: 1 });
    const count = await notes.count();
    const editor = await documents.insertNew(database.id, 'notes');
    await replaceText(editor.document, '{ "_id": "taken", "x": 2 }\n');
    assert.equal(await trySave(editor.document), false);
    assert.equal(editor.document.isDirty, true);
    assert.equal(await notes.count(), count);
    assert.equal((await notes.getById('taken'))?.x, 1);
  });

  it('insertFromText inserts one JSON object and refuses anything else with a clear error', async () => {
    const notes = await collection('notes');
    const count = await notes.count();
    await assert.rejects(documents.insertFromText(database.id, 'notes', '{\n  "a": 1,\n  b: 2\n}'), /not valid JSON: line 3, column 3: .*Nothing was inserted/);
    await assert.rejects(documents.insertFromText(database.id, 'notes', '{ "a": 1'), /not valid JSON: line 1, column \d+: .*Nothing was inserted/);
    await assert.rejects(documents.insertFromText(database.id, 'notes', '[{ "a": 1 }]'), /one JSON object .*not an array.*Nothing was inserted/);
    await assert.rejects(documents.insertFromText(database.id, 'notes', '"text"'), /one JSON object/);
    assert.equal(await notes.count(), count, 'nothing was inserted');

    const id = await documents.insertFromText(database.id, 'notes', '{ "from": "text", "n": [1, 2] }');
    assert.deepEqual((await notes.getById(id))?.n, [1, 2]);
    assert.equal(await notes.count(), count + 1);
  });

  it('a missing document, collection or database is FileNotFound', async () => {
    const missing = documents.uriOf(database.id, 'notes', 'no-such-document');
    await assert.rejects(Promise.resolve(vscode.workspace.fs.readFile(missing)), (err: unknown) => errorCode(err) === 'FileNotFound');
    await assert.rejects(Promise.resolve(vscode.workspace.fs.stat(missing)), (err: unknown) => errorCode(err) === 'FileNotFound');
    await assert.rejects(documents.open(database.id, 'notes', 'no-such-document'), /not found: it may have been removed, or its database closed/);
    const noCollection = vscode.Uri.from(documentUri(database.id, 'no-such-collection', 'x'));
    await assert.rejects(Promise.resolve(vscode.workspace.fs.readFile(noCollection)), (err: unknown) => errorCode(err) === 'FileNotFound');
    assert.equal((await database.db.getCollectionNames()).includes('no-such-collection'), false, 'reading does not create a collection');
    const noDatabase = vscode.Uri.from(documentUri('/no/such/database', 'notes', 'x'));
    await assert.rejects(Promise.resolve(vscode.workspace.fs.readFile(noDatabase)), (err: unknown) => errorCode(err) === 'FileNotFound');
    await assert.rejects(Promise.resolve(documents.fileSystem.readFile(noDatabase)), /is not open in this window/);
  });

  it('lists collections and documents as directories; rename is refused', async () => {
    const dir = await collection('dir');
    await dir.insertMany([{ _id: 'a' }, { _id: 'b/c' }]);
    const root = await vscode.workspace.fs.readDirectory(documents.uriOf(database.id, 'dir', 'a').with({ path: '/' }));
    assert.ok(root.some(([name, type]) => name === 'dir' && type === vscode.FileType.Directory));
    const entries = await vscode.workspace.fs.readDirectory(documents.uriOf(database.id, 'dir', 'a').with({ path: '/dir' }));
    assert.deepEqual(entries, [['a.json', vscode.FileType.File], ['b%2Fc.json', vscode.FileType.File]]);
    const stat = await vscode.workspace.fs.stat(documents.uriOf(database.id, 'dir', 'a'));
    const a = await dir.getById('a');
    assert.equal(stat.type, vscode.FileType.File);
    assert.equal(stat.mtime, Date.parse(a!.updatedAt!));
    assert.equal(stat.ctime, Date.parse(a!.createdAt!));
    assert.equal(stat.size, Buffer.byteLength(pretty(a)));
    await assert.rejects(
      Promise.resolve(vscode.workspace.fs.rename(documents.uriOf(database.id, 'dir', 'a'), documents.uriOf(database.id, 'dir', 'z'))),
      (err: unknown) => errorCode(err) === 'NoPermissions',
    );
    await vscode.workspace.fs.delete(documents.uriOf(database.id, 'dir', 'a'));
    assert.equal(await dir.getById('a'), null, 'deleting the file removes the document');
  });
});
