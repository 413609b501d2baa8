/** Transactions: one atomic, durable commit over several collections. */
import assert from 'node:assert/strict';
import { DatabaseClosedError, Doc, TransactionError, UniqueConstraintError, ValidationError } from '../../../src/engine';
import { ids, useTmpDb } from './tmpdb';

function isFinished(err: unknown): boolean {
  assert.ok(err instanceof TransactionError, `expected TransactionError, got ${String(err)}`);
  assert.equal(err.code, 'TRANSACTION_FINISHED');
  return true;
}

describe('api: transactions', () => {
  const t = useTmpDb();

  it('commits changes to two collections at once, durably', async () => {
    const accounts = await t.db.collection('accounts');
    await accounts.insertMany([{ _id: 'a', balance: 100 }, { _id: 'b', balance: 0 }]);
    const txn = t.db.beginTransaction();
    await txn.collection('accounts').update('a', { balance: 50 });
    await txn.collection('accounts').update('b', { $inc: { balance: 50 } });
    await txn.collection('ledger').insert({ _id: 'l1', from: 'a', to: 'b', amount: 50 });
    // Nothing is visible before commit.
    assert.equal((await accounts.getById('a'))!.balance, 100);
    assert.ok(!(await t.db.getCollectionNames()).includes('ledger'));

    const results = await txn.commit();
    assert.equal(results.length, 3);
    assert.equal((results[0] as Doc).balance, 50);
    assert.equal((results[2] as Doc)._id, 'l1');
    const ledger = await t.db.collection('ledger');
    assert.equal((await accounts.getById('a'))!.balance, 50);
    assert.equal((await accounts.getById('b'))!.balance, 50);
    assert.equal((await ledger.getById('l1'))!.amount, 50);
    assert.ok(typeof (await ledger.getById('l1'))!.createdAt === 'string');

    const db = await t.reopen();
    assert.equal((await (await db.collection('accounts')).getById('a'))!.balance, 50);
    assert.equal((await (await db.collection('accounts')).getById('b'))!.balance, 50);
    assert.deepEqual(ids(await (await db.collection('ledger')).getAll()), ['l1']);
  });

  it('steps see the effects of earlier steps; insert, update, remove and clear all work', async () => {
    const a = await t.db.collection('a');
    const b = await t.db.collection('b');
    await a.insertMany([{ _id: 'keep', n: 1 }, { _id: 'drop', n: 2 }]);
    await b.insertMany([{ _id: 'b1' }, { _id: 'b2' }]);
    const txn = t.db.beginTransaction();
    await txn.collection('a').insert({ _id: 'new', n: 0 });
    await txn.collection('a').update('new', { $inc: { n: 5 } });
    await txn.collection('a').remove('drop');
    await txn.collection('a').remove('never');
    await txn.collection('a').update('never', { n: 1 });
    await txn.collection('b').clear();
    await txn.collection('b').insert({ _id: 'b3' });
    const results = await txn.commit();
    assert.equal((results[1] as Doc).n, 5);
    assert.equal(results[2], true);
    assert.equal(results[3], false);
    assert.equal(results[4], null);
    assert.deepEqual(ids(await a.getAll()), ['keep', 'new']);
    assert.equal((await a.getById('new'))!.n, 5);
    assert.deepEqual(ids(await b.getAll()), ['b3']);
    const db = await t.reopen();
    assert.deepEqual(ids(await (await db.collection('a')).getAll()), ['keep', 'new']);
    assert.deepEqual(ids(await (await db.collection('b')).getAll()), ['b3']);
  });

  it('update merges fields (as in WiseJSON); replaceOne replaces the document, by any filter', async () => {
    const c = await t.db.collection('people');
    await c.insertMany([{ _id: 'p1', name: 'Ann', age: 30, city: 'Oslo' }, { _id: 'p2', name: 'Bo', age: 40 }]);
    const tx = t.db.beginTransaction();
    await tx.collection('people').update('p1', { age: 31 });
    await tx.collection('people').replaceOne({ name: 'Bo' }, { name: 'Bo', role: 'admin' });
    await tx.commit();
    const p1 = (await c.getById('p1'))!;
    assert.deepEqual([p1.name, p1.age, p1.city], ['Ann', 31, 'Oslo']);
    const p2 = (await c.getById('p2'))!;
    assert.deepEqual([p2.name, p2.role, p2.age], ['Bo', 'admin', undefined]);
    const bad = t.db.beginTransaction();
    await bad.collection('people').replaceOne({ _id: 'p1' }, { $set: { age: 1 } });
    await assert.rejects(bad.commit(), /operator/);
    assert.equal((await c.getById('p1'))!.age, 31);
  });

  it('unique checks inside a transaction see its earlier steps', async () => {
    const u = await t.db.collection('u');
    await u.createIndex('email', { unique: true });
    await u.insert({ _id: 'x', email: 'a@x' });
    const txn = t.db.beginTransaction();
    await txn.collection('u').update('x', { email: 'b@x' }); // frees a@x
    await txn.collection('u').insert({ _id: 'y', email: 'a@x' }); // takes it
    await txn.collection('u').remove('x');
    await txn.collection('u').insert({ _id: 'x', email: 'c@x' }); // the same _id again, after its removal
    await txn.commit();
    assert.deepEqual((await u.find({}, { email: 1 }, { sort: { _id: 1 } })), [{ _id: 'x', email: 'c@x' }, { _id: 'y', email: 'a@x' }]);
    const db = await t.reopen();
    const u2 = await db.collection('u');
    assert.deepEqual(ids(await u2.find({ email: 'a@x' })), ['y']);
    await assert.rejects(u2.insert({ email: 'c@x' }), UniqueConstraintError);
  });

  it('rollback discards every step', async () => {
    const a = await t.db.collection('a');
    await a.insert({ _id: 'x', v: 1 });
    const before = t.walBytes();
    const txn = t.db.beginTransaction();
    await txn.collection('a').update('x', { v: 2 });
    await txn.collection('a').insert({ _id: 'y' });
    await txn.collection('other').insert({ _id: 'z' });
    await txn.rollback();
    assert.equal(t.walBytes(), before);
    assert.deepEqual(await a.getAll(), [await a.getById('x')]);
    assert.equal((await a.getById('x'))!.v, 1);
    assert.deepEqual(await t.db.getCollectionNames(), ['a']);
    await assert.rejects(txn.commit(), isFinished);
    await assert.rejects(txn.collection('a').insert({ _id: 'late' }), isFinished);
    assert.equal(await a.count(), 1);
  });

  it('a failing step (unique violation) fails the commit and nothing of it is visible, also after reopen', async () => {
    const users = await t.db.collection('users');
    await users.createIndex('email', { unique: true });
    await users.insert({ _id: 'u1', email: 'a@x', n: 1 });
    const snapshot = await users.getAll();
    const wal = t.walBytes();

    const txn = t.db.beginTransaction();
    await txn.collection('users').update('u1', { n: 2 });
    await txn.collection('audit').insert({ _id: 'log1', what: 'created u2' });
    await txn.collection('users').insert({ _id: 'u2', email: 'b@x' });
    await txn.collection('users').insert({ _id: 'u3', email: 'a@x' }); // violates
    await txn.collection('users').remove('u1');
    await assert.rejects(txn.commit(), (err: unknown) => {
      assert.ok(err instanceof UniqueConstraintError);
      assert.equal(err.fieldName, 'email');
      assert.equal(err.value, 'a@x');
      return true;
    });

    assert.equal(t.walBytes(), wal, 'the log did not grow');
    assert.deepEqual(await users.getAll(), snapshot);
    assert.deepEqual(await t.db.getCollectionNames(), ['users'], 'the collection the transaction created is gone too');
    // The failed transaction left no trace in the unique index: b@x is free.
    await users.insert({ _id: 'u4', email: 'b@x' });
    await users.remove('u4');

    const db = await t.reopen();
    assert.deepEqual(await (await db.collection('users')).getAll(), snapshot);
    assert.deepEqual(await db.getCollectionNames(), ['users']);
  });

  it('a duplicate _id or an invalid document fails the commit as a whole', async () => {
    const a = await t.db.collection('a');
    await a.insert({ _id: 'x' });
    const t1 = t.db.beginTransaction();
    await t1.collection('a').insert({ _id: 'y' });
    await t1.collection('a').insert({ _id: 'x' });
    await assert.rejects(t1.commit(), UniqueConstraintError);
    const t2 = t.db.beginTransaction();
    await t2.collection('a').insert({ _id: 'z' });
    await t2.collection('a').insert([1, 2] as unknown as Record<string, unknown>);
    await assert.rejects(t2.commit(), ValidationError);
    const t3 = t.db.beginTransaction();
    await t3.collection('a').insert({ _id: 'w' });
    await t3.collection('a').update('x', { $inc: { _id: 1 } });
    await assert.rejects(t3.commit(), ValidationError);
    assert.deepEqual(ids(await a.getAll()), ['x']);
  });

  it('using a committed transaction again throws TransactionError', async () => {
    const txn = t.db.beginTransaction();
    await txn.collection('a').insert({ _id: '1' });
    await txn.commit();
    await assert.rejects(txn.commit(), isFinished);
    await assert.rejects(txn.collection('a').insert({ _id: '2' }), isFinished);
    await assert.rejects(txn.collection('a').update('1', { v: 1 }), isFinished);
    await assert.rejects(txn.collection('a').remove('1'), isFinished);
    await assert.rejects(txn.collection('a').clear(), isFinished);
    await assert.rejects(txn.rollback(), isFinished);
    const a = await t.db.collection('a');
    assert.deepEqual(ids(await a.getAll()), ['1']);
    assert.equal((await a.getById('1'))!.v, undefined);
  });

  it('a transaction whose commit failed cannot be reused either', async () => {
    const a = await t.db.collection('a');
    await a.insert({ _id: 'x' });
    const txn = t.db.beginTransaction();
    await txn.collection('a').insert({ _id: 'x' });
    await assert.rejects(txn.commit(), UniqueConstraintError);
    await assert.rejects(txn.commit(), TransactionError);
    await assert.rejects(txn.collection('a').insert({ _id: 'y' }), TransactionError);
    assert.equal(await a.count(), 1);
  });

  it('steps treat an expired (invisible) document as absent, like the collection does', async () => {
    // Timer off and no read of the document before the transaction, so it is still held (hidden).
    const a = await (await t.reopen({ ttlCleanupIntervalMs: 0 })).collection('a');
    await a.insert({ _id: 'old', v: 1, expireAt: Date.now() - 1000 });
    const txn = t.db.beginTransaction();
    await txn.collection('a').update('old', { v: 2 });
    await txn.collection('a').remove('old');
    // collection.update('old', ...) resolves null and collection.remove('old') false: same here.
    assert.deepEqual(await txn.commit(), [null, false]);
    assert.equal(await a.update('old', { v: 3 }), null);
    assert.equal(await a.remove('old'), false);
  });

  it('an empty transaction commits nothing', async () => {
    const before = t.walBytes();
    assert.deepEqual(await t.db.beginTransaction().commit(), []);
    assert.equal(t.walBytes(), before);
  });

  it('events fire only once the commit is durable', async () => {
    const a = await t.db.collection('a');
    const seen: string[] = [];
    a.on('insert', (d) => seen.push((d as Doc)._id));
    const txn = t.db.beginTransaction();
    await txn.collection('a').insert({ _id: 'p' });
    await txn.collection('a').insert({ _id: 'q' });
    assert.deepEqual(seen, []);
    await txn.commit();
    assert.deepEqual(seen, ['p', 'q']);
    const bad = t.db.beginTransaction();
    await bad.collection('a').insert({ _id: 'r' });
    await bad.collection('a').insert({ _id: 'p' });
    await assert.rejects(bad.commit());
    assert.deepEqual(seen, ['p', 'q']);
  });

  it('transaction collection names are validated; a closed database refuses new transactions', async () => {
    const txn = t.db.beginTransaction();
    assert.throws(() => txn.collection('../x'), (err: unknown) => (err as { code?: string }).code === 'INVALID_COLLECTION_NAME');
    await t.db.close();
    assert.throws(() => t.db.beginTransaction(), DatabaseClosedError);
  });
});
