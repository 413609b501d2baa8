/** The HTTP surface: endpoints, auth, limits, malformed input, idempotency, paging, long-poll. */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { parseInfoResponse, PushRequest } from '../../src/sync/protocol';
import { Api, expectProblem, KEY, KEY2, KEY_SCOPED, Replica, sleep, useServer } from './helpers';

describe('server: endpoints', () => {
  const t = useServer();

  it('GET /v1/health needs no auth and no protocol header', async () => {
    const r = await t.api(null).request('GET', '/v1/health', { protocol: null });
    assert.equal(r.status, 200);
    assert.equal((r.json as { status: string }).status, 'ok');
  });

  it('GET /v1/info advertises protocol and limits (auth required)', async () => {
    const r = await t.api().request('GET', '/v1/info');
    assert.equal(r.status, 200);
    const info = parseInfoResponse(r.json);
    assert.deepEqual(info.protocol, { min: 1, max: 1 });
    assert.ok(Math.abs(info.serverTime - Date.now()) < 5000);
    assert.deepEqual(info.limits, {
      maxOpsPerPush: 500, maxPushBytes: 4194304, maxDocBytes: 1048576, maxPullLimit: 1000, maxPullBytes: 4194304,
      maxWaitSec: 30, maxClockDriftMs: 60000, tombstoneRetentionDays: 30,
    });
    expectProblem(await t.api(null).request('GET', '/v1/info'), 401, 'unauthorized');
  });

  it('push then changes: the round trip, with epoch, serverTime, head and checkpoint', async () => {
    const api = t.api();
    const a = new Replica('rA');
    const res = await api.push('ds', a.body([a.put('notes', 'n1', { title: 'hello', n: 1 }), a.put('notes', 'n2', { title: 'two' })]));
    assert.equal(res.ackSeq, 2);
    assert.deepEqual(res.results.map((r) => [r.seq, r.status, r.v]), [[1, 'applied', 1], [2, 'applied', 2]]);
    assert.match(res.epoch, /^e_[0-9a-f]{16}$/);
    assert.ok(Math.abs(res.serverTime - Date.now()) < 5000);
    const page = await api.changes('ds', { since: '0' });
    assert.equal(page.epoch, res.epoch);
    assert.equal(page.head, 2);
    assert.equal(page.horizon, 0);
    assert.equal(page.checkpoint, `${res.epoch}:2`);
    assert.equal(page.hasMore, false);
    assert.deepEqual(page.changes.map((c) => [c.v, c.coll, c.id, c.origin, c.originSeq]), [[1, 'notes', 'n1', 'rA', 1], [2, 'notes', 'n2', 'rA', 2]]);
    assert.deepEqual(page.changes[0].doc, { _id: 'n1', title: 'hello', n: 1 });
    // nothing new after the checkpoint
    const next = await api.changes('ds', { since: page.checkpoint });
    assert.deepEqual(next.changes, []);
    assert.equal(next.checkpoint, page.checkpoint);
  });

  describe('auth and protocol header', () => {
    it('401 without a key and with a wrong key; the key never appears in logs or bodies', async () => {
      const p1 = expectProblem(await t.api(null).changesRaw('ds'), 401, 'unauthorized');
      assert.equal(p1.retryable, false);
      const wrong = await t.api('wrong-key-123456').changesRaw('ds');
      expectProblem(wrong, 401, 'unauthorized');
      assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer/);
      expectProblem(await t.api(null).request('GET', '/v1/datasets/ds/changes', { headers: { Authorization: 'Basic abc' } }), 401, 'unauthorized');
      assert.ok(!wrong.text.includes('wrong-key-123456'));
      await t.api().push('ds', new Replica('rA').body([]));
      const logText = JSON.stringify(t.logs);
      for (const k of [KEY, KEY2, 'wrong-key-123456']) assert.ok(!logText.includes(k), 'a key leaked into the access log');
      assert.ok(t.logs.some((e) => e.status === 401 && e.code === 'unauthorized'));
    });

    it('403 when the key is not allowed for the dataset', async () => {
      const scoped = t.api(KEY_SCOPED);
      const r = new Replica('rS');
      const body = r.body([r.put('c', 'x', {})]);
      expectProblem(await scoped.changesRaw('other'), 403, 'forbidden');
      await scoped.pushProblem('other', body, 403, 'forbidden');
      assert.equal((await scoped.push('allowed', body)).ackSeq, 1);
    });

    it('403 replica_not_owned when another key pushes as a bound replica', async () => {
      const a = new Replica('rA');
      await t.api(KEY).push('ds', a.body([a.put('c', 'x', { v: 1 })]));
      const p = await t.api(KEY2).pushProblem('ds', a.body([a.put('c', 'x', { v: 2 })]), 403, 'replica_not_owned');
      assert.equal(p.retryable, false);
      // binding is global: another dataset does not help either
      await t.api(KEY2).pushProblem('ds2', a.body([a.put('c', 'y', {})]), 403, 'replica_not_owned');
      // the owner continues
      assert.equal((await t.api(KEY).push('ds', a.body([a.put('c', 'x', { v: 3 })]))).ackSeq, 4);
      const doc = (await t.api().pullAll('ds')).docs.get('c/x');
      assert.equal(doc?.v, 3);
    });

    it('426 protocol_unsupported for a missing or unknown Sync-Protocol header', async () => {
      const p = expectProblem(await t.api().request('GET', '/v1/datasets/ds/changes', { protocol: null }), 426, 'protocol_unsupported');
      assert.deepEqual(p.supported, [1]);
      expectProblem(await t.api().request('GET', '/v1/info', { protocol: '2' }), 426, 'protocol_unsupported');
      expectProblem(await t.api().request('POST', '/v1/datasets/ds/push', { protocol: 'x', body: '{}' }), 426, 'protocol_unsupported');
    });

    it('404 for unknown paths, 405 for wrong methods', async () => {
      expectProblem(await t.api().request('GET', '/v2/info'), 404, 'not_found');
      expectProblem(await t.api().request('GET', '/v1/datasets/ds/other'), 404, 'not_found');
      const r = await t.api().request('GET', '/v1/datasets/ds/push');
      expectProblem(r, 405, 'method_not_allowed');
      assert.equal(r.headers.get('allow'), 'POST');
      expectProblem(await t.api().request('DELETE', '/v1/datasets/ds/changes'), 405, 'method_not_allowed');
    });
  });

  describe('idempotency and order', () => {
    it('the same (replicaId, seq) twice is a duplicate with no second effect', async () => {
      const api = t.api();
      const a = new Replica('rA');
      const body = a.body([a.put('c', 'x', { n: 1 }), a.patch('c', 'x', { n: 2 })]);
      const first = await api.push('ds', body);
      assert.deepEqual(first.results.map((r) => r.status), ['applied', 'applied']);
      const again = await api.push('ds', body);
      assert.deepEqual(again.results.map((r) => r.status), ['duplicate', 'duplicate']);
      assert.equal(again.ackSeq, 2);
      const page = await api.changes('ds');
      assert.equal(page.head, 2, 'a replay must not create versions');
      assert.equal(page.changes.length, 1);
      // a retry that overlaps: the old part is duplicate, the new part applies once
      const c = a.patch('c', 'x', { n: 3 });
      const mixed = await api.push('ds', a.body([body.ops[1], c]));
      assert.deepEqual(mixed.results.map((r) => r.status), ['duplicate', 'applied']);
      assert.equal(mixed.ackSeq, 3);
      assert.equal((await api.changes('ds')).changes[0].doc?.n, 3);
      // pushing nothing returns the durable ackSeq
      assert.equal((await api.push('ds', a.body([]))).ackSeq, 3);
    });

    it('concurrent identical retries apply once', async () => {
      const api = t.api();
      const a = new Replica('rA');
      const body = a.body([a.put('c', 'x', { n: 1 })]);
      const all = await Promise.all([1, 2, 3, 4].map(() => api.push('ds', body)));
      assert.equal(all.filter((r) => r.results[0].status === 'applied').length, 1);
      assert.equal(all.filter((r) => r.results[0].status === 'duplicate').length, 3);
      assert.equal((await api.changes('ds')).head, 1);
    });

    it('versions increase strictly in commit order; a changed document moves to the end', async () => {
      const api = t.api();
      const a = new Replica('rA');
      const b = new Replica('rB');
      await Promise.all([
        api.push('ds', a.body([a.put('c', 'a1', {}), a.put('c', 'a2', {})])),
        api.push('ds', b.body([b.put('c', 'b1', {}), b.put('c', 'b2', {})])),
      ]);
      await api.push('ds', a.body([a.patch('c', 'a1', { x: 1 }, 1)]));
      const page = await api.changes('ds');
      const vs = page.changes.map((c) => c.v);
      assert.deepEqual(vs, [...vs].sort((x, y) => x - y));
      assert.equal(new Set(vs).size, vs.length);
      assert.equal(page.changes[page.changes.length - 1].id, 'a1');
      assert.equal(page.head, 5);
      assert.equal(page.changes.length, 4);
    });

    it('accepts seq gaps with a seq_gap warning', async () => {
      const a = new Replica('rA');
      const op1 = a.put('c', 'x', {});
      a.seq += 5;
      const op2 = a.put('c', 'y', {});
      const res = await t.api().push('ds', a.body([op1, op2]));
      assert.deepEqual(res.warnings, ['seq_gap']);
      assert.equal(res.ackSeq, 7);
    });
  });

  describe('paging', () => {
    async function seed(api: Api, n: number, size = 10): Promise<void> {
      const a = new Replica('rA');
      const ops = [];
      for (let i = 0; i < n; i++) ops.push(a.put('c', `d${String(i).padStart(3, '0')}`, { i, pad: 'x'.repeat(size) }));
      await api.push('ds', a.body(ops));
    }

    it('limit pages with hasMore, resuming from each checkpoint', async () => {
      const api = t.api();
      await seed(api, 25);
      const { pages, docs, checkpoint } = await api.pullAll('ds', '0', { limit: 10 });
      assert.deepEqual(pages.map((p) => p.changes.length), [10, 10, 5]);
      assert.deepEqual(pages.map((p) => p.hasMore), [true, true, false]);
      assert.equal(docs.size, 25);
      assert.equal(checkpoint.split(':')[1], '25');
      const all = pages.flatMap((p) => p.changes.map((c) => c.v));
      assert.deepEqual(all, Array.from({ length: 25 }, (_, i) => i + 1));
    });

    it('maxBytes bounds a page, and a page always makes progress', async () => {
      const api = t.api();
      await seed(api, 6, 300);
      const { pages } = await api.pullAll('ds', '0', { maxBytes: 1 });
      assert.deepEqual(pages.map((p) => p.changes.length), [1, 1, 1, 1, 1, 1]);
      const two = await api.changes('ds', { maxBytes: 1000 });
      assert.equal(two.changes.length, 2);
      assert.equal(two.hasMore, true);
    });

    it('limit and maxBytes above the server caps are lowered to them', async () => {
      await t.restart({ limits: { maxPullLimit: 3 } });
      const api = t.api();
      await seed(api, 5);
      const p = await api.changes('ds', { limit: 1000 });
      assert.equal(p.changes.length, 3);
      assert.equal(p.hasMore, true);
    });

    it('colls filters collections (conflict records always travel)', async () => {
      const api = t.api();
      const a = new Replica('rA');
      await api.push('ds', a.body([a.put('x', '1', {}), a.put('y', '2', {}), a.put('x', '3', {})]));
      const p = await api.changes('ds', { colls: 'x' });
      assert.deepEqual(p.changes.map((c) => c.id), ['1', '3']);
      assert.equal(p.checkpoint.split(':')[1], '3');
    });
  });

  describe('long-poll', () => {
    it('wait returns early when a push to the dataset commits', async () => {
      const api = t.api();
      const a = new Replica('rA');
      await api.push('ds', a.body([a.put('c', 'x', {})]));
      const cp = (await api.changes('ds')).checkpoint;
      const started = Date.now();
      const polled = api.changes('ds', { since: cp, wait: 10 });
      await sleep(300);
      await api.push('ds', a.body([a.put('c', 'y', { late: true })]));
      const page = await polled;
      const took = Date.now() - started;
      assert.ok(took < 5000, `long-poll took ${took} ms`);
      assert.ok(took >= 250, `long-poll returned before the push (${took} ms)`);
      assert.deepEqual(page.changes.map((c) => c.id), ['y']);
    });

    it('wait times out with an empty page and an unchanged checkpoint', async () => {
      const api = t.api();
      const a = new Replica('rA');
      await api.push('ds', a.body([a.put('c', 'x', {})]));
      const cp = (await api.changes('ds')).checkpoint;
      const started = Date.now();
      const page = await api.changes('ds', { since: cp, wait: 0.4 });
      assert.ok(Date.now() - started >= 350);
      assert.deepEqual(page.changes, []);
      assert.equal(page.checkpoint, cp);
      assert.equal(page.hasMore, false);
    });

    it('a push to another dataset does not wake it', async () => {
      const api = t.api();
      const cp = (await api.changes('ds')).checkpoint;
      const started = Date.now();
      const polled = api.changes('ds', { since: cp, wait: 0.8 });
      await sleep(100);
      const a = new Replica('rA');
      await api.push('other', a.body([a.put('c', 'x', {})]));
      const page = await polled;
      assert.deepEqual(page.changes, []);
      assert.ok(Date.now() - started >= 700);
    });
  });

  describe('malformed requests: problem+json and nothing changed', () => {
    async function snapshot(api: Api): Promise<string> {
      const page = await api.changes('ds');
      return JSON.stringify({ head: page.head, changes: page.changes, epoch: page.epoch });
    }

    it('each malformed push is 400 invalid_request and changes nothing', async () => {
      const api = t.api();
      const a = new Replica('rA');
      await api.push('ds', a.body([a.put('c', 'x', { n: 1 })]));
      const before = await snapshot(api);
      const good = (): Record<string, unknown> => a.body([{ ...a.put('c', 'x', { n: 2 }), seq: 100 }]) as unknown as Record<string, unknown>;
      const op = (patch: Record<string, unknown>): unknown => {
        const b = good();
        return { ...b, ops: [{ ...(b.ops as object[])[0], ...patch }] };
      };
      const bodies: [string, unknown][] = [
        ['not JSON', '{"replicaId": "rA", '],
        ['a JSON array', '[]'],
        ['missing replicaId', { ops: [] }],
        ['ops missing', { replicaId: 'rA' }],
        ['seq a string', op({ seq: '100' })],
        ['hlc malformed', op({ hlc: 'yesterday' })],
        ['hlc of another replica', op({ hlc: '0000000000000001:0000:rZ' })],
        ['unknown kind', op({ kind: 'merge' })],
        ['doc not an object', op({ doc: 'x' })],
        ['base negative', op({ base: -3 })],
        ['checkpointEpoch wrong type', { ...good(), checkpointEpoch: 12 }],
        ['seqs out of order', (() => { const b = good(); const o = (b.ops as Record<string, unknown>[])[0]; return { ...b, ops: [o, { ...o, seq: 99 }] }; })()],
      ];
      for (const [name, body] of bodies) {
        const p = await api.pushProblem('ds', body, 400, 'invalid_request');
        assert.ok(p.detail.length > 0, name);
        assert.equal(p.retryable, false, name);
      }
      assert.equal(await snapshot(api), before);
      // and the replica's lastSeq did not move: seq 2 still applies
      assert.equal((await api.push('ds', a.body([a.put('c', 'z', {})]))).results[0].status, 'applied');
    });

    it('wrong content type is 415; invalid dataset names are 400; bad query parameters are 400', async () => {
      const api = t.api();
      const a = new Replica('rA');
      const r = await api.request('POST', '/v1/datasets/ds/push', { body: JSON.stringify(a.body([])), headers: { 'Content-Type': 'text/plain' } });
      expectProblem(r, 415, 'unsupported_media_type');
      for (const name of ['a..b', 'a%2Fb', '%20x', 'x'.repeat(129), '%E0%A4%A']) {
        expectProblem(await api.request('GET', `/v1/datasets/${name}/changes`), 400, 'invalid_request');
        expectProblem(await api.request('POST', `/v1/datasets/${name}/push`, { body: JSON.stringify(a.body([])) }), 400, 'invalid_request');
      }
      for (const q of ['since=garbage', 'since=e_x:-1', 'limit=0', 'limit=abc', 'maxBytes=-5', 'wait=-1', 'colls=a%2Fb']) {
        expectProblem(await api.request('GET', `/v1/datasets/ds/changes?${q}`), 400, 'invalid_request');
      }
    });

    it('per-op content problems reject only that op and consume its seq', async () => {
      await t.restart({ limits: { maxDocBytes: 200 } });
      const api = t.api();
      const a = new Replica('rA');
      const res = await api.push('ds', a.body([
        a.put('c', 'big', { text: 'x'.repeat(300) }),
        a.put('c', 'dollar', { $where: 1 }),
        a.put('c', 'proto', JSON.parse('{"a":{"__proto__":{"polluted":true}}}')),
        a.put('_private', 'p', {}),
        a.put('c', 'x'.repeat(600), {}),
        a.put('c', 'ok', { fine: true }),
      ]));
      assert.deepEqual(res.results.map((r) => [r.status, r.code]), [
        ['rejected', 'doc_too_large'], ['rejected', 'invalid_field'], ['applied', undefined],
        ['rejected', 'invalid_collection'], ['rejected', 'invalid_id'], ['applied', undefined],
      ]);
      assert.equal(res.ackSeq, 6);
      const page = await api.changes('ds');
      assert.deepEqual(page.changes.map((c) => c.id), ['proto', 'ok']);
      // "__proto__" is an ordinary field: stored as such, nothing polluted.
      assert.equal(JSON.stringify(page.changes[0].doc), '{"_id":"proto","a":{"__proto__":{"polluted":true}}}');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      // a patch that would make the merged document too large is rejected too
      const grow = await api.push('ds', a.body([a.patch('c', 'ok', { more: 'y'.repeat(190) }, 1)]));
      assert.equal(grow.results[0].code, 'doc_too_large');
    });
  });

  describe('413 payload_too_large', () => {
    it('rejects a declared Content-Length above maxPushBytes before reading it, changing nothing', async () => {
      await t.restart({ limits: { maxPushBytes: 4096 } });
      const api = t.api();
      const a = new Replica('rA');
      const body = JSON.stringify(a.body([a.put('c', 'x', { pad: 'x'.repeat(10_000) })]));
      const p = expectProblem(await api.request('POST', '/v1/datasets/ds/push', { body }), 413, 'payload_too_large');
      assert.equal(p.maxPushBytes, 4096);
      assert.equal((await api.changes('ds')).head, 0);
    });

    it('rejects a chunked body as soon as it passes the limit', async () => {
      await t.restart({ limits: { maxPushBytes: 4096 } });
      const u = new URL(t.url);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({
          host: u.hostname, port: u.port, method: 'POST', path: '/v1/datasets/ds/push',
          headers: { 'Sync-Protocol': '1', Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
        }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.write('{"replicaId":"rA","ops":[],"pad":"');
        let sent = 0;
        const more = (): void => {
          if (sent > 1_000_000 || req.destroyed) {
            req.end('"}');
            return;
          }
          sent += 1024;
          req.write('x'.repeat(1024), () => setImmediate(more));
        };
        more();
      });
      assert.equal(status, 413);
      assert.equal((await t.api().changes('ds')).head, 0);
    });

    it('rejects a gzip body that inflates past the limit, and accepts a small gzip body', async () => {
      await t.restart({ limits: { maxPushBytes: 4096 } });
      const api = t.api();
      const a = new Replica('rA');
      const bomb = zlib.gzipSync(JSON.stringify(a.body([a.put('c', 'x', { pad: 'x'.repeat(100_000) })])));
      assert.ok(bomb.length < 4096);
      expectProblem(await api.request('POST', '/v1/datasets/ds/push', { body: bomb, headers: { 'Content-Encoding': 'gzip' } }), 413, 'payload_too_large');
      const b = new Replica('rB');
      const small = zlib.gzipSync(JSON.stringify(b.body([b.put('c', 'y', { ok: 1 })])));
      const r = await api.request('POST', '/v1/datasets/ds/push', { body: small, headers: { 'Content-Encoding': 'gzip' } });
      assert.equal(r.status, 200);
      expectProblem(await api.request('POST', '/v1/datasets/ds/push', { body: Buffer.from('not gzip'), headers: { 'Content-Encoding': 'gzip' } }), 400, 'invalid_request');
    });

    it('more ops than maxOpsPerPush is 413 (the client halves the batch)', async () => {
      await t.restart({ limits: { maxOpsPerPush: 3 } });
      const a = new Replica('rA');
      const body: PushRequest = a.body([a.put('c', '1', {}), a.put('c', '2', {}), a.put('c', '3', {}), a.put('c', '4', {})]);
      await t.api().pushProblem('ds', body, 413, 'payload_too_large');
      assert.equal((await t.api().changes('ds')).head, 0);
      assert.equal((await t.api().push('ds', { ...body, ops: body.ops.slice(0, 2) })).ackSeq, 2);
    });
  });

  it('writes one JSON access-log entry per request with dataset and replicaId', async () => {
    const a = new Replica('rLog');
    await t.api().push('logged', a.body([a.put('c', 'x', {})]));
    await t.api().request('GET', '/v1/datasets/logged/changes?since=0&apiKey=should-not-be-logged');
    const push = t.logs.find((e) => e.path === '/v1/datasets/logged/push');
    assert.ok(push);
    assert.equal(push.method, 'POST');
    assert.equal(push.status, 200);
    assert.equal(push.dataset, 'logged');
    assert.equal(push.replicaId, 'rLog');
    assert.ok(push.bytesIn > 0 && push.bytesOut > 0 && push.ms >= 0);
    const pull = t.logs.find((e) => e.path.startsWith('/v1/datasets/logged/changes'));
    assert.equal(pull?.path, '/v1/datasets/logged/changes?since=0');
    assert.ok(!JSON.stringify(t.logs).includes('should-not-be-logged'));
  });

  it('gzips large change pages for clients that accept it', async () => {
    const a = new Replica('rA');
    const ops = [];
    for (let i = 0; i < 50; i++) ops.push(a.put('c', `d${i}`, { text: 'lorem ipsum '.repeat(50) }));
    await t.api().push('ds', a.body(ops));
    const u = new URL(t.url);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: u.hostname, port: u.port, path: '/v1/datasets/ds/changes', headers: { 'Sync-Protocol': '1', Authorization: `Bearer ${KEY}`, 'Accept-Encoding': 'gzip' } }, resolve).on('error', reject);
    });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    assert.equal(res.headers['content-encoding'], 'gzip');
    const page = JSON.parse(zlib.gunzipSync(Buffer.concat(chunks)).toString('utf8'));
    assert.equal(page.changes.length, 50);
  });
});
