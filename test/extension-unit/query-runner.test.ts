import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { parseQueryFile, type FileQuery } from '../../src/extension/queries/query-file';
import { countTouched, describeOutcome, outcomeJson, runQuery, SHOWN_DOCUMENTS } from '../../src/extension/queries/query-runner';

/** The query of a one-query file, as the extension reads it. */
function query(text: string): FileQuery {
  const f = parseQueryFile(text);
  assert.deepEqual([...f.problems, ...f.entries.flatMap((e) => e.problems)], []);
  return f.entries[0].query!;
}

describe('query files: running a query against the engine', () => {
  let dir: string;
  let db: WiseJSON;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-query-run-'));
    db = new WiseJSON(dir);
    await db.init();
    const tasks = await db.collection('tasks');
    await tasks.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: `t${String(i).padStart(2, '0')}`, title: `task ${i}`, done: i % 3 === 0, rank: i })));
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('find with sort, skip, limit and projection', async () => {
    const o = await runQuery(db, query('{ "db": ".", "collection": "tasks", "find": { "done": false }, "sort": { "rank": -1 }, "skip": 1, "limit": 3, "projection": { "title": 1 } }'));
    assert.equal(o.kind, 'find');
    if (o.kind !== 'find') return;
    assert.deepEqual(o.documents.map((d) => ({ ...d })), [{ _id: 't28', title: 'task 28' }, { _id: 't26', title: 'task 26' }, { _id: 't25', title: 'task 25' }]);
    assert.deepEqual([o.explain.plan, o.explain.docsExamined, o.explain.returned], ['scan', 30, 3]);
    assert.match(describeOutcome(o), /^3 documents in \d+(\.\d)? ms$/);
  });

  it('count, and an operator filter', async () => {
    const o = await runQuery(db, query('{ "db": ".", "collection": "tasks", "count": { "rank": { "$gte": 10, "$lt": 20 } } }'));
    assert.deepEqual({ ...o, ms: 0 }, { kind: 'count', count: 10, ms: 0 });
  });

  it('update: counts what it will touch, then changes all of them in one commit (no operators merges)', async () => {
    const q = query('{ "db": ".", "collection": "tasks", "update": { "done": true }, "with": { "stale": true } }');
    assert.equal(await countTouched(db, q), 10);
    const o = await runQuery(db, q);
    assert.deepEqual({ ...o, ms: 0 }, { kind: 'update', matched: 10, modified: 10, ms: 0 });
    const tasks = await db.collection('tasks');
    assert.equal(await tasks.count({ stale: true, done: true, title: { $exists: true } }), 10);
    const inc = await runQuery(db, query('{ "db": ".", "collection": "tasks", "update": { "_id": "t01" }, "with": { "$inc": { "rank": 100 } } }'));
    assert.equal(inc.kind === 'update' && inc.modified, 1);
    assert.equal((await tasks.getById('t01'))?.rank, 101);
  });

  it('delete removes every match', async () => {
    const q = query('{ "db": ".", "collection": "tasks", "delete": { "rank": { "$lt": 5 } } }');
    assert.equal(await countTouched(db, q), 5);
    const o = await runQuery(db, q);
    assert.match(describeOutcome(o), /^5 documents deleted in/);
    assert.equal(await (await db.collection('tasks')).count(), 25);
  });

  it(`a find returns every match (for the grid); its JSON view shows at most ${SHOWN_DOCUMENTS} and says how many there are`, async () => {
    const big = await db.collection('big');
    await big.insertMany(Array.from({ length: SHOWN_DOCUMENTS + 234 }, (_, i) => ({ n: i })));
    const o = await runQuery(db, query('{ "db": ".", "collection": "big", "find": {}, "skip": 4 }'));
    assert.ok(o.kind === 'find');
    if (o.kind !== 'find') return;
    assert.equal(o.documents.length, SHOWN_DOCUMENTS + 230);
    const { text, summary } = outcomeJson(o);
    assert.equal((JSON.parse(text) as unknown[]).length, SHOWN_DOCUMENTS);
    assert.match(summary, new RegExp(`^first ${SHOWN_DOCUMENTS} of ${SHOWN_DOCUMENTS + 230} documents in`));
    assert.deepEqual(JSON.parse(outcomeJson({ kind: 'count', count: 7, ms: 1 }).text), { count: 7 });
  });

  it('refuses a collection that does not exist (and does not create it) and a filter the engine rejects', async () => {
    await assert.rejects(runQuery(db, query('{ "db": ".", "collection": "taks", "find": {} }')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'NO_COLLECTION');
      assert.match(err.message, /no collection "taks"; its collections: tasks\. Fix "collection"/);
      return true;
    });
    assert.deepEqual(await db.getCollectionNames(), ['tasks']);
    // The editor marks such a filter; the engine refuses it anyway when it runs.
    await assert.rejects(runQuery(db, { db: '.', collection: 'tasks', kind: 'delete', filter: { rank: { $near: 1 } } }), /\$near/);
    assert.equal(await (await db.collection('tasks')).count(), 30);
  });
});
