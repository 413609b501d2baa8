/**
 * Several server instances (real processes) on one PostgreSQL database, behind the tests' own
 * round-robin proxy: clients on different instances converge, a push on one instance wakes a live
 * request on another, the tombstone purge runs on one instance at a time, and an instance killed
 * in the middle of a push loses and doubles nothing. Runs in the PostgreSQL run only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { WiseJSON } from '../../src/engine';
import { startServer } from '../../src/server';
import { converge, DS, COLL, Replica, rmDir, ServerProcess, sleep, tmpDir, waitFor, WriteLog } from '../sync/harness';
import { KEY } from '../server/helpers';
import { PostgresCluster, sql } from './cluster';
import { RoundRobinProxy } from './round-robin-proxy';

const SERVER_JS = path.resolve(__dirname, '..', '..', '..', 'dist', 'server.js');

/** The dataset's head and its rows' versions: each op applied once means head = rows written. */
async function versions(url: string): Promise<{ head: number; rows: number; distinct: number; min: number; max: number }> {
  const [ds] = await sql<{ head: string }>(url, 'SELECT head FROM wj_datasets WHERE name = $1', [DS]);
  const [v] = await sql<{ rows: string; distinct: string; min: string; max: string }>(url, 'SELECT count(*) AS rows, count(DISTINCT v) AS distinct, min(v) AS min, max(v) AS max FROM wj_docs WHERE dataset = $1', [DS]);
  return { head: Number(ds.head), rows: Number(v.rows), distinct: Number(v.distinct), min: Number(v.min), max: Number(v.max) };
}

