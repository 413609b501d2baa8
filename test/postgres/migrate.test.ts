/**
 * `node dist/server.js migrate --data <dir> --database-url <url>`: a data folder with real
 * clients' data copied into PostgreSQL, the clients going on there without a re-sync or a new
 * epoch; refusals (a running server, a non-empty target, no data); kill -9 half-way.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { startServer, type RunningServer } from '../../src/server';
import { createStoredKey } from '../../src/server/auth';
import { converge, DS, Replica, rmDir, ServerProcess, serverState, tmpDir, WriteLog } from '../sync/harness';
import { KEY } from '../server/helpers';
import { createDatabase, sql } from './cluster';

const SERVER_JS = path.resolve(__dirname, '..', '..', '..', 'dist', 'server.js');
const CHILD = path.join(__dirname, 'fixtures', 'migrate-child.js');

const base = (): string => {
  const url = process.env.WISEJSON_TEST_PG_URL;
  if (!url) throw new Error('run through npm run test:postgres');
  return url;
};

const migrate = (dataDir: string, databaseUrl: string) => spawnSync(process.execPath, [SERVER_JS, 'migrate', '--data', dataDir, '--database-url', databaseUrl], { encoding: 'utf8', timeout: 60_000 });

describe('server on PostgreSQL: migrate a data folder into PostgreSQL', function () {
  this.timeout(120_000);
  let dir: string;
  const open: { close(): Promise<void> }[] = [];
  const processes: ServerProcess[] = [];

  beforeEach(async () => {
    dir = await tmpDir('wj-migrate-');
  });

  afterEach(async () => {
    for (const o of open.splice(0)) await o.close().catch(() => undefined);
    for (const p of processes.splice(0)) await p.stop();
    await rmDir(dir);
  });

  /** A data-folder server with two clients' data: documents, a conflict, a delete, a stored key. */
  async function folderWithData(): Promise<{ dataDir: string; server: RunningServer; log: WriteLog; a: Replica; b: Replica; key: string }> {
    const dataDir = path.join(dir, 'sync-data');
    const server = await startServer({ dataDir, port: 0, apiKeys: [KEY], accessLog: false, purgeIntervalMs: 0 });
    const log = new WriteLog();
    const a = await Replica.open(path.join(dir, 'a'), server.url, log, { name: 'a' });
    const b = await Replica.open(path.join(dir, 'b'), server.url, log, { name: 'b' });
    open.push(a, b);
    for (let i = 0; i < 30; i++) await a.insert({ _id: `d${i}`, i, text: `from a ${i}` });
    await a.sync();
    await b.sync();
    await a.update('d1', { x: 'a' });
    await b.update('d1', { x: 'b' });
    await a.remove('d2');
    await a.sync();
    await b.sync();
    await a.sync();
    const { key } = await createStoredKey(dataDir, [DS]);
    return { dataDir, server, log, a, b, key };
  }

  it('copies everything; the clients go on against PostgreSQL without a re-sync or a new epoch', async () => {
    const { dataDir, server, log, a, b, key } = await folderWithData();
    const before = await serverState(server.url);
    const databaseUrl = await createDatabase(base());

    const refused = migrate(dataDir, databaseUrl);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /Cannot migrate while a server uses the folder: .*in use by another sync server \(pid \d+\)\. Stop it first/);
    assert.equal((await sql(databaseUrl, "SELECT 1 FROM pg_tables WHERE tablename = 'wj_datasets'")).length, 0, 'nothing written to the target');

    await server.close();
    const done = migrate(dataDir, databaseUrl);
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stderr, /Copied .* 1 dataset\(s\), \d+ document row\(s\) \(1 tombstone\(s\)\), 2 replica\(s\), 2 key binding\(s\), 1 stored key\(s\)\./);
    const again = migrate(dataDir, databaseUrl);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds sync data \(1 dataset\(s\), 2 binding\(s\), 1 key\(s\)\): migrate into an empty database/);
    assert.ok(!again.stderr.includes(new URL(databaseUrl).password), 'never the password');

    const pg = new ServerProcess(path.join(dir, 'pg'));
    pg.databaseUrl = databaseUrl;
    processes.push(pg);
    await pg.start();
    const after = await serverState(pg.url);
    assert.equal(after.epoch, before.epoch, 'the same epoch');
    assert.equal(after.head, before.head, 'the same head');
    assert.deepEqual([...after.docs.entries()].sort(), [...before.docs.entries()].sort(), 'the same rows, versions and bodies');
    const [tomb] = await sql<{ del_at: string | null }>(databaseUrl, 'SELECT del_at FROM wj_docs WHERE dataset = $1 AND del', [DS]);
    assert.ok(Number(tomb.del_at) > 0, 'the tombstone keeps its deletion time');
    const info = await fetch(`${pg.url}/v1/info`, { headers: { authorization: `Bearer ${key}`, 'sync-protocol': '1' } });
    assert.equal(info.status, 200, 'the stored key works against PostgreSQL');

    // The clients, pointed at the PostgreSQL server, pull nothing again and reset nothing.
    const moved: Replica[] = [];
    for (const r of [a, b]) {
      await r.close();
      open.splice(open.indexOf(r), 1);
      const m = await Replica.open(r.dir, pg.url, log, { name: r.name });
      open.push(m);
      moved.push(m);
      await m.sync();
      assert.deepEqual(m.eventsNamed('sync:reset'), [], `${r.name}: no reset`);
      assert.equal(m.eventsNamed('sync:pull_success').reduce((n, e) => n + Number(e.payload.pulled), 0), 0, `${r.name}: nothing pulled again`);
    }
    const [ma, mb] = moved;
    await ma.insert({ _id: 'after-move', by: 'a' });
    await mb.update('d3', { by: 'b', after: true });
    const { server: final } = await converge(() => pg.url, moved, log);
    assert.equal(final.head, before.head + 2, 'versions go on from the copied head');
    assert.equal(final.epoch, before.epoch);
  });

  it('kill -9 half-way leaves the target empty; the next run copies everything', async () => {
    const { dataDir, server } = await folderWithData();
    const before = await serverState(server.url);
    await server.close();
    const databaseUrl = await createDatabase(base());
    const killed = spawnSync(process.execPath, [CHILD, dataDir, databaseUrl, 'rows'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    const [held] = await sql<{ datasets: number; rows: number }>(databaseUrl, 'SELECT (SELECT count(*) FROM wj_datasets)::int AS datasets, (SELECT count(*) FROM wj_docs)::int AS rows');
    assert.deepEqual(held, { datasets: 0, rows: 0 }, 'nothing of the killed run is in the target');
    const done = migrate(dataDir, databaseUrl);
    assert.equal(done.status, 0, done.stderr);
    const pg = new ServerProcess(path.join(dir, 'pg'));
    pg.databaseUrl = databaseUrl;
    processes.push(pg);
    await pg.start();
    const after = await serverState(pg.url);
    assert.deepEqual({ epoch: after.epoch, head: after.head, docs: after.docs.size }, { epoch: before.epoch, head: before.head, docs: before.docs.size });
  });

  it('refuses a folder without sync data, and says what is missing', async () => {
    const r = spawnSync(process.execPath, [SERVER_JS, 'migrate', '--data', path.join(dir, 'nothing-here'), '--database-url', await createDatabase(base())], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /holds no sync server data \(no db folder in it\): check --data\. \[no_data\]/);
    const usage = spawnSync(process.execPath, [SERVER_JS, 'migrate', '--data', dir], { encoding: 'utf8', env: { ...process.env, WISEJSON_SYNC_DATABASE_URL: '' } });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /migrate needs --database-url <url>/);
  });
});
