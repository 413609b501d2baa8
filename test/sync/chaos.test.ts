/**
 * Sync robustness through a chaos proxy (test/sync/chaos-proxy.ts) in front of the real server,
 * with real engines on disk. Each test names the behaviour of a naive client (WiseJSON 6:
 * timestamp deltas, a new batch id per retry, a cursor moved by push responses, a snapshot that
 * wipes local data) that its assertions would catch. After every scenario, `env.converge()`
 * checks that all replicas equal the server and that every acknowledged write is still present
 * (as a value, as a conflict side, or overwritten by a writer who had seen it).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { parseChangesResponse, parseCheckpoint, parsePushResponse, PushRequest } from '../../src/sync/protocol';
import { canned, Exchange, HTML_PAGE, isChanges, isPush, jsonOf, ProxyRequest, rewriteJson } from './chaos-proxy';
import { Env } from './env';
import { COLL, conflictsFor, DS, LocalSnapshot, Replica, serverState, SyncEvent, userFields, waitFor } from './harness';
import { KEY, KEY2 } from '../server/helpers';

const isNotesPage = (r: ProxyRequest): boolean => isChanges(r) && r.query.get('colls') === COLL;
const opsOf = (e: Exchange): number[] => ((e.req.json as PushRequest).ops ?? []).map((o) => o.seq);

/** Events of a replica from index `from` on. */
const since = (r: Replica, from: number, name: string): SyncEvent[] => r.events.slice(from).filter((e) => e.name === name);

