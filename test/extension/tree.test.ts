import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { OpenDatabase } from '../../src/extension/databases/database-registry';
import { CollectionNode, ConflictsNode, DatabaseNode, DocumentNode, FolderNode, IndexesNode, IndexNode, LoadMoreNode, SchemaFieldNode, SchemaNode, TreeNode } from '../../src/extension/tree/database-tree-nodes';
import { CONFLICTS_COLLECTION, parseConflictRecord } from '../../src/sync/protocol';
import { addDatabase, EXTENSION_ID, extensionApi, removeDatabase, waitFor } from './helpers';

/** Tree nodes are matched by kind and id: the compiled test and the bundled extension are separate copies of the classes. */
const is = (n: TreeNode, kind: TreeNode['kind']): boolean => n.kind === kind;

describe('extension: the Databases tree', function () {
  this.timeout(120_000);
  let database: OpenDatabase;

  before(async () => {
    database = await addDatabase('.wisejson-tree');
    const big = await database.db.collection('big');
    for (let i = 0; i < 10_000; i += 1000) {
      await big.insertMany(Array.from({ length: 1000 }, (_, j) => ({ _id: `d${String(i + j).padStart(5, '0')}`, n: i + j, name: `doc ${i + j}` })));
    }
    const small = await database.db.collection('small');
    await small.insertMany([{ _id: 'a', title: 'first' }, { _id: 'b', title: 'second' }]);
  });
  after(async () => {
    await removeDatabase(database);
  });

  async function tree() {
    return (await extensionApi())._internals.tree;
  }

  async function collectionNode(name: string): Promise<CollectionNode> {
    const t = await tree();
    const folders = await t.getChildren();
    const folder = folders.find((f) => is(f, 'folder') && (f as FolderNode).folder.uri.fsPath === path.dirname(database.id)) as FolderNode;
    assert.ok(folder, 'the workspace folder is a root node');
    const dbNode = (await t.getChildren(folder)).find((n) => is(n, 'database') && (n as DatabaseNode).database.id === database.id) as DatabaseNode;
    assert.ok(dbNode, 'the database is under its folder');
    const coll = (await t.getChildren(dbNode)).find((n) => is(n, 'collection') && (n as CollectionNode).name === name) as CollectionNode;
    assert.ok(coll, `the collection ${name} is under the database`);
    return coll;
  }

  it('shows folder → database → collections, with the document count', async () => {
    const t = await tree();
    const big = await collectionNode('big');
    assert.equal((await t.getTreeItem(big)).description, '10000 documents');
    assert.equal((await t.getTreeItem(await collectionNode('small'))).description, '2 documents');
    const dbItem = await t.getTreeItem(big.parent);
    assert.equal(dbItem.label, '.wisejson-tree');
    assert.equal(dbItem.contextValue, 'database');
  });

  it('pages a 10k-document collection: a page, then "Load more" adds the next, in _id order, never all at once', async () => {
    const t = await tree();
    const big = await collectionNode('big');
    t.refresh(big);
    let children = await t.getChildren(big);
    assert.equal(children.filter((c) => is(c, 'document')).length, 100, 'the first page has wisejson.pageSize (100) documents');
    const more = children.at(-3)!;
    assert.ok(is(more, 'loadMore'), '"Load more" follows the documents');
    assert.deepEqual(children.slice(-2).map((n) => n.kind), ['indexes', 'schema'], 'the collection\'s Indexes and Schema come last, after "Load more"');
    const moreItem = await t.getTreeItem(more);
    assert.equal(moreItem.command?.command, 'wisejson.loadMore');
    assert.equal(await vscode.commands.executeCommand('wisejson.loadMore', more), 200);
    children = await t.getChildren(big);
    const ids = children.filter((c) => is(c, 'document')).map((c) => (c as DocumentNode).documentId);
    assert.equal(ids.length, 200);
    assert.deepEqual(ids, [...ids].sort());
    assert.equal(ids[0], 'd00000');
    assert.equal(ids[199], 'd00199');
    // The loaded count survives a refresh, and ids are stable so expansion is kept.
    const firstId = (children[0] as DocumentNode).id;
    t.refresh(big);
    children = await t.getChildren(big);
    assert.equal(children.filter((c) => is(c, 'document')).length, 200);
    assert.equal((children[0] as DocumentNode).id, firstId);
    const item = await t.getTreeItem(children[0]);
    assert.equal(item.command?.command, 'wisejson.openDocument');
    assert.equal(item.label, 'doc 0', 'a document with a name shows it');
    assert.equal(item.description, 'd00000', 'and its id beside it');
    assert.equal(item.contextValue, 'document');
  });

  it('loads every page to the end: 10000 documents once each, then no "Load more"', async () => {
    const t = await tree();
    const big = await collectionNode('big');
    for (let guard = 0; guard < 200; guard++) {
      const last = (await t.getChildren(big)).at(-3)!;
      if (!is(last, 'loadMore')) break;
      await t.loadMore((last as LoadMoreNode).parent);
    }
    const docs = (await t.getChildren(big)).filter((c) => is(c, 'document')).map((c) => (c as DocumentNode).documentId);
    assert.equal(docs.length, 10_000);
    assert.equal(new Set(docs).size, 10_000);
  });

  it('shows a write made by another process within about a second, refreshing that collection', async () => {
    const t = await tree();
    const small = await collectionNode('small');
    await t.getChildren(small);
    const lib = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'wise-json.js');
    const script = `const W=require(${JSON.stringify(lib)});(async()=>{const db=new W(${JSON.stringify(database.id)});await db.init();const c=await db.collection('small');await c.insert({_id:'c',title:'from another process'});await db.close();})().catch(e=>{console.error(e);process.exit(1)})`;
    const started = Date.now();
    execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, timeout: 30_000 });
    const wrote = Date.now();
    await waitFor('the tree to show 3 documents in small', async () => (await t.getTreeItem(small)).description === '3 documents' && (await t.getChildren(small)).some((c) => is(c, 'document') && (c as DocumentNode).documentId === 'c'), 5000);
    console.log(`      (another process's insert visible in the tree ${Date.now() - wrote} ms after it returned; the child process took ${wrote - started} ms)`);
  });

  it('reveals a document in the view (getParent works), which expands its collection', async () => {
    const api = await extensionApi();
    await vscode.commands.executeCommand('workbench.view.extension.wisejson');
    const node = await api._internals.tree.findDocument(database, 'small', 'b');
    assert.ok(node);
    await api._internals.view.reveal(node, { select: true, focus: true, expand: true });
    assert.equal((api._internals.view.selection[0] as DocumentNode | undefined)?.id, node.id);
  });

  it('filters a collection by a query, shows the filter, and clears it', async () => {
    const api = await extensionApi();
    const t = api._internals.tree;
    const big = await collectionNode('big');
    assert.equal(await vscode.commands.executeCommand('wisejson.filterCollection', big, '{"n": {"$lt": 5}}'), '{"n":{"$lt":5}}');
    const docs = (await t.getChildren(big)).filter((c) => is(c, 'document'));
    assert.equal(docs.length, 5);
    const item = await t.getTreeItem(big);
    assert.equal(item.contextValue, 'collection.filtered');
    assert.match(String(item.description), /^5 of 10000 · filter: \{"n":\{"\$lt":5\}\}$/);
    // A bad filter is refused with a message, and the current one stays.
    const failures: string[] = [];
    const sub = api._internals.commands.onDidFail((f) => failures.push(f.message));
    await vscode.commands.executeCommand('wisejson.filterCollection', big, '{"n": {"$nope": 1}}');
    await vscode.commands.executeCommand('wisejson.filterCollection', big, '{n: 1}');
    sub.dispose();
    assert.equal(failures.length, 2, failures.join('\n'));
    assert.match(failures[1], /not JSON/);
    assert.equal((await t.getTreeItem(big)).contextValue, 'collection.filtered');
    await vscode.commands.executeCommand('wisejson.clearFilter', big);
    assert.equal((await t.getTreeItem(big)).contextValue, 'collection');
    assert.equal((await t.getChildren(big)).filter((c) => is(c, 'document')).length, 100);
  });

  it('lists a collection\'s indexes with their kind under Indexes; Create Index on it and Drop Index on an index update it', async () => {
    const t = await tree();
    const small = await collectionNode('small');
    const indexes = (await t.getChildren(small)).at(-2)! as IndexesNode;
    assert.ok(is(indexes, 'indexes'));
    const item = await t.getTreeItem(indexes);
    assert.deepEqual([item.label, item.description, item.contextValue], ['Indexes', '0', 'indexes']);
    assert.deepEqual((await t.getChildren(indexes)).map((n) => n.kind), ['message'], 'no indexes: a line says so');
    const changed: unknown[] = [];
    const sub = t.onDidChangeTreeData((n) => changed.push(n));
    try {
      assert.equal(await vscode.commands.executeCommand('wisejson.createIndex', indexes, { field: 'title', unique: true }), 'title');
      assert.equal(await vscode.commands.executeCommand('wisejson.createIndex', indexes, { field: 'n', unique: false }), 'n');
      assert.ok(changed.includes(indexes), 'the Indexes node was refreshed');
      const listed = (await t.getChildren(indexes)) as IndexNode[];
      assert.deepEqual(await Promise.all(listed.map(async (n) => { const i = await t.getTreeItem(n); return [i.label, i.description, i.contextValue]; })), [['title', 'unique', 'index'], ['n', 'standard', 'index']]);
      assert.equal((await t.getTreeItem(indexes)).description, '2');
      assert.equal(await vscode.commands.executeCommand('wisejson.dropIndex', listed[0]), 'title');
      assert.deepEqual(((await t.getChildren(indexes)) as IndexNode[]).map((n) => n.fieldName), ['n']);
      assert.equal(t.getParent(listed[1]), indexes);
      await vscode.commands.executeCommand('wisejson.dropIndex', listed[1]);
    } finally {
      sub.dispose();
    }
  });

  it('shows a collection\'s schema last: the fields of a sample with their types and how often each occurs, sampled again when the collection changes', async () => {
    const t = await tree();
    const people = await database.db.collection('people');
    await people.insertMany([
      { _id: 'p1', name: 'Ann', age: 31, address: { city: 'Oslo', zip: '0150' } },
      { _id: 'p2', name: 'Bob', age: '40', address: { city: 'Riga' } },
      { _id: 'p3', name: 'Cy', address: null },
      { _id: 'p4', name: 'Di', tags: ['x'] },
    ]);
    const coll = await waitFor('the people collection', () => collectionNode('people').catch(() => undefined));
    const schema = (await t.getChildren(coll)).at(-1)! as SchemaNode;
    assert.ok(is(schema, 'schema'));
    assert.deepEqual([(await t.getTreeItem(schema)).label, (await t.getTreeItem(schema)).contextValue], ['Schema', 'schema']);
    const describe = async (nodes: TreeNode[]) => Promise.all(nodes.map(async (n) => {
      const item = await t.getTreeItem(n);
      return `${item.label}: ${item.description}${item.collapsibleState === vscode.TreeItemCollapsibleState.Collapsed ? ' ▸' : ''}`;
    }));
    const fields = await t.getChildren(schema);
    assert.deepEqual(await describe(fields), [
      '_id: string · 100 %', 'createdAt: string · 100 %', 'name: string · 100 %', 'updatedAt: string · 100 %',
      'address: object | null · 75 % ▸', 'age: number | string · 50 %', 'tags: array · 25 %',
    ]);
    const address = fields.find((f) => (f as SchemaFieldNode).field.path === 'address')!;
    assert.deepEqual(await describe(await t.getChildren(address)), ['city: string · 50 %', 'zip: string · 25 %']);
    assert.match(String((await t.getTreeItem(address)).tooltip), /^address: in 3 of 4 sampled documents \(75 %\); object 2, null 1$/);
    assert.equal((await t.getTreeItem(address)).accessibilityInformation?.label, 'address, object | null · 75 %');
    assert.equal(t.getParent(address), schema);

    const changed: unknown[] = [];
    const sub = t.onDidChangeTreeData((n) => changed.push(n));
    try {
      await people.insert({ _id: 'p5', name: 'Eve', email: 'eve@example.com' });
      // The Schema node, or a node above it (changes close together refresh the highest one).
      await waitFor('the Schema node to be refreshed', () => changed.some((n) => n === undefined || n === schema || n === coll || n === coll.parent));
      assert.ok((await describe(await t.getChildren(schema))).includes('email: string · 20 %'), 'sampled again');
    } finally {
      sub.dispose();
    }
  });

  it('shows a collection\'s open sync conflicts as "Conflicts (n)", newest first, and their number on the view\'s badge', async () => {
    const api = await extensionApi();
    const t = await tree();
    const small = await collectionNode('small');
    const conflicts = await database.db.collection(CONFLICTS_COLLECTION);
    const records = [
      { _id: 'c_1', coll: 'small', docId: 'a', kind: 'field', fields: { title: { winner: { value: 'first!' }, loser: { value: 'First' } } }, serverTime: 1_700_000_000_000 },
      { _id: 'c_2', coll: 'small', docId: 'b', kind: 'update_vs_delete', fields: {}, serverTime: 1_700_000_100_000 },
      { _id: 'c_3', coll: 'big', docId: 'd00001', kind: 'delete_vs_update', fields: {}, serverTime: 1_700_000_200_000 },
    ];
    for (const r of records) parseConflictRecord(r); // the records sync writes
    const others = api._internals.view.badge?.value ?? 0; // conflicts other databases of the window hold
    await conflicts.insertMany(records);
    const node = await waitFor('the Conflicts node', async () => (await t.getChildren(small)).find((n) => is(n, 'conflicts')) as ConflictsNode | undefined);
    const children = await t.getChildren(small);
    assert.deepEqual(children.slice(-3).map((n) => n.kind), ['conflicts', 'indexes', 'schema'], 'after the documents, before the indexes');
    assert.equal((await t.getTreeItem(node)).label, 'Conflicts (2)');
    assert.equal((await t.getTreeItem(node)).accessibilityInformation?.label, 'Conflicts (2)', 'a screen reader hears the label, not the tooltip');
    const items = await Promise.all((await t.getChildren(node)).map((n) => t.getTreeItem(n)));
    assert.deepEqual(items.map((i) => i.label), ['b', 'a'], 'newest first');
    assert.match(String(items[1].description), /^field title · /);
    assert.match(String(items[0].description), /^edited here, deleted elsewhere · /);
    assert.equal(items[1].command?.command, 'wisejson.openConflict');
    await waitFor('the badge to count 3 more', () => api._internals.view.badge?.value === others + 3);
    const tip = () => { const t = api._internals.statusBar.item.tooltip; return typeof t === 'string' ? t : t?.value ?? ''; };
    assert.match(tip(), new RegExp(`${others + 3} open sync conflicts: see Conflicts`));
    await conflicts.remove('c_1');
    await conflicts.remove('c_3');
    await waitFor('the badge to count 1 more', () => api._internals.view.badge?.value === others + 1);
    await conflicts.remove('c_2');
    await waitFor('the badge as before', () => (api._internals.view.badge?.value ?? 0) === others);
    if (others === 0) assert.doesNotMatch(tip(), /open sync conflict/);
    await waitFor('no Conflicts node', async () => !(await t.getChildren(small)).some((n) => is(n, 'conflicts')));
  });
});
