/**
 * Sync robustness against process failures and bad clocks: clients and the server killed with
 * SIGKILL at random moments (seeded; the seed is in every failure message; set CHAOS_SEED to
 * replay), a server restored from an older copy of its data, wall clocks three hours off, and two
 * processes on one database. Child processes: test/sync/fixtures/replica-worker.ts and
 * `node dist/server.js`. Every test ends with the convergence oracle (harness.ts).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { parseHlc } from '../../src/sync/hlc';
import { parseCheckpoint, parsePushResponse, PushRequest } from '../../src/sync/protocol';
import { ChaosProxy, isChanges, isPush, jsonOf } from './chaos-proxy';
import { Env } from './env';
import {
  COLL, converge, liveDocs, LocalSnapshot, prng, Replica, ReplicaProcess, rmDir, serverAckSeq, ServerProcess, serverState, sleep, tmpDir,
  userFields, waitFor, WorkerMessage, WriteLog,
} from './harness';

const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 1e9));

const worker = (p: ReplicaProcess, name: string) => ({ name, sync: async () => void (await p.call('sync')), snapshot: () => p.snapshot() });
const eventsOf = (p: ReplicaProcess, name: string): WorkerMessage[] => p.messages.filter((m) => m.type === 'event' && m.name === name);

describe(`sync robustness: crashes, restores, clocks, processes (seed ${SEED})`, function () {
  this.timeout(180_000);
  let env: Env;
  beforeEach(() => {
    env = new Env();
  });
  afterEach(async () => {
    await env.cleanup();
  });

  it('3. client kill -9 at random moments while it applies pages and writes: every page all-or-nothing, no write lost or doubled', async () => {
    const rnd = prng(SEED);
    await env.start();
    const seeder = await env.replica('seeder', { direct: true });
    for (let i = 0; i < 120; i++) await seeder.insert({ _id: `s${String(i).padStart(3, '0')}`, i, text: 'z'.repeat(100) });
    for (let i = 0; i < 10; i++) await seeder.update(`s${String(i).padStart(3, '0')}`, { i: -i });
    for (let i = 10; i < 15; i++) await seeder.remove(`s${String(i).padStart(3, '0')}`);
    await seeder.sync();
    // A slow network: each page takes a while, so kills land between and inside page applies.
    env.proxy.add({ name: 'slow', match: isChanges, action: { kind: 'pass' }, answerDelayMs: 25 });
    const dir = path.join(env.dir, 'victim');
    const kills: string[] = [];
    for (let round = 0; round < 6; round++) {
      const w = await ReplicaProcess.start({ dir, url: env.proxy.url, pullLimit: 7, timeoutMs: 5000 }, env.log);
      env.cleanups.push(() => w.kill9());
      await w.call('loop', { prefix: `r${round}`, count: 40, syncEvery: 3 });
      const at = 50 + Math.floor(rnd() * 1200);
      await Promise.race([sleep(at), w.waitFor('loop-done', 60_000).catch(() => undefined)]);
      await w.kill9();
      kills.push(`round ${round}: killed after ${at} ms, ${eventsOf(w, 'sync:pull_success').length} pages, ${w.count('wrote')} writes`);

      // The folder as the killed process left it.
      const db = new WiseJSON(dir);
      try {
        await db.init();
        const docs = new Map((await (await db.collection(COLL)).getAll()).map((d) => [d._id, d]));
        const cursor = db._sync.collections.get(COLL)?.cursor ?? null;
        const cv = cursor ? parseCheckpoint(cursor)!.v : 0;
        const where = `seed ${SEED}, ${kills.join('; ')}`;
        for (const rec of env.log.records.filter((r) => r.id && r.fields.n !== undefined)) {
          if (rec.replica !== db.meta!.replicaId) continue;
          assert.ok(docs.has(rec.id), `a write that had resolved before the kill is missing (${rec.id}); ${where}`);
        }
        // Documents this replica wrote may be ahead of the cursor: a push result that says `own`
        // gives them their version before any pull. Every other document came by pull. (Its loop's
        // documents are known by their `n`: the kill can come after a write was pushed but before
        // the worker's message about it reached this process.)
        const mine = new Set(env.log.records.filter((r) => r.id && r.replica === db.meta!.replicaId).map((r) => r.id));
        const ownLoop = (d: Record<string, unknown>): boolean => typeof d.n === 'string' && /^r\d+-\d+$/.test(d.n);
        for (const d of docs.values()) {
          if (mine.has(d._id) || ownLoop(d)) continue;
          assert.ok(typeof d._v !== 'number' || d._v <= cv, `${d._id} has _v ${String(d._v)} beyond the cursor ${cv}: a page was applied without its cursor; ${where}`);
        }
        const server = await serverState(env.server.url);
        for (const [key, s] of server.docs) {
          if (!key.startsWith(`${COLL}/`) || s.v > cv) continue;
          const id = key.slice(COLL.length + 1);
          const local = docs.get(id);
          if (s.doc === null) assert.ok(!local || (local._v ?? 0) === 0, `${id} was deleted at v${s.v} <= cursor ${cv} but is still here; ${where}`);
          else assert.ok(local && local._v === s.v, `${id} (v${s.v} <= cursor ${cv}) is ${local ? `at _v ${String(local._v)}` : 'missing'}: a page was recorded without its documents; ${where}`);
        }
      } finally {
        await db.close();
      }
    }
    const victim = await env.replica('victim');
    const { server } = await env.converge([seeder, victim]);
    const ns = [...liveDocs(server, COLL).values()].map((d) => d.doc!.n).filter((n) => n !== undefined);
    assert.equal(new Set(ns).size, ns.length, `a write arrived twice; seed ${SEED}`);
    for (const rec of env.log.records.filter((r) => r.fields.n !== undefined)) assert.ok(ns.includes(rec.fields.n as never), `write ${String(rec.fields.n)} never reached the server; seed ${SEED}`);
    assert.equal(liveDocs(server, COLL).size, 115 + ns.length);
  });

  it('4. server kill -9 mid-batch, restarted on the same data: acknowledged writes survive, lastSeq and head never go back, clients converge', async () => {
    const rnd = prng(SEED + 4);
    const dir = await tmpDir('wisejson-srvkill-');
    const log = new WriteLog();
    let srv = new ServerProcess(path.join(dir, 'server'));
    const proxy = new ChaosProxy('http://127.0.0.1:1');
    const reps: Replica[] = [];
    try {
      await srv.start();
      proxy.target = srv.url;
      await proxy.start();
      for (const name of ['a', 'b', 'c']) reps.push(await Replica.open(path.join(dir, name), proxy.url, log, { name, timeoutMs: 5000 }));
      const [a] = reps;
      for (let i = 0; i < 5; i++) await a.insert({ _id: `shared${i}`, title: 'seed' });
      for (const r of reps) await r.sync();
      for (let round = 1; round <= 3; round++) {
        for (const r of reps) {
          for (let i = 0; i < 40; i++) await r.insert({ _id: `${r.name}-${round}-${i}`, round, text: 'w'.repeat(80) });
          for (let i = 0; i < 5; i++) await r.update(`shared${i}`, { [`f_${r.name}`]: round, shared: `${r.name}${round}` });
        }
        const delay = Math.floor(rnd() * 40);
        let killed: Promise<void> | null = null;
        proxy.clear();
        proxy.add({ name: 'kill', match: isPush, times: 1, action: { kind: 'pass' }, before: () => {
          killed = sleep(delay).then(() => srv.kill9());
        } });
        const from = proxy.log.length;
        await Promise.all(reps.map((r) => r.sync()));
        await waitFor(`the kill (round ${round}; pushes: ${JSON.stringify(proxy.log.slice(-6).map((e) => [e.req.kind, e.rule, e.outcome]))})`, () => killed !== null);
        await killed;
        const acked = reps.map((r) => Math.max(0, ...r.eventsNamed('sync:push_success').map((e) => Number(e.payload.ackSeq))));
        const seen = Math.max(0, ...reps.flatMap((r) => [r.cursor(), r.cursor('_conflicts')]).map((c) => (c ? parseCheckpoint(c)!.v : 0)));
        srv = new ServerProcess(path.join(dir, 'server'));
        await srv.start();
        proxy.target = srv.url;
        const outcomes = proxy.log.slice(from).map((e) => `${e.req.kind}:${e.outcome}`).join(' ');
        const where = `seed ${SEED}, round ${round}, kill after ${delay} ms, requests ${outcomes}`;
        if (process.env.CHAOS_VERBOSE) console.log(`      ${where}`);
        for (const [i, r] of reps.entries()) {
          assert.ok((await serverAckSeq(srv.url, r.replicaId)) >= acked[i], `${r.name}: the server forgot acknowledged ops (client saw ackSeq ${acked[i]}); ${where}`);
        }
        assert.ok((await serverState(srv.url)).head >= seen, `the head went back below a checkpoint a client had pulled; ${where}`);
      }
      proxy.clear();
      const { server } = await converge(() => srv.url, reps, log);
      for (const r of reps) for (let round = 1; round <= 3; round++) assert.ok(server.docs.get(`${COLL}/${r.name}-${round}-39`)?.doc);
    } finally {
      for (const r of reps) await r.close().catch(() => undefined);
      await proxy.close().catch(() => undefined);
      await srv.kill9().catch(() => undefined);
      await rmDir(dir);
    }
  });

  /** Stops the in-process server, copies its data (folder or database), and starts it again. */
  const backup = async (): Promise<string> => {
    await env.server.stop();
    const copy = await env.server.copyData();
    await env.server.start();
    env.proxy.target = env.server.url;
    return copy;
  };
  const restore = async (copy: string): Promise<void> => {
    await env.server.stop();
    await env.server.restoreData(copy);
    await env.server.start();
    env.proxy.target = env.server.url;
  };

  /** Replicas a (d1-d5) and b (e1-e3) synced with each other, then a copy of the server's data. */
  const syncedAndBackedUp = async () => {
    await env.start();
    const a = await env.replica('a');
    const b = await env.replica('b');
    for (let i = 1; i <= 5; i++) await a.insert({ _id: `d${i}`, title: `t${i}`, body: `b${i}` });
    for (let i = 1; i <= 3; i++) await b.insert({ _id: `e${i}`, title: `e${i}` });
    await a.sync();
    await b.sync();
    await a.sync();
    const copy = await backup();
    const epoch = (await serverState(env.server.url)).epoch;
    return { a, b, copy, epoch };
  };

  it('5. the server restored from an older copy of its data: a new epoch, clients reconcile and upload again, nothing lost', async () => {
    const { a, b, copy, epoch } = await syncedAndBackedUp();
    // Written and acknowledged after the backup: the restored server will not have them.
    await a.update('d1', { title: 'd1 after the backup' });
    await a.insert({ _id: 'd6', title: 'created after the backup' });
    await a.insert({ _id: 'd7', title: 'created after the backup' });
    await b.update('e1', { title: 'e1 after the backup' });
    await b.update('d2', { body: 'd2 body after the backup' });
    await b.insert({ _id: 'e4', title: 'B, after the backup' });
    await a.sync();
    await b.sync();
    await a.sync();
    await b.sync();
    const before = await serverState(env.server.url);
    const expected = new Map([...liveDocs(before, COLL)].map(([id, d]) => [id, userFields(d.doc)]));
    assert.equal(a.outbox().length + b.outbox().length, 0, 'everything was acknowledged');
    await a.insert({ _id: 'd8', title: 'pending at the restore' });
    await restore(copy);
    assert.equal((await serverState(env.server.url)).epoch, epoch, 'a copied folder keeps its epoch');

    const c = await env.replica('c');
    const { server } = await env.converge([a, b, c]);
    assert.notEqual(server.epoch, epoch, 'the restore was detected: a new epoch');
    for (const r of [a, b]) assert.ok(r.eventsNamed('sync:reset').some((e) => e.payload.reason === 'epoch_mismatch'), `${r.name} reconciled`);
    for (const [id, doc] of expected) assert.deepEqual(userFields(liveDocs(server, COLL).get(id)?.doc), doc, `${id} as it was before the restore`);
    assert.equal(liveDocs(server, COLL).get('d8')?.doc?.title, 'pending at the restore');
  });

  it('5b. a delete made after the backup stays deleted after the restore, on every replica and on the server', async () => {
    await env.start();
    const a = await env.replica('a');
    const b = await env.replica('b');
    for (let i = 1; i <= 6; i++) await a.insert({ _id: `d${i}`, title: `t${i}` });
    await a.sync();
    await b.sync();
    const copy = await backup();
    // Deleted after the backup, acknowledged, and pulled by both replicas.
    await a.remove('d2');
    await b.remove('d3');
    await a.sync();
    await b.sync();
    await a.sync();
    // Deleted and acknowledged, but the pull that would bring the tombstone back fails: only
    // the acknowledgement tells a about it.
    env.proxy.add({ name: 'no pulls', match: isChanges, action: { kind: 'respond', status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '1' }, body: JSON.stringify({ type: 'about:blank', title: 'unavailable', status: 503, detail: 'test', code: 'unavailable', retryable: true }) } });
    await a.remove('d4');
    await a.sync();
    assert.equal(a.outbox().length, 0, 'the delete of d4 was acknowledged');
    const before = await serverState(env.server.url);
    for (const id of ['d2', 'd3', 'd4']) assert.equal(liveDocs(before, COLL).has(id), false, `${id} deleted before the restore`);
    await restore(copy);
    for (const id of ['d2', 'd3', 'd4']) assert.ok(liveDocs(await serverState(env.server.url), COLL).has(id), `the backup still has ${id}`);

    const c = await env.replica('c');
    const { server } = await env.converge([a, b, c]); // (clears the proxy's rules first)
    for (const id of ['d2', 'd3', 'd4']) {
      assert.equal(liveDocs(server, COLL).has(id), false, `${id} came back on the server after the restore`);
      for (const r of [a, b, c]) assert.equal((await r.docs()).has(id), false, `${id} came back on ${r.name}`);
    }
    for (const id of ['d1', 'd5', 'd6']) assert.equal(liveDocs(server, COLL).get(id)?.doc?.title, `t${id.slice(1)}`);
  });

  it('5c. restored, and the first client back pushes an offline batch before it pulls: the restore is detected, nothing acknowledged lost, nothing deleted back', async () => {
    const { a, b, copy, epoch } = await syncedAndBackedUp();
    // Acknowledged (and pulled everywhere) after the backup.
    await a.update('d1', { title: 'd1 after the backup' });
    await a.insert({ _id: 'd6', title: 'created after the backup' });
    await a.remove('d5');
    await b.update('e1', { title: 'e1 after the backup' });
    await b.insert({ _id: 'e4', title: 'B, after the backup' });
    await b.remove('e3');
    await a.sync();
    await b.sync();
    await a.sync();
    const before = await serverState(env.server.url);
    const expected = new Map([...liveDocs(before, COLL)].map(([id, d]) => [id, userFields(d.doc)]));
    const cursorOfB = parseCheckpoint(b.cursor()!)!;
    // a, offline: a batch large enough to carry the restored head past every cursor.
    await a.update('d2', { body: 'd2 offline' });
    await a.remove('d4');
    for (let i = 1; i <= 20; i++) await a.insert({ _id: `o${i}`, title: `offline ${i}` });
    await restore(copy);
    const restored = await serverState(env.server.url);
    assert.equal(restored.epoch, epoch, 'a copied folder keeps its epoch');
    assert.ok(restored.head < cursorOfB.v, 'the restored head is behind the clients\' cursors');

    // a comes back: its cycle pushes first.
    await a.sync();
    const after = await serverState(env.server.url);
    assert.notEqual(after.epoch, epoch, 'the push noticed the restore: a new epoch');
    assert.ok(a.eventsNamed('sync:reset').some((e) => e.payload.reason === 'epoch_mismatch'), 'a reconciled');
    const c = await env.replica('c');
    const { server } = await env.converge([a, b, c]);
    assert.ok(b.eventsNamed('sync:reset').some((e) => e.payload.reason === 'epoch_mismatch'), 'b reconciled');
    const live = liveDocs(server, COLL);
    for (const [id, doc] of expected) {
      if (id === 'd2' || id === 'd4') continue;
      assert.deepEqual(userFields(live.get(id)?.doc), doc, `${id} as it was before the restore`);
    }
    assert.equal(live.get('d2')?.doc?.body, 'd2 offline');
    for (const id of ['d4', 'd5', 'e3']) assert.equal(live.has(id), false, `${id} was deleted and came back`);
    for (let i = 1; i <= 20; i++) assert.equal(live.get(`o${i}`)?.doc?.title, `offline ${i}`);
    assert.equal(live.size, 7 + 20, 'd1-d3, d6, e1, e2, e4 and the offline batch');
  });

  it('7. clocks 3 h ahead and 3 h behind: causality decides, the server clamps the stamps, HLCs never go back, no edit lost', async () => {
    await env.start();
    const H3 = 3 * 3600_000;
    const dirA = path.join(env.dir, 'ahead');
    let A = await ReplicaProcess.start({ dir: dirA, url: env.proxy.url, skewMs: H3 }, env.log);
    env.cleanups.push(() => A.close());
    const B = await ReplicaProcess.start({ dir: path.join(env.dir, 'behind'), url: env.proxy.url, skewMs: -H3 }, env.log);
    env.cleanups.push(() => B.close());
    await A.call('insert', { doc: { _id: 'n1', title: 'a1', body: 'x' } }); // stamped 3 h ahead, before any sync
    await A.call('sync');
    const pushed = env.proxy.exchanges('push').find((e) => (e.req.json as PushRequest).replicaId === A.replicaId)!;
    const res = parsePushResponse(jsonOf(pushed.upstream[0].body));
    assert.ok(res.results[0].warnings?.includes('clock_skew'), 'the server noticed the skew');
    const stamp = (await serverState(env.server.url)).docs.get(`${COLL}/n1`)!;
    assert.ok(stamp.v > 0);
    const stored = await env.server.api().changes('team', { since: '0' });
    const n1 = stored.changes.find((ch) => ch.id === 'n1')!;
    assert.ok(parseHlc(n1.hlc).ms < Date.now() + 120_000, 'the stored stamp is clamped near server time');

    await B.call('sync');
    await B.call('update', { id: 'n1', patch: { title: 'b1' } }); // B saw a1; its wall clock is 6 h behind A's
    await B.call('sync');
    await A.call('sync');
    assert.equal((await A.snapshot()).docs.n1.title, 'b1', 'the causally later edit wins despite the earlier wall clock');
    await A.call('update', { id: 'n1', patch: { title: 'a2' } }); // A saw b1
    await A.call('sync');
    await B.call('sync');
    assert.equal((await B.snapshot()).docs.n1.title, 'a2');
    // Truly concurrent edits of one field: one wins, the other is kept as a conflict.
    await A.call('update', { id: 'n1', patch: { body: 'A body' } });
    await B.call('update', { id: 'n1', patch: { body: 'B body' } });
    await A.call('sync');
    await B.call('sync');
    await A.call('sync');
    const hlcBefore = ((await A.snapshot()) as LocalSnapshot & { hlc: string }).hlc;
    await A.close();
    A = await ReplicaProcess.start({ dir: dirA, url: env.proxy.url, skewMs: H3 }, env.log);
    env.cleanups.push(() => A.close());
    await A.call('insert', { doc: { _id: 'n2', title: 'after the restart' } });
    const hlcAfter = ((await A.snapshot()) as LocalSnapshot & { hlc: string }).hlc;
    assert.ok(hlcAfter > hlcBefore, `A's HLC went back across a restart: ${hlcBefore} → ${hlcAfter}`);
    const c = await env.replica('c');
    const { server } = await env.converge([c], { extra: [worker(A, 'A'), worker(B, 'B')] });
    const body = liveDocs(server, COLL).get('n1')!.doc!.body;
    const records = [...liveDocs(server, '_conflicts').values()].map((d) => d.doc!);
    assert.equal(records.length, 1);
    const pair = (records[0].fields as Record<string, { winner: { value: unknown }; loser: { value: unknown } }>).body;
    assert.deepEqual([pair.winner.value, pair.loser.value].sort(), ['A body', 'B body']);
    assert.equal(pair.winner.value, body);
  });

  it('13. two processes on one database: one runs the sync loop, the other reports another_process; the writes of both reach the server once', async () => {
    await env.start();
    const dir = path.join(env.dir, 'shared');
    const p1 = await ReplicaProcess.start({ dir, url: env.proxy.url }, env.log);
    env.cleanups.push(() => p1.close());
    const p2 = await ReplicaProcess.start({ dir, url: env.proxy.url }, env.log);
    env.cleanups.push(() => p2.close());
    await p1.call('loop', { prefix: 'p1', count: 25, syncEvery: 2 });
    await p2.call('loop', { prefix: 'p2', count: 25, syncEvery: 2 });
    await Promise.all([p1.waitFor('loop-done', 90_000), p2.waitFor('loop-done', 90_000)]);
    const written = env.log.records.filter((r) => r.fields.n !== undefined);
    assert.equal(written.length, 50);
    await waitFor('every write of both processes on the server', async () => {
      await p1.call('sync');
      await p2.call('sync');
      const s = await serverState(env.server.url);
      return written.every((w) => s.docs.get(`${COLL}/${w.id}`)?.doc);
    }, 60_000, 100);
    const runners = [p1, p2].filter((p) => eventsOf(p, 'sync:start').length > 0);
    assert.equal(runners.length, 1, 'exactly one process ran sync cycles');
    const standby = runners[0] === p1 ? p2 : p1;
    assert.ok(eventsOf(standby, 'sync:paused').some((e) => (e.payload as { reason: string }).reason === 'another_process'), 'the other reports sync:paused another_process');
    assert.equal(eventsOf(runners[0], 'sync:paused').length, 0);
    const applied = env.proxy.exchanges('push').flatMap((e) => (e.upstream[0]?.status === 200 ? parsePushResponse(jsonOf(e.upstream[0].body)).results : []));
    const fresh = applied.filter((r) => r.status !== 'duplicate').map((r) => r.seq);
    assert.equal(new Set(fresh).size, fresh.length, 'no op applied twice');
    assert.deepEqual([...fresh].sort((x, y) => x - y), written.map((w) => w.seq).sort((x, y) => x - y), 'every write pushed once');
    await p1.close();
    await p2.close();
    const reopened = await env.replica('shared');
    await env.converge([reopened]);
  });
});
