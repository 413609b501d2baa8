/** Collection names: validation, unusual but valid names, getCollectionNames, dropCollection. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CollectionNameError, ValidationError } from '../../../src/engine';
import { ids, useTmpDb } from './tmpdb';

function isNameError(err: unknown): boolean {
  assert.ok(err instanceof CollectionNameError, `expected CollectionNameError, got ${String(err)}`);
  assert.ok(err instanceof ValidationError);
  assert.equal(err.code, 'INVALID_COLLECTION_NAME');
  return true;
}

const BAD_NAMES: unknown[] = [
  '..', '.', '../x', 'x/..', 'a/b', '/abs', 'a\\b', '', 'tab\there', 'nl\nx', 'nul\u0000x', 'del\u007f', '\u001b[31m',
  ' lead', 'trail ', 'x'.repeat(129), 42, null, undefined, {}, ['a'], Symbol('s'),
];

const ODD_NAMES = [
  'a.b*c?[x]+(y)$^',
  '.hidden',
  'has space',
  '$dollar',
  '{braces}|pipe',
  'Ünïcødé-名前-коллекция-🎉',
  '__proto__',
  'constructor',
  'x'.repeat(128),
];

describe('api: collection names', () => {
  const t = useTmpDb();

  it('rejects unsafe or unusable names with CollectionNameError', async () => {
    for (const name of BAD_NAMES) {
      await assert.rejects(t.db.collection(name as string), isNameError, `collection(${String(typeof name === 'symbol' ? 'symbol' : JSON.stringify(name))})`);
      await assert.rejects(t.db.dropCollection(name as string), isNameError);
      assert.throws(() => t.db.beginTransaction().collection(name as string), isNameError);
    }
    assert.deepEqual(await t.db.getCollectionNames(), []);
    // Nothing was created on disk next to (or outside) the database folder.
    assert.deepEqual(fs.readdirSync(path.dirname(t.dir)), [path.basename(t.dir)]);
  });

  it('getCollection is the same as collection, validation included', async () => {
    await assert.rejects(t.db.getCollection('a/b'), isNameError);
    const c = await t.db.getCollection('ok');
    await c.insert({ _id: '1' });
    assert.equal(await (await t.db.collection('ok')).count(), 1);
  });

  it('names with regex metacharacters, dots and unicode work and survive reopen', async () => {
    for (const name of ODD_NAMES) {
      const c = await t.db.collection(name);
      assert.equal(c.name, name);
      await c.insert({ _id: 'doc', name });
      await c.createIndex('name');
    }
    const expected = [...ODD_NAMES].sort();
    assert.deepEqual(await t.db.getCollectionNames(), expected);
    const db = await t.reopen();
    assert.deepEqual(await db.getCollectionNames(), expected);
    for (const name of ODD_NAMES) {
      const c = await db.collection(name);
      assert.deepEqual(ids(await c.getAll()), ['doc'], name);
      assert.equal((await c.getById('doc'))!.name, name);
      assert.equal((await c.findOne({ name }))!._id, 'doc');
      assert.deepEqual(await c.getIndexes(), [{ fieldName: 'name', type: 'standard' }]);
    }
  });

  it('collections with similar names are distinct', async () => {
    const names = ['a.b', 'a_b', 'aXb', 'A.B', 'a.b*', 'a b'];
    for (const name of names) await (await t.db.collection(name)).insert({ _id: name });
    const db = await t.reopen();
    for (const name of names) {
      assert.deepEqual(ids(await (await db.collection(name)).getAll()), [name]);
    }
  });

  it('getCollectionNames lists existing collections, sorted, including empty ones', async () => {
    assert.deepEqual(await t.db.getCollectionNames(), []);
    await t.db.collection('zeta');
    await (await t.db.collection('alpha')).insert({});
    await t.db.collection('Mid');
    assert.deepEqual(await t.db.getCollectionNames(), ['Mid', 'alpha', 'zeta']);
    const db = await t.reopen();
    assert.deepEqual(await db.getCollectionNames(), ['Mid', 'alpha', 'zeta']);
  });

  it('concurrent collection() calls for one new name create it once', async () => {
    const handles = await Promise.all(Array.from({ length: 20 }, () => t.db.collection('same')));
    assert.equal(new Set(handles).size, 1, 'one handle per name');
    assert.deepEqual(await t.db.getCollectionNames(), ['same']);
    const db = await t.reopen();
    assert.deepEqual(await db.getCollectionNames(), ['same']);
  });

  it('dropCollection deletes documents and indexes, durably', async () => {
    const c = await t.db.collection('gone');
    await c.createIndex('u', { unique: true });
    await c.insertMany([{ u: 1 }, { u: 2 }]);
    await (await t.db.collection('kept')).insert({ _id: 'k' });
    assert.equal(await t.db.dropCollection('gone'), true);
    assert.equal(await t.db.dropCollection('gone'), false);
    assert.equal(await t.db.dropCollection('never-existed'), false);
    assert.deepEqual(await t.db.getCollectionNames(), ['kept']);
    assert.equal(await c.count(), 0);
    assert.deepEqual(await c.getIndexes(), []);

    const db = await t.reopen();
    assert.deepEqual(await db.getCollectionNames(), ['kept']);
    // Re-creating it gives an empty collection without the old index.
    const again = await db.collection('gone');
    assert.equal(await again.count(), 0);
    assert.deepEqual(await again.getIndexes(), []);
    await again.insertMany([{ u: 1 }, { u: 1 }]);
    assert.equal(await again.count(), 2);
  });

  it('writing through a handle of a dropped collection re-creates it', async () => {
    const c = await t.db.collection('x');
    await c.insert({ _id: 'old' });
    await t.db.dropCollection('x');
    await c.insert({ _id: 'new' });
    assert.deepEqual(await t.db.getCollectionNames(), ['x']);
    assert.deepEqual(ids(await c.getAll()), ['new']);
    const db = await t.reopen();
    assert.deepEqual(ids(await (await db.collection('x')).getAll()), ['new']);
  });
});