describe('server on PostgreSQL: several instances on one database', function () {
  this.timeout(120_000);
  let dir: string;
  let servers: ServerProcess[] = [];
  let proxy: RoundRobinProxy | null = null;
  const open: { close(): Promise<void> }[] = [];

  /** `n` instances on one new database, and the proxy in front of them. */
  const instances = async (n: number): Promise<{ servers: ServerProcess[]; proxy: RoundRobinProxy; databaseUrl: string }> => {
    const dataDir = path.join(dir, 'server');
    for (let i = 0; i < n; i++) {
      const s = new ServerProcess(dataDir);
      await s.start();
      servers.push(s);
    }
    proxy = await RoundRobinProxy.start(servers.map((s) => s.url));
    return { servers, proxy, databaseUrl: servers[0].databaseUrl! };
  };

  beforeEach(async () => {
    dir = await tmpDir('wj-instances-');
  });

  afterEach(async () => {
    for (const o of open.splice(0)) await o.close().catch(() => undefined);
    await proxy?.close();
    proxy = null;
    for (const s of servers.splice(0)) await s.stop();
    await rmDir(dir);
  });

  it('clients writing through different instances converge; versions stay dense and each op is applied once', async () => {
    const { servers: [one, two], proxy: lb, databaseUrl } = await instances(3);
    const log = new WriteLog();
    const a = await Replica.open(path.join(dir, 'a'), one.url, log, { name: 'a' });
    const b = await Replica.open(path.join(dir, 'b'), two.url, log, { name: 'b' });
    const c = await Replica.open(path.join(dir, 'c'), lb.url, log, { name: 'c', pullLimit: 7 });
    open.push(a, b, c);
    for (const [r, p] of [[a, 'a'], [b, 'b'], [c, 'c']] as const) for (let i = 0; i < 40; i++) await r.insert({ _id: `${p}${i}`, by: p, i });
    // Pushes of one dataset at once on three instances: serialized by the dataset's row lock.
    await Promise.all([a.sync(), b.sync(), c.sync()]);
    let v = await versions(databaseUrl);
    assert.deepEqual(v, { head: 120, rows: 120, distinct: 120, min: 1, max: 120 }, 'one version per insert, 1..120');
    await converge(() => lb.url, [a, b, c], log);
    assert.ok(await a.update('b3', { seenBy: 'a' }));
    assert.ok(await b.update('c7', { seenBy: 'b' }));
    assert.ok(await c.update('a1', { seenBy: 'c' }));
    await Promise.all([a.sync(), b.sync(), c.sync()]);
    const { server } = await converge(() => lb.url, [a, b, c], log);
    v = await versions(databaseUrl);
    assert.equal(v.head, 123, 'three updates, three versions');
    assert.equal(server.head, 123);
    for (const r of [a, b, c]) assert.equal((await r.docs()).size, 120, `${r.name} holds every document`);
    assert.ok(lb.forwarded.every((n) => n > 0), `the proxy spread c's requests over every instance: ${lb.forwarded.join(', ')}`);
  });

  it('a push committed on one instance wakes a live request held by another (figures printed)', async () => {
    const { servers: [one, two], databaseUrl } = await instances(2);
    const writerDb = new WiseJSON(path.join(dir, 'writer'));
    const readerDb = new WiseJSON(path.join(dir, 'reader'));
    open.push(writerDb, readerDb);
    const writer = await writerDb.collection(COLL);
    const reader = await readerDb.collection(COLL);
    // Live sync (the default): the writer pushes on write through one instance, the reader holds
    // a long-poll (wait 25 s) on the other.
    await writer.enableSync({ url: one.url, apiKey: KEY, dataset: DS });
    await reader.enableSync({ url: two.url, apiKey: KEY, dataset: DS });
    await writer.triggerSync();
    await reader.triggerSync();
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      await sleep(30);
      const t0 = performance.now();
      await writer.insert({ _id: `w${i}`, i });
      // Far below the long-poll's 25 s: only a wake from the other instance brings it this soon.
      await waitFor(`w${i} at the reader`, async () => (await reader.getById(`w${i}`)) !== null, 5_000, 2);
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    console.log(`      write through instance 1 → seen by a live reader on instance 2: median ${times[7].toFixed(1)} ms, min ${times[0].toFixed(1)}, max ${times[14].toFixed(1)} (15 writes)`);

    // Every instance's notification connection cut (as by a PostgreSQL restart or a network cut):
    // each opens it again by itself, and the wakes go on.
    const cut = await sql<{ pid: number }>(databaseUrl, "SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE application_name = 'wisejson-sync-listen' AND datname = current_database()");
    assert.equal(cut.length, 2, 'one notification connection per instance');
    await waitFor('both instances listening again', async () => (await sql(databaseUrl, "SELECT pid FROM pg_stat_activity WHERE application_name = 'wisejson-sync-listen' AND datname = current_database()")).length === 2, 10_000, 20);
    for (let i = 15; i < 20; i++) {
      await writer.insert({ _id: `w${i}`, i });
      await waitFor(`w${i} at the reader after the reconnect`, async () => (await reader.getById(`w${i}`)) !== null, 5_000, 2);
    }
  });

  it('a key created or revoked with the CLI is accepted, then refused, by every instance within 2 s', async () => {
    const { servers: all, databaseUrl } = await instances(3);
    const cli = (...args: string[]) => spawnSync(process.execPath, [SERVER_JS, 'keys', ...args, '--database-url', databaseUrl], { encoding: 'utf8', timeout: 30_000 });
    const status = (url: string, key: string) => fetch(`${url}/v1/info`, { headers: { authorization: `Bearer ${key}`, 'sync-protocol': '1' } }).then((r) => r.status);
    const created = cli('create', '--dataset', DS);
    assert.equal(created.status, 0, created.stderr);
    const key = created.stdout.trim();
    const t0 = Date.now();
    await waitFor('the new key accepted by every instance', async () => (await Promise.all(all.map((s) => status(s.url, key)))).every((st) => st === 200), 2_500, 50);
    const acceptedMs = Date.now() - t0;
    const id = /^(k_[0-9a-f]{12})\t/m.exec(cli('list').stdout)?.[1];
    assert.ok(id);
    assert.equal(cli('revoke', '--id', id).status, 0);
    const t1 = Date.now();
    await waitFor('the revoked key refused by every instance', async () => (await Promise.all(all.map((s) => status(s.url, key)))).every((st) => st === 401), 2_500, 50);
    console.log(`      every instance accepted the new key within ${acceptedMs} ms and refused the revoked one within ${Date.now() - t1} ms`);
  });

  it('the tombstone purge runs on one instance at a time (an advisory lock)', async () => {
    const { servers: [one], databaseUrl } = await instances(1);
    const log = new WriteLog();
    const a = await Replica.open(path.join(dir, 'a'), one.url, log, { name: 'a' });
    open.push(a);
    for (let i = 0; i < 5; i++) await a.insert({ _id: `t${i}` });
    await a.sync();
    for (let i = 0; i < 5; i++) await a.remove(`t${i}`);
    await a.sync();
    // Two more instances in this process, which purge tombstones of any age.
    const purgers = [];
    for (let i = 0; i < 2; i++) purgers.push(await startServer({ databaseUrl, port: 0, apiKeys: [KEY], accessLog: false, purgeIntervalMs: 0, limits: { tombstoneRetentionDays: 0 } }));
    open.push(...purgers);
    const holder = new Client({ connectionString: databaseUrl });
    await holder.connect();
    try {
      // Another instance is purging: it holds the lock.
      await holder.query('SELECT pg_advisory_lock(7261530816)');
      assert.equal(await purgers[0].purgeTombstones(), 0, 'nothing purged while another instance holds the purge lock');
      assert.equal((await sql<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM wj_docs WHERE dataset = $1 AND del', [DS]))[0].n, '5');
      await holder.query('SELECT pg_advisory_unlock(7261530816)');
    } finally {
      await holder.end();
    }
    // Both at once: one purges the five, the other finds the lock taken or nothing left.
    const counts = await Promise.all(purgers.map((p) => p.purgeTombstones()));
    assert.equal(counts[0] + counts[1], 5, `purged once in all: ${counts.join(' + ')}`);
    assert.equal((await sql<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM wj_docs WHERE dataset = $1 AND del', [DS]))[0].n, '0');
  });

  it('kill -9 of an instance in the middle of a push: the client retries through the proxy, nothing is lost or applied twice', async () => {
    const { servers: all, proxy: lb, databaseUrl } = await instances(3);
    const log = new WriteLog();
    const r = await Replica.open(path.join(dir, 'r'), lb.url, log, { name: 'r' });
    open.push(r);
    await r.col.insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: `k${String(i).padStart(4, '0')}`, i })));
    let killed = -1;
    lb.onForward = (i, req) => {
      // The second push that reaches instance 2: killed while it works on it.
      if (killed < 0 && i === 2 && req.url?.includes('/push') && lb.forwarded[2] >= 2) {
        killed = i;
        lb.remove(i);
        setTimeout(() => void all[i].kill9(), 3);
      }
    };
    const errors: string[] = [];
    r.col.on('sync:error', (e: unknown) => void errors.push((e as { code: string }).code));
    await waitFor('the outbox to drain through the proxy', async () => {
      await r.sync().catch(() => undefined);
      return r.outbox().length === 0;
    }, 60_000, 100);
    assert.equal(killed, 2, 'instance 2 was killed during a push');
    console.log(`      instance 2 killed during a push; the client saw: ${errors.join(', ') || 'no error'}; requests per instance: ${lb.forwarded.join(', ')}`);
    const v = await versions(databaseUrl);
    assert.deepEqual(v, { head: 3000, rows: 3000, distinct: 3000, min: 1, max: 3000 }, `each op applied once (errors the client saw: ${errors.join(', ') || 'none'})`);
    const docs = await r.docs();
    assert.equal(docs.size, 3000);
    assert.ok([...docs.values()].every((d) => Number(d._v) > 0), 'every document carries its server version');
  });
});

