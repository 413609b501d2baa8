/**
 * Own changes (capability `own_changes`, within protocol 1): a change whose state is exactly what
 * the pulling replica wrote comes without its body when it pulls with `replica=`. Every other
 * case — someone else's write, a merge with someone else's fields, a conflict, a delete, an old
 * client that does not say who it is — carries the body as before.
 */
import assert from 'node:assert/strict';
import { JsonObject, OwnChange } from '../../src/sync/protocol';
import { expectProblem, Replica, useServer } from './helpers';

const DS = 'own';

describe('server: own changes (pull after push without the bodies the client has)', () => {
  const t = useServer();

  /** The page from the start as `replica` pulls it: own changes and full ones, by id. */
  async function pullAs(replica: string | null): Promise<{ own: Map<string, OwnChange>; full: Map<string, JsonObject | null> }> {
    const page = await t.api().changes(DS, { since: '0', ...(replica ? { replica } : {}) });
    return {
      own: new Map((page.own ?? []).map((c) => [c.id, c])),
      full: new Map(page.changes.map((c) => [c.id, c.deleted ? null : c.doc!])),
    };
  }

  it('a new document: the push result says own; its writer pulls it without the body, anyone else with it', async () => {
    const a = new Replica('rA');
    const res = await t.api().push(DS, a.body([a.put('notes', 'n1', { text: 'x'.repeat(100) })]));
    assert.deepEqual(res.results, [{ seq: 1, status: 'applied', v: 1, own: true }]);
    const mine = await pullAs('rA');
    assert.deepEqual([...mine.own.values()], [{ v: 1, coll: 'notes', id: 'n1', own: true }]);
    assert.equal(mine.full.size, 0);
    for (const other of ['rB', null]) {
      const theirs = await pullAs(other);
      assert.equal(theirs.own.size, 0);
      assert.equal(theirs.full.get('n1')?.text, 'x'.repeat(100));
    }
    const raw = await t.api().changesRaw(DS, { since: '0', replica: 'rA' });
    assert.equal((raw.json as { changes: unknown[] }).changes.length, 1);
    assert.ok(!raw.text.includes('xxxx'), 'the body is not on the wire');
  });

  it('a write that saw the current version and wrote every field is own; a patch of some fields is not', async () => {
    const a = new Replica('rA');
    const api = t.api();
    await api.push(DS, a.body([a.put('notes', 'n1', { a: 1, b: 1 })]));
    const put = await api.push(DS, a.body([a.put('notes', 'n1', { a: 2 }, 1)]));
    assert.equal(put.results[0].own, true, 'a put replaces every field');
    const patch = await api.push(DS, a.body([a.patch('notes', 'n1', { b: 3 }, 2)]));
    assert.equal(patch.results[0].own, undefined, 'field a was written by an earlier op');
    const mine = await pullAs('rA');
    assert.deepEqual(mine.full.get('n1'), { _id: 'n1', a: 2, b: 3 });
    // Two ops of one replica in one push: the second saw the first (same replica, lower seq).
    const two = await api.push(DS, a.body([a.put('notes', 'n2', { a: 1 }), a.patch('notes', 'n2', { a: 2 })]));
    assert.deepEqual(two.results.map((r) => r.own), [true, true]);
    assert.deepEqual([...(await pullAs('rA')).own.keys()], ['n2']);
  });

  it('a merge with another replica\'s fields, a concurrent write (conflict) and a delete carry the body', async () => {
    const a = new Replica('rA');
    const b = new Replica('rB', 10_000);
    const api = t.api();
    await api.push(DS, a.body([a.put('notes', 'm', { a: 1 }), a.put('notes', 'c', { a: 1 }), a.put('notes', 'd', { a: 1 })]));
    const merged = await api.push(DS, b.body([b.patch('notes', 'm', { b: 1 }, 1)]));
    assert.equal(merged.results[0].own, undefined, 'field a is rA\'s');
    const concurrent = await api.push(DS, b.body([b.put('notes', 'c', { a: 2 })]));
    assert.equal(concurrent.results[0].status, 'applied');
    assert.ok(concurrent.results[0].conflictId, 'rA\'s value is kept in a conflict record');
    assert.equal(concurrent.results[0].own, undefined);
    const del = await api.push(DS, a.body([a.del('notes', 'd', 3)]));
    assert.equal(del.results[0].own, undefined);
    const asB = await pullAs('rB');
    assert.deepEqual(asB.full.get('m'), { _id: 'm', a: 1, b: 1 });
    assert.deepEqual(asB.full.get('c'), { _id: 'c', a: 2 });
    assert.equal(asB.own.size, 0);
    const asA = await pullAs('rA');
    assert.equal(asA.full.get('d'), null, 'a delete is a tombstone, as before');
    assert.equal(asA.own.size, 0);
  });

  it('another replica\'s later write makes the change carry its body again', async () => {
    const a = new Replica('rA');
    const b = new Replica('rB');
    const api = t.api();
    await api.push(DS, a.body([a.put('notes', 'n1', { a: 1 })]));
    assert.equal((await pullAs('rA')).own.size, 1);
    await api.push(DS, b.body([b.put('notes', 'n1', { a: 2 }, 1)]));
    const asA = await pullAs('rA');
    assert.deepEqual(asA.full.get('n1'), { _id: 'n1', a: 2 });
    assert.equal((await pullAs('rB')).own.size, 1);
  });

  it('the mark survives a restart; the capability is announced; a bad replica= is 400', async () => {
    const a = new Replica('rA');
    await t.api().push(DS, a.body([a.put('notes', 'n1', { a: 1 })]));
    await t.restart();
    assert.equal((await pullAs('rA')).own.size, 1);
    const info = await t.api().request<{ capabilities: string[] }>('GET', '/v1/info');
    assert.ok(info.json.capabilities.includes('own_changes'));
    expectProblem(await t.api().changesRaw(DS, { since: '0', replica: 'not a replica id!' }), 400, 'invalid_request');
  });
});
