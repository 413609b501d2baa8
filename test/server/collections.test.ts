/** GET /v1/datasets/{ds}/collections: collection discovery (an addition within protocol 1). */
import assert from 'node:assert/strict';
import { CollectionsResponse, parseCollectionsResponse, ProtocolError } from '../../src/sync/protocol';
import { Api, expectProblem, KEY, KEY_SCOPED, Replica, TestServer } from './helpers';

const DAY = 86_400_000;

async function list(api: Api, ds: string): Promise<CollectionsResponse> {
  const r = await api.request('GET', `/v1/datasets/${encodeURIComponent(ds)}/collections`);
  assert.equal(r.status, 200, `collections failed: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  return parseCollectionsResponse(r.json);
}

const heads = (r: CollectionsResponse): [string, number][] => r.collections.map((c) => [c.name, c.head]);

describe('server: collections endpoint', () => {
  let t: TestServer;
  let offset = 0;
  beforeEach(async () => {
    offset = 0;
    t = new TestServer({ now: () => Date.now() + offset, limits: { tombstoneRetentionDays: 1 } });
    await t.start();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('lists every collection with the highest version of a change to it; heads advance with pushes', async () => {
    const api = t.api();
    const a = new Replica('rA');
    const r1 = await api.push('ds', a.body([a.put('notes', 'n1', { t: 1 }), a.put('notes', 'n2', { t: 2 }), a.put('ideas', 'i1', { t: 3 })]));
    const l1 = await list(api, 'ds');
    assert.equal(l1.epoch, r1.epoch);
    assert.ok(Math.abs(l1.serverTime - Date.now()) < 5000);
    assert.equal(l1.head, 3);
    assert.deepEqual(heads(l1), [['ideas', 3], ['notes', 2]]);

    await api.push('ds', a.body([a.patch('notes', 'n1', { t: 4 }, 1)]));
    assert.deepEqual(heads(await list(api, 'ds')), [['ideas', 3], ['notes', 4]]);
    await api.push('ds', a.body([a.put('tasks', 'x', {})]));
    const l3 = await list(api, 'ds');
    assert.deepEqual(heads(l3), [['ideas', 3], ['notes', 4], ['tasks', 5]]);
    assert.equal(l3.head, 5);
    // A pull from a collection's head brings nothing of it.
    const page = await api.changes('ds', { since: `${l3.epoch}:4`, colls: 'notes' });
    assert.deepEqual(page.changes, []);
  });

  it('a collection whose documents are all deleted is still listed, until the purge removes its last row', async () => {
    const api = t.api();
    const a = new Replica('rA');
    await api.push('ds', a.body([a.put('gone', 'g1', { x: 1 }), a.put('kept', 'k1', { y: 1 })]));
    await api.push('ds', a.body([a.del('gone', 'g1', 1)]));
    assert.deepEqual(heads(await list(api, 'ds')), [['gone', 3], ['kept', 2]]);
    await t.restart({ now: () => Date.now() + offset });
    assert.deepEqual(heads(await list(t.api(), 'ds')), [['gone', 3], ['kept', 2]], 'heads are rebuilt at start');
    offset = 2 * DAY;
    assert.equal(await t.server!.purgeTombstones(), 1);
    assert.deepEqual(heads(await list(t.api(), 'ds')), [['kept', 2]]);
  });

  it('conflict records are listed as _conflicts', async () => {
    const api = t.api();
    const a = new Replica('rA');
    const b = new Replica('rB');
    await api.push('ds', a.body([a.put('c', 'x', { f: 'a' })]));
    const r = await api.push('ds', b.body([b.put('c', 'x', { f: 'b' })]));
    assert.ok(r.results[0].conflictId, 'a concurrent write of the same field makes a conflict record');
    const names = (await list(api, 'ds')).collections.map((c) => c.name);
    assert.deepEqual(names, ['_conflicts', 'c']);
  });

  it('an existing dataset without documents lists nothing; an unknown one is 404 dataset_not_found and is not created', async () => {
    const api = t.api();
    const p = expectProblem(await api.request('GET', '/v1/datasets/nobody/collections'), 404, 'dataset_not_found');
    assert.equal(p.retryable, false);
    assert.equal(p.epoch, undefined);
    expectProblem(await api.request('GET', '/v1/datasets/nobody/collections'), 404, 'dataset_not_found');
    const page = await api.changes('empty', { since: '0' }); // a pull creates the dataset
    const l = await list(api, 'empty');
    assert.deepEqual(l, { epoch: page.epoch, serverTime: l.serverTime, head: 0, collections: [] });
    // An older server's answer for an unknown path is `not_found` (what clients tell apart).
    expectProblem(await api.request('GET', '/v1/datasets/empty/no-such-thing'), 404, 'not_found');
  });

  it('auth, protocol header, dataset scope, names and methods as for the other endpoints', async () => {
    const a = new Replica('rA');
    await t.api().push('ds', a.body([a.put('notes', 'n1', {})]));
    await t.api(KEY_SCOPED).push('allowed', new Replica('rS').body([])); // creates "allowed" (an empty batch)
    expectProblem(await t.api(null).request('GET', '/v1/datasets/ds/collections'), 401, 'unauthorized');
    expectProblem(await t.api('wrong-key-123456').request('GET', '/v1/datasets/ds/collections'), 401, 'unauthorized');
    const p = expectProblem(await t.api().request('GET', '/v1/datasets/ds/collections', { protocol: null }), 426, 'protocol_unsupported');
    assert.deepEqual(p.supported, [1]);
    // a scoped key: 403 for another dataset whether or not it exists (no existence leak)
    expectProblem(await t.api(KEY_SCOPED).request('GET', '/v1/datasets/ds/collections'), 403, 'forbidden');
    expectProblem(await t.api(KEY_SCOPED).request('GET', '/v1/datasets/nobody/collections'), 403, 'forbidden');
    assert.deepEqual((await list(t.api(KEY_SCOPED), 'allowed')).collections, []);
    // datasets are separate
    await t.api().push('other', new Replica('rO').body([new Replica('rO').put('elsewhere', 'e', {})]));
    assert.deepEqual(heads(await list(t.api(), 'ds')), [['notes', 1]]);
    assert.deepEqual(heads(await list(t.api(), 'other')), [['elsewhere', 1]]);
    expectProblem(await t.api().request('GET', '/v1/datasets/a..b/collections'), 400, 'invalid_request');
    const post = await t.api().request('POST', '/v1/datasets/ds/collections', { body: '{}' });
    expectProblem(post, 405, 'method_not_allowed');
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await t.api().request('HEAD', '/v1/datasets/ds/collections');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    const logged = t.logs.filter((e) => e.path === '/v1/datasets/ds/collections' && e.status === 200);
    assert.ok(logged.length > 0 && logged.every((e) => e.dataset === 'ds'));
    assert.ok(!JSON.stringify(t.logs).includes(KEY));
  });

  it('many collections and documents: listing does not scan the documents', async () => {
    const api = t.api();
    const a = new Replica('rA');
    for (let round = 0; round < 4; round++) {
      const ops = [];
      for (let i = 0; i < 500; i++) ops.push(a.put(`c${i % 50}`, `d${round}_${i}`, { i }));
      await api.push('ds', a.body(ops));
    }
    const t0 = performance.now();
    const l = await list(api, 'ds');
    const ms = performance.now() - t0;
    assert.equal(l.collections.length, 50);
    assert.equal(l.head, 2000);
    assert.equal(l.collections.find((c) => c.name === 'c49')?.head, 2000);
    assert.equal(l.collections.find((c) => c.name === 'c0')?.head, 1951);
    assert.ok(ms < 1000, `listing took ${ms} ms`);
  });

  it('the client-side validator rejects malformed answers', () => {
    const ok = { epoch: 'e_1', serverTime: 1, head: 3, collections: [{ name: 'a', head: 3 }] };
    assert.deepEqual(parseCollectionsResponse(ok), ok);
    assert.deepEqual(parseCollectionsResponse(JSON.stringify({ ...ok, head: undefined, extra: 1 })), { epoch: 'e_1', serverTime: 1, collections: [{ name: 'a', head: 3 }] });
    for (const bad of [
      null, [], 'nope', {}, { ...ok, epoch: 'bad epoch' }, { ...ok, collections: null }, { ...ok, collections: [{ name: 1, head: 1 }] },
      { ...ok, collections: [{ name: 'a', head: -1 }] }, { ...ok, collections: [{ name: 'a', head: 4 }] },
      { ...ok, collections: [{ name: 'a', head: 1 }, { name: 'a', head: 2 }] }, { ...ok, collections: [{ name: '', head: 1 }] },
      // a changes page is not a collections list
      { epoch: 'e_1', serverTime: 1, head: 0, horizon: 0, changes: [], checkpoint: 'e_1:0', hasMore: false },
    ]) {
      assert.throws(() => parseCollectionsResponse(bad), (e: unknown) => e instanceof ProtocolError && e.code === 'bad_response', JSON.stringify(bad));
    }
  });
});
