/** Collection events: insert (doc), update (doc, old), remove (old), clear (). */
import assert from 'node:assert/strict';
import { Collection, Doc, UniqueConstraintError } from '../../../src/engine';
import { sleep, useTmpDb } from './tmpdb';

interface Seen {
  event: string;
  args: unknown[];
}

function record(c: Collection): Seen[] {
  const seen: Seen[] = [];
  for (const event of ['insert', 'update', 'remove', 'clear']) {
    c.on(event, (...args: unknown[]) => seen.push({ event, args }));
  }
  return seen;
}

describe('api: events', () => {
  const t = useTmpDb();

  it('insert fires once with the stored document', async () => {
    const c = await t.db.collection('c');
    const seen = record(c);
    const doc = await c.insert({ _id: 'a', v: 1 });
    await sleep(5);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].event, 'insert');
    assert.deepEqual(seen[0].args, [doc]);
  });

  it('update fires once with (doc, old)', async () => {
    const c = await t.db.collection('c');
    const old = await c.insert({ _id: 'a', v: 1 });
    const seen = record(c);
    const doc = await c.update('a', { v: 2 });
    await sleep(5);
    assert.deepEqual(seen, [{ event: 'update', args: [doc, old] }]);
    assert.equal((seen[0].args[0] as Doc).v, 2);
    assert.equal((seen[0].args[1] as Doc).v, 1);
  });

  it('remove fires once with the old document', async () => {
    const c = await t.db.collection('c');
    const old = await c.insert({ _id: 'a', v: 1 });
    const seen = record(c);
    assert.equal(await c.remove('a'), true);
    assert.equal(await c.remove('a'), false);
    await sleep(5);
    assert.deepEqual(seen, [{ event: 'remove', args: [old] }]);
  });

  it('clear fires once, without arguments', async () => {
    const c = await t.db.collection('c');
    await c.insertMany([{ _id: 'a' }, { _id: 'b' }]);
    const seen = record(c);
    await c.clear();
    await sleep(5);
    assert.deepEqual(seen, [{ event: 'clear', args: [] }]);
  });

  it('batch writes fire one event per document', async () => {
    const c = await t.db.collection('c');
    const seen = record(c);
    await c.insertMany([{ _id: 'a', k: 1 }, { _id: 'b', k: 1 }, { _id: 'c', k: 2 }]);
    await c.updateMany({ k: 1 }, { $set: { k: 3 } });
    await c.deleteMany({ k: 3 });
    await c.updateOne({ _id: 'c' }, { $set: { k: 2 } }); // no change: no event
    await sleep(5);
    assert.deepEqual(seen.map((s) => `${s.event}:${(s.args[0] as Doc)._id}`), [
      'insert:a', 'insert:b', 'insert:c', 'update:a', 'update:b', 'remove:a', 'remove:b',
    ]);
  });

  it('failed and no-op writes fire nothing', async () => {
    const c = await t.db.collection('c');
    await c.createIndex('u', { unique: true });
    await c.insert({ _id: 'a', u: 1, v: 1 });
    const seen = record(c);
    await assert.rejects(c.insert({ _id: 'a' }), UniqueConstraintError);
    await assert.rejects(c.insert({ u: 1 }), UniqueConstraintError);
    await assert.rejects(c.insertMany([{ _id: 'ok' }, { u: 1 }]), UniqueConstraintError);
    await assert.rejects(c.update('a', { $inc: { v: 'x' } }));
    assert.equal(await c.update('missing', { v: 1 }), null);
    await c.update('a', { v: 1 });
    await sleep(5);
    assert.deepEqual(seen, []);
  });

  it('a listener runs after the write is durable and visible, and before the caller resumes', async () => {
    const c = await t.db.collection('c');
    const checks: { durable: boolean; visible: boolean }[] = [];
    c.on('insert', (d) => {
      const id = (d as Doc)._id;
      // Synchronous checks inside the listener: the record is in the log, the document in memory.
      checks.push({ durable: t.walText().includes(`"_id":"${id}"`), visible: t.db._state.collection('c')?.has(id) ?? false });
    });
    await c.insert({ _id: 'evt-1' });
    assert.deepEqual(checks, [{ durable: true, visible: true }], 'fired by the time the insert resolved');
    const p = c.insert({ _id: 'evt-2' });
    assert.equal(checks.length, 1, 'not fired synchronously, before the write');
    await p;
    assert.deepEqual(checks[1], { durable: true, visible: true });
  });

  it('getById inside a listener sees the new document', async () => {
    const c = await t.db.collection('c');
    const got: Promise<Doc | null>[] = [];
    c.on('insert', (d) => got.push(c.getById((d as Doc)._id)));
    const doc = await c.insert({ _id: 'x' });
    assert.deepEqual(await got[0], doc);
  });

  it('a throwing listener does not break writes or other listeners', async () => {
    const c = await t.db.collection('c');
    const warnings: unknown[] = [];
    const original = process.emitWarning;
    process.emitWarning = ((w: unknown) => {
      warnings.push(w);
    }) as typeof process.emitWarning;
    try {
      const calls: string[] = [];
      c.on('insert', () => {
        throw new Error('listener bug');
      });
      c.on('insert', async () => {
        throw new Error('async listener bug');
      });
      c.on('insert', (d) => calls.push((d as Doc)._id));
      c.on('update', () => {
        throw new Error('update listener bug');
      });
      c.on('remove', () => {
        throw new Error('remove listener bug');
      });
      const doc = await c.insert({ _id: 'a', v: 1 });
      assert.equal(doc._id, 'a');
      await c.insert({ _id: 'b' });
      assert.equal((await c.update('a', { v: 2 }))!.v, 2);
      assert.equal(await c.remove('b'), true);
      await sleep(10);
      assert.deepEqual(calls, ['a', 'b']);
      assert.equal(await c.count(), 1);
      assert.equal((await c.getById('a'))!.v, 2);
      assert.ok(warnings.length >= 4, `listener failures are reported as warnings (${warnings.length})`);
      // The database still works after a reopen.
      process.emitWarning = original;
      const c2 = await (await t.reopen()).collection('c');
      assert.equal((await c2.getById('a'))!.v, 2);
    } finally {
      process.emitWarning = original;
    }
  });

  it('a listener may write to the database', async () => {
    const c = await t.db.collection('c');
    const log = await t.db.collection('log');
    c.on('insert', (d) => {
      void c.update((d as Doc)._id, { seen: true });
      void log.insert({ about: (d as Doc)._id });
    });
    await c.insert({ _id: 'a' });
    await c.insert({ _id: 'b' });
    for (let i = 0; i < 100 && (await log.count()) < 2; i++) await sleep(5);
    assert.equal(await log.count(), 2);
    assert.equal(await c.count({ seen: true }), 2);
  });

  it('off removes a listener', async () => {
    const c = await t.db.collection('c');
    let n = 0;
    const listener = (): void => {
      n++;
    };
    c.on('insert', listener);
    await c.insert({});
    c.off('insert', listener);
    await c.insert({});
    await sleep(5);
    assert.equal(n, 1);
  });

  it('once fires a listener only for the first event', async () => {
    const c = await t.db.collection('c');
    let n = 0;
    c.once('insert', () => {
      n++;
    });
    await c.insert({});
    await c.insert({});
    await c.insert({});
    await sleep(5);
    assert.equal(n, 1);
  });

  it('the database emits change events too', async () => {
    const c = await t.db.collection('c');
    const kinds: string[] = [];
    t.db.on('change', (e: { kind: string; coll: string }) => kinds.push(`${e.coll}:${e.kind}`));
    await c.insert({ _id: 'a' });
    await c.update('a', { v: 1 });
    await c.remove('a');
    await c.clear();
    await sleep(5);
    assert.deepEqual(kinds, ['c:insert', 'c:update', 'c:remove', 'c:clear']);
  });
});