describe('server on PostgreSQL: instances through a PostgreSQL crash and restart', function () {
  this.timeout(180_000);
  // A cluster of this test's own: it is stopped and started in the middle of the run.
  let cluster: PostgresCluster;
  let dir: string;
  const servers: ServerProcess[] = [];
  let proxy: RoundRobinProxy | null = null;
  const open: { close(): Promise<void> }[] = [];

  before(async () => {
    cluster = await PostgresCluster.start();
    dir = await tmpDir('wj-pg-restart-');
  });

  after(async () => {
    for (const o of open.splice(0)) await o.close().catch(() => undefined);
    await proxy?.close();
    for (const s of servers.splice(0)) await s.stop();
    cluster.stop();
    await rmDir(dir);
  });

  const health = (url: string): Promise<number> => fetch(`${url}/v1/health`).then((r) => r.status, () => 0);

  it('stopped with pg_ctl -m immediate and started again mid-run: 503 with Retry-After and health 503 meanwhile, every instance recovers, nothing acknowledged is lost', async () => {
    const databaseUrl = await cluster.createDatabase();
    for (let i = 0; i < 2; i++) {
      const s = new ServerProcess(path.join(dir, 'server'));
      s.databaseUrl = databaseUrl;
      await s.start();
      servers.push(s);
    }
    proxy = await RoundRobinProxy.start(servers.map((s) => s.url));
    const log = new WriteLog();
    const a = await Replica.open(path.join(dir, 'a'), proxy.url, log, { name: 'a' });
    const b = await Replica.open(path.join(dir, 'b'), servers[1].url, log, { name: 'b' });
    open.push(a, b);
    for (let i = 0; i < 50; i++) await a.insert({ _id: `a${i}`, i });
    for (let i = 0; i < 50; i++) await b.insert({ _id: `b${i}`, i });
    await a.sync();
    await b.sync();

    // A writer that keeps inserting and syncing through the proxy while PostgreSQL goes down and
    // comes back: pushes are in flight when it stops.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await a.insert({ _id: `w${written++}` });
        await a.sync().catch(() => undefined);
        await sleep(5);
      }
    })();
    await sleep(100);
    cluster.stopServer('immediate');
    for (const s of servers) await waitFor(`health 503 at ${s.url}`, async () => (await health(s.url)) === 503, 10_000, 50);
    const push = await fetch(`${servers[0].url}/v1/datasets/${DS}/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'sync-protocol': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ replicaId: 'r-outage', checkpointEpoch: null, ops: [] }),
    });
    assert.equal(push.status, 503);
    assert.match(push.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.ok(Number(push.headers.get('retry-after')) > 0, 'Retry-After');
    assert.equal(((await push.json()) as { code: string }).code, 'unavailable');
    // Writes go on offline; their sync fails with a retryable 503.
    for (let i = 50; i < 80; i++) await a.insert({ _id: `a${i}`, i });
    for (let i = 0; i < 10; i++) await b.update(`b${i}`, { during: 'outage' });
    await a.sync().catch(() => undefined);
    const outage = a.eventsNamed('sync:error').map((e) => e.payload);
    assert.ok(outage.some((e) => e.status === 503 && e.retryable === true), `a retryable 503 reached the client: ${JSON.stringify(outage)}`);

    cluster.startServer();
    for (const s of servers) await waitFor(`health 200 at ${s.url}`, async () => (await health(s.url)) === 200, 30_000, 100);
    await waitFor('both instances listening again', async () => (await sql(databaseUrl, "SELECT pid FROM pg_stat_activity WHERE application_name = 'wisejson-sync-listen' AND datname = current_database()")).length === 2, 15_000, 50);
    await sleep(200);
    writing = false;
    await writer;
    await converge(() => proxy!.url, [a, b], log, { deadlineMs: 60_000 });
    const v = await versions(databaseUrl);
    assert.equal(v.rows, 130 + written, 'every document once');
    assert.equal(v.head, 140 + written, `${130 + written} inserts and 10 updates, each applied once`);
    console.log(`      ${written} documents written by a client syncing through the outage`);
  });
});