describe('sync robustness: chaos proxy in front of the real server', function () {
  this.timeout(120_000);
  let env: Env;
  beforeEach(() => {
    env = new Env();
  });
  afterEach(async () => {
    await env.cleanup();
  });

  it('1. network cut after the server committed a push: the retry is answered duplicate, no double effect', async () => {
    await env.start();
    const a = await env.replica('a');
    const b = await env.replica('b');
    await a.insert({ _id: 'counter', n: 0 });
    await a.sync();
    await b.sync();
    for (let i = 0; i < 3; i++) await a.update('counter', { $inc: { n: 1 } });
    await a.insert({ _id: 'once', text: 'inserted once' });
    const pending = a.outbox();
    assert.equal(pending.length, 4);
    const cursor = a.cursor();
    const before = await serverState(env.server.url);
    const mark = a.events.length;

    // The push reaches the server and commits; the response never reaches the client.
    // Afterwards the network stays down until the assertions are done (no background retry).
    env.proxy.add({ name: 'cut', match: isPush, times: 1, action: { kind: 'cutAfterCommit' }, before: () => void env.proxy.add({ name: 'down', action: { kind: 'drop' } }) });
    await a.sync();
    const cut = env.proxy.exchanges('push').find((e) => e.rule === 'cut')!;
    assert.equal(cut.outcome, 'cut');
    assert.equal(parsePushResponse(jsonOf(cut.upstream[0].body)).ackSeq, pending[pending.length - 1].seq, 'the server did commit the push');
    const err = since(a, mark, 'sync:error')[0];
    assert.ok(err, 'the cut is reported as sync:error');
    assert.equal(err.payload.code, 'network');
    assert.equal(err.payload.retryable, true);
    const committed = await serverState(env.server.url);
    assert.equal(committed.docs.get(`${COLL}/counter`)?.doc?.n, 3);
    assert.ok(committed.head > before.head);
    assert.deepEqual(a.outbox(), pending, 'unacknowledged ops stay in the outbox');
    assert.equal(a.cursor(), cursor, 'the cursor does not move');

    env.proxy.clear();
    // Meanwhile B changes something; A's successful (retried) push must not move A's pull cursor
    // past it (a naive client sets its cursor from the push response).
    await b.insert({ _id: 'from-b', text: 'written by B while A was cut off' });
    await b.sync();
    const headWithB = (await serverState(env.server.url)).head;
    let cursorAtPull: string | null | undefined;
    env.proxy.add({ name: 'observe', match: isNotesPage, times: 1, action: { kind: 'pass' }, before: () => void (cursorAtPull = a.cursor()) });
    await a.sync();
    assert.equal(cursorAtPull, cursor, 'the push response did not move the pull cursor');
    assert.ok((await a.docs()).has('from-b'), 'so the pull brought B\'s change');
    const retries = env.proxy.exchanges('push').filter((e) => e.req.n > cut.req.n && e.outcome === 'answered' && (e.req.json as PushRequest).replicaId === a.replicaId);
    assert.equal(retries.length, 1, 'one retry push');
    assert.deepEqual(opsOf(retries[0]), opsOf(cut), 'the retry carries the same seqs (no new batch identity)');
    const res = parsePushResponse(jsonOf(retries[0].upstream[0].body));
    assert.deepEqual(res.results.map((r) => r.status), ['duplicate', 'duplicate', 'duplicate', 'duplicate']);
    assert.equal(res.ackSeq, pending[pending.length - 1].seq, 'ackSeq covers the retried ops');
    const after = await serverState(env.server.url);
    assert.equal(after.head, headWithB, 'the retry created no new version');
    assert.equal(a.outbox().length, 0);

    const { server } = await env.converge();
    assert.equal(server.docs.get(`${COLL}/counter`)?.doc?.n, 3, 'the counter moved by 3, not 6');
    assert.equal([...server.docs.keys()].filter((k) => k === `${COLL}/once`).length, 1);
    assert.equal(conflictsFor(server, 'counter').length, 0, 'no conflict from the retry');
    assert.equal((await b.docs()).get('counter')?.n, 3);
  });

  for (const variant of [
    { name: 'the first page, truncated with its Content-Length (short read)', page: 1, action: { kind: 'truncate', keepLength: true } as const },
    { name: 'the second page, truncated but well framed (invalid JSON)', page: 2, action: { kind: 'truncate' } as const },
    { name: 'the second page, connection reset mid-body', page: 2, action: { kind: 'reset', fraction: 0.3 } as const },
  ]) {
    it(`2. cut mid-pull (${variant.name}): the cursor stays at the last applied page, sync:error, the next cycle completes`, async () => {
      await env.start();
      const a = await env.replica('a', { direct: true });
      for (let i = 0; i < 25; i++) await a.insert({ _id: `d${String(i).padStart(2, '0')}`, i, text: 'x'.repeat(200) });
      await a.sync();
      const b = await env.replica('b', { pullLimit: 10 });
      let pages = 0;
      env.proxy.add({
        name: 'cut',
        match: (r) => isNotesPage(r) && ++pages === variant.page,
        times: 1,
        action: variant.action,
        before: () => void env.proxy.add({ name: 'down', action: { kind: 'drop' } }),
      });
      await b.sync();
      const notesPages = env.proxy.exchanges('changes').filter((e) => isNotesPage(e.req));
      const cut = notesPages.find((e) => e.rule === 'cut')!;
      assert.ok(cut, 'the fault was injected');
      assert.equal(cut.upstream[0].status, 200);
      const err = b.eventsNamed('sync:error')[0];
      assert.ok(err, 'sync:error');
      assert.ok(['network', 'bad_response'].includes(String(err.payload.code)), `code ${String(err.payload.code)}`);
      // Exactly the pages before the cut are applied, with their cursor; nothing of the cut page.
      const applied = notesPages.filter((e) => e.req.n < cut.req.n);
      const expectIds = applied.flatMap((e) => parseChangesResponse(jsonOf(e.upstream[0].body)).changes.map((c) => c.id)).sort();
      const expectCursor = applied.length ? parseChangesResponse(jsonOf(applied[applied.length - 1].upstream[0].body)).checkpoint : null;
      assert.equal(b.cursor(), expectCursor, 'the cursor is the last fully applied page\'s');
      assert.deepEqual([...(await b.docs()).keys()].sort(), expectIds, 'no document of the cut page was applied');

      env.proxy.clear();
      const mark = b.events.length;
      await b.sync();
      assert.equal(since(b, mark, 'sync:success').length, 1, 'the next cycle completes');
      const { server } = await env.converge();
      assert.equal((await b.docs()).size, 25);
      assert.equal(b.cursor(), `${server.epoch}:${server.head}`);
    });
  }

  it('6. every request delivered twice (sequentially and concurrently): the same final state as a clean run', async () => {
    type Normal = { head: number; docs: Record<string, unknown> };
    const run = async (duplicate: boolean): Promise<Normal> => {
      const e = new Env();
      try {
        await e.start();
        if (duplicate) {
          let n = 0;
          e.proxy.add({ name: 'dup', action: { kind: 'duplicate' }, match: () => true });
          // Alternate: sequential/concurrent deliveries, answering with the first or the second.
          e.proxy.rules[0].match = (r) => {
            n++;
            (e.proxy.rules[0].action as { concurrent?: boolean; answer?: string }).concurrent = n % 2 === 0;
            (e.proxy.rules[0].action as { concurrent?: boolean; answer?: string }).answer = n % 3 === 0 ? 'second' : 'first';
            return r.kind === 'push' || r.kind === 'changes';
          };
        }
        const a = await e.replica('a');
        const b = await e.replica('b');
        for (let i = 1; i <= 5; i++) await a.insert({ _id: `d${i}`, title: `t${i}`, body: `b${i}` });
        await a.sync();
        await b.sync();
        await a.update('d1', { title: 'A title' }); // disjoint fields: merged
        await b.update('d1', { body: 'B body' });
        await a.update('d2', { title: 'A edits d2' }); // update vs concurrent delete
        await b.remove('d2');
        await a.insert({ _id: 'd6', title: 'new' });
        await a.remove('d4');
        await a.sync();
        await b.sync();
        await b.update('d3', { title: 'B saw A' }); // causal
        await b.sync();
        await a.sync();
        await a.update('d3', { title: 'A saw B' });
        await a.sync();
        const { server } = await e.converge();
        if (duplicate) {
          const dups = e.proxy.exchanges().filter((x) => x.action === 'duplicate');
          assert.ok(dups.filter((x) => x.req.kind === 'push').length >= 4, 'pushes were duplicated');
          for (const x of dups.filter((d) => d.req.kind === 'push')) {
            // Delivered concurrently, either may reach the dataset's lock first: the other one
            // must be answered as duplicates only.
            const answers = x.upstream.map((u) => parsePushResponse(jsonOf(u.body)));
            assert.ok(answers.some((a) => a.results.length > 0 && a.results.every((r) => r.status === 'duplicate')), 'one of the two deliveries of a push has no effect');
          }
        }
        const docs: Record<string, unknown> = {};
        for (const [k, d] of server.docs) {
          let body: unknown = d.doc ? userFields(d.doc) : null;
          if (k.startsWith('_conflicts/') && d.doc) {
            const { serverTime: _t, fields, ...rest } = d.doc as Record<string, unknown>;
            const f: Record<string, unknown> = {};
            for (const [name, pair] of Object.entries(fields as Record<string, { winner: Record<string, unknown>; loser: Record<string, unknown> }>)) {
              const strip = ({ hlc: _h, origin: _o, ...side }: Record<string, unknown>) => side;
              f[name] = { winner: strip(pair.winner), loser: strip(pair.loser) };
            }
            body = { ...rest, fields: f };
          }
          docs[k] = { v: d.v, body };
        }
        return { head: server.head, docs };
      } finally {
        await e.cleanup();
      }
    };
    const clean = await run(false);
    const doubled = await run(true);
    assert.deepEqual(doubled, clean);
    assert.equal((clean.docs['notes/d2'] as { body: unknown }).body, null, 'd2 stays deleted');
    assert.ok(Object.keys(clean.docs).some((k) => k.startsWith('_conflicts/')), 'the workload produced a conflict record');
  });

  for (const order of ['delete first', 'update first'] as const) {
    it(`8. delete vs concurrent update (${order}): no resurrection, the update's values are a conflict record on every replica`, async () => {
      await env.start();
      const a = await env.replica('a');
      const b = await env.replica('b');
      await a.insert({ _id: 'x', title: 'original', body: 'keep' });
      await a.sync();
      await b.sync();
      await a.remove('x');
      await b.update('x', { title: 'B edited offline', extra: 42 });
      if (order === 'delete first') {
        await a.sync();
        await b.sync();
      } else {
        await b.sync();
        await a.sync();
      }
      const bPush = env.proxy.exchanges('push').find((e) => (e.req.json as PushRequest).replicaId === b.replicaId)!;
      const c = await env.replica('c');
      const { server } = await env.converge();
      assert.equal(server.docs.get(`${COLL}/x`)?.doc, null, 'x stays deleted on the server');
      for (const r of [a, b, c]) assert.equal(await r.col.getById('x'), null, `${r.name}: x is not resurrected`);
      const records = conflictsFor(server, 'x');
      assert.equal(records.length, 1, 'exactly one conflict record');
      assert.equal(records[0].kind, order === 'delete first' ? 'update_vs_delete' : 'delete_vs_update');
      const fields = records[0].fields as Record<string, { winner: { deleted?: boolean }; loser: { value?: unknown } }>;
      assert.equal(fields.title.loser.value, 'B edited offline');
      assert.equal(fields.extra.loser.value, 42);
      assert.equal(fields.title.winner.deleted, true);
      for (const r of [a, b, c]) assert.ok((await r.docs('_conflicts')).has(String(records[0]._id)), `${r.name} holds the conflict record`);

      // Replaying B's update (a late duplicate delivery) changes nothing.
      const replay = await fetch(`${env.server.url}/v1/datasets/${DS}/push`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'sync-protocol': '1', 'content-type': 'application/json' },
        body: bPush.req.body.toString('utf8'),
      });
      const replayed = parsePushResponse(await replay.text());
      assert.ok(replayed.results.every((r) => r.status === 'duplicate'));
      const again = await serverState(env.server.url);
      assert.equal(again.head, server.head);
      assert.equal(again.docs.get(`${COLL}/x`)?.doc, null);
    });
  }

  it('8b. after a delete has synced, another replica re-creates the document: it is live everywhere', async () => {
    await env.start();
    const a = await env.replica('a');
    const b = await env.replica('b');
    await a.insert({ _id: 'x', title: 'first life' });
    await a.sync();
    await b.sync();
    await a.remove('x');
    await a.sync();
    await b.sync();
    assert.equal(await b.col.getById('x'), null);
    await b.insert({ _id: 'x', title: 'second life' }); // B saw the delete
    await b.sync();
    await a.sync();
    const { server } = await env.converge(env.replicas, { deadlineMs: 10_000 });
    assert.equal(server.docs.get(`${COLL}/x`)?.doc?.title, 'second life');
    assert.equal((await a.col.getById('x'))?.title, 'second life');
  });

  it('9. tombstones purged (retention 0) → 410 → reconcile: deletions arrive, pending local edits survive', async () => {
    await env.start({ limits: { tombstoneRetentionDays: 0 } });
    const a = await env.replica('a');
    const b = await env.replica('b');
    for (let i = 1; i <= 6; i++) await a.insert({ _id: `d${i}`, title: `t${i}` });
    await a.sync();
    await b.sync();
    await b.remove('d1');
    await b.remove('d2');
    await b.sync();
    assert.ok((await env.server.server!.purgeTombstones()) >= 2, 'tombstones purged');
    // A was offline through all of that and edits.
    await a.update('d1', { title: 'A edits a purged doc' });
    await a.update('d3', { title: 'A edits d3' });
    await a.insert({ _id: 'd7', title: 'new on A' });
    // While A re-pulls everything (the reconcile), A keeps writing.
    env.proxy.add({
      name: 'reconcile',
      match: (r) => isNotesPage(r) && r.query.get('since') === '0',
      times: 1,
      delayMs: 50,
      action: { kind: 'pass' },
      before: async () => {
        await a.update('d4', { title: 'A edits d4 during the reconcile' });
        await a.insert({ _id: 'd8', title: 'inserted during the reconcile' });
      },
    });
    const mark = a.events.length;
    await a.sync();
    const reset = since(a, mark, 'sync:reset');
    assert.ok(reset.some((e) => e.payload.reason === 'checkpoint_expired'), 'the 410 led to a reconcile');
    assert.ok(env.proxy.exchanges('changes').some((e) => e.upstream[0]?.status === 410));
    assert.ok(env.proxy.exchanges().some((e) => e.rule === 'reconcile'), 'the reconcile pull happened (and A wrote meanwhile)');
    const docs = await a.docs();
    assert.equal(docs.get('d4')?.title, 'A edits d4 during the reconcile', 'a pending edit survives the reconcile');
    assert.equal(docs.get('d8')?.title, 'inserted during the reconcile', 'a pending insert survives the reconcile');
    assert.equal(docs.get('d3')?.title, 'A edits d3');
    assert.equal(docs.get('d7')?.title, 'new on A');
    assert.ok(!docs.has('d2'), 'the purged deletion reached A');
    const { server } = await env.converge();
    for (const r of [a, b]) {
      const d = await r.docs();
      assert.deepEqual([...d.keys()].sort(), ['d3', 'd4', 'd5', 'd6', 'd7', 'd8'], r.name);
    }
    const purged = conflictsFor(server, 'd1');
    assert.equal(purged.length, 1, 'the edit of the purged document is kept as a conflict record');
    assert.equal((purged[0].fields as Record<string, { loser: { value: unknown } }>).title.loser.value, 'A edits a purged doc');
  });

  it('10. malformed server responses of every kind: nothing changes, sync:error bad_response, sync:quarantine with a diagnostics file', async () => {
    await env.start();
    const a = await env.replica('a', { timeoutMs: 5000 });
    const b = await env.replica('b', { direct: true });
    for (let i = 0; i < 3; i++) await b.insert({ _id: `s${i}`, title: `seed ${i}` });
    await b.sync();
    await a.sync();
    assert.ok(a.cursor(), 'A has a cursor');
    let bCount = 0;
    const bWrites = async (): Promise<void> => {
      await b.insert({ _id: `b${bCount++}`, title: 'new on B' });
      await b.sync();
    };
    const firstChange = (body: Record<string, unknown>): Record<string, unknown> => (body.changes as Record<string, unknown>[])[0];
    const sinceV = (r: ProxyRequest): number => parseCheckpoint(String(r.query.get('since')))!.v;
    let duringPush: LocalSnapshot | null = null;
    const kinds: { name: string; side: 'pull' | 'push'; action: ReturnType<typeof rewriteJson>; before?: () => Promise<void> }[] = [
      { name: 'an HTML page with status 200', side: 'pull', action: canned.html(200) },
      { name: 'text that is not JSON', side: 'pull', action: { kind: 'rewrite', fn: (up) => ({ body: up.body.subarray(0, 40), headers: { 'content-type': 'application/json' } }) } },
      { name: 'JSON that is not an object', side: 'pull', action: rewriteJson(() => [1, 2, 3]) },
      { name: 'a page without checkpoint', side: 'pull', action: rewriteJson((body) => void delete body.checkpoint) },
      { name: 'a page with wrong types (changes an object)', side: 'pull', action: rewriteJson((body) => void (body.changes = { 0: firstChange(body) })) },
      { name: 'a checkpoint going backwards', side: 'pull', action: rewriteJson((body, r) => ({ ...body, changes: [], hasMore: false, checkpoint: `${String(body.epoch)}:${sinceV(r) - 1}` })) },
      { name: 'a checkpoint of another epoch than the page', side: 'pull', action: rewriteJson((body) => void (body.checkpoint = `e_other:${String(body.checkpoint).split(':')[1]}`)) },
      {
        name: 'a consistent page of an epoch that is not the cursor\'s',
        side: 'pull',
        action: rewriteJson((body) => ({ ...body, epoch: 'e_forged', checkpoint: `e_forged:${String(body.checkpoint).split(':')[1]}` })),
      },
      { name: 'a change with a negative v', side: 'pull', action: rewriteJson((body) => void (firstChange(body).v = -3)) },
      { name: 'a change with a bad hlc', side: 'pull', action: rewriteJson((body) => void (firstChange(body).hlc = '2024-01-01T00:00:00Z')) },
      { name: 'push results for seqs that were not sent', side: 'push', action: rewriteJson((body) => ({ ...body, ackSeq: 99_999, results: [{ seq: 99_999, status: 'applied', v: 1 }] })) },
      {
        name: 'a push ackSeq beyond the ops sent (a write made meanwhile would be dropped)',
        side: 'push',
        action: rewriteJson((body) => void (body.ackSeq = Number(body.ackSeq) + 5)),
        before: async () => {
          await a.insert({ _id: `during-push-${bCount++}`, title: 'written while the push was in flight' });
          duringPush = await a.snapshot();
        },
      },
      { name: 'a push result with a negative v', side: 'push', action: rewriteJson((body) => void ((body.results as Record<string, unknown>[])[0].v = -1)) },
      { name: 'a push answered by an HTML page', side: 'push', action: canned.html(200) },
    ];
    let pushN = 0;
    const problems: string[] = [];
    for (const kind of kinds) {
      env.proxy.clear();
      env.proxy.add({ name: kind.name, match: kind.side === 'pull' ? isNotesPage : isPush, action: kind.action, before: kind.before });
      if (kind.side === 'pull') await bWrites();
      else await a.insert({ _id: `a${pushN++}`, title: 'pending on A' });
      duringPush = null;
      const before = await a.snapshot();
      const mark = a.events.length;
      await a.sync();
      const after = await a.snapshot();
      const check = (ok: unknown, what: string): void => {
        if (!ok) problems.push(`${kind.name}: ${what}`);
      };
      try {
        assert.deepEqual(after, duringPush ?? before);
      } catch (err) {
        check(false, `state changed: ${(err as Error).message.split('\n').slice(0, 12).join(' ')}`);
      }
      const errors = since(a, mark, 'sync:error');
      check(errors.length > 0 && errors.every((e) => e.payload.code === 'bad_response' && e.payload.retryable === true), `expected sync:error bad_response (retryable), got ${JSON.stringify(errors.map((e) => e.payload.code))}`);
      const q = since(a, mark, 'sync:quarantine');
      check(q.length > 0, 'no sync:quarantine');
      const file = q.length > 0 ? String(q[q.length - 1].payload.file) : '';
      const saved = file.startsWith(a.db.dbPath) && fs.existsSync(file);
      check(saved, `no diagnostics file (${file})`);
      const raw = saved ? fs.readFileSync(file, 'utf8') : '';
      check(!saved || raw.length > 0, 'the diagnostics file is empty');
      check(!saved || kind.action.kind !== 'respond' || raw.includes(HTML_PAGE), 'the HTML is not kept as it came');
    }
    assert.deepEqual(problems, [], `malformed responses were not handled:\n${problems.join('\n')}`);
    const { server } = await env.converge();
    const during = a.log.of(a.replicaId).filter((w) => w.id.startsWith('during-push-'));
    assert.ok(during.length > 0);
    for (const w of during) assert.ok(server.docs.get(`${COLL}/${w.id}`)?.doc, `${w.id}, written while a push was in flight, arrives`);
    assert.equal((await a.docs()).size, (await b.docs()).size);
  });

  it('11. 503 with Retry-After: the next attempt waits for it (also with a background interval), sync:error.nextRetryAt tells when', async () => {
    await env.start();
    const a = await env.replica('a', { syncIntervalMs: 100 });
    await a.insert({ _id: 'r1', title: 'retry me' });
    const date = (): string => new Date(Date.now() + 3000).toUTCString();
    env.proxy.add({ name: '503-seconds', match: isPush, times: 1, action: canned.unavailable('2') });
    env.proxy.add({ name: '503-date', match: isPush, times: 1, action: canned.unavailable(date(), true) });
    // Rebuild the second rule's date when it is used, so it is ~3 s ahead of that moment.
    env.proxy.rules[1].before = () => {
      (env.proxy.rules[1].action as { headers: Record<string, string> }).headers['retry-after'] = date();
    };
    await a.sync();
    await waitFor('the write to reach the server', async () => a.outbox().length === 0 && (await serverState(env.server.url)).docs.has(`${COLL}/r1`), 30_000);
    const log = env.proxy.exchanges().filter((e) => e.req.kind === 'push' || e.req.kind === 'changes');
    const errors = a.eventsNamed('sync:error');
    assert.equal(errors.length, 2, 'two 503s, two sync:error events');
    for (const [i, name] of ['503-seconds', '503-date'].entries()) {
      const refused = log.find((e) => e.rule === name)!;
      const err = errors[i];
      assert.equal(err.payload.retryable, true);
      assert.equal(err.payload.status, 503);
      assert.equal(typeof err.payload.nextRetryAt, 'string', 'nextRetryAt is reported');
      const nextRetryAt = Date.parse(String(err.payload.nextRetryAt));
      const minWait = name === '503-seconds' ? 2000 : 1000; // an HTTP date has whole seconds
      assert.ok(nextRetryAt - refused.doneAt! >= minWait - 50, `${name}: nextRetryAt honours Retry-After (${nextRetryAt - refused.doneAt!} ms)`);
      const next = log.find((e) => e.req.n > refused.req.n)!;
      assert.ok(next, `${name}: a later attempt`);
      // (a timer may fire a little early against Date.now(): libuv's cached loop time)
      assert.ok(next.req.at >= nextRetryAt - 250, `${name}: the next request came ${nextRetryAt - next.req.at} ms before nextRetryAt`);
    }
    await env.converge();
  });

  it('12a. a batch over the server\'s maxOpsPerPush is split on 413 until it fits; every op arrives', async () => {
    await env.start({ limits: { maxOpsPerPush: 7 } });
    const a = await env.replica('a');
    for (let i = 0; i < 60; i++) await a.insert({ _id: `o${String(i).padStart(2, '0')}`, i });
    await a.sync();
    const pushes = env.proxy.exchanges('push');
    assert.ok(pushes.some((e) => e.upstream[0]?.status === 413), 'the server refused a batch with 413');
    const accepted = pushes.filter((e) => e.upstream[0]?.status === 200);
    assert.ok(accepted.every((e) => opsOf(e).length <= 7));
    assert.deepEqual(accepted.flatMap(opsOf), a.log.of(a.replicaId).map((w) => w.seq), 'every op sent once, in seq order');
    assert.equal(a.outbox().length, 0);
    const b = await env.replica('b');
    await env.converge();
    assert.equal((await b.docs()).size, 60);
  });

  it('12b. a reverse proxy\'s HTML 413 for large bodies splits the batch too; every op arrives', async () => {
    await env.start();
    const a = await env.replica('a');
    for (let i = 0; i < 40; i++) await a.insert({ _id: `p${String(i).padStart(2, '0')}`, text: 'y'.repeat(300) });
    env.proxy.add({ name: 'nginx-413', match: (r) => isPush(r) && r.body.length > 6000, action: canned.tooLarge(true) });
    await a.sync();
    const pushes = env.proxy.exchanges('push');
    assert.ok(pushes.some((e) => e.rule === 'nginx-413'));
    const passed = pushes.filter((e) => e.rule === null);
    assert.ok(passed.length >= 3 && passed.every((e) => e.req.body.length <= 6000));
    assert.equal(a.outbox().length, 0);
    const b = await env.replica('b');
    await env.converge();
    assert.equal((await b.docs()).size, 40);
  });

  it('a request dropped or black-holed before the server: reported, retried, applied once', async () => {
    await env.start();
    const a = await env.replica('a', { timeoutMs: 1500 });
    await a.insert({ _id: 'q1', title: 'through a bad network' });
    const head0 = (await serverState(env.server.url)).head;
    for (const action of [{ kind: 'drop' } as const, { kind: 'blackhole' } as const]) {
      const mark = a.events.length;
      env.proxy.add({ name: action.kind, match: isPush, times: 1, action, before: () => void env.proxy.add({ name: 'down', action: { kind: 'drop' } }) });
      await a.sync();
      const err = since(a, mark, 'sync:error')[0];
      assert.equal(err?.payload.code, 'network', `${action.kind}: reported as a network error`);
      assert.equal(a.outbox().length, 1, `${action.kind}: the write stays pending`);
      assert.equal((await serverState(env.server.url)).head, head0, `${action.kind}: nothing reached the server`);
      env.proxy.clear();
    }
    await a.sync();
    const res = parsePushResponse(jsonOf(env.proxy.exchanges('push').filter((e) => e.outcome === 'answered')[0].upstream[0].body));
    assert.deepEqual(res.results.map((r) => r.status), ['applied']);
    await env.converge();
  });

  it('a 401 injected by a proxy pauses sync without losing the pending write; a new key resumes it', async () => {
    await env.start();
    const a = await env.replica('a');
    await a.insert({ _id: 'k1', title: 'pending through a 401' });
    env.proxy.add({ name: '401', match: isPush, times: 1, action: canned.unauthorized() });
    await a.sync();
    assert.equal(a.col.getSyncStatus().state, 'paused');
    assert.ok(a.eventsNamed('sync:paused').some((e) => e.payload.reason === 'unauthorized'));
    assert.equal(a.outbox().length, 1);
    const requests = env.proxy.log.length;
    await a.sync();
    assert.equal(env.proxy.log.length, requests, 'no request while paused');
    a.col.enableSync({ url: env.proxy.url, apiKey: KEY2, dataset: DS, live: false });
    assert.equal(a.col.getSyncStatus().state, 'idle');
    await env.converge();
  });
});
