/** Time-to-live: `expireAt` (ms or ISO string) and `ttl` (ms after createdAt). */
import assert from 'node:assert/strict';
import { Collection, Doc, UniqueConstraintError, WiseJSON } from '../../../src/engine';
import { ids, sleep, TmpDb, useTmpDb, waitFor } from './tmpdb';

/** Whether the document is physically held (not merely hidden), via the engine's internal state. */
function held(db: WiseJSON, coll: string, id: string): boolean {
  return db._state.collection(coll)?.has(id) ?? false;
}

/** Resolves with the first `remove` event's document (or rejects after `ms`). */
function nextRemove(c: Collection, ms = 2000): Promise<Doc> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no remove event')), ms);
    const listener = (old: unknown): void => {
      clearTimeout(timer);
      c.off('remove', listener);
      resolve(old as Doc);
    };
    c.on('remove', listener);
  });
}

describe('api: TTL', () => {
  describe('with the cleanup timer off', () => {
    const t: TmpDb = useTmpDb({ ttlCleanupIntervalMs: 0 });

    it('a document whose expireAt is past is invisible at once (ISO string and ms)', async () => {
      const c = await t.db.collection('s');
      await c.insert({ _id: 'live', v: 1 });
      const ret = await c.insert({ _id: 'iso', v: 2, expireAt: new Date(Date.now() - 1000).toISOString() });
      await c.insert({ _id: 'ms', v: 3, expireAt: Date.now() - 1000 });
      assert.equal(ret._id, 'iso', 'insert still resolves with the document');
      assert.equal(await c.getById('iso'), null);
      assert.equal(await c.getById('ms'), null);
      assert.deepEqual(ids(await c.find({})), ['live']);
      assert.deepEqual(ids(await c.getAll()), ['live']);
      assert.deepEqual(ids(await c.find({ v: { $gte: 1 } })), ['live']);
      assert.equal(await c.findOne({ v: 2 }), null);
      assert.equal(await c.count(), 1);
      assert.equal(await c.count({ v: { $gt: 1 } }), 0);
      assert.equal((await c.stats()).count, 1);
    });

    it('an expired document cannot be updated or removed by id or by filter', async () => {
      const c = await t.db.collection('s');
      await c.insert({ _id: 'old', v: 1, expireAt: Date.now() - 1000 });
      assert.equal(await c.update('old', { v: 2 }), null);
      assert.deepEqual(await c.updateMany({}, { $set: { v: 3 } }), { matchedCount: 0, modifiedCount: 0 });
      assert.equal(await c.findOneAndUpdate({ v: 1 }, { $set: { v: 4 } }), null);
      assert.deepEqual(await c.deleteMany({}), { deletedCount: 0 });
    });

    it('a read removes an expired document, with a remove event, and the removal survives reopen', async () => {
      const c = await t.db.collection('s');
      await c.insert({ _id: 'keep' });
      await c.insert({ _id: 'gone', v: 1, expireAt: Date.now() - 1 });
      assert.ok(held(t.db, 's', 'gone'), 'not removed without a read (timer is off)');
      const removed = nextRemove(c);
      assert.equal(await c.getById('gone'), null);
      const old = await removed;
      assert.equal(old._id, 'gone');
      assert.equal(old.v, 1);
      await waitFor(() => !held(t.db, 's', 'gone'), 2000, 'physical removal');
      const db = await t.reopen();
      assert.ok(!held(db, 's', 'gone'), 'removed from storage, not just hidden');
      assert.deepEqual(ids(await (await db.collection('s')).getAll()), ['keep']);
    });

    it('a find or count also triggers the removal', async () => {
      const c = await t.db.collection('s');
      await c.insertMany([{ _id: 'a', expireAt: Date.now() - 1 }, { _id: 'b', expireAt: Date.now() - 1 }, { _id: 'c' }]);
      const events: string[] = [];
      c.on('remove', (old) => events.push((old as Doc)._id));
      assert.equal(await c.count(), 1);
      await waitFor(() => events.length === 2, 2000, 'two remove events');
      assert.deepEqual(events.sort(), ['a', 'b']);
      assert.ok(!held(t.db, 's', 'a') && !held(t.db, 's', 'b'));
    });

    it('`ttl` expires a document ttl ms after createdAt', async () => {
      const c = await t.db.collection('s');
      await c.insert({ _id: 'short', ttl: 250 });
      await c.insert({ _id: 'long', ttl: 60_000 });
      assert.ok(await c.getById('short'), 'visible before it expires');
      assert.equal(await c.count(), 2);
      await sleep(280);
      assert.equal(await c.getById('short'), null);
      assert.ok(await c.getById('long'));
      assert.deepEqual(ids(await c.find({})), ['long']);
      // A given createdAt counts: an old document with a ttl is expired from the start.
      await c.insert({ _id: 'ancient', ttl: 1000, createdAt: '2000-01-01T00:00:00.000Z' });
      assert.equal(await c.getById('ancient'), null);
    });

    it('expiry is re-evaluated when expireAt changes or is removed', async () => {
      const c = await t.db.collection('s');
      await c.insert({ _id: 'x', expireAt: Date.now() + 60_000 });
      assert.ok(await c.getById('x'));
      await c.update('x', { expireAt: undefined });
      await c.update('x', { note: 'no expiry now' });
      assert.ok(await c.getById('x'));
      await c.update('x', { expireAt: Date.now() - 1 });
      assert.equal(await c.getById('x'), null);
      const db = await t.reopen({ ttlCleanupIntervalMs: 0 });
      assert.equal(await (await db.collection('s')).getById('x'), null, 'still expired after reopen');
    });

    it('an expired document loaded from disk is invisible too', async () => {
      const c = await t.db.collection('s');
      await c.insert({ _id: 'soon', expireAt: Date.now() + 80 });
      await c.insert({ _id: 'stay' });
      const db = await t.reopen({ ttlCleanupIntervalMs: 0 });
      await sleep(100);
      const c2 = await db.collection('s');
      assert.equal(await c2.getById('soon'), null);
      assert.deepEqual(ids(await c2.getAll()), ['stay']);
      assert.equal(await c2.count(), 1);
    });

    it('an expired (invisible) document does not block inserting its _id again', async () => {
      const c = await t.db.collection('s');
      await c.insert({ _id: 'session', expireAt: Date.now() - 1000 });
      assert.equal(await c.getById('session'), null, 'it is invisible');
      // Nothing can be seen under this _id, so inserting it must work.
      const doc = await c.insert({ _id: 'session', fresh: true });
      assert.equal(doc.fresh, true);
      assert.deepEqual(await c.getById('session'), doc);
    });

    it('an expired (invisible) document does not hold a unique index value', async () => {
      const c = await t.db.collection('s');
      await c.createIndex('token', { unique: true });
      await c.insert({ _id: 'old', token: 't1', expireAt: Date.now() - 1000 });
      assert.equal(await c.findOne({ token: 't1' }), null, 'it is invisible');
      await assert.doesNotReject(c.insert({ _id: 'new', token: 't1' }), UniqueConstraintError);
      assert.deepEqual(ids(await c.find({ token: 't1' })), ['new']);
    });
  });

  describe('with the cleanup timer on', () => {
    const t: TmpDb = useTmpDb({ ttlCleanupIntervalMs: 20 });

    it('the timer removes a document once it expires, with a remove event', async () => {
      const c = await t.db.collection('s');
      const removed = nextRemove(c, 3000);
      await c.insert({ _id: 'x', v: 'bye', expireAt: Date.now() + 250 });
      await c.insert({ _id: 'y' });
      assert.ok(await c.getById('x'), 'visible until it expires');
      const old = await removed;
      assert.equal(old._id, 'x');
      assert.equal(old.v, 'bye');
      assert.ok(!held(t.db, 's', 'x'));
      assert.equal(await c.count(), 1);
      const db = await t.reopen({ ttlCleanupIntervalMs: 0 });
      assert.ok(!held(db, 's', 'x'), 'the removal was logged');
      assert.deepEqual(ids(await (await db.collection('s')).getAll()), ['y']);
    });

    it('the timer removes `ttl` documents and documents of every collection', async () => {
      const a = await t.db.collection('a');
      const b = await t.db.collection('b');
      await a.insert({ _id: 'a1', ttl: 30 });
      await b.insert({ _id: 'b1', expireAt: new Date(Date.now() + 30).toISOString() });
      await b.insert({ _id: 'b2' });
      await waitFor(() => !held(t.db, 'a', 'a1') && !held(t.db, 'b', 'b1'), 3000, 'timer removal');
      assert.equal(await a.count(), 0);
      assert.deepEqual(ids(await b.getAll()), ['b2']);
    });

    it('expired documents left on disk are removed by the timer after reopen', async () => {
      const db0 = await t.reopen({ ttlCleanupIntervalMs: 0 });
      const c = await db0.collection('s');
      await c.insertMany([{ _id: 'e1', expireAt: Date.now() + 30 }, { _id: 'e2', ttl: 30 }, { _id: 'k' }]);
      await sleep(40);
      const db = await t.reopen({ ttlCleanupIntervalMs: 20 });
      const c2 = await db.collection('s');
      const events: string[] = [];
      c2.on('remove', (old) => events.push((old as Doc)._id));
      // Events come once the removal is durable, a little after it shows in memory: wait for them.
      await waitFor(() => events.length === 2, 3000, 'remove events after reopen');
      assert.deepEqual(events.sort(), ['e1', 'e2']);
      assert.ok(!held(db, 's', 'e1') && !held(db, 's', 'e2'));
      assert.deepEqual(ids(await c2.getAll()), ['k']);
    });
  });
});
