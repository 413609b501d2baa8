import assert from 'node:assert/strict';
import { ValidationError, WiseJSON } from '../../../src/engine';
import { useTmpDb } from './tmpdb';

describe('api: page() (keyset paging in _id order)', () => {
  const t = useTmpDb();

  async function all(coll: Awaited<ReturnType<WiseJSON['collection']>>, limit: number, query?: Record<string, unknown>): Promise<string[]> {
    const out: string[] = [];
    let after: string | null = null;
    for (;;) {
      const p = await coll.page({ after, limit, query });
      out.push(...p.docs.map((d) => d._id));
      if (p.next === null) return out;
      assert.equal(p.docs.length, limit, 'only the last page is short');
      after = p.next;
    }
  }

  it('pages through every document once, in _id order, whatever the insertion order', async () => {
    const c = await t.db.collection('items');
    const ids = Array.from({ length: 57 }, (_, i) => `k${String((i * 37) % 57).padStart(3, '0')}`);
    await c.insertMany(ids.map((_id, n) => ({ _id, n })));
    assert.deepEqual(await all(c, 10), [...ids].sort());
    assert.deepEqual(await all(c, 57), [...ids].sort());
    assert.deepEqual(await all(c, 100), [...ids].sort());
  });

  it('stays correct when documents are inserted and removed between pages', async () => {
    const c = await t.db.collection('items');
    await c.insertMany(['b', 'd', 'f', 'h'].map((_id) => ({ _id })));
    const first = await c.page({ limit: 2 });
    assert.deepEqual(first.docs.map((d) => d._id), ['b', 'd']);
    await c.remove('d'); // the cursor's own document goes away
    await c.insert({ _id: 'a' }); // before the cursor: not on later pages
    await c.insert({ _id: 'e' }); // after the cursor: on the next page
    const second = await c.page({ after: first.next, limit: 2 });
    assert.deepEqual(second.docs.map((d) => d._id), ['e', 'f']);
    const third = await c.page({ after: second.next, limit: 2 });
    assert.deepEqual(third.docs.map((d) => d._id), ['h']);
    assert.equal(third.next, null);
  });

  it('filters by a query and survives a reopen (ids from the checkpoint and the log)', async () => {
    let c = await t.db.collection('items');
    await c.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: `id${String(i).padStart(2, '0')}`, even: i % 2 === 0 })));
    await t.db.flushToDisk();
    await c.insert({ _id: 'id99', even: true });
    await c.clear();
    await c.insertMany([{ _id: 'z', even: true }, { _id: 'y', even: false }, { _id: 'x', even: true }]);
    const db = await t.reopen();
    c = await db.collection('items');
    assert.deepEqual(await all(c, 1, { even: true }), ['x', 'z']);
    assert.deepEqual(await all(c, 2), ['x', 'y', 'z']);
  });

  it('rejects a bad limit or cursor with a ValidationError', async () => {
    const c = await t.db.collection('items');
    await assert.rejects(c.page({ limit: 0 }), ValidationError);
    await assert.rejects(c.page({ limit: 1.5 }), ValidationError);
    await assert.rejects(c.page({ limit: 5, after: 7 as unknown as string }), ValidationError);
  });
});
