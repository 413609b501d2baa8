/**
 * Defects found by hostile input, each pinned by a regression test that failed before its fix:
 * ids that differ only in unpaired surrogates (shared one row), and field names that are
 * Object.prototype members (lost in the merge). (The 413 that arrived as a connection reset:
 * test/sync/hardening.test.ts, against the server as its own process.)
 */
import assert from 'node:assert/strict';
import { parseChangesResponse, parseConflictRecord } from '../../src/sync/protocol';
import { conflictsOf, docOf, expectProblem, Replica, useServer } from './helpers';

describe('server: hardening against hostile input', () => {
  const t = useServer();

  describe('ids and names with unpaired surrogates', () => {
    it('are refused per op (invalid_id, invalid_collection): nothing stored, the rest of the batch applied', async () => {
      const api = t.api();
      const a = new Replica('rA');
      const res = await api.push('ds', a.body([
        a.put('c', '\ud800', { n: 1 }), a.put('c', '\udbff', { n: 2 }), a.put('c', 'x\udc00', { n: 3 }),
        a.patch('c', '\ud800', { n: 4 }), a.del('c', '\udbff'), a.put('c\ud800', 'ok', { n: 5 }),
        a.put('c', '\ud83d\ude00', { n: 6 }),
      ]));
      assert.deepEqual(res.results.map((r) => [r.status, r.code]), [
        ['rejected', 'invalid_id'], ['rejected', 'invalid_id'], ['rejected', 'invalid_id'],
        ['rejected', 'invalid_id'], ['rejected', 'invalid_id'], ['rejected', 'invalid_collection'],
        ['applied', undefined],
      ]);
      const r = await api.changesRaw('ds', { since: 0 });
      assert.equal(r.status, 200);
      const page = parseChangesResponse(r.json); // the project's own client check
      assert.deepEqual(page.changes.map((c) => [c.id, c.doc?._id, c.doc?.n]), [['\ud83d\ude00', '\ud83d\ude00', 6]]);
    });

    it('pages may still carry ids stored before the rule: the client accepts them', async () => {
      const api = t.api();
      const a = new Replica('rA');
      await api.push('ds', a.body([a.put('c', 'a', { n: 1 })]));
      const raw = (await api.changesRaw('ds', { since: 0 })).json as { changes: { id: string; doc: { _id: string } }[] };
      raw.changes[0].id = '\ud800';
      raw.changes[0].doc._id = '\ud800';
      assert.deepEqual(parseChangesResponse(JSON.parse(JSON.stringify(raw))).changes.map((c) => c.id), ['\ud800']);
    });

    it('dataset names that would hold one are 400 (percent-decoding refuses them): no two names share a dataset', async () => {
      const api = t.api();
      const a = new Replica('rA');
      for (const name of ['%ED%A0%80', '%ED%AF%BF', 'x%ED%B0%80']) {
        expectProblem(await api.request('GET', `/v1/datasets/${name}/changes`), 400, 'invalid_request');
        expectProblem(await api.request('POST', `/v1/datasets/${name}/push`, { body: JSON.stringify(a.body([a.put('c', 'x', {})])) }), 400, 'invalid_request');
      }
    });
  });

  describe('field names that are Object.prototype members', () => {
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', '__proto__']) {
      it(`a patch that sets "${name}" on an existing document is applied, not lost`, async () => {
        const api = t.api();
        const a = new Replica('rA');
        await api.push('ds', a.body([a.put('c', 'x', { a: 1 })]));
        const res = await api.push('ds', a.body([a.patch('c', 'x', { [name]: 'x', b: 2 })]));
        assert.equal(res.results[0].status, 'applied');
        const doc = await docOf(api, 'ds', 'c', 'x');
        assert.deepEqual({ ...doc }, { _id: 'x', a: 1, [name]: 'x', b: 2 });
        assert.deepEqual(await conflictsOf(api, 'ds'), []);
        // ... and unset again
        await api.push('ds', a.body([a.patch('c', 'x', {}, 0, [name])]));
        assert.deepEqual({ ...(await docOf(api, 'ds', 'c', 'x')) }, { _id: 'x', a: 1, b: 2 });
      });
    }

    it('concurrent writes of such a field merge by the usual rule, with a conflict record', async () => {
      const api = t.api();
      const a = new Replica('rA');
      const b = new Replica('rB', 60_000); // b's clock is ahead: b's concurrent write wins
      const v = (await api.push('ds', a.body([a.put('c', 'x', { constructor: 'first' })]))).results[0].v!;
      await api.push('ds', a.body([a.patch('c', 'x', { constructor: 'a' }, v)]));
      const res = await api.push('ds', b.body([b.patch('c', 'x', { constructor: 'b' }, v)]));
      assert.equal(res.results[0].status, 'applied');
      assert.equal((await docOf(api, 'ds', 'c', 'x'))?.constructor, 'b');
      const [conflict] = await conflictsOf(api, 'ds');
      assert.ok(conflict, 'the losing value is kept');
      assert.deepEqual(Object.keys(conflict.fields as object), ['constructor']);
    });

    it('a conflict record about a "__proto__" field keeps it as an own field when the client reads it', async () => {
      const api = t.api();
      const a = new Replica('rA');
      const b = new Replica('rB', 60_000);
      const v = (await api.push('ds', a.body([a.put('c', 'x', JSON.parse('{"__proto__":"first"}'))]))).results[0].v!;
      await api.push('ds', a.body([a.patch('c', 'x', JSON.parse('{"__proto__":"a"}'), v)]));
      await api.push('ds', b.body([b.patch('c', 'x', JSON.parse('{"__proto__":"b"}'), v)]));
      const [raw] = await conflictsOf(api, 'ds');
      const record = parseConflictRecord(raw);
      assert.equal(Object.getPrototypeOf(record.fields), Object.prototype);
      assert.deepEqual(Object.keys(record.fields), ['__proto__']);
      assert.equal(record.fields['__proto__'].loser.value, 'a');
    });
  });
});
