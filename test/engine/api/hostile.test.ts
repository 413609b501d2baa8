/**
 * Hostile names in the engine: ids and collection names with unpaired UTF-16 surrogates are
 * refused (nothing written), and fields named like Object.prototype members (and "__proto__")
 * are ordinary fields for insert, update operators, queries, indexes and reopen.
 */
import assert from 'node:assert/strict';
import { CollectionNameError, ValidationError } from '../../../src/engine';
import { useTmpDb } from './tmpdb';

const PROTO_NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__proto__'];

function isInvalidId(err: unknown): boolean {
  assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
  assert.equal(err.code, 'INVALID_ID');
  assert.match(err.message, /unpaired UTF-16 surrogate/);
  return true;
}

describe('api: hostile ids and field names', () => {
  const t = useTmpDb();

  it('refuses ids with an unpaired surrogate on insert, insertMany and in transactions; nothing is written', async () => {
    const c = await t.db.collection('c');
    for (const id of ['\ud800', '\udbff', 'x\udc00', '\udc00\ud800', 'a\ud83d']) {
      await assert.rejects(c.insert({ _id: id, n: 1 }), isInvalidId, JSON.stringify(id));
      await assert.rejects(c.insertMany([{ _id: 'ok-1' }, { _id: id }]), isInvalidId);
      const tx = t.db.beginTransaction();
      await tx.collection('c').insert({ _id: 'in-tx' });
      await tx.collection('c').insert({ _id: id });
      await assert.rejects(tx.commit(), isInvalidId);
    }
    // A well-formed id with a surrogate pair is fine.
    await c.insert({ _id: '\ud83d\ude00', n: 2 });
    assert.deepEqual((await c.find({})).map((d) => d._id), ['\ud83d\ude00']);
    await t.reopen();
    assert.deepEqual((await (await t.db.collection('c')).find({})).map((d) => d._id), ['\ud83d\ude00']);
  });

  it('refuses collection names with an unpaired surrogate', async () => {
    for (const name of ['\ud800', 'notes\udfff']) {
      await assert.rejects(t.db.collection(name), (e: unknown) => e instanceof CollectionNameError && /surrogate/.test(e.message));
    }
    assert.deepEqual(await t.db.getCollectionNames(), []);
  });

  for (const name of PROTO_NAMES) {
    it(`a field named "${name}" is set, updated, queried, indexed, unset and survives reopen`, async () => {
      const c = await t.db.collection('c');
      await c.insert(JSON.parse(`{"_id":"a","${name}":1,"keep":true}`));
      await c.insert({ _id: 'b', keep: true });
      const own = (d: unknown): boolean => Object.prototype.hasOwnProperty.call(d, name);
      let a = (await c.getById('a'))!;
      assert.ok(own(a) && a[name] === 1, 'inserted');
      assert.equal(Object.getPrototypeOf(a), Object.prototype, 'documents keep their normal prototype');
      // Queries: equality, $exists both ways, $gt.
      assert.deepEqual((await c.find({ [name]: 1 })).map((d) => d._id), ['a']);
      assert.deepEqual((await c.find({ [name]: { $exists: true } })).map((d) => d._id), ['a']);
      assert.deepEqual((await c.find({ [name]: { $exists: false } })).map((d) => d._id), ['b']);
      assert.deepEqual((await c.find({ [name]: { $gt: 0 } })).map((d) => d._id), ['a']);
      // Update operators.
      await c.updateMany({}, { $inc: { [name]: 1 } });
      a = (await c.getById('a'))!;
      const b = (await c.getById('b'))!;
      assert.equal(a[name], 2);
      assert.ok(own(b) && b[name] === 1, '$inc of a missing field sets it');
      await c.update('a', { $set: { [name]: 'x' } });
      assert.equal((await c.getById('a'))![name], 'x');
      // An index on the field.
      await c.createIndex(name);
      assert.deepEqual((await c.find({ [name]: 'x' })).map((d) => d._id), ['a']);
      // Unset, by operator and by replacing the document.
      await c.update('a', { $unset: { [name]: '' } });
      a = (await c.getById('a'))!;
      assert.equal(own(a), false, 'unset');
      assert.deepEqual((await c.find({ [name]: { $exists: false } })).map((d) => d._id), ['a']);
      await t.reopen();
      const c2 = await t.db.collection('c');
      assert.equal(own((await c2.getById('a'))!), false, 'still unset after reopen');
      assert.equal((await c2.getById('b'))![name], 1, 'b kept its field after reopen');
    });
  }
});
