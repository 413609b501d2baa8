import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { OpenDatabase } from '../../src/extension/databases/database-registry';
import { addDatabase, invokeTool, removeDatabase } from './helpers';


describe('extension: the chat agent\'s tools', function () {
  this.timeout(120_000);
  let database: OpenDatabase;
  let name: string;

  before(async () => {
    database = await addDatabase('.wisejson-agent-tools');
    name = `${path.basename(path.dirname(database.id))}/.wisejson-agent-tools`;
    const tasks = await database.db.collection('tasks');
    const docs = Array.from({ length: 150 }, (_, i) => ({ _id: `t${String(i).padStart(3, '0')}`, title: `task ${i}`, done: i % 3 === 0, priority: i % 5, ...(i % 2 ? { tags: ['work'] } : {}) }));
    await tasks.insertMany(docs);
    await tasks.createIndex('priority');
  });
  after(async () => {
    await removeDatabase(database);
  });

  it('are contributed and registered: list, describe, query, explain, write', () => {
    const names = vscode.lm.tools.filter((t) => t.name.startsWith('wisejson_')).map((t) => t.name).sort();
    assert.deepEqual(names, ['wisejson_describeCollection', 'wisejson_explain', 'wisejson_listDatabases', 'wisejson_query', 'wisejson_write']);
  });

  it('lists the open databases with their collections and document counts', async () => {
    const text = await invokeTool('wisejson_listDatabases', {});
    assert.match(text, new RegExp(`^- ${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: tasks \\(150\\)$`, 'm'));
    assert.match(text, /Pass the name before the colon as "database"/);
  });

  it('describes a collection: its count, its indexes and the fields of a sample with their types and shares', async () => {
    const text = await invokeTool('wisejson_describeCollection', { database: name, collection: 'tasks' });
    assert.match(text, /collection tasks: 150 documents\./);
    assert.match(text, /Indexes: priority \(standard\); _id is always indexed\./);
    assert.match(text, /Fields of all 150 documents/);
    assert.match(text, /^- title: 100 %; string 150$/m);
    assert.match(text, /^- tags: 50 %; array 75$/m);
  });

  it('runs a read-only find (capped, saying how many matched and what to skip for more) or a count', async () => {
    const found = await invokeTool('wisejson_query', { database: name, collection: 'tasks', filter: { done: true }, sort: { priority: -1 }, projection: { title: 1, priority: 1 } });
    assert.match(found, /filter \{"done":true\}: 50 matching documents, documents 1–20 returned; use skip: 20 for the next ones\./);
    const docs = JSON.parse(found.slice(found.indexOf('\n') + 1)) as { priority: number; title: string; done?: boolean }[];
    assert.equal(docs.length, 20);
    assert.equal(docs[0].priority, 4);
    assert.equal(docs[0].done, undefined, 'the projection applies');
    const capped = await invokeTool('wisejson_query', { database: name, collection: 'tasks', limit: 500 });
    assert.match(capped, /150 matching documents, documents 1–100 returned \(the limit asked, 500, is more than the tools return: at most 100\); use skip: 100/);
    assert.equal(await invokeTool('wisejson_query', { database: name, collection: 'tasks', filter: { priority: { $gte: 3 } }, count: true }).then((t) => /: 60 matching documents\.$/.test(t)), true);
    assert.equal((await (await database.db.collection('tasks')).count()), 150, 'nothing changed');
  });

  it('explains a query: an index or a full scan, what was examined, and an index that would help', async () => {
    const indexed = await invokeTool('wisejson_explain', { database: name, collection: 'tasks', filter: { priority: 2 } });
    assert.match(indexed, /Plan: the index on priority \(30 index entries read\); 0 documents tested against the filter, 30 returned/);
    const scan = await invokeTool('wisejson_explain', { database: name, collection: 'tasks', filter: { done: false } });
    assert.match(scan, /Plan: a full scan .*150 documents tested against the filter, 100 returned/);
    assert.match(scan, /An index on done could serve this filter/);
  });

  it('says what is wrong with a bad input, naming what there is', async () => {
    await assert.rejects(invokeTool('wisejson_query', { database: 'nope', collection: 'tasks' }), /No open database is named "nope"; the open ones: .*\.wisejson-agent-tools/);
    await assert.rejects(invokeTool('wisejson_describeCollection', { database: name, collection: 'task' }), /has no collection "task"; its collections: tasks/);
    await assert.rejects(invokeTool('wisejson_query', { database: name, collection: 'tasks', filter: { done: { $bogus: 1 } } }), /\$bogus/);
  });

  // The write tool asks the user in a modal dialog outside a chat request, which would block this
  // suite: its confirmation (accept and decline) is in the browser UI check. Input it refuses
  // fails before anything is asked.
  it('the write tool refuses a bad input before asking anything, saying what to fix', async () => {
    const write = (input: object) => invokeTool('wisejson_write', { database: name, collection: 'tasks', ...input });
    await assert.rejects(write({ action: 'drop' }), /action must be "insert", "update" or "delete"/);
    await assert.rejects(write({ action: 'delete' }), /A delete needs a filter \(use \{\} for every document\)/);
    await assert.rejects(write({ action: 'update', filter: { done: true } }), /An update needs "update"/);
    await assert.rejects(write({ action: 'insert', documents: [] }), /documents must be a non-empty array of JSON objects/);
    await assert.rejects(write({ action: 'update', collection: 'nope', filter: {}, update: { $set: { a: 1 } } }), /has no collection "nope"/);
    assert.equal(await (await database.db.collection('tasks')).count(), 150, 'nothing changed');
  });
});
