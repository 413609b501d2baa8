/** explain: how find found its documents, measured where the plan is chosen. */
import assert from 'node:assert/strict';
import { useTmpDb } from './tmpdb';

describe('api: explain', () => {
  const t = useTmpDb();

  async function seeded() {
    const c = await t.db.collection('tasks');
    await c.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: `t${String(i).padStart(4, '0')}`, owner: `u${i % 10}`, rank: i, tags: i % 2 ? ['odd'] : ['even', 'x'] })));
    return c;
  }

  it('a scan tests every document and names the fields an index could serve', async () => {
    const c = await seeded();
    const { docs, explain } = await c.explain({ owner: 'u3', rank: { $gte: 500 } });
    assert.equal(docs.length, 50);
    assert.deepEqual({ ...explain, ms: 0 }, { plan: 'scan', index: null, keysExamined: 0, docsExamined: 1000, returned: 50, indexable: ['owner', 'rank'], ms: 0 });
    assert.ok(explain.ms >= 0);
    assert.deepEqual(docs, await c.find({ owner: 'u3', rank: { $gte: 500 } }), 'the same documents as find');
  });

  it('after createIndex on the suggested field: the index gives the candidates, fewer documents are tested', async () => {
    const c = await seeded();
    await c.createIndex('owner');
    const { docs, explain } = await c.explain({ owner: 'u3', rank: { $gte: 500 } });
    assert.equal(docs.length, 50);
    assert.deepEqual({ ...explain, ms: 0 }, { plan: 'index', index: 'owner', keysExamined: 100, docsExamined: 100, returned: 50, indexable: ['rank'], ms: 0 });
  });

  it('an index that answers the query exactly tests no document; limit stops a scan early', async () => {
    const c = await seeded();
    await c.createIndex('rank');
    const exact = await c.explain({ rank: { $lt: 10 } });
    assert.deepEqual({ ...exact.explain, ms: 0 }, { plan: 'index', index: 'rank', keysExamined: 10, docsExamined: 0, returned: 10, indexable: [], ms: 0 });
    const limited = await c.explain({ tags: 'odd' }, null, { limit: 3 });
    assert.deepEqual([limited.explain.plan, limited.explain.docsExamined, limited.explain.returned], ['scan', 6, 3]);
    const sorted = await c.explain({ tags: 'odd' }, { rank: 1 }, { sort: { rank: -1 }, limit: 3 });
    assert.deepEqual([sorted.explain.docsExamined, sorted.explain.returned], [1000, 3], 'a sort reads every match first');
    assert.deepEqual(sorted.docs.map((d) => ({ ...d })), [{ _id: 't0999', rank: 999 }, { _id: 't0997', rank: 997 }, { _id: 't0995', rank: 995 }]);
  });

  it('an _id lookup reads one document; an empty or missing collection reads none', async () => {
    const c = await seeded();
    const byId = await c.explain({ _id: 't0042' });
    assert.deepEqual([byId.explain.plan, byId.explain.docsExamined, byId.explain.returned], ['id', 1, 1]);
    const empty = await (await t.db.collection('empty')).explain({ a: 1 });
    assert.deepEqual({ ...empty.explain, ms: 0 }, { plan: 'scan', index: null, keysExamined: 0, docsExamined: 0, returned: 0, indexable: ['a'], ms: 0 });
  });

  it('refuses a bad filter as find does', async () => {
    const c = await seeded();
    await assert.rejects(c.explain({ rank: { $near: 1 } }), /Unknown query operator "\$near"/);
  });
});
