import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CommandFailure } from '../../src/extension/commands/register-command';
import { extensionApi, waitFor, workspaceFolder } from './helpers';

describe('extension: commands', function () {
  this.timeout(60_000);
  const folder = () => workspaceFolder();
  let dbId: string;
  let failures: CommandFailure[] = [];
  let sub: vscode.Disposable;
  const ref = (collection?: string, id?: string) => ({ database: dbId, collection, id });

  before(async () => {
    const api = await extensionApi();
    sub = api._internals.commands.onDidFail((f) => failures.push(f));
    fs.rmSync(path.join(folder().uri.fsPath, '.wisejson-cmd'), { recursive: true, force: true });
  });
  beforeEach(() => {
    failures = [];
  });
  after(() => sub.dispose());

  it('Create Database makes the folder a database, lists it in wisejson.databases and shows it', async () => {
    const api = await extensionApi();
    dbId = (await vscode.commands.executeCommand<string>('wisejson.createDatabase', folder().uri, '.wisejson-cmd'))!;
    assert.equal(dbId, path.join(folder().uri.fsPath, '.wisejson-cmd'));
    assert.ok(fs.existsSync(path.join(dbId, 'meta.json')), 'the engine wrote its files');
    assert.ok(vscode.workspace.getConfiguration('wisejson', folder().uri).get<string[]>('databases')!.includes('.wisejson-cmd'));
    assert.ok(api._internals.registry.get(dbId));
  });

  it('Create Collection, Insert Document (JSON input), Copy Document Id', async () => {
    const api = await extensionApi();
    assert.equal(await vscode.commands.executeCommand('wisejson.createCollection', ref(), 'notes'), 'notes');
    const db = api._internals.registry.get(dbId)!.db;
    assert.ok((await db.getCollectionNames()).includes('notes'));
    const id = await vscode.commands.executeCommand<string>('wisejson.insertDocument', ref('notes'), '{"_id": "n1", "title": "hello"}');
    assert.equal(id, 'n1');
    assert.equal((await (await db.collection('notes')).getById('n1'))?.title, 'hello');
    assert.equal(await vscode.commands.executeCommand('wisejson.copyDocumentId', ref('notes', 'n1')), 'n1');
    assert.equal(await vscode.env.clipboard.readText(), 'n1');
    assert.deepEqual(failures, []);
  });

  it('refuses a bad collection name and bad JSON with a message, changing nothing', async () => {
    const api = await extensionApi();
    const db = api._internals.registry.get(dbId)!.db;
    const before = await db.getCollectionNames();
    await vscode.commands.executeCommand('wisejson.createCollection', ref(), 'bad/name');
    await vscode.commands.executeCommand('wisejson.insertDocument', ref('notes'), '{"title": ');
    assert.equal(failures.length, 2, JSON.stringify(failures));
    assert.deepEqual(await db.getCollectionNames(), before);
    assert.equal(await (await db.collection('notes')).count(), 1);
  });

  it('Create Index (unique) then refuses a duplicate with the unique-index message', async () => {
    const api = await extensionApi();
    const notes = await api._internals.registry.get(dbId)!.db.collection('notes');
    assert.equal(await vscode.commands.executeCommand('wisejson.createIndex', ref('notes'), { field: 'title', unique: true }), 'title');
    assert.deepEqual((await notes.getIndexes()).map((i) => [i.fieldName, i.type]), [['title', 'unique']]);
    await vscode.commands.executeCommand('wisejson.insertDocument', ref('notes'), '{"title": "hello"}');
    assert.equal(failures.length, 1);
    assert.match(failures[0].message, /unique|title/i);
    assert.equal(await notes.count(), 1);
  });

  it('Create Index over an index of the other type says to drop it first; Drop Index drops it', async () => {
    const api = await extensionApi();
    const notes = await api._internals.registry.get(dbId)!.db.collection('notes');
    const before = failures.length;
    await vscode.commands.executeCommand('wisejson.createIndex', ref('notes'), { field: 'title', unique: false });
    assert.equal(failures.length, before + 1);
    assert.match(failures[failures.length - 1].message, /already has a unique index on "title".*Drop it first/);
    assert.deepEqual((await notes.getIndexes()).map((i) => [i.fieldName, i.type]), [['title', 'unique']]);
    assert.equal(await vscode.commands.executeCommand('wisejson.dropIndex', ref('notes'), 'title'), 'title');
    assert.deepEqual(await notes.getIndexes(), []);
    assert.equal(await vscode.commands.executeCommand('wisejson.createIndex', ref('notes'), { field: 'title', unique: false }), 'title');
    assert.deepEqual((await notes.getIndexes()).map((i) => [i.fieldName, i.type]), [['title', 'standard']]);
    failures.splice(before);
  });

  it('Export Collection writes JSON; Import Collection appends it to another collection', async () => {
    const api = await extensionApi();
    const db = api._internals.registry.get(dbId)!.db;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-export-')), 'notes.json');
    assert.equal(await vscode.commands.executeCommand('wisejson.exportCollection', ref('notes'), vscode.Uri.file(file)), 1);
    const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(exported[0]._id, 'n1');
    await vscode.commands.executeCommand('wisejson.createCollection', ref(), 'copy');
    assert.equal(await vscode.commands.executeCommand('wisejson.importCollection', ref('copy'), vscode.Uri.file(file), 'append'), 1);
    assert.equal((await (await db.collection('copy')).getById('n1'))?.title, 'hello');
    // A file that is not JSON: a clear message, nothing imported.
    fs.writeFileSync(file, 'not json');
    await vscode.commands.executeCommand('wisejson.importCollection', ref('copy'), vscode.Uri.file(file), 'replace');
    assert.equal(failures.length, 1, JSON.stringify(failures));
    assert.equal(await (await db.collection('copy')).count(), 1);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('Delete Document and Drop Collection (confirmed) remove them; Refresh runs', async () => {
    const api = await extensionApi();
    const db = api._internals.registry.get(dbId)!.db;
    assert.equal(await vscode.commands.executeCommand('wisejson.deleteDocument', ref('copy', 'n1'), { confirmed: true }), true);
    assert.equal(await (await db.collection('copy')).count(), 0);
    assert.equal(await vscode.commands.executeCommand('wisejson.dropCollection', ref('copy'), { confirmed: true }), true);
    assert.ok(!(await db.getCollectionNames()).includes('copy'));
    await vscode.commands.executeCommand('wisejson.refresh');
    assert.deepEqual(failures, []);
  });

  it('Open Document opens it as a JSON editor', async () => {
    await vscode.commands.executeCommand('wisejson.openDocument', ref('notes', 'n1'));
    const editor = await waitFor('the document editor', () => (vscode.window.activeTextEditor?.document.uri.scheme === 'wisejson' ? vscode.window.activeTextEditor : undefined));
    assert.equal(JSON.parse(editor.document.getText()).title, 'hello');
    assert.equal(editor.document.languageId, 'json');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('Open Folder as Database and Close Database', async () => {
    const api = await extensionApi();
    const other = path.join(folder().uri.fsPath, 'data', 'other-db');
    fs.rmSync(other, { recursive: true, force: true });
    fs.mkdirSync(other, { recursive: true });
    assert.equal(await vscode.commands.executeCommand('wisejson.openDatabase', vscode.Uri.file(other)), other);
    assert.ok(vscode.workspace.getConfiguration('wisejson', folder().uri).get<string[]>('databases')!.includes(path.join('data', 'other-db')));
    await vscode.commands.executeCommand('wisejson.closeDatabase', { database: other });
    assert.equal(api._internals.registry.get(other), undefined);
    assert.ok(!vscode.workspace.getConfiguration('wisejson', folder().uri).get<string[]>('databases')!.includes(path.join('data', 'other-db')));
    await vscode.commands.executeCommand('wisejson.closeDatabase', { database: dbId });
    assert.equal(api._internals.registry.get(dbId), undefined);
    fs.rmSync(path.join(folder().uri.fsPath, 'data'), { recursive: true, force: true });
    fs.rmSync(dbId, { recursive: true, force: true });
    assert.deepEqual(failures, []);
  });
});
